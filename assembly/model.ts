// The refcount model's policy: where the two eras of ZONE_DEVICE reference
// counting (Header.model) disagree, the core asks here instead of testing
// bits inline.
//
//   MODEL_LEGACY   up to v6.14: pte_devmap entries; a devmap or special
//                  mapping holds no page reference; gup-fast takes a pgmap
//                  reference per page (get_dev_pagemap); an idle device page
//                  has refcount 1; its last put calls pgmap->ops->page_free.
//   MODEL_UNIFIED  v6.15 on: no devmap bit; DAX inserts folios whose mappings
//                  hold references like any other (vmf_insert_folio_*); an
//                  idle device page has refcount 0.
//
// Finer than the two models, a kernel preset sets the switches that moved at
// other releases (Header, src/host/presets.ts):
//
//   PGMAP_PAGE_REFS   v6.1 on: a device-private/coherent page holds a pgmap
//                     reference while allocated (0dc45ca1ce18
//                     "mm/memremap.c: take a pgmap reference on page
//                     allocation"); v6.0 has none, and its free pages sit at 1.
//   DEVMAP_CODE       until v6.16: the pXd_devmap code, and ZONE_DEVICE
//                     depends on ARCH_HAS_PTE_DEVMAP (mm/Kconfig).
//   DAX_HUGE_SPECIAL  v6.15, v6.16: vmf_insert_folio_pmd/pud mark DAX huge
//                     entries special (fixed for v6.17).
//   FS_DAX_LIMITED    s390 until v6.14 (fs/Kconfig): memremap_pages refuses
//                     MEMORY_DEVICE_FS_DAX.
//
// Device pages and their pgmaps are in pgmap.ts; the rules that differ by era
// are answered here.

import { hdr, arch } from './base';
import { pred } from './arch';
import { freeFolio } from './folio';
import { freeZoneDeviceFolio } from './pgmap';
import {
  P_SPECIAL, P_DEVMAP, FOLL_LONGTERM, MODEL_LEGACY, MODEL_UNIFIED, PG_reserved,
  MEMORY_DEVICE_PRIVATE, MEMORY_DEVICE_COHERENT, MEMORY_DEVICE_GENERIC,
} from './layout';

// Read once at attach (per instance): the model, CONFIG_ARCH_HAS_PTE_DEVMAP
// and the preset's ZONE_DEVICE switches.
export let MODEL: u32 = MODEL_LEGACY;
let devmapBit: bool = false;
export let PGMAP_PAGE_REFS: bool = false;
export let DEVMAP_CODE: bool = false;
export let DAX_HUGE_SPECIAL: bool = false;
export let FS_DAX_LIMITED: bool = false;
export let WHAT_IF: u32 = 0;
export let ZONE_DEVICE: bool = false;
export let RAM_PFNS: u64 = 0;
export function modelAttach(): void {
  const h = hdr();
  MODEL = h.model;
  devmapBit = arch().hasDevmap != 0;
  PGMAP_PAGE_REFS = h.pgmapPageRefs != 0;
  DEVMAP_CODE = h.devmapCode != 0;
  DAX_HUGE_SPECIAL = h.daxHugeSpecial != 0;
  FS_DAX_LIMITED = h.fsDaxLimited != 0;
  WHAT_IF = h.whatIf;
  ZONE_DEVICE = h.zoneDevice != 0;
  RAM_PFNS = h.ramPfns;
}

// ---------------------------------------------------------------- device pages per era
@inline function privateOrCoherent(type: u32): bool {
  return type == MEMORY_DEVICE_PRIVATE || type == MEMORY_DEVICE_COHERENT;
}

// The refcount of an idle (free) device page of a pgmap of `type`:
//   v6.0:         1 for every type (__init_single_page's init_page_count; the
//                 v6.1 commit ef233450898f "mm: free device private pages have
//                 zero refcount" made private/coherent 0);
//   v6.1..v6.14:  0 for PRIVATE and COHERENT (__init_zone_device_page:
//                 set_page_count(page, 0)), 1 for the others (v6.12 mm/mm_init.c);
//   v6.15 on:     0 for all but GENERIC (fs/dax "Properly refcount fs dax
//                 pages", "mm/mm_init: Move p2pdma page refcount
//                 initialisation to p2pdma"); device-DAX idles at 1.
// Tails of a compound device folio are 0 in every era (memmap_init_compound).
export function deviceIdleRefcount(type: u32): i32 {
  if (MODEL == MODEL_UNIFIED) return type == MEMORY_DEVICE_GENERIC ? 1 : 0;
  if (!PGMAP_PAGE_REFS) return 1;
  return privateOrCoherent(type) ? 0 : 1;
}

// Does an allocated page of a pgmap of `type` hold a pgmap reference
// (zone_device_page_init's percpu_ref_tryget_live, put by
// free_zone_device_folio)? v6.1 on, private and coherent only.
@inline export function pagesHoldPgmapRef(type: u32): bool {
  return PGMAP_PAGE_REFS && privateOrCoherent(type);
}

// Does memremap_pages take (and memunmap_pages put) the setup references,
// pfn_len of them? v6.1 on, for all but private and coherent; v6.0 for all.
@inline export function pgmapBulkRefs(type: u32): bool {
  return !pagesHoldPgmapRef(type);
}

// Is a device page free again when its count drops to `v` (the put that
// calls page_free)? v6.0: devmap-managed pages (put_devmap_managed_page) at
// 1; from v6.1, at 0 (free_zone_device_folio).
@inline export function deviceFreedAt(): i32 { return PGMAP_PAGE_REFS ? 0 : 1; }

// pXd_devmap, where the variant has the bit at all.
@inline export function isDevmap(d: usize, e: u64): bool {
  return devmapBit && pred(d, P_DEVMAP, e);
}

// Does the present leaf e hold a reference on (and a mapcount of) the page
// it maps? vm_normal_page: a special entry (the zero page, pfnmap) never
// does; a devmap entry does not in the legacy era (the pgmap holds the page),
// and has no bit in the unified one. The zero pfns without a special bit are
// the caller's to tell (is_zero_pfn, is_huge_zero_pmd).
@inline export function mappingHoldsRef(d: usize, e: u64): bool {
  if (pred(d, P_SPECIAL, e)) return false;
  return !isDevmap(d, e) || MODEL != MODEL_LEGACY;
}

// get_dev_pagemap(pfn) as gup's devmap paths would call it. Device pages
// exist (pgmap.ts), but nothing maps them with devmap entries yet, and the
// gup paths' per-call cached reference and its put_dev_pagemap are not
// modelled: until they are, a devmap entry finds no pgmap here, so gup-fast
// undoes and bails as the kernel does when get_dev_pagemap returns NULL.
export function getDevPagemap(pfn: u64): usize {
  return 0;
}

// How gup-fast takes a devmap entry (gup_fast_pte_range, gup_fast_devmap_leaf):
// legacy, a pgmap reference per page (get_dev_pagemap) before the folio's;
// never FOLL_LONGTERM.
export const DEV_GRAB: i32 = 1;    // take the page as any other
export const DEV_STOP: i32 = 0;    // stop before it (the slow path decides)
export const DEV_UNDO: i32 = -1;   // no pgmap: undo what this range took (gup_fast_undo_dev_pagemap)
export function gupFastDevmap(pfn: u64, flags: u32): i32 {
  if ((flags & FOLL_LONGTERM) != 0) return DEV_STOP;
  return getDevPagemap(pfn) != 0 ? DEV_GRAB : DEV_UNDO;
}

// The slow path's follow_page_pte / follow_devmap_pmd: needs a live pgmap.
@inline export function followDevmap(pfn: u64): bool { return getDevPagemap(pfn) != 0; }

// folio_is_longterm_pinnable: RAM outside ZONE_MOVABLE/CMA is pinnable.
// (Device folios, when modelled, answer from their pgmap type.)
@inline export function longtermPinnable(folio: usize): bool {
  return true;
}

// What the last reference's release does (__folio_put): a RAM folio goes
// back to the buddy allocator; a device folio (PG_reserved, above RAM) to its
// pgmap (free_zone_device_folio -> pgmap->ops->page_free).
@inline export function freeAtZero(folio: usize): void {
  if ((load<u64>(folio) & ((<u64>1) << PG_reserved)) != 0 && freeZoneDeviceFolio(folio)) return;
  freeFolio(folio);
}
