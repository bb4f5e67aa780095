// s390 (z/Architecture DAT): region-first/-second/-third, segment and page
// tables, 4 KiB pages. Data only. Every value is from v6.12
// arch/s390/include/asm/pgtable.h unless another file is named:
// pgalloc.h, mmu_context.h, processor.h, sparsemem.h, hugetlb.h,
// arch/s390/mm/pgalloc.c, mmap.c, hugetlbpage.c, arch/s390/Kconfig and the
// generic include/linux/mm.h, include/linux/pgtable.h, mm/hugetlb.c,
// mm/huge_memory.c. The segment and region-third formats from v6.13 (the
// era in `eras`) are read from v7.2; the comments below describe v6.12's.
//
// Levels. A new mm starts as a 3-level task (init_new_context, mmu_context.h:
// asce_limit = _REGION2_SIZE, ASCE type region-third) and crst_table_upgrade
// (pgalloc.c) puts a region-second and then a region-first table on top when
// an mmap reaches past 4 TiB / 8 PiB. pgtemu variants have a fixed depth: each
// variant below is one of those three shapes, for the whole life of the mm;
// the upgrade itself is not modelled.
//
// Table sizes. Region and segment tables are _CRST_ENTRIES (2048) entries,
// 16 KiB (crst_table_alloc: CRST_ALLOC_ORDER 2). A page table is
// _PAGE_ENTRIES (256) entries, 2 KiB for the hardware. In v6.12
// page_table_alloc (pgalloc.c) takes a whole 4 KiB page per page table
// (pagetable_alloc(gfp, 0)): the first 2 KiB are the 256 ptes, filled with
// _PAGE_INVALID, the second 2 KiB are zeroed (the PGSTEs when the mm has
// them); two page tables do not share a page. pgtemu models the
// 2 KiB table only: its pool hands out 2 KiB blocks for pte tables, so two pte
// tables may sit in one 4 KiB frame, and pgtables_bytes grows by 2 KiB per
// pte table, as mm_inc_nr_ptes counts it (PTRS_PER_PTE * sizeof(pte_t)).
//
// Leaf templates and prots. pgtemu derives every leaf template from `prot`
// with the level's own ops (src/host/archdesc.ts):
//   ro = mkhuge(prot.readonly), rw = mkhuge(mkwrite(mkdirty(prot.copy))),
//   specialRo = mkhuge(mkspecial(prot.readonly)), specialRw = mkhuge(mkspecial(prot.shared)),
// mkhuge at directory levels only, and a level's `prots` are mkhuge(prot).
// 1. The pte level. s390's mk_pte_phys() (and so mk_pte and pfn_pte) ends
//    with `return pte_mkyoung(__pte)`: a pte is never built from the bare
//    protection value. `prot` therefore holds each vm_get_page_prot value as
//    mk_pte returns it, pte_mkyoung already applied: YOUNG set, and INVALID
//    cleared where READ is set. See the comment at `prot`.
// 2. The segment (1 MiB) and region-third (2 GiB) levels. Their ops are the
//    kernel's segment/region-third helpers (pmd_mkwrite_novma, pud_mkdirty,
//    ...) on entries in their own format, with their own bit names (SEG_*,
//    R3_*, R_*, TT_*) that share bit numbers with pte bits, as the kernel's
//    masks do. `prot` is in pte format, so there `mkhuge` is what turns a
//    pte-format protection into a huge leaf: massage_pgprot_pmd + pmd_mkhuge
//    for the segment (mk_huge_pmd, the THP path), __pte_to_rste +
//    _REGION3_ENTRY_LARGE | _REGION_ENTRY_TYPE_R3 for region-third
//    (__set_huge_pte_at, the hugetlb path). pgtemu applies mkdirty / mkwrite
//    before mkhuge where the kernel applies pmd_mkdirty / maybe_pmd_mkwrite
//    after mk_huge_pmd; the values agree because mkhuge moves only the bits a
//    protection has and keeps the ones the ops set. The templates come out as
//    the kernel builds them: segment 0x1701 read-only / 0x7503 read-write
//    (mm/huge_memory.c __do_huge_pmd_anonymous_page, and also the hugetlb
//    make_huge_pte + set_huge_pte_at path), region-third 0x1705 / 0x7507
//    (hugetlb); test/arch/s390.decode.test.ts computes both kernel paths.
import type { ArchData, HardwareSpec, HwLevelSpec, LevelKind, OpSpec } from '../types.js';

// pte_pfn(x) = pte_val(x) >> PAGE_SHIFT: everything above bit 11 is the frame
const PTE_ORIGIN = 0xffff_ffff_ffff_f000n;
// _SEGMENT_ENTRY_ORIGIN ~0x7ffUL: page-table origin (2 KiB aligned)
const SEGMENT_ORIGIN = 0xffff_ffff_ffff_f800n;
// _SEGMENT_ENTRY_ORIGIN_LARGE ~0xfffffUL: 1 MiB frame of a large segment entry
const SEGMENT_ORIGIN_LARGE = 0xffff_ffff_fff0_0000n;
// _REGION_ENTRY_ORIGIN ~0xfffUL: region/segment table origin
const REGION_ORIGIN = 0xffff_ffff_ffff_f000n;
// _REGION3_ENTRY_ORIGIN_LARGE ~0x7fffffffUL: 2 GiB frame of a large region-third entry
const REGION3_ORIGIN_LARGE = 0xffff_ffff_8000_0000n;
// the bits of _REGION_ENTRY_ORIGIN, for pXd_present = (val & _REGION_ENTRY_ORIGIN) != 0
const REGION_ORIGIN_BITS = Array.from({ length: 52 }, (_, i) => 12 + i);
// ~_REGION_ENTRY_BITS (0xfffffffffffff22fUL) = 0xdd0: bits 4, 6, 7, 8, 10, 11 (pXd_bad)
const REGION_NOT_ENTRY_BITS = [4, 6, 7, 8, 10, 11];
// ~_SEGMENT_ENTRY_BITS (0xfffffffffffffe3fUL) = 0x1c0: bits 6, 7, 8 (pmd_bad)
const SEGMENT_NOT_ENTRY_BITS = [6, 7, 8];

// Bits 0..30 but _REGION_ENTRY_TYPE_R3 (bit 2) and _REGION_ENTRY_INVALID (bit 5):
// see the region-third access predicate
const R3_ACCESS_BITS = Array.from({ length: 31 }, (_, i) => i).filter((b) => b !== 2 && b !== 5);
// Bits 0..19 but _SEGMENT_ENTRY_INVALID (bit 5): see the segment access predicate
const SEG_ACCESS_BITS = Array.from({ length: 20 }, (_, i) => i).filter((b) => b !== 5);

// From a pte-format protection to a huge leaf. The input is a protection as
// mk_pte returns it (bits PRESENT, YOUNG, READ, WRITE, NOEXEC, PROTECT,
// INVALID; see `prot`), to which the level's own ops may already have added
// their write / dirty / soft-dirty bits or cleared PROTECT. Each pte bit moves
// to its segment / region-third twin, the twins being the move_set_bit()s of
// __pte_to_rste (mm/hugetlbpage.c): _PAGE_READ -> _SEGMENT_ENTRY_READ,
// _PAGE_WRITE -> _SEGMENT_ENTRY_WRITE, _PAGE_INVALID -> _SEGMENT_ENTRY_INVALID
// here, _PAGE_YOUNG -> _SEGMENT_ENTRY_YOUNG in each level's mkhuge (its bit
// tells the two formats apart at the segment level); PROTECT (0x200) and
// NOEXEC (0x100) sit at the same position in both formats; PRESENT has no
// twin (rste = pte & PAGE_MASK drops it). __pte_to_rste uses the
// _SEGMENT_ENTRY_* masks for region-third entries too; _REGION3_ENTRY_READ,
// _WRITE, _YOUNG and _REGION_ENTRY_INVALID have the same values (in v6.12:
// 6.1.y has READ and WRITE the other way round, see above `history`). Positions
// are reused across the formats (pte WRITE 0x20 is the segment INVALID, pte
// INVALID 0x400 the segment LARGE, pte PRESENT 0x1 the segment READ), so each
// bit moves before its position is written. A protection as mk_pte returns
// it has neither DIRTY nor SOFT_DIRTY (mk_pte adds them only to a writable pte
// of a PageDirty page), so their moves are not needed here, and 0x2 may
// already be the level's own WRITE, set by its mkwrite.
// For protections this is also massage_pgprot_pmd (PAGE_NONE -> SEGMENT_NONE,
// PAGE_RO -> SEGMENT_RO, PAGE_RW -> SEGMENT_RW) followed by pmd_mkhuge's
// YOUNG and PROTECT: mk_pte made every protection young, and PAGE_NONE,
// PAGE_RO and PAGE_RW all carry _PAGE_PROTECT.
// From v6.13 (see `eras`) __pte_to_rste sets _SEGMENT_ENTRY_PRESENT 0x1, the
// position of the pte's PRESENT, so `present: 'keep'` leaves that bit alone;
// READ and WRITE move to 0x4000 / 0x8000, which no pte bit holds.
const protToRste = (guard: readonly string[], present: 'drop' | 'keep'): OpSpec => [
  { if: { set: [...guard, 'WRITE'] }, set: ['SEG_WRITE'], clear: ['WRITE'] },
  { if: { set: [...guard, 'INVALID'] }, set: ['SEG_INVALID'], clear: ['INVALID'] },
  ...(present === 'keep' ? [] : guard.length ? [{ if: { set: guard }, clear: ['PRESENT'] }] : [{ clear: ['PRESENT'] }]),
  { if: { set: [...guard, 'READ'] }, set: ['SEG_READ'], clear: ['READ'] },
];

// What no s390 entry has: devmap (never selected ARCH_HAS_PTE_DEVMAP), a user
// bit (user and kernel are separate address spaces, selected by the ASCE),
// an inverted pfn.
const none = { devmap: 'never', user: 'never', invert: 'never' } as const;

// Region-first and region-second entries: directories only (p4d_leaf and
// pgd_leaf are the generic false). pXd_present = (val & _REGION_ENTRY_ORIGIN)
// != 0 unless the entry is folded (its type below the level's; a fixed-depth
// variant has no folded entries); pXd_access_permitted(e, 0) = pXd_present(e).
const regionDir = {
  ...none,
  leafOk: false,
  present: { any: REGION_ORIGIN_BITS },
  access: { any: REGION_ORIGIN_BITS },
  leaf: 'never',
  write: 'never',
  special: 'never',
  protnone: 'never',
  young: 'never',
  dirty: 'never',
  tableAddr: { mask: REGION_ORIGIN, shift: 12, paShift: 12 },        // pgd_deref / p4d_deref
  leafAddr: { mask: REGION_ORIGIN, shift: 12, paShift: 12 },
  tableBits: [],
} as const;

const region1: LevelKind = {
  ...regionDir,
  // pgd_none: !pgd_folded && (val & _REGION_ENTRY_INVALID), i.e. type R1 (0x0c)
  // and INVALID (0x20) set; new tables hold _REGION1_ENTRY_EMPTY 0x2c
  // (crst_table_upgrade: crst_table_init(pgd, _REGION1_ENTRY_EMPTY))
  empty: 0x2cn,
  noneMask: 0x2cn,
  // !pgd_bad: type R1 and no bit outside _REGION_ENTRY_BITS
  table: { mask: ['TT_LO', 'TT_HI', ...REGION_NOT_ENTRY_BITS], value: ['TT_LO', 'TT_HI'] },
  tableValue: 0x0fn,   // pgd_populate: _REGION1_ENTRY | __pa(p4d) = TYPE_R1 0x0c | LENGTH 0x03
  // the pgd of 5level: gup_fast_pgd_range asks pgd_none only, not pgd_present
  // (origin != 0): an entry with INVALID clear and origin 0 is followed
  gupFastNoneOnly: true,
};

const region2: LevelKind = {
  ...regionDir,
  empty: 0x28n,        // p4d_none: val == _REGION2_ENTRY_EMPTY (TYPE_R2 0x08 | INVALID 0x20)
  // !p4d_bad: type R2 and no bit outside _REGION_ENTRY_BITS
  table: { mask: ['TT_LO', 'TT_HI', ...REGION_NOT_ENTRY_BITS], value: ['TT_HI'] },
  tableValue: 0x0bn,   // p4d_populate: _REGION2_ENTRY | __pa(pud) = TYPE_R2 0x08 | LENGTH 0x03
};

// __set_huge_pte_at on a protection: __pte_to_rste's moves (protToRste, then
// _PAGE_YOUNG -> _REGION3_ENTRY_YOUNG), then rste |= _REGION3_ENTRY_LARGE |
// _REGION_ENTRY_TYPE_R3. No kernel helper applies it to a region-third entry.
const region3Mkhuge = (present: 'drop' | 'keep'): OpSpec => [
  ...protToRste([], present),
  { if: { set: ['YOUNG'] }, set: ['R3_YOUNG'], clear: ['YOUNG'] },
  { set: ['R3_LARGE', 'TT_LO'] },
];
// mk_huge_pmd = pmd_mkhuge(mk_pmd(page, prot)) (include/linux/huge_mm.h).
// A pte-format protection is told apart by bit 0x04: _PAGE_YOUNG, which
// mk_pte sets in every protection, is _SEGMENT_ENTRY_TYPE_MASK's low bit,
// 0 in every segment entry. A protection gets massage_pgprot_pmd (the moves
// of protToRste, then _PAGE_YOUNG -> _SEGMENT_ENTRY_YOUNG); a segment entry
// gets pmd_mkhuge's PROTECT (a protection brings its own, see above);
// both get pmd_mkhuge's LARGE and YOUNG.
const segmentMkhuge = (present: 'drop' | 'keep'): OpSpec => [
  ...protToRste(['YOUNG'], present),
  { if: { clear: ['TT_LO'] }, set: ['SEG_PROTECT'] },
  { if: { set: ['YOUNG'] }, set: ['SEG_YOUNG'], clear: ['YOUNG'] },
  { set: ['SEG_LARGE', 'SEG_YOUNG'] },
];

// Region-third entries: a segment table, or (_REGION3_ENTRY_LARGE) a 2 GiB
// hugetlb page. s390 has no PUD THP (no HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD),
// and no pud_young, pud_mkyoung, pud_mkold, pud_protnone or pud_mkhuge:
// hugetlb reads and writes a region-third leaf as a pte, through
// huge_ptep_get = __rste_to_pte and set_huge_pte_at = __pte_to_rste
// (mm/hugetlbpage.c), so young, mkyoung and mkold here are pte_young,
// pte_mkyoung and pte_mkold seen through that conversion (the same rules as
// pmd_young, pmd_mkyoung, pmd_mkold).
const region3: LevelKind = {
  ...none,
  leafOk: true,
  empty: 0x24n,        // pud_none: val == _REGION3_ENTRY_EMPTY (TYPE_R3 0x04 | INVALID 0x20)
  present: { any: REGION_ORIGIN_BITS },                              // pud_present
  // !pud_bad: type R3, not a leaf, no bit outside _REGION_ENTRY_BITS
  table: { mask: ['TT_LO', 'TT_HI', ...REGION_NOT_ENTRY_BITS], value: ['TT_LO'] },
  leaf: { mask: ['TT_LO', 'TT_HI', 'R3_LARGE'], value: ['TT_LO', 'R3_LARGE'] },   // pud_leaf
  // pud_access_permitted(e, 0) = pud_present(e). pgtemu asks it of entries
  // that passed pud_present already and cannot let it read the frame field;
  // this form, some bit outside _REGION3_ENTRY_EMPTY below the 2 GiB origin,
  // holds on every entry the kernel builds (tables carry _REGION_ENTRY_LENGTH,
  // leaves _REGION3_ENTRY_LARGE) and fails on the empty entry.
  access: { any: R3_ACCESS_BITS },
  write: { set: ['R3_WRITE'] },                                      // pud_write
  special: 'never',    // pud_special: false without ARCH_SUPPORTS_PUD_PFNMAP (include/linux/mm.h)
  protnone: 'never',   // no pud_protnone; gup_fast_pud_leaf does not ask
  young: { set: ['R3_YOUNG'] },   // huge_ptep_get: _REGION3_ENTRY_YOUNG -> _PAGE_YOUNG, pte_young
  dirty: { set: ['R3_DIRTY'] },   // huge_ptep_get: _REGION3_ENTRY_DIRTY -> _PAGE_DIRTY, pte_dirty
  tableAddr: { mask: REGION_ORIGIN, shift: 12, paShift: 12 },        // pud_deref: _REGION_ENTRY_ORIGIN
  leafAddr: { mask: REGION3_ORIGIN_LARGE, shift: 31, paShift: 31 },  // pud_deref: _REGION3_ENTRY_ORIGIN_LARGE
  tableBits: [],
  tableValue: 0x07n,   // pud_populate: _REGION3_ENTRY | __pa(pmd) = TYPE_R3 0x04 | LENGTH 0x03
  ops: {
    // pud_mkwrite: set WRITE; a dirty entry loses PROTECT
    mkwrite: [{ set: ['R3_WRITE'] }, { if: { set: ['R3_DIRTY'] }, clear: ['R_PROTECT'] }],
    // pud_wrprotect: clear WRITE, set PROTECT
    wrprotect: [{ clear: ['R3_WRITE'], set: ['R_PROTECT'] }],
    // pud_mkdirty: set DIRTY | SOFT_DIRTY; a writable entry loses PROTECT
    mkdirty: [{ set: ['R3_DIRTY', 'R3_SOFT_DIRTY'] }, { if: { set: ['R3_WRITE'] }, clear: ['R_PROTECT'] }],
    // pud_mkclean: clear DIRTY, set PROTECT
    mkclean: [{ clear: ['R3_DIRTY'], set: ['R_PROTECT'] }],
    // pte_mkyoung through __rste_to_pte / __pte_to_rste: set YOUNG; a readable entry loses INVALID
    mkyoung: [{ set: ['R3_YOUNG'] }, { if: { set: ['R3_READ'] }, clear: ['R_INVALID'] }],
    // pte_mkold through the same conversion: clear YOUNG, set INVALID
    mkold: [{ clear: ['R3_YOUNG'], set: ['R_INVALID'] }],
    mkspecial: [],     // pud_mkspecial: identity without ARCH_SUPPORTS_PUD_PFNMAP (include/linux/mm.h)
    mkhuge: region3Mkhuge('drop'),   // __set_huge_pte_at on a protection (v6.12)
  },
};

// Segment entries: a page table, or (_SEGMENT_ENTRY_LARGE) a 1 MiB page (THP
// or hugetlb).
const segment: LevelKind = {
  ...none,
  leafOk: true,
  empty: 0x20n,        // pmd_none: val == _SEGMENT_ENTRY_EMPTY (_SEGMENT_ENTRY_INVALID)
  present: 'always',   // pmd_present: val != _SEGMENT_ENTRY_EMPTY, i.e. not pmd_none
  // !pmd_bad: type 00, not a leaf, no bit outside _SEGMENT_ENTRY_BITS
  table: { mask: ['TT_LO', 'TT_HI', 'SEG_LARGE', ...SEGMENT_NOT_ENTRY_BITS], value: [] },
  leaf: { set: ['SEG_LARGE'] },                                      // pmd_leaf
  // pmd_access_permitted(e, 0) = pmd_present(e) = (val != _SEGMENT_ENTRY_EMPTY),
  // read on the bits below the 1 MiB origin (pgtemu does not let it read the
  // frame field): INVALID clear, or some other low bit set
  access: { or: [{ clear: ['SEG_INVALID'] }, { any: SEG_ACCESS_BITS }] },
  write: { set: ['SEG_WRITE'] },                                     // pmd_write
  special: 'never',    // pmd_special: false without ARCH_SUPPORTS_PMD_PFNMAP (include/linux/mm.h)
  // pmd_protnone (CONFIG_NUMA_BALANCING): pmd_leaf && !(val & _SEGMENT_ENTRY_READ)
  protnone: { mask: ['SEG_LARGE', 'SEG_READ'], value: ['SEG_LARGE'] },
  young: { set: ['SEG_YOUNG'] },                                     // pmd_young
  dirty: { set: ['SEG_DIRTY'] },                                     // pmd_dirty
  tableAddr: { mask: SEGMENT_ORIGIN, shift: 11, paShift: 11 },       // pmd_deref: _SEGMENT_ENTRY_ORIGIN
  leafAddr: { mask: SEGMENT_ORIGIN_LARGE, shift: 20, paShift: 20 },  // pmd_deref: _SEGMENT_ENTRY_ORIGIN_LARGE
  tableBits: [],       // pmd_populate: _SEGMENT_ENTRY (0) | __pa(pte)
  ops: {
    // pmd_mkwrite_novma: set WRITE; a dirty entry loses PROTECT
    mkwrite: [{ set: ['SEG_WRITE'] }, { if: { set: ['SEG_DIRTY'] }, clear: ['SEG_PROTECT'] }],
    // pmd_wrprotect: clear WRITE, set PROTECT
    wrprotect: [{ clear: ['SEG_WRITE'], set: ['SEG_PROTECT'] }],
    // pmd_mkdirty: set DIRTY | SOFT_DIRTY; a writable entry loses PROTECT
    mkdirty: [{ set: ['SEG_DIRTY', 'SEG_SOFT_DIRTY'] }, { if: { set: ['SEG_WRITE'] }, clear: ['SEG_PROTECT'] }],
    // pmd_mkclean: clear DIRTY, set PROTECT
    mkclean: [{ clear: ['SEG_DIRTY'], set: ['SEG_PROTECT'] }],
    // pmd_mkyoung: set YOUNG; a readable entry loses INVALID
    mkyoung: [{ set: ['SEG_YOUNG'] }, { if: { set: ['SEG_READ'] }, clear: ['SEG_INVALID'] }],
    // pmd_mkold: clear YOUNG, set INVALID
    mkold: [{ clear: ['SEG_YOUNG'], set: ['SEG_INVALID'] }],
    mkspecial: [],     // pmd_mkspecial: identity without ARCH_SUPPORTS_PMD_PFNMAP (include/linux/mm.h)
    mkhuge: segmentMkhuge('drop'),   // mk_huge_pmd (v6.12)
  },
};

// Swap entries, v6.12 arch/s390/include/asm/pgtable.h ("64 bit swap entry format";
// the same in v6.1; the comment numbers bits from the left, IBM style):
//   mk_swap_pte(type, offset) = _PAGE_INVALID | _PAGE_PROTECT
//     | (offset & ((1UL << 52) - 1)) << 12 | (type & 0x1f) << 2
//   offset in bits 12..63 (__SWP_OFFSET_SHIFT 12, 52 bits), type in bits 2..6
//   (__SWP_TYPE_SHIFT 2); a swap pte is (pte & 0x201) == 0x200 (pte_swap): PROTECT set,
//   PRESENT clear. __swp_entry_to_pte is the identity.
// v6.13..v6.17: the same layout assumed (UNVERIFIED from those trees).
const swap = {
  type: { mask: 0x7cn, shift: 2 },
  offset: { mask: 0xffff_ffff_ffff_f000n, shift: 12 },
  set: ['INVALID', 'PROTECT'],
  clear: ['PRESENT'],
  exclusive: 'LARGE',        // _PAGE_SWP_EXCLUSIVE = _PAGE_LARGE 0x800, bit 11
  softDirty: 'SOFT_DIRTY',   // pte_swp_soft_dirty = pte_soft_dirty: _PAGE_SOFT_DIRTY 0x002 (CONFIG_MEM_SOFT_DIRTY)
  cite: 'v6.12 arch/s390/include/asm/pgtable.h mk_swap_pte, __swp_type, __swp_offset, pte_swap',
} as const;

const pte: LevelKind = {
  ...none,
  empty: 0x400n,       // pte_none: val == _PAGE_INVALID (pte_clear; page_table_alloc memset64)
  present: { set: ['PRESENT'] },                                     // pte_present
  table: 'never',
  leaf: 'always',
  access: { set: ['PRESENT'] },   // generic pte_access_permitted: pte_present && (!write || pte_write)
  write: { set: ['WRITE'] },                                         // pte_write
  special: { set: ['SPECIAL'] },                                     // pte_special
  // pte_protnone (CONFIG_NUMA_BALANCING): pte_present && !(val & _PAGE_READ)
  protnone: { mask: ['PRESENT', 'READ'], value: ['PRESENT'] },
  young: { set: ['YOUNG'] },                                         // pte_young
  dirty: { set: ['DIRTY'] },                                         // pte_dirty
  tableAddr: { mask: PTE_ORIGIN, shift: 12, paShift: 12 },
  leafAddr: { mask: PTE_ORIGIN, shift: 12, paShift: 12 },            // pte_pfn
  tableBits: [],
  swap,
};

// ---------------------------------------------------------------- the MMU's view
// z/Architecture Principles of Operation (SA22-7832), chapter 3 "Dynamic Address
// Translation": "Translation Entries" (region-, segment- and page-table entry
// formats) and "Translation Process". Bit positions below are the kernel's
// (bit 0 least significant; PoP numbers from the most significant bit, so
// PoP bit 58 is 0x20 here). Region entries: I (0x20) set is invalid (region-
// first/second/third-translation exception); TT (0x0c) must match the table's
// level, else a translation-specification exception; with EDAT-2, a region-third
// entry with FC (0x400) maps a 2 GiB frame (RFAA). Segment entries: I (0x20)
// set is invalid; TT must be 00; with EDAT-1, FC (0x400) maps a 1 MiB frame
// (SFAA). Page-table entries: I (0x400) set is invalid (page-translation
// exception); bit 0x800 (PoP bit 52) must be zero, else a translation-
// specification exception. Not modelled: the table offset / length fields
// (TF, TL) of region entries and the ASCE (the kernel always sets full length,
// and the test is on the index, not the entry), DAT protection, ACCF/FSC.
const R_ORIGIN = { mask: REGION_ORIGIN, shift: 12, paShift: 12 } as const;
const regionHw = (tt: string[], cite: string): HwLevelSpec => ({
  leafOk: false,
  valid: { clear: ['R_INVALID'] },
  table: { mask: ['TT_LO', 'TT_HI'], value: tt },
  leaf: 'never',
  tableAddr: R_ORIGIN,
  cite,
});
const region3Hw: HwLevelSpec = {
  leafOk: true,
  valid: { clear: ['R_INVALID'] },
  table: { mask: ['TT_LO', 'TT_HI', 'R3_LARGE'], value: ['TT_LO'] },
  leaf: { mask: ['TT_LO', 'TT_HI', 'R3_LARGE'], value: ['TT_LO', 'R3_LARGE'] },
  tableAddr: R_ORIGIN,
  leafAddr: { mask: REGION3_ORIGIN_LARGE, shift: 31, paShift: 31 },
  cite: 'z/Architecture PoP ch. 3, Region-Third-Table Entries (FC = 1 with EDAT-2: 2 GiB frame)',
};
const segmentHw: HwLevelSpec = {
  leafOk: true,
  valid: { clear: ['SEG_INVALID'] },
  table: { mask: ['TT_LO', 'TT_HI', 'SEG_LARGE'], value: [] },
  leaf: { mask: ['TT_LO', 'TT_HI', 'SEG_LARGE'], value: ['SEG_LARGE'] },
  tableAddr: { mask: SEGMENT_ORIGIN, shift: 11, paShift: 11 },
  leafAddr: { mask: SEGMENT_ORIGIN_LARGE, shift: 20, paShift: 20 },
  cite: 'z/Architecture PoP ch. 3, Segment-Table Entries (FC = 1 with EDAT-1: 1 MiB frame)',
};
const pteHw: HwLevelSpec = {
  leafOk: true,
  valid: { clear: ['INVALID'] },
  table: 'never',
  leaf: { clear: ['LARGE'] },          // PoP bit 52 must be zero
  leafAddr: { mask: PTE_ORIGIN, shift: 12, paShift: 12 },
  cite: 'z/Architecture PoP ch. 3, Page-Table Entries (I bit; bit 52 zero)',
};
const r1Hw = regionHw(['TT_LO', 'TT_HI'], 'z/Architecture PoP ch. 3, Region-First-Table Entries (TT = 11)');
const r2Hw = regionHw(['TT_HI'], 'z/Architecture PoP ch. 3, Region-Second-Table Entries (TT = 10)');
// The ASCE's designation type bounds the address: a region-third table covers
// 4 TiB (bits 63:42 zero), region-second 8 PiB (bits 63:53 zero), region-first
// all 64 bits; beyond is an ASCE-type exception (PoP ch. 3, "ASCE-Type Exception").
const asce = (lo: number): HardwareSpec['va'] => (lo === 64
  ? { rule: 'all', lo: 0, hi: 0, cite: 'z/Architecture PoP ch. 3 (region-first ASCE: every address)' }
  : { rule: 'zero', lo, hi: 63, cite: 'z/Architecture PoP ch. 3, ASCE-Type Exception (address beyond the designated table)' });

export const s390: ArchData = {
  arch: 's390',
  source: 'v6.12 arch/s390/include/asm/pgtable.h, pgalloc.h, mmu_context.h, processor.h, sparsemem.h, hugetlb.h; arch/s390/mm/pgalloc.c, mmap.c, hugetlbpage.c; from v6.13 segment and region-third entries as in v7.2',
  bigEndian: true,     // z/Architecture is big-endian; entries are native 64-bit words
  defaultVariant: '3level',
  bits: {
    // pte: hardware bits
    NOEXEC: 8,         // _PAGE_NOEXEC 0x100
    PROTECT: 9,        // _PAGE_PROTECT 0x200 (HW read-only)
    INVALID: 10,       // _PAGE_INVALID 0x400 (HW invalid)
    LARGE: 11,         // _PAGE_LARGE 0x800 (hugetlb pte in pte format; = _PAGE_SWP_EXCLUSIVE)
    // pte: software bits (_PAGE_SW_BITS 0xff)
    PRESENT: 0,        // _PAGE_PRESENT 0x001
    SOFT_DIRTY: 1,     // _PAGE_SOFT_DIRTY 0x002 (CONFIG_MEM_SOFT_DIRTY; 0 without it)
    YOUNG: 2,          // _PAGE_YOUNG 0x004
    DIRTY: 3,          // _PAGE_DIRTY 0x008
    READ: 4,           // _PAGE_READ 0x010
    WRITE: 5,          // _PAGE_WRITE 0x020
    SPECIAL: 6,        // _PAGE_SPECIAL 0x040
    UNUSED: 7,         // _PAGE_UNUSED 0x080
    // region and segment entries: the table type field, _REGION_ENTRY_TYPE_MASK
    // = _SEGMENT_ENTRY_TYPE_MASK 0x0c: R1 0x0c, R2 0x08, R3 0x04, segment 0x00
    TT_LO: 2,          // 0x04
    TT_HI: 3,          // 0x08
    // segment entries, as in v6.12 (from v6.13: see `eras`)
    SEG_READ: 0,       // _SEGMENT_ENTRY_READ 0x0001 (SW)
    SEG_WRITE: 1,      // _SEGMENT_ENTRY_WRITE 0x0002 (SW)
    SEG_INVALID: 5,    // _SEGMENT_ENTRY_INVALID 0x20
    SEG_NOEXEC: 8,     // _SEGMENT_ENTRY_NOEXEC 0x100
    SEG_PROTECT: 9,    // _SEGMENT_ENTRY_PROTECT 0x200
    SEG_LARGE: 10,     // _SEGMENT_ENTRY_LARGE 0x0400 (STE-format control)
    SEG_YOUNG: 12,     // _SEGMENT_ENTRY_YOUNG 0x1000 (SW)
    SEG_DIRTY: 13,     // _SEGMENT_ENTRY_DIRTY 0x2000 (SW)
    SEG_SOFT_DIRTY: 14,   // _SEGMENT_ENTRY_SOFT_DIRTY 0x4000 (CONFIG_MEM_SOFT_DIRTY)
    // region entries
    R_INVALID: 5,      // _REGION_ENTRY_INVALID 0x20
    R_NOEXEC: 8,       // _REGION_ENTRY_NOEXEC 0x100
    R_PROTECT: 9,      // _REGION_ENTRY_PROTECT 0x200
    R3_READ: 0,        // _REGION3_ENTRY_READ 0x0001 (SW)
    R3_WRITE: 1,       // _REGION3_ENTRY_WRITE 0x0002 (SW)
    R3_LARGE: 10,      // _REGION3_ENTRY_LARGE 0x0400 (RTTE-format control)
    R3_YOUNG: 12,      // _REGION3_ENTRY_YOUNG 0x1000 (SW)
    R3_DIRTY: 13,      // _REGION3_ENTRY_DIRTY 0x2000 (SW)
    R3_SOFT_DIRTY: 14,    // _REGION3_ENTRY_SOFT_DIRTY 0x4000 (CONFIG_MEM_SOFT_DIRTY)
  },
  // From v6.13 the segment and region-third entries have a software PRESENT bit
  // and READ / WRITE / SOFT_DIRTY elsewhere. Four commits of Gerald Schaefer's in
  // the 6.13 merge window ("[GIT PULL] more s390 updates for 6.13 merge window",
  // tag s390-6.13-2): ae1b9fb2d556 "s390/mm: Rearrange region-third and segment
  // table entry SW bits", 03e6db16b808 "... Introduce region-third and segment
  // table entry present bits", f934f6be76c1 "... Introduce region-third and
  // segment table swap entries", 487ef5d4d912 "... Add PTE_MARKER support for
  // hugetlbfs mappings" (hugetlb swap entries, for UFFDIO_POISON). The values
  // are read from v7.2 (Debian linux-source-7.2) arch/s390/include/asm/pgtable.h,
  // pgalloc.h and arch/s390/mm/hugetlbpage.c; no v6.13..v6.17 tree was read, so
  // that they were already so in v6.13 is inferred from the commits' subjects
  // and from the swap entries (type in bits 6..10, LARGE among them, so
  // pmd_leaf / pud_leaf must test PRESENT once they exist). pte entries did not
  // change. Not modelled: the segment / region-third swap entries themselves
  // (_RST_ENTRY_COMM 0x10 | INVALID, type << 6, offset << 12); pgtemu has swap
  // entries at the last level only.
  eras: [{
    from: 'v6.13',
    // SECTION_SIZE_BITS 27 (v7.2 sparsemem.h; 28 in v6.12): e3a6970b7daf "s390/sparsemem:
    // Reduce section size to 128 MiB" (David Hildenbrand's virtio-mem series), pushed to
    // the s390 tree's for-next on 2024-11-07, so the 6.13 merge window too
    sectionSizeBits: 27,
    bits: {
      SEG_PRESENT: 0,      // _SEGMENT_ENTRY_PRESENT 0x0001 (SW)
      SEG_SOFT_DIRTY: 1,   // _SEGMENT_ENTRY_SOFT_DIRTY 0x0002 (CONFIG_MEM_SOFT_DIRTY)
      SEG_READ: 14,        // _SEGMENT_ENTRY_READ 0x4000 (SW)
      SEG_WRITE: 15,       // _SEGMENT_ENTRY_WRITE 0x8000 (SW)
      // _REGION3_ENTRY_PRESENT 0x0001: "For non-leaf region-third-table entries,
      // bits 62-63 indicate the TABLE LENGTH and both must be set to 1 ... so it
      // is safe to use bit 63 as PRESENT bit for PUD" (IBM bit 63 = 0x1)
      R3_PRESENT: 0,
      R3_SOFT_DIRTY: 1,    // _REGION3_ENTRY_SOFT_DIRTY 0x0002
      R3_READ: 14,         // _REGION3_ENTRY_READ 0x4000
      R3_WRITE: 15,        // _REGION3_ENTRY_WRITE 0x8000
    },
    kinds: {
      region3: {
        present: { set: ['R3_PRESENT'] },       // pud_present: val & _REGION3_ENTRY_PRESENT (type R3)
        access: { set: ['R3_PRESENT'] },        // pud_access_permitted(e, 0) = pud_present(e)
        // pud_leaf: type R3 && pud_present && (val & _REGION3_ENTRY_LARGE)
        leaf: { mask: ['TT_LO', 'TT_HI', 'R3_PRESENT', 'R3_LARGE'], value: ['TT_LO', 'R3_PRESENT', 'R3_LARGE'] },
        // (!pud_bad as before: LARGE is outside _REGION_ENTRY_BITS, so a leaf
        // fails the bit test whether pud_leaf says so or not; tableValue 0x07 is
        // _REGION3_ENTRY = TYPE_R3 | LENGTH | PRESENT)
        ops: { mkhuge: region3Mkhuge('keep') },   // __pte_to_rste: rste |= _SEGMENT_ENTRY_PRESENT
      },
      segment: {
        present: { set: ['SEG_PRESENT'] },      // pmd_present: val & _SEGMENT_ENTRY_PRESENT
        access: { set: ['SEG_PRESENT'] },       // pmd_access_permitted(e, 0) = pmd_present(e)
        // !pmd_bad: type 00, not pmd_leaf (which now needs PRESENT), no bit
        // outside _SEGMENT_ENTRY_BITS
        table: {
          or: [
            { mask: ['TT_LO', 'TT_HI', 'SEG_LARGE', ...SEGMENT_NOT_ENTRY_BITS], value: [] },
            { mask: ['TT_LO', 'TT_HI', 'SEG_PRESENT', ...SEGMENT_NOT_ENTRY_BITS], value: [] },
          ],
        },
        leaf: { mask: ['SEG_PRESENT', 'SEG_LARGE'], value: ['SEG_PRESENT', 'SEG_LARGE'] },   // pmd_leaf
        // pmd_protnone: pmd_leaf && !(val & _SEGMENT_ENTRY_READ)
        protnone: { mask: ['SEG_PRESENT', 'SEG_LARGE', 'SEG_READ'], value: ['SEG_PRESENT', 'SEG_LARGE'] },
        tableBits: ['SEG_PRESENT'],             // pmd_populate: _SEGMENT_ENTRY (_SEGMENT_ENTRY_PRESENT) | __pa(pte)
        ops: { mkhuge: segmentMkhuge('keep') }, // massage_pgprot_pmd: SEGMENT_* carry PRESENT
      },
    },
  }],
  // 6.1.y pgtable.h:263-264 has _REGION3_ENTRY_READ 0x0002 and _REGION3_ENTRY_WRITE
  // 0x0001, the other way round from the segment bits (v6.12 has them equal:
  // "s390/pgtable: switch read and write softbits for puds", a release between
  // v6.2 and v6.12, UNVERIFIED). No era models that: 6.1's hugetlb paths build and
  // read region-third entries in pte format (set_huge_pte_at's __pte_to_rste and
  // huge_ptep_get's __rste_to_pte use the _SEGMENT_ENTRY_* masks at both levels),
  // and pgtemu's fault path follows them, with one set of predicates per level.
  // What pgtemu so does not show: 6.1's pud_write (the _REGION3_ENTRY_WRITE 0x1
  // test) reads a read-only 2 GiB hugetlb entry's READ as WRITE, and
  // gup_huge_pud's pud_access_permitted lets FOLL_WRITE pin it in gup-fast.
  history: {
    // _PAGE_SPECIAL / __HAVE_ARCH_PTE_SPECIAL: "s390: implement pte special
    // bit" (Carsten Otte), patch 6/7 of Nick Piggin's pte_special series
    // (<20080328015422.497634000@nick.local0.net>, 2008-03-28), whose generic
    // patch 7e675137a8e1 "mm: introduce pte_special pte bit" is in v2.6.26;
    // arch/s390/Kconfig selects ARCH_HAS_PTE_SPECIAL since v4.18 (3010a5ea665a).
    // The v2.6.26 tag for the s390 patch itself is inferred (UNVERIFIED).
    special: { from: 'v2.6.26' },
    // s390 never selected ARCH_HAS_PTE_DEVMAP (arch/s390/Kconfig); there is no devmap bit
    devmap: null,
    uffdWp: null,      // no HAVE_ARCH_USERFAULTFD_WP in v6.1 or v6.12 arch/s390/Kconfig
    // none of HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD, ARCH_SUPPORTS_HUGE_PFNMAP,
    // ARCH_WANT_OPTIMIZE_DAX_VMEMMAP in 6.1.y or v6.12 arch/s390/Kconfig
    thpPud: null,
    hugePfnmap: null,
    daxVmemmapOpt: null,
    // no ARCH_SUPPORTS_MEMORY_FAILURE in v6.12 or v7.2 (only x86, arm64, powerpc, parisc
    // select it): SWP_HWPOISON_NUM 0, MAX_SWAPFILES one higher (src/arch/swap.ts)
    memoryFailure: null,
  },
  kinds: { region1, region2, region3, segment, pte },
  ops: {
    // pte_mkwrite_novma: set WRITE; a dirty pte loses PROTECT
    mkwrite: [{ set: ['WRITE'] }, { if: { set: ['DIRTY'] }, clear: ['PROTECT'] }],
    // pte_wrprotect: clear WRITE, set PROTECT
    wrprotect: [{ clear: ['WRITE'], set: ['PROTECT'] }],
    // pte_mkdirty: set DIRTY | SOFT_DIRTY; a writable pte loses PROTECT
    mkdirty: [{ set: ['DIRTY', 'SOFT_DIRTY'] }, { if: { set: ['WRITE'] }, clear: ['PROTECT'] }],
    // pte_mkclean: clear DIRTY, set PROTECT
    mkclean: [{ clear: ['DIRTY'], set: ['PROTECT'] }],
    // pte_mkyoung: set YOUNG; a readable pte loses INVALID
    mkyoung: [{ set: ['YOUNG'] }, { if: { set: ['READ'] }, clear: ['INVALID'] }],
    // pte_mkold: clear YOUNG, set INVALID
    mkold: [{ clear: ['YOUNG'], set: ['INVALID'] }],
    mkspecial: [{ set: ['SPECIAL'] }],                 // pte_mkspecial
    mkdevmap: [],                                      // no pte_mkdevmap on s390
    // pte_mkhuge (CONFIG_HUGETLB_PAGE): the pte-format LARGE bit. pgtemu applies
    // mkhuge only at directory levels that hold leaves, and those (segment,
    // region-third) have their own above.
    mkhuge: [{ set: ['LARGE'] }],
  },
  // vm_get_page_prot (arch/s390/mm/mmap.c protection_map): VM_NONE -> PAGE_NONE,
  // VM_READ -> PAGE_RO, VM_READ|VM_WRITE (private, COW) -> PAGE_RO,
  // VM_SHARED|VM_READ|VM_WRITE -> PAGE_RW. v6.12 s390 has no PAGE_READONLY /
  // PAGE_COPY, and its PAGE_SHARED (young, dirty) is not what protection_map
  // uses. Each value is as mk_pte / pfn_pte hand it to the fault paths:
  // mk_pte_phys returns pte_mkyoung(physpage | prot), i.e. YOUNG set and, for
  // readable prots, INVALID cleared. (Modelled machine: MACHINE_HAS_NX, so
  // mk_pte_phys keeps NOEXEC; on older machines it is cleared.)
  prot: {
    // pte_mkyoung(PAGE_NONE = PRESENT | INVALID | PROTECT): READ clear, INVALID stays
    none: ['PRESENT', 'YOUNG', 'INVALID', 'PROTECT'],
    // pte_mkyoung(PAGE_RO = PRESENT | READ | NOEXEC | INVALID | PROTECT) = 0x315
    readonly: ['PRESENT', 'YOUNG', 'READ', 'NOEXEC', 'PROTECT'],
    copy: ['PRESENT', 'YOUNG', 'READ', 'NOEXEC', 'PROTECT'],
    // pte_mkyoung(PAGE_RW = PRESENT | READ | WRITE | NOEXEC | INVALID | PROTECT) = 0x335
    shared: ['PRESENT', 'YOUNG', 'READ', 'WRITE', 'NOEXEC', 'PROTECT'],
  },
  variants: {
    '3level': {
      description: '3-level task (a new mm): region-third, segment, page table; 42-bit (4 TiB) address space',
      pageShift: 12,
      vaBits: 42,
      userVaBits: 42,      // asce_limit = _REGION2_SIZE (init_new_context)
      sectionSizeBits: 28, // sparsemem.h SECTION_SIZE_BITS (v6.12; 27 from v6.13, see eras)
      maxPhysBits: 46,     // MAX_PHYSMEM_BITS = CONFIG_MAX_PHYSMEM_BITS, default 46 (arch/s390/Kconfig)
      levels: [
        { name: 'region3', kind: 'region3', shift: 31, indexBits: 11 },   // _REGION3_SHIFT, _CRST_ENTRIES
        { name: 'segment', kind: 'segment', shift: 20, indexBits: 11 },   // _SEGMENT_SHIFT
        { name: 'pte', kind: 'pte', shift: 12, indexBits: 8 },            // _PAGE_ENTRIES 256, 2 KiB
      ],
      hardware: { levels: [region3Hw, segmentHw, pteHw], va: asce(42) },
    },
    '4level': {
      description: '4-level task: region-second on top; 53-bit (8 PiB) address space',
      pageShift: 12,
      vaBits: 53,
      userVaBits: 53,      // crst_table_upgrade: asce_limit = _REGION1_SIZE
      sectionSizeBits: 28,
      maxPhysBits: 46,
      levels: [
        { name: 'region2', kind: 'region2', shift: 42, indexBits: 11 },   // _REGION2_SHIFT
        { name: 'region3', kind: 'region3', shift: 31, indexBits: 11 },
        { name: 'segment', kind: 'segment', shift: 20, indexBits: 11 },
        { name: 'pte', kind: 'pte', shift: 12, indexBits: 8 },
      ],
      hardware: { levels: [r2Hw, region3Hw, segmentHw, pteHw], va: asce(53) },
    },
    '5level': {
      description: '5-level task: region-first on top; 64-bit address space (user space capped at 2^63 here)',
      pageShift: 12,
      vaBits: 64,
      // The kernel's limit is TASK_SIZE_MAX = -PAGE_SIZE (processor.h), i.e.
      // 2^64 - 4 KiB. pgtemu's user space is [0, 1 << userVaBits) and the core
      // computes 1 << userVaBits in 64-bit arithmetic, so 64 cannot be
      // expressed; 63 is the largest bound that can.
      userVaBits: 63,
      sectionSizeBits: 28,
      maxPhysBits: 46,
      levels: [
        { name: 'region1', kind: 'region1', shift: 53, indexBits: 11 },   // _REGION1_SHIFT
        { name: 'region2', kind: 'region2', shift: 42, indexBits: 11 },
        { name: 'region3', kind: 'region3', shift: 31, indexBits: 11 },
        { name: 'segment', kind: 'segment', shift: 20, indexBits: 11 },
        { name: 'pte', kind: 'pte', shift: 12, indexBits: 8 },
      ],
      hardware: { levels: [r1Hw, r2Hw, region3Hw, segmentHw, pteHw], va: asce(64) },
    },
  },
};
