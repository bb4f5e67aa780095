// riscv64 (Sv39, Sv48, Sv57): entries built with the kernel's own macros
// (v6.12 arch/riscv/include/asm/pgtable-bits.h, pgtable.h, pgtable-64.h,
// pgalloc.h, arch/riscv/mm/init.c) decoded by pgtemu as the kernel's helpers
// judge them; a hand-built table tree walked; and a map / pin / unpin / zap
// round trip for base pages and every huge leaf the variant has.
import { describe, expect, it } from 'vitest';
import { Machine, applyOp, matchPred, type EntryFlags } from '../../src/index.js';
import { leafCycle, leafCycleWant } from '../helpers/pin-cycle.js';
import { devmapByKernel } from '../helpers/machines.js';

const VARIANTS = ['sv39', 'sv48', 'sv57'] as const;

// ---------------------------------------------------------------- the kernel's macros
// pgtable-bits.h
const _PAGE_PRESENT = 1n << 0n;
const _PAGE_READ = 1n << 1n;
const _PAGE_WRITE = 1n << 2n;
const _PAGE_EXEC = 1n << 3n;
const _PAGE_USER = 1n << 4n;
const _PAGE_GLOBAL = 1n << 5n;
const _PAGE_ACCESSED = 1n << 6n;
const _PAGE_DIRTY = 1n << 7n;
const _PAGE_SPECIAL = 1n << 8n;
const _PAGE_DEVMAP = 1n << 9n;
const _PAGE_TABLE = _PAGE_PRESENT;
const _PAGE_PROT_NONE = _PAGE_GLOBAL;
const _PAGE_PFN_SHIFT = 10n;
// pgtable.h
const _PAGE_BASE = _PAGE_PRESENT | _PAGE_ACCESSED | _PAGE_USER;
const PAGE_NONE = _PAGE_PROT_NONE | _PAGE_READ;
const PAGE_READ = _PAGE_BASE | _PAGE_READ;
const PAGE_WRITE = _PAGE_BASE | _PAGE_READ | _PAGE_WRITE;
const PAGE_COPY = PAGE_READ;
const PAGE_SHARED = PAGE_WRITE;
// pfn_pte / pfn_pmd / pfn_pud: (pfn << _PAGE_PFN_SHIFT) | prot (ALT_THEAD_PMA adds nothing off T-Head)
const pfn_pte = (pfn: bigint, prot: bigint) => (pfn << _PAGE_PFN_SHIFT) | prot;
const pfn_pmd = pfn_pte;
const pfn_pud = pfn_pte;
const pte_mkwrite_novma = (e: bigint) => e | _PAGE_WRITE;
const pte_wrprotect = (e: bigint) => e & ~_PAGE_WRITE;
const pte_mkdirty = (e: bigint) => e | _PAGE_DIRTY;
const pte_mkclean = (e: bigint) => e & ~_PAGE_DIRTY;
const pte_mkold = (e: bigint) => e & ~_PAGE_ACCESSED;
const pte_mkspecial = (e: bigint) => e | _PAGE_SPECIAL;
const pte_mkdevmap = (e: bigint) => e | _PAGE_DEVMAP;
const pmd_mkhuge = (e: bigint) => e;                                     // identity
const pmd_mkinvalid = (e: bigint) => e & ~(_PAGE_PRESENT | _PAGE_PROT_NONE);
// __swp_entry: type at bit 7 (5 bits), offset from bit 12
const __swp_entry = (type: bigint, offset: bigint) => ((type & 0x1fn) << 7n) | (offset << 12n);
// pmd_populate / pud_populate / p4d_populate / pgd_populate (pgalloc.h)
const populate = (tablePa: bigint) => ((tablePa >> 12n) << _PAGE_PFN_SHIFT) | _PAGE_TABLE;

const PFN = 0x12345n;          // any frame
const PFN_2M = 0x12400n;       // 2 MiB aligned
const PFN_1G = 0x40000n;       // 1 GiB aligned

type Flags = Partial<EntryFlags>;
const LEAF_RO: Flags = { present: true, leaf: true, table: false, write: false, dirty: false, young: true, user: true, special: false, devmap: false, protnone: false };
const TABLE: Flags = { present: true, table: true, leaf: false };
const ABSENT: Flags = { present: false, table: false, leaf: false };

function machine(variant: string, kernel = 'v6.12', ramMiB = 64): Machine {
  return Machine.createSync({ arch: 'riscv', variant, kernel, ramMiB, tablePoolMiB: 4 });
}

describe.each(VARIANTS)('riscv %s', (variant) => {
  it('decodes entries built by the kernel macros as the kernel helpers do', () => {
    const m = machine(variant);
    const n = m.desc.levels.length;
    const PTE = n - 1, PMD = n - 2, PUD = n - 3;
    const cases: [string, number, bigint, Flags][] = [
      // ---- pte level (pgtable.h pte_present, pte_write, pte_dirty, pte_young, pte_special, pte_devmap, pte_protnone)
      ['pfn_pte(pfn, PAGE_READ)', PTE, pfn_pte(PFN, PAGE_READ), LEAF_RO],
      ['do_anonymous_page: pte_mkwrite_novma(pte_mkdirty(pfn_pte(pfn, PAGE_COPY)))', PTE,
        pte_mkwrite_novma(pte_mkdirty(pfn_pte(PFN, PAGE_COPY))), { ...LEAF_RO, write: true, dirty: true }],
      ['pte_wrprotect(dirty writable pte)', PTE,
        pte_wrprotect(pte_mkwrite_novma(pte_mkdirty(pfn_pte(PFN, PAGE_COPY)))), { ...LEAF_RO, write: false, dirty: true }],
      ['pte_mkold(pte_mkclean(dirty writable pte))', PTE,
        pte_mkold(pte_mkclean(pte_mkwrite_novma(pte_mkdirty(pfn_pte(PFN, PAGE_COPY))))), { ...LEAF_RO, write: true, young: false }],
      ['pfn_pte(pfn, PAGE_SHARED)', PTE, pfn_pte(PFN, PAGE_SHARED), { ...LEAF_RO, write: true }],
      // pte_present = _PAGE_PRESENT | _PAGE_PROT_NONE; pte_protnone = (val & (V|G)) == G
      ['pfn_pte(pfn, PAGE_NONE)', PTE, pfn_pte(PFN, PAGE_NONE), { present: true, leaf: true, protnone: true, young: false, user: false, write: false }],
      ['pte_mkspecial(pfn_pte(zero_pfn, PAGE_READ))', PTE, pte_mkspecial(pfn_pte(PFN, PAGE_READ)), { ...LEAF_RO, special: true }],
      // pte_mkdevmap sets _PAGE_DEVMAP only: not special
      ['pte_mkdevmap(pfn_pte(pfn, PAGE_SHARED))', PTE, pte_mkdevmap(pfn_pte(PFN, PAGE_SHARED)), { ...LEAF_RO, write: true, devmap: true, special: false }],
      ['__swp_entry_to_pte(__swp_entry(3, 0x1234))', PTE, __swp_entry(3n, 0x1234n), { present: false, protnone: false }],
      ['pte_none: 0', PTE, 0n, ABSENT],
      // ---- pmd level (pmd_present with CONFIG_TRANSPARENT_HUGEPAGE, pmd_bad, pmd_leaf)
      ['pmd_populate: (pfn << _PAGE_PFN_SHIFT) | _PAGE_TABLE', PMD, populate(0x200000n), { ...TABLE, write: false, young: false }],
      ['THP: pmd_mkhuge(pfn_pmd(pfn, PAGE_READ))', PMD, pmd_mkhuge(pfn_pmd(PFN_2M, PAGE_READ)), LEAF_RO],
      ['THP: pmd_mkwrite_novma(pmd_mkdirty(pmd_mkhuge(pfn_pmd(pfn, PAGE_COPY))))', PMD,
        pte_mkwrite_novma(pte_mkdirty(pmd_mkhuge(pfn_pmd(PFN_2M, PAGE_COPY)))), { ...LEAF_RO, write: true, dirty: true }],
      // a THP being split: V and PROT_NONE cleared, _PAGE_LEAF keeps it present
      ['pmd_mkinvalid(THP)', PMD, pmd_mkinvalid(pmd_mkhuge(pfn_pmd(PFN_2M, PAGE_READ))), { present: true, leaf: true, table: false, protnone: false }],
      ['NUMA hint: pfn_pmd(pfn, PAGE_NONE)', PMD, pfn_pmd(PFN_2M, PAGE_NONE), { present: true, leaf: true, protnone: true }],
      ['pmd_mkdevmap(THP)', PMD, pte_mkdevmap(pmd_mkhuge(pfn_pmd(PFN_2M, PAGE_READ))), { ...LEAF_RO, devmap: true, special: false }],
      ['pmd_none: 0', PMD, 0n, ABSENT],
      // ---- pud level (Sv39: the pgd; pud_present = V only, pud_leaf = present && _PAGE_LEAF)
      ['pud_populate', PUD, populate(0x201000n), TABLE],
      ['hugetlb 1 GiB: make_huge_pte(pfn_pud(pfn, PAGE_READ))', PUD, pfn_pud(PFN_1G, PAGE_READ), LEAF_RO],
      ['hugetlb 1 GiB writable', PUD, pte_mkwrite_novma(pte_mkdirty(pfn_pud(PFN_1G, PAGE_COPY))), { ...LEAF_RO, write: true, dirty: true }],
      ['pud with PROT_NONE and V clear: pud_present false', PUD, pfn_pud(PFN_1G, PAGE_NONE), { present: false, leaf: false }],
      ['pud_none: 0', PUD, 0n, ABSENT],
    ];
    // ---- levels above the pud (Sv48 pgd; Sv57 pgd and p4d): p4d_present / pgd_present = V,
    // p4d_bad = !present, and no p4d_leaf: an R bit does not make a leaf there
    for (let l = 0; l < PUD; l++) {
      cases.push([`${m.desc.levels[l].name}: p4d_populate / pgd_populate`, l, populate(0x202000n), TABLE]);
      cases.push([`${m.desc.levels[l].name}: R set (no p4d_leaf / pgd_leaf)`, l, populate(0x202000n) | _PAGE_READ, TABLE]);
      cases.push([`${m.desc.levels[l].name}: 0`, l, 0n, ABSENT]);
    }
    const got = cases.map(([what, l, v, want]) => {
      const d = m.decode(v, l) as unknown as Record<string, boolean>;
      return [what, Object.fromEntries(Object.keys(want).map((k) => [k, d[k]]))];
    });
    expect(got).toEqual(cases.map(([what, , , want]) => [what, want]));
  });

  it('has the devmap bit in v6.11..v6.16 only', () => {
    const pte = pte_mkdevmap(pfn_pte(PFN, PAGE_SHARED));
    const pmd = pte_mkdevmap(pmd_mkhuge(pfn_pmd(PFN_2M, PAGE_READ)));
    const got = devmapByKernel((kernel) => machine(variant, kernel), (m) => {
      const n = m.desc.levels.length;
      return { pte: m.decode(pte, n - 1).devmap, pmd: m.decode(pmd, n - 2).devmap, special: m.decode(pte, n - 1).special };
    });
    expect(got).toEqual([
      { kernel: 'v6.0', bit: -1, pte: false, pmd: false, special: false },
      { kernel: 'v6.1', bit: -1, pte: false, pmd: false, special: false },
      { kernel: 'v6.12', bit: 9, pte: true, pmd: true, special: false },
      { kernel: 'v6.15', bit: 9, pte: true, pmd: true, special: false },
      { kernel: 'v6.17', bit: -1, pte: false, pmd: false, special: false },
    ]);
  });

  // pmd_special / pud_special = pte_special of the entry, and pmd_mkspecial /
  // pud_mkspecial the pte op, under CONFIG_ARCH_SUPPORTS_PMD_PFNMAP / _PUD_PFNMAP
  // (v7.2 pgtable.h); otherwise include/linux/mm.h's `false` and identity. PMD
  // pfnmaps need ARCH_SUPPORTS_HUGE_PFNMAP (v6.15), PUD pfnmaps THP PUD too (v6.17:
  // "riscv: Add support for PUD THP"), which also made pud_bad
  // `!pud_present || (val & _PAGE_LEAF)` (pgtable-64.h).
  it('has pmd_special from v6.15 and pud_special from v6.17 (huge pfnmaps, THP PUD)', () => {
    const pmd = pte_mkspecial(pmd_mkhuge(pfn_pmd(PFN_2M, PAGE_READ)));
    const pud = pte_mkspecial(pfn_pud(PFN_1G, PAGE_READ));
    const got = ['v6.12', 'v6.15', 'v6.17'].map((kernel) => {
      const m = machine(variant, kernel);
      const n = m.desc.levels.length;
      const [PUD, PMD] = [m.desc.levels[n - 3], m.desc.levels[n - 2]];
      return {
        kernel,
        thpPud: m.desc.kconfig.thpPud,
        pmdSpecial: m.decode(pmd, n - 2).special,
        pudSpecial: m.decode(pud, n - 3).special,
        // pXd_mkspecial on a plain read-only leaf
        pmdMkspecial: applyOp(PMD.ops.mkspecial, pfn_pmd(PFN_2M, PAGE_READ)) === pmd,
        pudMkspecial: applyOp(PUD.ops.mkspecial, pfn_pud(PFN_1G, PAGE_READ)) === pud,
        // the template a huge pfnmap (remap_pfn_range's vmf_insert_pfn_pud) writes
        pudSpecialRo: PUD.templates.specialRo,
        // !pud_bad of a 1 GiB leaf: pud_bad = !pud_present, then also (val & _PAGE_LEAF)
        pudLeafNotBad: matchPred(PUD.preds.table, pfn_pud(PFN_1G, PAGE_READ)),
      };
    });
    expect(got).toEqual([
      { kernel: 'v6.12', thpPud: false, pmdSpecial: false, pudSpecial: false, pmdMkspecial: false, pudMkspecial: false, pudSpecialRo: PAGE_READ, pudLeafNotBad: true },
      { kernel: 'v6.15', thpPud: false, pmdSpecial: true, pudSpecial: false, pmdMkspecial: true, pudMkspecial: false, pudSpecialRo: PAGE_READ, pudLeafNotBad: true },
      { kernel: 'v6.17', thpPud: true, pmdSpecial: true, pudSpecial: true, pmdMkspecial: true, pudMkspecial: true, pudSpecialRo: pte_mkspecial(PAGE_READ), pudLeafNotBad: false },
    ]);
  });

  it('walks a hand-built table tree', () => {
    const m = machine(variant);
    const lv = m.desc.levels;
    const n = lv.length;
    const root = 0x100000n;
    const tablePa = (l: number) => root + BigInt(l) * 0x1000n;     // one 4 KiB table per level
    const idx = (l: number, va: bigint) => (va >> BigInt(lv[l].shift)) & 511n;
    const put = (l: number, va: bigint, e: bigint) => m.writePhys(tablePa(l) + idx(l, va) * 8n, m.entryBytes([e]));
    const va = (5n << 30n) + (3n << 21n) + (7n << 12n);           // 5 GiB + 6 MiB + 28 KiB
    for (let l = 0; l < n - 1; l++) put(l, va, populate(tablePa(l + 1)));
    put(n - 1, va, pfn_pte(PFN, PAGE_READ));
    const va2 = va + (1n << 21n);                                  // next pmd entry: a THP leaf
    put(n - 2, va2, pmd_mkhuge(pfn_pmd(PFN_2M | 0x5n, PAGE_READ))); // pmd_pfn() drops the PPN bits under PMD_MASK
    const va3 = va + (1n << 30n);                                  // next pud entry: a 1 GiB leaf
    put(n - 3, va3, pfn_pud(PFN_1G, PAGE_READ));
    const va4 = va + (2n << 30n);                                  // pud entry 0: pud_none
    const va5 = va + (2n << 21n);                                  // pmd entry pmd_mkinvalid()ed: still present
    put(n - 2, va5, pmd_mkinvalid(pmd_mkhuge(pfn_pmd(PFN_2M, PAGE_READ))));
    const w = (a: bigint) => {
      const r = m.walkRaw(root, a);
      return { level: r.levelName, status: r.status, pa: r.pa, size: r.size, entry: r.entry };
    };
    expect([w(va + 0x123n), w(va2 + 0x4567n), w(va3 + 0x89abcn), w(va4), w(va5 + 8n)]).toEqual([
      { level: 'pte', status: 'ok', pa: (PFN << 12n) + 0x123n, size: 1n << 12n, entry: pfn_pte(PFN, PAGE_READ) },
      { level: 'pmd', status: 'ok', pa: (PFN_2M << 12n) + (7n << 12n) + 0x4567n, size: 1n << 21n, entry: pfn_pmd(PFN_2M | 5n, PAGE_READ) },
      { level: lv[n - 3].name, status: 'ok', pa: (PFN_1G << 12n) + (3n << 21n) + (7n << 12n) + 0x89abcn, size: 1n << 30n, entry: pfn_pud(PFN_1G, PAGE_READ) },
      { level: lv[n - 3].name, status: 'none', pa: undefined, size: undefined, entry: 0n },
      { level: 'pmd', status: 'ok', pa: (PFN_2M << 12n) + (7n << 12n) + 8n, size: 1n << 21n, entry: pmd_mkinvalid(pfn_pmd(PFN_2M, PAGE_READ)) },
    ]);
  });

  describe.each([
    { leaf: '4 KiB', order: 0, kind: 'anon' as const, ramMiB: 64 },
    { leaf: '2 MiB THP', order: 9, kind: 'anon' as const, ramMiB: 64 },
    { leaf: '1 GiB hugetlb', order: 18, kind: 'hugetlb' as const, ramMiB: 2048 + 64 },
  ])('$leaf leaves', ({ order, kind, ramMiB }) => {
    it('maps, pins, counts, unpins and zaps back to where it started', () => {
      const m = machine(variant, 'v6.12', ramMiB);
      const free0 = m.stats().freePages;
      const mm = m.createMm();
      const start = 4n << 30n;
      const nr = order === 0 ? 64 : 1 << order;
      const length = BigInt(nr) << 12n;
      mm.mmap({ start, length, kind, hugeOrder: order, populate: true });
      const walk = m.walk(mm, start);
      const pfn0 = walk.pfn!;
      // do_anonymous_page / do_huge_pmd_anonymous_page / hugetlb make_huge_pte on a write fault
      const entry = walk.entry === pte_mkwrite_novma(pte_mkdirty(pfn_pte(pfn0, PAGE_COPY)));
      const seen = leafCycle(m, mm, walk, { start, length, nr, order, free0 });
      const want = leafCycleWant({
        nr, order, size: 1n << BigInt(12 + order),
        level: order === 0 ? 'pte' : order === 9 ? 'pmd' : m.desc.levels[m.desc.levels.length - 3].name,
      });
      expect({ ...seen, pinned: { ...seen.pinned, entry } }).toEqual({ ...want, pinned: { ...want.pinned, entry: true } });
    });
  });
});
