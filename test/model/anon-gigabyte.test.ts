// The core machine issue's end-to-end check: 1 GiB of anonymous memory
// mapped with 4 KiB, 2 MiB and 1 GiB leaves, pinned with gup-fast in chunks
// of 512, every refcount checked, unpinned, zapped; the invariants hold and
// every page is back on the free lists.
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/index.js';
import { pinCycle } from '../helpers/pin-cycle.js';

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
    expect(m.stats().freePages).toBe(free0 - BigInt(nrPages));
    // hugetlb pages are not in the RSS counters: hugetlb_no_page -> hugetlb_count_add (mm->hugetlb_usage),
    // not MM_ANONPAGES (mm/hugetlb.c, include/linux/hugetlb.h v6.12)
    const c = mm.counters();
    expect(kind === 'hugetlb' ? c.hugetlbPages : c.rssAnon).toBe(BigInt(nrPages));
    expect(kind === 'hugetlb' ? c.rssAnon : c.hugetlbPages).toBe(0n);

    const addsBefore = m.stats().gupFastPages;
    pinCycle(m, mm, {
      start, length: GiB, order, free0, tablesLeft: 4096n, chunk: 512,   // only the pgd is left
      afterPin: (pins) => {
        expect(pins.filter((r) => r.nr !== 512).length).toBe(0);
        expect(m.stats().gupFastPages - addsBefore).toBe(BigInt(nrPages));
        // the pages come back in address order: each is what the tables map there
        const sample = [0, 1, 511, 512, 4097, nrPages - 1];
        expect(sample.map((i) => pins[i >> 9].pfns[i & 511])).toEqual(sample.map((i) => m.walk(mm, start + (BigInt(i) << 12n)).pfn));
        // and contiguous within each folio
        if (order > 0) for (let i = 0; i < 512; i++) expect(pins[0].pfns[i] - pins[0].pfns[0]).toBe(BigInt(i));
        // every reference gup took is accounted for: 1024 per small page, 1 per subpage of a large folio
        expect(m.stats().gupOutstanding).toBe(order === 0 ? BigInt(nrPages * BIAS) : BigInt(nrPages));
      },
    });
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
