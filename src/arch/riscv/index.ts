// riscv64: Sv39 (3 levels), Sv48 (4 levels), Sv57 (5 levels), 4 KiB pages.
// v6.12 arch/riscv/include/asm/pgtable-bits.h, pgtable-64.h, pgtable.h,
// pgalloc.h, sparsemem.h; arch/riscv/mm/init.c (protection_map),
// arch/riscv/mm/hugetlbpage.c, arch/riscv/Kconfig. Data only.
//
// One kernel image serves all three modes: PGTABLE_LEVELS is 5 on 64BIT
// (Kconfig) and set_satp_mode() (mm/init.c) probes Sv57, then Sv48, then Sv39
// at boot (no5lvl / no4lvl lower the ceiling). The folded levels are decided at
// run time by pgtable_l4_enabled / pgtable_l5_enabled (pgtable-64.h).
//
// Standard (Svpbmt / non-T-Head) cores: pfn_pte()'s ALT_THEAD_PMA() adds
// nothing, so the memory-type bits 59..63 are 0 in every entry built here.
import type { ArchData, HardwareSpec, HwLevelSpec, LevelKind } from '../types.js';

// _PAGE_PFN_MASK = GENMASK(53, 10) (pgtable-64.h); __page_val_to_pfn() masks
// with it, so Svpbmt (61-62) and Svnapot N (63) never reach a pfn.
const PFN = 0x003f_ffff_ffff_fc00n;
// pmd_pfn() = (__pmd_to_phys(pmd) & PMD_MASK) >> PAGE_SHIFT (pgtable.h):
// the PPN bits below pa bit 21 (entry bits 10..18) are dropped.
const PFN_PMD = 0x003f_ffff_fff8_0000n;   // GENMASK(53, 19)
// pud_pfn() = (__pud_to_phys(pud) & PUD_MASK) >> PAGE_SHIFT (pgtable.h)
const PFN_PUD = 0x003f_ffff_f000_0000n;   // GENMASK(53, 28)

// The flag helpers of every level read the same bits: pmd_write/pmd_dirty/
// pmd_young/pmd_user/pmd_devmap are pte_*(pmd_pte(pmd)) and pud_write is
// pte_write(pud_pte(pud)) (pgtable.h, pgtable-64.h). The hugetlb layer reads
// pud leaves as huge ptes (huge_ptep_get + pte_young/pte_dirty).
const common = {
  write: { set: ['WRITE'] },          // pte_write
  special: { set: ['SPECIAL'] },      // pte_special
  devmap: { set: ['DEVMAP'] },        // pte_devmap (CONFIG_ARCH_HAS_PTE_DEVMAP)
  young: { set: ['ACCESSED'] },       // pte_young
  dirty: { set: ['DIRTY'] },          // pte_dirty
  user: { set: ['USER'] },            // pte_user, pmd_user, pud_user
  invert: 'never',                    // no L1TF-style inversion
  // pud_populate / p4d_populate / pgd_populate / pmd_populate (pgalloc.h):
  // (pfn << _PAGE_PFN_SHIFT) | _PAGE_TABLE, with _PAGE_TABLE = _PAGE_PRESENT
  tableAddr: { mask: PFN, shift: 10, paShift: 12 },
  tableBits: ['PRESENT'],
  // bit 5: _PAGE_PROT_NONE with V clear, else G
  names: [{ name: 'PROT_NONE', when: { clear: ['PRESENT'] } }, { name: 'GLOBAL' }],
} as const;

// Levels above the pud: p4d (pgtable_l4_enabled) and pgd (pgtable_l5_enabled).
// p4d_present / pgd_present = val & _PAGE_PRESENT, p4d_none / pgd_none =
// val == 0, p4d_bad / pgd_bad = !present (pgtable-64.h). The kernel defines
// no p4d_leaf / pgd_leaf (the generic ones return false) and creates no leaf
// here: arch_hugetlb_valid_size() accepts HPAGE_SIZE (PMD), PUD_SIZE and the
// Svnapot sizes only (mm/hugetlbpage.c), and there is no PUD/P4D THP.
const dir: LevelKind = {
  ...common,
  leafOk: false,
  present: { set: ['PRESENT'] },
  access: { set: ['PRESENT'] },
  table: 'always',
  leaf: 'never',
  protnone: 'never',
  leafAddr: { mask: PFN, shift: 10, paShift: 12 },
};

// ---------------------------------------------------------------- the MMU's view
// RISC-V privileged spec (v1.12) §4.3.2 "Virtual Address Translation Process"
// (stated for Sv32; §4.4 Sv39, §4.5 Sv48 and §4.6 Sv57 apply it with more levels):
//  step 3: V = 0, or R = 0 with W = 1, or a reserved bit set: page fault;
//  step 4: R = 1 or X = 1 is a leaf, at ANY level (Sv48 512 GiB and Sv57 256 TiB
//          pages included); R = W = X = 0 points to the next level, and at the
//          last level that is a page fault;
//  step 6: a leaf above level 0 whose low PPN fields are not zero is a misaligned
//          superpage: page fault.
// Bits 60:54 are reserved (§4.4.1: must be zero; step 3 faults on them). Not modelled: Svpbmt
// (bits 62:61, PBMT = 3 reserved), Svnapot (bit 63, N), the non-leaf D/A/U rule,
// the A/D update or fault, permissions.
const RESERVED = [54, 55, 56, 57, 58, 59, 60];
const lowPpn = (shift: number): number[] => Array.from({ length: shift - 12 }, (_, i) => 10 + i);
const leafHw = (shift: number, last: boolean): HwLevelSpec => ({
  leafOk: true,
  valid: { set: ['PRESENT'] },
  // R = 1 (any W, X), or X = 1 with R = W = 0; the PPN below the leaf size zero
  leaf: {
    or: [
      { mask: ['READ', ...RESERVED, ...lowPpn(shift)], value: ['READ'] },
      { mask: ['READ', 'WRITE', 'EXEC', ...RESERVED, ...lowPpn(shift)], value: ['EXEC'] },
    ],
  },
  table: last ? 'never' : { clear: ['READ', 'WRITE', 'EXEC', ...RESERVED] },
  ...(last ? {} : { tableAddr: { mask: PFN, shift: 10, paShift: 12 } }),
  // the PPN fields from the leaf's size up: entry bit 10 + (shift - 12) holds pa bit shift
  leafAddr: { mask: PFN & ~((1n << BigInt(10 + shift - 12)) - 1n), shift: 10 + shift - 12, paShift: shift },
  cite: `RISC-V privileged spec §4.3.2 steps 3, 4, 6 (${last ? 'level 0' : `a ${shift}-bit leaf or a pointer`})`,
});
const hwSv = (shifts: number[]): HardwareSpec => ({
  levels: shifts.map((sh, i) => leafHw(sh, i === shifts.length - 1)),
  // §4.4.1 / §4.5.1 / §4.6.1: bits 63:VA_BITS must equal bit VA_BITS-1, else a page fault
  va: { rule: 'sign-extend', lo: shifts[0] + 9 - 1, hi: 63, cite: 'RISC-V privileged spec §4.4.1, §4.5.1, §4.6.1 (VA bits above the top must equal its sign bit)' },
});

// Swap entries, v6.12 arch/riscv/include/asm/pgtable.h ("Format of swap PTE"):
//   bit 0 _PAGE_PRESENT (zero), bits 1-3 _PAGE_LEAF (zero), bit 5 _PAGE_PROT_NONE (zero),
//   bit 6 exclusive marker, bits 7-11 type (__SWP_TYPE_SHIFT 7, __SWP_TYPE_BITS 5),
//   bits 12..63 offset (__SWP_OFFSET_SHIFT = 5 + 7 = 12; __swp_entry shifts the offset
//   unmasked, so 52 bits on RV64). __swp_entry_to_pte is the identity.
// The same type, offset and exclusive bits in v7.2: assumed unchanged through
// v6.13..v6.17, which were not read. (v7.2 also uses bits 3 and 4 for swap soft-dirty
// and uffd-wp on cores with Svrsw60t59b, a series posted after v6.17.) Before v6.3: see `eras`.
const swap = {
  type: { mask: 0xf80n, shift: 7 },
  offset: { mask: 0xffff_ffff_ffff_f000n, shift: 12 },
  set: [],
  clear: ['PRESENT', 'READ', 'WRITE', 'EXEC', 'PROT_NONE'],
  exclusive: 'ACCESSED',     // _PAGE_SWP_EXCLUSIVE = _PAGE_ACCESSED, bit 6 (pgtable-bits.h)
  cite: 'v6.12 arch/riscv/include/asm/pgtable.h __swp_entry (__SWP_TYPE_SHIFT 7, __SWP_OFFSET_SHIFT), pgtable-bits.h',
} as const;

export const riscv: ArchData = {
  arch: 'riscv',
  source: 'v6.12 arch/riscv/include/asm/pgtable-bits.h, pgtable-64.h, pgtable.h, pgalloc.h, sparsemem.h; arch/riscv/mm/init.c, hugetlbpage.c; arch/riscv/Kconfig',
  bigEndian: false,
  defaultVariant: 'sv48',
  bits: {
    PRESENT: 0,        // _PAGE_PRESENT   (V)
    READ: 1,           // _PAGE_READ      (R)
    WRITE: 2,          // _PAGE_WRITE     (W)
    EXEC: 3,           // _PAGE_EXEC      (X)
    USER: 4,           // _PAGE_USER      (U)
    GLOBAL: 5,         // _PAGE_GLOBAL    (G)
    PROT_NONE: 5,      // _PAGE_PROT_NONE = _PAGE_GLOBAL, meaningful with V clear
    ACCESSED: 6,       // _PAGE_ACCESSED  (A; _PAGE_SWP_EXCLUSIVE in swap entries)
    DIRTY: 7,          // _PAGE_DIRTY     (D)
    SPECIAL: 8,        // _PAGE_SPECIAL = 1 << 8 (RSW: 0x1)
    DEVMAP: 9,         // _PAGE_DEVMAP  = 1 << 9 (RSW, devmap)
    NOCACHE_SVPBMT: 61,   // _PAGE_NOCACHE_SVPBMT (pgtable-64.h)
    IO_SVPBMT: 62,        // _PAGE_IO_SVPBMT
    NAPOT: 63,            // _PAGE_NAPOT (Svnapot; 64 KiB hugetlb groups, not modelled)
  },
  // v6.1 pgtable.h: bits 6-10 type (__SWP_TYPE_SHIFT 6), bits 11..63 offset
  // (__SWP_OFFSET_SHIFT 11; its comment says "10 to XLEN-1"), no exclusive marker.
  // Changed by "riscv/mm: support __HAVE_ARCH_PTE_SWP_EXCLUSIVE" (David Hildenbrand's
  // series for all arches, merged for v6.3: the tag is UNVERIFIED from a v6.3 tree).
  eras: [{
    until: 'v6.2',
    bits: {},
    swap: {
      type: { mask: 0x7c0n, shift: 6 },
      offset: { mask: 0xffff_ffff_ffff_f800n, shift: 11 },
      set: [],
      clear: ['PRESENT', 'READ', 'WRITE', 'EXEC', 'PROT_NONE'],
      cite: 'v6.1 arch/riscv/include/asm/pgtable.h __swp_entry (__SWP_TYPE_SHIFT 6)',
    },
  }, {
    // no pmd_special nor pmd_mkspecial before huge pfnmaps (v6.15, history.hugePfnmap):
    // v6.12 has neither (mm.h's generic pmd_special is false)
    until: 'v6.14',
    bits: {},
    kinds: { pmd: { special: 'never', ops: { mkspecial: [] } } },
  }, {
    // no THP PUD before v6.17 (history.thpPud), so no ARCH_SUPPORTS_PUD_PFNMAP:
    // pud_special is the generic `false` and pud_mkspecial the identity
    // (include/linux/mm.h), and v6.12 pgtable-64.h has pud_bad = !pud_present
    until: 'v6.16',
    bits: {},
    kinds: { pud: { special: 'never', table: 'always', ops: { mkspecial: [] } } },
  }],
  history: {
    // pte_special from the port: the pre-v4.18 pgtable-bits.h defines
    // __HAVE_ARCH_PTE_SPECIAL ("Advertise support for _PAGE_SPECIAL"); v4.18's
    // 3010a5ea665a ("mm: introduce ARCH_HAS_PTE_SPECIAL") turned it into
    // `select ARCH_HAS_PTE_SPECIAL` in arch/riscv/Kconfig (v6.12 Kconfig line 45).
    // v4.15 is the release of the mainline port (exact tag UNVERIFIED from a v4.15 tree).
    special: { from: 'v4.15' },
    // 216e04bf1e4d "riscv: mm: Add support for ZONE_DEVICE" (6.11 merge window):
    // `select ARCH_HAS_PTE_DEVMAP if 64BIT && MMU`; removed for v6.17 by
    // "mm: remove devmap related functions and page table bits".
    devmap: { from: 'v6.11', until: 'v6.16' },
    // no HAVE_ARCH_USERFAULTFD_WP in v6.1 or v6.12 arch/riscv/Kconfig (later kernels:
    // UNVERIFIED; it matters here only before v6.2, see src/arch/swap.ts)
    uffdWp: null,
    // `select HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD if 64BIT && MMU` (v7.2 arch/riscv/Kconfig;
    // not in 6.1.y or v6.12): c3cc2a4a3a23 "riscv: Add support for PUD THP" (Alexandre
    // Ghiti, posted 2025-03-21 "to enable the use of PUD pfnmap"), in the riscv tree
    // after the 6.16 merge window; its fix 668208b161a0 ("riscv: use an atomic xchg in
    // pudp_huge_get_and_clear()", Fixes: c3cc2a4a3a23) was taken as a "6.17-stable
    // review patch", so v6.17 (the tag itself UNVERIFIED: no v6.17 tree read)
    thpPud: { from: 'v6.17' },
    // `select ARCH_SUPPORTS_HUGE_PFNMAP if TRANSPARENT_HUGEPAGE` (v7.2 arch/riscv/Kconfig; not
    // in v6.12): 03dc00a2b678 "riscv: Support huge pfnmaps", in "[GIT PULL] RISC-V Patches
    // for the 6.15 Merge Window, Part 1" (lkml, 2025-04-04), so v6.15 (the tag itself
    // UNVERIFIED: no v6.15 tree read). PUD pfnmaps need THP PUD (thpPud, below).
    hugePfnmap: { from: 'v6.15' },
    // v6.12 arch/riscv/Kconfig `select ARCH_WANT_OPTIMIZE_DAX_VMEMMAP`; not in 6.1.y
    daxVmemmapOpt: { from: 'v6.12' },
    // no ARCH_SUPPORTS_MEMORY_FAILURE in v6.12 or v7.2 (only x86, arm64, powerpc, parisc
    // select it): SWP_HWPOISON_NUM 0, MAX_SWAPFILES one higher (src/arch/swap.ts)
    memoryFailure: null,
  },
  kinds: {
    // Sv57 top level. A real pgd: gup-fast asks pgd_none (val == 0 with
    // pgtable_l5_enabled, pgtable-64.h) only, not pgd_present (gup_fast_pgd_range).
    pgd: { ...dir, gupFastNoneOnly: true },
    p4d: dir,     // Sv57 second level; Sv48 top level (pgd folded: pgd_present() == 1)
    // Sv48/Sv57 pud level; Sv39 top level (p4d and pud folded into the pgd:
    // pud_offset() returns the pgd entry itself and pud_* judge it).
    pud: {
      ...common,
      leafOk: true,                                     // hugetlb PUD_SIZE (1 GiB)
      present: { set: ['PRESENT'] },                    // pud_present
      access: { set: ['PRESENT'] },                     // generic pud_access_permitted
      // pud_bad = !pud_present || (val & _PAGE_LEAF) (v7.2 pgtable-64.h, with THP PUD;
      // before v6.17 !pud_present only, see eras)
      table: { clear: ['READ', 'WRITE', 'EXEC'] },
      leaf: { any: ['READ', 'WRITE', 'EXEC'] },         // pud_leaf = present && (val & _PAGE_LEAF)
      protnone: 'never',                                // no pud_protnone
      // pud_special = pte_special(pud_pte(pud)), pud_mkspecial the pte op
      // (CONFIG_ARCH_SUPPORTS_PUD_PFNMAP: huge pfnmaps and THP PUD, v6.17 on; v7.2
      // pgtable.h). Before: the generic `false`, see eras. pud_devmap() returns 0
      // (v6.12 pgtable-64.h), and devmap is gone by the time THP PUD came.
      special: { set: ['SPECIAL'] },
      devmap: 'never',
      leafAddr: { mask: PFN_PUD, shift: 28, paShift: 30 },   // pud_pfn
    },
    pmd: {
      ...common,
      leafOk: true,                                     // THP / hugetlb HPAGE_SIZE (2 MiB)
      // pmd_present (CONFIG_TRANSPARENT_HUGEPAGE): _PAGE_PRESENT | _PAGE_PROT_NONE
      // | _PAGE_LEAF, so a pmd_mkinvalid()ed THP stays present while it splits
      present: { any: ['PRESENT', 'PROT_NONE', 'READ', 'WRITE', 'EXEC'] },
      access: { any: ['PRESENT', 'PROT_NONE', 'READ', 'WRITE', 'EXEC'] },   // generic pmd_access_permitted
      table: { clear: ['READ', 'WRITE', 'EXEC'] },      // pmd_bad = !present || (val & _PAGE_LEAF)
      leaf: { any: ['READ', 'WRITE', 'EXEC'] },         // pmd_leaf = present && (val & _PAGE_LEAF)
      protnone: { mask: ['PRESENT', 'PROT_NONE'], value: ['PROT_NONE'] },   // pmd_protnone = pte_protnone
      // pmd_special = pte_special(pmd_pte(pmd)), pmd_mkspecial the pte op
      // (CONFIG_ARCH_SUPPORTS_PMD_PFNMAP, v6.15 on: history.hugePfnmap; v7.2
      // pgtable.h). Before: the generic `false` (include/linux/mm.h), see eras.
      special: { set: ['SPECIAL'] },
      leafAddr: { mask: PFN_PMD, shift: 19, paShift: 21 },   // pmd_pfn
    },
    pte: {
      ...common,
      leafOk: true,
      present: { any: ['PRESENT', 'PROT_NONE'] },      // pte_present
      access: { any: ['PRESENT', 'PROT_NONE'] },       // generic pte_access_permitted = pte_present
      table: 'never',
      leaf: 'always',
      protnone: { mask: ['PRESENT', 'PROT_NONE'], value: ['PROT_NONE'] },   // pte_protnone
      leafAddr: { mask: PFN, shift: 10, paShift: 12 },  // pte_pfn (no Svnapot entries)
      swap,
    },
  },
  ops: {
    mkwrite: [{ set: ['WRITE'] }],          // pte_mkwrite_novma (pmd_mkwrite_novma = the pte op)
    // pte_wrprotect. v7.2 also sets _PAGE_READ (so a shadow-stack pte, XWR = 010, does
    // not become a pointer): "riscv/mm: write protect and shadow stack" of the user
    // CFI series, still posted as v25 on 2025-12-05, after every preset
    wrprotect: [{ clear: ['WRITE'] }],
    mkdirty: [{ set: ['DIRTY'] }],          // pte_mkdirty
    mkclean: [{ clear: ['DIRTY'] }],        // pte_mkclean
    mkyoung: [{ set: ['ACCESSED'] }],       // pte_mkyoung
    mkold: [{ clear: ['ACCESSED'] }],       // pte_mkold
    mkspecial: [{ set: ['SPECIAL'] }],      // pte_mkspecial
    mkdevmap: [{ set: ['DEVMAP'] }],        // pte_mkdevmap / pmd_mkdevmap: DEVMAP only
    // pmd_mkhuge and pte_mkhuge return the entry unchanged (arch_make_huge_pte
    // calls pte_mkhuge for non-Svnapot sizes): R/W/X is what makes a leaf.
    mkhuge: [],
  },
  // protection_map[] (mm/init.c): VM_READ -> PAGE_READ, VM_WRITE|VM_READ ->
  // PAGE_COPY, VM_SHARED|VM_WRITE|VM_READ -> PAGE_SHARED, VM_NONE -> PAGE_NONE.
  prot: {
    none: ['PROT_NONE', 'READ'],                                    // PAGE_NONE = _PAGE_PROT_NONE | _PAGE_READ
    readonly: ['PRESENT', 'ACCESSED', 'USER', 'READ'],              // PAGE_READ = _PAGE_BASE | _PAGE_READ
    copy: ['PRESENT', 'ACCESSED', 'USER', 'READ'],                  // PAGE_COPY = PAGE_READ
    shared: ['PRESENT', 'ACCESSED', 'USER', 'READ', 'WRITE'],       // PAGE_SHARED = PAGE_WRITE
  },
  variants: {
    sv39: {
      description: 'Sv39: 3 levels, 39-bit VA (p4d and pud folded into the pgd)',
      pageShift: 12,
      vaBits: 39,                     // VA_BITS_SV39
      userVaBits: 38,                 // TASK_SIZE_64 = PGDIR_SIZE * PTRS_PER_PGD / 2 = 1 << 38
      sectionSizeBits: 27,            // sparsemem.h SECTION_SIZE_BITS
      maxPhysBits: 56,                // sparsemem.h MAX_PHYSMEM_BITS (64BIT)
      levels: [
        { name: 'pgd', kind: 'pud', shift: 30, indexBits: 9 },   // PGDIR_SHIFT_L3 30: a 1 GiB leaf sits here
        { name: 'pmd', kind: 'pmd', shift: 21, indexBits: 9 },   // PMD_SHIFT
        { name: 'pte', kind: 'pte', shift: 12, indexBits: 9 },
      ],
      hardware: hwSv([30, 21, 12]),
    },
    sv48: {
      description: 'Sv48: 4 levels, 48-bit VA (p4d folded into the pgd)',
      pageShift: 12,
      vaBits: 48,                     // VA_BITS_SV48
      userVaBits: 47,                 // TASK_SIZE_64 = 1 << 47
      sectionSizeBits: 27,
      maxPhysBits: 56,
      levels: [
        { name: 'pgd', kind: 'p4d', shift: 39, indexBits: 9 },   // PGDIR_SHIFT_L4 39
        { name: 'pud', kind: 'pud', shift: 30, indexBits: 9 },   // PUD_SHIFT
        { name: 'pmd', kind: 'pmd', shift: 21, indexBits: 9 },
        { name: 'pte', kind: 'pte', shift: 12, indexBits: 9 },
      ],
      hardware: hwSv([39, 30, 21, 12]),
    },
    sv57: {
      description: 'Sv57: 5 levels, 57-bit VA',
      pageShift: 12,
      vaBits: 57,                     // VA_BITS_SV57
      userVaBits: 56,                 // TASK_SIZE_64 = 1 << 56
      sectionSizeBits: 27,
      maxPhysBits: 56,
      levels: [
        { name: 'pgd', kind: 'pgd', shift: 48, indexBits: 9 },   // PGDIR_SHIFT_L5 48
        { name: 'p4d', kind: 'p4d', shift: 39, indexBits: 9 },   // P4D_SHIFT_L5 39
        { name: 'pud', kind: 'pud', shift: 30, indexBits: 9 },
        { name: 'pmd', kind: 'pmd', shift: 21, indexBits: 9 },
        { name: 'pte', kind: 'pte', shift: 12, indexBits: 9 },
      ],
      hardware: hwSv([48, 39, 30, 21, 12]),
    },
  },
};
