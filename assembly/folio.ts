// Folios beyond their counts (refcount.ts changes those): the zero page and
// the huge zero folio, freeing a folio, and what gup may take of one
// (include/linux/mm.h, mm/gup.c, mm/huge_memory.c, mm/swap.c).

import { H, hdr, lock, unlock } from './base';
import {
  pfnToPage, pageToPfn, pageFolio, folioTestLarge, folioOrder, unprepFolio, freePages, pageType,
  allocPages, prepCompound,
} from './mem';
import {
  Header, Page, Vma, FOLL_PIN, FOLL_LONGTERM, FOLL_WRITE,
  PG_anon_exclusive, PG_reserved, PGTY_hugetlb, PAGE_MAPPING_ANON, VM_SHARED,
} from './layout';

// The zero page's struct page; set once the machine is initialised (refreshZeroPage).
let zeroPage: usize = 0;
export function refreshZeroPage(): void { zeroPage = pfnToPage(hdr().zeroPfn); }
@inline export function isZeroFolio(folio: usize): bool {
  return folio == zeroPage;
}
@inline export function zeroPageOf(): usize { return zeroPage; }

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
