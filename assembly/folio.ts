// Folio reference helpers (include/linux/mm.h, mm/gup.c, mm/swap.c):
// grabbing and putting references and pins, and freeing at zero.

import { H, hdr, addUnlessZero, subReturn, lock, unlock } from './base';
import {
  pfnToPage, pageToPfn, pageFolio, folioTestLarge, folioOrder, refcountPtr, unprepFolio, freePages, pageType,
  allocPages, prepCompound,
} from './mem';
import {
  Header, Page, Vma, FOLL_GET, FOLL_PIN, FOLL_LONGTERM, FOLL_WRITE, GUP_PIN_COUNTING_BIAS,
  FOLIO_PINCOUNT, PG_anon_exclusive, PG_reserved, PGTY_hugetlb, PAGE_MAPPING_ANON, VM_SHARED,
} from './layout';

// Per-thread tallies of what the current gup / unpin call added, folded into
// the machine-wide counters once per call (never per page).
export let tallyRefs: i64 = 0;   // refcount units (pins on small folios count GUP_PIN_COUNTING_BIAS)
export let tallyPins: i64 = 0;   // _pincount units on large folios
export function tallyReset(): void { tallyRefs = 0; tallyPins = 0; }
export function tallyCommit(): void {
  if (tallyRefs != 0) atomic.add<i64>(H + offsetof<Header>("gupOutstanding"), tallyRefs);
  if (tallyPins != 0) atomic.add<i64>(H + offsetof<Header>("pinOutstanding"), tallyPins);
  tallyRefs = 0;
  tallyPins = 0;
}

// The zero page's struct page; set once the machine is initialised (refreshZeroPage).
let zeroPage: usize = 0;
export function refreshZeroPage(): void { zeroPage = pfnToPage(hdr().zeroPfn); }
@inline export function isZeroFolio(folio: usize): bool {
  return folio == zeroPage;
}
@inline export function zeroPageOf(): usize { return zeroPage; }
@inline export function tallyAdd(refs: i64, pins: i64): void { tallyRefs += refs; tallyPins += pins; }

// The huge zero folio (mm/huge_memory.c v6.12): a PMD-order folio allocated on
// first use and kept by the machine (the shrinker that may free it once no mm
// uses it is not modelled). Its PMD mappings hold no reference and no rmap,
// and it is not pmd_special: everything recognises it by pfn (is_huge_zero_pmd).
// huge_zero_pfn; 0 while there is none (pfn 0 is a table-pool frame, never a folio).
@inline export function hugeZeroPfn(): u64 { return atomic.load<u64>(H + offsetof<Header>("hugeZeroPfn")); }
@inline export function isHugeZeroPfn(pfn: u64): bool {
  const hz = hugeZeroPfn();
  return hz != 0 && pfn == hz;
}

// mm_get_huge_zero_folio -> get_huge_zero_page: folio_alloc(__GFP_ZERO, HPAGE_PMD_ORDER)
// with PG_large_rmappable cleared, its allocation reference held for good.
// Returns the folio, or 0 when no block of that order is free (the fault falls back).
export function getHugeZeroFolio(order: u32, opId: u32): usize {
  let pfn = hugeZeroPfn();
  if (pfn != 0) return pfnToPage(pfn);
  const lk = H + offsetof<Header>("hugeZeroLock");
  lock(lk);
  pfn = hugeZeroPfn();
  if (pfn != 0) { unlock(lk); return pfnToPage(pfn); }
  const folio = allocPages(order);
  if (folio != 0) {
    prepCompound(folio, order);          // folio_alloc; folio_clear_large_rmappable: PG_large_rmappable is never set
    store<u64>(folio, opId, offsetof<Page>("last_op"));
    atomic.store<u64>(H + offsetof<Header>("hugeZeroPfn"), pageToPfn(folio));
  }
  unlock(lk);
  return folio;
}

// __folio_put: the last reference is gone; hand the frames back.
export function freeFolio(folio: usize): void {
  if ((load<u64>(folio) & ((<u64>1) << PG_reserved)) != 0) return;   // never free reserved pages
  const order = folioOrder(folio);
  unprepFolio(folio, order);
  freePages(folio, order);
}

// folio_put_refs
@inline export function folioPutRefs(folio: usize, refs: i32): void {
  if (subReturn(refcountPtr(folio), refs) == 0) freeFolio(folio);
}

// try_get_folio (mm/gup.c): add-unless-zero on the folio, then make sure the
// page still belongs to it (a racing split or free would have changed it).
export function tryGetFolio(page: usize, refs: i32): usize {
  while (true) {
    const folio = pageFolio(page);
    if (atomic.load<i32>(refcountPtr(folio)) < 0) return 0;
    if (!addUnlessZero(refcountPtr(folio), refs)) return 0;
    if (pageFolio(page) == folio) return folio;
    folioPutRefs(folio, refs);
  }
}

// folio_is_longterm_pinnable: RAM outside ZONE_MOVABLE/CMA is pinnable.
// (Device folios, when modelled, answer from their pgmap type.)
@inline export function longtermPinnable(folio: usize): bool {
  return true;
}

// Account what a successful grab added (after FOLL_PIN bias / pincount).
@inline function tallyGrab(folio: usize, refs: i32, flags: u32): void {
  if ((flags & FOLL_PIN) != 0) {
    if (folioTestLarge(folio)) { tallyRefs += refs; tallyPins += refs; }
    else tallyRefs += <i64>refs * GUP_PIN_COUNTING_BIAS;
  } else tallyRefs += refs;
}

// folio_ref_try_add, with try_get_folio's refusal of a negative count folded in.
@inline export function addUnlessNonPositive(p: usize, n: i32): bool {
  let c = atomic.load<i32>(p);
  while (true) {
    if (c <= 0) return false;
    const old = atomic.cmpxchg<i32>(p, c, c + n);
    if (old == c) return true;
    c = old;
  }
}

// try_grab_folio_fast: add-unless-zero (the folio may be freed under us).
@inline export function tryGrabFolioFast(page: usize, refs: i32, flags: u32): usize {
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
    if (!addUnlessNonPositive(refcountPtr(folio), add)) return 0;
    if (pageFolio(page) == folio && folioTestLarge(folio) == large) break;
    folioPutRefs(folio, add);                 // raced with a free or a split: retry
  }
  if ((flags & FOLL_LONGTERM) != 0 && !longtermPinnable(folio)) {
    folioPutRefs(folio, add);
    return 0;
  }
  if (large) {
    atomic.add<i32>(folio + FOLIO_PINCOUNT, refs);
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
    atomic.add<i32>(refcountPtr(folio), refs);
    tallyRefs += refs;
    return true;
  }
  if (isZeroFolio(folio)) return true;
  if (folioTestLarge(folio)) {
    atomic.add<i32>(refcountPtr(folio), refs);
    atomic.add<i32>(folio + FOLIO_PINCOUNT, refs);
  } else {
    atomic.add<i32>(refcountPtr(folio), refs * GUP_PIN_COUNTING_BIAS);
  }
  tallyGrab(folio, refs, flags);
  return true;
}

// gup_put_folio
@inline export function gupPutFolio(folio: usize, refs: i32, flags: u32): void {
  if ((flags & FOLL_PIN) != 0) {
    if (isZeroFolio(folio)) return;
    if (folioTestLarge(folio)) {
      atomic.sub<i32>(folio + FOLIO_PINCOUNT, refs);
      tallyRefs -= refs;
      tallyPins -= refs;
    } else {
      tallyRefs -= <i64>refs * GUP_PIN_COUNTING_BIAS;
      refs *= GUP_PIN_COUNTING_BIAS;
    }
  } else tallyRefs -= refs;
  folioPutRefs(folio, refs);
}

// gup_fast_folio_allowed (mm/gup.c): may gup-fast hand out this folio?
export function gupFastFolioAllowed(folio: usize, flags: u32): bool {
  const rejectFileBacked = (flags & (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE)) == (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE);
  const checkSecretmem = !folioTestLarge(folio);   // CONFIG_SECRETMEM: only order-0 folios
  if (!rejectFileBacked && !checkSecretmem) return true;
  if (folioTestLarge(folio) && pageType(folio) == PGTY_hugetlb) return true;
  return mappingAllowed(load<u64>(folio, offsetof<Page>("mapping")), flags);   // READ_ONCE(folio->mapping)
}

// The rest of gup_fast_folio_allowed, from the one read of folio->mapping on.
@inline export function mappingAllowed(mapping: u64, flags: u32): bool {
  if (mapping == 0) return false;            // truncated, or no mapping: let the slow path decide
  const bits = mapping & 3;                  // PAGE_MAPPING_FLAGS
  if (bits != 0) return (bits & PAGE_MAPPING_ANON) != 0;
  // file-backed (no shmem/secretmem modelled): refused only to FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE
  return (flags & (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE)) != (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE);
}

// is_cow_mapping: (vm_flags & (VM_SHARED | VM_MAYWRITE)) == VM_MAYWRITE. do_mmap
// gives every mapping VM_MAYWRITE but a file opened read-only, which pgtemu
// has none of, so VM_MAYWRITE is not recorded and only VM_SHARED decides.
@inline export function isCowMapping(vmFlags: u32): bool { return (vmFlags & VM_SHARED) == 0; }

// gup_must_unshare (mm/internal.h v6.12): a read pin (FOLL_PIN without
// FOLL_WRITE) of a read-only mapped page must first unshare it when the page
// is anon and not exclusive, or, for FOLL_LONGTERM, when it is not anon (the
// zero page, the huge zero folio) and the mapping is COW -- or unknown: vma 0
// is gup-fast's NULL.
export function gupMustUnshare(flags: u32, page: usize, vma: usize): bool {
  if ((flags & (FOLL_WRITE | FOLL_PIN)) != FOLL_PIN) return false;
  const folio = pageFolio(page);
  const mapping = load<u64>(folio, offsetof<Page>("mapping"));
  if ((mapping & PAGE_MAPPING_ANON) == 0) {     // !PageAnon(page)
    if ((flags & FOLL_LONGTERM) == 0) return false;
    if (vma == 0) return true;
    return isCowMapping(changetype<Vma>(vma).flags);
  }
  // HugeTLB keeps PG_anon_exclusive on the head; THP per page.
  const p = folioTestLarge(folio) && pageType(folio) == PGTY_hugetlb ? folio : page;
  return (load<u64>(p) & ((<u64>1) << PG_anon_exclusive)) == 0;
}
