// Shared by the bad-input tests: a machine with some mappings and pins, a
// snapshot of everything observable about it, and an error matcher.
import { expect } from 'vitest';
import { Machine, Mm, PgtemuError } from '../../src/index.js';

export const MiB = 1n << 20n;
export const BASE = 0x4000_0000n;

export function setup(o: { ramMiB?: number; tablePoolMiB?: number } = {}) {
  const m = Machine.createSync({ arch: 'x86_64', ramMiB: o.ramMiB ?? 64, tablePoolMiB: o.tablePoolMiB ?? 4 });
  const mm = m.createMm();
  mm.mmap({ start: BASE, length: 4n * MiB, populate: true });
  mm.mmap({ start: BASE + 8n * MiB, length: 4n * MiB, hugeOrder: 9, populate: true });
  const pins = mm.gupFast(BASE, 16, { pin: true });
  return { m, mm, pins };
}

/**
 * Everything observable about a machine and one address space; with `pfns`,
 * also every counter of stats() and those struct pages (less lastOp: a
 * refused release names itself as the last operation on the folios it took
 * back).
 */
export function snapshot(m: Machine, mm: Mm, pfns?: readonly bigint[]) {
  const s = m.stats();
  const walks: string[] = [];
  for (let a = BASE - 2n * MiB; a < BASE + 16n * MiB; a += 64n * 1024n) {
    const w = m.walk(mm, a);
    walks.push(`${w.level}:${w.status}:${w.entry}`);
  }
  return {
    free: s.freePages, pool: s.poolFreeBytes, out: s.gupOutstanding, pins: s.pinOutstanding,
    vmas: mm.vmas(), counters: mm.counters(), walks, violations: m.checkInvariants(),
    ...(pfns && { stats: { ...s }, pages: pfns.map((p) => ({ ...m.page(p), lastOp: 0 })) }),
  };
}

export function expectError(fn: () => unknown, code: string, text: RegExp): PgtemuError {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(PgtemuError);
  const e = err as PgtemuError;
  expect(e.code).toBe(code);
  expect(e.message).toMatch(text);
  return e;
}

