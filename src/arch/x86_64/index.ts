// x86_64: 4-level (48-bit) and 5-level LA57 (57-bit) paging.
// v6.12 arch/x86/include/asm/pgtable_types.h, pgtable.h, pgtable-invert.h,
// pgtable_64_types.h, sparsemem.h. Data only.
import type { ArchData, HardwareSpec, HwLevelSpec, LevelKind } from '../types.js';

// __PHYSICAL_MASK_SHIFT 52: PTE_PFN_MASK = bits 12..51
const PFN_4K = 0x000f_ffff_ffff_f000n;
const PFN_2M = 0x000f_ffff_ffe0_0000n;   // PHYSICAL_PMD_PAGE_MASK
const PFN_1G = 0x000f_ffff_c000_0000n;   // PHYSICAL_PUD_PAGE_MASK

// The flag bits every level shares.
const common = {
  access: { set: ['PRESENT', 'USER'] },            // __pte_access_permitted (pkeys not modelled)
  write: { set: ['RW'] },                          // pte_write (no shadow stack: X86_FEATURE_SHSTK off)
  special: { set: ['SPECIAL'] },
  devmap: { set: ['DEVMAP'] },
  young: { set: ['ACCESSED'] },
  dirty: { or: [{ set: ['DIRTY'] }, { set: ['SAVED_DIRTY'] }] },   // _PAGE_DIRTY_BITS
  user: { set: ['USER'] },
  // pgtable-invert.h: __pte_needs_invert(val) = val && !(val & _PAGE_PRESENT)
  invert: { clear: ['PRESENT'] },
  tableAddr: { mask: PFN_4K, shift: 12, paShift: 12 },
  tableBits: ['PRESENT', 'RW', 'USER', 'ACCESSED', 'DIRTY'],   // _PAGE_TABLE = 0x67
} as const;

// Bit 8 is _PAGE_GLOBAL in a present entry, _PAGE_PROTNONE with PRESENT clear.
const globalOrProtnone = [{ name: 'PROTNONE', when: { clear: ['PRESENT'] } }, { name: 'GLOBAL' }] as const;

// The bit numbers (v6.12 pgtable_types.h; `eras` has the older ones).
const BITS: Readonly<Record<string, number>> = {
  PRESENT: 0,       // _PAGE_BIT_PRESENT
  RW: 1,            // _PAGE_BIT_RW
  USER: 2,          // _PAGE_BIT_USER
  PWT: 3,           // _PAGE_BIT_PWT
  PCD: 4,           // _PAGE_BIT_PCD
  ACCESSED: 5,      // _PAGE_BIT_ACCESSED
  DIRTY: 6,         // _PAGE_BIT_DIRTY
  PSE: 7,           // _PAGE_BIT_PSE (leaf marker at pmd/pud)
  PAT: 7,           // _PAGE_BIT_PAT (the same bit in a 4K pte)
  GLOBAL: 8,        // _PAGE_BIT_GLOBAL
  PROTNONE: 8,      // _PAGE_BIT_PROTNONE = _PAGE_BIT_GLOBAL, meaningful with PRESENT clear
  SPECIAL: 9,       // _PAGE_BIT_SPECIAL = _PAGE_BIT_SOFTW1
  UFFD_WP: 10,      // _PAGE_BIT_SOFTW2
  SOFT_DIRTY: 11,   // _PAGE_BIT_SOFTW3
  PAT_LARGE: 12,    // _PAGE_BIT_PAT_LARGE (PAT on a pmd/pud leaf)
  DEVMAP: 57,       // _PAGE_BIT_DEVMAP = _PAGE_BIT_SOFTW4 (57 since the shadow-stack series, v6.6)
  SAVED_DIRTY: 58,  // _PAGE_BIT_SOFTW5
  PKEY_BIT0: 59,    // _PAGE_BIT_PKEY_BIT0 (protection key, with CR4.PKE; pkeys not modelled)
  PKEY_BIT1: 60,    // _PAGE_BIT_PKEY_BIT1
  PKEY_BIT2: 61,    // _PAGE_BIT_PKEY_BIT2
  PKEY_BIT3: 62,    // _PAGE_BIT_PKEY_BIT3
  NX: 63,           // _PAGE_BIT_NX
};

// pte_none, pmd_none, pud_none, p4d_none ignore _PAGE_KNL_ERRATUM_MASK = _PAGE_DIRTY |
// _PAGE_ACCESSED (pgtable_types.h; Knights Landing may set them in a non-present
// entry); pgd_none (la57 only) compares the whole value.
const KNL_NONE_MASK = ~((1n << BigInt(BITS.DIRTY)) | (1n << BigInt(BITS.ACCESSED))) & 0xffff_ffff_ffff_ffffn;

// pXd_bad reads pXd_flags: every bit outside PTE_PFN_MASK of a table entry.
const FLAG_BITS = Array.from({ length: 64 }, (_, i) => i).filter((b) => ((PFN_4K >> BigInt(b)) & 1n) === 0n);
const flagsBut = (keep: string[]): number[] => FLAG_BITS.filter((b) => !keep.some((k) => BITS[k] === b));
// _KERNPG_TABLE = __PP|__RW|___A|___D (no SME _ENC); CONFIG_MITIGATION_PAGE_TABLE_ISOLATION
// as distributions build it (p4d_bad and pgd_bad then also ignore _PAGE_NX).
// !p4d_bad: no flag outside _KERNPG_TABLE | _PAGE_USER (| _PAGE_NX)
const p4dTable = { clear: flagsBut(['PRESENT', 'RW', 'USER', 'ACCESSED', 'DIRTY', 'NX']) };

// pgd/p4d: directories only (p4d_leaf is always false)
const dir: LevelKind = {
  ...common,
  leafOk: false,
  present: { set: ['PRESENT'] },
  table: 'always',
  leaf: 'never',
  protnone: 'never',
  leafAddr: { mask: PFN_4K, shift: 12, paShift: 12 },
  names: [...globalOrProtnone, { name: 'PSE' }],
};

// ---------------------------------------------------------------- the MMU's view
// Intel SDM vol. 3A §4.5 (4-level and 5-level paging), §4.5.4 and its tables
// "Format of a PML5 Entry" .. "Format of a Page-Table Entry that Maps a 4-KByte
// Page" (cited by title: their numbers move between SDM revisions), §4.7
// (page-fault error code: P, RSVD). Not modelled: the reserved bits
// from MAXPHYADDR to 51 (CPU-specific; pgtemu takes MAXPHYADDR = 52, the kernel's
// __PHYSICAL_MASK_SHIFT), NX with IA32_EFER.NXE = 0 (Linux sets NXE), protection keys
// (CR4.PKE: bits 59..62 are a key, not an address), and 1-GByte pages being optional
// (CPUID.80000001H:EDX.Page1GB; assumed present).
const bitRange = (lo: number, hi: number): number[] => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
const hwX86 = (levels: number): HardwareSpec => {
  // §4.5.4, formats of a PML5E / PML4E: a PML5E/PML4E must have bit 7 (PS) clear; set, it is a
  // reserved-bit violation (#PF with RSVD = 1): neither table nor leaf.
  const dirHw: HwLevelSpec = {
    leafOk: false,
    valid: { set: ['PRESENT'] },            // bit 0 P = 0: not present, whatever the other bits hold
    table: { clear: ['PSE'] },
    leaf: 'never',
    tableAddr: { mask: PFN_4K, shift: 12, paShift: 12 },
    cite: 'Intel SDM vol. 3A §4.5.4, format of a PML5E / PML4E (bit 7, PS, reserved: #PF RSVD)',
  };
  // Format of a PDPTE that maps a 1-GByte page: PS = 1 maps a 1-GByte page; bit 12 is PAT, bits 29:13 reserved.
  const pdpte: HwLevelSpec = {
    leafOk: true,
    valid: { set: ['PRESENT'] },
    table: { clear: ['PSE'] },
    leaf: { mask: ['PSE', ...bitRange(13, 29)], value: ['PSE'] },
    tableAddr: { mask: PFN_4K, shift: 12, paShift: 12 },
    leafAddr: { mask: PFN_1G, shift: 30, paShift: 30 },
    cite: 'Intel SDM vol. 3A §4.5.4, format of a PDPTE (PS = 1 maps 1 GByte; bit 12 PAT, bits 29:13 reserved)',
  };
  // Format of a PDE that maps a 2-MByte page: PS = 1 maps a 2-MByte page; bit 12 is PAT, bits 20:13 reserved.
  const pde: HwLevelSpec = {
    leafOk: true,
    valid: { set: ['PRESENT'] },
    table: { clear: ['PSE'] },
    leaf: { mask: ['PSE', ...bitRange(13, 20)], value: ['PSE'] },
    tableAddr: { mask: PFN_4K, shift: 12, paShift: 12 },
    leafAddr: { mask: PFN_2M, shift: 21, paShift: 21 },
    cite: 'Intel SDM vol. 3A §4.5.4, format of a PDE (PS = 1 maps 2 MBytes; bit 12 PAT, bits 20:13 reserved)',
  };
  // Format of a PTE that maps a 4-KByte page: bit 7 is PAT.
  const pte: HwLevelSpec = {
    leafOk: true,
    valid: { set: ['PRESENT'] },
    table: 'never',
    leaf: 'always',
    leafAddr: { mask: PFN_4K, shift: 12, paShift: 12 },
    cite: 'Intel SDM vol. 3A §4.5.4, format of a PTE (P = 0: not present; bit 7 is PAT)',
  };
  return {
    levels: [...Array(levels - 3).fill(dirHw), pdpte, pde, pte],
    // vol. 1 §3.3.7.1 "Canonical Addressing", vol. 3A §4.5: a linear address is canonical when bits 63:N-1 (N = 48, or 57
    // with LA57) all equal bit N-1; otherwise #GP. Both halves index the same PML4/PML5.
    va: { rule: 'sign-extend', lo: levels === 5 ? 56 : 47, hi: 63, cite: 'Intel SDM vol. 1 §3.3.7.1 (canonical addressing), vol. 3A §4.5' },
  };
};

// Swap entries, v6.12 arch/x86/include/asm/pgtable_64.h ("Encode and de-code a
// swap entry"; the same text in v6.1):
//   SWP_TYPE_BITS 5, __swp_type(x) = x >> (64 - SWP_TYPE_BITS): type in bits 59..63.
//   SWP_OFFSET_FIRST_BIT = _PAGE_BIT_PROTNONE + 1 = 9, SWP_OFFSET_SHIFT = 9 + 5 = 14:
//   __swp_entry stores (~offset << 14) >> 5, the offset's complement in bits 9..58
//   (50 bits), so that the high physical bits of a non-present entry are set (L1TF;
//   pgtable-invert.h inverts a pfn the same way). __swp_entry_to_pte is the identity.
//   Clear: P (bit 0); bit 7, as pmd_present also tests PSE; G (8), PROTNONE when P is
//   clear; A and D (5, 6) are kept zero for an erratum that sets them on non-present entries.
// The same in v7.2 (pgtable_64.h read): assumed unchanged through v6.13..v6.17,
// which were not read.
const swap = {
  type: { mask: 0xf800_0000_0000_0000n, shift: 59 },
  offset: { mask: 0x07ff_ffff_ffff_fe00n, shift: 9, inverted: true },
  set: [],
  clear: ['PRESENT', 'PSE', 'PROTNONE', 'ACCESSED', 'DIRTY'],
  exclusive: 'PWT',      // _PAGE_SWP_EXCLUSIVE = _PAGE_PWT (pgtable_64_types.h), bit 3
  uffdWp: 'USER',        // _PAGE_SWP_UFFD_WP = _PAGE_USER (CONFIG_HAVE_ARCH_USERFAULTFD_WP), bit 2
  softDirty: 'RW',       // _PAGE_SWP_SOFT_DIRTY = _PAGE_RW (CONFIG_MEM_SOFT_DIRTY), bit 1
  cite: 'v6.12 arch/x86/include/asm/pgtable_64.h __swp_entry, __swp_type, __swp_offset (SWP_TYPE_BITS, SWP_OFFSET_FIRST_BIT)',
} as const;

export const x86_64: ArchData = {
  arch: 'x86_64',
  source: 'v6.12 arch/x86/include/asm/pgtable_types.h, pgtable.h, pgtable-invert.h, pgtable_64_types.h',
  bigEndian: false,
  defaultVariant: '4level',
  bits: BITS,
  // Before v6.6 SOFTW4 was bit 58 (v6.1 pgtable_types.h) and there was no SAVED_DIRTY.
  eras: [
    {
      // before the shadow-stack series (v6.6): no SavedDirty, and the ops touch only their bits
      until: 'v6.5', bits: { DEVMAP: 58, SAVED_DIRTY: -1 },
      ops: {
        mkwrite: [{ set: ['RW'] }],                    // pte_mkwrite
        wrprotect: [{ clear: ['RW'] }],                // pte_wrprotect
        mkdirty: [{ set: ['DIRTY', 'SOFT_DIRTY'] }],   // pte_mkdirty
      },
    },
    // 6.1.y has no pmd_special/pud_special nor pXd_mkspecial (mm/memory.c: "There is
    // no pmd_special()"): they came with ARCH_SUPPORTS_HUGE_PFNMAP (history.hugePfnmap, v6.12)
    {
      until: 'v6.1', bits: {},
      kinds: {
        pud: { special: 'never', ops: { mkspecial: [] } },
        pmd: { special: 'never', ops: { mkspecial: [] } },
      },
    },
  ],
  history: {
    // __HAVE_ARCH_PTE_SPECIAL (ARCH_HAS_PTE_SPECIAL since v4.18): _PAGE_SPECIAL came
    // with the lockless get_user_pages_fast series (2.6.27 or 2.6.29: UNVERIFIED here)
    special: { from: 'v2.6.29' },
    // _PAGE_DEVMAP / ARCH_HAS_PTE_DEVMAP from v4.5 (UNVERIFIED here), removed for v6.17
    // ("mm: remove devmap related functions and page table bits"; v6.17 pgtable_types.h has no _PAGE_DEVMAP)
    devmap: { from: 'v4.5', until: 'v6.16' },
    // `select HAVE_ARCH_USERFAULTFD_WP if X86_64 && USERFAULTFD` (v6.1 and v6.12
    // arch/x86/Kconfig); since the uffd-wp series of v5.7 (UNVERIFIED from a v5.7 tree)
    uffdWp: { from: 'v5.7' },
    // `select HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD if X86_64` (6.1.y and v6.12
    // arch/x86/Kconfig); since PUD-sized THP for DAX in v4.11 (UNVERIFIED from a v4.11 tree)
    thpPud: { from: 'v4.11' },
    // `select ARCH_SUPPORTS_HUGE_PFNMAP if TRANSPARENT_HUGEPAGE` (v6.12 arch/x86/Kconfig;
    // mm/Kconfig has no such option in 6.1.y)
    hugePfnmap: { from: 'v6.12' },
    // v6.12 `select ARCH_WANT_OPTIMIZE_DAX_VMEMMAP if X86_64`; 6.1.y's
    // vmemmap_can_optimize reads `select ARCH_WANT_HUGETLB_PAGE_OPTIMIZE_VMEMMAP if X86_64`
    // (include/linux/mm.h). DAX vmemmap reuse came with compound devmaps in v5.17 (UNVERIFIED tag).
    daxVmemmapOpt: { from: 'v5.17' },
    // `select ARCH_SUPPORTS_MEMORY_FAILURE` (config X86_MCE, arch/x86/Kconfig) in v6.12 and v7.2: in
    // every preset (the first release is older and not read; v6.0 is the bound pgtemu needs)
    memoryFailure: { from: 'v6.0' },
  },
  kinds: {
    // la57's pgd: pgd_none compares the whole value; !pgd_bad: the flags less
    // _PAGE_USER (and _PAGE_NX) are exactly _KERNPG_TABLE. A real pgd: gup-fast
    // asks pgd_none only (gup_fast_pgd_range), not pgd_present.
    pgd: { ...dir, table: { mask: flagsBut(['USER', 'NX']), value: ['PRESENT', 'RW', 'ACCESSED', 'DIRTY'] }, gupFastNoneOnly: true },
    // p4d_none, !p4d_bad (4-level: the top level itself, the p4d folded into it at run time)
    p4d: { ...dir, noneMask: KNL_NONE_MASK, table: p4dTable },
    pud: {
      ...common,
      noneMask: KNL_NONE_MASK,                      // pud_none
      present: { set: ['PRESENT'] },                       // pud_present
      // !pud_bad: no flag outside _KERNPG_TABLE | _PAGE_USER (PSE among them)
      table: { clear: flagsBut(['PRESENT', 'RW', 'USER', 'ACCESSED', 'DIRTY']) },
      leaf: { set: ['PSE'] },                              // pud_leaf
      protnone: 'never',
      leafAddr: { mask: PFN_1G, shift: 30, paShift: 30 },
      ops: { mkdevmap: [{ set: ['DEVMAP'] }] },           // pud_mkdevmap: DEVMAP only
      names: [...globalOrProtnone, { name: 'PSE' }],
    },
    pmd: {
      ...common,
      noneMask: KNL_NONE_MASK,                      // pmd_none
      // pmd_present: PRESENT, PROTNONE or PSE (a THP split clears PRESENT for a moment)
      present: { any: ['PRESENT', 'PROTNONE', 'PSE'] },
      // !pmd_bad: the flags less _PAGE_USER and _PAGE_ACCESSED are exactly
      // _KERNPG_TABLE & ~_PAGE_ACCESSED (PRESENT, RW, DIRTY)
      table: { mask: flagsBut(['USER', 'ACCESSED']), value: ['PRESENT', 'RW', 'DIRTY'] },
      leaf: { set: ['PSE'] },                              // pmd_leaf
      protnone: { mask: ['PRESENT', 'PROTNONE'], value: ['PROTNONE'] },
      leafAddr: { mask: PFN_2M, shift: 21, paShift: 21 },
      ops: { mkdevmap: [{ set: ['DEVMAP'] }] },           // pmd_mkdevmap: DEVMAP only
      names: [...globalOrProtnone, { name: 'PSE' }],
    },
    pte: {
      ...common,
      noneMask: KNL_NONE_MASK,                      // pte_none
      present: { any: ['PRESENT', 'PROTNONE'] },                         // pte_present
      table: 'never',
      leaf: 'always',
      protnone: { mask: ['PRESENT', 'PROTNONE'], value: ['PROTNONE'] },  // pte_protnone
      leafAddr: { mask: PFN_4K, shift: 12, paShift: 12 },
      names: [...globalOrProtnone, { name: 'PAT' }],     // bit 7 of a 4K pte is _PAGE_BIT_PAT
      swap,
    },
  },
  ops: {
    // pte_mkwrite(pte, vma) as the fault paths call it (arch/x86/mm/pgtable.c; not a
    // shadow-stack VMA): pte_mkwrite_novma, then pte_clear_saveddirty (SavedDirty back
    // to Dirty now that Write is set). pmd_mkwrite and pud_mkwrite are the same.
    mkwrite: [{ set: ['RW'] }, { if: { set: ['SAVED_DIRTY'] }, set: ['DIRTY'] }, { clear: ['SAVED_DIRTY'] }],
    // pte_wrprotect: clear RW, then pte_mksaveddirty (mksaveddirty_shift, unconditional:
    // Write=0 moves Dirty to SavedDirty, so no Write=0,Dirty=1 shadow-stack pattern is made)
    wrprotect: [{ clear: ['RW'] }, { if: { set: ['DIRTY'] }, set: ['SAVED_DIRTY'] }, { clear: ['DIRTY'] }],
    // pte_mkdirty: set Dirty and SoftDirty, then pte_mksaveddirty (Write=0: to SavedDirty)
    mkdirty: [{ set: ['DIRTY', 'SOFT_DIRTY'] }, { if: { clear: ['RW'] }, set: ['SAVED_DIRTY'] }, { if: { clear: ['RW'] }, clear: ['DIRTY'] }],
    mkclean: [{ clear: ['DIRTY', 'SAVED_DIRTY'] }],    // pte_mkclean: _PAGE_DIRTY_BITS
    mkyoung: [{ set: ['ACCESSED'] }],
    mkold: [{ clear: ['ACCESSED'] }],
    mkspecial: [{ set: ['SPECIAL'] }],
    mkdevmap: [{ set: ['SPECIAL', 'DEVMAP'] }],        // pte_mkdevmap sets both
    mkhuge: [{ set: ['PSE'] }],                        // pmd_mkhuge / pud_mkhuge
  },
  prot: {
    none: ['ACCESSED', 'PROTNONE'],                    // PAGE_NONE = ___A | ___G
    readonly: ['PRESENT', 'USER', 'ACCESSED', 'NX'],   // PAGE_READONLY
    copy: ['PRESENT', 'USER', 'ACCESSED', 'NX'],       // PAGE_COPY
    shared: ['PRESENT', 'RW', 'USER', 'ACCESSED', 'NX'],   // PAGE_SHARED
  },
  variants: {
    '4level': {
      description: '4-level paging, 48-bit VA, p4d folded',
      pageShift: 12,
      vaBits: 48,
      userVaBits: 47,                 // TASK_SIZE_MAX = 1 << 47 (minus a guard page)
      sectionSizeBits: 27,            // sparsemem.h
      maxPhysBits: 46,                // MAX_PHYSMEM_BITS without LA57
      levels: [
        // pgtable_64_types.h: PGDIR_SHIFT 39 (pgdir_shift without LA57), PUD_SHIFT 30,
        // PMD_SHIFT 21, PAGE_SHIFT 12; PTRS_PER_* 512
        // (p4d folded at run time: the top level's entries are read with the p4d_* helpers)
        { name: 'pgd', kind: 'p4d', shift: 39, indexBits: 9 },
        { name: 'pud', kind: 'pud', shift: 30, indexBits: 9 },
        { name: 'pmd', kind: 'pmd', shift: 21, indexBits: 9 },
        { name: 'pte', kind: 'pte', shift: 12, indexBits: 9 },
      ],
      hardware: hwX86(4),
    },
    la57: {
      description: '5-level paging (LA57), 57-bit VA',
      pageShift: 12,
      vaBits: 57,
      userVaBits: 56,                 // __VIRTUAL_MASK_SHIFT 56 (TASK_SIZE_MAX = 1 << 56 minus a guard page)
      sectionSizeBits: 27,            // sparsemem.h
      maxPhysBits: 52,                // MAX_PHYSMEM_BITS with LA57
      levels: [
        // pgdir_shift = 48 and P4D_SHIFT 39 with LA57 (head64.c, pgtable_64_types.h)
        { name: 'pgd', kind: 'pgd', shift: 48, indexBits: 9 },
        { name: 'p4d', kind: 'p4d', shift: 39, indexBits: 9 },
        { name: 'pud', kind: 'pud', shift: 30, indexBits: 9 },
        { name: 'pmd', kind: 'pmd', shift: 21, indexBits: 9 },
        { name: 'pte', kind: 'pte', shift: 12, indexBits: 9 },
      ],
      hardware: hwX86(5),
    },
  },
};
