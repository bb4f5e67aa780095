// arm64 (AArch64 stage-1, user address space, TTBR0): 4K granule with 39-bit
// and 48-bit VA, 64K granule with 48-bit VA. Data only.
//
// Sources, v6.12 = Debian linux-source-6.12 6.12.117 (upstream stable v6.12.117):
//   arch/arm64/include/asm/pgtable-hwdef.h   descriptor bits, ARM64_HW_PGTABLE_LEVEL_SHIFT
//   arch/arm64/include/asm/pgtable-prot.h    software bits, _PAGE_*, PAGE_NONE
//   arch/arm64/include/asm/pgtable.h         pte_*/pmd_*/pud_*/p4d_* helpers
//   arch/arm64/include/asm/pgalloc.h         pmd/pud/p4d_populate (table entries)
//   arch/arm64/include/asm/sparsemem.h       SECTION_SIZE_BITS, MAX_PHYSMEM_BITS
//   arch/arm64/mm/mmap.c                     protection_map[] (PAGE_COPY)
//   arch/arm64/Kconfig                       PGTABLE_LEVELS, ARM64_PA_BITS, selects
//   include/linux/mm.h                       pmd_special/pud_special fallbacks
// v6.1 = Debian linux-source-6.1 6.1.192 (upstream stable v6.1.192), same files.
//
// Not modelled:
// - LPA2 / 52-bit PA (CONFIG_ARM64_PA_BITS_52, CONFIG_ARM64_LPA2). These variants
//   are CONFIG_ARM64_PA_BITS_48 configurations. Linux still reads entry bits
//   PAGE_SHIFT..49 as the address there (v6.12 PTE_ADDR_LOW, see below); with
//   52-bit PA the high PA bits would sit in entry bits 8..9 (4K, LPA2) or
//   12..15 (64K), which these configurations never read. Note that
//   Kconfig's default VA size in v6.12 is ARM64_VA_BITS_52, which with 4K pages
//   forces PA_BITS_52/LPA2: the variants below are the explicit VA_BITS_39 /
//   VA_BITS_48 configurations, not the Kconfig default.
// - PTE_CONT / PMD_SECT_CONT (contpte folding of PTE-mapped large folios, and
//   the CONT_PTE_SIZE / CONT_PMD_SIZE hugetlb sizes), BTI (PTE_GP), MTE
//   (MT_NORMAL_TAGGED), POE (pkeys overlay in pte_access_permitted), PIE.
import type { ArchData, BitNameRule, HardwareSpec, HwLevelSpec, LevelKind } from '../types.js';

// Output-address fields as Linux reads them: __pte_to_phys(pte) = pte_val(pte)
// & PTE_ADDR_LOW without CONFIG_ARM64_PA_BITS_52, and v6.12's
//   #define PTE_ADDR_LOW (((_AT(pteval_t, 1) << (50 - PAGE_SHIFT)) - 1) << PAGE_SHIFT)
// is entry bits [PAGE_SHIFT, 49], taken as PA bits [PAGE_SHIFT, 49] (no PHYS_MASK
// is applied; __phys_to_pte_val is the identity). pmd_pfn / pud_pfn mask further
// with PMD_MASK / PUD_MASK (pgtable.h). Before the LPA2 rework (v6.9, the first
// tag UNVERIFIED) PTE_ADDR_LOW was ((1 << (48 - PAGE_SHIFT)) - 1) << PAGE_SHIFT
// (6.1.y pgtable-hwdef.h): bits [PAGE_SHIFT, 47], as an era below says. The
// MMU (48-bit OA, no FEAT_LPA) reads bits [PAGE_SHIFT, 47]: pa48() of these.
const OA_4K = 0x0003_ffff_ffff_f000n;    // PTE_ADDR_LOW, PAGE_SHIFT 12
const OA_2M = 0x0003_ffff_ffe0_0000n;    // & PMD_MASK, PMD_SHIFT 21 (4K)
const OA_1G = 0x0003_ffff_c000_0000n;    // & PUD_MASK, PUD_SHIFT 30 (4K)
const OA_64K = 0x0003_ffff_ffff_0000n;   // PTE_ADDR_LOW, PAGE_SHIFT 16
const OA_512M = 0x0003_ffff_e000_0000n;  // & PMD_MASK, PMD_SHIFT 29 (64K)
const pa48 = (oa: bigint): bigint => oa & ((1n << 48n) - 1n);

// pte_present(): pte_valid(pte) || pte_present_invalid(pte), and
// pte_present_invalid = (val & (PTE_VALID | PTE_PRESENT_INVALID)) == PTE_PRESENT_INVALID.
// Both together are "VALID or PRESENT_INVALID set". v6.1 spelled it
// !!(val & (PTE_VALID | PTE_PROT_NONE)): the same shape with the era's bit.
const pteLikePresent = { any: ['VALID', 'PRESENT_INVALID'] } as const;

// pte_protnone() (CONFIG_NUMA_BALANCING), v6.12:
//   pte_present_invalid(pte) && !pte_user(pte) && !pte_user_exec(pte)
//   = (val & (VALID | PRESENT_INVALID | USER | UXN)) == (PRESENT_INVALID | UXN)
// v6.1: (val & (PTE_VALID | PTE_PROT_NONE)) == PTE_PROT_NONE. In the v6.1 era
// PROTNONE_USER and PROTNONE_UXN name the PTE_PROT_NONE bit itself, so they
// fold into it and the test is exactly v6.1's.
const pteLikeProtnone = {
  mask: ['VALID', 'PRESENT_INVALID', 'PROTNONE_USER', 'PROTNONE_UXN'],
  value: ['PRESENT_INVALID', 'PROTNONE_UXN'],
} as const;

// Names of the shared bits (types.ts BitNameRule). Bit 11 is nG in a valid entry
// and PTE_PRESENT_INVALID only with VALID clear (v6.1: bit 58, PTE_PROT_NONE);
// PROTNONE_USER / PROTNONE_UXN are pte_protnone's aliases of USER / UXN, never
// printed; bit 51 is PTE_WRITE (= PTE_DBM). Bit 1 is TABLE in a directory entry
// and, at level 3, the high bit of PTE_TYPE_PAGE (3).
const sharedNames = (bit1: 'TABLE' | 'PAGE'): readonly BitNameRule[] => [
  { name: 'PRESENT_INVALID', when: { clear: ['VALID'] } },
  { name: 'PMD_PRESENT_INVALID', when: { clear: ['VALID'] } },   // (v6.1: bit 59; v6.12: bit 11, named above)
  { name: 'NG' },
  { name: 'USER' },
  { name: 'PROTNONE_USER', when: 'never' },
  { name: 'UXN' },
  { name: 'PROTNONE_UXN', when: 'never' },
  { name: 'WRITE' },
  { name: bit1 },
];

// The helpers every leaf level shares: pmd_* and pud_* are pte_* on
// pmd_pte()/pud_pte(), and hugetlb uses the pte_* helpers at every level.
const leafFlags = {
  // pte_access_permitted_no_overlay: (val & (VALID|USER)) == (VALID|USER); the
  // write half (pte_write) is applied by the machinery. POE overlay not modelled.
  access: { set: ['VALID', 'USER'] },
  write: { set: ['WRITE'] },                      // pte_write: PTE_WRITE (= PTE_DBM, bit 51)
  young: { set: ['AF'] },                         // pte_young: PTE_AF
  // pte_dirty = pte_sw_dirty || pte_hw_dirty = PTE_DIRTY || (PTE_WRITE && !PTE_RDONLY)
  dirty: { or: [{ set: ['DIRTY'] }, { mask: ['WRITE', 'RDONLY'], value: ['WRITE'] }] },
  user: { set: ['USER'] },                        // pte_user: PTE_USER (AP[1])
  invert: 'never',                                // no pfn inversion on arm64
  // user pXd_populate: pXD_TYPE_TABLE | pXD_TABLE_AF | pXD_TABLE_PXN (v6.13 on;
  // before: no AF, see eras)
  tableBits: ['VALID', 'TABLE', 'AF', 'PXN_TABLE'],
  names: sharedNames('TABLE'),
} as const;

// A table (pgd/p4d/pud/pmd) entry, pgalloc.h user variants:
//   pmd_populate: __pmd_populate(pmdp, page_to_phys(ptep), PMD_TYPE_TABLE | PMD_TABLE_AF | PMD_TABLE_PXN)
//   pud_populate: PUD_TYPE_TABLE | PUD_TABLE_AF | PUD_TABLE_PXN (mm != &init_mm)
//   p4d_populate: P4D_TYPE_TABLE | P4D_TABLE_AF | P4D_TABLE_PXN (mm != &init_mm)
// pXD_TABLE_AF is bit 10, "Ignored if no FEAT_HAFT" (pgtable-hwdef.h), set
// whether or not CONFIG_ARM64_HAFT is: efe72541355d "arm64: Add support for
// FEAT_HAFT", in linux-next for v6.13 (the v6.13 tag itself UNVERIFIED: no
// v6.13..v6.17 tree read; v6.12 has no *_TABLE_AF, v7.2 pgalloc.h sets it as
// above), so the v6.15 and v6.17 presets have it. The next-table address is
// __phys_to_pXd_val(pa) = pa (48-bit PA).

// pmd/pud: pXd_leaf(x) = pXd_present(x) && !pXd_table(x), with
// pXd_table(x) = (val & pXD_TYPE_MASK) == pXD_TYPE_TABLE, i.e. VALID and TABLE
// set. The machinery ANDs pXd_present() in, so `leaf` is !pXd_table(): VALID
// clear (a present-invalid block) or TABLE clear (a block, type 1).
const notTable = { or: [{ clear: ['VALID'] }, { clear: ['TABLE'] }] } as const;
const isTable = { set: ['VALID', 'TABLE'] } as const;

// pud at 4K (4k-48 level 1; the folded pud at the top of 4k-39). pud_sect and
// pud_table are real there (neither CONFIG_ARM64_64K_PAGES nor
// CONFIG_PGTABLE_LEVELS < 3), and pud_leaf is real (!__PAGETABLE_PMD_FOLDED).
// (v6.12. v7.2 has no pud_sect; pud_table and pud_leaf read the same.)
const pud4k: LevelKind = {
  ...leafFlags,
  present: pteLikePresent,                        // pud_present = pte_present(pud_pte(pud))
  table: isTable,                                 // pud_table
  leaf: notTable,                                 // pud_leaf = pud_present && !pud_table
  // pud_special() is false (include/linux/mm.h fallback: arm64 selects
  // ARCH_SUPPORTS_HUGE_PFNMAP but not HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD, so no
  // ARCH_SUPPORTS_PUD_PFNMAP) and pud_devmap() returns 0 (pgtable.h); there is
  // no pud_mkdevmap() and pud_mkspecial() is the generic no-op.
  special: 'never',
  devmap: 'never',
  protnone: 'never',                              // no pud_protnone(); gup_fast_pud_range does not test it
  tableAddr: { mask: OA_4K, shift: 12, paShift: 12 },   // pud_page_paddr = __pud_to_phys
  leafAddr: { mask: OA_1G, shift: 30, paShift: 30 },    // pud_pfn: & PUD_MASK
  ops: { mkdevmap: [], mkspecial: [] },          // no pud_mkdevmap(); pud_mkspecial() is a no-op
};

// pmd at 4K.
const pmd4k: LevelKind = {
  ...leafFlags,
  // pmd_present = pte_present(pmd_pte(pmd)) (v6.12). v6.1: pte_present(pmd_pte(pmd))
  // || pmd_present_invalid(pmd) with PMD_PRESENT_INVALID bit 59; in v6.12
  // pmd_mkinvalid() sets PTE_PRESENT_INVALID, the same bit 11.
  present: { any: ['VALID', 'PRESENT_INVALID', 'PMD_PRESENT_INVALID'] },
  table: isTable,                                 // pmd_table
  leaf: notTable,                                 // pmd_leaf = pmd_present && !pmd_table
  // pmd_special = PTE_SPECIAL under CONFIG_ARCH_SUPPORTS_PMD_PFNMAP (arm64 Kconfig:
  // select ARCH_SUPPORTS_HUGE_PFNMAP if TRANSPARENT_HUGEPAGE; v6.12). v6.1 had no
  // pmd_special (false), and nothing in v6.1 set bit 56 in a pmd.
  special: { set: ['SPECIAL'] },
  devmap: { set: ['DEVMAP'] },                    // pmd_devmap = pte_devmap(pmd_pte(pmd))
  protnone: pteLikeProtnone,                      // pmd_protnone = pte_protnone(pmd_pte(pmd))
  tableAddr: { mask: OA_4K, shift: 12, paShift: 12 },   // pmd_page_paddr = __pmd_to_phys
  leafAddr: { mask: OA_2M, shift: 21, paShift: 21 },    // pmd_pfn: & PMD_MASK
  ops: { mkdevmap: [{ set: ['DEVMAP'] }] },       // pmd_mkdevmap: PTE_DEVMAP only
};

// Swap entries, v6.12 arch/arm64/include/asm/pgtable.h ("Encode and decode a swap entry"):
//   bits 0-1 present (must be zero), bit 2 PG_anon_exclusive, bit 3 uffd-wp,
//   bits 6-10 type (__SWP_TYPE_SHIFT 6, __SWP_TYPE_BITS 5), bit 11 PTE_PRESENT_INVALID
//   (must be zero), bits 12-61 offset (__SWP_OFFSET_SHIFT 12, __SWP_OFFSET_BITS 50).
//   __swp_entry(type, offset) = type << 6 | offset << 12; __swp_entry_to_pte is the identity.
// The same in v7.2 (pgtable.h read): assumed unchanged through v6.13..v6.17, which
// were not read. The layout before v6.10 is in `eras` below.
const swap = {
  type: { mask: 0x7c0n, shift: 6 },
  offset: { mask: 0x3fff_ffff_ffff_f000n, shift: 12 },
  set: [],
  clear: ['VALID', 1, 'PRESENT_INVALID'],
  exclusive: 2,          // PTE_SWP_EXCLUSIVE = 1 << 2 (pgtable-prot.h, "only for swp ptes")
  uffdWp: 3,             // PTE_SWP_UFFD_WP = 1 << 3 (CONFIG_HAVE_ARCH_USERFAULTFD_WP)
  cite: 'v6.12 arch/arm64/include/asm/pgtable.h __swp_entry (__SWP_TYPE_SHIFT 6, __SWP_OFFSET_SHIFT 12), pgtable-prot.h',
} as const;

// pte at 4K: every present pte is a page (the type bits are not tested by
// pte_present; valid user ptes carry PTE_TYPE_PAGE = 3).
const pte4k: LevelKind = {
  ...leafFlags,
  present: pteLikePresent,                        // pte_present
  table: 'never',
  leaf: 'always',
  special: { set: ['SPECIAL'] },                  // pte_special: PTE_SPECIAL
  devmap: { set: ['DEVMAP'] },                    // pte_devmap: PTE_DEVMAP
  protnone: pteLikeProtnone,                      // pte_protnone
  tableAddr: { mask: OA_4K, shift: 12, paShift: 12 },   // unused (no next level)
  leafAddr: { mask: OA_4K, shift: 12, paShift: 12 },    // pte_pfn: PTE_ADDR_LOW >> PAGE_SHIFT
  names: sharedNames('PAGE'),  swap,
};

// The top level of 4k-48: pgd entries are the p4d (pgtable-nop4d.h folds the
// p4d into the pgd, so pgd_present() is 1 and the arm64 p4d_* helpers apply).
// p4d_none = !p4d_val, p4d_present = !p4d_none, p4d_bad = (val & P4D_TYPE_MASK)
// != P4D_TYPE_TABLE (v7.2; !(p4d_val & P4D_TABLE_BIT) until v6.14, see eras);
// p4d_leaf is the generic false. Table descriptors carry no user/write/young/
// dirty state: there are no p4d_write()/p4d_young()/... helpers.
const p4d: LevelKind = {
  leafOk: false,
  present: 'always',                              // p4d_present: any non-none (non-zero) entry
  table: { mask: ['VALID', 'TABLE'], value: ['VALID', 'TABLE'] },   // !p4d_bad
  leaf: 'never',
  access: 'never',
  write: 'never',
  special: 'never',
  devmap: 'never',
  protnone: 'never',
  young: 'never',
  dirty: 'never',
  user: 'never',
  invert: 'never',
  tableAddr: { mask: OA_4K, shift: 12, paShift: 12 },   // p4d_page_paddr = __p4d_to_phys
  leafAddr: { mask: OA_4K, shift: 12, paShift: 12 },    // unused (no p4d leaf)
  tableBits: ['VALID', 'TABLE', 'AF', 'PXN_TABLE'],   // p4d_populate: P4D_TYPE_TABLE | P4D_TABLE_AF | P4D_TABLE_PXN
  names: sharedNames('TABLE'),
};

// The top level of 64k-48: the folded pud. With CONFIG_ARM64_64K_PAGES,
// pud_sect() is false and pud_table() is true ("static inline bool
// pud_table(pud_t pud) { return true; }"), so pud_leaf() is always false;
// pud_bad is still (pud_val & PUD_TYPE_MASK) != PUD_TYPE_TABLE (pgtable.h,
// CONFIG_PGTABLE_LEVELS > 2), and walks (pud_none_or_clear_bad) ask it.
const pud64k: LevelKind = {
  ...leafFlags,
  leafOk: false,
  present: pteLikePresent,                        // pud_present = pte_present(pud_pte(pud))
  table: isTable,                                 // !pud_bad: type bits 0b11 (pud_table() itself is true)
  leaf: 'never',                                  // pud_leaf() == false
  special: 'never',                               // pud_special: mm.h fallback
  devmap: 'never',                                // pud_devmap: returns 0
  protnone: 'never',
  tableAddr: { mask: OA_64K, shift: 16, paShift: 16 },  // pud_page_paddr, 64K-aligned pmd tables
  leafAddr: { mask: OA_64K, shift: 16, paShift: 16 },   // unused (no pud leaf)
};

const pmd64k: LevelKind = {
  ...pmd4k,
  tableAddr: { mask: OA_64K, shift: 16, paShift: 16 },
  leafAddr: { mask: OA_512M, shift: 29, paShift: 29 },  // PMD_SHIFT 29: 512 MiB blocks
};

const pte64k: LevelKind = {
  ...pte4k,
  tableAddr: { mask: OA_64K, shift: 16, paShift: 16 },
  leafAddr: { mask: OA_64K, shift: 16, paShift: 16 },
};

// ---------------------------------------------------------------- the MMU's view
// Arm ARM (DDI 0487, K.a numbering; other editions number these chapters D5 or
// D8, UNVERIFIED which) D8.3 "Translation table descriptor formats" (VMSAv8-64):
// bit 0 clear is an invalid descriptor (Translation fault, D8.3.1); at levels
// 0..2 bits[1:0] = 0b11 is a table descriptor and 0b01 a block descriptor where
// the granule supports a block at that level (4KB: level 1, 1GB, and level 2,
// 2MB; 64KB without FEAT_LPA: level 2, 512MB only); elsewhere a block
// descriptor is treated as invalid (Translation fault). At level 3, 0b11 is a
// page descriptor and 0b01 is reserved, treated as invalid. Output addresses
// are 48-bit (no FEAT_LPA / LPA2, as the kernel's description). Not modelled:
// the Access flag fault (AF = 0 without hardware AF management), permission
// faults, and the RES0 bits 15:12 of 64KB descriptors (OA[51:48] with FEAT_LPA).
const tableOrBlockHw = (tableAddr: bigint, tShift: number, block: { mask: bigint; shift: number } | null, cite: string): HwLevelSpec => block
  ? {
    leafOk: true,
    valid: { set: ['VALID'] },
    table: { set: ['TABLE'] },
    leaf: { clear: ['TABLE'] },
    tableAddr: { mask: tableAddr, shift: tShift, paShift: tShift },
    leafAddr: { mask: block.mask, shift: block.shift, paShift: block.shift },
    cite,
  }
  : {
    leafOk: false,
    valid: { set: ['VALID', 'TABLE'] },       // a block here is treated as invalid
    table: 'always',
    leaf: 'never',
    tableAddr: { mask: tableAddr, shift: tShift, paShift: tShift },
    cite,
  };
const pageHw = (oa: bigint, shift: number): HwLevelSpec => ({
  leafOk: true,
  valid: { set: ['VALID', 'PAGE'] },           // 0b01 at level 3 is reserved: invalid
  table: 'never',
  leaf: 'always',
  leafAddr: { mask: oa, shift, paShift: shift },
  cite: 'Arm ARM D8.3.1 (level 3: 0b11 page, 0b01 reserved, treated as invalid)',
});
// D8.2 / D8.8: TTBR0_EL1 translates VA bits 55:VA_BITS all zero; the kernel sets
// TCR_EL1.TBI0 (arch/arm64/mm/proc.S __cpu_setup), so bits 63:56 are the ignored
// top byte (D8.8 "Address tagging"). Bit 55 set selects TTBR1 (a different root);
// any other non-zero bit above VA_BITS is a Translation fault (level 0).
const ttbr0 = (vaBits: number) => ({
  rule: 'zero' as const, lo: vaBits, hi: 55,
  cite: 'Arm ARM D8.2 (VA range of TTBR0_EL1, TCR_EL1.T0SZ), D8.8 (TBI0: bits 63:56 ignored)',
});

const kinds = { p4d, pud4k, pmd4k, pte4k, pud64k, pmd64k, pte64k };

export const arm64: ArchData = {
  arch: 'arm64',
  source: 'v6.12 (6.12.117) arch/arm64/include/asm/pgtable-hwdef.h, pgtable-prot.h, pgtable.h, pgalloc.h, sparsemem.h, ' +
    'arch/arm64/mm/mmap.c; v6.1 (6.1.192) pgtable-prot.h, pgtable.h for the PTE_PROT_NONE era',
  bigEndian: false,        // CPU_LITTLE_ENDIAN is the Kconfig default (CPU_BIG_ENDIAN not modelled)
  defaultVariant: '4k-48',
  bits: {
    VALID: 0,              // PTE_VALID (PMD_SECT_VALID)
    PAGE: 1,               // PTE_TYPE_PAGE = 3: bit 1 set at level 3 is a page (0b01 is reserved)
    TABLE: 1,              // PTE_TABLE_BIT = PMD_TABLE_BIT = PUD_TABLE_BIT = P4D_TABLE_BIT (v6.12;
                           // the names went with "arm64/mm: Drop PXD_TABLE_BIT", v6.15: the same bit,
                           // tested through pXD_TYPE_MASK since); val & 3: 3 = table (pmd/pud/p4d)
                           // or page (pte), 1 = block (pXD_TYPE_SECT)
    USER: 6,               // PTE_USER, AP[1] (PMD_SECT_USER)
    RDONLY: 7,             // PTE_RDONLY, AP[2] (PMD_SECT_RDONLY)
    SH0: 8,                // PTE_SHARED = 3 << 8, SH[1:0] inner shareable
    SH1: 9,
    AF: 10,                // PTE_AF (PMD_SECT_AF)
    NG: 11,                // PTE_NG (PMD_SECT_NG), not-global: the entry belongs to an ASID
    // PTE_PRESENT_INVALID = PTE_NG, meaningful only with PTE_VALID clear (v6.10+).
    // v6.1: the PROT_NONE marker was PTE_PROT_NONE, bit 58 (see eras).
    PRESENT_INVALID: 11,
    // The bit pmd_mkinvalid() sets: PTE_PRESENT_INVALID in v6.12 (pmd_mkinvalid =
    // pte_pmd(pte_mkinvalid(pmd_pte(pmd)))); v6.1: PMD_PRESENT_INVALID, bit 59.
    PMD_PRESENT_INVALID: 11,
    // Aliases used only by pte_protnone's v6.12 test (!pte_user, !pte_user_exec):
    PROTNONE_USER: 6,      // PTE_USER
    PROTNONE_UXN: 54,      // PTE_UXN
    GP: 50,                // PTE_GP (BTI guarded)
    DBM: 51,               // PTE_DBM, Dirty Bit Management
    WRITE: 51,             // PTE_WRITE = PTE_DBM ("same as DBM (51)")
    CONT: 52,              // PTE_CONT (PMD_SECT_CONT)
    PXN: 53,               // PTE_PXN (PMD_SECT_PXN)
    UXN: 54,               // PTE_UXN (PMD_SECT_UXN)
    DIRTY: 55,             // PTE_DIRTY (software)
    SPECIAL: 56,           // PTE_SPECIAL (software)
    DEVMAP: 57,            // PTE_DEVMAP (software), v5.3 to v6.16
    UFFD_WP: 58,           // PTE_UFFD_WP (CONFIG_HAVE_ARCH_USERFAULTFD_WP), v6.10+
    PXN_TABLE: 59,         // PMD_TABLE_PXN = PUD_TABLE_PXN = P4D_TABLE_PXN = PGD_TABLE_PXN
    UXN_TABLE: 60,         // pXD_TABLE_UXN (init_mm tables; not used for user tables)
  },
  // Before v6.10 ("arm64/mm: Enable userfaultfd write-protect" v4, Ryan Roberts,
  // merged into arm64 for-next/core for 6.10 per Will Deacon 2024-05-07; the
  // exact first tag is UNVERIFIED from a v6.10 tree): v6.1 pgtable-prot.h has
  //   #define PTE_PROT_NONE       (_AT(pteval_t, 1) << 58) /* only when !PTE_VALID */
  //   #define PMD_PRESENT_INVALID (_AT(pteval_t, 1) << 59) /* only when !PMD_SECT_VALID */
  // pte_protnone tested only VALID and PTE_PROT_NONE, and there was no uffd-wp.
  eras: [{
    until: 'v6.9',
    bits: { PRESENT_INVALID: 58, PMD_PRESENT_INVALID: 59, PROTNONE_USER: 58, PROTNONE_UXN: 58, UFFD_WP: -1 },
    // v6.1 pgtable.h: bits 0-1 present (zero), bit 2 PG_anon_exclusive, bits 3-7 type
    // (__SWP_TYPE_SHIFT 3), bits 8-57 offset (__SWP_OFFSET_SHIFT = __SWP_TYPE_BITS +
    // __SWP_TYPE_SHIFT = 8, __SWP_OFFSET_BITS 50), bit 58 PTE_PROT_NONE (zero); no uffd-wp.
    // Moved to bits 6-10 / 12-61 by the series that moved PTE_PRESENT_INVALID to bit 11
    // (the same v6.10 boundary as above, UNVERIFIED tag). Its v6.0 form is assumed.
    swap: {
      type: { mask: 0xf8n, shift: 3 },
      offset: { mask: 0x03ff_ffff_ffff_ff00n, shift: 8 },
      set: [],
      clear: ['VALID', 1, 'PRESENT_INVALID'],
      exclusive: 2,
      cite: 'v6.1 arch/arm64/include/asm/pgtable.h __swp_entry (__SWP_TYPE_SHIFT 3, __SWP_OFFSET_SHIFT 8)',
    },
  }, {
    // 6.1.y has no pmd_special nor pmd_mkspecial (mm/memory.c: "There is no
    // pmd_special()"): they came with ARCH_SUPPORTS_HUGE_PFNMAP (v6.12)
    until: 'v6.1', bits: {},
    kinds: Object.fromEntries(['pmd4k', 'pmd64k'].map((k) => [k, { special: 'never', ops: { mkspecial: [] } }])),
  }, {
    // no pXD_TABLE_AF before FEAT_HAFT support (v6.13, see the table entries above):
    // v6.12 and 6.1.y pXd_populate write pXD_TYPE_TABLE | pXD_TABLE_PXN
    until: 'v6.12', bits: {},
    kinds: Object.fromEntries(Object.entries(kinds).filter(([, d]) => d.tableBits.includes('AF'))
      .map(([k, d]) => [k, { tableBits: d.tableBits.filter((b) => b !== 'AF') }])),
  }, {
    // p4d_bad (and pgd_bad) tested PXD_TABLE_BIT alone, `!(p4d_val(p4d) & 2)`, until
    // 4fa8a9c0fc99 "arm64/mm: Check PXD_TYPE_TABLE in [p4d|pgd]_bad()" (Anshuman
    // Khandual's "Drop PXD_TABLE_BIT" series, merged into arm64 for-next/core on
    // 2025-03-12 for the 6.15 merge window; v6.15 tag UNVERIFIED: no v6.15 tree read)
    until: 'v6.14', bits: {},
    kinds: { p4d: { table: { set: ['TABLE'] } } },
  }, {
    // PTE_ADDR_LOW before the LPA2 rework: address bits up to 47 (see OA_4K)
    until: 'v6.8', bits: {},
    kinds: Object.fromEntries(Object.entries(kinds).map(([k, d]) => [k, {
      tableAddr: { ...d.tableAddr, mask: pa48(d.tableAddr.mask) },
      leafAddr: { ...d.leafAddr, mask: pa48(d.leafAddr.mask) },
    }])),
  }],
  history: {
    // `select ARCH_HAS_PTE_SPECIAL` (arch/arm64/Kconfig) since the symbol was
    // introduced in v4.18 (3010a5ea665a "mm: introduce ARCH_HAS_PTE_SPECIAL").
    // arm64 had __HAVE_ARCH_PTE_SPECIAL before that, so by this field's
    // definition (types.ts: a working pte_special()) the start is earlier; its
    // first version is UNVERIFIED here, and v4.18 is only a safe bound. No
    // preset (v6.1 and later) depends on it.
    special: { from: 'v4.18' },
    // 73b20c84d42d "arm64: mm: implement pte_devmap support" (absent in v5.2;
    // v5.3 UNVERIFIED from a v5.3 tree); removed for v6.17 ("mm: remove devmap
    // related functions and page table bits").
    devmap: { from: 'v5.3', until: 'v6.16' },
    // `select HAVE_ARCH_USERFAULTFD_WP if USERFAULTFD` (v6.12 arch/arm64/Kconfig; not
    // in v6.1): the uffd-wp series of v6.10 (tag UNVERIFIED, as for UFFD_WP above)
    uffdWp: { from: 'v6.10' },
    thpPud: null,      // no HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD in 6.1.y or v6.12 arch/arm64/Kconfig
    // `select ARCH_SUPPORTS_HUGE_PFNMAP if TRANSPARENT_HUGEPAGE` (v6.12 arch/arm64/Kconfig;
    // mm/Kconfig has no such option in 6.1.y)
    hugePfnmap: { from: 'v6.12' },
    // neither ARCH_WANT_OPTIMIZE_DAX_VMEMMAP (v6.12) nor ARCH_WANT_HUGETLB_PAGE_OPTIMIZE_VMEMMAP
    // (6.1.y, what its vmemmap_can_optimize reads) in arch/arm64/Kconfig
    daxVmemmapOpt: null,
    // `select ARCH_SUPPORTS_MEMORY_FAILURE` (arch/arm64/Kconfig) in v6.12 and v7.2: in
    // every preset (the first release is older and not read; v6.0 is the bound pgtemu needs)
    memoryFailure: { from: 'v6.0' },
  },
  kinds,
  ops: {
    // pte_mkwrite_novma (6.12.117; pte_mkwrite in 6.1.192): set PTE_WRITE;
    // if (pte_sw_dirty(pte)) clear PTE_RDONLY.
    // The condition is 143937ca51cc "arm64, mm: avoid always making PTE dirty in
    // pte_mkwrite()", a later upstream commit backported to the stable series these
    // sources come from. v5.2 and a v6.17-rc4 tree clear PTE_RDONLY unconditionally,
    // so the upstream v6.1..v6.17 tags most likely do too (UNVERIFIED from those
    // tags). Ops cannot vary by era; no template depends on the difference, since
    // the writable templates apply pte_mkdirty first.
    mkwrite: [{ set: ['WRITE'] }, { if: { set: ['DIRTY'] }, clear: ['RDONLY'] }],
    // pte_wrprotect: if (pte_hw_dirty(pte)) set PTE_DIRTY; clear PTE_WRITE; set PTE_RDONLY
    wrprotect: [
      { if: { mask: ['WRITE', 'RDONLY'], value: ['WRITE'] }, set: ['DIRTY'] },
      { clear: ['WRITE'], set: ['RDONLY'] },
    ],
    // pte_mkdirty: set PTE_DIRTY; if (pte_write(pte)) clear PTE_RDONLY
    mkdirty: [{ set: ['DIRTY'] }, { if: { set: ['WRITE'] }, clear: ['RDONLY'] }],
    // pte_mkclean: clear PTE_DIRTY; set PTE_RDONLY
    mkclean: [{ clear: ['DIRTY'], set: ['RDONLY'] }],
    mkyoung: [{ set: ['AF'] }],                   // pte_mkyoung
    mkold: [{ clear: ['AF'] }],                   // pte_mkold
    mkspecial: [{ set: ['SPECIAL'] }],            // pte_mkspecial (pmd_mkspecial: the same bit)
    mkdevmap: [{ set: ['DEVMAP', 'SPECIAL'] }],   // pte_mkdevmap: PTE_DEVMAP | PTE_SPECIAL
    // pmd_mkhuge / pud_mkhuge (and pte_mkhuge for hugetlb): val & ~PMD_TABLE_BIT,
    // turning type 3 into a block (type 1). From v6.15 ("Clear PXX_TYPE_MASK and set
    // PXD_TYPE_SECT in [pmd|pud]_mkhuge()") they clear PMD_TYPE_MASK but VALID and set
    // PMD_TYPE_SECT but VALID, keeping a present-invalid entry so: the same as clearing
    // bit 1. v7.2 has no arm64 pte_mkhuge: arch_make_huge_pte (arch/arm64/mm/hugetlbpage.c)
    // applies pmd_mkhuge / pud_mkhuge by the huge page's size.
    mkhuge: [{ clear: ['TABLE'] }],
  },
  // vm_get_page_prot starts from protection_map[] (arch/arm64/mm/mmap.c):
  // [VM_NONE] = PAGE_NONE, [VM_READ] = PAGE_READONLY, [VM_WRITE|VM_READ] = PAGE_READONLY
  // (private writable: copy-on-write, so PAGE_COPY is PAGE_READONLY),
  // [VM_SHARED|VM_WRITE|VM_READ] = PAGE_SHARED. _PAGE_DEFAULT = PTE_TYPE_PAGE | PTE_AF |
  // PTE_SHARED | PTE_ATTRINDX(MT_NORMAL), MT_NORMAL = 0.
  prot: {
    // PAGE_NONE = (_PAGE_DEFAULT & ~PTE_VALID) | PTE_PRESENT_INVALID | PTE_RDONLY | PTE_NG | PTE_PXN | PTE_UXN
    // (v6.1: PTE_PROT_NONE for PTE_PRESENT_INVALID; the era supplies the bit)
    none: ['TABLE', 'SH0', 'SH1', 'AF', 'PRESENT_INVALID', 'RDONLY', 'NG', 'PXN', 'UXN'],
    // _PAGE_READONLY = _PAGE_DEFAULT | PTE_USER | PTE_RDONLY | PTE_NG | PTE_PXN | PTE_UXN
    readonly: ['VALID', 'TABLE', 'SH0', 'SH1', 'AF', 'USER', 'RDONLY', 'NG', 'PXN', 'UXN'],
    copy: ['VALID', 'TABLE', 'SH0', 'SH1', 'AF', 'USER', 'RDONLY', 'NG', 'PXN', 'UXN'],
    // _PAGE_SHARED = _PAGE_READONLY | PTE_WRITE ("shared+writable pages are clean by
    // default, hence PTE_RDONLY|PTE_WRITE")
    shared: ['VALID', 'TABLE', 'SH0', 'SH1', 'AF', 'USER', 'RDONLY', 'NG', 'PXN', 'UXN', 'WRITE'],
  },
  // Geometry: ARM64_HW_PGTABLE_LEVEL_SHIFT(n) = (PAGE_SHIFT - 3) * (4 - n) + 3,
  // PTRS_PER_PGD = 1 << (VA_BITS - PGDIR_SHIFT) (pgtable-hwdef.h); levels from
  // arch/arm64/Kconfig PGTABLE_LEVELS. User VA: TASK_SIZE_64 = 1 << vabits_actual
  // (processor.h) = 1 << VA_BITS for these configurations. SECTION_SIZE_BITS and
  // MAX_PHYSMEM_BITS = PHYS_MASK_SHIFT = CONFIG_ARM64_PA_BITS = 48 (sparsemem.h,
  // pgtable-prot.h without CONFIG_ARM64_LPA2).
  variants: {
    '4k-39': {
      description: '4K pages, 39-bit VA, 3 levels (pud folded into the pgd: 1 GiB blocks at the top level)',
      pageShift: 12,
      vaBits: 39,
      userVaBits: 39,
      sectionSizeBits: 27,
      maxPhysBits: 48,
      levels: [
        { name: 'pgd', kind: 'pud4k', shift: 30, indexBits: 9 },   // PGDIR_SHIFT = LEVEL_SHIFT(1) = 30
        { name: 'pmd', kind: 'pmd4k', shift: 21, indexBits: 9 },
        { name: 'pte', kind: 'pte4k', shift: 12, indexBits: 9 },
      ],
      hardware: {
        levels: [
          tableOrBlockHw(pa48(OA_4K), 12, { mask: pa48(OA_1G), shift: 30 }, 'Arm ARM D8.3.1 (4KB granule, level 1: 1GB block)'),
          tableOrBlockHw(pa48(OA_4K), 12, { mask: pa48(OA_2M), shift: 21 }, 'Arm ARM D8.3.1 (4KB granule, level 2: 2MB block)'),
          pageHw(pa48(OA_4K), 12),
        ],
        va: ttbr0(39),
      },
    },
    '4k-48': {
      description: '4K pages, 48-bit VA, 4 levels (p4d folded into the pgd)',
      pageShift: 12,
      vaBits: 48,
      userVaBits: 48,
      sectionSizeBits: 27,
      maxPhysBits: 48,
      levels: [
        { name: 'pgd', kind: 'p4d', shift: 39, indexBits: 9 },     // PGDIR_SHIFT = LEVEL_SHIFT(0) = 39
        { name: 'pud', kind: 'pud4k', shift: 30, indexBits: 9 },
        { name: 'pmd', kind: 'pmd4k', shift: 21, indexBits: 9 },
        { name: 'pte', kind: 'pte4k', shift: 12, indexBits: 9 },
      ],
      hardware: {
        levels: [
          tableOrBlockHw(pa48(OA_4K), 12, null, 'Arm ARM D8.3.1 (4KB granule, level 0: no block without DS = 1; a block is invalid)'),
          tableOrBlockHw(pa48(OA_4K), 12, { mask: pa48(OA_1G), shift: 30 }, 'Arm ARM D8.3.1 (4KB granule, level 1: 1GB block)'),
          tableOrBlockHw(pa48(OA_4K), 12, { mask: pa48(OA_2M), shift: 21 }, 'Arm ARM D8.3.1 (4KB granule, level 2: 2MB block)'),
          pageHw(pa48(OA_4K), 12),
        ],
        va: ttbr0(48),
      },
    },
    '64k-48': {
      description: '64K pages, 48-bit VA, 3 levels (64-entry pgd = folded pud, no pud leaf; 512 MiB pmd blocks)',
      pageShift: 16,
      vaBits: 48,
      userVaBits: 48,
      sectionSizeBits: 29,
      maxPhysBits: 48,
      levels: [
        { name: 'pgd', kind: 'pud64k', shift: 42, indexBits: 6 },  // PGDIR_SHIFT = LEVEL_SHIFT(1) = 42, PTRS_PER_PGD 64
        { name: 'pmd', kind: 'pmd64k', shift: 29, indexBits: 13 },
        { name: 'pte', kind: 'pte64k', shift: 16, indexBits: 13 },
      ],
      hardware: {
        levels: [
          tableOrBlockHw(pa48(OA_64K), 16, null, 'Arm ARM D8.3.1 (64KB granule, level 1: a block needs FEAT_LPA; invalid)'),
          tableOrBlockHw(pa48(OA_64K), 16, { mask: pa48(OA_512M), shift: 29 }, 'Arm ARM D8.3.1 (64KB granule, level 2: 512MB block)'),
          pageHw(pa48(OA_64K), 16),
        ],
        va: ttbr0(48),
      },
    },
  },
};
