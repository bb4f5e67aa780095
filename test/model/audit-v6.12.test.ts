// The audit of the core against v6.12 (shared reference zone-device.md §1,
// rows A1, A9, A16, A16b, A21, A22, A23 and the pfnmap MAP_POPULATE case):
// one `it` per fix, each over every arch variant it applies to, each failing
// on the core as it was before the fix.
import { describe, expect, it } from 'vitest';
import { Machine, type MachineOptions } from '../../src/index.js';
import { VARIANTS } from '../helpers/machines.js';

const BIAS = 1024;                 // GUP_PIN_COUNTING_BIAS, include/linux/mm.h
const PG_large_rmappable = 9n;     // include/linux/page-flags.h (v6.12)
const PG_anon_exclusive = 11n;
const A = 1n << 30n;               // PMD aligned on every variant (the largest PMD is 512 MiB)

/** A variant's machine with room for a few of its PMD-sized folios (64 KiB-page PMDs are 512 MiB). */
function machine(v: { arch: string; variant: string }, extra: Partial<MachineOptions> = {}) {
  const probe = Machine.createSync({ ...v, ramMiB: 16, tablePoolMiB: 4, ...extra });
  const n = probe.desc.levels.length;
  const pmdOrder = probe.leafOrders[n - 2];
  const pmdMiB = Math.max(1, 2 ** (probe.desc.pageShift + pmdOrder - 20));
  const m = pmdMiB * 4 <= 16 ? probe : Machine.createSync({ ...v, ramMiB: Math.max(64, pmdMiB * 4), tablePoolMiB: 4, ...extra });
  const page = 1n << BigInt(m.desc.pageShift);
  return { m, mm: m.createMm(), page, pmdOrder, pmd: page << BigInt(pmdOrder), ptePages: 1n << BigInt(pmdOrder) };
}

const bit = (flags: bigint, b: bigint) => ((flags >> b) & 1n) === 1n;

describe('v6.12 audit fixes, on every arch variant', () => {
  it('a FOLL_LONGTERM read pin of the zero page unshares: a new exclusive anon page, mapped read-only, pinned (gup_must_unshare, wp_page_copy)', () => {
    const got: unknown[] = [];
    const want: unknown[] = [];
    for (const v of VARIANTS) {
      const { m, mm, page } = machine(v);
      mm.mmap({ start: A, length: 4n * page });
      mm.fault(A);                                           // read fault: the shared zero page
      const zero = m.walk(mm, A).pfn!;
      const z0 = m.page(zero).refcount;
      const flushes0 = m.stats().tlbFlushes;
      const r = mm.gupFast(A, 1, { pin: true, longterm: true });
      const w = m.walk(mm, A);
      const p = m.page(r.pfns[0] ?? 0n);
      got.push({
        v, nr: r.nr, fast: r.fast, same: w.pfn === r.pfns[0], notZero: r.pfns[0] !== zero,
        write: w.flags.write, special: w.flags.special, refcount: p.refcount, mapcount: p.mapcount,
        exclusive: bit(p.flags, PG_anon_exclusive), anon: (p.mapping & 1n) === 1n,
        zeroRefcount: m.page(zero).refcount - z0, rssAnon: mm.counters().rssAnon, flushes: m.stats().tlbFlushes - flushes0,
        invariants: m.checkInvariants(),
      });
      want.push({
        v, nr: 1, fast: 0, same: true, notZero: true, write: false, special: false, refcount: 1 + BIAS, mapcount: 0,
        exclusive: true, anon: true, zeroRefcount: 0, rssAnon: 1n, flushes: 1n, invariants: [],
      });
      m.unpin(r);
      // the unshared page is exclusive: a second long-term pin takes it as it is, a write reuses it in place
      const again = mm.gupFast(A, 1, { pin: true, longterm: true });
      mm.fault(A, { write: true });
      got.push({ v, again: again.pfns[0] === r.pfns[0], reused: m.walk(mm, A).pfn === r.pfns[0], write: m.walk(mm, A).flags.write });
      want.push({ v, again: true, reused: true, write: true });
      m.unpin(again);
      // a short-term read pin does not unshare: the zero page, never counted
      mm.fault(A + page);
      const short = mm.gupFast(A + page, 1, { pin: true });
      got.push({ v, short: short.pfns[0], zeroRefcount: m.page(zero).refcount - z0 });
      want.push({ v, short: zero, zeroRefcount: 0 });
      m.unpin(short);
      mm.destroy();
      expect(m.checkInvariants()).toEqual([]);
    }
    expect(got).toEqual(want);
  });

  it('a THP read fault maps the huge zero folio; write faults, long-term pins and partial zaps split it into zero-page PTEs', () => {
    const got: unknown[] = [];
    const want: unknown[] = [];
    for (const v of VARIANTS) {
      const { m, mm, page, pmdOrder, pmd, ptePages } = machine(v);
      const st0 = m.stats();
      mm.mmap({ start: A, length: 6n * pmd, hugeOrder: pmdOrder });
      mm.fault(A + 3n * page);                                  // do_huge_pmd_anonymous_page, !FAULT_FLAG_WRITE
      const w = m.walk(mm, A);
      const hz = w.pfn!;
      const h = m.page(hz);
      const tables0 = mm.counters().pgtablesBytes;
      got.push({
        v, level: w.level, leaf: w.flags.leaf, write: w.flags.write, special: w.flags.special, order: h.order,
        refcount: h.refcount, mapcount: h.mapcount, entire: h.entireMapcount, mapping: h.mapping,
        rmappable: bit(h.flags, PG_large_rmappable), rss: mm.counters().rssAnon, used: st0.freePages - m.stats().freePages,
        hugeZeroPfn: m.stats().hugeZeroPfn,
      });
      want.push({
        v, level: m.desc.levels.length - 2, leaf: true, write: false, special: false, order: pmdOrder,
        refcount: 1, mapcount: -1, entire: -1, mapping: 0n, rmappable: false, rss: 0n, used: ptePages, hugeZeroPfn: hz,
      });
      // allocated once: the next read fault, in this mm or another, maps the same folio
      const mm2 = m.createMm();
      mm2.mmap({ start: A, length: pmd, hugeOrder: pmdOrder });
      for (let i = 1n; i < 6n; i++) mm.fault(A + i * pmd);
      mm2.fault(A);
      got.push({ v, again: [1n, 2n, 3n, 4n, 5n].map((i) => m.walk(mm, A + i * pmd).pfn === hz + 0n), other: m.walk(mm2, A).pfn, used: st0.freePages - m.stats().freePages });
      want.push({ v, again: [true, true, true, true, true], other: hz, used: ptePages });
      expect(m.checkInvariants()).toEqual([]);

      // gup-fast on the huge zero PMD: FOLL_GET and a short-term FOLL_PIN grab the (large) folio in one add
      const g = mm.gupFast(A + 2n * page, 3);
      const pn = mm.gupFast(A, 4, { pin: true });
      got.push({ v, g: [g.nr, g.fast, g.pfns[0] - hz], pn: [pn.nr, pn.fast, pn.pfns[3] - hz], refcount: m.page(hz).refcount, pincount: m.page(hz).pincount, inv: m.checkInvariants() });
      want.push({ v, g: [3, 3, 2n], pn: [4, 4, 3n], refcount: 1 + 3 + 4, pincount: 4, inv: [] });
      m.put(g);
      m.unpin(pn);

      // a long-term read pin: gup-fast bails (not anon: gup_must_unshare), the slow path unshares,
      // which splits the PMD into zero-page PTEs (__split_huge_zero_page_pmd) and copies one page
      const lt = mm.gupFast(A + 5n * page, 1, { pin: true, longterm: true });
      const wl = m.walk(mm, A + 5n * page), wz = m.walk(mm, A + 6n * page);
      const np = m.page(lt.pfns[0]);
      got.push({
        v, nr: lt.nr, fast: lt.fast, level: wl.level, write: wl.flags.write, mine: wl.pfn === lt.pfns[0], refcount: np.refcount,
        exclusive: bit(np.flags, PG_anon_exclusive), zero: wz.pfn === m.stats().zoneStartPfn - 1n, zeroSpecial: wz.flags.special,
        zeroWrite: wz.flags.write, hz: m.page(hz).refcount, rss: mm.counters().rssAnon, tables: mm.counters().pgtablesBytes - tables0,
      });
      want.push({
        v, nr: 1, fast: 0, level: m.desc.levels.length - 1, write: false, mine: true, refcount: 1 + BIAS, exclusive: true,
        zero: true, zeroSpecial: m.desc.hasSpecial, zeroWrite: false, hz: 1, rss: 1n, tables: BigInt(m.desc.levels[m.desc.levels.length - 1].tableBytes),
      });
      m.unpin(lt);

      // a write fault: do_huge_pmd_wp_page falls back, the PMD is split (one flush), wp_page_copy copies (another)
      const f0 = m.stats().tlbFlushes;
      mm.fault(A + pmd + 7n * page, { write: true });
      const ww = m.walk(mm, A + pmd + 7n * page);
      got.push({ v, level: ww.level, write: ww.flags.write, flushes: m.stats().tlbFlushes - f0, rss: mm.counters().rssAnon, next: m.walk(mm, A + pmd + 8n * page).pfn === m.stats().zoneStartPfn - 1n });
      want.push({ v, level: m.desc.levels.length - 1, write: true, flushes: 2n, rss: 2n, next: true });

      // a write gup: gup-fast cannot (read-only), the slow path faults: one new anon page
      const wg = mm.gupFast(A + 2n * pmd + page, 1, { pin: true, write: true });
      got.push({ v, nr: wg.nr, fast: wg.fast, write: m.walk(mm, A + 2n * pmd + page).flags.write, rss: mm.counters().rssAnon });
      want.push({ v, nr: 1, fast: 0, write: true, rss: 3n });
      m.unpin(wg);

      // zap / munmap of part of a huge zero PMD split it (zap_pmd_range -> __split_huge_pmd); the whole PMD just goes
      mm.zap(A + 3n * pmd + page, 2n * page);
      mm.munmap(A + 4n * pmd, 3n * page);
      mm.zap(A + 5n * pmd, pmd);
      const lastLevel = m.desc.levels.length - 1;
      got.push({
        v, zapped: m.walk(mm, A + 3n * pmd + page).status, kept: [m.walk(mm, A + 3n * pmd).level, m.walk(mm, A + 3n * pmd + 3n * page).pfn === m.stats().zoneStartPfn - 1n],
        unmapped: m.walk(mm, A + 4n * pmd + 2n * page).status, after: m.walk(mm, A + 4n * pmd + 3n * page).level, whole: m.walk(mm, A + 5n * pmd).status,
        hz: m.page(hz).refcount, inv: m.checkInvariants(),
      });
      want.push({ v, zapped: 'none', kept: [lastLevel, true], unmapped: 'none', after: lastLevel, whole: 'none', hz: 1, inv: [] });

      // the machine keeps the folio: once every mapping is gone, it alone holds it
      mm.destroy();
      mm2.destroy();
      const s = m.stats();
      got.push({ v, free: s.totalPages - s.freePages, hz: m.page(hz).refcount, inv: m.checkInvariants() });
      want.push({ v, free: ptePages, hz: 1, inv: [] });
    }
    expect(got).toEqual(want);
  });

  it('hugetlb pages are counted in hugetlb_usage, not in the anon RSS (hugetlb_count_add / hugetlb_count_sub)', () => {
    const got: unknown[] = [];
    const want: unknown[] = [];
    for (const v of VARIANTS) {
      const { m, mm, pmdOrder, pmd, ptePages } = machine(v);
      mm.mmap({ start: A, length: 2n * pmd, kind: 'hugetlb', hugeOrder: pmdOrder });
      mm.fault(A);
      const one = mm.counters();
      mm.fault(A + pmd, { write: true });
      const two = mm.counters();
      mm.zap(A, pmd);
      const zapped = mm.counters();
      mm.munmap(A, 2n * pmd);
      const gone = mm.counters();
      got.push({ v, c: [one, two, zapped, gone].map((c) => [c.rssAnon, c.hugetlbPages]), inv: m.checkInvariants() });
      want.push({ v, c: [[0n, ptePages], [0n, 2n * ptePages], [0n, ptePages], [0n, 0n]], inv: [] });
    }
    expect(got).toEqual(want);
  });

  it('without ARCH_HAS_PTE_SPECIAL gup-fast takes no PTE-mapped page, and read faults still map the zero page (recognised by pfn)', () => {
    const got: unknown[] = [];
    const want: unknown[] = [];
    for (const v of VARIANTS) {
      const { m, mm, page, pmdOrder, pmd } = machine(v, { special: false, devmap: false });
      const zero = m.stats().zoneStartPfn - 1n;
      mm.mmap({ start: A, length: 8n * page, populate: true });     // written: anon pages
      const w = mm.gupFast(A, 8, { pin: true });                     // the #else gup_fast_pte_range: 0
      mm.mmap({ start: 2n * A, length: 4n * page });
      mm.fault(2n * A);                                               // do_anonymous_page: the zero page, pte_mkspecial a no-op
      const zw = m.walk(mm, 2n * A);
      const z0 = m.page(zero).refcount;
      const gz = mm.gupFast(2n * A, 1);                               // follow_page_pte: is_zero_pfn -> a reference
      const gzRef = m.page(zero).refcount - z0;
      m.put(gz);
      const pz = mm.gupFast(2n * A, 1, { pin: true });                // FOLL_PIN: never counted
      const pzRef = m.page(zero).refcount - z0;
      m.unpin(pz);
      const inv1 = m.checkInvariants();
      mm.fault(2n * A, { write: true });                              // do_wp_page: copies the zero page
      const cw = m.walk(mm, 2n * A);
      mm.fault(2n * A + page);
      mm.zap(2n * A, 4n * page);                                      // zap: no reference to drop on the zero pfn
      // PMD leaves stay fast
      mm.mmap({ start: 4n * A, length: pmd, hugeOrder: pmdOrder, populate: true });
      const hp = mm.gupFast(4n * A, 4, { pin: true });
      got.push({
        v, w: [w.nr, w.fast], zero: [zw.pfn, zw.flags.special, zw.flags.write], gz: [gz.pfns[0], gz.fast, gzRef], pzRef,
        copied: [cw.pfn !== zero, cw.flags.write], rss: mm.counters().rssAnon, zeroRef: m.page(zero).refcount - z0, inv1,
        huge: [hp.nr, hp.fast], inv: m.checkInvariants(),
      });
      want.push({
        v, w: [8, 0], zero: [zero, false, false], gz: [zero, 0, 1], pzRef: 0, copied: [true, true], rss: 8n + BigInt(1 << pmdOrder),
        zeroRef: 0, inv1: [], huge: [4, 4], inv: [],
      });
      m.unpin(w);
      m.unpin(hp);
      mm.destroy();
      expect(m.checkInvariants()).toEqual([]);
    }
    expect(got).toEqual(want);
  });

  it('FOLL_LONGTERM without FOLL_PIN is refused with -EINVAL (is_valid_gup_args), from the host and in the core', () => {
    const got: unknown[] = [];
    const want: unknown[] = [];
    for (const v of VARIANTS) {
      const { m, mm, page } = machine(v);
      mm.mmap({ start: A, length: 4n * page, populate: true });
      const before = m.page(m.walk(mm, A).pfn!).refcount;
      const ops0 = m.stats();
      const r = mm.gupFast(A, 2, { longterm: true });
      got.push({ v, nr: r.nr, ret: r.ret, errno: r.errno, fast: r.fast, pfns: r.pfns.length, refcount: m.page(m.walk(mm, A).pfn!).refcount - before, out: m.stats().gupOutstanding - ops0.gupOutstanding });
      want.push({ v, nr: 0, ret: -22, errno: 'EINVAL', fast: 0, pfns: 0, refcount: 0, out: 0n });
    }
    expect(got).toEqual(want);
  });

  it('MAP_POPULATE on a pfnmap succeeds with the pfnmap remap_pfn_range built (__mm_populate skips VM_PFNMAP)', () => {
    const got: unknown[] = [];
    const want: unknown[] = [];
    for (const v of VARIANTS) {
      const { m, mm, page } = machine(v);
      const pfn = 1n << BigInt(m.desc.maxPhysBits - m.desc.pageShift - 1);   // no struct page there
      let err: unknown;
      try { mm.mmap({ start: A, length: 4n * page, kind: 'pfnmap', pfn, populate: true }); } catch (e) { err = (e as { code?: string }).code ?? e; }
      const w = m.walk(mm, A + 3n * page);
      got.push({ v, err, vmas: mm.vmas().length, pfn: w.pfn, special: w.flags.special, inv: m.checkInvariants() });
      want.push({ v, err: undefined, vmas: 1, pfn: pfn + 3n, special: true, inv: [] });
    }
    expect(got).toEqual(want);
  });

  it('zapping entries that hold no page (the zero page) still flushes the TLB once (tlb_finish_mmu: tlb->end was set by tlb_remove_tlb_entry); nothing present, no flush', () => {
    const got: unknown[] = [];
    const want: unknown[] = [];
    for (const v of VARIANTS) {
      const { m, mm, page } = machine(v);
      mm.mmap({ start: A, length: 4n * page });
      for (let i = 0n; i < 4n; i++) mm.fault(A + i * page);      // read faults: zero-page entries
      const f0 = m.stats().tlbFlushes;
      mm.zap(A, 4n * page);
      const f1 = m.stats().tlbFlushes;
      mm.zap(A, 4n * page);
      got.push({ v, first: f1 - f0, again: m.stats().tlbFlushes - f1, inv: m.checkInvariants() });
      want.push({ v, first: 1n, again: 0n, inv: [] });
    }
    expect(got).toEqual(want);
  });
});
