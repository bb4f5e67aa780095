// loongarch64: the "Page Table Layout" choices of arch/loongarch/Kconfig that
// have three or four levels (16KB_3LEVEL is the 64BIT default).
// v6.12 arch/loongarch/include/asm/pgtable-bits.h, pgtable.h, pgalloc.h,
// addrspace.h, loongarch.h, page.h, processor.h, sparsemem.h;
// arch/loongarch/mm/pgtable.c, init.c, cache.c (protection_map),
// hugetlbpage.c; arch/loongarch/Kconfig. Data only.
//
// Directory entries are not hardware descriptors: pmd_populate() stores
// page_address(pte) and pud_populate()/p4d_populate() store the table pointer
// itself (pgalloc.h), i.e. the kernel virtual address of the next table, with
// no flag bits. The TLB refill handler (mm/tlbex.S) walks them in software.
// Empty entries point at the shared invalid_pte_table / invalid_pmd_table /
// invalid_pud_table (mm/init.c; filled by pmd_init() / pud_init() /
// pgd_init() in mm/pgtable.c), never 0.
import type { ArchData, HardwareSpec, HwLevelSpec, LevelKind } from '../types.js';

// PHYSADDR(a) = a & TO_PHYS_MASK, TO_PHYS_MASK = (1 << DMW_PABITS) - 1,
// DMW_PABITS 48 (addrspace.h): pmd_phys() / pud_phys() / p4d_phys().
const PHYSADDR = (1n << 48n) - 1n;
// __va(x) = x + PAGE_OFFSET - PHYS_OFFSET (page.h); PAGE_OFFSET = CACHE_BASE +
// PHYS_OFFSET, PHYS_OFFSET 0, CACHE_BASE = CSR_DMW1_BASE = CSR_DMW1_VSEG
// (0x9000) << DMW_PABITS (addrspace.h, loongarch.h): the cached direct-map window.
const CACHE_BASE = 0x9000n << 48n;

// _PFN_MASK = ~((1 << PFN_PTE_SHIFT) - 1) & ((1 << _PAGE_PFN_END_SHIFT) - 1),
// PFN_PTE_SHIFT = PAGE_SHIFT - 12 + _PAGE_PFN_SHIFT (12) = PAGE_SHIFT,
// _PAGE_PFN_END_SHIFT 48 (pgtable-bits.h): pfn bits PAGE_SHIFT..47.
const pfnMask = (ps: number): bigint => ((1n << 48n) - 1n) & ~((1n << BigInt(ps)) - 1n);
// pXd_bad() = pXd_val() & ~PAGE_MASK (pgtable.h): the bits below PAGE_SHIFT.
const belowPage = (ps: number): number[] => Array.from({ length: ps }, (_, i) => i);

// What every level's flag helpers read; pmd_* mirror pte_* (pgtable.h).
const leafFlags = {
  write: { set: ['WRITE'] },                   // pte_write, pmd_write
  devmap: { set: ['DEVMAP'] },                 // pte_devmap, pmd_devmap
  young: { set: ['ACCESSED'] },                // pte_young, pmd_young: _PAGE_ACCESSED = the V bit
  dirty: { any: ['DIRTY', 'MODIFIED'] },       // pte_dirty, pmd_dirty: _PAGE_DIRTY | _PAGE_MODIFIED
  protnone: { set: ['PROTNONE'] },             // pte_protnone, pmd_protnone (NUMA_BALANCING)
  user: { set: ['PLV0', 'PLV1'] },             // _PAGE_USER = PLV_USER (3) << _PAGE_PLV_SHIFT
  invert: 'never',
} as const;

// Directory levels that never hold a leaf here: the pgd (a folded pud in the
// 3-level layouts, a folded p4d in 4KB_4LEVEL) and the 4-level pud. pXd_none /
// pXd_present compare the whole value with the invalid table's address; the
// kernel creates no leaf above the pmd (HPAGE_SHIFT = PAGE_SHIFT + PAGE_SHIFT - 3
// = PMD_SHIFT in page.h; no PUD THP). No flag helper reads these entries.
const dirKind = (ps: number, pudLeaf: boolean): LevelKind => ({
  leafOk: false,
  emptyIsTable: true,
  present: 'always',                           // pXd_present = val != invalid table (pXd_none checked first)
  access: 'always',
  table: { clear: belowPage(ps) },             // !pXd_bad
  // pud_leaf = (val & _PAGE_HUGE) != 0 (pgtable.h); no p4d_leaf (generic false)
  leaf: pudLeaf ? { set: ['HUGE'] } : 'never',
  write: 'never', special: 'never', devmap: 'never', protnone: 'never',
  young: 'never', dirty: 'never', user: 'never', invert: 'never',
  tableAddr: { mask: PHYSADDR, shift: 0, paShift: 0 },
  tableBits: [],
  tableValue: CACHE_BASE,
  leafAddr: { mask: pfnMask(ps), shift: ps, paShift: ps },
});

const pmdKind = (ps: number): LevelKind => ({
  ...leafFlags,
  leafOk: true,                                // THP and hugetlb HPAGE_SIZE = PMD_SIZE
  emptyIsTable: true,                          // pmd_none: val == invalid_pte_table
  // pmd_present: with _PAGE_HUGE, any of _PAGE_PRESENT | _PAGE_PROTNONE |
  // _PAGE_PRESENT_INVALID; otherwise val != invalid_pte_table
  present: { or: [{ clear: ['HUGE'] }, { any: ['PRESENT', 'PROTNONE', 'PRESENT_INVALID'] }] },
  access: { or: [{ clear: ['HUGE'] }, { any: ['PRESENT', 'PROTNONE', 'PRESENT_INVALID'] }] },   // generic pmd_access_permitted
  table: { clear: belowPage(ps) },             // !pmd_bad
  leaf: { set: ['HUGE'] },                     // pmd_leaf
  // pmd_special() is the generic `false` (no CONFIG_ARCH_SUPPORTS_PMD_PFNMAP on
  // loongarch in v6.12, include/linux/mm.h): no special huge pmds.
  special: 'never',
  tableAddr: { mask: PHYSADDR, shift: 0, paShift: 0 },   // pmd_phys / pmd_page_vaddr = pmd_val
  tableBits: [],
  tableValue: CACHE_BASE,                      // pmd_populate: page_address(pte) = __va(pa)
  names: [{ name: 'HUGE' }],                   // bit 6: _PAGE_HUGE in a pmd
  leafAddr: { mask: pfnMask(ps), shift: ps, paShift: ps },   // pmd_pfn = (val & _PFN_MASK) >> PFN_PTE_SHIFT
});

// Swap entries, v6.12 arch/loongarch/include/asm/pgtable.h ("Format of swap PTEs"):
//   mk_swap_pte(type, offset) = (type & 0x7f) << 16 | offset << 24: type in bits 16..22,
//   offset in bits 24..63 (40 bits), bit 23 the exclusive marker, bits 0..15 zero (they
//   include _PAGE_PRESENT, bit 7, and _PAGE_PROTNONE, bit 10). __swp_entry_to_pte is the
//   identity. The same for every page size. The same values in v7.2 (its pgtable.h
//   spells them with __SWP_TYPE_BITS / __SWP_TYPE_SHIFT for a 32-bit port): assumed
//   unchanged through v6.13..v6.17, which were not read. Before v6.3: see `eras`.
const swap = {
  type: { mask: 0x7f_0000n, shift: 16 },
  offset: { mask: 0xffff_ffff_ff00_0000n, shift: 24 },
  set: [],
  clear: ['VALID', 'DIRTY', 'PLV0', 'PLV1', 'CACHE_CC', 'CACHE_WUC', 'GLOBAL', 'PRESENT', 'WRITE', 'MODIFIED', 'PROTNONE', 'SPECIAL', 12, 13, 14, 15],
  exclusive: 23,             // _PAGE_SWP_EXCLUSIVE = 1 << _PAGE_SWP_EXCLUSIVE_SHIFT (23), pgtable-bits.h
  cite: 'v6.12 arch/loongarch/include/asm/pgtable.h mk_swap_pte, __swp_type, __swp_offset; pgtable-bits.h',
} as const;

const pteKind = (ps: number): LevelKind => ({
  ...leafFlags,
  leafOk: true,
  // pte_none = !(val & ~_PAGE_GLOBAL): kernel ptes may hold only GLOBAL
  // (kernel_pte_init(), pte_clear() keeps it)
  empty: 0n,
  noneMask: ~(1n << 6n) & ((1n << 64n) - 1n),
  present: { any: ['PRESENT', 'PROTNONE'] },   // pte_present
  access: { any: ['PRESENT', 'PROTNONE'] },    // generic pte_access_permitted = pte_present
  table: 'never',
  leaf: 'always',
  special: { set: ['SPECIAL'] },               // pte_special
  tableAddr: { mask: PHYSADDR, shift: 0, paShift: 0 },   // (unused at the last level)
  tableBits: [],
  names: [{ name: 'GLOBAL' }],                 // bit 6: _PAGE_GLOBAL in a pte
  leafAddr: { mask: pfnMask(ps), shift: ps, paShift: ps },   // pte_pfn
  swap,
});

// ---------------------------------------------------------------- the MMU's view
// LoongArch Reference Manual vol. 1 (v1.10; section numbers UNVERIFIED) §5.4 "Page
// Table Traversal" and the LDDIR / LDPTE instruction pages (LDDIR,
// LDPTE; the kernel's refill handler, arch/loongarch/mm/tlbex.S handle_tlb_refill,
// runs lddir per directory level and ldpte for the even/odd pair) and the CSR
// chapter's TLBELO0/TLBELO1 format (TLBELO: V bit 0, D bit 1, PLV, MAT, G bit 6, PPN from bit 12,
// NR 61, NX 62, RPLV 63). What the MMU makes of a walk is the TLB entry the
// refill leaves behind:
// - LDDIR reads a directory entry as a physical address (bits PALEN-1:12; the
//   kernel stores direct-map virtual addresses, whose window bits are dropped)
//   and checks nothing: an empty entry points at the kernel's invalid table, and
//   the walk follows it to an all-zero pte (V = 0: page-invalid exception).
// - A directory entry with bit 6 (the huge bit) set is a huge page: LDDIR returns
//   it and LDPTE splits it into the even/odd halves; its V bit decides validity.
//   UNVERIFIED: a huge entry above the pmd level (the kernel makes none).
// - A pte is valid when V (bit 0) is set.
// PALEN is 48 here (UNVERIFIED per core, CPUCFG1.PALEN; the kernel's DMW_PABITS).
const PA_HW = (shift: number) => ({ mask: ((1n << 48n) - 1n) & ~((1n << BigInt(shift)) - 1n), shift, paShift: shift });
const dirHw = (shift: number): HwLevelSpec => ({
  leafOk: true,
  // a pointer (huge bit clear) is always followed; a huge entry is valid with V set
  valid: { or: [{ clear: ['HUGE'] }, { set: ['VALID'] }] },
  table: { clear: ['HUGE'] },
  leaf: { set: ['HUGE'] },
  tableAddr: PA_HW(12),
  leafAddr: PA_HW(shift),
  cite: 'LoongArch Reference Manual vol. 1 §5.4 (LDDIR: huge bit 6; the directory entry is a physical address)',
});
const pteHw = (ps: number): HwLevelSpec => ({
  leafOk: true,
  valid: { set: ['VALID'] },
  table: 'never',
  leaf: 'always',
  leafAddr: PA_HW(ps),
  cite: 'LoongArch Reference Manual vol. 1 §5.4 (LDPTE), TLBELO format (V bit 0)',
});
// §5.2 / §5.4: in mapped translation, PGDL translates addresses with bit VALEN-1
// clear and PGDH those with it set; bits 63:VALEN must repeat bit VALEN-1, else an
// address error (ADE). So through this (user, PGDL) root: bits 63:VALEN-1 all zero.
// VALEN is 48 here (UNVERIFIED per core: CPUCFG1.VALEN, 3A5000/3A6000 class).
const hwLa = (shifts: number[], ps: number): HardwareSpec => ({
  levels: [...shifts.map((sh) => dirHw(sh)), pteHw(ps)],
  va: { rule: 'zero', lo: 47, hi: 63, cite: 'LoongArch Reference Manual vol. 1 §5.2, §5.4 (PGDL/PGDH by bit VALEN-1; VALEN 48 UNVERIFIED)' },
});

export const loongarch: ArchData = {
  arch: 'loongarch',
  source: 'v6.12 arch/loongarch/include/asm/pgtable-bits.h, pgtable.h, pgalloc.h, addrspace.h, loongarch.h, page.h, processor.h, sparsemem.h; arch/loongarch/mm/pgtable.c, init.c, cache.c, hugetlbpage.c; arch/loongarch/Kconfig',
  bigEndian: false,
  defaultVariant: '16k-3level',                // Kconfig: default 16KB_3LEVEL if 64BIT
  bits: {
    VALID: 0,            // _PAGE_VALID_SHIFT (HW)
    ACCESSED: 0,         // _PAGE_ACCESSED_SHIFT 0: "Reuse Valid for Accessed"
    DIRTY: 1,            // _PAGE_DIRTY_SHIFT (HW D: write enable)
    PLV0: 2,             // _PAGE_PLV_SHIFT 2, two bits (2~3): _PAGE_PLV = 3 << 2
    PLV1: 3,
    CACHE_CC: 4,         // _CACHE_SHIFT 4, two bits (MAT): _CACHE_CC = 1 << 4
    CACHE_WUC: 5,        // _CACHE_WUC = 2 << 4
    GLOBAL: 6,           // _PAGE_GLOBAL_SHIFT (in a pte)
    HUGE: 6,             // _PAGE_HUGE_SHIFT "HUGE is a PMD bit"
    PRESENT: 7,          // _PAGE_PRESENT_SHIFT (SW)
    WRITE: 8,            // _PAGE_WRITE_SHIFT (SW)
    MODIFIED: 9,         // _PAGE_MODIFIED_SHIFT (SW dirty)
    PROTNONE: 10,        // _PAGE_PROTNONE_SHIFT
    SPECIAL: 11,         // _PAGE_SPECIAL_SHIFT
    HGLOBAL: 12,         // _PAGE_HGLOBAL_SHIFT "HGlobal is a PMD bit"
    DEVMAP: 59,          // _PAGE_DEVMAP_SHIFT
    PRESENT_INVALID: 60, // _PAGE_PRESENT_INVALID_SHIFT (pmd_mkinvalid)
    NO_READ: 61,         // _PAGE_NO_READ_SHIFT (HW)
    NO_EXEC: 62,         // _PAGE_NO_EXEC_SHIFT (HW)
    RPLV: 63,            // _PAGE_RPLV_SHIFT (HW)
  },
  // v6.1 pgtable.h: mk_swap_pte(type, offset) = type << 16 | offset << 24, __swp_type
  // = (val >> 16) & 0xff: an 8-bit type field (bits 16..23), no exclusive marker. Made
  // 7 bits with bit 23 the marker by "loongarch/mm: support __HAVE_ARCH_PTE_SWP_EXCLUSIVE"
  // (merged for v6.3: the tag is UNVERIFIED from a v6.3 tree). Types below 32 encode alike.
  eras: [{
    // 6.1.y pgtable.h: pte_dirty and pmd_dirty test _PAGE_MODIFIED only (v6.12 also
    // _PAGE_DIRTY; the release between is UNVERIFIED, no preset lies between)
    until: 'v6.1', bits: {},
    kinds: Object.fromEntries(['pmd12', 'pte12', 'pmd14', 'pte14', 'pmd16', 'pte16'].map((k) => [k, { dirty: { set: ['MODIFIED'] } }])),
  }, {
    until: 'v6.2',
    bits: {},
    swap: { ...swap, type: { mask: 0xff_0000n, shift: 16 }, exclusive: undefined, cite: 'v6.1 arch/loongarch/include/asm/pgtable.h mk_swap_pte' },
  }],
  history: {
    // `select ARCH_HAS_PTE_SPECIAL` since the port (v6.12 Kconfig line 27;
    // present in v6.1); the port's release, v5.19, is UNVERIFIED.
    special: { from: 'v5.19' },
    // "LoongArch: Add ARCH_HAS_PTE_DEVMAP support" ("LoongArch changes for
    // v6.11"); removed for v6.17 by "mm: remove devmap related functions and
    // page table bits".
    devmap: { from: 'v6.11', until: 'v6.16' },
    uffdWp: null,      // no HAVE_ARCH_USERFAULTFD_WP in v6.1 or v6.12 arch/loongarch/Kconfig
    // none of HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD, ARCH_SUPPORTS_HUGE_PFNMAP,
    // ARCH_WANT_OPTIMIZE_DAX_VMEMMAP in 6.1.y or v6.12 arch/loongarch/Kconfig
    thpPud: null,
    hugePfnmap: null,
    daxVmemmapOpt: null,
    // no ARCH_SUPPORTS_MEMORY_FAILURE in v6.12 or v7.2 (only x86, arm64, powerpc, parisc
    // select it): SWP_HWPOISON_NUM 0, MAX_SWAPFILES one higher (src/arch/swap.ts)
    memoryFailure: null,
  },
  kinds: {
    p4d12: dirKind(12, false),
    pud12: dirKind(12, true),
    pmd12: pmdKind(12),
    pte12: pteKind(12),
    pud14: dirKind(14, true),
    pmd14: pmdKind(14),
    pte14: pteKind(14),
    pud16: dirKind(16, true),
    pmd16: pmdKind(16),
    pte16: pteKind(16),
  },
  ops: {
    // pte_mkwrite_novma: |= _PAGE_WRITE; if _PAGE_MODIFIED, |= _PAGE_DIRTY
    mkwrite: [{ set: ['WRITE'] }, { if: { set: ['MODIFIED'] }, set: ['DIRTY'] }],
    // pte_wrprotect: if _PAGE_DIRTY, |= _PAGE_MODIFIED; &= ~(_PAGE_WRITE | _PAGE_DIRTY)
    wrprotect: [{ if: { set: ['DIRTY'] }, set: ['MODIFIED'] }, { clear: ['WRITE', 'DIRTY'] }],
    // pte_mkdirty: |= _PAGE_MODIFIED; if _PAGE_WRITE, |= _PAGE_DIRTY
    mkdirty: [{ set: ['MODIFIED'] }, { if: { set: ['WRITE'] }, set: ['DIRTY'] }],
    mkclean: [{ clear: ['DIRTY', 'MODIFIED'] }],   // pte_mkclean
    mkyoung: [{ set: ['ACCESSED'] }],              // pte_mkyoung
    mkold: [{ clear: ['ACCESSED'] }],              // pte_mkold
    mkspecial: [{ set: ['SPECIAL'] }],             // pte_mkspecial
    mkdevmap: [{ set: ['DEVMAP'] }],               // pte_mkdevmap / pmd_mkdevmap: DEVMAP only
    // pmd_mkhuge: GLOBAL moves to HGLOBAL, then _PAGE_HUGE (the same bit 6) is set
    // (hugetlb's pte_mkhuge only sets _PAGE_HUGE: the same for user entries)
    mkhuge: [{ if: { set: ['GLOBAL'] }, set: ['HGLOBAL'] }, { set: ['HUGE'] }],
  },
  // vm_get_page_prot() reads protection_map[] (mm/cache.c), not PAGE_READONLY /
  // PAGE_SHARED of pgtable-bits.h: the user entries carry _PAGE_VALID (young)
  // and _PAGE_NO_EXEC from the start.
  prot: {
    // [VM_NONE]: _CACHE_CC | _PAGE_USER | _PAGE_NO_EXEC | _PAGE_NO_READ | _PAGE_PROTNONE
    none: ['CACHE_CC', 'PLV0', 'PLV1', 'NO_EXEC', 'NO_READ', 'PROTNONE'],
    // [VM_READ]: _CACHE_CC | _PAGE_VALID | _PAGE_USER | _PAGE_PRESENT | _PAGE_NO_EXEC
    readonly: ['CACHE_CC', 'VALID', 'PLV0', 'PLV1', 'PRESENT', 'NO_EXEC'],
    // [VM_WRITE | VM_READ]: the same (private: no _PAGE_WRITE until the CoW)
    copy: ['CACHE_CC', 'VALID', 'PLV0', 'PLV1', 'PRESENT', 'NO_EXEC'],
    // [VM_SHARED | VM_WRITE | VM_READ]: ... | _PAGE_NO_EXEC | _PAGE_WRITE
    shared: ['CACHE_CC', 'VALID', 'PLV0', 'PLV1', 'PRESENT', 'NO_EXEC', 'WRITE'],
  },
  // VA_BITS = PGDIR_SHIFT + PAGE_SHIFT - 3 (pgtable.h). User space is
  // TASK_SIZE64 = 1 << min(cpu_vabits, VA_BITS) (processor.h), where
  // cpu_vabits = CPUCFG1.VALEN field = VALEN - 1 (kernel/cpu-probe.c; proc.c
  // prints cpu_vabits + 1). userVaBits below assume a core with a 48-bit VA
  // (cpu_vabits 47; Loongson-3A5000/3A6000 class, a hardware value UNVERIFIED
  // here); a 39-bit-VA Loongson-2K (cpu_vabits 39, mm/kasan_init.c) caps lower.
  variants: {
    '16k-3level': {
      description: '16 KiB pages, 3 levels (pud folded), 47-bit VA; 32 MiB pmd leaves',
      pageShift: 14,
      vaBits: 47,
      userVaBits: 47,                 // min(47, 47)
      sectionSizeBits: 29,            // sparsemem.h SECTION_SIZE_BITS
      maxPhysBits: 48,                // sparsemem.h MAX_PHYSMEM_BITS
      levels: [
        { name: 'pgd', kind: 'pud14', shift: 36, indexBits: 11 },   // PGDIR_SHIFT = PMD_SHIFT + PAGE_SHIFT - 3
        { name: 'pmd', kind: 'pmd14', shift: 25, indexBits: 11 },   // PMD_SHIFT = PAGE_SHIFT + PAGE_SHIFT - 3
        { name: 'pte', kind: 'pte14', shift: 14, indexBits: 11 },   // PTRS_PER_* = PAGE_SIZE >> 3
      ],
      hardware: hwLa([36, 25], 14),
    },
    '4k-3level': {
      description: '4 KiB pages, 3 levels (pud folded), 39-bit VA; 2 MiB pmd leaves',
      pageShift: 12,
      vaBits: 39,
      userVaBits: 39,                 // min(47, 39)
      sectionSizeBits: 29,
      maxPhysBits: 48,
      levels: [
        { name: 'pgd', kind: 'pud12', shift: 30, indexBits: 9 },
        { name: 'pmd', kind: 'pmd12', shift: 21, indexBits: 9 },
        { name: 'pte', kind: 'pte12', shift: 12, indexBits: 9 },
      ],
      hardware: hwLa([30, 21], 12),
    },
    '4k-4level': {
      description: '4 KiB pages, 4 levels (p4d folded), 48-bit VA; 2 MiB pmd leaves',
      pageShift: 12,
      vaBits: 48,
      userVaBits: 47,                 // min(47, 48)
      sectionSizeBits: 29,
      maxPhysBits: 48,
      levels: [
        { name: 'pgd', kind: 'p4d12', shift: 39, indexBits: 9 },    // PGDIR_SHIFT = PUD_SHIFT + PAGE_SHIFT - 3
        { name: 'pud', kind: 'pud12', shift: 30, indexBits: 9 },    // PUD_SHIFT = PMD_SHIFT + PAGE_SHIFT - 3
        { name: 'pmd', kind: 'pmd12', shift: 21, indexBits: 9 },
        { name: 'pte', kind: 'pte12', shift: 12, indexBits: 9 },
      ],
      hardware: hwLa([39, 30, 21], 12),
    },
    '64k-3level': {
      description: '64 KiB pages, 3 levels (pud folded), 55-bit VA; 512 MiB pmd leaves',
      pageShift: 16,
      vaBits: 55,
      userVaBits: 47,                 // min(47, 55)
      sectionSizeBits: 29,
      maxPhysBits: 48,
      levels: [
        { name: 'pgd', kind: 'pud16', shift: 42, indexBits: 13 },
        { name: 'pmd', kind: 'pmd16', shift: 29, indexBits: 13 },
        { name: 'pte', kind: 'pte16', shift: 16, indexBits: 13 },
      ],
      hardware: hwLa([42, 29], 16),
    },
  },
};
