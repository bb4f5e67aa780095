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
// This machine's memmap holds RAM only, so most answers agree in both eras
// today; the device rules belong here as ZONE_DEVICE is modelled.

import { hdr, arch } from './base';
import { pred } from './arch';
import { freeFolio } from './folio';
import { P_SPECIAL, P_DEVMAP, FOLL_LONGTERM, MODEL_LEGACY } from './layout';

// Read once at attach (per instance): the model and CONFIG_ARCH_HAS_PTE_DEVMAP.
export let MODEL: u32 = MODEL_LEGACY;
let devmapBit: bool = false;
export function modelAttach(): void {
  MODEL = hdr().model;
  devmapBit = arch().hasDevmap != 0;
}

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

// get_dev_pagemap(pfn): the live pgmap covering pfn. This machine's memmap
// holds RAM only, so no pfn has one: a devmap entry cannot be followed.
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

// The refcount of an idle device page (one nobody maps or pins): 1 in the
// legacy era (the pgmap's own), 0 in the unified one.
@inline export function deviceIdleRefcount(): i32 { return MODEL == MODEL_LEGACY ? 1 : 0; }

// folio_is_longterm_pinnable: RAM outside ZONE_MOVABLE/CMA is pinnable.
// (Device folios, when modelled, answer from their pgmap type.)
@inline export function longtermPinnable(folio: usize): bool {
  return true;
}

// What the last reference's release does (__folio_put): a RAM folio goes
// back to the buddy allocator; a device folio (when modelled) to its pgmap
// (free_zone_device_folio -> pgmap->ops->page_free).
@inline export function freeAtZero(folio: usize): void { freeFolio(folio); }
