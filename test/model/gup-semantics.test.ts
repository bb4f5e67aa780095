// gup on RAM, one scenario per kernel situation (mm/gup.c, mm/memory.c as of
// v6.12; reference/gup-and-pgmap.md §1-2), under every kernel preset: for
// anonymous memory the legacy and unified models must agree.
import { describe, expect, it } from 'vitest';
import { Machine, KERNELS } from '../../src/index.js';

const A = 0x1000_0000n;
const PAGE = 4096n;
const BIAS = 1024;

function setup(kernel: string) {
  const m = Machine.createSync({ arch: 'x86_64', kernel, ramMiB: 64, tablePoolMiB: 4 });
  return { m, mm: m.createMm() };
}

describe.each(Object.keys(KERNELS))('kernel %s', (kernel) => {
  it('FOLL_GET adds 1, FOLL_PIN adds GUP_PIN_COUNTING_BIAS to a small folio; release restores', () => {
    const { m, mm } = setup(kernel);
    mm.mmap({ start: A, length: 16n * PAGE, populate: true });
    const g = mm.gupFast(A, 16);
    const p = mm.gupFast(A, 16, { pin: true });
    expect(g.pfns).toEqual(p.pfns);
    expect(m.page(g.pfns[3]).refcount).toBe(1 + 1 + BIAS);
    expect(m.stats().gupOutstanding).toBe(BigInt(16 * (1 + BIAS)));
    m.put(g);
    m.unpin(p);
    expect(m.page(g.pfns[3]).refcount).toBe(1);
    expect(m.checkInvariants()).toEqual([]);
  });

  it('unpin gives back one page listed again and again; one copy too many is refused at the first and changes nothing', () => {
    const { m, mm } = setup(kernel);
    mm.mmap({ start: A, length: 4n * PAGE, populate: true });
    const a = mm.gupFast(A, 4, { pin: true });
    const b = mm.gupFast(A + PAGE, 1, { pin: true });
    const twice = a.pfns[1];
    expect(m.page(twice).refcount).toBe(1 + 2 * BIAS);
    const pfns = [a.pfns[0], twice, b.pfns[0], a.pfns[2], a.pfns[3]];   // pfn 1 twice in a row
    expect(() => m.unpin({ pfns: [...pfns.slice(0, 3), twice], pin: true })).toThrow(/page 1 \(pfn/);   // three pins asked of two
    expect(m.page(twice).refcount).toBe(1 + 2 * BIAS);
    expect(m.page(a.pfns[0]).refcount).toBe(1 + BIAS);
    m.unpin({ pfns, pin: true });
    for (const pfn of a.pfns) expect(m.page(pfn).refcount).toBe(1);
    expect(m.stats().gupOutstanding).toBe(0n);
    expect(m.checkInvariants()).toEqual([]);
  });

  it('a read fault maps the shared zero page with a special entry; gup-fast bails on it', () => {
    const { m, mm } = setup(kernel);
    mm.mmap({ start: A, length: 4n * PAGE });
    mm.fault(A);                                      // read fault
    const w = m.walk(mm, A);
    expect(w.flags.special).toBe(true);
    expect(w.flags.write).toBe(false);
    const zero = w.pfn!;
    const z0 = m.page(zero).refcount;
    // FOLL_FAST_ONLY: the lockless walk refuses special entries (pte_special -> bail)
    expect(mm.gupFast(A, 1, { fastOnly: true }).nr).toBe(0);
    // the slow path follows the zero page: FOLL_GET takes a reference on it ...
    const g = mm.gupFast(A, 1);
    expect(g.nr).toBe(1);
    expect(g.fast).toBe(0);
    expect(g.pfns[0]).toBe(zero);
    expect(m.page(zero).refcount).toBe(z0 + 1);
    m.put(g);
    // ... FOLL_PIN never counts it (try_grab_folio: is_zero_folio)
    const p = mm.gupFast(A, 1, { pin: true });
    expect(p.pfns[0]).toBe(zero);
    expect(m.page(zero).refcount).toBe(z0);
    m.unpin(p);
    expect(m.checkInvariants()).toEqual([]);
  });

  it('FOLL_WRITE on the zero page faults a private copy (wp_page_copy)', () => {
    const { m, mm } = setup(kernel);
    mm.mmap({ start: A, length: PAGE });
    mm.fault(A);
    const zero = m.walk(mm, A).pfn!;
    const r = mm.gupFast(A, 1, { pin: true, write: true });
    expect(r.nr).toBe(1);
    expect(r.fast).toBe(0);                            // read-only entry: gup-fast bails on FOLL_WRITE
    expect(r.pfns[0]).not.toBe(zero);
    const w = m.walk(mm, A);
    expect(w.flags.write && w.flags.dirty && !w.flags.special).toBe(true);
    expect(m.page(r.pfns[0]).refcount).toBe(1 + BIAS);
    m.unpin(r);
    expect(m.checkInvariants()).toEqual([]);
  });

  it('gup-fast takes a prefix: it stops at the first page it cannot handle, the slow path does the rest', () => {
    const { m, mm } = setup(kernel);
    mm.mmap({ start: A, length: 8n * PAGE });
    mm.populate(A, 3n * PAGE, { write: true });          // pages 0-2 present, 3-7 not
    const fast = mm.gupFast(A, 8, { pin: true, fastOnly: true });
    expect(fast.nr).toBe(3);
    m.unpin(fast);
    const all = mm.gupFast(A, 8, { pin: true });
    expect(all.nr).toBe(8);
    expect(all.fast).toBe(3);
    for (let i = 0; i < 8; i++) expect(m.walk(mm, A + BigInt(i) * PAGE).pfn).toBe(all.pfns[i]);
    m.unpin(all);
    expect(m.checkInvariants()).toEqual([]);
  });

  it('FOLL_NOFAULT: the slow path does not fault; a hole ends the result', () => {
    const { m, mm } = setup(kernel);
    mm.mmap({ start: A, length: 4n * PAGE });
    mm.populate(A, 2n * PAGE, { write: true });
    const r = mm.gupFast(A, 4, { noFault: true });
    expect(r.nr).toBe(2);
    m.put(r);
    const none = mm.gupFast(A + 2n * PAGE, 2, { noFault: true });
    expect(none.nr).toBe(0);
    expect(none.errno).toBe('EFAULT');
    expect(m.checkInvariants()).toEqual([]);
  });

  it('an unmapped address or a VMA without permission: -EFAULT, nothing taken', () => {
    const { m, mm } = setup(kernel);
    mm.mmap({ start: A, length: PAGE, write: false, populate: true });
    expect(mm.gupFast(A + PAGE, 1).ret).toBe(-14);
    const w = mm.gupFast(A, 1, { write: true });        // check_vma_flags: FOLL_WRITE needs VM_WRITE
    expect(w.ret).toBe(-14);
    expect(m.stats().gupOutstanding).toBe(0n);
    expect(m.checkInvariants()).toEqual([]);
  });

  it('VM_PFNMAP: special entries with no struct page reference; gup refuses them', () => {
    const { m, mm } = setup(kernel);
    mm.mmap({ start: A, length: 4n * PAGE, kind: 'pfnmap', pfn: 0x8_0000 });
    const w = m.walk(mm, A + PAGE);
    expect(w.pfn).toBe(0x8_0001n);
    expect(w.flags.special).toBe(true);
    const r = mm.gupFast(A, 4, { pin: true });
    expect(r.nr).toBe(0);
    expect(r.errno).toBe('EFAULT');
    mm.munmap(A, 4n * PAGE);
    expect(m.checkInvariants()).toEqual([]);
  });

  it('a THP: one grab covers the subpages asked for, a partial range takes only those', () => {
    const { m, mm } = setup(kernel);
    mm.mmap({ start: A, length: 2n << 20n, hugeOrder: 9, populate: true });
    const r = mm.gupFast(A + 100n * PAGE, 50, { pin: true });
    const head = m.walk(mm, A).pfn!;
    expect(r.pfns[0]).toBe(head + 100n);
    expect(m.page(head).refcount).toBe(1 + 50);
    expect(m.page(head).pincount).toBe(50);
    m.unpin(r);
    expect(m.page(head).pincount).toBe(0);
    expect(m.checkInvariants()).toEqual([]);
  });

  it('a THP that does not fit the VMA falls back to base pages', () => {
    const { m, mm } = setup(kernel);
    mm.mmap({ start: A + PAGE, length: (2n << 20n) - PAGE, hugeOrder: 9, populate: true });
    expect(m.walk(mm, A + PAGE).levelName).toBe('pte');
    expect(m.checkInvariants()).toEqual([]);
  });

  it('a THP VMA whose pmd slot already holds a pte table faults at pte level (handle_pte_fault)', () => {
    const m = Machine.createSync({ arch: 'x86_64', kernel, ramMiB: 16, tablePoolMiB: 1 });
    const mm = m.createMm();
    const G = 1n << 30n;
    mm.mmap({ start: G, length: 2n << 20n, hugeOrder: 9 });
    mm.mmap({ start: 2n * G, length: 14n << 20n });
    mm.populate(2n * G, 14n << 20n, { write: true });   // no order-9 block left
    mm.fault(G, { write: true });                        // THP fallback: a base page in a new pte table
    expect(m.walk(mm, G).levelName).toBe('pte');
    mm.munmap(2n * G, 14n << 20n);                       // order-9 blocks are free again:
    mm.mmap({ start: 3n * G, length: 2n << 20n, hugeOrder: 9 });
    mm.fault(3n * G, { write: true });
    expect(m.walk(mm, 3n * G).levelName).toBe('pmd');   // a THP elsewhere gets one
    mm.fault(G + PAGE, { write: true });                 // still pte level: the pte table is there
    expect(m.walk(mm, G + PAGE).levelName).toBe('pte');
    const r = mm.gupFast(G + 2n * PAGE, 1, { pin: true, write: true });
    expect(r.nr).toBe(1);
    m.unpin(r);
    expect(m.checkInvariants()).toEqual([]);
  });

  it('hugetlb: read-only until written, then made writable in place', () => {
    const { m, mm } = setup(kernel);
    mm.mmap({ start: A, length: 2n << 20n, kind: 'hugetlb', hugeOrder: 9 });
    mm.fault(A + 5n * PAGE);
    const ro = m.walk(mm, A);
    expect(ro.levelName).toBe('pmd');
    expect(ro.flags.write).toBe(false);
    const r = mm.gupFast(A, 2, { pin: true, write: true });    // gup-fast bails (read-only); the slow path faults
    expect(r.fast).toBe(0);
    expect(r.nr).toBe(2);
    expect(m.walk(mm, A).flags.write).toBe(true);
    expect(m.walk(mm, A).pfn).toBe(ro.pfn);
    m.unpin(r);
    expect(m.checkInvariants()).toEqual([]);
  });

  it('zap drops each mapping reference after the TLB flush and frees at zero; a pin keeps the page', () => {
    const { m, mm } = setup(kernel);
    mm.mmap({ start: A, length: 8n * PAGE, populate: true });
    const free = m.stats().freePages;
    const r = mm.gupFast(A, 1, { pin: true });
    const flushes = m.stats().tlbFlushes;
    mm.zap(A, 8n * PAGE);
    expect(m.stats().tlbFlushes).toBe(flushes + 1n);
    expect(m.stats().freePages).toBe(free + 7n);        // the pinned page survives the zap
    expect(m.page(r.pfns[0]).refcount).toBe(BIAS);
    expect(m.page(r.pfns[0]).mapcount).toBe(-1);
    expect(m.checkInvariants()).toEqual([]);
    m.unpin(r);                                         // the last reference frees it
    expect(m.stats().freePages).toBe(free + 8n);
    expect(m.checkInvariants()).toEqual([]);
  });

  it('munmap frees the tables it empties; zap keeps them', () => {
    const { m, mm } = setup(kernel);
    const pool = m.stats().poolFreeBytes;
    mm.mmap({ start: A, length: 4n << 20n, populate: true });
    const used = pool - m.stats().poolFreeBytes;
    expect(used).toBe(4096 * 4);                        // pud + pmd + 2 pte tables
    mm.zap(A, 4n << 20n);
    expect(m.stats().poolFreeBytes).toBe(pool - used);
    mm.munmap(A, 4n << 20n);
    expect(m.stats().poolFreeBytes).toBe(pool);
    expect(mm.vmas()).toEqual([]);
  });

  it('a broken count is reported with the page, the invariant and the last operation, never repaired', () => {
    const { m, mm } = setup(kernel);
    mm.mmap({ start: A, length: 2n * PAGE, populate: true });
    const r = mm.gupFast(A, 2, { pin: true });
    // a caller that drops a pin twice is refused before anything changes
    m.unpin(r);
    expect(() => m.unpin(r)).toThrow(/not the references to give back/);
    expect(m.checkInvariants()).toEqual([]);
    // a kernel bug that loses a reference: the page is mapped with refcount 0
    m.inject(r.pfns[1], 'refcount', 0);
    const v = m.checkInvariants();
    expect(v.map((x) => x.name)).toEqual(['ref-zero-mapped', 'free-state', 'outstanding']);
    expect(v[0].pfn).toBe(r.pfns[1]);
    expect(v[0].invariant).toBe(11);
    expect(v[0].design).toBe(1);                        // DESIGN.md's invariant 1, as the message says
    expect(v[0].lastOp?.kind).toBe('raw');
    expect(v[0].message).toMatch(/invariant 1 \(ref-zero-mapped\) broken at pfn 0x[0-9a-f]+: .*last operation #\d+ raw/);
    // still broken on the next check: reported, not repaired
    expect(m.checkInvariants().length).toBe(3);
    expect(m.page(r.pfns[1]).refcount).toBe(0);
  });
});

// s390's 2 GiB hugetlb entries are built and read in pte format by the hugetlb
// paths (set_huge_pte_at's __pte_to_rste, huge_ptep_get's __rste_to_pte: the
// _SEGMENT_ENTRY_* masks at both levels), in 6.1.y as in v6.12, and pgtemu
// follows them (6.1.y's own _REGION3_ENTRY_READ/WRITE are the other way round:
// see src/arch/s390/index.ts, before `history`).
describe('s390: a 2 GiB hugetlb entry, read-only until written, under 6.1.y and v6.12', () => {
  for (const kernel of ['v6.1', 'v6.12']) {
    it(kernel, () => {
      const m = Machine.createSync({ arch: 's390', variant: '4level', kernel, ramMiB: 4200, tablePoolMiB: 4 });
      const mm = m.createMm();
      const base = 1n << 31n;
      mm.mmap({ start: base, length: 1n << 31n, kind: 'hugetlb', hugeOrder: m.leafOrders[m.desc.levels.length - 3], write: true });
      mm.fault(base, { write: false });
      expect(m.walk(mm, base).entry & 0xffffn).toBe(0x1705n);   // READ 0x1 | R3 0x4 | NOEXEC | PROTECT | LARGE | YOUNG
      const slow = mm.gupFast(base, 1, { pin: true, write: true, fastOnly: true });
      expect([slow.nr, slow.fast]).toEqual([0, 0]);                // not writable: gup-fast takes nothing
      mm.fault(base, { write: true });
      expect(m.walk(mm, base).entry & 0xffffn).toBe(0x7507n);   // + WRITE 0x2 | DIRTY | SOFT_DIRTY, PROTECT gone
      const r = mm.gupFast(base, 1, { pin: true, write: true });
      expect(r.fast).toBe(1);
      m.unpin(r);
      expect(m.checkInvariants()).toEqual([]);
    });
  }
});
