// The whole-range pin cycle that several suites run on a populated mapping:
// pin_user_pages_fast over it in calls of at most maxPagesPerCall, every
// folio's counts checked, unpin, zap, munmap; invariants hold at each step and
// every page goes back. `afterPin` adds a suite's own checks while pinned.
import { expect } from 'vitest';
import type { GupResult, Machine, Mm } from '../../src/index.js';

const BIAS = 1024;   // GUP_PIN_COUNTING_BIAS, include/linux/mm.h

export function pinCycle(m: Machine, mm: Mm, o: {
  start: bigint; length: bigint; order: number; free0: bigint; tablesLeft: bigint; chunk?: number;
  afterPin?: (pins: GupResult[], heads: Set<bigint>) => void;
}): void {
  const ps = BigInt(m.desc.pageShift);
  const nrPages = Number(o.length >> ps);
  const folioPages = 1 << o.order;
  const chunk = Math.min(nrPages, m.maxPagesPerCall, o.chunk ?? Infinity);
  const pins: GupResult[] = [];
  for (let i = 0; i < nrPages; i += chunk) {
    pins.push(mm.gupFast(o.start + (BigInt(i) << ps), Math.min(chunk, nrPages - i), { pin: true, write: true }));
  }
  // all of it taken, and all of it lockless: the range is populated
  expect(pins.filter((r) => r.nr !== r.pfns.length || r.fast !== r.nr).length).toBe(0);
  expect(pins.reduce((s, r) => s + r.nr, 0)).toBe(nrPages);

  const heads = new Set<bigint>();
  for (const r of pins) for (const p of r.pfns) heads.add(p - (p % BigInt(folioPages)));
  expect(heads.size).toBe(nrPages / folioPages);
  // small folios: 1 (the mapping) + GUP_PIN_COUNTING_BIAS; large: 1 + one per pinned page, _pincount the same
  // (collected, then asserted once: hundreds of thousands of expect() calls would dominate the run)
  const wrong: string[] = [];
  for (const h of heads) {
    const p = m.page(h);
    const ok = o.order === 0
      ? p.refcount === 1 + BIAS && p.mapcount === 0
      : p.order === o.order && p.refcount === 1 + folioPages && p.pincount === folioPages && p.entireMapcount === 0;
    if (!ok) wrong.push(`pfn ${h}: refcount ${p.refcount} mapcount ${p.mapcount} pincount ${p.pincount} order ${p.order}`);
  }
  expect(wrong).toEqual([]);
  o.afterPin?.(pins, heads);
  expect(m.checkInvariants()).toEqual([]);

  for (const r of pins) m.unpin(r);
  expect(m.stats().gupOutstanding).toBe(0n);
  expect([...heads].filter((h) => m.page(h).refcount !== 1)).toEqual([]);
  expect(m.checkInvariants()).toEqual([]);

  mm.zap(o.start, o.length);
  expect(m.checkInvariants()).toEqual([]);
  expect(m.stats().freePages).toBe(o.free0);
  expect(mm.counters().rssAnon).toBe(0n);
  expect([...heads].filter((h) => m.page(h).refcount !== 0)).toEqual([]);
  mm.munmap(o.start, o.length);
  expect(mm.counters().pgtablesBytes).toBe(o.tablesLeft);   // only the top-level table is left
  expect(m.checkInvariants()).toEqual([]);
}
