// Physical memory: the sparse memmap, struct page helpers, the buddy
// allocator for RAM frames and the buddy allocator of the table pool.

import { H, hdr, lock, unlock, zoneFreeHead, writeEntry, SEC_ROOTS, NR_ROOTS, ROOT_SHIFT, SEC_SHIFT, POOL_BASE, POOL_BYTES, POOL_UNITS, POOL_SHIFT, POOL_LINK_MASK, POOL_UNIT_INDEX, POOL_LINKS } from './base';
import { L } from './arch';
import {
  setPageRefcounted, pageCountsReset, pageMapcountReset, prepCompoundTailCounts, prepCompoundHeadCounts, setPageType, clearPageType,
} from './refcount';
import {
  Header, Page, PAGE_SIZE_BYTES, H_POOL_FREE, H_ZONE_COUNT, PG_head, PGTY_buddy,
  Folio, PAGE_COMPOUND_HEAD, PG_reserved,
  PoolUnit, POOL_UNIT_SIZE, UNIT_FREE, UNIT_USED, UNIT_RAW, UNIT_ORDER, PARENT_NONE, PARENT_ROOT, PARENT_SHARED,
  BAD_OUTSIDE, BAD_MISALIGNED, BAD_UNLINKED, OK, E_BUSY, E_INVAL, E_NOSPC, DEDUP_BLOCK, DEDUP_AUX, SEC_DEDUP,
} from './layout';

// ---------------------------------------------------------------- sparse memmap
// Section entry: u32 memmap block, u32 aux block (invariant-checker counters).
// Page flags bits 32..63 hold the section number, as classic SPARSEMEM does.
export const FLAGS_SECTION_SHIFT: u64 = 32;
export const FLAGS_MASK: u64 = 0xffffffff;
export const AUX_SIZE: u32 = 8;   // per page: u32 pte mappings, u32 huge mappings

// __nr_to_section: root block, then the section's entry in it.
@inline function sectionEntry(sec: u64): usize {
  const root = sec >> ROOT_SHIFT;
  if (root >= NR_ROOTS) return 0;
  const rb = <usize>load<u32>(SEC_ROOTS + (<usize>root << 2));
  if (rb == 0) return 0;
  return rb + (<usize>(sec & ((<u64>1 << ROOT_SHIFT) - 1)) << 3);
}

// pfn_to_page: 0 when the pfn has no struct page.
@inline export function pfnToPage(pfn: u64): usize {
  const se = sectionEntry(pfn >> SEC_SHIFT);
  if (se == 0) return 0;
  const base = <usize>load<u32>(se);
  if (base == 0) return 0;
  if ((base & SEC_DEDUP) != 0) return dedupPage(se, base, pfn);
  return base + <usize>(pfn & ((<u64>1 << SEC_SHIFT) - 1)) * PAGE_SIZE_BYTES;
}

// A vmemmap-optimised section (SEC_DEDUP; layout.ts DEDUP_BLOCK): the block of
// pfn's folio, then the head, page[1], or the tail all others share. Such
// struct pages are not laid out by pfn: only pfnToPage finds them (pageToPfn
// and pointer arithmetic across a folio do not apply).
export function dedupBlock(se: usize, base: usize, pfn: u64): usize {
  const order = <u64>load<u32>(se, 4);
  const folio = order >= SEC_SHIFT ? 0 : (pfn & ((<u64>1 << SEC_SHIFT) - 1)) >> order;
  return (base & ~(<usize>SEC_DEDUP)) + <usize>folio * DEDUP_BLOCK;
}
function dedupPage(se: usize, base: usize, pfn: u64): usize {
  const off = pfn & (((<u64>1) << <u64>load<u32>(se, 4)) - 1);
  return dedupBlock(se, base, pfn) + <usize>(off < 2 ? off : 2) * PAGE_SIZE_BYTES;
}

// sparse_add_section for [startPfn, endPfn): one contiguous memmap block and
// one aux block for all its sections, so every folio's struct pages are
// contiguous. Sections above RAM (ZONE_DEVICE) take theirs from the same
// arena. E_INVAL beyond MAX_PHYSMEM_BITS, E_NOSPC when the arena cannot hold
// them; on success sectionsMemmap / sectionsAux say where the blocks are.
// Bytes of root blocks sections [s0, s1) still need (SECTIONS_PER_ROOT
// entries each), or -1 when a section lies beyond the last root.
function rootBytesNeeded(s0: u64, s1: u64): i64 {
  const h = hdr();
  let need: i64 = 0;
  for (let s = s0; s < s1; s += (<u64>1) << h.rootShift) {
    const root = s >> h.rootShift;
    if (root >= <u64>h.nrRoots) return -1;
    if (load<u32>(h.sectionRoots + (<usize>root << 2)) == 0) need += (<i64>8) << h.rootShift;
  }
  return need;
}

// Give every root of sections [s0, s1) that has none a zeroed block from the
// arena at `next`; returns where the arena continues.
function rootsAlloc(s0: u64, s1: u64, next: usize): usize {
  const h = hdr();
  for (let s = s0; s < s1; s++) {
    const rp = h.sectionRoots + (<usize>(s >> h.rootShift) << 2);
    if (load<u32>(rp) == 0) {
      memory.fill(next, 0, 8 << h.rootShift);
      store<u32>(rp, next);
      next += 8 << h.rootShift;
    }
  }
  return next;
}

export let sectionsMemmap: usize = 0;
export let sectionsAux: usize = 0;
export function sectionsAdd(startPfn: u64, endPfn: u64): i32 {
  const h = hdr();
  const secPages: u64 = (<u64>1) << h.sectionShift;
  const s0 = startPfn >> h.sectionShift;
  const s1 = (endPfn + secPages - 1) >> h.sectionShift;
  const nPages = (s1 - s0) * secPages;
  lock(H + offsetof<Header>("memmapLock"));
  const need = rootBytesNeeded(s0, s1);            // root blocks first
  if (need < 0) { unlock(H + offsetof<Header>("memmapLock")); return E_INVAL; }
  const bytes = <u64>need + nPages * (<u64>PAGE_SIZE_BYTES + AUX_SIZE);
  if (nPages > <u64>0xffffffff || <u64>h.memmapArenaNext + bytes > <u64>h.memmapArenaEnd) { unlock(H + offsetof<Header>("memmapLock")); return E_NOSPC; }
  const memmap = rootsAlloc(s0, s1, h.memmapArenaNext);
  const aux = memmap + <usize>nPages * PAGE_SIZE_BYTES;
  h.memmapArenaNext = aux + <usize>nPages * AUX_SIZE;
  memory.fill(aux, 0, <usize>nPages * AUX_SIZE);
  for (let s = s0; s < s1; s++) {
    const se = load<u32>(h.sectionRoots + (<usize>(s >> h.rootShift) << 2)) + ((<usize>s & ((1 << h.rootShift) - 1)) << 3);
    const off = <usize>((s - s0) * secPages);
    store<u32>(se, memmap + off * PAGE_SIZE_BYTES);
    store<u32>(se, aux + off * AUX_SIZE, 4);
  }
  // __init_single_page: section in flags, _mapcount -1, refcount 0
  for (let i: u64 = 0; i < nPages; i++) {
    const p = memmap + <usize>i * PAGE_SIZE_BYTES;
    memory.fill(p, 0, PAGE_SIZE_BYTES);
    store<u64>(p, (s0 + (i >> h.sectionShift)) << FLAGS_SECTION_SHIFT);
    pageMapcountReset(p);
  }
  sectionsMemmap = memmap;
  sectionsAux = aux;
  unlock(H + offsetof<Header>("memmapLock"));
  return OK;
}

// The same for a vmemmap-optimised compound pgmap of folio order `order`:
// one DEDUP_BLOCK per folio, each section's entry naming the block of the
// folio its first pfn is in (with SEC_DEDUP) and the order. The blocks are
// zeroed; the caller initialises them. sectionsMemmap: the first block.
export function sectionsAddDedup(startPfn: u64, endPfn: u64, order: u32): i32 {
  const h = hdr();
  const s0 = startPfn >> h.sectionShift;
  const s1 = endPfn >> h.sectionShift;                // the caller aligned both to sections
  const nFolios = (endPfn - startPfn) >> order;
  lock(H + offsetof<Header>("memmapLock"));
  const need = rootBytesNeeded(s0, s1);            // root blocks first
  if (need < 0) { unlock(H + offsetof<Header>("memmapLock")); return E_INVAL; }
  const bytes = <u64>need + nFolios * <u64>DEDUP_BLOCK;
  if (nFolios > <u64>0xffffff || <u64>h.memmapArenaNext + bytes > <u64>h.memmapArenaEnd) { unlock(H + offsetof<Header>("memmapLock")); return E_NOSPC; }
  const blocks = rootsAlloc(s0, s1, h.memmapArenaNext);
  h.memmapArenaNext = blocks + <usize>nFolios * DEDUP_BLOCK;
  memory.fill(blocks, 0, <usize>nFolios * DEDUP_BLOCK);
  for (let s = s0; s < s1; s++) {
    const se = sectionEntry(s);
    const folio = ((s << h.sectionShift) - startPfn) >> order;
    store<u32>(se, <u32>(blocks + <usize>folio * DEDUP_BLOCK) | SEC_DEDUP);
    store<u32>(se, order, 4);
  }
  sectionsMemmap = blocks;
  sectionsAux = 0;
  unlock(H + offsetof<Header>("memmapLock"));
  return OK;
}

// sparse_remove_section for [startPfn, endPfn) (section aligned): the
// sections leave the lookup, so pfn_to_page finds no struct page there (as
// pfn_valid fails). The arena is a bump allocator: the blocks stay where they
// were (the caller poisons them), and their space is not reused.
export function sectionsRemove(startPfn: u64, endPfn: u64): void {
  const h = hdr();
  lock(H + offsetof<Header>("memmapLock"));
  for (let s = startPfn >> h.sectionShift; s < endPfn >> h.sectionShift; s++) {
    const se = sectionEntry(s);
    if (se == 0) continue;
    store<u64>(se, 0);
  }
  unlock(H + offsetof<Header>("memmapLock"));
}


// Are the struct pages of pfn's section laid out by pfn (not vmemmap-optimised)?
export function pfnLinear(pfn: u64): bool {
  const se = sectionEntry(pfn >> SEC_SHIFT);
  return se == 0 || (load<u32>(se) & SEC_DEDUP) == 0;
}

export function pfnToAux(pfn: u64): usize {
  const se = sectionEntry(pfn >> SEC_SHIFT);
  if (se == 0) return 0;
  const mb = <usize>load<u32>(se);
  if ((mb & SEC_DEDUP) != 0) return dedupBlock(se, mb, pfn) + DEDUP_AUX;   // one set of counters per folio
  const base = <usize>load<u32>(se, 4);
  if (base == 0) return 0;
  return base + <usize>(pfn & ((<u64>1 << SEC_SHIFT) - 1)) * AUX_SIZE;
}

export function pageToPfn(page: usize): u64 {
  const sec = load<u64>(page) >> FLAGS_SECTION_SHIFT;
  const base = load<u32>(sectionEntry(sec));
  return (sec << hdr().sectionShift) + <u64>((page - base) / PAGE_SIZE_BYTES);
}

// ---------------------------------------------------------------- struct page / folio
@inline export function refcountPtr(page: usize): usize { return page + offsetof<Page>("_refcount"); }
@inline export function mapcountPtr(page: usize): usize { return page + offsetof<Page>("_mapcount"); }

@inline export function pageFolio(page: usize): usize {
  const ch = atomic.load<u64>(page + PAGE_COMPOUND_HEAD);
  return (ch & 1) != 0 ? <usize>(ch - 1) : page;
}

@inline export function testFlag(page: usize, bit: u32): bool {
  return (load<u64>(page) & ((<u64>1) << bit)) != 0;
}
@inline export function setFlag(page: usize, bit: u32): void {
  atomic.or<u64>(page, (<u64>1) << bit);
}
@inline export function clearFlag(page: usize, bit: u32): void {
  atomic.and<u64>(page, ~((<u64>1) << bit));
}

@inline export function folioTestLarge(folio: usize): bool { return testFlag(folio, PG_head); }
@inline export function folioOrder(folio: usize): u32 {
  return folioTestLarge(folio) ? <u32>load<u8>(folio + PAGE_SIZE_BYTES, offsetof<Folio>("_flags_1")) : 0;
}

@inline export function pageType(page: usize): u32 { return load<u32>(mapcountPtr(page)) >> 24; }
@inline export function isBuddy(page: usize): bool {
  // PageBuddy: page_type's top byte is PGTY_buddy (and _mapcount would be negative)
  return pageType(page) == PGTY_buddy;
}

// prep_compound_page + folio fields (mm/page_alloc.c, mm/internal.h folio_set_order)
export function prepCompound(head: usize, order: u32): void {
  prepCompoundPages(head, order, order == 0 ? 0 : 1 << order);
}

// The same over the first `pages` struct pages of the folio: all of them, or
// a vmemmap-optimised folio's head, page[1] and shared tail.
export function prepCompoundPages(head: usize, order: u32, pages: u32): void {
  if (order == 0) return;
  const n: u32 = 1 << order;
  for (let i: u32 = 1; i < pages; i++) {
    const t = head + i * PAGE_SIZE_BYTES;
    store<u64>(t + PAGE_COMPOUND_HEAD, <u64>head | 1);
    prepCompoundTailCounts(t);
  }
  setFlag(head, PG_head);
  const f = changetype<Folio>(head + PAGE_SIZE_BYTES);
  f._flags_1 = (f._flags_1 & ~<u64>0xff) | order;
  prepCompoundHeadCounts(head);
  f._folio_nr_pages = n;
}

function clearPage(p: usize): void {
  store<u64>(p, load<u64>(p) & ~FLAGS_MASK);   // keep the section bits
  const pg = changetype<Page>(p);
  pg.lru_next = 0;
  pg.lru_prev = 0;
  pg.mapping = 0;
  pg.index = 0;
  pg.private_ = 0;
  pageCountsReset(p);
}

// Tear a folio back into free pages (free_pages_prepare / free_tail_page_prepare).
export function unprepFolio(head: usize, order: u32): void {
  const n: u32 = 1 << order;
  for (let i: u32 = 1; i < n; i++) clearPage(head + i * PAGE_SIZE_BYTES);
  clearPage(head);
}

// ---------------------------------------------------------------- RAM buddy allocator
@inline export function lruNext(p: usize): usize { return <usize>load<u32>(p, 8); }
@inline export function lruPrev(p: usize): usize { return <usize>load<u32>(p, 16); }

function listAdd(order: u32, p: usize): void {
  const hp = zoneFreeHead(order);
  const first = <usize>load<u32>(hp);
  store<u64>(p, <u64>first, 8);
  store<u64>(p, 0, 16);
  if (first != 0) store<u64>(first, <u64>p, 16);
  store<u32>(hp, <u32>p);
  const cp = H + H_ZONE_COUNT + (order << 2);
  store<u32>(cp, load<u32>(cp) + 1);
}

function listDel(order: u32, p: usize): void {
  const n = lruNext(p), pr = lruPrev(p);
  if (pr != 0) store<u64>(pr, <u64>n, 8); else store<u32>(zoneFreeHead(order), <u32>n);
  if (n != 0) store<u64>(n, <u64>pr, 16);
  store<u64>(p, 0, 8);
  store<u64>(p, 0, 16);
  const cp = H + H_ZONE_COUNT + (order << 2);
  store<u32>(cp, load<u32>(cp) - 1);
}

function setBuddy(p: usize, order: u32): void {
  setPageType(p, PGTY_buddy);                     // __SetPageBuddy
  changetype<Page>(p).private_ = order;           // set_buddy_order: page->private
}

function clearBuddy(p: usize): void {
  clearPageType(p);                               // __ClearPageBuddy
  changetype<Page>(p).private_ = 0;
}

// Allocate 2^order contiguous frames; returns the head struct page or 0.
// The head comes back with refcount 1 (set_page_refcounted), flags clean.
export function allocPages(order: u32): usize {
  const h = hdr();
  if (order > h.zoneMaxOrder) return 0;
  lock(H + offsetof<Header>("zoneLock"));
  let o = order;
  let p: usize = 0;
  for (; o <= h.zoneMaxOrder; o++) {
    p = <usize>load<u32>(zoneFreeHead(o));
    if (p != 0) break;
  }
  if (p == 0) {
    unlock(H + offsetof<Header>("zoneLock"));
    return 0;
  }
  listDel(o, p);
  clearBuddy(p);
  while (o > order) {   // expand(): hand the upper halves back
    o--;
    const b = p + ((<usize>1 << o) * PAGE_SIZE_BYTES);
    setBuddy(b, o);
    listAdd(o, b);
  }
  atomic.sub<u64>(H + offsetof<Header>("zoneFreePages"), (<u64>1) << order);
  unlock(H + offsetof<Header>("zoneLock"));
  setPageRefcounted(p);
  return p;
}

// __free_pages_ok: merge with free buddies of equal order.
export function freePages(page: usize, order: u32): void {
  const h = hdr();
  lock(H + offsetof<Header>("zoneLock"));
  atomic.add<u64>(H + offsetof<Header>("zoneFreePages"), (<u64>1) << order);
  let pfn = pageToPfn(page);
  let p = page;
  while (order < h.zoneMaxOrder) {
    const bpfn = pfn ^ ((<u64>1) << order);
    if (bpfn < h.zoneStartPfn || bpfn + ((<u64>1) << order) > h.zoneEndPfn) break;
    const bp = bpfn > pfn ? p + <usize>(bpfn - pfn) * PAGE_SIZE_BYTES : p - <usize>(pfn - bpfn) * PAGE_SIZE_BYTES;
    if (!isBuddy(bp) || load<u64>(bp, 40) != <u64>order) break;
    listDel(order, bp);
    clearBuddy(bp);
    if (bpfn < pfn) { pfn = bpfn; p = bp; }
    order++;
  }
  setBuddy(p, order);
  listAdd(order, p);
  unlock(H + offsetof<Header>("zoneLock"));
}

// Put [start, end) pfns on the free lists in the largest aligned blocks.
export function zoneInit(start: u64, end: u64): void {
  const h = hdr();
  let pfn = start;
  while (pfn < end) {
    let o = h.zoneMaxOrder;
    while (o > 0 && ((pfn & ((<u64>1 << o) - 1)) != 0 || pfn + (<u64>1 << o) > end)) o--;
    const p = pfnToPage(pfn);
    setBuddy(p, o);
    listAdd(o, p);
    atomic.add<u64>(H + offsetof<Header>("zoneFreePages"), (<u64>1) << o);
    pfn += <u64>1 << o;
  }
}

// ---------------------------------------------------------------- table pool
// A buddy allocator over the backed pool, in units of the smallest table.
// All of its state is in the PoolUnit array outside the pool (layout.ts):
// bytes written into the pool cannot reach it.

@inline export function poolVa(pa: u64): usize { return POOL_BASE + <usize>pa; }
@inline export function unitOf(pa: u64): PoolUnit {
  return changetype<PoolUnit>(POOL_UNITS + (<usize>(pa >> POOL_SHIFT) * POOL_UNIT_SIZE));
}
@inline function poolHead(o: u32): usize { return H + H_POOL_FREE + (o << 2); }
@inline function blockBytes(o: u32): u32 { return 1 << (o + hdr().poolMinShift); }

function poolListAdd(o: u32, pa: u32): void {
  const hp = poolHead(o);
  const first = load<u32>(hp);
  const u = unitOf(pa);
  u.next = first;
  u.prev = 0;
  if (first != 0) unitOf(first).prev = pa;
  store<u32>(hp, pa);
  u.state = UNIT_FREE | <u8>o;
}

function poolListDel(o: u32, pa: u32): void {
  const u = unitOf(pa);
  const n = u.next, pr = u.prev;
  if (pr != 0) unitOf(pr).next = n; else store<u32>(poolHead(o), n);
  if (n != 0) unitOf(n).prev = pr;
  u.next = 0;
  u.prev = 0;
  u.state = 0;
}

export function poolInit(start: u32, end: u32): void {
  const h = hdr();
  const maxO = h.poolMaxShift - h.poolMinShift;
  // [0, start) never enters the allocator: it is raw memory from the start
  for (let pa: u32 = 0; pa < start; pa += blockBytes(0)) unitOf(pa).state = UNIT_RAW;
  h.poolLow = end;
  let pa = start;
  while (pa < end) {
    let o = maxO;
    while (o > 0 && ((pa & (blockBytes(o) - 1)) != 0 || pa + blockBytes(o) > end)) o--;
    poolListAdd(o, pa);
    h.poolFreeBytes += blockBytes(o);
    pa += blockBytes(o);
  }
}

function poolAlloc(bytes: u32): u32 {
  const h = hdr();
  const order: u32 = <u32>(31 - clz<u32>(bytes)) - h.poolMinShift;
  const maxO = h.poolMaxShift - h.poolMinShift;
  lock(H + offsetof<Header>("poolLock"));
  let o = order;
  let pa: u32 = 0;
  for (; o <= maxO; o++) {
    pa = load<u32>(poolHead(o));
    if (pa != 0) break;
  }
  if (pa == 0) {
    unlock(H + offsetof<Header>("poolLock"));
    return 0;
  }
  poolListDel(o, pa);
  while (o > order) {
    o--;
    poolListAdd(o, pa + blockBytes(o));
  }
  unitOf(pa).state = UNIT_USED | <u8>order;
  h.poolFreeBytes -= bytes;
  if (pa < h.poolLow) h.poolLow = pa;
  unlock(H + offsetof<Header>("poolLock"));
  return pa;
}

function poolFree(pa: u32, bytes: u32): void {
  const h = hdr();
  let o: u32 = <u32>(31 - clz<u32>(bytes)) - h.poolMinShift;
  const maxO = h.poolMaxShift - h.poolMinShift;
  lock(H + offsetof<Header>("poolLock"));
  h.poolFreeBytes += bytes;
  unitOf(pa).state = 0;
  while (o < maxO) {
    const b = pa ^ blockBytes(o);
    if (b + blockBytes(o) > h.poolBytes || b == 0) break;
    if (unitOf(b).state != (UNIT_FREE | <u8>o)) break;
    poolListDel(o, b);
    if (b < pa) pa = b;
    o++;
  }
  poolListAdd(o, pa);
  unlock(H + offsetof<Header>("poolLock"));
}

// The head of the block that holds pa, or -1 (raw, or outside every block).
function blockOf(pa: u32): i64 {
  const maxO = hdr().poolMaxShift - hdr().poolMinShift;
  for (let o: u32 = 0; o <= maxO; o++) {
    const head = pa & ~(blockBytes(o) - 1);
    const st = unitOf(head).state;
    if (st == UNIT_RAW) {
      if (o == 0) return -1;                    // a raw unit is one unit: above it, another's
      continue;
    }
    if ((st & (UNIT_FREE | UNIT_USED)) != 0 && <u32>(st & UNIT_ORDER) >= o) return <i64>head;
  }
  return -2;
}

// Claim [pa, pa + n) of the pool as raw memory (writePhys): free units leave
// the allocator for good, raw units stay raw; E_BUSY, with nothing claimed,
// when a unit belongs to an allocated table. r: the first busy pa.
export let claimBusyPa: u64 = 0;
export function poolClaimRaw(pa: u64, n: u64): i32 {
  const h = hdr();
  const unit = <u64>blockBytes(0);
  const first = pa & ~(unit - 1);
  const end = pa + n;
  lock(H + offsetof<Header>("poolLock"));
  for (let u = first; u < end; u += unit) {
    const b = blockOf(<u32>u);
    if (b >= 0 && (unitOf(<u64>b).state & UNIT_USED) != 0) {
      claimBusyPa = u;
      unlock(H + offsetof<Header>("poolLock"));
      return E_BUSY;
    }
  }
  for (let u = first; u < end; u += unit) {
    const b = blockOf(<u32>u);
    if (b < 0) continue;                        // raw already
    // take the free block apart down to this one unit (expand() in reverse)
    let head = <u32>b;
    let o = <u32>(unitOf(head).state & UNIT_ORDER);
    poolListDel(o, head);
    while (o > 0) {
      o--;
      const upper = head + blockBytes(o);
      if (<u32>u >= upper) { poolListAdd(o, head); head = upper; }
      else poolListAdd(o, upper);
    }
    unitOf(head).state = UNIT_RAW;
    h.poolFreeBytes -= blockBytes(0);
    if (head < h.poolLow) h.poolLow = head;
  }
  unlock(H + offsetof<Header>("poolLock"));
  return OK;
}

// pte_alloc_one / pmd_alloc_one ...: a table for level l of address space
// `owner`, linked from the entry at address `parent` (or PARENT_*), every entry empty.
// Returns its pa, or 0 when the pool is exhausted.
export function allocTable(l: u32, opId: u32, parent: u32, owner: u32): u64 {
  const d = L(l);
  const pa = poolAlloc(d.tableBytes);
  if (pa == 0) return 0;
  const va = poolVa(pa);
  const n: u32 = 1 << d.indexBits;
  const e = d.emptyValue;
  for (let i: u32 = 0; i < n; i++) writeEntry(va + (i << 3), e);
  const u = unitOf(pa);
  u.gen = opId;
  u.parent = parent;
  u.owner = <u16>owner;
  u.level = <u8>l;
  if (linkedFromEntry(parent)) store<u32>(linkSlot(parent), pa + 1);   // before the caller publishes the entry
  return <u64>pa;
}

export function freeTable(l: u32, pa: u64): void {
  const u = unitOf(pa);
  // the entry's slot names this table unless a later table was linked from
  // the same entry (a leaked table's entry reused): leave that one's alone
  if (linkedFromEntry(u.parent) && tableLinked(pa, u.parent)) store<u32>(linkSlot(u.parent), 0);
  u.parent = PARENT_NONE;
  u.owner = 0;
  u.gen = 0;
  poolFree(<u32>pa, L(l).tableBytes);
  atomic.add<u64>(H + offsetof<Header>("statTablesFreed"), 1);
}

// The link index (Header.poolLinks): for an entry's address in the pool, its
// u32 slot, which holds the pa of the table that entry linked when the table
// was allocated (allocTable), plus one, until the table is freed (freeTable),
// else 0. (Plus one, so that an empty slot matches no pa: a crafted entry may
// name pa 0, and loongarch's may name any byte: see tableLinked.) It
// is the PoolUnit parent words read the other way round; those two functions
// are the only writers of either, and the checker holds them to agreeing
// (INV_LINK_INDEX).
@inline export function linkSlot(entry: usize): usize { return POOL_LINKS + (entry >> 1); }
@inline export function linkedFromEntry(parent: u32): bool { return parent != PARENT_NONE && parent < PARENT_SHARED; }

// The table a level-(l - 1) entry names, checked before anything reads it:
// linked from exactly that entry (its address in the pool: `entry`) when it
// was allocated, and not freed since -- so inside the pool (the full 64-bit
// value), aligned to its level's table size, not free, raw, another level's,
// another mm's, an ancestor, or a table a second entry also names. One load
// from the entry's slot in the link index, which holds pa + 1: an empty slot
// (0) matches no pa (pa + 1 wraps to 0 only for pa 2^64 - 1, which no table
// address field can hold: the arch compile refuses a field of all 64 bits),
// and a pa at or beyond 2^32 - 1 matches no u32. True when the link is the
// one the entry made.
// `entry` must be an entry's address inside the pool, as every caller's is
// (it was read from a table already checked).
@inline export function tableLinked(pa: u64, entry: usize): bool {
  return <u64>load<u32>(linkSlot(entry)) == pa + 1;
}

// The same test through the table's PoolUnit record, for the checker (which
// holds the index to agreeing with it): the record is read at an index kept
// inside the records, and a pa the mask refuses fails anyway. Only a table's
// head unit records its parent (the others, freed units and the units past
// the pool's end up to the next power of two hold PARENT_NONE, which no
// entry's address equals), so a match also means aligned.
export function unitLinked(pa: u64, entry: usize): bool {
  const parent = load<u32>(POOL_UNITS + (<usize>((pa >> POOL_SHIFT) & POOL_UNIT_INDEX) * POOL_UNIT_SIZE), offsetof<PoolUnit>("parent"));
  return ((pa & POOL_LINK_MASK) | <u64>(parent ^ <u32>entry)) == 0;
}

// A shared invalid table (loongarch's invalid_pte_table ...): what every empty
// entry of the level above points at. Never linked, never freed; a read-only
// walk may enter it (the hardware view does, as the refill handler would).
export function tableShared(pa: u64): bool {
  return (pa & POOL_LINK_MASK) == 0 &&
    load<u32>(POOL_UNITS + (<usize>(pa >> POOL_SHIFT) * POOL_UNIT_SIZE), offsetof<PoolUnit>("parent")) == PARENT_SHARED;
}

// Why tableLinked refused (BAD_*), for the report.
export function tableLinkBad(pa: u64, entry: usize): u32 {
  if (pa >= POOL_BYTES) return BAD_OUTSIDE;
  if ((pa & (((<u64>1) << POOL_SHIFT) - 1)) != 0) return BAD_MISALIGNED;
  return tableLinked(pa, entry) ? 0 : BAD_UNLINKED;
}

// The same for a raw walk (tables written by anyone): inside the pool and aligned.
@inline export function tableRawBad(l: u32, pa: u64): u32 {
  if (pa >= <u64>hdr().poolBytes) return BAD_OUTSIDE;
  return (pa & <u64>(L(l).tableBytes - 1)) != 0 ? BAD_MISALIGNED : 0;
}

// An address space's top-level table, checked like a link.
export function rootBad(root: u64, mmId: u32): u32 {
  const h = hdr();
  if (root >= <u64>h.poolBytes) return BAD_OUTSIDE;
  if ((root & <u64>(L(0).tableBytes - 1)) != 0) return BAD_MISALIGNED;
  const u = unitOf(root);
  return u.parent == PARENT_ROOT && <u32>u.owner == mmId && u.level == 0 ? 0 : BAD_UNLINKED;
}

// Is [pa, pa + n) inside the backed pool (raw access, raw walks)?
@inline export function poolContains(pa: u64, n: u64): bool {
  const size = <u64>hdr().poolBytes;
  return pa < size && n <= size - pa;
}

export function markReserved(pfnStart: u64, pfnEnd: u64): void {
  for (let pfn = pfnStart; pfn < pfnEnd; pfn++) {
    const p = pfnToPage(pfn);
    if (p != 0) setFlag(p, PG_reserved);
  }
}

