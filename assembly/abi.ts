// The host <-> core interface: one input and one output record per exported
// operation, overlaid on the calling thread's context (Ctx): the input at
// ctx + CTX_IN, the output at ctx + CTX_OUT (assembly/layout.ts). Every
// operation returns its status (OK or E_*) as well.
//
// `@op name ...` names the exports that read (…In) or write (…Out) a record;
// scripts/gen-layout.mjs turns them into the core's offsets and the host's
// typed `Core.call(op, input)` (src/host/core.ts), so a field is named here
// and nowhere else. Records hold fixed-width fields only and fit in
// CTX_REC_SIZE bytes (the generator and the host refuse anything else).
// Address-space arguments (mm) are the core's pointers to Mm; pfns,
// addresses and lengths are u64.

import { CTX_IN, CTX_OUT } from './layout';

// The calling thread's input and output records.
@inline export function argsIn<T>(ctx: usize): T { return changetype<T>(ctx + CTX_IN); }
@inline export function argsOut<T>(ctx: usize): T { return changetype<T>(ctx + CTX_OUT); }

/** @op machineInit */
@unmanaged export class MachineInitIn {
  poolPfns: u64;         // frames of the table pool at the bottom of RAM
}

/** @op mmCreate */
@unmanaged export class MmCreateOut {
  mm: u32;               // -> Mm
  _pad: u32;
  root: u64;             // pa of its top-level table
}

/** @op mmDestroy */
@unmanaged export class MmDestroyIn {
  mm: u32;
}

/** @op mmap */
@unmanaged export class MmapIn {
  mm: u32;
  flags: u32;            // VM_*
  start: u64;
  len: u64;
  kind: u32;             // KIND_*
  order: u32;            // folio order of its faults
  pfn: u64;              // pfnmap, devdax: the first pfn mapped; fsdax: vm_pgoff (the file page at start)
  pgmap: u32;            // devdax: the pgmap handle (MemremapOut.pgmap, .gen); fsdax: the file (DaxFileOut.file, .gen)
  gen: u32;
}

/** @op munmap */
@unmanaged export class MunmapIn {
  mm: u32;
  gen: u32;              // a failed populate's operation: its empty tables go too (0: none)
  start: u64;
  len: u64;
}

/** @op zap */
@unmanaged export class ZapIn {
  mm: u32;
  _pad: u32;
  start: u64;
  len: u64;
}

/** @op fault */
@unmanaged export class FaultIn {
  mm: u32;
  write: u32;
  addr: u64;
}

/** @op populate */
@unmanaged export class PopulateIn {
  mm: u32;
  write: u32;
  start: u64;
  len: u64;
}

/** @op populate */
@unmanaged export class PopulateOut {
  done: u64;             // bytes populated before the fault that failed (all of them: len)
  at: u64;               // where it stopped (the failing fault's address)
}

/** @op gup */
@unmanaged export class GupIn {
  mm: u32;
  nr: u32;               // pages
  start: u64;            // rounded down to its page (gup_fast_fallback: & PAGE_MASK)
  flags: u32;            // FOLL_*
  _pad: u32;
}

/** @op gup */
@unmanaged export class GupOut {
  ret: i32;              // pages taken (pfns in Ctx.out), or a status < 0 when none
  fast: u32;             // of those, taken by the lockless walk
  entries: u32;          // u64 entries written to Ctx.out: ret, or fewer with GUP_OUT_RUNS
  _pad: u32;
}

/** @op unpin */
@unmanaged export class UnpinIn {
  n: u32;                // entries in Ctx.out (pfns, or runs with GUP_OUT_RUNS)
  flags: u32;            // FOLL_PIN (unpin_user_pages) or FOLL_GET (put_page), | GUP_OUT_RUNS, GUP_RELEASE_OWN
}

/** @op unpin */
@unmanaged export class UnpinOut {
  released: u32;         // entries released: n, or 0 when refused
  refused: u32;          // the entry the list was refused at (n: none)
}

/** @op gupUnpinLoop gupSweepLoop gupGetPhase */
@unmanaged export class LoopIn {
  mm: u32;
  nr: u32;               // pages per call
  start: u64;
  flags: u32;            // FOLL_*
  rounds: u32;           // calls
  span: u64;             // gupSweepLoop, gupGetPhase: pages swept through from start
}

/** @op gupUnpinLoop gupSweepLoop gupGetPhase */
@unmanaged export class LoopOut {
  pages: u64;            // pages taken in all
  short: u64;            // calls that took fewer than asked (or nothing)
  rounds: u32;           // calls made (fewer than asked after a stop request)
  _pad: u32;
}

/** @op walk */
@unmanaged export class WalkIn {
  mm: u32;
  view: u32;             // 0: the kernel's helpers, 1: the MMU's (Header.archHw)
  va: u64;
}

/** @op walkRaw */
@unmanaged export class WalkRawIn {
  view: u32;
  _pad: u32;
  root: u64;             // pa of a top-level table written with writePhys
  va: u64;
}

/** @op walk walkRaw */
@unmanaged export class WalkOut {
  level: u32;            // where the walk stopped
  code: u32;             // W_*
  entry: u64;
  pa: u64;               // a leaf: the translation of va; a table: the next table
  entryPa: u64;          // where the entry lives
  why: u32;              // W_BADTABLE: BAD_*
  _pad: u32;
}

/** @op recover */
@unmanaged export class RecoverOut {
  locks: u32;            // locks the trapped operation held, released
}

/** @op claimRaw */
@unmanaged export class ClaimRawIn {
  pa: u64;
  bytes: u64;
}

/** @op claimRaw */
@unmanaged export class ClaimRawOut {
  busyPa: u64;           // E_BUSY: the first allocated table it overlaps
}

/** @op check */
@unmanaged export class CheckOut {
  violations: u32;       // found (those past Header.violCap are counted, not kept)
}

/** @op pagePtr */
@unmanaged export class PageIn {
  pfn: u64;
}

/** @op pagePtr */
@unmanaged export class PageOut {
  page: u32;             // -> struct page (0: no struct page)
  linear: u32;           // its section's struct pages are laid out by pfn (0: vmemmap-optimised, only pagePtr finds them)
}

/** @op inject */
@unmanaged export class InjectIn {
  pfn: u64;
  field: u32;            // INJECT_*
  value: i32;
}

/** @op walkMany */
@unmanaged export class WalkManyIn {
  mm: u32;
  _pad: u32;
  start: u64;
  len: u64;
  count: u64;            // walks
  seed: u64;             // xorshift64
}

/** @op walkMany */
@unmanaged export class WalkManyOut {
  hits: u64;             // walks that ended on a leaf
  acc: u64;              // xor of their entries
}

/** @op memremapPages */
@unmanaged export class MemremapIn {
  startPfn: u64;
  nrPages: u64;
  type: u32;             // MEMORY_DEVICE_*
  order: u32;            // vmemmap_shift: the folio order of its compound pages
}

/** @op memremapPages */
@unmanaged export class MemremapOut {
  pgmap: u32;            // -> Pgmap
  gen: u32;              // Pgmap.gen: the handle's
  ref: u64;              // the percpu_ref's count after setup
}

/** @op memunmapBegin memunmapFinish */
@unmanaged export class PgmapIn {
  pgmap: u32;
  gen: u32;
}

/** @op memunmapBegin */
@unmanaged export class MemunmapOut {
  state: u32;            // PGMAP_DYING, or PGMAP_DRAINED when nothing held it
  _pad: u32;
  ref: u64;              // the count left after the kill and the bulk put
}

/** @op memunmapFinish */
@unmanaged export class MemunmapFinishOut {
  inUse: u64;            // pages still referenced when their struct pages were removed
  firstPfn: u64;         // the first of those
}

/** @op pgmapRef */
@unmanaged export class PgmapRefIn {
  pgmap: u32;
  gen: u32;
  op: u32;               // PREF_*
  n: u32;                // references (get_many / put_many); 1 for one
}

/** @op pgmapRef */
@unmanaged export class PgmapRefOut {
  ok: u32;               // a tryget that succeeded, or a get / put done
  _pad: u32;
  ref: i64;              // the word after the operation: count | PGMAP_REF_DEAD
}

/** @op devPageInit devPagePut */
@unmanaged export class DevPageIn {
  pgmap: u32;
  gen: u32;
  pfn: u64;
}

/** @op devPageInit devPagePut */
@unmanaged export class DevPageOut {
  refcount: i32;         // the page's count afterwards
  freed: u32;            // devPagePut: the put freed the page (ops->page_free ran)
}

/** @op swpEntry */
@unmanaged export class SwpEntryIn {
  type: u32;             // mkSwpEntry(type, offset) -> SwpEntryOut.made
  level: u32;            // the level isSwapEntry and entryKind read `entry` at
  offset: u64;
  pfn: u64;              // mkDevicePrivateEntry(pfn, true / false) -> SwpEntryOut.devWrite / devRead
  entry: u64;            // an entry to read back: swpType, swpOffset, isSwapEntry, ...
}

/** @op swpEntry */
@unmanaged export class SwpEntryOut {
  made: u64;
  devWrite: u64;
  devRead: u64;
  offset: u64;           // swpOffset(entry)
  pfn: u64;              // swpOffsetPfn(entry)
  type: u32;             // swpType(entry)
  isSwap: u32;           // isSwapEntry(level, entry)
  kind: u32;             // entryKind(level, entry, last level): the walker's K_* for it
  devPrivate: u32;       // isDevicePrivateEntry(entry) | isWritableDevicePrivateEntry(entry) << 1
}

/** @op daxFileCreate */
@unmanaged export class DaxFileIn {
  pgmap: u32;            // the fsdax pgmap (MemremapOut.pgmap, .gen)
  gen: u32;
  nrPages: u32;          // i_size in pages
  nrExtents: u32;        // extents in the context's output array: u64 index, pages, pfn | DAX_EXTENT_SHARED each
}

/** @op daxFileCreate */
@unmanaged export class DaxFileOut {
  file: u32;             // -> DaxFile
  gen: u32;
}

/** @op daxBreak daxTruncate daxEvict */
@unmanaged export class DaxFileRefIn {
  file: u32;
  gen: u32;
  size: u64;             // daxTruncate: the new i_size in pages
  evict: u32;            // daxBreak for evict_inode: refused (E_BUSY) while anything maps the file
}

/** @op daxBreak */
@unmanaged export class DaxBreakOut {
  busy: u32;             // 1: a page is busy (dax_layout_busy_page_range found one)
  refcount: i32;         // its refcount then
  pfn: u64;
}

/** @op daxTruncate daxEvict */
@unmanaged export class DaxTruncateOut {
  deleted: u32;          // entries deleted (disassociated and erased)
  warned: u32;           // of them, disassociated while still referenced (WARN_ON_ONCE)
}

/** @op migrateToDevice */
@unmanaged export class MigrateIn {
  mm: u32;
  pgmap: u32;            // a device-private or device-coherent pgmap (MemremapOut.pgmap, .gen)
  gen: u32;
  _pad: u32;
  addr: u64;             // the anon page's address
  pfn: u64;              // the free device page it moves to
}
