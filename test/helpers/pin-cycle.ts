// The whole-range pin cycle that several suites run on a populated mapping:
// pin_user_pages_fast over it in calls of at most maxPagesPerCall, every
// folio's counts checked, unpin, zap, munmap; invariants hold at each step and
// every page goes back. `afterPin` adds a suite's own checks while pinned.
import { expect } from 'vitest';
import type { GupResult, Machine, Mm, WalkResult } from '../../src/index.js';

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
  const asked: number[] = [];
  for (let i = 0; i < nrPages; i += chunk) {
    asked.push(Math.min(chunk, nrPages - i));
    pins.push(mm.gupFast(o.start + (BigInt(i) << ps), asked[asked.length - 1], { pin: true, write: true }));
  }
  // all of it taken, and all of it lockless: the range is populated
  expect(pins.filter((r, k) => r.nr !== asked[k] || r.pfns.length !== asked[k] || r.fast !== r.nr).length).toBe(0);
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
  expect(mm.counters().hugetlbPages).toBe(0n);
  expect([...heads].filter((h) => m.page(h).refcount !== 0)).toEqual([]);
  mm.munmap(o.start, o.length);
  expect(mm.counters().pgtablesBytes).toBe(o.tablesLeft);   // only the top-level table is left
  expect(m.checkInvariants()).toEqual([]);
}

/**
 * One leaf's cycle, as the per-arch suites check it: the walk of a populated
 * write mapping at `start`, then pin_user_pages_fast of its `nr` pages, unpin,
 * zap. Returns what was seen at each step, to compare with leafCycleWant().
 */
export function leafCycle(m: Machine, mm: Mm, walk: WalkResult, o: {
  start: bigint; length: bigint; nr: number; order: number; free0: bigint;
}) {
  const pfn0 = walk.pfn!;
  const r = mm.gupFast(o.start, o.nr, { pin: true, write: true });
  const head = m.page(pfn0);
  const pinned = {
    level: walk.levelName,
    size: walk.size,
    flags: { write: walk.flags.write, dirty: walk.flags.dirty, young: walk.flags.young, leaf: walk.flags.leaf, user: walk.flags.user },
    nr: r.nr,
    fast: r.fast,
    contiguous: o.order === 0 || r.pfns.every((p, i) => p === pfn0 + BigInt(i)),
    refcounts: o.order === 0
      ? [...r.pfns].filter((p) => m.page(p).refcount !== 1 + BIAS).length
      : { refcount: head.refcount, pincount: head.pincount, order: head.order },
    invariants: m.checkInvariants(),
  };
  m.unpin(r);
  const unpinned = { refcount: m.page(pfn0).refcount, outstanding: m.stats().gupOutstanding, invariants: m.checkInvariants() };
  mm.zap(o.start, o.length);
  const zapped = { free: m.stats().freePages === o.free0, rss: mm.counters().rssAnon, refcount: m.page(pfn0).refcount, invariants: m.checkInvariants() };
  return { pinned, unpinned, zapped };
}

/** What leafCycle() sees when the kernel's counts hold: a write-faulted user leaf at `level`. */
export function leafCycleWant(o: { nr: number; order: number; level: string; size: bigint }) {
  return {
    pinned: {
      level: o.level,
      size: o.size,
      flags: { write: true, dirty: true, young: true, leaf: true, user: true },
      nr: o.nr,
      fast: o.nr,
      contiguous: true,
      // small folios: 1 (the mapping) + GUP_PIN_COUNTING_BIAS each; a large one: 1 + one per pinned page, _pincount the same
      refcounts: o.order === 0 ? 0 : { refcount: 1 + o.nr, pincount: o.nr, order: o.order },
      invariants: [],
    },
    unpinned: { refcount: 1, outstanding: 0n, invariants: [] },
    zapped: { free: true, rss: 0n, refcount: 0, invariants: [] },
  };
}
