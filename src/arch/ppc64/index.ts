// ppc64: Book3S-64 with the radix MMU (POWER9 and later), 64K pages (the
// Book3S-64 default, arch/powerpc/Kconfig "Page size": default PPC_64K_PAGES
// if PPC_BOOK3S_64) and 4K pages. The hash MMU lays out the same Linux PTE
// differently (hash-4k.h, hash-64k.h, H_PAGE_*) and is not modelled.
// v6.12 arch/powerpc/include/asm/book3s/64/pgtable.h, radix.h, radix-64k.h,
// radix-4k.h, pgalloc.h, asm/pgtable.h, asm/pgtable-be-types.h,
// asm/pgtable-masks.h, asm/task_size_64.h, asm/sparsemem.h,
// arch/powerpc/mm/book3s64/pgtable.c and radix_pgtable.c. Data only.
//
// Masks below are ordinary 64-bit values, bit 0 least significant (the Power
// ISA numbers the most significant bit 0: _PAGE_PRESENT is ISA bit 0, V).
// Entries are stored big-endian even on ppc64le: pte_t wraps a __be64
// (pgtable-be-types.h) and every helper compares pte_raw() against
// cpu_to_be64(mask). `bigEndian` tells the core to byte-swap.
import type { ArchData, HardwareSpec, HwLevelSpec, LevelKind, PredSpec } from '../types.js';

// PTE_RPN_MASK = ((1UL << _PAGE_PA_MAX) - 1) & PAGE_MASK, _PAGE_PA_MAX 53
// (pgtable.h), PTE_RPN_SHIFT = PAGE_SHIFT; pte_pfn() = (pte & PTE_RPN_MASK) >> PAGE_SHIFT.
const RPN_64K = 0x001f_ffff_ffff_0000n;   // 64K pages: bits 16..52
const RPN_4K = 0x001f_ffff_ffff_f000n;    // 4K pages: bits 12..52
// pmd_pfn/pud_pfn are pte_pfn(pmd_pte(..)) (book3s/64/pgtable.h, v6.12 and 6.1.y):
// the same PTE_RPN_MASK, not narrowed by PMD_MASK / PUD_MASK as x86 and arm64 do, so
// a huge leaf's address field is the page size's RPN (pmd_page(orig) + the
// subpage index is gup_fast_pmd_leaf's page). pfn_pmd/pfn_pud of an aligned
// folio leave the bits below the leaf size zero. The pmd and pud kinds are
// therefore per page size, as the pte's.
const RPN_512G = 0x001f_ff80_0000_0000n;  // PTE_RPN_MASK & PGDIR_MASK (unused: no p4d leaves)

// A directory entry holds __pa(next table) | PXX_VAL_BITS (pgalloc.h p4d_populate,
// pud_populate, pmd_populate); the next table is found with
// __va(val & ~PMD_MASKED_BITS / PUD_MASKED_BITS / P4D_MASKED_BITS), each
// 0xc0000000000000ff (asm/pgtable.h pmd_page_vaddr; book3s/64/pgtable.h pud_pgtable,
// p4d_pgtable). The field is every bit those masks keep: bits 8..61.
const TABLE_ADDR = { mask: 0x3fff_ffff_ffff_ff00n, shift: 8, paShift: 8 } as const;
// NLS, the next level's index size, in the low bits of a directory entry
// (radix.h RADIX_PMD_VAL_BITS = 0x8000000000000000UL | RADIX_PTE_INDEX_SIZE,
// RADIX_PUD_VAL_BITS = .. | RADIX_PMD_INDEX_SIZE, RADIX_PGD_VAL_BITS = .. | RADIX_PUD_INDEX_SIZE;
// radix__early_init_mmu sets __pmd_val_bits etc. from them).
const NLS_64K_PTE = 5n;   // radix-64k.h RADIX_PTE_INDEX_SIZE
const NLS_4K_PTE = 9n;    // radix-4k.h RADIX_PTE_INDEX_SIZE
const NLS_PMD = 9n;       // RADIX_PMD_INDEX_SIZE, both page sizes
const NLS_PUD = 9n;       // RADIX_PUD_INDEX_SIZE, both page sizes

// pXd_bad on radix: val & RADIX_PMD_BAD_BITS / RADIX_PUD_BAD_BITS / RADIX_P4D_BAD_BITS,
// all 0x60000000000000e0 (radix.h): _PAGE_PTE, _RPAGE_SW0 and bits 0xe0.
const notBad: PredSpec = { clear: ['PTE', 'INVALID', 'DIRTY', 'RSV1', 'NON_IDEMPOTENT'] };

// pte_access_permitted (pgtable.h): pte_present && pte_user && pte_read
// [&& pte_write, the core tests write separately]. pte_present is
// pte_hw_valid (PRESENT|PTE both set) or (INVALID|PTE both set).
// arch_pte_access_permitted (memory protection keys, CONFIG_PPC_MEM_KEYS) is not modelled.
const pteAccess: PredSpec = {
  or: [
    { mask: ['PRESENT', 'PTE', 'PRIVILEGED', 'READ'], value: ['PRESENT', 'PTE', 'READ'] },
    { mask: ['INVALID', 'PTE', 'PRIVILEGED', 'READ'], value: ['INVALID', 'PTE', 'READ'] },
  ],
};

// The flag bits every level shares: the pmd/pud/p4d helpers are the pte ones
// applied to pmd_pte()/pud_pte()/p4d_pte() (pgtable.h pmd_write, pmd_dirty, ..).
const common = {
  access: pteAccess,
  write: { set: ['WRITE'] },                       // pte_write: _PAGE_WRITE
  special: { set: ['SPECIAL'] },                   // pte_special: _PAGE_SPECIAL
  // pte_devmap: (pte & (_PAGE_DEVMAP | _PAGE_PTE)) == both; 0x800 is an address
  // bit in a directory entry, hence the _PAGE_PTE test (comment at pte_devmap).
  devmap: { set: ['DEVMAP', 'PTE'] },
  young: { set: ['ACCESSED'] },                    // pte_young: _PAGE_ACCESSED
  dirty: { set: ['DIRTY'] },                       // pte_dirty: _PAGE_DIRTY only (not SOFT_DIRTY)
  user: { clear: ['PRIVILEGED'] },                 // pte_user: !(pte & _PAGE_PRIVILEGED)
  invert: 'never',                                 // no inverted pfns
  tableAddr: TABLE_ADDR,
  tableBits: ['PRESENT'],                          // PXX_VAL_BITS' 0x8000000000000000; NLS is tableValue
} as const;

// 6.1.y's pte_savedwrite (CONFIG_NUMA_BALANCING): no R, W, X and not privileged.
const savedwrite: PredSpec = { clear: ['READ', 'WRITE', 'EXEC', 'PRIVILEGED'] };

// pte_protnone (CONFIG_NUMA_BALANCING): (pte & (PRESENT | PTE | RWX)) == (PRESENT | PTE).
// PAGE_NONE carries no R, W or X (pgtable-masks.h _PAGE_NA = 0).
const protnone: PredSpec = {
  mask: ['PRESENT', 'PTE', 'READ', 'WRITE', 'EXEC'], value: ['PRESENT', 'PTE'],
};

// pmd_special()/pud_special(): the generic `false` (include/linux/mm.h): powerpc
// does not select ARCH_SUPPORTS_HUGE_PFNMAP in v6.12, so neither
// ARCH_SUPPORTS_PMD_PFNMAP nor _PUD_PFNMAP (mm/Kconfig) is set, and
// pmd_mkspecial/pud_mkspecial are no-ops: insert_pfn_pmd/pud leave no mark.
const hugeSpecial: PredSpec = 'never';

// Swap entries, v6.12 book3s/64/pgtable.h ("Encode and de-code a swap entry"; the same
// in v6.1): SWP_TYPE_BITS 5, __swp_type(x) = x & SWP_TYPE_MASK: type in bits 0..4;
// __swp_entry(type, offset) = type | ((offset << PAGE_SHIFT) & PTE_RPN_MASK): offset in
// bits PAGE_SHIFT..52 (37 bits with 64K pages, 41 with 4K); __swp_entry_to_pte ORs in
// _PAGE_PTE (and __pte_to_swp_entry clears it). _PAGE_PRESENT and _PAGE_INVALID stay
// clear, so pte_present fails. Big-endian storage is the core's (bigEndian).
// The same in v7.2 (book3s/64/pgtable.h read): assumed unchanged through
// v6.13..v6.17, which were not read.
const swap = (rpn: bigint, shift: number) => ({
  type: { mask: 0x1fn, shift: 0 },
  offset: { mask: rpn, shift },
  set: ['PTE'],
  clear: ['PRESENT', 'INVALID'],
  exclusive: 'NON_IDEMPOTENT',     // _PAGE_SWP_EXCLUSIVE = _PAGE_NON_IDEMPOTENT, bit 5
  softDirty: 'SOFT_DIRTY',         // _PAGE_SWP_SOFT_DIRTY = _PAGE_SOFT_DIRTY (CONFIG_MEM_SOFT_DIRTY), bit 9
  cite: 'v6.12 arch/powerpc/include/asm/book3s/64/pgtable.h __swp_entry, __swp_entry_to_pte (SWP_TYPE_BITS, PTE_RPN_MASK)',
});

// pte level, per page size (the pfn field differs)
const pte = (rpn: bigint, shift: number): LevelKind => ({
  ...common,
  leafOk: true,
  // radix__pte_none: (pte & ~RADIX_PTE_NONE_MASK) == 0, RADIX_PTE_NONE_MASK =
  // _PAGE_DIRTY | _PAGE_ACCESSED ("an empty PTE can still have a R or C writeback").
  noneMask: ~0x180n & 0xffff_ffff_ffff_ffffn,
  // pte_present: pte_hw_valid (PRESENT|PTE) or (INVALID|PTE): ptep_modify_prot_start
  // (mm/book3s64/pgtable.c) and radix__ptep_set_access_flags (radix_pgtable.c, nest MMU
  // case) clear _PAGE_PRESENT and set _PAGE_INVALID for a moment
  present: { or: [{ set: ['PRESENT', 'PTE'] }, { set: ['INVALID', 'PTE'] }] },
  table: 'never',
  leaf: 'always',
  protnone,
  leafAddr: { mask: rpn, shift, paShift: shift },
  swap: swap(rpn, shift),
});

// pud and pmd levels, per page size (the pfn field differs)
const pud = (rpn: bigint, shift: number): LevelKind => ({
  ...common,
  present: { set: ['PRESENT'] },               // pud_present: _PAGE_PRESENT only
  table: notBad,                               // !pud_bad (RADIX_PUD_BAD_BITS)
  leaf: { set: ['PTE'] },                      // pud_leaf: _PAGE_PTE
  protnone: 'never',                           // no pud_protnone in v6.12
  special: hugeSpecial,
  leafAddr: { mask: rpn, shift, paShift: shift },   // pXd_pfn = pte_pfn(pXd_pte()): PTE_RPN_MASK
  tableValue: NLS_PMD,                         // RADIX_PUD_VAL_BITS
  ops: {
    mkspecial: [],                             // pud_mkspecial: generic no-op (include/linux/mm.h)
    mkdevmap: [{ set: ['PTE', 'DEVMAP'] }],    // radix__pud_mkdevmap: _PAGE_PTE | _PAGE_DEVMAP
  },
});

const pmd = (rpn: bigint, shift: number): LevelKind => ({
  ...common,
  // pmd_present: PRESENT or INVALID (pmdp_invalidate clears PRESENT during a split)
  present: { any: ['PRESENT', 'INVALID'] },
  table: notBad,                               // !pmd_bad (RADIX_PMD_BAD_BITS)
  leaf: { set: ['PTE'] },                      // pmd_leaf: _PAGE_PTE
  // pmd_access_permitted: false while pmd_is_serializing ((PRESENT|INVALID) == INVALID),
  // then pte_access_permitted(pmd_pte()); what is left is the hw-valid case.
  access: { mask: ['PRESENT', 'PTE', 'PRIVILEGED', 'READ'], value: ['PRESENT', 'PTE', 'READ'] },
  protnone,                                    // pmd_protnone = pte_protnone(pmd_pte())
  special: hugeSpecial,
  leafAddr: { mask: rpn, shift, paShift: shift },   // pXd_pfn = pte_pfn(pXd_pte()): PTE_RPN_MASK
  // tableValue (NLS of the pte table) depends on the page size: see the variants
  ops: {
    mkspecial: [],                             // pmd_mkspecial: generic no-op (include/linux/mm.h)
    mkdevmap: [{ set: ['PTE', 'DEVMAP'] }],    // radix__pmd_mkdevmap: _PAGE_PTE | _PAGE_DEVMAP
  },
});

// ---------------------------------------------------------------- the MMU's view
// Power ISA v3.0B Book III §5.7.10.2 "Radix Tree Translation" (section numbers
// as remembered, UNVERIFIED; the rules are also QEMU's ppc_radix64_walk_tree) (entry formats
// in Figure "Radix Tree Page Directory Entry" / "Page Table Entry"; ISA bit 0
// is the most significant): V (ISA bit 0, here 63) clear is invalid; L (ISA 1,
// here 62, the kernel's _PAGE_PTE) makes a leaf; a directory entry holds NLB,
// the next level's base (ISA 4:55, here bits 8..59), and NLS, its index size
// (ISA 59:63, here 0..4); a leaf holds RPN (ISA 7:51, here 12..56), the page
// offset bits of a large page ignored. pgtemu walks the variant's fixed
// geometry, so a directory entry whose NLS differs from it is reported malformed
// (the MMU would index a table of 2^NLS entries; NLS < 5 is a fault: QEMU
// ppc_radix64_walk_tree). Where leaves may sit: POWER9 and later report the
// radix page sizes 4K, 64K, 2M and 1G (ibm,processor-radix-AP-encodings), so a
// leaf at the root (512 TiB) is reported malformed. UNVERIFIED against the ISA
// text: QEMU's walker accepts a leaf at any level. Not modelled: reserved bits,
// the process/partition tables, RC updates, EAA permissions.
const nlsBits = (n: bigint): number[] => [0, 1, 2, 3, 4].filter((b) => ((n >> BigInt(b)) & 1n) === 1n);
const NLB = { mask: 0x0fff_ffff_ffff_ff00n, shift: 8, paShift: 8 } as const;
const RPN_HW = (shift: number) => ({ mask: ((1n << 57n) - 1n) & ~((1n << BigInt(shift)) - 1n), shift, paShift: shift });
const pdeHw = (nls: bigint, leafShift: number | null, cite: string): HwLevelSpec => ({
  leafOk: leafShift !== null,
  valid: { set: ['PRESENT'] },
  table: { mask: ['PTE', 0, 1, 2, 3, 4], value: nlsBits(nls) },
  leaf: leafShift !== null ? { set: ['PTE'] } : 'never',
  tableAddr: NLB,
  ...(leafShift !== null ? { leafAddr: RPN_HW(leafShift) } : {}),
  cite,
});
const hwRadix = (ptePageShift: number, ptNls: bigint): HardwareSpec => ({
  levels: [
    pdeHw(NLS_PUD, null, 'Power ISA v3.0B Book III §5.7.10.2 (root PDE; a 512 TiB leaf is no radix page size: UNVERIFIED)'),
    pdeHw(NLS_PMD, 30, 'Power ISA v3.0B Book III §5.7.10.2 (PDE or 1 GiB leaf)'),
    pdeHw(ptNls, 21, 'Power ISA v3.0B Book III §5.7.10.2 (PDE or 2 MiB leaf)'),
    {
      leafOk: true,
      valid: { set: ['PRESENT'] },
      table: 'never',
      leaf: { set: ['PTE'] },            // a valid entry without L at the last level: malformed
      leafAddr: RPN_HW(ptePageShift),
      cite: 'Power ISA v3.0B Book III §5.7.10.2 (PTE: V, L, RPN)',
    },
  ],
  // §5.7.6 / §5.7.10.2: EA bits 0:1 (here 63:62) select the quadrant, and a user
  // process's tree (PID != 0) translates quadrant 0 only; with a 52-bit radix tree
  // EA bits 2:11 (here 61:52) must be zero, else a segment interrupt.
  va: { rule: 'zero', lo: 52, hi: 63, cite: 'Power ISA v3.0B Book III §5.7.6 (quadrants), §5.7.10.2 (EA bits beyond RTS: segment interrupt)' },
});

// The level kinds (the eras below patch every one of them by name)
const kinds: Record<string, LevelKind> = {
  // pgd: PGTABLE_LEVELS 4 (arch/powerpc/Kconfig) with the p4d folded
  // (book3s/64/pgtable.h includes asm-generic/pgtable-nop4d.h); its entries are
  // tested with the p4d_* helpers.
  pgd: {
    ...common,
    leafOk: false,
    present: { set: ['PRESENT'] },               // p4d_present
    table: notBad,                               // !p4d_bad (RADIX_P4D_BAD_BITS)
    leaf: 'never',                               // p4d_leaf: generic false (include/linux/pgtable.h)
    special: 'never',
    devmap: 'never',                             // pgd_devmap returns 0
    protnone: 'never',
    leafAddr: { mask: RPN_512G, shift: 39, paShift: 39 },   // unused
    tableValue: NLS_PUD,                         // RADIX_PGD_VAL_BITS
  },
  'pud-64k': pud(RPN_64K, 16),
  'pud-4k': pud(RPN_4K, 12),
  'pmd-64k': pmd(RPN_64K, 16),
  'pmd-4k': pmd(RPN_4K, 12),
  'pte-64k': pte(RPN_64K, 16),
  'pte-4k': pte(RPN_4K, 12),
};

export const ppc64: ArchData = {
  arch: 'ppc64',
  source: 'v6.12 arch/powerpc/include/asm/book3s/64/pgtable.h, radix.h, radix-64k.h, radix-4k.h, pgalloc.h, '
    + 'asm/pgtable.h, asm/pgtable-be-types.h, asm/pgtable-masks.h, asm/task_size_64.h, asm/sparsemem.h, '
    + 'arch/powerpc/mm/book3s64/pgtable.c, radix_pgtable.c (radix MMU only; hash MMU not modelled)',
  bigEndian: true,
  defaultVariant: 'radix-64k',
  bits: {
    EXEC: 0,            // _PAGE_EXEC 0x00001
    WRITE: 1,           // _PAGE_WRITE 0x00002
    READ: 2,            // _PAGE_READ 0x00004
    PRIVILEGED: 3,      // _PAGE_PRIVILEGED 0x00008: kernel-only; user = clear
    SAO: 4,             // _PAGE_SAO 0x00010
    NON_IDEMPOTENT: 5,  // _PAGE_NON_IDEMPOTENT 0x00020 (_PAGE_TOLERANT = 0x30)
    RSV1: 6,            // _RPAGE_RSV1 0x00040
    DIRTY: 7,           // _PAGE_DIRTY 0x00080 (C)
    ACCESSED: 8,        // _PAGE_ACCESSED 0x00100 (R)
    SOFT_DIRTY: 9,      // _PAGE_SOFT_DIRTY = _RPAGE_SW3 0x00200
    SPECIAL: 10,        // _PAGE_SPECIAL = _RPAGE_SW2 0x00400
    DEVMAP: 11,         // _PAGE_DEVMAP = _RPAGE_SW1 0x00800 (until v6.16)
    PKEY_BIT0: 56,      // _RPAGE_PKEY_BIT0 0x0100000000000000 (pkeys not modelled)
    PKEY_BIT1: 57,      // _RPAGE_PKEY_BIT1
    PKEY_BIT2: 58,      // _RPAGE_PKEY_BIT2
    PKEY_BIT3: 59,      // _RPAGE_PKEY_BIT3
    PKEY_BIT4: 60,      // _RPAGE_PKEY_BIT4 0x1000000000000000
    INVALID: 61,        // _PAGE_INVALID = _RPAGE_SW0 0x2000000000000000
    PTE: 62,            // _PAGE_PTE 0x4000000000000000: a leaf, at every level
    PRESENT: 63,        // _PAGE_PRESENT 0x8000000000000000 (ISA V)
  },
  // 6.1.y (book3s/64/pgtable.h), with CONFIG_NUMA_BALANCING: PAGE_NONE is
  // _PAGE_BASE | _PAGE_PRIVILEGED (:146), and a protnone pte without
  // _PAGE_PRIVILEGED is a "savedwrite" one: pte_write = __pte_write ||
  // pte_savedwrite, savedwrite = !(pte & (_PAGE_RWX | _PAGE_PRIVILEGED))
  // (:384-407; pmd_write and pud_write are pte_write of the same value),
  // and pte_wrprotect of a savedwrite pte sets _PAGE_PRIVILEGED instead
  // (pte_clear_savedwrite, :616-620; pmd_wrprotect is pte_wrprotect).
  // Savedwrite was removed and PAGE_NONE lost _PAGE_PRIVILEGED before v6.12
  // (pgtable-masks.h _PAGE_NA 0); the releases are UNVERIFIED, no preset lies between.
  eras: [{
    until: 'v6.1',
    bits: {},
    prot: {
      none: ['PRESENT', 'ACCESSED', 'PRIVILEGED', 'PTE'],      // PAGE_NONE = _PAGE_BASE | _PAGE_PRIVILEGED
      readonly: ['PRESENT', 'ACCESSED', 'READ', 'PTE'],        // PAGE_READONLY = _PAGE_BASE | _PAGE_READ
      copy: ['PRESENT', 'ACCESSED', 'READ', 'PTE'],            // PAGE_COPY = _PAGE_BASE | _PAGE_READ
      shared: ['PRESENT', 'ACCESSED', 'READ', 'WRITE', 'PTE'], // PAGE_SHARED = _PAGE_BASE | _PAGE_RW
    },
    ops: { wrprotect: [{ if: savedwrite, set: ['PRIVILEGED'] }, { clear: ['WRITE'] }] },
    kinds: {
      // every kind: pte_write is _PAGE_WRITE or savedwrite; and, 6.1.y: pud_devmap()
      // returns 0 and there is no pud_mkdevmap (pgtable.h :1376)
      ...Object.fromEntries(Object.keys(kinds).map((k) => [k, k.startsWith('pud')
        ? { write: { or: [{ set: ['WRITE'] }, savedwrite] }, devmap: 'never', ops: { mkdevmap: [] } }
        : { write: { or: [{ set: ['WRITE'] }, savedwrite] } }])),
    },
  }],
  history: {
    // ppc64 had __HAVE_ARCH_PTE_SPECIAL long before ARCH_HAS_PTE_SPECIAL
    // (3010a5ea665a, v4.18: "select ARCH_HAS_PTE_SPECIAL all the time" for
    // powerpc; v6.12 arch/powerpc/Kconfig still selects it unconditionally).
    // The from-version is the first kernel with this layout, the book3s64 radix
    // MMU with _PAGE_SPECIAL = _RPAGE_SW2: v4.7 (UNVERIFIED; no v4.7 tree read).
    special: { from: 'v4.7' },
    // ebd31197931d "powerpc/mm: Add devmap support for ppc64" (v4.13 UNVERIFIED);
    // v6.12 arch/powerpc/Kconfig: select ARCH_HAS_PTE_DEVMAP if PPC_BOOK3S_64;
    // removed by "mm: remove devmap related functions and page table bits" (v6.17).
    devmap: { from: 'v4.13', until: 'v6.16' },
    uffdWp: null,      // no HAVE_ARCH_USERFAULTFD_WP in v6.1 or v6.12 arch/powerpc/Kconfig
    // v6.12 arch/powerpc/platforms/Kconfig.cputype: PPC_THP (PPC_BOOK3S_64, radix) selects
    // HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD; 6.1.y's PPC_BOOK3S_64 does not. v6.12 is the
    // first release read that has it (the one between is UNVERIFIED; no preset lies between).
    thpPud: { from: 'v6.12' },
    // no ARCH_SUPPORTS_HUGE_PFNMAP in v6.12 arch/powerpc/Kconfig. v7.2 selects it
    // (`if PPC_BOOK3S_64 && TRANSPARENT_HUGEPAGE`, pmd_special / pud_special on
    // _PAGE_SPECIAL), but the patch was first posted on 2026-02-27 ("[RFC v1 2/2]
    // powerpc/64s: Add support for huge pfnmaps", linuxppc-dev), after v6.17:
    // no preset has it
    hugePfnmap: null,
    // v6.12 arch/powerpc/Kconfig `select ARCH_WANT_OPTIMIZE_DAX_VMEMMAP if PPC_RADIX_MMU`
    // (every pgtemu ppc64 variant is radix; radix.h's vmemmap_can_optimize asks radix_enabled());
    // not in 6.1.y, where only x86_64 selects ARCH_WANT_HUGETLB_PAGE_OPTIMIZE_VMEMMAP
    daxVmemmapOpt: { from: 'v6.12' },
    // PPC64_SUPPORTS_MEMORY_FAILURE (depends on PPC_BOOK3S_64, default y if PPC_POWERNV,
    // arch/powerpc/Kconfig) selects ARCH_SUPPORTS_MEMORY_FAILURE in v6.12 and v7.2; taken
    // as set, in every preset (the first release is older and not read)
    memoryFailure: { from: 'v6.0' },
  },
  kinds,
  ops: {
    mkwrite: [{ set: ['READ', 'WRITE'] }],             // pte_mkwrite_novma: _PAGE_RW ("write implies read")
    wrprotect: [{ clear: ['WRITE'] }],                 // pte_wrprotect
    mkdirty: [{ set: ['DIRTY', 'SOFT_DIRTY'] }],       // pte_mkdirty
    mkclean: [{ clear: ['DIRTY'] }],                   // pte_mkclean
    mkyoung: [{ set: ['ACCESSED'] }],                  // pte_mkyoung
    mkold: [{ clear: ['ACCESSED'] }],                  // pte_mkold
    mkspecial: [{ set: ['SPECIAL'] }],                 // pte_mkspecial
    mkdevmap: [{ set: ['SPECIAL', 'DEVMAP'] }],        // pte_mkdevmap sets both
    // pfn_pmd/pfn_pud (mm/book3s64/pgtable.c) end in __pmd_mkhuge/__pud_mkhuge,
    // radix__pmd_mkhuge/radix__pud_mkhuge: | _PAGE_PTE. (pmd_mkhuge itself only
    // WARNs under DEBUG_VM when _PAGE_PTE is missing.)
    mkhuge: [{ set: ['PTE'] }],
  },
  // vm_get_page_prot bases (pgtable-masks.h, _PAGE_BASE = _PAGE_PRESENT | _PAGE_ACCESSED,
  // pgtable.h). _PAGE_PTE is not part of the pgprot: pfn_pte() (hence mk_pte) ORs it
  // into every pte it builds, and __set_pte_at() again; pfn_pmd/pfn_pud via
  // __pmd_mkhuge. The lists below are the pgprot | _PAGE_PTE that lands in an entry.
  prot: {
    none: ['PRESENT', 'ACCESSED', 'PTE'],                     // PAGE_NONE = _PAGE_BASE | _PAGE_NA (0)
    readonly: ['PRESENT', 'ACCESSED', 'READ', 'PTE'],         // PAGE_READONLY = _PAGE_BASE | _PAGE_RO
    copy: ['PRESENT', 'ACCESSED', 'READ', 'PTE'],             // PAGE_COPY = _PAGE_BASE | _PAGE_RO
    shared: ['PRESENT', 'ACCESSED', 'READ', 'WRITE', 'PTE'],  // PAGE_SHARED = _PAGE_BASE | _PAGE_RW
  },
  variants: {
    'radix-64k': {
      description: 'Book3S-64 radix MMU, 64K pages, 4 levels 13/9/9/5 (256-byte pte tables), 52-bit VA, p4d folded',
      pageShift: 16,
      vaBits: 52,                     // RADIX_PGTABLE_EADDR_SIZE = 5 + 9 + 9 + 13 + 16
      // mm->task_size = TASK_SIZE (fs/exec.c setup_new_exec) = TASK_SIZE_USER64 =
      // TASK_SIZE_4PB (task_size_64.h, CONFIG_PPC_64K_PAGES). DEFAULT_MAP_WINDOW_USER64
      // (128 TB, 47 bits) only bounds where mmap places mappings without a hint
      // (arch_get_mmap_end); addresses up to 4 PB are valid user addresses.
      userVaBits: 52,
      sectionSizeBits: 24,            // sparsemem.h SECTION_SIZE_BITS
      // MAX_PHYSMEM_BITS = max(H_, R_MAX_PHYSMEM_BITS) = 51 with SPARSEMEM_VMEMMAP and
      // SPARSEMEM_EXTREME (radix.h, hash-64k.h; arch/powerpc/Kconfig ARCH_SPARSEMEM_ENABLE
      // selects SPARSEMEM_VMEMMAP_ENABLE, mm/Kconfig: both default y)
      maxPhysBits: 51,
      levels: [
        { name: 'pgd', kind: 'pgd', shift: 39, indexBits: 13 },   // RADIX_PGD_INDEX_SIZE 13, 64 KB table
        { name: 'pud', kind: 'pud-64k', shift: 30, indexBits: 9 },    // RADIX_PUD_INDEX_SIZE 9
        // RADIX_PMD_VAL_BITS: NLS = RADIX_PTE_INDEX_SIZE = 5
        { name: 'pmd', kind: 'pmd-64k', shift: 21, indexBits: 9, tableValue: NLS_64K_PTE },
        // RADIX_PTE_INDEX_SIZE 5: a 256-byte pte fragment (RADIX_PTE_FRAG_SIZE_SHIFT 8)
        { name: 'pte', kind: 'pte-64k', shift: 16, indexBits: 5, tableBytes: 256 },
      ],
      hardware: hwRadix(16, NLS_64K_PTE),
    },
    'radix-4k': {
      description: 'Book3S-64 radix MMU, 4K pages, 4 levels 13/9/9/9, 52-bit VA, p4d folded',
      pageShift: 12,
      vaBits: 52,                     // 9 + 9 + 9 + 13 + 12
      // TASK_SIZE_USER64 = DEFAULT_MAP_WINDOW_USER64 = TASK_SIZE_64TB without
      // CONFIG_PPC_64K_PAGES (task_size_64.h)
      userVaBits: 46,
      sectionSizeBits: 24,
      maxPhysBits: 51,                // R_MAX_PHYSMEM_BITS 51 > H_MAX_PHYSMEM_BITS 46 (hash-4k.h)
      levels: [
        { name: 'pgd', kind: 'pgd', shift: 39, indexBits: 13 },
        { name: 'pud', kind: 'pud-4k', shift: 30, indexBits: 9 },
        // RADIX_PMD_VAL_BITS: NLS = RADIX_PTE_INDEX_SIZE = 9
        { name: 'pmd', kind: 'pmd-4k', shift: 21, indexBits: 9, tableValue: NLS_4K_PTE },
        { name: 'pte', kind: 'pte-4k', shift: 12, indexBits: 9 },
      ],
      hardware: hwRadix(12, NLS_4K_PTE),
    },
  },
};
