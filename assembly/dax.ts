// DAX mappings: device-DAX files (drivers/dax/device.c) mapped by a VMA of
// KIND_DEVDAX, faulted in per era (the eras' rules are answered by model.ts).
//
// A device-DAX file maps pfns of one MEMORY_DEVICE_GENERIC pgmap, in pieces
// of its align: the pgmap's folio order (dev_dax_probe sets vmemmap_shift =
// order_base_2(align >> PAGE_SHIFT)). handle_mm_fault asks the PUD fault, then
// the PMD fault, then the PTE fault; each __dev_dax_p*d_fault answers
// VM_FAULT_FALLBACK when its size is above the align and VM_FAULT_SIGBUS when
// it is below, so only the align's level ever maps.
//
//   legacy  (to v6.14): vmf_insert_mixed / vmf_insert_pfn_pmd / _pud with
//           PFN_DEV|PFN_MAP: pte_mkdevmap / pmd_mkdevmap / pud_mkdevmap
//           entries; no page reference, no rmap, no rss.
//   unified (v6.15 on): vmf_insert_page_mkwrite / vmf_insert_folio_pmd / _pud:
//           folio_get, folio_add_file_rmap_*, MM_FILEPAGES; the huge entries
//           marked special in v6.15 and v6.16 where the arch can.

import { H, readEntry, writeEntry } from './base';
import { lv, nLevels, pageShift, leafPa, mkLeaf, pred, entryKind, K_NONE, K_LEAF } from './arch';
import { pfnToPage, pageFolio } from './mem';
import { folioRefAdd, folioAddFileRmapPte, folioAddFileRmapPmd } from './refcount';
import { MODEL, daxTemplate } from './model';
import { pgmapOf, pgmapState } from './pgmap';
import { mmOf, leafLevelFor } from './mm';
import { walkAlloc, allocStatus } from './walk';
import {
  Header, Vma, Page, VM_WRITE, P_WRITE, PGMAP_LIVE, MODEL_LEGACY,
  OK, E_FAULT, E_SIGBUS, E_NOTABLE, E_BADTABLE,
} from './layout';

// The address_space a device-DAX file's pages name (filp->f_mapping): the
// pgmap's slot stands for it (non-zero, PAGE_MAPPING_FLAGS clear: a file).
@inline export function devdaxMapping(pgmap: usize): u64 { return <u64>pgmap; }

// dev_dax_huge_fault / dev_dax_fault for va in the device-DAX VMA vp; the
// caller holds the mm lock and checked the VMA's permissions.
export function devdaxFault(mm: usize, vp: usize, va: u64, write: bool, opId: u32): i32 {
  const v = changetype<Vma>(vp);
  const p = <usize>v.pgmap;
  if (pgmapState(p) != PGMAP_LIVE) return E_SIGBUS;            // check_vma: !dax_alive
  const g = pgmapOf(p);
  const order = g.vmemmapShift;                                // dev_dax->align
  const ps = pageShift();
  const last = nLevels() - 1;
  const l = leafLevelFor(order);
  if (l < 0) return E_SIGBUS;                                  // mmap refused such an align already
  const size = (<u64>1) << (ps + order);
  const base = va & ~(size - 1);
  if (base < v.start || base + size > v.end) return E_SIGBUS;  // "if we are outside of the VMA"
  const pfn = v.pfn + ((base - v.start) >> ps);                // dax_pgoff_to_phys
  if (pfn < g.startPfn || pfn + ((<u64>1) << order) > g.endPfn) return E_SIGBUS;
  const ep = walkAlloc(mm, va, <u32>l, opId);
  if (ep == 0) return allocStatus == E_NOTABLE || allocStatus == E_BADTABLE ? allocStatus : E_FAULT;
  const d = lv(<u32>l);
  const e = readEntry(ep);
  const k = entryKind(d, e, false);
  const isLast = <u32>l == last;
  if (k != K_NONE) {
    if (k != K_LEAF) return E_FAULT;                           // a table or a non-present entry where the leaf goes
    // already mapped: spurious, or a write to a read-only entry, made
    // writable in place (insert_pfn_pmd's "if (write)" branch; wp_pfn_shared)
    if (write && !pred(d, P_WRITE, e)) writeEntry(ep, mkLeaf(d, leafPa(d, e), daxTemplate(<u32>l, isLast, true)));
    return OK;
  }
  const page = pfnToPage(pfn);
  if (page == 0) return E_SIGBUS;
  const folio = pageFolio(page);
  // dax_set_mapping: mapping and index on the compound head only (or on the one page)
  const pg = changetype<Page>(folio);
  if (pg.mapping == 0) {
    pg.mapping = devdaxMapping(p);
    pg.index = pfn - g.startPfn;                               // linear_page_index: vm_pgoff counts from the device's start
  }
  if (MODEL != MODEL_LEGACY) {
    folioRefAdd(folio, 1);                                     // folio_get
    if (isLast) folioAddFileRmapPte(folio, page);
    else folioAddFileRmapPmd(folio);
    mmOf(mm).rssFile += (<i64>1) << order;                     // MM_FILEPAGES
  }
  pg.last_op = opId;
  // vm_page_prot of a shared writable mapping is writable (no write-notify: dax_vm_ops has no mkwrite)
  writeEntry(ep, mkLeaf(d, pfn << ps, daxTemplate(<u32>l, isLast, (v.flags & VM_WRITE) != 0)));
  atomic.add<u64>(H + offsetof<Header>("statFaults"), 1);
  return OK;
}
