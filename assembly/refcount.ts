// The one place where a struct page's counts change: _refcount, the folio's
// _pincount, and the mapcounts (_mapcount, _large_mapcount,
// _entire_mapcount, _nr_pages_mapped), with the kernel's names
// (include/linux/page_ref.h, include/linux/mm.h, mm/gup.c, mm/rmap.c, v6.12).
// Other files read the counts (refcountPtr, mapcountPtr, folioOf) but never
// write them; page_type shares _mapcount's word (a union in struct page), so
// it is written here as well.
//
// Every count is changed with an atomic. DEBUG builds (asc --target debug)
// trap where an unchecked release would take a count below zero; the checked
// releases (unpin's) test and take back instead.

import { H } from './base';
import { pageFolio, folioTestLarge, refcountPtr, mapcountPtr } from './mem';
import { freeAtZero, longtermPinnable, isP2pdmaPage } from './model';
import { isZeroFolio } from './folio';
import {
  Header, Ctx, Page, Folio, PAGE_SIZE_BYTES, FOLL_GET, FOLL_PIN, FOLL_LONGTERM, FOLL_PCI_P2PDMA, PG_reserved, GUP_PIN_COUNTING_BIAS, ENTIRELY_MAPPED,
  INJECT_REFCOUNT, INJECT_MAPCOUNT, PGTY_hugetlb,
} from './layout';

// Assertions that compile away in release builds (asconfig: noAssert).
export const DEBUG: bool = !ASC_NO_ASSERT;
@inline function notNegative(v: i32): void { if (DEBUG && v < 0) unreachable(); }
// a mapcount is -1-based: -1 is "not mapped"
@inline function notBelowUnmapped(v: i32): void { if (DEBUG && v < -1) unreachable(); }

// struct folio's page[1] fields, as an overlay.
@inline export function folioOf(folio: usize): Folio { return changetype<Folio>(folio + PAGE_SIZE_BYTES); }
@inline export function pincountPtr(folio: usize): usize { return folio + PAGE_SIZE_BYTES + offsetof<Folio>("_pincount"); }
@inline function largeMapcountPtr(folio: usize): usize { return folio + PAGE_SIZE_BYTES + offsetof<Folio>("_large_mapcount"); }
@inline function entireMapcountPtr(folio: usize): usize { return folio + PAGE_SIZE_BYTES + offsetof<Folio>("_entire_mapcount"); }
@inline function nrPagesMappedPtr(folio: usize): usize { return folio + PAGE_SIZE_BYTES + offsetof<Folio>("_nr_pages_mapped"); }

// ---------------------------------------------------------------- gup tallies
// Per-thread tallies of what the current gup / unpin call added, folded into
// the calling context's counters once per call (never per page); the
// machine's outstanding references are the sum over every context
// (gupOutstandingSum), so threads never write one shared counter.
export let tallyRefs: i64 = 0;   // refcount units (pins on small folios count GUP_PIN_COUNTING_BIAS)
export let tallyPins: i64 = 0;   // _pincount units on large folios
export function tallyReset(): void { tallyRefs = 0; tallyPins = 0; }
export function tallyCommit(ctx: usize): void {
  if (tallyRefs != 0) atomic.add<i64>(ctx + offsetof<Ctx>("gupOutstanding"), tallyRefs);
  if (tallyPins != 0) atomic.add<i64>(ctx + offsetof<Ctx>("pinOutstanding"), tallyPins);
  tallyRefs = 0;
  tallyPins = 0;
}
// What gup has handed out and not got back, machine-wide: the sum of every
// context's tally (pins: false, references; true, pins). Exact when no
// gup or unpin is running.
export function gupOutstandingSum(pins: bool): i64 {
  const h = changetype<Header>(H);
  const field = pins ? offsetof<Ctx>("pinOutstanding") : offsetof<Ctx>("gupOutstanding");
  let sum: i64 = 0;
  for (let i: u32 = 0; i < h.ctxCount; i++) sum += atomic.load<i64>(h.ctxBase + i * h.ctxSize + field);
  return sum;
}
@inline export function tallyAdd(refs: i64, pins: i64): void { tallyRefs += refs; tallyPins += pins; }

// ---------------------------------------------------------------- page initialisation
// set_page_count
@inline export function setPageCount(page: usize, v: i32): void {
  atomic.store<i32>(refcountPtr(page), v);
}

// set_page_refcounted: a page leaving the allocator holds one reference.
@inline export function setPageRefcounted(page: usize): void { setPageCount(page, 1); }

// page_mapcount_reset: _mapcount -1 (no mapping; also "no page_type").
@inline export function pageMapcountReset(page: usize): void {
  atomic.store<i32>(mapcountPtr(page), -1);
}

// __SetPageBuddy, __folio_set_hugetlb ...: page_type's top byte (v6.12 PGTY_*).
@inline export function setPageType(page: usize, ty: u32): void {
  atomic.store<u32>(mapcountPtr(page), ty << 24);
}

// __ClearPageBuddy ...: page_type back to UINT_MAX, which _mapcount reads as -1.
@inline export function clearPageType(page: usize): void { pageMapcountReset(page); }

// free_pages_prepare on one page: no mapping, no reference.
@inline export function pageCountsReset(page: usize): void {
  pageMapcountReset(page);
  setPageCount(page, 0);
}

// prep_compound_tail's counts: a tail holds no reference and no mapping.
@inline export function prepCompoundTailCounts(page: usize): void {
  pageMapcountReset(page);
  setPageCount(page, 0);
}

// prep_compound_head's counts (mm/internal.h): no mapping, no pin.
@inline export function prepCompoundHeadCounts(folio: usize): void {
  atomic.store<i32>(largeMapcountPtr(folio), -1);
  atomic.store<i32>(entireMapcountPtr(folio), -1);
  atomic.store<i32>(nrPagesMappedPtr(folio), 0);
  atomic.store<i32>(pincountPtr(folio), 0);
}

// ---------------------------------------------------------------- references
// folio_ref_add
@inline export function folioRefAdd(folio: usize, n: i32): void {
  atomic.add<i32>(refcountPtr(folio), n);
}

// folio_ref_sub_return
@inline export function folioRefSubReturn(folio: usize, n: i32): i32 {
  return atomic.sub<i32>(refcountPtr(folio), n) - n;
}

// folio_ref_sub_and_test: true when the last reference went.
@inline export function folioRefSubAndTest(folio: usize, n: i32): bool {
  const v = folioRefSubReturn(folio, n);
  notNegative(v);
  return v == 0;
}

// folio_ref_add_unless(folio, n, u): add n unless the count is u.
@inline export function folioRefAddUnless(folio: usize, n: i32, u: i32): bool {
  const p = refcountPtr(folio);
  let c = atomic.load<i32>(p);
  while (true) {
    if (c == u) return false;
    const old = atomic.cmpxchg<i32>(p, c, c + n);
    if (old == c) return true;
    c = old;
  }
}

// folio_try_get: folio_ref_add_unless(folio, 1, 0).
@inline export function folioTryGet(folio: usize): bool { return folioRefAddUnless(folio, 1, 0); }

// folio_ref_try_add (page_ref_add_unless(.., 0), whose VM_BUG_ON on a negative
// count try_get_folio relies on): here a count at or below zero is refused.
export function folioRefTryAdd(folio: usize, n: i32): bool {
  const p = refcountPtr(folio);
  let c = atomic.load<i32>(p);
  while (true) {
    if (c <= 0) return false;
    const old = atomic.cmpxchg<i32>(p, c, c + n);
    if (old == c) return true;
    c = old;
  }
}

// The compare-and-swap at the heart of folio_ref_try_add (atomic_add_unless
// -> atomic_try_cmpxchg on _refcount): returns the count found, the add done
// when that is `c`. gup-fast's quick loop spells folio_ref_try_add out with
// it (the test of `c` and the retry, folioRefTryAdd, in the loop's own shape).
@inline export function folioRefCmpxchgAdd(page: usize, c: i32, n: i32): i32 {
  return atomic.cmpxchg<i32>(refcountPtr(page), c, c + n);
}

// folio_put_refs: at zero the folio goes where the model says (__folio_put).
@inline export function folioPutRefs(folio: usize, refs: i32): void {
  if (folioRefSubAndTest(folio, refs)) freeAtZero(folio);
}

// ---------------------------------------------------------------- pins
// atomic_add(refs, &folio->_pincount)
@inline export function folioPinsAdd(folio: usize, n: i32): void {
  atomic.add<i32>(pincountPtr(folio), n);
}

// atomic_sub_return on _pincount (unpin's checked release tests the result).
@inline export function folioPinsSubReturn(folio: usize, n: i32): i32 {
  return atomic.sub<i32>(pincountPtr(folio), n) - n;
}

// atomic_sub(refs, &folio->_pincount) (gup_put_folio)
@inline export function folioPinsSub(folio: usize, n: i32): void {
  notNegative(folioPinsSubReturn(folio, n));
}

// ---------------------------------------------------------------- unpin's unit
// What unpin releases per page of an order-0 folio in the current call:
// GUP_PIN_COUNTING_BIAS references for a pin, one for a get. A per-call
// global, read in the loop (as a local, V8 would recompute it per page).
export let releaseUnit: i32 = 0;
@inline export function setReleaseUnit(pin: bool): void { releaseUnit = pin ? GUP_PIN_COUNTING_BIAS : 1; }
// folio_ref_sub_return of one unit, and its take-back (folio_ref_add)
@inline export function folioRefSubUnit(page: usize): i32 {
  return atomic.sub<i32>(refcountPtr(page), releaseUnit) - releaseUnit;
}
@inline export function folioRefAddUnit(page: usize): void { atomic.add<i32>(refcountPtr(page), releaseUnit); }

// _large_mapcount (read with the folio's other fields at its head's offset)
@inline export function folioLargeMapcount(folio: usize): i32 { return load<i32>(folio, PAGE_SIZE_BYTES + offsetof<Folio>("_large_mapcount")); }

// ---------------------------------------------------------------- gup's grabs
// try_get_folio (mm/gup.c): folio_ref_try_add on the folio, then make sure
// the page still belongs to it (a racing split or free would have changed it).
export function tryGetFolio(page: usize, refs: i32): usize {
  while (true) {
    const folio = pageFolio(page);
    if (!folioRefTryAdd(folio, refs)) return 0;
    if (pageFolio(page) == folio) return folio;
    folioPutRefs(folio, refs);
  }
}

// Account what a successful grab added (after FOLL_PIN bias / pincount).
@inline function tallyGrab(folio: usize, refs: i32, flags: u32): void {
  if ((flags & FOLL_PIN) != 0) {
    if (folioTestLarge(folio)) { tallyRefs += refs; tallyPins += refs; }
    else tallyRefs += <i64>refs * GUP_PIN_COUNTING_BIAS;
  } else tallyRefs += refs;
}

// try_grab_folio_fast: add-unless-zero (the folio may be freed under us).
@inline export function tryGrabFolioFast(page: usize, refs: i32, flags: u32): usize {
  // !FOLL_PCI_P2PDMA && is_pci_p2pdma_page, before any reference (a device page: PG_reserved first)
  if ((flags & FOLL_PCI_P2PDMA) == 0 && (load<u64>(pageFolio(page)) & ((<u64>1) << PG_reserved)) != 0 && isP2pdmaPage(pageFolio(page))) return 0;
  if ((flags & FOLL_GET) != 0) {
    const f = tryGetFolio(page, refs);
    if (f != 0) tallyRefs += refs;
    return f;
  }
  if ((flags & FOLL_PIN) == 0) return 0;
  // The kernel adds refs with folio_ref_try_add and then, for a small folio,
  // refs * (GUP_PIN_COUNTING_BIAS - 1) more. pgtemu adds the whole
  // refs * GUP_PIN_COUNTING_BIAS in the one add-unless-zero: the same counts
  // before and after, one locked operation less. Whether the folio is small
  // is read before the reference is held, so it is checked again after.
  let folio: usize = 0;
  let add: i32 = 0;
  let large = false;
  while (true) {
    folio = pageFolio(page);
    if (isZeroFolio(folio)) return folio;      // the zero page is never pinned or counted
    large = folioTestLarge(folio);
    add = large ? refs : refs * GUP_PIN_COUNTING_BIAS;
    if (!folioRefTryAdd(folio, add)) return 0;
    if (pageFolio(page) == folio && folioTestLarge(folio) == large) break;
    folioPutRefs(folio, add);                 // raced with a free or a split: retry
  }
  if ((flags & FOLL_LONGTERM) != 0 && !longtermPinnable(folio)) {
    folioPutRefs(folio, add);
    return 0;
  }

  if (large) {
    folioPinsAdd(folio, refs);
    tallyRefs += refs;
    tallyPins += refs;
  } else {
    tallyRefs += add;
  }
  return folio;
}

// try_grab_folio (slow path): the caller holds the table lock, so a plain add.
// Returns false (the kernel's -ENOMEM) if the folio has no reference at all.
export function tryGrabFolio(folio: usize, refs: i32, flags: u32): bool {
  if (atomic.load<i32>(refcountPtr(folio)) <= 0) return false;
  if ((flags & FOLL_GET) != 0) {
    folioRefAdd(folio, refs);
    tallyRefs += refs;
    return true;
  }
  if (isZeroFolio(folio)) return true;
  if (folioTestLarge(folio)) {
    folioRefAdd(folio, refs);
    folioPinsAdd(folio, refs);
  } else {
    folioRefAdd(folio, refs * GUP_PIN_COUNTING_BIAS);
  }
  tallyGrab(folio, refs, flags);
  return true;
}

// gup_put_folio
@inline export function gupPutFolio(folio: usize, refs: i32, flags: u32): void {
  if ((flags & FOLL_PIN) != 0) {
    if (isZeroFolio(folio)) return;
    if (folioTestLarge(folio)) {
      folioPinsSub(folio, refs);
      tallyRefs -= refs;
      tallyPins -= refs;
    } else {
      tallyRefs -= <i64>refs * GUP_PIN_COUNTING_BIAS;
      refs *= GUP_PIN_COUNTING_BIAS;
    }
  } else tallyRefs -= refs;
  folioPutRefs(folio, refs);
}

// ---------------------------------------------------------------- rmap
// folio_add_new_anon_rmap (mm/rmap.c) for a folio mapped once, whole, by one
// entry: an order-0 page's _mapcount 0; a large folio entirely mapped
// (_entire_mapcount 0, _large_mapcount 0, _nr_pages_mapped ENTIRELY_MAPPED);
// hugetlb_add_new_anon_rmap: the same without _nr_pages_mapped, and the
// folio's page_type marks it hugetlb.
export function folioAddNewAnonRmap(folio: usize, order: u32, hugetlb: bool): void {
  if (order > 0) {
    if (hugetlb) setPageType(folio, PGTY_hugetlb);   // __folio_set_hugetlb (folio page_type)
    atomic.store<i32>(entireMapcountPtr(folio), 0);
    atomic.store<i32>(largeMapcountPtr(folio), 0);
    if (!hugetlb) atomic.store<i32>(nrPagesMappedPtr(folio), ENTIRELY_MAPPED);
  } else {
    atomic.store<i32>(mapcountPtr(folio), 0);
  }
}

// folio_remove_rmap_pte (one pte of page in folio); _nr_pages_mapped counts
// the page only when its last pte mapping goes (__folio_remove_rmap)
@inline export function folioRemoveRmapPte(folio: usize, page: usize): void {
  const mc = atomic.sub<i32>(mapcountPtr(page), 1) - 1;
  notBelowUnmapped(mc);
  if (folioTestLarge(folio)) {
    notBelowUnmapped(atomic.sub<i32>(largeMapcountPtr(folio), 1) - 1);
    if (mc == -1) atomic.sub<i32>(nrPagesMappedPtr(folio), 1);
  }
}

// folio_remove_rmap_pmd / _pud: an entire mapping (ENTIRELY_MAPPED goes with the last)
@inline export function folioRemoveRmapPmd(folio: usize): void {
  const em = atomic.sub<i32>(entireMapcountPtr(folio), 1) - 1;
  notBelowUnmapped(em);
  notBelowUnmapped(atomic.sub<i32>(largeMapcountPtr(folio), 1) - 1);
  if (em == -1) atomic.sub<i32>(nrPagesMappedPtr(folio), ENTIRELY_MAPPED);
}

// folio_add_file_rmap_pte / folio_add_anon_rmap_pte (one pte of page in a
// folio already mapped or already anon; both count through __folio_add_rmap,
// RMAP_LEVEL_PTE): the page's _mapcount, and for a large folio
// _large_mapcount, _nr_pages_mapped on the page's first mapping
@inline export function folioAddRmapPte(folio: usize, page: usize): void {
  const mc = atomic.add<i32>(mapcountPtr(page), 1) + 1;
  if (folioTestLarge(folio)) {
    atomic.add<i32>(largeMapcountPtr(folio), 1);
    if (mc == 0) atomic.add<i32>(nrPagesMappedPtr(folio), 1);
  }
}

// folio_add_file_rmap_pmd / _pud: _entire_mapcount and _large_mapcount, and
// ENTIRELY_MAPPED with the first entire mapping (__folio_add_rmap, RMAP_LEVEL_PMD/PUD)
@inline export function folioAddFileRmapPmd(folio: usize): void {
  const em = atomic.add<i32>(entireMapcountPtr(folio), 1) + 1;
  atomic.add<i32>(largeMapcountPtr(folio), 1);
  if (em == 0) atomic.add<i32>(nrPagesMappedPtr(folio), ENTIRELY_MAPPED);
}

// hugetlb_remove_rmap
@inline export function hugetlbRemoveRmap(folio: usize): void {
  notBelowUnmapped(atomic.sub<i32>(entireMapcountPtr(folio), 1) - 1);
  notBelowUnmapped(atomic.sub<i32>(largeMapcountPtr(folio), 1) - 1);
}

// ---------------------------------------------------------------- fault injection
// inject(): set one count to a value, as a stray write would (INJECT_*):
// the folio's _refcount, the page's _mapcount, or the large folio's _pincount.
export function injectCount(folio: usize, page: usize, field: u32, v: i32): void {
  if (field == INJECT_REFCOUNT) atomic.store<i32>(folio, v, offsetof<Page>("_refcount"));
  else if (field == INJECT_MAPCOUNT) atomic.store<i32>(page, v, offsetof<Page>("_mapcount"));
  else atomic.store<i32>(pincountPtr(folio), v);
}
