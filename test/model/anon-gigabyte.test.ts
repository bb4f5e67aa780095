// The core machine issue's end-to-end check: 1 GiB of anonymous memory
// mapped with 4 KiB, 2 MiB and 1 GiB leaves, pinned with gup-fast in chunks
// of 512, every refcount checked, unpinned, zapped; the invariants hold and
// every page is back on the free lists.
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/index.js';

const GiB = 1n << 30n;
const BIAS = 1024;   // GUP_PIN_COUNTING_BIAS

describe.each([
  { leaf: '4 KiB', order: 0, kind: 'anon' as const },
  { leaf: '2 MiB', order: 9, kind: 'anon' as const },
  { leaf: '1 GiB', order: 18, kind: 'hugetlb' as const },
])('1 GiB of anonymous memory with $leaf leaves', ({ order, kind }) => {
  it('pins, checks every count, unpins, zaps, and leaves nothing behind', () => {
    const m = Machine.createSync({ arch: 'x86_64', variant: '4level', ramMiB: 2048 + 64, tablePoolMiB: 8 });
    const free0 = m.stats().freePages;
    const mm = m.createMm();
    const start = 4n * GiB;
    mm.mmap({ start, length: GiB, kind, hugeOrder: order, populate: true });
    const nrPages = Number(GiB >> 12n);
    const folioPages = 1 << order;
    expect(m.stats().freePages).toBe(free0 - BigInt(nrPages));
    expect(mm.counters().rssAnon).toBe(BigInt(nrPages));

    const pins: { pfns: BigUint64Array; nr: number; pin: boolean }[] = [];
    const addsBefore = m.stats().gupFastPages;
    for (let i = 0; i < nrPages; i += 512) pins.push(mm.gupFast(start + (BigInt(i) << 12n), 512, { pin: true, write: true }));
    // all of it taken, and all of it lockless: the range is populated
    expect(pins.filter((r) => r.nr !== 512 || r.fast !== 512).length).toBe(0);
    expect(m.stats().gupFastPages - addsBefore).toBe(BigInt(nrPages));
    // the pages come back in address order, contiguous within each folio
    const first = pins[0].pfns[0];
    for (let i = 0; i < 512; i++) expect(pins[0].pfns[i] - pins[0].pfns[0]).toBe(order === 0 ? pins[0].pfns[i] - first : BigInt(i));

    // every refcount: small folios 1 (the mapping) + 1024 per pin; large folios
    // 1 + one per pinned subpage, and _pincount the same
    const heads = new Set<bigint>();
    for (const r of pins) for (const pfn of r.pfns) heads.add(order === 0 ? pfn : pfn - (pfn % BigInt(folioPages)));
    expect(heads.size).toBe(nrPages / folioPages);
    // (collected, then asserted once: 262,144 expect() calls would dominate the run)
    const wrong: string[] = [];
    for (const h of heads) {
      const p = m.page(h);
      const ok = order === 0
        ? p.refcount === 1 + BIAS && p.mapcount === 0
        : p.order === order && p.refcount === 1 + folioPages && p.pincount === folioPages && p.entireMapcount === 0;
      if (!ok) wrong.push(`pfn ${h}: refcount ${p.refcount} mapcount ${p.mapcount} pincount ${p.pincount}`);
    }
    expect(wrong).toEqual([]);
    expect(m.stats().gupOutstanding).toBe(order === 0 ? BigInt(nrPages * BIAS) : BigInt(nrPages));
    expect(m.checkInvariants()).toEqual([]);

    for (const r of pins) m.unpin(r);
    expect(m.stats().gupOutstanding).toBe(0n);
    expect([...heads].filter((h) => m.page(h).refcount !== 1)).toEqual([]);
    expect(m.checkInvariants()).toEqual([]);

    mm.zap(start, GiB);
    expect(m.checkInvariants()).toEqual([]);
    expect(m.stats().freePages).toBe(free0);
    expect(mm.counters().rssAnon).toBe(0n);
    expect([...heads].filter((h) => m.page(h).refcount !== 0)).toEqual([]);
    mm.munmap(start, GiB);
    expect(mm.counters().pgtablesBytes).toBe(4096n);   // only the pgd is left
  });

  if (order > 0) {
    it('pins a whole leaf with one atomic add on the head', () => {
      const m = Machine.createSync({ arch: 'x86_64', ramMiB: 2048 + 64, tablePoolMiB: 8 });
      const mm = m.createMm();
      const size = 1n << BigInt(12 + order);
      mm.mmap({ start: 4n * GiB, length: size, kind, hugeOrder: order, populate: true });
      const nr = 1 << order;
      const r = mm.gupFast(4n * GiB, nr, { pin: true, write: true });
      expect(r.nr).toBe(nr);
      const head = m.page(r.pfns[0]);
      expect(head.refcount).toBe(1 + nr);      // one try_grab_folio_fast(page, refs = nr)
      expect(head.pincount).toBe(nr);
      expect(m.page(r.pfns[nr - 1]).tail).toBe(true);
      expect(m.page(r.pfns[nr - 1]).refcount).toBe(0);
      m.unpin(r);
      expect(m.page(r.pfns[0]).refcount).toBe(1);
      expect(m.checkInvariants()).toEqual([]);
    });
  }
});
