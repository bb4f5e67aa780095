// The shape of an architecture description. Architecture folders hold data
// of this shape only; src/host/archdesc.ts validates it and turns it into the
// descriptor the core reads.

/** A bit is named by its number; a mask is a list of bit names (or numbers). */
export type Bits = readonly (string | number)[];

/**
 * A predicate over an entry value, as the kernel's pXd_*() helpers test it.
 * - `{ set }`: every listed bit set.
 * - `{ clear }`: every listed bit clear.
 * - `{ mask, value }`: (e & mask) == value.
 * - `{ any }`: at least one listed bit set.
 * - `{ or: [p, q] }`: either of two `set`/`clear`/`mask` forms, or one of them and an `any`.
 * - `'always'`, `'never'` (a helper for a bit the variant does not have).
 */
export type PredSpec =
  | 'always'
  | 'never'
  | { readonly set: Bits }
  | { readonly clear: Bits }
  | { readonly mask: Bits; readonly value: Bits }
  | { readonly any: Bits }
  | { readonly or: readonly [PredSpec, PredSpec] };

/** One step of an entry transformation (pte_mkwrite, pte_mkclean, ...). */
export interface OpStep {
  /** Apply only when the entry matches. */
  readonly if?: PredSpec;
  readonly set?: Bits;
  readonly clear?: Bits;
}
export type OpSpec = readonly OpStep[];

/** The entry transformations the generic mm uses (asm/pgtable.h). */
export interface Ops {
  readonly mkwrite: OpSpec;
  readonly wrprotect: OpSpec;
  readonly mkdirty: OpSpec;
  readonly mkclean: OpSpec;
  readonly mkyoung: OpSpec;
  readonly mkold: OpSpec;
  readonly mkspecial: OpSpec;
  readonly mkdevmap: OpSpec;
  /** pmd_mkhuge / pud_mkhuge (leaf marker at a directory level). */
  readonly mkhuge: OpSpec;
}

/** An address field: entry bits `mask`, whose lowest bit `shift` holds physical address bit `paShift`. */
export interface FieldSpec {
  readonly mask: bigint;
  readonly shift: number;
  readonly paShift: number;
}

/** What the entries of one level mean. */
export interface LevelSpec {
  readonly name: string;
  /** lowest virtual-address bit this level indexes */
  readonly shift: number;
  /** log2 of the entries in one table */
  readonly indexBits: number;
  /** bytes in one table (default 8 << indexBits) */
  readonly tableBytes?: number;
  /** can an entry at this level be a leaf (pte, huge pmd/pud)? */
  readonly leafOk: boolean;
  /** value of an empty entry (default 0) */
  readonly empty?: bigint;
  /** bits compared with `empty` by pXd_none (default: all) */
  readonly noneMask?: bigint;
  readonly present: PredSpec;
  readonly table: PredSpec;
  readonly leaf: PredSpec;
  readonly access: PredSpec;
  readonly write: PredSpec;
  readonly special: PredSpec;
  readonly devmap: PredSpec;
  readonly protnone: PredSpec;
  readonly young: PredSpec;
  readonly dirty: PredSpec;
  readonly user: PredSpec;
  /** entries whose pfn is stored inverted (x86 L1TF), when also non-zero */
  readonly invert: PredSpec;
  readonly tableAddr: FieldSpec;
  readonly leafAddr: FieldSpec;
  /** flag bits of a table entry (x86 _PAGE_TABLE) */
  readonly tableBits: Bits;
  /** more bits of a table entry, as a value (ppc64 NLS, loongarch's direct-map window base) */
  readonly tableValue?: bigint;
  /** an empty entry points at a shared, all-empty table of the next level (loongarch invalid_*_table) */
  readonly emptyIsTable?: boolean;
  /**
   * a real pgd level (not a p4d or pud folded into the top): gup_fast_pgd_range
   * asks pgd_none only (mm/gup.c), so gup-fast descends from every entry that
   * is not none, present to pgd_present or not
   */
  readonly gupFastNoneOnly?: boolean;
  /** per-level overrides of the entry transformations */
  readonly ops?: Partial<Ops>;
  /** which name a bit prints under at this level (see BitNameRule) */
  readonly names?: readonly BitNameRule[];
  /** the level's non-present swap entries (the last level only: pte swap entries) */
  readonly swap?: SwapSpec;
}

/**
 * A field of a swap entry: entry bits `mask` (contiguous), whose lowest bit
 * `shift` holds bit 0 of the value.
 */
export interface SwapFieldSpec {
  readonly mask: bigint;
  readonly shift: number;
  /** the field holds the value's ones' complement (x86: __swp_entry stores ~offset, L1TF) */
  readonly inverted?: boolean;
}

/**
 * The arch's swap entry at one level: what swp_entry_to_pte() builds from a
 * swap type and offset (the arch's __swp_entry(type, offset) and
 * __swp_entry_to_pte), and pte_to_swp_entry() reads back (__swp_type,
 * __swp_offset). Migration, device-private and hwpoison entries are swap
 * entries of reserved types whose offset is a pfn (include/linux/swapops.h).
 * A swap entry is !pte_none && !pte_present (is_swap_pte) and invalid to the
 * MMU: src/host/archdesc.ts checks both for every type and offset.
 */
export interface SwapSpec {
  /** __swp_type (MAX_SWAPFILES_SHIFT = 5 bits used; a wider field keeps its upper bits clear) */
  readonly type: SwapFieldSpec;
  /** __swp_offset */
  readonly offset: SwapFieldSpec;
  /** bits every swap entry has set (ppc64 _PAGE_PTE, s390 _PAGE_INVALID | _PAGE_PROTECT) */
  readonly set: Bits;
  /** bits the arch's comment says must be zero in a swap entry (present, protnone, ...) */
  readonly clear: Bits;
  /** pte_swp_exclusive's bit (__HAVE_ARCH_PTE_SWP_EXCLUSIVE), when the arch has one */
  readonly exclusive?: string | number;
  /** pte_swp_soft_dirty's bit (CONFIG_MEM_SOFT_DIRTY), when the arch has one */
  readonly softDirty?: string | number;
  /** pte_swp_uffd_wp's bit (CONFIG_HAVE_ARCH_USERFAULTFD_WP), when the arch has one */
  readonly uffdWp?: string | number;
  /** where the layout comes from */
  readonly cite: string;
}

/**
 * The name a bit prints under, at one kind of level, when several names share
 * its number (x86 bit 7: PSE in a pmd, PAT in a pte; arm64 bit 11: nG in a valid
 * entry, PRESENT_INVALID only with VALID clear). For each set bit the first rule
 * naming a bit of that number whose `when` matches the entry wins; a bit no rule
 * names prints under all its names.
 */
export interface BitNameRule {
  /** a key of the variant's bits */
  readonly name: string;
  /** only for entries matching this (the software meaning of a state) */
  readonly when?: PredSpec;
}

/**
 * What the MMU makes of an entry at one level: the architecture manual's walk,
 * independent of the kernel's helpers and of the kernel preset.
 */
export interface HwLevelSpec {
  /** the MMU may hold a leaf (page, block, large page) at this level */
  readonly leafOk: boolean;
  /** the entry is valid; an invalid entry is a translation fault */
  readonly valid: PredSpec;
  /** a valid entry that points to the next-level table ('never' at the last level) */
  readonly table: PredSpec;
  /** a valid entry that maps memory ('never' where !leafOk). A valid entry that is
   *  neither table nor leaf is malformed: a reserved-bit / specification fault. */
  readonly leaf: PredSpec;
  /** next-table address (absent at the last level) */
  readonly tableAddr?: FieldSpec;
  /** output address of a leaf (absent where !leafOk) */
  readonly leafAddr?: FieldSpec;
  /** the manual section the rules come from */
  readonly cite: string;
}

/** The virtual addresses the root translates. */
export interface HwVaRange {
  /** 'zero': VA bits lo..hi must be zero. 'sign-extend': bits lo..hi must all
   *  equal bit lo (canonical). 'all': every 64-bit address (lo, hi unused). */
  readonly rule: 'zero' | 'sign-extend' | 'all';
  readonly lo: number;
  readonly hi: number;
  readonly cite: string;
}

/** The hardware view of one variant: one HwLevelSpec per level of its geometry, top first. */
export interface HardwareSpec {
  readonly levels: readonly HwLevelSpec[];
  readonly va: HwVaRange;
}

/** Base protections (vm_get_page_prot) the fault paths start from. */
export interface Prots {
  readonly none: Bits;
  readonly readonly: Bits;
  readonly copy: Bits;
  readonly shared: Bits;
}

/** Kernel-history switches a variant can be built with. */
export interface Switches {
  /** CONFIG_ARCH_HAS_PTE_SPECIAL */
  readonly special: boolean;
  /** CONFIG_ARCH_HAS_PTE_DEVMAP */
  readonly devmap: boolean;
}

/** Everything the generic machinery needs about one variant. */
export interface VariantSpec {
  readonly arch: string;
  readonly variant: string;
  readonly description: string;
  readonly pageShift: number;
  readonly vaBits: number;
  /** user addresses are [0, 1 << userVaBits) */
  readonly userVaBits: number;
  readonly bigEndian: boolean;
  /** SECTION_SIZE_BITS and MAX_PHYSMEM_BITS (sparsemem) */
  readonly sectionSizeBits: number;
  readonly maxPhysBits: number;
  /** named bits: name -> bit number */
  readonly bits: Readonly<Record<string, number>>;
  readonly levels: readonly LevelSpec[];
  readonly ops: Ops;
  readonly prot: Prots;
  readonly switches: Switches;
  /** provenance: where the bits and geometry come from */
  readonly source: string;
  readonly hardware: HardwareSpec;
  /** this kernel selects HAVE_ARCH_USERFAULTFD_WP on the arch (history.uffdWp; default false) */
  readonly uffdWp?: boolean;
  /** what this kernel's Kconfig selects on the arch (history.thpPud ...; default all false) */
  readonly kconfig?: ArchKconfig;
}

/** The arch Kconfig selections pgtemu models, for one kernel (ArchData.history). */
export interface ArchKconfig {
  /** HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD */
  readonly thpPud: boolean;
  /** ARCH_SUPPORTS_HUGE_PFNMAP */
  readonly hugePfnmap: boolean;
  /** vmemmap_can_optimize can be true for device DAX */
  readonly daxVmemmapOpt: boolean;
  /** ARCH_SUPPORTS_MEMORY_FAILURE: SWP_HWPOISON takes a swap type (src/arch/swap.ts) */
  readonly memoryFailure: boolean;
}

/** What entries at one kind of level mean; geometry comes from the variant. */
export type LevelKind = Omit<LevelSpec, 'name' | 'shift' | 'indexBits' | 'tableBytes' | 'leafOk'> & {
  readonly leafOk?: boolean;
};

/** One level of a variant's geometry, naming the kind of entries it holds. */
export interface LevelGeometry {
  readonly name: string;
  readonly kind: string;
  readonly shift: number;
  readonly indexBits: number;
  readonly tableBytes?: number;
  /** override the kind's leafOk (arm64 64K: no PUD leaf) */
  readonly leafOk?: boolean;
  /** override the kind's tableValue (ppc64: NLS depends on the next level's size) */
  readonly tableValue?: bigint;
}

export interface VariantGeometry {
  readonly description: string;
  readonly pageShift: number;
  readonly vaBits: number;
  readonly userVaBits: number;
  readonly sectionSizeBits: number;
  readonly maxPhysBits: number;
  readonly levels: readonly LevelGeometry[];
  /** bits that differ in this variant (e.g. the pfn field of a page size) */
  readonly bits?: Readonly<Record<string, number>>;
  /** what the MMU makes of this geometry's entries */
  readonly hardware: HardwareSpec;
}

/** A kernel version range (inclusive) and the bit numbers that held in it. */
export interface Era {
  readonly from?: string;
  readonly until?: string;
  readonly bits: Readonly<Record<string, number>>;
  /** the swap entry layout of that range (replaces every kind's `swap`) */
  readonly swap?: SwapSpec;
  /** that range's protections (replace the arch's `prot`) */
  readonly prot?: Prots;
  /** that range's arch-wide ops (each replaces the arch's op of that name) */
  readonly ops?: Partial<Ops>;
  /** that range's predicates and ops per level kind (each replaces the kind's field, or op, of that name) */
  readonly kinds?: Readonly<Record<string, Partial<LevelKind>>>;
  /** that range's SECTION_SIZE_BITS (replaces every variant's) */
  readonly sectionSizeBits?: number;
}

/** An architecture folder's export: data only. */
export interface ArchData {
  readonly arch: string;
  readonly source: string;
  readonly bigEndian: boolean;
  readonly defaultVariant: string;
  /** named bits: name -> bit number (the v6.12 values) */
  readonly bits: Readonly<Record<string, number>>;
  /** bits that moved across kernel versions */
  readonly eras?: readonly Era[];
  /**
   * kernels (inclusive) in which this layout has a working pte_special() /
   * pte_devmap(), null: never. For special that is __HAVE_ARCH_PTE_SPECIAL,
   * renamed CONFIG_ARCH_HAS_PTE_SPECIAL in v4.18; for devmap ARCH_HAS_PTE_DEVMAP.
   */
  readonly history: {
    readonly special: { readonly from: string; readonly until?: string } | null;
    readonly devmap: { readonly from: string; readonly until?: string } | null;
    /**
     * kernels that select HAVE_ARCH_USERFAULTFD_WP (64-bit). Before v6.2 the PTE
     * marker swap type existed only with CONFIG_PTE_MARKER, which
     * PTE_MARKER_UFFD_WP (default y, depends on it) selects: it moves the
     * device-private swap types (src/arch/swap.ts). Absent: never.
     */
    readonly uffdWp?: { readonly from: string; readonly until?: string } | null;
    /**
     * kernels that select HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD: a device-DAX
     * align of PUD_SIZE can be faulted (dax_align_valid). Absent: never.
     */
    readonly thpPud?: { readonly from: string; readonly until?: string } | null;
    /**
     * kernels that select ARCH_SUPPORTS_HUGE_PFNMAP (mm/Kconfig, v6.12 on):
     * pmd_mkspecial exists (ARCH_SUPPORTS_PMD_PFNMAP), and pud_mkspecial where
     * thpPud holds too (ARCH_SUPPORTS_PUD_PFNMAP); elsewhere both are no-ops.
     * Absent: never.
     */
    readonly hugePfnmap?: { readonly from: string; readonly until?: string } | null;
    /**
     * kernels whose vmemmap_can_optimize can say yes for a device-DAX pgmap
     * (ARCH_WANT_OPTIMIZE_DAX_VMEMMAP; in 6.1.y ARCH_WANT_HUGETLB_PAGE_OPTIMIZE_VMEMMAP):
     * a compound pgmap's tail struct pages share vmemmap pages. Absent: never.
     * (Before the v6.4 fix that 6.1.y took, "mm/vmemmap/devdax: fix kernel crash
     * when probing devdax devices", mainline applied it on every arch, as
     * remembered: UNVERIFIED from a v6.0 tree. pgtemu's v6.0 follows 6.1.y.)
     */
    readonly daxVmemmapOpt?: { readonly from: string; readonly until?: string } | null;
    /**
     * kernels that select ARCH_SUPPORTS_MEMORY_FAILURE, so CONFIG_MEMORY_FAILURE
     * can be set: it reserves the SWP_HWPOISON swap type and lowers MAX_SWAPFILES
     * by one (include/linux/swap.h). pgtemu takes it as set wherever it can be.
     * Absent: never.
     */
    readonly memoryFailure?: { readonly from: string; readonly until?: string } | null;
  };
  readonly kinds: Readonly<Record<string, LevelKind>>;
  readonly ops: Ops;
  readonly prot: Prots;
  readonly variants: Readonly<Record<string, VariantGeometry>>;
}
