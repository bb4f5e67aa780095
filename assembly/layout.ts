// The one definition of every structure pgtemu keeps in shared memory.
//
// The host never types an offset: it reads the exported constants below from
// the instance (src/host/layout.ts builds its view from them by name).
// Every structure lives at an offset the host computed when it laid out the
// machine; the core is handed those offsets through the machine header.
//
// Shared memory, low to high:
//
//   [0, RESERVE)            the module's own static data (read-only constants)
//   Header                  one per machine (below)
//   ArchDesc + levels       the architecture variant, as data
//   Ctx x ctxCount          one per thread: arguments, results, output array
//   Mm x mmCount            address spaces, each with its Vma array
//   op log, violations      ring of recent operations; invariant reports
//   section roots           sparse memmap: root -> section -> struct pages
//   memmap arena            struct page arrays, one block per present section
//   pool units              table-pool metadata, one PoolUnit per smallest table
//   pool links              the link index: per 8-byte pool slot, the table its entry linked
//   table pool              RAM frames [0, poolBytes) really backed: va = poolBase + pa
//
// Nothing the allocator needs lives inside the pool: its free lists, block
// orders and the ownership of every table are in the PoolUnit array, so
// bytes written into the pool (writePhys) can never corrupt it.

export const RESERVE: u32 = 1 << 20;
export const MAGIC: u32 = 0x70677465; // "pgte"

// ---------------------------------------------------------------- header
@unmanaged export class Header {
  magic: u32;
  version: u32;
  model: u32;            // MODEL_LEGACY / MODEL_UNIFIED
  /** @core */ flags: u32;
  arch: u32;             // -> ArchDesc (the kernel's view: pXd_present & co)
  archHw: u32;           // -> ArchDesc of the same geometry: what the MMU makes of an entry
  ctxBase: u32;
  ctxCount: u32;
  ctxSize: u32;
  mmBase: u32;
  mmCount: u32;
  vmaPerMm: u32;
  opLogBase: u32;
  opLogSize: u32;        // entries per context, power of two
  _padOp: u32;
  violBase: u32;
  violCap: u32;
  /** @core */ violCount: u32;        // atomic
  sectionRoots: u32;     // u32[nrRoots] -> u32[SECTIONS_PER_ROOT] -> memmap block
  nrRoots: u32;
  sectionShift: u32;     // PFN_SECTION_SHIFT = SECTION_SIZE_BITS - PAGE_SHIFT
  rootShift: u32;        // log2(SECTIONS_PER_ROOT)
  memmapArena: u32;
  memmapArenaEnd: u32;
  memmapArenaNext: u32;  // bump pointer, under memmapLock
  /** @core */ memmapLock: u32;
  poolBase: u32;         // va of table-pool pa 0
  poolBytes: u32;
  poolUnits: u32;        // PoolUnit per pool unit (the smallest table)
  poolLinks: u32;        // u32 per 8-byte pool slot: pa + 1 of the table the entry there linked (0: none)
  poolMinShift: u32;     // log2(smallest table) = pool unit
  poolMaxShift: u32;     // log2(largest table)
  /** @core */ poolLock: u32;
  /** @core */ poolFreeBytes: u32;
  // The lowest pa the pool has handed out or a raw write claimed (poolBytes
  // until then), under poolLock: the link index has no slot set below it
  // but the raw prefix's, so the checker need not read (and fault in) the rest.
  /** @core */ poolLow: u32;
  /** @core */ zoneLock: u32;
  zoneMaxOrder: u32;
  /** @core */ hugeZeroLock: u32;     // huge_zero_lock
  /** @core */ zoneStartPfn: u64;     // first buddy-managed RAM pfn (above the table pool)
  /** @core */ zoneEndPfn: u64;
  /** @core */ zoneFreePages: u64;    // atomic
  ramPfns: u64;          // RAM is pfn [0, ramPfns)
  /** @core */ zeroPfn: u64;          // the shared zero page
  /** @core */ hugeZeroPfn: u64;      // atomic: huge_zero_pfn, the huge zero folio (0 until first use; pfn 0 is never a folio)
  /** @core */ statTlbFlushes: u64;
  /** @core */ statTablesFreed: u64;
  /** @core */ statFaults: u64;
  // The kernel preset's ZONE_DEVICE switches (src/host/presets.ts); model.ts
  // reads them once at attach.
  pgmapPageRefs: u32;    // device-private/coherent pages hold a pgmap reference each (v6.1 on)
  devmapCode: u32;       // pXd_devmap code, and ZONE_DEVICE depends on ARCH_HAS_PTE_DEVMAP (until v6.16)
  daxHugeSpecial: u32;   // DAX PMD/PUD entries are pXd_special (v6.15, v6.16)
  fsDaxLimited: u32;     // CONFIG_FS_DAX_LIMITED (s390 until v6.14)
  whatIf: u32;           // WHATIF_*: a named model that is no kernel release
  zoneDevice: u32;       // CONFIG_ZONE_DEVICE: memremap_pages is possible at all
  pgmapBase: u32;        // Pgmap[pgmapCap]: the pgmap_array (get_dev_pagemap looks up by pfn)
  pgmapCap: u32;
  /** @core */ pgmapLock: u32;        // memremap/memunmap (mem_hotplug_lock and the pgmap_array's lock)
  /** @core */ pgmapSeq: u32;         // the last Pgmap.gen handed out
  daxVmemmapOpt: u32;    // vmemmap_can_optimize may say yes (CONFIG_ARCH_WANT_OPTIMIZE_DAX_VMEMMAP: the arch's history.daxVmemmapOpt)
  thpPud: u32;           // CONFIG_HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD (history.thpPud): PUD-sized DAX faults
  pfnmapLevels: u32;     // bit l: pXd_mkspecial exists at level l (ARCH_SUPPORTS_PMD_PFNMAP / _PUD_PFNMAP)
  daxBase: u32;          // DaxFile[daxCap]: the FS-DAX files (inode and address_space in one)
  daxCap: u32;
  daxArena: u32;         // their DAX entries and extents, taken from daxArenaNext up to daxArenaEnd
  daxArenaEnd: u32;
  daxArenaNext: u32;
  /** @core */ daxLock: u32;          // the files' i_pages lock (xa_lock_irq) and file creation; taken inside an mm lock
  /** @core */ daxSeq: u32;           // the last DaxFile.gen handed out
  _daxPad: u32;
}
export const HEADER_SIZE: u32 = 4096;
// Arrays that follow the fixed fields inside the header page.
export const H_POOL_FREE: u32 = 1024;          // u32[32]: free-list head (pool va) per pool order
export const H_ZONE_FREE: u32 = 1152;          // u32[32]: free-list head (struct page) per buddy order
export const H_ZONE_COUNT: u32 = 1280;         // u32[32]: free blocks per buddy order
export const MAX_ORDERS: u32 = 32;

export const MODEL_LEGACY: u32 = 0;
export const MODEL_UNIFIED: u32 = 1;

/** no what-if: the kernel release as it was */
export const WHATIF_NONE: u32 = 0;
/** the 2021 thread's model: ZONE_DEVICE without a devmap bit; pte_special sends gup-fast to the slow path, which finds the pgmap through the DAX VMA */
export const WHATIF_DEVMAP_LESS: u32 = 1;

// ---------------------------------------------------------------- dev_pagemap
// struct dev_pagemap (include/linux/memremap.h, v6.12), one range. Its
// percpu_ref is one shared atomic word, as the ref is in atomic mode after
// percpu_ref_kill: the count, and PGMAP_REF_DEAD (__PERCPU_REF_DEAD) once
// killed, so that a tryget_live racing the kill resolves exactly once.
@unmanaged export class Pgmap {
  ref: i64;              // percpu_ref: count | PGMAP_REF_DEAD
  startPfn: u64;         // range.start >> PAGE_SHIFT
  endPfn: u64;           // (range.end + 1) >> PAGE_SHIFT
  type: u32;             // MEMORY_DEVICE_*
  state: u32;            // PGMAP_*
  vmemmapShift: u32;     // folio order of its compound pages
  done: u32;             // struct completion: 1 once ref reached zero (a futex word)
  gen: u32;              // which memremap this slot holds (a handle names slot and gen)
  memmap: u32;           // -> its struct pages, one block for the whole range
  aux: u32;              // -> their checker counters (0 when vmemmap-optimised: in each folio's block)
  dedup: u32;            // vmemmap-optimised: one DEDUP_BLOCK per folio (mem.ts)
  bulkRefs: u64;         // the setup references (pfn_len) not yet put
  pageFree: u64;         // ops->page_free calls
  driverPages: i64;      // pages handed out by zone_device_page_init and not yet freed
  destroyedInUse: u64;   // pages still referenced when pageunmap_range removed them
  destroyedInUsePfn: u64; // the first of those
}
export const PGMAP_SIZE: u32 = offsetof<Pgmap>();
export const PGMAP_REF_DEAD: i64 = (<i64>1) << 62;
export const PGMAP_MAX: u32 = 64;
export const DAX_FILES_MAX: u32 = 64;   // FS-DAX files a machine holds (Header.daxCap)

// enum memory_type (include/linux/memremap.h)
export const MEMORY_DEVICE_PRIVATE: u32 = 1;
export const MEMORY_DEVICE_COHERENT: u32 = 2;
export const MEMORY_DEVICE_FS_DAX: u32 = 3;
export const MEMORY_DEVICE_GENERIC: u32 = 4;
export const MEMORY_DEVICE_PCI_P2PDMA: u32 = 5;

// A pgmap's life: memremap_pages -> LIVE; memunmap_pages: percpu_ref_kill ->
// DYING; the last put (dev_pagemap_percpu_release) -> DRAINED;
// pageunmap_range -> DESTROYED (its struct pages poisoned and out of reach).
export const PGMAP_FREE: u32 = 0;
export const PGMAP_LIVE: u32 = 1;
export const PGMAP_DYING: u32 = 2;
export const PGMAP_DRAINED: u32 = 3;
export const PGMAP_DESTROYED: u32 = 4;

// pgmapRef()'s operation (percpu_ref_*), for the host's Pgmap handle.
export const PREF_GET: u32 = 0;
export const PREF_TRYGET: u32 = 1;
export const PREF_TRYGET_LIVE: u32 = 2;
export const PREF_PUT: u32 = 3;
export const PREF_READ: u32 = 4;

// A vmemmap-optimised compound folio (vmemmap_can_optimize, v6.12
// mm/sparse-vmemmap.c vmemmap_populate_compound_pages): the kernel keeps two
// vmemmap pages per folio and maps every further one to the second, so all
// tails past the first vmemmap page share struct pages. pgtemu keeps what
// differs: the head, page[1] (the folio's fields), one tail every other tail
// shares, and the folio's checker counters (mem.ts dedupPage).
export const DEDUP_BLOCK: u32 = 256;
export const DEDUP_AUX: u32 = 192;
export const VMEMMAP_RESERVE_NR: u32 = 2;      // include/linux/mm.h
// A section entry's memmap pointer with this bit set: the section's folios are
// vmemmap-optimised, and the entry's second word holds their order.
export const SEC_DEDUP: u32 = 1;

// PAGE_POISON_PATTERN (include/linux/mm.h, -1l): what page_init_poison fills a
// memmap with; pgtemu fills a removed pgmap's struct pages with it.
export const PAGE_POISON_BYTE: u8 = 0xff;

// ---------------------------------------------------------------- arch descriptor
// A predicate over an entry value: (e & m1) == v1 || (e & m2) == v2 || (e & any) != 0.
// An unused alternative is m = 0, v = 1 (never); "never" has all three unused.
@unmanaged export class Pred {
  m1: u64;
  v1: u64;
  m2: u64;
  v2: u64;
  any: u64;
}
export const PRED_SIZE: u32 = offsetof<Pred>();

// Predicate indices within a level.
export const P_PRESENT: u32 = 0;   // pXd_present
export const P_TABLE: u32 = 1;     // present entry points to a next-level table
export const P_LEAF: u32 = 2;      // present entry maps memory (pXd_leaf / any pte)
export const P_ACCESS: u32 = 3;    // pXd_access_permitted(e, false)
export const P_WRITE: u32 = 4;     // pXd_write
export const P_SPECIAL: u32 = 5;   // pXd_special
export const P_DEVMAP: u32 = 6;    // pXd_devmap
export const P_PROTNONE: u32 = 7;  // pXd_protnone
export const P_YOUNG: u32 = 8;
export const P_DIRTY: u32 = 9;
export const P_USER: u32 = 10;
export const P_INVERT: u32 = 11;   // pfn bits stored inverted (x86 L1TF), if also non-zero
export const NPRED: u32 = 12;

// Leaf templates: flag bits OR'd with the encoded pfn when the core installs a leaf.
export const T_RO: u32 = 0;        // present, user, young, read-only
export const T_RW: u32 = 1;        // present, user, young, dirty, writable
export const T_SPECIAL_RO: u32 = 2;
export const T_SPECIAL_RW: u32 = 3;
export const T_DEVMAP_RO: u32 = 4;
export const T_DEVMAP_RW: u32 = 5;
export const NTEMPLATE: u32 = 8;

@unmanaged export class ArchDesc {
  nLevels: u32;
  pageShift: u32;
  vaBits: u32;
  userVaBits: u32;       // user addresses are [0, 1 << userVaBits)
  bigEndian: u32;        // entries stored big-endian (ppc64, s390)
  hasSpecial: u32;       // CONFIG_ARCH_HAS_PTE_SPECIAL
  hasDevmap: u32;        // CONFIG_ARCH_HAS_PTE_DEVMAP in this variant/preset
  entryBytes: u32;
  // The VA range the root translates (the hardware image only; 0 in the kernel's):
  // va & vaCheckMask must be 0, or (vaSignExtend) equal to vaCheckMask as well.
  vaCheckMask: u64;
  vaSignExtend: u32;
  _vaPad: u32;
  // Swap entries at the last level (swp_entry_to_pte: the arch's __swp_entry then
  // __swp_entry_to_pte; src/arch/<arch> `swap`, compiled by src/host/archdesc.ts):
  //   e = ((type << swpTypeShift) & swpTypeMask)
  //     | (((offset << swpOffsetShift) & swpOffsetMask) ^ swpOffsetXor) | swpSet
  swpTypeMask: u64;
  swpOffsetMask: u64;
  swpOffsetXor: u64;     // swpOffsetMask where the offset is stored inverted (x86 L1TF), else 0
  swpSet: u64;           // bits every swap entry has set (ppc64 _PAGE_PTE, s390 _PAGE_INVALID | _PAGE_PROTECT)
  swpPfnMask: u64;       // SWP_PFN_MASK = (1 << SWP_PFN_BITS) - 1, SWP_PFN_BITS = MAX_PHYSMEM_BITS - PAGE_SHIFT
  swpTypeShift: u32;
  swpOffsetShift: u32;
  swpDeviceWrite: u32;   // this kernel's SWP_DEVICE_WRITE (v6.12: the constant below)
  swpDeviceRead: u32;    // this kernel's SWP_DEVICE_READ
}
export const ARCH_LEVELS: u32 = offsetof<ArchDesc>();   // LevelDesc[0] (top) .. LevelDesc[nLevels-1] (pte)

// Swap types of device-private entries in v6.12 (include/linux/swap.h; the
// descriptor's swpDeviceWrite/Read carry the machine's kernel, src/arch/swap.ts):
// SWP_DEVICE_WRITE = MAX_SWAPFILES + SWP_HWPOISON_NUM + SWP_MIGRATION_NUM with
// MAX_SWAPFILES = (1 << MAX_SWAPFILES_SHIFT) - SWP_DEVICE_NUM - SWP_MIGRATION_NUM
// - SWP_HWPOISON_NUM - SWP_PTE_MARKER_NUM, so 32 - SWP_DEVICE_NUM (4, with
// CONFIG_DEVICE_PRIVATE) - SWP_PTE_MARKER_NUM (1) = 27 whether or not
// CONFIG_MIGRATION and CONFIG_MEMORY_FAILURE are set; SWP_DEVICE_READ is the next.
export const MAX_SWAPFILES_SHIFT: u32 = 5;
export const SWP_DEVICE_WRITE: u32 = 27;
export const SWP_DEVICE_READ: u32 = 28;

@unmanaged export class LevelDesc {
  shift: u32;            // lowest VA bit indexed at this level
  indexBits: u32;        // log2(entries per table)
  tableBytes: u32;       // size of one table at this level
  leafOk: u32;           // this level can hold a leaf (pte, huge pmd/pud)
  emptyValue: u64;       // what an empty entry holds (0; s390 0x400; loongarch: the invalid table)
  noneMask: u64;         // none iff (e & noneMask) == emptyValue
  tableAddrMask: u64;    // next-table address field
  tableAddrShift: u32;   // field bit that holds pa bit tableAddrPaShift
  tableAddrPaShift: u32;
  leafAddrMask: u64;     // output-address (pfn) field of a leaf
  leafAddrShift: u32;
  leafAddrPaShift: u32;
  tableTemplate: u64;    // bits OR'd with the encoded table address (flags, ppc64 NLS, loongarch DMW base)
  emptyTable: u32;       // an empty entry points at a shared invalid table (loongarch invalid_pmd_table)
  // Addresses in one rotate each, derived by the host (archdesc's field() puts
  // every address field at or above its shift, its addresses inside 64 bits):
  //   rotl(e & tableAddrMask, tableAddrRot) == ((e & tableAddrMask) >> tableAddrShift) << tableAddrPaShift
  //   rotl(e & leafPfnMask, leafPfnRot) == leafPa(e) >> pageShift (a present leaf's pfn;
  //   leafPfnMask is leafAddrMask less the bits below the page)
  leafPfnRot: u32;
  tableAddrRot: u32;
  gupFastNoneOnly: u32;  // gup-fast descends from every entry but a none one (gup_fast_pgd_range: pgd_none only)
  leafPfnMask: u64;
  indexMask: u64;        // (1 << indexBits) - 1
  // gup-fast's quick accept: an entry equal to a leaf template on every bit the
  // gup-fast predicates look at answers them all as the template does, so
  // (e & fastMask) == fastValue means "grab" without evaluating each one.
  // The host derives these from the templates and checks them; m = 0, v = 1: none.
  fastReadMask: u64;
  fastReadValue: u64;
  fastWriteMask: u64;
  fastWriteValue: u64;
  // The same for table entries: equal to the table template on every bit the
  // none/present/leaf/table predicates read means "a table, descend".
  fastTableMask: u64;
  fastTableValue: u64;
  // The walk's: equal to a present leaf template on every bit the
  // none/present/leaf predicates read means "a leaf, stop here".
  fastLeafMask: u64;
  fastLeafValue: u64;
  // Asked after pXd_none (which must have said no): equal to the table template
  // on every bit the present/leaf/table predicates read, and with some bit of
  // fastLiveTableAny set, means "a table". Where no quick table pair can tell a
  // table from the empty value (loongarch, whose empty entries name an invalid
  // table; s390 region entries, present when their table origin is not 0:
  // fastLiveTableAny is that field) this one still can. Any ~0: no more asked
  // than that the entry is not 0.
  fastLiveTableMask: u64;
  fastLiveTableValue: u64;
  fastLiveTableAny: u64;
}
export const LEVEL_PREDS: u32 = offsetof<LevelDesc>();                // Pred[NPRED]
export const LEVEL_TEMPLATES: u32 = LEVEL_PREDS + NPRED * PRED_SIZE;   // u64[NTEMPLATE]
export const LEVEL_SIZE: u32 = LEVEL_TEMPLATES + NTEMPLATE * 8;
export const MAX_LEVELS: u32 = 5;

// ---------------------------------------------------------------- table pool metadata
// One record per pool unit (the smallest table size of the variant). The head
// unit of a block says what the block is; units inside a block are 0.
//
//   0  next     free list: pa of the next free block of this order (0: end)
//   4  prev
//   8  gen      operation that allocated the table
//  12  parent   address (poolBase + pa) of the one entry that links this table
//               (PARENT_* otherwise); the link index (Header.poolLinks) holds
//               the same link the other way round, for the walks' one-load test
//  16  owner    id of the address space the table belongs to (0: none)
//  18  level    level the table serves
//  19  state    UNIT_FREE | order (free block head), UNIT_USED | order, UNIT_RAW
@unmanaged export class PoolUnit {
  next: u32;
  prev: u32;
  gen: u32;
  parent: u32;
  owner: u16;
  level: u8;
  state: u8;
}
export const POOL_UNIT_SIZE: u32 = offsetof<PoolUnit>();
export const UNIT_FREE: u8 = 0x80;
export const UNIT_USED: u8 = 0x40;
export const UNIT_RAW: u8 = 0x20;      // claimed by a raw write: never handed out
export const UNIT_ORDER: u8 = 0x1f;
export const PARENT_NONE: u32 = 0;     // (pa 0 is never a table: frame 0 stays out of the pool)
export const PARENT_ROOT: u32 = 0xffffffff;     // an address space's top-level table
export const PARENT_SHARED: u32 = 0xfffffffe;   // a shared invalid table (loongarch invalid_pte_table ...)

// Why a table link was refused (Ctx.badWhy). The JSDoc is the host's wording
// (scripts/gen-consts.mjs lifts it into src/host/consts.gen.ts).
/** outside the table pool */
export const BAD_OUTSIDE: u32 = 1;
/** not aligned to its level's table size */
export const BAD_MISALIGNED: u32 = 2;
/** not the table that entry linked (free, raw, another level or address space, a loop, or a table another entry names) */
export const BAD_UNLINKED: u32 = 3;
/** pXd_bad */
export const BAD_ENTRY: u32 = 4;       // a present entry that is neither a table nor a leaf here
export const ARCH_SIZE: u32 = ARCH_LEVELS + MAX_LEVELS * LEVEL_SIZE;

// ---------------------------------------------------------------- per-thread context
@unmanaged export class Ctx {
  /** @core */ seq: u32;              // odd while this thread is inside a lockless walk
  /** @core */ status: i32;
  /** @core */ opId: u32;
  outCap: u32;           // entries in the output array
  out: u32;              // -> u64[outCap] (pfns out of gup, pfns into unpin)
  scratch: u32;          // -> u8[CTX_SCRATCH] for mmu_gather batches
  /** @core */ stop: u32;             // atomic: another thread asks this context's loop to end at its next round
  recs: u32;             // -> u64[outCap]: unpin's records of what it released (the entries stay as they were)
  // The last table link the core refused to follow (E_BADTABLE): the entry,
  // where it lives, its level, the address being handled and why (BAD_*).
  /** @core */ badEntry: u64;
  /** @core */ badEntryPa: u64;
  /** @core */ badVa: u64;
  /** @core */ badLevel: u32;
  /** @core */ badWhy: u32;
  // Per-context counters (one writer, this context's thread; readers sum them
  // over every context, as the kernel sums per-cpu counters): the op log, what
  // gup handed out and not yet got back, and gup's statistics. Being per
  // context, two threads never write one cache line for them.
  index: u32;            // this context's number, 0 .. Header.ctxCount - 1
  /** @core */ opSeq: u32;            // the last operation this context began (its id: opId)
  /** @core */ gupOutstanding: i64;   // atomic: references handed out by gup and not yet returned
  /** @core */ pinOutstanding: i64;   // atomic: of those, pins (FOLL_PIN), counted per page
  /** @core */ statGupFastPages: u64; // atomic
  /** @core */ statGupSlowPages: u64; // atomic
  /** @core */ statGupFastBails: u64; // atomic
}
// The operation's records (assembly/abi.ts) follow the fields: its input at
// CTX_IN, its output at CTX_OUT, CTX_REC_SIZE bytes each.
export const CTX_REC_SIZE: u32 = 64;
export const CTX_IN: u32 = (offsetof<Ctx>() + 7) & ~7;
export const CTX_OUT: u32 = CTX_IN + CTX_REC_SIZE;
export const CTX_HEAD: u32 = 256;      // the fields and both records: CTX_OUT + CTX_REC_SIZE <= CTX_HEAD
// mmu_gather batch sizes: the page batch (MAX_GATHER_BATCH-like) and the table batch
export const GATHER_PAGES: u32 = 1024;
export const GATHER_TABLES: u32 = 512;
// the thread's scratch: GATHER_PAGES (u32 folio, u32 refs), then GATHER_TABLES (u64 pa, u32 level, u32 pad)
export const CTX_SCRATCH: u32 = GATHER_PAGES * 8 + GATHER_TABLES * 16;

// ---------------------------------------------------------------- mm and vma
@unmanaged export class Mm {
  /** @core */ inUse: u32;
  /** @core */ lock: u32;             // mmap_lock (exclusive here); 0 free, 1 held, 2 held + waiters
  /** @core */ writeProtectSeq: u32;  // mm->write_protect_seq (odd while fork copies)
  /** @core */ flags: u32;            // MMF_HAS_PINNED
  /** @core */ nrVmas: u32;
  vmas: u32;             // -> Vma[vmaPerMm], sorted by start
  /** @core */ id: u32;
  _pad: u32;
  /** @core */ root: u64;             // pa of the top-level table
  /** @core */ rssAnon: i64;
  /** @core */ rssFile: i64;
  /** @core */ pgtablesBytes: i64;
  /** @core */ hugetlbUsage: i64;     // mm->hugetlb_usage, in base pages (hugetlb_count_add / hugetlb_count_sub)
}
export const MM_SIZE: u32 = 128;
export const MMF_HAS_PINNED: u32 = 1 << 0;   // sticky flag, set on the first FOLL_PIN

@unmanaged export class Vma {
  start: u64;
  end: u64;
  pfn: u64;              // pfnmap: pfn mapped at start
  flags: u32;            // VM_* (kernel values)
  kind: u32;             // KIND_*
  order: u32;            // folio order of faults (0, pmd order, pud order)
  pgmap: u32;            // devdax: the pgmap (Pgmap slot) whose pfns it maps
  file: u32;             // fsdax: the DaxFile (vm_file)
  _pad: u32;
}
export const VMA_SIZE: u32 = 48;

// include/linux/mm.h
export const VM_READ: u32 = 0x1;
export const VM_WRITE: u32 = 0x2;
export const VM_EXEC: u32 = 0x4;
export const VM_SHARED: u32 = 0x8;
export const VM_PFNMAP: u32 = 0x400;
export const VM_IO: u32 = 0x4000;
export const VM_HUGETLB: u32 = 0x400000;
export const VM_MIXEDMAP: u32 = 0x10000000;

export const KIND_ANON: u32 = 0;      // private anonymous (THP when order > 0)
export const KIND_HUGETLB: u32 = 1;   // hugetlbfs-style, order = pmd or pud order
export const KIND_PFNMAP: u32 = 2;    // remap_pfn_range: special entries, no struct page refs
export const KIND_DEVDAX: u32 = 3;    // a device-DAX file (drivers/dax/device.c): pgmap, pfn at start, order = its align
export const KIND_P2PDMA: u32 = 5;    // p2pmem_alloc_mmap (drivers/pci/p2pdma.c): pgmap, pfn at start; vm_insert_page at mmap time
export const KIND_FSDAX: u32 = 4;     // an FS-DAX file (fs/dax.c): file, pfn = pgoff at start, order = pmd order or 0 (VM_NOHUGEPAGE)

// ---------------------------------------------------------------- gup flags
// include/linux/mm_types.h and mm/internal.h (v6.12)
export const FOLL_WRITE: u32 = 1 << 0;
export const FOLL_GET: u32 = 1 << 1;
export const FOLL_FORCE: u32 = 1 << 3;
export const FOLL_NOFAULT: u32 = 1 << 5;
export const FOLL_LONGTERM: u32 = 1 << 8;
export const FOLL_PCI_P2PDMA: u32 = 1 << 10;   // the caller can take P2PDMA pages (include/linux/mm_types.h)
export const FOLL_TOUCH: u32 = 1 << 16;
export const FOLL_PIN: u32 = 1 << 19;
export const FOLL_FAST_ONLY: u32 = 1 << 20;
export const GUP_PIN_COUNTING_BIAS: i32 = 1 << 10;   // include/linux/mm.h
// pgtemu's own bits beside FOLL_* in GupIn.flags and UnpinIn.flags (no kernel
// flag uses them). GUP_OUT_RUNS: the output array holds runs rather than one
// pfn per page: a page on its own is its pfn; a run of n >= 2 pages of one
// folio (a huge leaf's subpages, the slow path's page_increm) is two entries,
// its first pfn | RUN_MARK, then n. unpin given GUP_OUT_RUNS reads that form
// and gives each run back in one gup_put_folio.
export const GUP_OUT_RUNS: u32 = 1 << 30;
// GUP_RELEASE_OWN (unpin only): the list is what gup just handed this
// context, untouched (the in-core loops): each release is still checked
// against the counts, but a page's mappings need not be read to tell whose
// references it names.
export const GUP_RELEASE_OWN: u32 = 1 << 29;
export const RUN_MARK: u64 = 1 << 63;

// ---------------------------------------------------------------- struct page / folio
// 64 bytes, as in the kernel (include/linux/mm_types.h, v6.12):
//
//   0  flags            PG_* bits
//   8  lru.next         | compound_head (bit 0 set: tail, rest = head)
//  16  lru.prev
//  24  mapping          anon: PAGE_MAPPING_ANON | mm id
//  32  index
//  40  private          buddy order while free
//  48  _mapcount        | page_type (PGTY_* << 24) while free / table
//  52  _refcount
//  56  (memcg_data in the kernel; not modelled) pgtemu: id of the last operation
//
// A large folio keeps more in its second page (struct folio, page[1]):
//  64  _flags_1         low byte: order
//  72  _head_1          compound_head of page[1]
//  80  _large_mapcount
//  84  _entire_mapcount
//  88  _nr_pages_mapped
//  92  _pincount
//  96  _folio_nr_pages
@unmanaged export class Page {
  flags: u64;
  lru_next: u64;         // compound_head
  lru_prev: u64;
  mapping: u64;
  index: u64;
  private_: u64;         // page->private
  _mapcount: i32;        // page_type
  _refcount: i32;
  last_op: u64;
}
export const PAGE_SIZE_BYTES: u32 = offsetof<Page>();
export const PAGE_COMPOUND_HEAD: u32 = offsetof<Page>("lru_next");

// struct folio's fields in its second page (page[1]), as an overlay on it:
// changetype<Folio>(folio + PAGE_SIZE_BYTES), or folioOf(folio) (refcount.ts).
@unmanaged export class Folio {
  _flags_1: u64;         // low byte: order (folio_set_order)
  _head_1: u64;          // compound_head of page[1]
  _large_mapcount: i32;
  _entire_mapcount: i32;
  _nr_pages_mapped: i32;
  _pincount: i32;
  _folio_nr_pages: u32;
}
// The same fields as offsets from the head struct page (the host reads these).
export const FOLIO_FLAGS_1: u32 = PAGE_SIZE_BYTES + offsetof<Folio>("_flags_1");
export const FOLIO_HEAD_1: u32 = PAGE_SIZE_BYTES + offsetof<Folio>("_head_1");
export const FOLIO_LARGE_MAPCOUNT: u32 = PAGE_SIZE_BYTES + offsetof<Folio>("_large_mapcount");
export const FOLIO_ENTIRE_MAPCOUNT: u32 = PAGE_SIZE_BYTES + offsetof<Folio>("_entire_mapcount");
export const FOLIO_NR_PAGES_MAPPED: u32 = PAGE_SIZE_BYTES + offsetof<Folio>("_nr_pages_mapped");
export const FOLIO_PINCOUNT: u32 = PAGE_SIZE_BYTES + offsetof<Folio>("_pincount");
export const FOLIO_NR_PAGES: u32 = PAGE_SIZE_BYTES + offsetof<Folio>("_folio_nr_pages");

// enum pageflags (include/linux/page-flags.h, v6.12)
export const PG_locked: u32 = 0;
export const PG_referenced: u32 = 2;
export const PG_uptodate: u32 = 3;
export const PG_dirty: u32 = 4;
export const PG_lru: u32 = 5;
export const PG_head: u32 = 6;
export const PG_reserved: u32 = 13;
export const PG_swapbacked: u32 = 17;
export const PG_anon_exclusive: u32 = 11;   // = PG_owner_2
export const PG_large_rmappable: u32 = 9;   // = PG_workingset

// page_type values live in the _mapcount slot's top byte (v6.12 PGTY_*)
export const PGTY_buddy: u32 = 0xf0;
export const PGTY_table: u32 = 0xf2;
export const PGTY_hugetlb: u32 = 0xf4;
export const PAGE_MAPPING_ANON: u64 = 0x1;
export const ENTIRELY_MAPPED: i32 = 0x800000;    // mm/internal.h

// ---------------------------------------------------------------- op log and violations
@unmanaged export class OpRec {
  id: u32;
  kind: u32;
  mm: u32;
  ctx: u32;
  addr: u64;
  len: u64;
}
export const OPREC_SIZE: u32 = offsetof<OpRec>();
// Operation ids are unique machine-wide without a shared counter: each
// context numbers its own operations 1, 2, ... (Ctx.opSeq, wrapping below
// 2^OP_CTX_SHIFT and skipping 0) and the id carries the context's number
// above them (id = index << OP_CTX_SHIFT | seq; at most 64 contexts). Each
// context logs into its own ring of Header.opLogSize records.
export const OP_CTX_SHIFT: u32 = 26;
export const OP_SEQ_MASK: u32 = (1 << OP_CTX_SHIFT) - 1;

export const OP_NONE: u32 = 0;
export const OP_FAULT: u32 = 1;
export const OP_GUP: u32 = 2;
export const OP_UNPIN: u32 = 3;
export const OP_PUT: u32 = 4;
export const OP_ZAP: u32 = 5;
export const OP_MUNMAP: u32 = 6;
export const OP_MMAP: u32 = 7;
export const OP_POPULATE: u32 = 8;
export const OP_INIT: u32 = 9;
export const OP_RAW: u32 = 10;
export const OP_MEMREMAP: u32 = 11;
export const OP_MEMUNMAP: u32 = 12;
export const OP_DEVPAGE: u32 = 13;
export const OP_DAX: u32 = 14;

// ---------------------------------------------------------------- FS-DAX files (fs/dax.c)
// A file: an extent map from page index to pfns (of an FS_DAX pgmap), and
// its DAX page-cache entries, one u64 per page index: 0 (no entry), or the
// kernel's value entry, pfn << DAX_SHIFT | DAX_* flags; a PMD entry is
// written in every slot it covers (what xas_load returns for a multi-order
// entry).
@unmanaged export class DaxFile {
  state: u32;            // DAXF_*
  gen: u32;
  pgmap: u32;            // the fsdax pgmap its extents lie in
  nrPages: u32;          // i_size, in pages
  cap: u32;              // entry slots: the size it was created with
  nrExtents: u32;
  entries: u32;          // -> u64[cap]
  extents: u32;          // -> DaxExtent[nrExtents], by index
  warned: u32;           // dax_disassociate_entry's WARN_ON_ONCE(trunc && page_ref_count > 1), counted
  breaks: u32;           // dax_layout_busy_page_range scans
}
export const DAXFILE_SIZE: u32 = offsetof<DaxFile>();
export const DAXF_FREE: u32 = 0;
export const DAXF_LIVE: u32 = 1;
export const DAXF_EVICTED: u32 = 2;   // evict_inode ran: its entries are gone, its slot is not reused
// One extent: file pages [index, index + pages) at pfn.. (IOMAP_MAPPED);
// shared: a reflinked extent (IOMAP_F_SHARED)
@unmanaged export class DaxExtent {
  index: u64;
  pages: u64;
  pfn: u64;
  shared: u64;
}
export const DAXEXTENT_SIZE: u32 = offsetof<DaxExtent>();
// daxFileCreate's extent list in the context's output array: DAX_EXTENT_WORDS u64 per extent
// (file index, pages, pfn), the pfn word's top bit marking a shared extent
export const DAX_EXTENT_WORDS: u32 = 3;
export const DAX_EXTENT_SHARED: u64 = (<u64>1) << 63;
// fs/dax.c (both eras)
export const DAX_SHIFT: u32 = 4;
export const DAX_LOCKED: u64 = 1;
export const DAX_PMD: u64 = 2;
export const DAX_ZERO_PAGE: u64 = 4;
export const DAX_EMPTY: u64 = 8;
// include/linux/page-flags.h (v6.12): page->mapping of a page shared by
// several extents; page->share (the word of page->index) counts them
export const PAGE_MAPPING_DAX_SHARED: u64 = 1;

// inject()'s field argument (host and core read these, never a number)
export const INJECT_REFCOUNT: u32 = 0;   // the folio's _refcount
export const INJECT_MAPCOUNT: u32 = 1;   // the page's _mapcount
export const INJECT_PINCOUNT: u32 = 2;   // the (large) folio's _pincount

@unmanaged export class Violation {
  pfn: u64;
  invariant: u32;
  lastOp: u32;
  expected: i64;
  actual: i64;
}
export const VIOLATION_SIZE: u32 = offsetof<Violation>();

// Invariant checks: id = 10 x DESIGN.md's invariant number + the check's
// number under it (42: invariant 4, check 2). The host names each by its
// constant (INV_REF_BALANCE: 'ref-balance') and says what broke in the words
// of its JSDoc (scripts/gen-consts.mjs lifts both into src/host/consts.gen.ts).
/** a page with refcount 0 is reachable from a page table */
export const INV_REF_ZERO_MAPPED: u32 = 11;
/** a page table maps a pfn of a destroyed pgmap */
export const INV_PGMAP_STALE_MAP: u32 = 12;
/** a struct page of a destroyed pgmap was touched (it no longer holds the poison pattern) */
export const INV_PGMAP_POISON_TOUCHED: u32 = 13;
/** a pgmap was destroyed (pageunmap_range) while one of its pages still held a reference */
export const INV_PGMAP_DESTROYED_IN_USE: u32 = 21;
/** a device page holds a reference its pgmap does not cover: the pgmap is killed or gone and the page's reference does not keep it alive */
export const INV_DEV_REF_DEAD_PGMAP: u32 = 22;
/** a pgmap's reference count differs from its setup references, its live reference and its pages' references */
export const INV_PGMAP_REF: u32 = 24;
/** a refcount or pincount is below zero */
export const INV_REF_NEGATIVE: u32 = 41;
/** refcount differs from the mappings plus outstanding gup references */
export const INV_REF_BALANCE: u32 = 42;
/** mapcount differs from the number of entries mapping the page */
export const INV_MAPCOUNT: u32 = 43;
/** pins left behind (pincount) or pin totals do not add up */
export const INV_PIN_BALANCE: u32 = 44;
/** a page neither free nor referenced, or a free page with counts */
export const INV_FREE_STATE: u32 = 45;
/** references held by gup do not add up to what gup handed out */
export const INV_OUTSTANDING: u32 = 46;
/** a device page's refcount is neither its idle count nor accounted for by mappings, gup and its driver */
export const INV_DEV_IDLE: u32 = 47;
/** a tail page's compound_head does not name its head */
export const INV_FOLIO_LINK: u32 = 51;
/** a tail page holds a refcount */
export const INV_FOLIO_TAIL_REF: u32 = 52;
/** a huge leaf maps a folio at the wrong offset or order */
export const INV_MAP_UNALIGNED: u32 = 53;
/** a table entry names something other than the table it linked (outside the pool, misaligned, free, raw, another level or address space, a loop, or a table named twice) */
export const INV_TABLE_LINK: u32 = 61;
/** the link index and the tables' records disagree (a table linked from an entry whose slot does not name it, or a slot naming a table that entry did not link) */
export const INV_LINK_INDEX: u32 = 62;

// ---------------------------------------------------------------- status codes
// The kernel's errno where there is one. The host's PgtemuError code is the
// name without the underscore (E_FAULT: 'EFAULT'), its message the JSDoc
// (scripts/gen-consts.mjs lifts both into src/host/consts.gen.ts).
export const OK: i32 = 0;
/** address not mapped or access not permitted */
export const E_FAULT: i32 = -14;
/** simulated RAM exhausted */
export const E_NOMEM: i32 = -12;
/** table pool exhausted */
export const E_NOTABLE: i32 = -1000;
/** invalid argument */
export const E_INVAL: i32 = -22;
/** overlaps an existing mapping */
export const E_EXIST: i32 = -17;
/** no free slot (address spaces or VMAs) */
export const E_NOSPC: i32 = -28;
/** a table entry names something that is not its table */
export const E_BADTABLE: i32 = -1001;   // Ctx.bad* name the link
/** physical range outside the table pool */
export const E_RANGE: i32 = -34;        // raw access
/** range covers a huge leaf only in part (splitting huge leaves is not modelled) */
export const E_SPLIT: i32 = -1002;
/** in use by a live page table */
export const E_BUSY: i32 = -16;
/** operation not supported on this mapping (FOLL_LONGTERM on FS-DAX) */
export const E_OPNOTSUPP: i32 = -95;
/** a P2PDMA page asked for without FOLL_PCI_P2PDMA (try_grab_folio) */
export const E_REMOTEIO: i32 = -121;
/** a fault the mapping cannot satisfy (VM_FAULT_SIGBUS) */
export const E_SIGBUS: i32 = -1003;

// Where a walk stopped (WalkOut.code). `@name` is the host's WalkVerdict.status.
/** @name ok a leaf */
export const W_OK: u32 = 0;
/** @name none an empty entry */
export const W_NONE: u32 = 1;
/** @name not-present non-empty, not present (swap / invalid) */
export const W_NOT_PRESENT: u32 = 2;
/** @name bad present but neither table nor leaf at this level */
export const W_BAD: u32 = 3;
/** @name bad-table next-table address refused (Ctx.badWhy says why) */
export const W_BADTABLE: u32 = 4;
/** @name bad-va the address is outside what the root translates (hardware view) */
export const W_BADVA: u32 = 5;
