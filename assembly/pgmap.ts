// ZONE_DEVICE: dev_pagemaps, their percpu_ref, memremap_pages /
// memunmap_pages and the driver's page allocation and free
// (mm/memremap.c, mm/mm_init.c memmap_init_zone_device, v6.12; the eras'
// differences are answered by model.ts).
//
// A pgmap lives in the machine's pgmap table (Header.pgmapBase, the kernel's
// pgmap_array) and covers one section-aligned pfn range above RAM. Its struct
// pages are one block of the memmap arena (mem.ts sectionsAdd). When it is
// destroyed its sections leave the lookup, its struct pages are filled with
// PAGE_POISON_PATTERN and its slot keeps the range, so the checker can report
// a later touch or a stale mapping (inv.ts).

import { H, hdr, lock, unlock, beginOp } from './base';
import { pageShift } from './arch';
import {
  pageFolio, folioOrder, setFlag, clearFlag, testFlag, prepCompoundPages, sectionsAdd, sectionsAddDedup,
  sectionsRemove, sectionsMemmap, sectionsAux, refcountPtr, mapcountPtr, FLAGS_SECTION_SHIFT,
} from './mem';
import { setPageCount, folioRefAdd, folioRefSubReturn, pincountPtr, pageMapcountReset } from './refcount';
import {
  ZONE_DEVICE, FS_DAX_LIMITED, RAM_PFNS, deviceIdleRefcount, pagesHoldPgmapRef, pgmapBulkRefs, deviceFreedAt, MODEL,
} from './model';
import {
  Header, Page, Pgmap, PGMAP_SIZE, PGMAP_REF_DEAD, PAGE_SIZE_BYTES, PAGE_COMPOUND_HEAD, PAGE_POISON_BYTE,
  PG_reserved, PG_locked,
  MEMORY_DEVICE_PRIVATE, MEMORY_DEVICE_COHERENT, MEMORY_DEVICE_FS_DAX, MEMORY_DEVICE_GENERIC, MEMORY_DEVICE_PCI_P2PDMA,
  PGMAP_FREE, PGMAP_LIVE, PGMAP_DYING, PGMAP_DRAINED, PGMAP_DESTROYED,
  PREF_GET, PREF_TRYGET, PREF_TRYGET_LIVE, PREF_PUT, PREF_READ, MODEL_UNIFIED,
  OP_MEMREMAP, OP_MEMUNMAP, OP_DEVPAGE, OK, E_INVAL, E_EXIST, E_NOSPC, E_BUSY,
  DEDUP_BLOCK, VMEMMAP_RESERVE_NR,
} from './layout';
import {
  MemremapIn, MemremapOut, PgmapIn, MemunmapOut, MemunmapFinishOut, PgmapRefIn, PgmapRefOut, DevPageIn, DevPageOut,
  argsIn, argsOut,
} from './abi';

@inline export function pgmapOf(p: usize): Pgmap { return changetype<Pgmap>(p); }
@inline function slot(i: u32): usize { return <usize>hdr().pgmapBase + <usize>i * PGMAP_SIZE; }
@inline function refPtr(p: usize): usize { return p + offsetof<Pgmap>("ref"); }
@inline function statePtr(p: usize): usize { return p + offsetof<Pgmap>("state"); }
@inline export function pgmapState(p: usize): u32 { return atomic.load<u32>(statePtr(p)); }
@inline export function pgmapRefWord(p: usize): i64 { return atomic.load<i64>(refPtr(p)); }

// A handle's pgmap: a slot of this machine's table holding that memremap.
export function pgmapChecked(p: u32, gen: u32): usize {
  const h = hdr();
  const base = h.pgmapBase;
  if (p < base || p >= base + h.pgmapCap * PGMAP_SIZE || (p - base) % PGMAP_SIZE != 0) return 0;
  const pg = <usize>p;
  return pgmapOf(pg).gen == gen && pgmapState(pg) != PGMAP_FREE ? pg : 0;
}

// The struct page of the folio holding page `i` of pgmap p (i from its start).
@inline export function pgmapFolio(p: usize, i: u64): usize {
  const g = pgmapOf(p);
  return g.dedup != 0 ? <usize>g.memmap + <usize>(i >> g.vmemmapShift) * DEDUP_BLOCK : <usize>g.memmap + <usize>i * PAGE_SIZE_BYTES;
}
// Distinct struct pages per folio: all, or head, page[1] and the shared tail.
@inline export function folioStructPages(p: usize): u32 {
  const g = pgmapOf(p);
  const n: u32 = 1 << g.vmemmapShift;
  return g.dedup != 0 && n > 3 ? 3 : n;
}
// Bytes of its memmap block.
@inline function memmapBytes(p: usize): usize {
  const g = pgmapOf(p);
  const nr = g.endPfn - g.startPfn;
  return g.dedup != 0 ? <usize>(nr >> g.vmemmapShift) * DEDUP_BLOCK : <usize>nr * PAGE_SIZE_BYTES;
}

// vmemmap_can_optimize (v6.12 include/linux/mm.h): the arch wants it
// (ARCH_WANT_OPTIMIZE_DAX_VMEMMAP), a compound pgmap (only device-DAX sets
// vmemmap_shift), no altmap (pgtemu has none), and its folios' struct pages
// span more than VMEMMAP_RESERVE_NR vmemmap pages.
export function vmemmapCanOptimize(type: u32, order: u32): bool {
  if (hdr().daxVmemmapOpt == 0 || type != MEMORY_DEVICE_GENERIC || order == 0) return false;
  return ((((<u64>1) << order) * <u64>PAGE_SIZE_BYTES) >> pageShift()) > <u64>VMEMMAP_RESERVE_NR;
}

@inline export function privateOrCoherent(type: u32): bool {
  return type == MEMORY_DEVICE_PRIVATE || type == MEMORY_DEVICE_COHERENT;
}

// xa_load(&pgmap_array, pfn): the pgmap whose range holds pfn and whose
// struct pages are still there (not destroyed), or 0. No reference taken.
export function pgmapLookup(pfn: u64): usize {
  const h = hdr();
  for (let i: u32 = 0; i < h.pgmapCap; i++) {
    const p = slot(i);
    const st = pgmapState(p);
    if (st == PGMAP_FREE || st == PGMAP_DESTROYED) continue;
    const g = pgmapOf(p);
    if (pfn >= g.startPfn && pfn < g.endPfn) return p;
  }
  return 0;
}

// A destroyed pgmap whose range held pfn (for the checker), or 0.
export function pgmapDestroyedAt(pfn: u64): usize {
  const h = hdr();
  for (let i: u32 = 0; i < h.pgmapCap; i++) {
    const p = slot(i);
    if (pgmapState(p) != PGMAP_DESTROYED) continue;
    const g = pgmapOf(p);
    if (pfn >= g.startPfn && pfn < g.endPfn) return p;
  }
  return 0;
}

// page_pgmap: the pgmap a device page's folio records (head->pgmap, the word
// compound_head overlays), or 0 when that word is not one of the table's.
export function pagePgmap(page: usize): usize {
  const folio = pageFolio(page);
  const v = load<u64>(folio, PAGE_COMPOUND_HEAD);
  const h = hdr();
  if (v < <u64>h.pgmapBase || v >= <u64>h.pgmapBase + <u64>(h.pgmapCap * PGMAP_SIZE)) return 0;
  return (<u32>v - h.pgmapBase) % PGMAP_SIZE == 0 ? <usize>v : 0;
}

// ---------------------------------------------------------------- percpu_ref
// One atomic word: the count, and PGMAP_REF_DEAD once killed
// (include/linux/percpu-refcount.h, in atomic mode).

// dev_pagemap_percpu_release -> complete(&pgmap->done): the count reached 0.
function refRelease(p: usize): void {
  atomic.cmpxchg<u32>(statePtr(p), PGMAP_DYING, PGMAP_DRAINED);
  atomic.store<u32>(p + offsetof<Pgmap>("done"), 1);
  atomic.notify(p + offsetof<Pgmap>("done"), 0xffffffff);
}

// percpu_ref_get_many
@inline export function pgmapRefGet(p: usize, n: i64): void { atomic.add<i64>(refPtr(p), n); }

// percpu_ref_tryget_many (live: percpu_ref_tryget_live, which also fails once killed)
export function pgmapRefTryget(p: usize, n: i64, live: bool): bool {
  const rp = refPtr(p);
  let c = atomic.load<i64>(rp);
  while (true) {
    if ((c & ~PGMAP_REF_DEAD) == 0 || (live && (c & PGMAP_REF_DEAD) != 0)) return false;
    const old = atomic.cmpxchg<i64>(rp, c, c + n);
    if (old == c) return true;
    c = old;
  }
}

// percpu_ref_put_many; false (and nothing put) when fewer than n are held
// (the kernel's "percpu ref ... <= 0" underflow warning).
export function pgmapRefPut(p: usize, n: i64): bool {
  const rp = refPtr(p);
  let c = atomic.load<i64>(rp);
  while (true) {
    if ((c & ~PGMAP_REF_DEAD) < n) return false;
    const old = atomic.cmpxchg<i64>(rp, c, c - n);
    if (old == c) break;
    c = old;
  }
  if (((c - n) & ~PGMAP_REF_DEAD) == 0) refRelease(p);
  return true;
}

// percpu_ref_kill: mark dead, then put the initial reference.
function pgmapRefKill(p: usize): void {
  atomic.or<i64>(refPtr(p), PGMAP_REF_DEAD);
  pgmapRefPut(p, 1);
}

// ---------------------------------------------------------------- memremap_pages
function validType(t: u32): bool { return t >= MEMORY_DEVICE_PRIVATE && t <= MEMORY_DEVICE_PCI_P2PDMA; }

// memremap_pages -> pagemap_range -> memmap_init_zone_device for one range.
// The host has checked the same things and says why; these refusals keep the
// machine as it was whatever calls.
export function memremapPages(ctx: usize): i32 {
  const a = argsIn<MemremapIn>(ctx);
  const h = hdr();
  const start = a.startPfn, nr = a.nrPages, type = a.type, order = a.order;
  const secPages: u64 = (<u64>1) << h.sectionShift;
  const maxPfn: u64 = (<u64>h.nrRoots) << (h.rootShift + h.sectionShift);   // MAX_PHYSMEM_BITS
  if (!ZONE_DEVICE || !validType(type)) return E_INVAL;
  if (type == MEMORY_DEVICE_FS_DAX && FS_DAX_LIMITED) return E_INVAL;          // "File system DAX not supported"
  if (order != 0 && type != MEMORY_DEVICE_GENERIC) return E_INVAL;          // only device-DAX sets vmemmap_shift
  if (nr == 0 || order >= 32 || start < RAM_PFNS || start >= maxPfn || nr > maxPfn - start) return E_INVAL;
  if ((start | nr) & (secPages - 1) || (start | nr) & (((<u64>1) << order) - 1)) return E_INVAL;
  const end = start + nr;
  const op = beginOp(ctx, OP_MEMREMAP, 0, start << pageShift(), nr << pageShift());
  lock(H + offsetof<Header>("pgmapLock"));
  let free: usize = 0;
  let spent: usize = 0;
  for (let i: u32 = 0; i < h.pgmapCap; i++) {
    const p = slot(i);
    const st = pgmapState(p);
    if (st == PGMAP_FREE) { if (free == 0) free = p; continue; }
    if (st == PGMAP_DESTROYED) { if (spent == 0) spent = p; continue; }
    const g = pgmapOf(p);
    if (start < g.endPfn && g.startPfn < end) {                            // "Conflicting mapping in same section"
      unlock(H + offsetof<Header>("pgmapLock"));
      return E_EXIST;
    }
  }
  const p = free != 0 ? free : spent;                                         // a destroyed pgmap's slot is reused last
  if (p == 0) { unlock(H + offsetof<Header>("pgmapLock")); return E_NOSPC; }
  const dedup = vmemmapCanOptimize(type, order);
  const r = dedup ? sectionsAddDedup(start, end, order) : sectionsAdd(start, end);
  if (r < 0) { unlock(H + offsetof<Header>("pgmapLock")); return r; }
  const g = pgmapOf(p);
  g.dedup = dedup ? 1 : 0;
  g.startPfn = start;
  g.endPfn = end;
  g.type = type;
  g.vmemmapShift = order;
  g.memmap = <u32>sectionsMemmap;
  g.aux = <u32>sectionsAux;
  g.pageFree = 0;
  g.driverPages = 0;
  g.destroyedInUse = 0;
  g.destroyedInUsePfn = 0;
  atomic.store<u32>(p + offsetof<Pgmap>("done"), 0);
  g.gen = atomic.add<u32>(H + offsetof<Header>("pgmapSeq"), 1) + 1;
  // memmap_init_zone_device: __init_zone_device_page on each head (and, for
  // compound pgmaps, memmap_init_compound on its tails).
  const idle = deviceIdleRefcount(type);
  const per: u64 = (<u64>1) << order;
  const pages = folioStructPages(p);
  const secShift = <u64>h.sectionShift;
  for (let i: u64 = 0; i < nr; i += per) {
    const head = pgmapFolio(p, i);
    if (dedup) {                                                             // __init_single_page on the distinct ones
      for (let j: u32 = 0; j < pages; j++) {
        const q = head + j * PAGE_SIZE_BYTES;
        store<u64>(q, ((start + i + j) >> secShift) << FLAGS_SECTION_SHIFT);
        pageMapcountReset(q);
      }
    }
    for (let j: u32 = 0; j < pages; j++) setFlag(head + j * PAGE_SIZE_BYTES, PG_reserved);   // __SetPageReserved
    store<u64>(head, <u64>p, PAGE_COMPOUND_HEAD);                            // page->pgmap
    store<u64>(head, op, offsetof<Page>("last_op"));
    setPageCount(head, idle);                                                // init_page_count, or 0 (model.ts)
    if (order > 0) prepCompoundPages(head, order, pages);                    // tails: head | 1, refcount 0
  }
  // percpu_ref_init (1), then percpu_ref_get_many(pfn_len) where the era takes them
  const bulk: u64 = pgmapBulkRefs(type) ? nr >> order : 0;
  g.bulkRefs = bulk;
  atomic.store<i64>(refPtr(p), 1 + <i64>bulk);
  atomic.store<u32>(statePtr(p), PGMAP_LIVE);                                // xa_store_range: now it can be found
  unlock(H + offsetof<Header>("pgmapLock"));
  const o = argsOut<MemremapOut>(ctx);
  o.pgmap = <u32>p;
  o.gen = g.gen;
  o.ref = 1 + bulk;
  return OK;
}

// Both halves of memunmap_pages: the pgmap the input names (0: none, or a
// stale handle), logged as the operation, with the pgmap lock held.
function memunmapLocked(ctx: usize): usize {
  const a = argsIn<PgmapIn>(ctx);
  const p = pgmapChecked(a.pgmap, a.gen);
  if (p == 0) return 0;
  const g = pgmapOf(p);
  beginOp(ctx, OP_MEMUNMAP, 0, g.startPfn << pageShift(), (g.endPfn - g.startPfn) << pageShift());
  lock(H + offsetof<Header>("pgmapLock"));
  return p;
}

// memunmap_pages, first half: percpu_ref_kill, then put the setup references.
// The host then waits for the count to reach zero (wait_for_completion) and
// calls memunmapFinish.
export function memunmapBegin(ctx: usize): i32 {
  const p = memunmapLocked(ctx);
  if (p == 0) return E_INVAL;
  const g = pgmapOf(p);
  if (atomic.cmpxchg<u32>(statePtr(p), PGMAP_LIVE, PGMAP_DYING) != PGMAP_LIVE) {
    unlock(H + offsetof<Header>("pgmapLock"));
    return E_INVAL;                                                          // killed already
  }
  pgmapRefKill(p);
  const bulk = g.bulkRefs;
  g.bulkRefs = 0;
  if (bulk != 0) pgmapRefPut(p, <i64>bulk);
  unlock(H + offsetof<Header>("pgmapLock"));
  const o = argsOut<MemunmapOut>(ctx);
  o.state = pgmapState(p);
  o.ref = <u64>(pgmapRefWord(p) & ~PGMAP_REF_DEAD);
  return OK;
}

// Is a device folio in use: referenced beyond its idle count, mapped, or pinned?
export function deviceFolioInUse(p: usize, folio: usize): bool {
  if (atomic.load<i32>(refcountPtr(folio)) != deviceIdleRefcount(pgmapOf(p).type)) return true;
  const order = folioOrder(folio);
  const n = folioStructPages(p);
  for (let i: u32 = 0; i < n; i++) {
    if (i == 1) continue;                                                    // page[1]'s _mapcount word is the folio's
    if (atomic.load<i32>(mapcountPtr(folio + i * PAGE_SIZE_BYTES)) >= 0) return true;
  }
  return order > 0 && atomic.load<i32>(pincountPtr(folio)) != 0;
}

// memunmap_pages, second half, once the count is zero: pageunmap_range. Pages
// still in use (a kernel whose pages held no pgmap reference: v6.0's
// device-private) are counted for the checker's invariant 2; the struct
// pages are poisoned and the sections removed.
export function memunmapFinish(ctx: usize): i32 {
  const p = memunmapLocked(ctx);
  if (p == 0) return E_INVAL;
  const g = pgmapOf(p);
  if (pgmapState(p) != PGMAP_DRAINED) {
    unlock(H + offsetof<Header>("pgmapLock"));
    return pgmapState(p) == PGMAP_DYING ? E_BUSY : E_INVAL;
  }
  const nr = g.endPfn - g.startPfn;
  const per: u64 = (<u64>1) << g.vmemmapShift;
  let inUse: u64 = 0;
  let first: u64 = 0;
  for (let i: u64 = 0; i < nr; i += per) {
    if (!deviceFolioInUse(p, pgmapFolio(p, i))) continue;
    if (inUse == 0) first = g.startPfn + i;
    inUse++;
  }
  g.destroyedInUse = inUse;
  g.destroyedInUsePfn = first;
  sectionsRemove(g.startPfn, g.endPfn);                                      // arch_remove_memory / __remove_pages
  memory.fill(<usize>g.memmap, PAGE_POISON_BYTE, memmapBytes(p));           // page_init_poison
  atomic.store<u32>(statePtr(p), PGMAP_DESTROYED);                           // pgmap_array_delete
  unlock(H + offsetof<Header>("pgmapLock"));
  const o = argsOut<MemunmapFinishOut>(ctx);
  o.inUse = inUse;
  o.firstPfn = first;
  return OK;
}

// Every page of a destroyed pgmap still holds the poison? The first pfn that
// does not, or u64.MAX_VALUE.
export function poisonTouched(p: usize): u64 {
  const g = pgmapOf(p);
  const mm = <usize>g.memmap;
  const words = memmapBytes(p) >> 3;
  for (let i: usize = 0; i < words; i++) {
    if (load<u64>(mm + (i << 3)) == 0xffffffffffffffff) continue;
    if (g.dedup == 0) return g.startPfn + <u64>((i << 3) / PAGE_SIZE_BYTES);
    const b = (i << 3) % DEDUP_BLOCK;                                        // the folio, and which of its pages
    return g.startPfn + (<u64>((i << 3) / DEDUP_BLOCK) << g.vmemmapShift) + <u64>(b < 3 * PAGE_SIZE_BYTES ? b / PAGE_SIZE_BYTES : 0);
  }
  return u64.MAX_VALUE;
}

// The percpu_ref operations on a pgmap, as a driver or gup would call them.
export function pgmapRef(ctx: usize): i32 {
  const a = argsIn<PgmapRefIn>(ctx);
  const p = pgmapChecked(a.pgmap, a.gen);
  if (p == 0 || a.n == 0) return E_INVAL;
  const st = pgmapState(p);
  if (st == PGMAP_DESTROYED) return E_INVAL;                                // percpu_ref_exit ran
  let ok = true;
  const n = <i64>a.n;
  if (a.op == PREF_GET) {
    if (st == PGMAP_DRAINED) return E_INVAL;                                // a get on a released ref
    pgmapRefGet(p, n);
  } else if (a.op == PREF_TRYGET) ok = pgmapRefTryget(p, n, false);
  else if (a.op == PREF_TRYGET_LIVE) ok = pgmapRefTryget(p, n, true);
  else if (a.op == PREF_PUT) { if (!pgmapRefPut(p, n)) return E_INVAL; }
  else if (a.op != PREF_READ) return E_INVAL;
  const o = argsOut<PgmapRefOut>(ctx);
  o.ok = ok ? 1 : 0;
  o.ref = pgmapRefWord(p);
  return OK;
}

// ---------------------------------------------------------------- the driver's pages
// The page of pfn in pgmap p, when it is an order-0 private/coherent page.
export function driverPage(p: usize, pfn: u64): usize {
  const g = pgmapOf(p);
  if (!privateOrCoherent(g.type) || pfn < g.startPfn || pfn >= g.endPfn) return 0;
  return <usize>g.memmap + <usize>(pfn - g.startPfn) * PAGE_SIZE_BYTES;
}

// zone_device_page_init (v6.1 on): a pgmap reference (percpu_ref_tryget_live),
// set_page_count(page, 1), lock_page. v6.0 had no such helper: its drivers
// took a free page (refcount 1) with get_page and lock_page, and no pgmap
// reference (lib/test_hmm.c, nouveau_dmem.c before ef233450898f). pgtemu keeps
// the page locked while the driver holds it: that is how the checker tells
// an allocated page from a stray reference.
export function devPageInit(ctx: usize): i32 {
  const a = argsIn<DevPageIn>(ctx);
  const p = pgmapChecked(a.pgmap, a.gen);
  if (p == 0) return E_INVAL;
  const page = driverPage(p, a.pfn);
  if (page == 0 || pgmapState(p) != PGMAP_LIVE) return E_INVAL;
  const g = pgmapOf(p);
  const op = beginOp(ctx, OP_DEVPAGE, 0, a.pfn << pageShift(), <u64>1 << pageShift());
  if (testFlag(page, PG_locked) || atomic.load<i32>(refcountPtr(page)) != deviceIdleRefcount(g.type)) return E_BUSY;
  if (pagesHoldPgmapRef(g.type)) {
    if (!pgmapRefTryget(p, 1, true)) return E_INVAL;                         // WARN_ON_ONCE(!percpu_ref_tryget_live)
    setPageCount(page, 1);
  } else {
    folioRefAdd(page, 1);                                                    // get_page
  }
  setFlag(page, PG_locked);                                                  // lock_page
  store<u64>(page, op, offsetof<Page>("last_op"));
  atomic.add<i64>(p + offsetof<Pgmap>("driverPages"), 1);
  const o = argsOut<DevPageOut>(ctx);
  o.refcount = atomic.load<i32>(refcountPtr(page));
  o.freed = 0;
  return OK;
}

// The driver lets its page go: unlock_page, put_page. The put that brings the
// count to its free value frees it: free_zone_device_folio from v6.1 (at 0:
// page_free, then put_dev_pagemap); in v6.0 put_devmap_managed_page at 1
// (free_devmap_managed_page: page_free only).
export function devPagePut(ctx: usize): i32 {
  const a = argsIn<DevPageIn>(ctx);
  const p = pgmapChecked(a.pgmap, a.gen);
  if (p == 0) return E_INVAL;
  const page = driverPage(p, a.pfn);
  const st = pgmapState(p);
  if (page == 0 || st == PGMAP_DESTROYED || !testFlag(page, PG_locked)) return E_INVAL;
  const op = beginOp(ctx, OP_DEVPAGE, 0, a.pfn << pageShift(), <u64>1 << pageShift());
  clearFlag(page, PG_locked);                                                // unlock_page
  store<u64>(page, op, offsetof<Page>("last_op"));
  atomic.sub<i64>(p + offsetof<Pgmap>("driverPages"), 1);
  const freed = devicePagePut(p, page);
  const o = argsOut<DevPageOut>(ctx);
  o.refcount = atomic.load<i32>(refcountPtr(page));
  o.freed = freed ? 1 : 0;
  return OK;
}

// put_page of a private/coherent device page: the put that brings the count
// to its free value frees it (free_zone_device_folio from v6.1 at 0: page_free,
// then put_dev_pagemap; v6.0's put_devmap_managed_page at 1:
// free_devmap_managed_page). Returns whether it was freed.
export function devicePagePut(p: usize, page: usize): bool {
  const v = folioRefSubReturn(page, 1);
  if (v != deviceFreedAt()) return false;
  if (v == 0) return freeZoneDeviceFolio(page);
  devicePageFree(p, page);
  return true;
}

// ops->page_free, counted; the stale mapping is cleared first.
function devicePageFree(p: usize, folio: usize): void {
  store<u64>(folio, 0, offsetof<Page>("mapping"));
  atomic.add<u64>(p + offsetof<Pgmap>("pageFree"), 1);
}

// free_zone_device_folio: a device folio's count reached zero. false when the
// folio is no device page (the caller frees it as RAM).
//   v6.1..v6.14: page_free; private/coherent put_dev_pagemap, p2pdma
//                folio_set_count(1) (handed out again); device-DAX and FS-DAX
//                have no page_free (WARN, the count stays 0).
//   v6.15 on:    private/coherent and p2pdma page_free (private/coherent then
//                put their pgmap references); device-DAX folio_set_count(1);
//                FS-DAX only wakes its waiters (wake_up_var).
export function freeZoneDeviceFolio(folio: usize): bool {
  const p = pagePgmap(folio);
  if (p == 0 || pgmapState(p) == PGMAP_FREE) return false;
  const g = pgmapOf(p);
  const type = g.type;
  const nr: i64 = (<i64>1) << folioOrder(folio);
  if (MODEL == MODEL_UNIFIED && type == MEMORY_DEVICE_FS_DAX) return true;
  if (MODEL == MODEL_UNIFIED && type == MEMORY_DEVICE_GENERIC) { setPageCount(folio, 1); return true; }
  // v6.12: WARN_ON_ONCE(!pgmap->ops || !pgmap->ops->page_free) and return:
  // device-DAX sets no ops and pmem's fsdax_pagemap_ops no page_free, so the
  // count stays at 0 (a put these pages should never see)
  if (type == MEMORY_DEVICE_GENERIC || type == MEMORY_DEVICE_FS_DAX) return true;
  devicePageFree(p, folio);
  if (type == MEMORY_DEVICE_PCI_P2PDMA) pgmapRefPut(p, 1);                   // p2pdma_page_free: the pool's reference
  if (privateOrCoherent(type)) {
    if (pagesHoldPgmapRef(type)) pgmapRefPut(p, MODEL == MODEL_UNIFIED ? nr : 1);
  } else if (MODEL != MODEL_UNIFIED) {
    setPageCount(folio, 1);
  }
  return true;
}

// Is pfn a ZONE_DEVICE page (is_zone_device_page)? Everything above RAM with
// a struct page is.
@inline export function isDevicePfn(pfn: u64): bool { return pfn >= RAM_PFNS; }
