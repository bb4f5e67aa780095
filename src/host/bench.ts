// Measurement primitives shared by `npm run bench` (bench/), the CLI's short
// benchmark and the README table. Every loop runs inside the core: no per-page
// JS, no per-call messages; the host only times whole batches.

import { Machine, type Mm } from './machine.js';
import { PgtemuError } from './errors.js';
import { FOLL_GET, FOLL_PIN, FOLL_WRITE } from './consts.gen.js';

export interface GupCase { order: number; pages: number; pin: boolean; write: boolean }

/** Map and populate one region for a case; returns the mm and its start. */
export function prepareGup(m: Machine, c: { order: number; pages: number }): { mm: Mm; start: bigint } {
  const ps = m.desc.pageShift;
  const size = 1n << BigInt(ps + c.order);
  const len = ((BigInt(c.pages) << BigInt(ps)) + size - 1n) & ~(size - 1n);
  const start = len > 1n << 32n ? len : 1n << 32n;
  const mm = m.createMm();
  mm.mmap({ start, length: len, kind: c.order === 0 || c.order === m.leafOrders.filter((o) => o > 0).sort((a, b) => a - b)[0] ? 'anon' : 'hugetlb', hugeOrder: c.order, populate: true });
  return { mm, start };
}

/** One batch: `rounds` x (gup `pages` pages + release them), in the core on the calling thread. */
export function gupRounds(m: Machine, mm: Mm, start: bigint, c: GupCase, rounds: number): number {
  const flags = (c.pin ? FOLL_PIN : FOLL_GET) | (c.write ? FOLL_WRITE : 0);
  const o = m.call('gupUnpinLoop', { mm: mm.ptr, start, nr: c.pages, flags, rounds, span: 0 });
  if (o.status < 0) throw new PgtemuError('EFAULT', `bench: gup loop failed (${o.status})`);
  const pages = Number(o.pages);
  if (pages !== rounds * c.pages) throw new PgtemuError('EFAULT', `bench: took ${pages} of ${rounds * c.pages} pages`);
  return pages;
}

/** `count` random walks over [start, start + len). */
export function walkRounds(m: Machine, mm: Mm, start: bigint, len: bigint, count: number, seed = 0x9e3779b97f4a7c15n): number {
  return Number(m.call('walkMany', { mm: mm.ptr, start, len, count, seed }).hits);
}

/** ns per page of gup + release, median of `samples` timed batches. */
export function timeGup(m: Machine, c: GupCase, o: { rounds: number; samples: number; warmUpMs?: number }): number {
  const { mm, start } = prepareGup(m, c);
  warmUp(() => gupRounds(m, mm, start, c, 1), o.warmUpMs ?? 30);
  const t: number[] = [];
  for (let i = 0; i < o.samples; i++) {
    const t0 = performance.now();
    const pages = gupRounds(m, mm, start, c, o.rounds);
    t.push(((performance.now() - t0) * 1e6) / pages);
  }
  mm.destroy();
  return median(t);
}

/** ns per random walk over a populated region, median of `samples`. */
export function timeWalk(m: Machine, o: { count: number; samples: number; pages?: number; warmUpMs?: number }): number {
  const { mm, start } = prepareGup(m, { order: 0, pages: o.pages ?? 4096 });
  const len = BigInt(o.pages ?? 4096) << BigInt(m.desc.pageShift);
  warmUp(() => walkRounds(m, mm, start, len, 512), o.warmUpMs ?? 30);
  const t: number[] = [];
  for (let i = 0; i < o.samples; i++) {
    const t0 = performance.now();
    const hits = walkRounds(m, mm, start, len, o.count);
    if (hits !== o.count) throw new PgtemuError('EFAULT', `bench: ${o.count - hits} walks missed`);
    t.push(((performance.now() - t0) * 1e6) / o.count);
  }
  mm.destroy();
  return median(t);
}

/**
 * Calls `fn` for `ms` milliseconds. V8 first runs the core's functions as
 * baseline (Liftoff) code and re-compiles the busy ones with TurboFan on a
 * background thread; a function in the middle of a call keeps the code it
 * started with, so the warm-up is many short calls, not one long one.
 */
export function warmUp(fn: () => unknown, ms: number): void {
  const until = performance.now() + ms;
  do fn(); while (performance.now() < until);
}

export function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
