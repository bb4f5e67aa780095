// loongarch64 (16K/3 levels, 4K/3, 4K/4, 64K/3): entries built with the
// kernel's own macros (v6.12 arch/loongarch/include/asm/pgtable-bits.h,
// pgtable.h, pgalloc.h, addrspace.h; arch/loongarch/mm/cache.c
// protection_map[]) decoded by pgtemu as the kernel's helpers judge them;
// the invalid_*_table sentinels; a hand-built table tree of kernel virtual
// addresses walked; and a map / pin / unpin / zap round trip for base pages
// and the pmd leaf of each layout.
import { describe, expect, it } from 'vitest';
import { Machine, type EntryFlags } from '../../src/index.js';
import { leafCycle, leafCycleWant } from '../helpers/pin-cycle.js';
import { devmapByKernel } from '../helpers/machines.js';

const VARIANTS = [
  { variant: '16k-3level', pageShift: 14, levels: 3 },
  { variant: '4k-3level', pageShift: 12, levels: 3 },
  { variant: '4k-4level', pageShift: 12, levels: 4 },
  { variant: '64k-3level', pageShift: 16, levels: 3 },
] as const;

// ---------------------------------------------------------------- the kernel's macros
// pgtable-bits.h
const _PAGE_VALID = 1n << 0n;
const _PAGE_ACCESSED = _PAGE_VALID;          // _PAGE_ACCESSED_SHIFT 0: "Reuse Valid for Accessed"
const _PAGE_DIRTY = 1n << 1n;
const _PAGE_USER = 3n << 2n;                 // PLV_USER << _PAGE_PLV_SHIFT
const _CACHE_CC = 1n << 4n;
const _PAGE_GLOBAL = 1n << 6n;
const _PAGE_HUGE = 1n << 6n;
const _PAGE_PRESENT = 1n << 7n;
const _PAGE_WRITE = 1n << 8n;
const _PAGE_MODIFIED = 1n << 9n;
const _PAGE_PROTNONE = 1n << 10n;
const _PAGE_SPECIAL = 1n << 11n;
const _PAGE_HGLOBAL = 1n << 12n;
const _PAGE_DEVMAP = 1n << 59n;
const _PAGE_PRESENT_INVALID = 1n << 60n;
const _PAGE_NO_READ = 1n << 61n;
const _PAGE_NO_EXEC = 1n << 62n;
const PAGE_READONLY = _PAGE_PRESENT | _PAGE_USER | _CACHE_CC;        // pgtable-bits.h (not what vm_get_page_prot uses)
// mm/cache.c protection_map[]
const P_NONE = _CACHE_CC | _PAGE_USER | _PAGE_NO_EXEC | _PAGE_NO_READ | _PAGE_PROTNONE;                   // [VM_NONE]
const P_READ = _CACHE_CC | _PAGE_VALID | _PAGE_USER | _PAGE_PRESENT | _PAGE_NO_EXEC;                     // [VM_READ]
const P_COPY = P_READ;                                                                                     // [VM_WRITE | VM_READ]
const S_SHARED = _CACHE_CC | _PAGE_VALID | _PAGE_USER | _PAGE_PRESENT | _PAGE_NO_EXEC | _PAGE_WRITE;    // [VM_SHARED | VM_WRITE | VM_READ]
// pgtable.h
const pte_mkdirty = (e: bigint) => (e | _PAGE_MODIFIED) | ((e & _PAGE_WRITE) ? _PAGE_DIRTY : 0n);
const pte_mkwrite_novma = (e: bigint) => (e | _PAGE_WRITE) | ((e & _PAGE_MODIFIED) ? _PAGE_DIRTY : 0n);
const pte_wrprotect = (e: bigint) => ((e & _PAGE_DIRTY) ? e | _PAGE_MODIFIED : e) & ~(_PAGE_WRITE | _PAGE_DIRTY);
const pte_mkclean = (e: bigint) => e & ~(_PAGE_DIRTY | _PAGE_MODIFIED);
const pte_mkold = (e: bigint) => e & ~_PAGE_ACCESSED;
const pte_mkspecial = (e: bigint) => e | _PAGE_SPECIAL;
const pte_mkdevmap = (e: bigint) => e | _PAGE_DEVMAP;
const pmd_mkhuge = (e: bigint) => ((e & ~_PAGE_GLOBAL) | ((e & _PAGE_GLOBAL) << 6n)) | _PAGE_HUGE;
const pmd_mkinvalid = (e: bigint) => (e | _PAGE_PRESENT_INVALID) & ~(_PAGE_PRESENT | _PAGE_VALID | _PAGE_DIRTY | _PAGE_PROTNONE);
// mk_swap_pte(type, offset); __swp_entry_to_pmd(x) = x | _PAGE_HUGE
const mk_swap_pte = (type: bigint, offset: bigint) => ((type & 0x7fn) << 16n) | (offset << 24n);
// addrspace.h: CACHE_BASE = CSR_DMW1_BASE = 0x9000 << DMW_PABITS; __va(pa) = pa + PAGE_OFFSET
const CACHE_BASE = 0x9000n << 48n;
const __va = (pa: bigint) => pa + CACHE_BASE;
const PHYSADDR = (a: bigint) => a & ((1n << 48n) - 1n);

type Flags = Partial<EntryFlags>;
const LEAF_RO: Flags = { present: true, leaf: true, table: false, write: false, dirty: false, young: true, user: true, special: false, devmap: false, protnone: false };
const TABLE: Flags = { present: true, table: true, leaf: false };
const ABSENT: Flags = { present: false, table: false, leaf: false };

function machine(variant: string, kernel = 'v6.12', ramMiB = 64): Machine {
  return Machine.createSync({ arch: 'loongarch', variant, kernel, ramMiB, tablePoolMiB: 4 });
}

describe.each(VARIANTS)('loongarch $variant', ({ variant, pageShift, levels }) => {
  const PS = BigInt(pageShift);
  // pfn_pte / pfn_pmd: (pfn << PFN_PTE_SHIFT) | prot, PFN_PTE_SHIFT = PAGE_SHIFT
  const pfn_pte = (pfn: bigint, prot: bigint) => (pfn << PS) | prot;
  const pfn_pmd = pfn_pte;
  const PMD_SHIFT = PS + PS - 3n;                    // pgtable.h: PAGE_SHIFT + (PAGE_SHIFT - 3)
  const PFN = 0x1235n;
  const PFN_HUGE = 3n << (PMD_SHIFT - PS);           // PMD-aligned frame

  it('decodes entries built by the kernel macros as the kernel helpers do', () => {
    const m = machine(variant);
    const n = m.desc.levels.length;
    const PTE = n - 1, PMD = n - 2;
    const tablePa = 0x100000n;
    const cases: [string, number, bigint, Flags][] = [
      // ---- pte (pte_present = PRESENT | PROTNONE, pte_write, pte_young = V, pte_dirty = D | MODIFIED)
      ['pfn_pte(pfn, protection_map[VM_READ])', PTE, pfn_pte(PFN, P_READ), LEAF_RO],
      ['do_anonymous_page: pte_mkwrite_novma(pte_mkdirty(pfn_pte(pfn, protection_map[VM_WRITE|VM_READ])))', PTE,
        pte_mkwrite_novma(pte_mkdirty(pfn_pte(PFN, P_COPY))), { ...LEAF_RO, write: true, dirty: true }],
      // pte_wrprotect moves D into MODIFIED: still dirty
      ['pte_wrprotect(dirty writable pte)', PTE, pte_wrprotect(pte_mkwrite_novma(pte_mkdirty(pfn_pte(PFN, P_COPY)))),
        { ...LEAF_RO, write: false, dirty: true }],
      ['pte_mkclean(pte_mkold(dirty writable pte))', PTE, pte_mkclean(pte_mkold(pte_mkwrite_novma(pte_mkdirty(pfn_pte(PFN, P_COPY))))),
        { ...LEAF_RO, write: true, dirty: false, young: false }],
      // MODIFIED alone (no hardware D) is dirty too
      ['pte_mkdirty(read-only pte): MODIFIED without D', PTE, pte_mkdirty(pfn_pte(PFN, P_READ)), { ...LEAF_RO, dirty: true }],
      ['pfn_pte(pfn, protection_map[VM_SHARED|VM_WRITE|VM_READ])', PTE, pfn_pte(PFN, S_SHARED), { ...LEAF_RO, write: true }],
      // pgtable-bits.h PAGE_READONLY has no _PAGE_VALID: present but not young
      ['pfn_pte(pfn, PAGE_READONLY)', PTE, pfn_pte(PFN, PAGE_READONLY), { ...LEAF_RO, young: false }],
      ['pfn_pte(pfn, protection_map[VM_NONE])', PTE, pfn_pte(PFN, P_NONE), { present: true, leaf: true, protnone: true, young: false, write: false }],
      ['pte_mkspecial(pfn_pte(zero_pfn, protection_map[VM_READ]))', PTE, pte_mkspecial(pfn_pte(PFN, P_READ)), { ...LEAF_RO, special: true }],
      ['pte_mkdevmap(pfn_pte(pfn, protection_map[VM_READ]))', PTE, pte_mkdevmap(pfn_pte(PFN, P_READ)), { ...LEAF_RO, devmap: true, special: false }],
      // pte_none = !(val & ~_PAGE_GLOBAL): kernel_pte_init() fills kernel tables with _PAGE_GLOBAL
      ['kernel_pte_init: _PAGE_GLOBAL', PTE, _PAGE_GLOBAL, ABSENT],
      ['pte_none: 0', PTE, 0n, ABSENT],
      ['__swp_entry_to_pte(__swp_entry(3, 0x1234))', PTE, mk_swap_pte(3n, 0x1234n), { present: false, protnone: false }],
      // ---- pmd (pmd_present, pmd_bad = val & ~PAGE_MASK, pmd_leaf = _PAGE_HUGE)
      ['pmd_populate: page_address(pte) = __va(pa)', PMD, __va(tablePa), { ...TABLE, write: false, young: false, devmap: false }],
      ['THP: pmd_mkhuge(pfn_pmd(pfn, protection_map[VM_READ]))', PMD, pmd_mkhuge(pfn_pmd(PFN_HUGE, P_READ)), LEAF_RO],
      ['THP: pmd_mkwrite_novma(pmd_mkdirty(pmd_mkhuge(pfn_pmd(pfn, protection_map[VM_WRITE|VM_READ]))))', PMD,
        pte_mkwrite_novma(pte_mkdirty(pmd_mkhuge(pfn_pmd(PFN_HUGE, P_COPY)))), { ...LEAF_RO, write: true, dirty: true }],
      // a THP being split: PRESENT_INVALID keeps it present
      ['pmd_mkinvalid(THP)', PMD, pmd_mkinvalid(pmd_mkhuge(pfn_pmd(PFN_HUGE, P_READ))), { present: true, leaf: true, table: false, young: false }],
      ['NUMA hint: pmd_mkhuge(pfn_pmd(pfn, protection_map[VM_NONE]))', PMD, pmd_mkhuge(pfn_pmd(PFN_HUGE, P_NONE)), { present: true, leaf: true, protnone: true }],
      ['pmd_mkdevmap(THP)', PMD, pte_mkdevmap(pmd_mkhuge(pfn_pmd(PFN_HUGE, P_READ))), { ...LEAF_RO, devmap: true, special: false }],
      // a PMD migration entry: _PAGE_HUGE without PRESENT / PROTNONE / PRESENT_INVALID
      ['__swp_entry_to_pmd(__swp_entry(3, 0x1234))', PMD, mk_swap_pte(3n, 0x1234n) | _PAGE_HUGE, { present: false, leaf: false }],
      // pmd_mkhuge moves GLOBAL to HGLOBAL before setting HUGE (bit 6)
      ['pmd_mkhuge(GLOBAL kernel entry)', PMD, pmd_mkhuge(pfn_pmd(PFN_HUGE, P_READ | _PAGE_GLOBAL)), { present: true, leaf: true }],
      // 0 is not pmd_none (that is invalid_pte_table): present, and a table at VA 0
      ['pmd value 0: pmd_present, !pmd_bad', PMD, 0n, TABLE],
      ['pmd_bad: a bit below PAGE_SHIFT', PMD, __va(tablePa) | 0x8n, { present: true, table: false, leaf: false }],
    ];
    // ---- directory levels above the pmd: pud_* (3 levels, pud folded into the pgd) or p4d_* and pud_*
    for (let l = 0; l < PMD; l++) {
      cases.push([`${m.desc.levels[l].name}: populate = table virtual address`, l, __va(tablePa), TABLE]);
      cases.push([`${m.desc.levels[l].name}: pXd_bad`, l, __va(tablePa) | 0x10n, { present: true, table: false, leaf: false }]);
    }
    // ---- the invalid_*_table sentinels: pXd_none, their contents the next level's empty entries
    for (let l = 0; l < n - 1; l++) {
      const empty = m.desc.levels[l].empty;
      cases.push([`${m.desc.levels[l].name}: pXd_clear value (invalid table)`, l, empty, ABSENT]);
    }
    const got = cases.map(([what, l, v, want]) => {
      const d = m.decode(v, l) as unknown as Record<string, boolean>;
      return [what, Object.fromEntries(Object.keys(want).map((k) => [k, d[k]]))];
    });
    expect(got).toEqual(cases.map(([what, , , want]) => [what, want]));
  });

  it('points empty directory entries at the invalid tables (pgd_init, pud_init, pmd_init)', () => {
    const m = machine(variant);
    const lv = m.desc.levels;
    const got = lv.slice(0, -1).map((l, i) => {
      const pa = PHYSADDR(l.empty);
      const next = lv[i + 1];
      const bytes = m.readPhys(pa, next.tableBytes);
      const dv = new DataView(bytes.buffer);
      let allEmpty = true;
      for (let o = 0; o < next.tableBytes; o += 8) if (dv.getBigUint64(o, true) !== next.empty) allEmpty = false;
      return {
        level: l.name,
        dmw: l.empty - pa === CACHE_BASE,       // __va() of a page-aligned pa
        aligned: pa % BigInt(next.tableBytes) === 0n,
        distinct: lv.filter((x) => x.empty === l.empty).length === 1,
        allEmpty,
      };
    });
    const want = lv.slice(0, -1).map((l) => ({ level: l.name, dmw: true, aligned: true, distinct: true, allEmpty: true }));
    expect({ levels: lv.map((l) => l.name), sentinels: got, pteEmpty: lv[lv.length - 1].empty })
      .toEqual({ levels: levels === 4 ? ['pgd', 'pud', 'pmd', 'pte'] : ['pgd', 'pmd', 'pte'], sentinels: want, pteEmpty: 0n });
  });

  it('has the devmap bit in v6.11..v6.16 only', () => {
    const pte = pte_mkdevmap(pfn_pte(PFN, P_READ));
    const pmd = pte_mkdevmap(pmd_mkhuge(pfn_pmd(PFN_HUGE, P_READ)));
    const got = devmapByKernel((kernel) => machine(variant, kernel), (m) => {
      const n = m.desc.levels.length;
      return { pte: m.decode(pte, n - 1).devmap, pmd: m.decode(pmd, n - 2).devmap, present: m.decode(pte, n - 1).present };
    });
    expect(got).toEqual([
      { kernel: 'v6.0', bit: -1, pte: false, pmd: false, present: true },
      { kernel: 'v6.1', bit: -1, pte: false, pmd: false, present: true },
      { kernel: 'v6.12', bit: 59, pte: true, pmd: true, present: true },
      { kernel: 'v6.15', bit: 59, pte: true, pmd: true, present: true },
      { kernel: 'v6.17', bit: -1, pte: false, pmd: false, present: true },
    ]);
  });

  it('walks a hand-built tree of kernel virtual addresses', () => {
    const m = machine(variant);
    const lv = m.desc.levels;
    const n = lv.length;
    const tb = BigInt(lv[0].tableBytes);               // every table is one page (PTRS_PER_* = PAGE_SIZE >> 3)
    const root = 0x100000n;
    const tablePa = (l: number) => root + BigInt(l) * tb;
    const idx = (l: number, va: bigint) => (va >> BigInt(lv[l].shift)) & ((1n << BigInt(lv[l].indexBits)) - 1n);
    const put = (l: number, va: bigint, e: bigint) => m.writePhys(tablePa(l) + idx(l, va) * 8n, m.entryBytes([e]));
    const pmdSize = 1n << PMD_SHIFT;
    const va = (5n << 30n) + 2n * pmdSize + 3n * (1n << PS);
    for (let l = 0; l < n - 1; l++) put(l, va, __va(tablePa(l + 1)));   // pud/pmd_populate: table pointers
    put(n - 1, va, pfn_pte(PFN, P_READ));
    const va2 = va + pmdSize;                                          // a THP in the next pmd entry
    put(n - 2, va2, pmd_mkhuge(pfn_pmd(PFN_HUGE, P_READ)));
    const va3 = va + 2n * pmdSize;                                     // pmd_clear(): invalid_pte_table
    put(n - 2, va3, lv[n - 2].empty);
    const va4 = va + 3n * pmdSize;                                     // pmd_mkinvalid()ed THP: still present
    put(n - 2, va4, pmd_mkinvalid(pmd_mkhuge(pfn_pmd(PFN_HUGE, P_READ))));
    const w = (a: bigint) => {
      const r = m.walkRaw(root, a);
      return { level: r.levelName, status: r.status, pa: r.pa, size: r.size, entry: r.entry };
    };
    const off = (a: bigint, shift: bigint) => a & ((1n << shift) - 1n);
    expect([w(va + 0x123n), w(va2 + 0x4567n), w(va3), w(va4 + 8n)]).toEqual([
      { level: 'pte', status: 'ok', pa: (PFN << PS) + 0x123n, size: 1n << PS, entry: pfn_pte(PFN, P_READ) },
      { level: 'pmd', status: 'ok', pa: (PFN_HUGE << PS) + off(va2 + 0x4567n, PMD_SHIFT), size: pmdSize, entry: pmd_mkhuge(pfn_pmd(PFN_HUGE, P_READ)) },
      { level: 'pmd', status: 'none', pa: undefined, size: undefined, entry: lv[n - 2].empty },
      { level: 'pmd', status: 'ok', pa: (PFN_HUGE << PS) + off(va4 + 8n, PMD_SHIFT), size: pmdSize, entry: pmd_mkinvalid(pmd_mkhuge(pfn_pmd(PFN_HUGE, P_READ))) },
    ]);
  });

  const pmdOrder = pageShift - 3;   // PMD_SHIFT - PAGE_SHIFT
  describe.each([
    { leaf: 'base page', order: 0, ramMiB: 64 },
    // 2 MiB (4K), 32 MiB (16K), 512 MiB (64K) THP
    { leaf: 'pmd THP', order: pmdOrder, ramMiB: Math.max(64, 2 * (1 << (pageShift + pmdOrder - 20)) + 64) },
  ])('$leaf leaves', ({ order, ramMiB }) => {
    it('maps, pins, counts, unpins and zaps back to where it started', () => {
      const m = machine(variant, 'v6.12', ramMiB);
      const free0 = m.stats().freePages;
      const mm = m.createMm();
      const start = 4n << 30n;
      const nr = order === 0 ? 64 : 1 << order;
      const length = BigInt(nr) << PS;
      mm.mmap({ start, length, hugeOrder: order, populate: true });
      const walk = m.walk(mm, start);
      const pfn0 = walk.pfn!;
      // do_anonymous_page / do_huge_pmd_anonymous_page on a write fault
      const kernelEntry = order === 0
        ? pte_mkwrite_novma(pte_mkdirty(pfn_pte(pfn0, P_COPY)))
        : pte_mkwrite_novma(pte_mkdirty(pmd_mkhuge(pfn_pmd(pfn0, P_COPY))));
      // the pgd entry the fault path wrote (pud/pmd_populate): __va() of the next table
      const top = m.desc.levels[0];
      const topIdx = (start >> BigInt(top.shift)) & ((1n << BigInt(top.indexBits)) - 1n);
      const pgdEntry = new DataView(m.readPhys(mm.rootPa + topIdx * 8n, 8).buffer).getBigUint64(0, true);
      const own = {
        pgdEntry: pgdEntry !== top.empty && pgdEntry === __va(PHYSADDR(pgdEntry)),
        entry: walk.entry === kernelEntry,
      };
      const seen = leafCycle(m, mm, walk, { start, length, nr, order, free0 });
      const want = leafCycleWant({ nr, order, level: order === 0 ? 'pte' : 'pmd', size: 1n << BigInt(pageShift + order) });
      expect({ ...seen, pinned: { ...own, ...seen.pinned } }).toEqual({ ...want, pinned: { pgdEntry: true, entry: true, ...want.pinned } });
    });
  });
});
