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
import { freeZoneDeviceFolio, pgmapOf, pgmapLookup, pgmapRefTryget, pgmapRefPut, pagePgmap } from './pgmap';
import {
  P_SPECIAL, P_DEVMAP, FOLL_LONGTERM, MODEL_LEGACY, MODEL_UNIFIED, PG_reserved,
  MEMORY_DEVICE_PRIVATE, MEMORY_DEVICE_COHERENT, MEMORY_DEVICE_GENERIC, MEMORY_DEVICE_FS_DAX, MEMORY_DEVICE_PCI_P2PDMA,
  KIND_PFNMAP, KIND_DEVDAX, KIND_FSDAX, T_RO, T_RW, T_SPECIAL_RO, T_SPECIAL_RW, T_DEVMAP_RO, T_DEVMAP_RW,
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

// The idle count of the device folio whose head is page (0 for any other).
export function devicePageIdle(page: usize): i32 {
  if ((load<u64>(page) & ((<u64>1) << PG_reserved)) == 0) return 0;
  const p = pagePgmap(page);
  return p == 0 ? 0 : deviceIdleRefcount(pgmapOf(p).type);
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

// get_dev_pagemap(pfn, pgmap) as gup's devmap paths call it: the pgmap
// already held (the caller's cached reference, gDevPgmap, per thread) when
// pfn is in its range; otherwise that one is put and the pgmap holding pfn
// is looked up and taken with percpu_ref_tryget_live, which fails once
// memunmap_pages has killed it (v6.12 mm/memremap.c get_dev_pagemap).
// The caller puts the last one (putDevPagemap): gup_fast_pte_range at the
// end of its table, gup_fast_devmap_leaf at the end of its leaf,
// __get_user_pages at the end of the call (follow_page_context.pgmap).
export let gDevPgmap: usize = 0;
export function getDevPagemap(pfn: u64): usize {
  const c = gDevPgmap;
  if (c != 0) {
    const g = pgmapOf(c);
    if (pfn >= g.startPfn && pfn < g.endPfn) return c;
    gDevPgmap = 0;
    pgmapRefPut(c, 1);
  }
  const p = pgmapLookup(pfn);
  if (p == 0 || !pgmapRefTryget(p, 1, true)) return 0;
  gDevPgmap = p;
  return p;
}
// put_dev_pagemap of the cached reference, if any
export function putDevPagemap(): void {
  const c = gDevPgmap;
  if (c == 0) return;
  gDevPgmap = 0;
  pgmapRefPut(c, 1);
}

// How gup-fast takes a devmap entry (gup_fast_pte_range, gup_fast_devmap_leaf):
// legacy, a pgmap reference (get_dev_pagemap) before the folio's;
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

// folio_is_longterm_pinnable (v6.12 include/linux/mm.h): RAM outside
// ZONE_MOVABLE/CMA (pgtemu has neither) is pinnable; device-coherent memory
// never ("must always allow eviction"); from v6.15 FS-DAX neither
// (folio_is_fsdax: "mm/gup: don't allow FOLL_LONGTERM pinning of FS DAX pages").
export function longtermPinnable(folio: usize): bool {
  if ((load<u64>(folio) & ((<u64>1) << PG_reserved)) == 0) return true;
  const p = pagePgmap(folio);
  if (p == 0) return true;                    // the zero page
  const t = pgmapOf(p).type;
  if (t == MEMORY_DEVICE_COHERENT) return false;
  return !(MODEL == MODEL_UNIFIED && t == MEMORY_DEVICE_FS_DAX);
}

// is_pci_p2pdma_page
export function isP2pdmaPage(folio: usize): bool {
  if ((load<u64>(folio) & ((<u64>1) << PG_reserved)) == 0) return false;
  const p = pagePgmap(folio);
  return p != 0 && pgmapOf(p).type == MEMORY_DEVICE_PCI_P2PDMA;
}

// folio_is_device_coherent
export function isDeviceCoherent(folio: usize): bool {
  if ((load<u64>(folio) & ((<u64>1) << PG_reserved)) == 0) return false;
  const p = pagePgmap(folio);
  return p != 0 && pgmapOf(p).type == MEMORY_DEVICE_COHERENT;
}

// ---------------------------------------------------------------- which mappings hold a page
// vma_is_dax: a mapping of a DAX file (device-DAX here; FS-DAX files too).
@inline export function isDaxKind(kind: u32): bool { return kind == KIND_DEVDAX || kind == KIND_FSDAX; }

// Does the present leaf e at level l of a VMA of `kind` hold a reference on
// (and a mapcount of) the page it maps, as the mapping's own fault path
// took them? The checker's question. Legacy DAX mappings (vmf_insert_mixed /
// vmf_insert_pfn_pmd / _pud with PFN_DEV) hold nothing; unified ones
// (vmf_insert_page_mkwrite / vmf_insert_folio_pmd / _pud) hold one, also when
// v6.15/v6.16 mark the huge entry special. A pfnmap holds nothing, whatever
// its bits. kind KIND_NONE: an entry outside every VMA (written raw).
export const KIND_NONE: u32 = 0xffffffff;
export function leafHoldsRef(kind: u32, d: usize, e: u64): bool {
  if (isDaxKind(kind)) return MODEL != MODEL_LEGACY;
  if (kind == KIND_PFNMAP) return false;
  return mappingHoldsRef(d, e);
}

// What zap decides from the entry and its VMA, which is not always what the
// mapping took (the difference is a kernel bug pgtemu reproduces):
//   pte: vm_normal_page (v6.12 mm/memory.c). With ARCH_HAS_PTE_SPECIAL only
//        the special bit sends an entry to the "no page" branch, where
//        pte_devmap is one of the answers; a devmap entry without the special
//        bit is a normal page -- riscv and loongarch pte_mkdevmap (v6.11 to
//        v6.14) set only the devmap bit, so zap drops a rmap and a reference
//        the DAX fault never took. Without the special bit the VMA decides
//        (VM_PFNMAP: no page).
//   pmd/pud: zap_huge_pmd / zap_huge_pud: vma_is_special_huge (a DAX VMA) in
//        the legacy era clears the entry and nothing else; unified DAX entries
//        are the folio's, special or not.
export function zapTakesPage(kind: u32, last: bool, d: usize, e: u64): bool {
  if (kind == KIND_PFNMAP) return false;
  if (last) {
    if (arch().hasSpecial != 0) return !pred(d, P_SPECIAL, e);
    return kind != KIND_NONE || mappingHoldsRef(d, e);
  }
  if (isDaxKind(kind)) return MODEL != MODEL_LEGACY;
  return mappingHoldsRef(d, e);
}

// Can a DAX fault map a huge leaf at level l? Not in the what-if on an arch
// without a devmap bit unless it can mark the leaf special (pmd_mkspecial,
// ARCH_SUPPORTS_PMD_PFNMAP): "DAX PMD faults fall back to PTEs" (zone-device.md §2.4).
export function daxHugeOk(l: u32): bool {
  return !(MODEL == MODEL_LEGACY && !devmapBit) || (hdr().pfnmapLevels & (1 << l)) != 0;
}

// The slow path's answer for a special pte in a VMA of `kind` in the
// what-if: vm_normal_page is NULL, then "vma_is_dax(vma) && (FOLL_GET |
// FOLL_PIN)" looks the pgmap up (get_dev_pagemap) and takes the page.
@inline export function whatIfDaxSpecial(kind: u32): bool { return WHAT_IF != 0 && isDaxKind(kind); }

// The template a DAX fault writes at level l (last: the pte level), per era:
// legacy pte_mkdevmap / pmd_mkdevmap / pud_mkdevmap (the arch's own: x86,
// arm64 and ppc64 set special with devmap in a pte); unified a normal entry,
// except a huge one where DAX_HUGE_SPECIAL (v6.15, v6.16) and the arch can
// mark it (pmd_mkspecial / pud_mkspecial: ARCH_SUPPORTS_PMD_PFNMAP / _PUD_PFNMAP).
export function daxTemplate(l: u32, last: bool, writable: bool): u32 {
  // the 2021 what-if on an arch without the bit: pte_mkspecial (and pmd_mkspecial where it exists)
  if (MODEL == MODEL_LEGACY && !devmapBit) return writable ? T_SPECIAL_RW : T_SPECIAL_RO;
  if (MODEL == MODEL_LEGACY) return writable ? T_DEVMAP_RW : T_DEVMAP_RO;
  if (!last && DAX_HUGE_SPECIAL && (hdr().pfnmapLevels & (1 << l)) != 0) return writable ? T_SPECIAL_RW : T_SPECIAL_RO;
  return writable ? T_RW : T_RO;
}

// What the last reference's release does (__folio_put): a RAM folio goes
// back to the buddy allocator; a device folio (PG_reserved, above RAM) to its
// pgmap (free_zone_device_folio -> pgmap->ops->page_free).
@inline export function freeAtZero(folio: usize): void {
  if ((load<u64>(folio) & ((<u64>1) << PG_reserved)) != 0 && freeZoneDeviceFolio(folio)) return;
  freeFolio(folio);
}
