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

import { H, hdr, readEntry, writeEntry, xchgEntry, lock, unlock, beginOp, ctxOf } from './base';
import { lv, L, nLevels, pageShift, leafPa, mkLeaf, pred, entryKind, K_NONE, K_LEAF, K_TABLE } from './arch';
import {
  pfnToPage, pageToPfn, pageFolio, allocPages, prepCompoundPages, refcountPtr, mapcountPtr, testFlag, folioTestLarge,
  FLAGS_MASK,
} from './mem';
import {
  folioRefAdd, folioAddRmapPte, folioAddFileRmapPmd, folioRemoveRmapPte, folioRemoveRmapPmd, folioPutRefs, folioLargeMapcount, pageMapcountReset,
} from './refcount';
import { MODEL, FS_DAX_LIMITED, RAM_PFNS, daxTemplate, daxHugeOk, zapTakesPage } from './model';
import { pgmapOf, pgmapState, pgmapChecked } from './pgmap';
import { mmOf, vmaAt, leafLevelFor, initNewFolio } from './mm';
import { walkAlloc, allocStatus, walkFrom, wCode, wLevel, wPtr } from './walk';
import { zapRange } from './zap';
import {
  Header, Mm, Vma, Page, DaxFile, DaxExtent, VM_WRITE, VM_SHARED, P_WRITE, PGMAP_LIVE, MODEL_LEGACY, MM_SIZE,
  DAXFILE_SIZE, DAXEXTENT_SIZE, DAXF_FREE, DAXF_LIVE, DAXF_EVICTED, DAX_SHIFT, DAX_PMD, DAX_EXTENT_SHARED, DAX_EXTENT_WORDS,
  PAGE_MAPPING_DAX_SHARED, PAGE_SIZE_BYTES, PAGE_COMPOUND_HEAD, PG_head, PG_reserved, KIND_FSDAX, T_RW, T_SPECIAL_RW, T_SPECIAL_RO,
  MEMORY_DEVICE_FS_DAX, OP_DAX, W_OK, OK, E_FAULT, E_SIGBUS, E_NOTABLE, E_BADTABLE, E_INVAL, E_NOSPC, E_NOMEM, E_EXIST, E_BUSY,
} from './layout';
import { DaxFileIn, DaxFileOut, DaxFileRefIn, DaxBreakOut, DaxTruncateOut, argsIn, argsOut } from './abi';

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
  // (the what-if without pmd_special: the PMD/PUD fault cannot map, the PTE fault refuses the align)
  if (<u32>l != nLevels() - 1 && !daxHugeOk(<u32>l)) return E_SIGBUS;
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
    if (isLast) folioAddRmapPte(folio, page);
    else folioAddFileRmapPmd(folio);
    mmOf(mm).rssFile += (<i64>1) << order;                     // MM_FILEPAGES
  }
  pg.last_op = opId;
  // vm_page_prot of a shared writable mapping is writable (no write-notify: dax_vm_ops has no mkwrite)
  writeEntry(ep, mkLeaf(d, pfn << ps, daxTemplate(<u32>l, isLast, (v.flags & VM_WRITE) != 0)));
  atomic.add<u64>(H + offsetof<Header>("statFaults"), 1);
  return OK;
}

// ---------------------------------------------------------------- FS-DAX
// A file (DaxFile) maps its pages to pfns of an FS_DAX pgmap through its
// extents; its DAX page-cache entries (fs/dax.c's i_pages) associate the
// struct pages with the file while mapped. Per era:
//
//   legacy  (to v6.14, v6.12 fs/dax.c): pages idle at refcount 1; a fault
//           associates every 4 KiB page of its entry (page->mapping/index, or
//           PAGE_MAPPING_DAX_SHARED and page->share for a shared extent) and
//           maps pte_mkdevmap / pmd_mkdevmap entries that hold nothing;
//           dax_layout_busy_page_range returns nothing unless the file is
//           mmapped, unmaps it, then finds the first page with refcount > 1,
//           and the filesystem waits for refcount == 1.
//   unified (v6.15 on, per zone-device.md §2.2): pages idle at 0; a PMD
//           entry's pages become one compound folio when associated
//           (dax_folio_init) and are split back when the last association
//           goes; faults insert the folio with a reference, a mapcount and
//           MM_FILEPAGES (vmf_insert_page_mkwrite, vmf_insert_folio_pmd);
//           busy means refcount - mapcount != 0 after the unmap, and the
//           filesystem waits for refcount == 0 (dax_page_is_idle).

// The live file a handle names, or 0.
export function daxFileChecked(f: u32, gen: u32): usize {
  const h = hdr();
  const base = h.daxBase;
  if (f < base || f >= base + h.daxCap * DAXFILE_SIZE || (f - base) % DAXFILE_SIZE != 0) return 0;
  const df = changetype<DaxFile>(<usize>f);
  return df.gen == gen && df.state == DAXF_LIVE ? <usize>f : 0;
}
@inline function fileOf(f: usize): DaxFile { return changetype<DaxFile>(f); }
@inline function entryPtr(f: usize, index: u64): usize { return <usize>fileOf(f).entries + (<usize>index << 3); }
@inline function entryPfn(e: u64): u64 { return e >> DAX_SHIFT; }

// The pfn of file page `index` and whether its extent is shared; u64.MAX_VALUE if none.
let gExtShared = false;
let gExtEnd: u64 = 0;                   // the first index past the extent
function extentPfn(f: usize, index: u64): u64 {
  const df = fileOf(f);
  for (let i: u32 = 0; i < df.nrExtents; i++) {
    const x = changetype<DaxExtent>(<usize>df.extents + i * DAXEXTENT_SIZE);
    if (index >= x.index && index - x.index < x.pages) {
      gExtShared = x.shared != 0;
      gExtEnd = x.index + x.pages;
      return x.pfn + (index - x.index);
    }
  }
  return u64.MAX_VALUE;
}

// The file's pages: an arena block of entries and one of extents.
function arenaTake(bytes: u32): usize {
  const h = hdr();
  const p = (h.daxArenaNext + 7) & ~7;
  if (p + bytes > h.daxArenaEnd || p + bytes < p) return 0;
  h.daxArenaNext = p + bytes;
  return <usize>p;
}

// An FS-DAX file over extents of an fsdax pgmap (the extents are in the
// context's output array: index, pages, pfn | DAX_EXTENT_SHARED). Every page
// below nrPages must be in exactly one extent inside the pgmap.
export function daxFileCreate(ctx: usize): i32 {
  const a = argsIn<DaxFileIn>(ctx);
  // CONFIG_FS_DAX_LIMITED (s390 dcssblk, to v6.14): a file over pfns with no
  // struct pages and no pgmap (pgmap 0): every extent above RAM, outside memmap
  const limited = a.pgmap == 0 && FS_DAX_LIMITED;
  const p = limited ? 0 : pgmapChecked(a.pgmap, a.gen);
  if (!limited && (p == 0 || pgmapState(p) != PGMAP_LIVE || pgmapOf(p).type != MEMORY_DEVICE_FS_DAX)) return E_INVAL;
  const lo: u64 = limited ? RAM_PFNS : pgmapOf(p).startPfn;
  const hi: u64 = limited ? (<u64>hdr().nrRoots) << (hdr().rootShift + hdr().sectionShift) : pgmapOf(p).endPfn;
  const n = a.nrExtents, nr = a.nrPages;
  const c = ctxOf(ctx);
  if (nr == 0 || n == 0 || n > c.outCap / DAX_EXTENT_WORDS) return E_INVAL;
  let covered: u64 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const q = c.out + i * (DAX_EXTENT_WORDS << 3);
    const idx = load<u64>(q), pages = load<u64>(q, 8), pfn = load<u64>(q, 16) & ~DAX_EXTENT_SHARED;
    if (pages == 0 || idx >= <u64>nr || pages > <u64>nr - idx) return E_INVAL;
    if (pfn < lo || pfn >= hi || pages > hi - pfn) return E_INVAL;
    if (limited) for (let q: u64 = 0; q < pages; q++) if (pfnToPage(pfn + q) != 0) return E_INVAL;   // no struct pages there
    for (let j: u32 = 0; j < i; j++) {                        // no two extents overlap in the file
      const r = c.out + j * (DAX_EXTENT_WORDS << 3);
      if (idx < load<u64>(r) + load<u64>(r, 8) && load<u64>(r) < idx + pages) return E_INVAL;
    }
    covered += pages;
  }
  if (covered != <u64>nr) return E_INVAL;                      // a hole: pgtemu's files are fully allocated
  const h = hdr();
  beginOp(ctx, OP_DAX, 0, 0, <u64>nr << pageShift());
  lock(H + offsetof<Header>("daxLock"));
  let f: usize = 0;
  for (let i: u32 = 0; i < h.daxCap; i++) {
    const q = <usize>h.daxBase + i * DAXFILE_SIZE;
    if (fileOf(q).state == DAXF_FREE) { f = q; break; }
  }
  const save = h.daxArenaNext;
  const entries = f != 0 ? arenaTake(nr << 3) : 0;
  const extents = entries != 0 ? arenaTake(n * DAXEXTENT_SIZE) : 0;
  if (extents == 0) {
    h.daxArenaNext = save;
    unlock(H + offsetof<Header>("daxLock"));
    return E_NOSPC;
  }
  memory.fill(entries, 0, <usize>nr << 3);
  for (let i: u32 = 0; i < n; i++) {
    const q = c.out + i * (DAX_EXTENT_WORDS << 3);
    const x = changetype<DaxExtent>(extents + i * DAXEXTENT_SIZE);
    x.index = load<u64>(q);
    x.pages = load<u64>(q, 8);
    x.pfn = load<u64>(q, 16) & ~DAX_EXTENT_SHARED;
    x.shared = (load<u64>(q, 16) & DAX_EXTENT_SHARED) != 0 ? 1 : 0;
  }
  const df = fileOf(f);
  df.pgmap = <u32>p;
  df.nrPages = nr;
  df.cap = nr;
  df.nrExtents = n;
  df.entries = <u32>entries;
  df.extents = <u32>extents;
  df.warned = 0;
  df.breaks = 0;
  df.gen = ++h.daxSeq;
  df.state = DAXF_LIVE;
  unlock(H + offsetof<Header>("daxLock"));
  const o = argsOut<DaxFileOut>(ctx);
  o.file = <u32>f;
  o.gen = df.gen;
  return OK;
}

// The address_space of a file's pages (page->mapping): the file's slot.
@inline function fileMapping(f: usize): u64 { return <u64>f; }

// dax_folio_init (unified): the pages of a PMD entry, idle at 0, become one
// compound folio; an order-0 entry's page is its own folio already.
function daxFolioInit(head: usize, order: u32): void {
  if (order > 0) prepCompoundPages(head, order, 1 << order);
}

// Split a unified DAX folio back into order-0 pages (dax_folio_put at the
// last association): each page gets its pgmap back and no counts.
function daxFolioSplit(head: usize, order: u32, pgmap: usize): void {
  const n: u32 = 1 << order;
  for (let i: u32 = 0; i < n; i++) {
    const q = head + i * PAGE_SIZE_BYTES;
    store<u64>(q, load<u64>(q) & (~FLAGS_MASK | ((<u64>1) << PG_reserved)));   // PG_head and the order go
    if (i == 1) memory.fill(q + 8, 0, PAGE_SIZE_BYTES - 8);   // page[1]'s folio fields
    store<u64>(q, <u64>pgmap, PAGE_COMPOUND_HEAD);
    const pg = changetype<Page>(q);
    pg.mapping = 0;
    pg.index = 0;
    pageMapcountReset(q);
  }
}

// dax_associate_entry for a new entry of 2^order pages at pfn, file index `index`.
function daxAssociate(f: usize, pfn: u64, order: u32, index: u64, shared: bool): void {
  if (FS_DAX_LIMITED) return;                                  // IS_ENABLED(CONFIG_FS_DAX_LIMITED): no struct pages
  const n: u64 = (<u64>1) << order;
  if (MODEL == MODEL_LEGACY) {
    for (let i: u64 = 0; i < n; i++) {
      const pg = changetype<Page>(pfnToPage(pfn + i));
      if (shared) {                                            // dax_page_share_get
        if (pg.mapping != PAGE_MAPPING_DAX_SHARED) {
          if (pg.mapping != 0) pg.index = 1;
          pg.mapping = PAGE_MAPPING_DAX_SHARED;
        }
        pg.index++;                                            // page->share
      } else {
        pg.mapping = fileMapping(f);
        pg.index = index + i;
      }
    }
    return;
  }
  const head = pfnToPage(pfn);
  const pg = changetype<Page>(head);
  if (shared && (pg.mapping != 0 || pg.index != 0)) {          // already associated: shared now
    if (pg.mapping != 0) { pg.mapping = 0; pg.index = 1; }
    pg.index++;                                                // folio->share
    return;
  }
  daxFolioInit(head, order);
  pg.mapping = fileMapping(f);
  pg.index = index;
}

// dax_disassociate_entry (legacy) / dax_folio_put (unified) for the entry e.
// Returns whether a referenced page was disassociated on truncation (the
// kernel's WARN_ON_ONCE).
function daxDisassociate(f: usize, e: u64, trunc: bool): bool {
  if (FS_DAX_LIMITED) return false;
  const pfn = entryPfn(e);
  const order: u32 = (e & DAX_PMD) != 0 ? pmdOrder() : 0;
  const n: u64 = (<u64>1) << order;
  let warn = false;
  if (MODEL == MODEL_LEGACY) {
    for (let i: u64 = 0; i < n; i++) {
      const page = pfnToPage(pfn + i);
      const pg = changetype<Page>(page);
      if (trunc && atomic.load<i32>(refcountPtr(page)) > 1) warn = true;
      if (pg.mapping == PAGE_MAPPING_DAX_SHARED) {
        if (--pg.index > 0) continue;                          // dax_page_share_put: still shared
      }
      pg.mapping = 0;
      pg.index = 0;
    }
    return warn;
  }
  const head = pfnToPage(pfn);
  const pg = changetype<Page>(head);
  if (pg.mapping == 0 && pg.index > 0) {                       // shared: one association less
    if (--pg.index > 0) return false;
  }
  pg.mapping = 0;
  pg.index = 0;
  // the folio's pages must all be idle by now (WARN_ON_ONCE on any reference)
  for (let i: u64 = 0; i < n; i++) if (atomic.load<i32>(refcountPtr(pfnToPage(pfn + i))) != 0) warn = true;
  if (order > 0 && testFlag(head, PG_head)) daxFolioSplit(head, order, <usize>fileOf(f).pgmap);
  return warn;
}

@inline function pmdOrder(): u32 { return L(nLevels() - 2).shift - pageShift(); }

// Write entry e into the slots of index (a PMD entry: all it covers).
function entrySet(f: usize, index: u64, e: u64, order: u32): void {
  const n: u64 = (<u64>1) << order;
  const base = index & ~(n - 1);
  for (let i: u64 = 0; i < n; i++) store<u64>(entryPtr(f, base + i), e);
}

// dax_iomap_pte_fault / dax_iomap_pmd_fault for va in the FS-DAX VMA vp.
export function fsdaxFault(mm: usize, vp: usize, va: u64, write: bool, opId: u32): i32 {
  const v = changetype<Vma>(vp);
  const f = daxFileChecked(v.file, fileOf(<usize>v.file).gen);
  if (f == 0) return E_SIGBUS;
  const df = fileOf(f);
  const ps = pageShift();
  const last = nLevels() - 1;
  const index = v.pfn + ((va - v.start) >> ps);                 // vmf->pgoff
  if (index >= <u64>df.nrPages) return E_SIGBUS;               // beyond i_size
  const shared = (v.flags & VM_SHARED) != 0;
  lock(H + offsetof<Header>("daxLock"));
  let r = E_FAULT;
  if (write && !shared) r = daxCowFault(mm, v, va, index, opId);  // dax_fault_cow_page: a private copy
  else {
    // FS_DAX_PMD depends on ZONE_DEVICE: a FS_DAX_LIMITED file faults PTEs only
    r = v.order != 0 && !FS_DAX_LIMITED ? daxPmdFault(mm, f, v, va, index, write, opId) : E_FALLBACK;
    if (r == E_FALLBACK) r = daxPteFault(mm, f, v, va, index, write, opId);
  }
  unlock(H + offsetof<Header>("daxLock"));
  if (r == OK) atomic.add<u64>(H + offsetof<Header>("statFaults"), 1);
  return r;
}
const E_FALLBACK: i32 = 1;                                     // VM_FAULT_FALLBACK (never leaves this file)

// dax_fault_cow_page via do_cow_fault: a write to a private mapping copies
// the file page into a new anon page and maps that (MM_ANONPAGES).
function daxCowFault(mm: usize, v: Vma, va: u64, index: u64, opId: u32): i32 {
  const last = nLevels() - 1;
  // a read-only DAX PMD in the way: wp_huge_pmd on a private mapping splits
  // it (__split_huge_pmd: a DAX PMD is cleared whole) and falls back to PTEs
  walkFrom(mmOf(mm).root, va, mm);
  if (wCode == W_OK && wLevel < last) {
    const hd = lv(wLevel);
    const he = xchgEntry(wPtr, L(wLevel).emptyValue);
    if (zapTakesPage(KIND_FSDAX, false, hd, he)) {
      const folio = pageFolio(pfnToPage(leafPa(hd, he) >> pageShift()));
      folioRemoveRmapPmd(folio);
      mmOf(mm).rssFile -= (<i64>1) << (L(wLevel).shift - pageShift());
      folioPutRefs(folio, 1);
    }
    atomic.add<u64>(H + offsetof<Header>("statTlbFlushes"), 1);
  }
  const p = walkAlloc(mm, va, last, opId);
  if (p == 0) return allocStatus == E_NOTABLE || allocStatus == E_BADTABLE ? allocStatus : E_FAULT;
  const d = lv(last);
  const e = readEntry(p);
  const k = entryKind(d, e, false);
  if (k == K_LEAF && pred(d, P_WRITE, e)) return OK;           // already our copy
  if (k != K_NONE && k != K_LEAF) return E_FAULT;
  const np = allocPages(0);
  if (np == 0) return E_NOMEM;
  if (k == K_LEAF) {
    // do_wp_page on the read-only DAX pte: wp_page_copy; the old entry held
    // what its era's fault took (unified: a reference and a mapcount)
    xchgEntry(p, L(last).emptyValue);
    if (zapTakesPage(KIND_FSDAX, true, d, e)) {
      const page = pfnToPage(leafPa(d, e) >> pageShift());
      if (page != 0) {
        const folio = pageFolio(page);
        folioRemoveRmapPte(folio, page);
        mmOf(mm).rssFile -= 1;
        folioPutRefs(folio, 1);
      }
    }
    atomic.add<u64>(H + offsetof<Header>("statTlbFlushes"), 1);
  }
  initNewFolio(np, 0, mm, va & ~(((<u64>1) << pageShift()) - 1), opId, false);
  writeEntry(p, mkLeaf(d, pageToPfn(np) << pageShift(), T_RW));
  mmOf(mm).rssAnon += 1;
  return OK;
}

// dax_iomap_pmd_fault: E_FALLBACK when dax_fault_check_fallback, the extent,
// an existing PTE entry (grab_mapping_entry's conflict) or a PTE table
// already under the PMD says so.
function daxPmdFault(mm: usize, f: usize, v: Vma, va: u64, index: u64, write: bool, opId: u32): i32 {
  const ps = pageShift();
  const l = nLevels() - 2;
  const order = pmdOrder();
  const n: u64 = (<u64>1) << order;
  const colour = n - 1;
  if (!daxHugeOk(l)) return E_FALLBACK;                                   // the what-if without pmd_special
  if ((index & colour) != ((va >> ps) & colour)) return E_FALLBACK;       // PMD colour
  const size = (<u64>1) << (ps + order);
  const base = va & ~(size - 1);
  if (base < v.start || base + size > v.end) return E_FALLBACK;
  if ((index | colour) >= <u64>fileOf(f).nrPages) return E_FALLBACK;      // beyond the file size
  const first = index & ~colour;
  const pfn = extentPfn(f, first);
  if (pfn == u64.MAX_VALUE || (pfn & colour) != 0 || gExtEnd < first + n) return E_FALLBACK;   // iomap: not one aligned extent
  const shared = gExtShared;
  let e = load<u64>(entryPtr(f, first));
  for (let i: u64 = 0; i < n; i++) {                          // a PTE entry in the range: conflict
    const x = load<u64>(entryPtr(f, first + i));
    if (x != 0 && (x & DAX_PMD) == 0) return E_FALLBACK;
  }
  const ep = walkAlloc(mm, va, l, opId);
  if (ep == 0) return allocStatus == E_EXIST ? E_FALLBACK : (allocStatus == E_NOTABLE || allocStatus == E_BADTABLE ? allocStatus : E_FAULT);
  const d = lv(l);
  const cur = readEntry(ep);
  const k = entryKind(d, cur, false);
  if (k == K_TABLE) return E_FALLBACK;                          // a pte table is there already
  if (k == K_LEAF) {                                           // mapped: spurious, or made writable in place
    if (write && !pred(d, P_WRITE, cur)) writeEntry(ep, mkLeaf(d, leafPa(d, cur), daxTemplate(l, false, true)));
    return OK;
  }
  if (k != K_NONE) return E_FAULT;
  if (e == 0) {                                                // dax_insert_entry: a new entry, associated
    e = (pfn << DAX_SHIFT) | DAX_PMD;
    daxAssociate(f, pfn, order, first, shared);
    entrySet(f, first, e, order);
  }
  const head = pfnToPage(entryPfn(e));
  if (MODEL != MODEL_LEGACY) {
    folioRefAdd(head, 1);                                      // vmf_insert_folio_pmd: folio_get
    folioAddFileRmapPmd(head);
    mmOf(mm).rssFile += <i64>n;
  }
  store<u64>(head, opId, offsetof<Page>("last_op"));
  writeEntry(ep, mkLeaf(d, entryPfn(e) << ps, daxTemplate(l, false, write)));
  return OK;
}

// dax_iomap_pte_fault: the page at index, under its own entry or a PMD entry
// another mapping made (kept: the PTE maps a subpage of it).
function daxPteFault(mm: usize, f: usize, v: Vma, va: u64, index: u64, write: bool, opId: u32): i32 {
  const ps = pageShift();
  const last = nLevels() - 1;
  let e = load<u64>(entryPtr(f, index));
  let pfn: u64 = 0;
  if (e != 0) {
    pfn = (e & DAX_PMD) != 0 ? entryPfn(e) + (index & (((<u64>1) << pmdOrder()) - 1)) : entryPfn(e);
  } else {
    pfn = extentPfn(f, index);
    if (pfn == u64.MAX_VALUE) return E_SIGBUS;
  }
  const p = walkAlloc(mm, va, last, opId);
  if (p == 0) return allocStatus == E_NOTABLE || allocStatus == E_BADTABLE ? allocStatus : E_FAULT;
  const d = lv(last);
  const cur = readEntry(p);
  const k = entryKind(d, cur, false);
  if (k == K_LEAF) {                                           // wp_pfn_shared -> the mkwrite insert: in place
    if (write && !pred(d, P_WRITE, cur)) writeEntry(p, mkLeaf(d, leafPa(d, cur), daxTemplate(last, true, true)));
    return OK;
  }
  if (k != K_NONE) return E_FAULT;
  if (e == 0) {
    e = pfn << DAX_SHIFT;
    daxAssociate(f, pfn, 0, index, gExtShared);
    entrySet(f, index, e, 0);
  }
  if (FS_DAX_LIMITED) {
    // dcssblk's pfns are PFN_DEV without PFN_MAP: vmf_insert_mixed -> insert_pfn -> pte_mkspecial
    writeEntry(p, mkLeaf(d, pfn << ps, write ? T_SPECIAL_RW : T_SPECIAL_RO));
    return OK;
  }
  const page = pfnToPage(pfn);
  if (MODEL != MODEL_LEGACY) {
    const folio = pageFolio(page);                             // the PMD entry's folio, or the page's own
    folioRefAdd(folio, 1);                                     // insert_page_into_pte_locked: folio_get
    folioAddRmapPte(folio, page);
    mmOf(mm).rssFile += 1;
  }
  store<u64>(page, opId, offsetof<Page>("last_op"));
  writeEntry(p, mkLeaf(d, pfn << ps, daxTemplate(last, true, write)));
  return OK;
}

// unmap_mapping_pages(mapping, start, nr): every VMA of every address space
// that maps file pages [start, end) is zapped there (whole huge leaves: a
// DAX PMD that the range covers in part is cleared whole, as
// __split_huge_pmd does for a DAX VMA).
function unmapMappingPages(ctx: usize, f: usize, start: u64, end: u64, opId: u32): i32 {
  const h = hdr();
  const ps = pageShift();
  const hsize = (<u64>1) << (ps + pmdOrder());
  for (let i: u32 = 0; i < h.mmCount; i++) {
    const mm = h.mmBase + i * MM_SIZE;
    if (mmOf(mm).inUse == 0) continue;
    lock(mm + offsetof<Mm>("lock"));
    for (let j: u32 = 0; j < mmOf(mm).nrVmas; j++) {
      const v = changetype<Vma>(vmaAt(mm, j));
      if (v.kind != KIND_FSDAX || <usize>v.file != f) continue;
      const vEndIdx = v.pfn + ((v.end - v.start) >> ps);
      const s = start > v.pfn ? start : v.pfn;
      const e = end < vEndIdx ? end : vEndIdx;
      if (s >= e) continue;
      let a = v.start + ((s - v.pfn) << ps);
      let b = v.start + ((e - v.pfn) << ps);
      a = a & ~(hsize - 1);
      if (a < v.start) a = v.start;
      b = (b + hsize - 1) & ~(hsize - 1);
      if (b > v.end || b == 0) b = v.end;
      const r = zapRange(ctx, mm, a, b, false, 0, true, opId);
      if (r != OK) { unlock(mm + offsetof<Mm>("lock")); return r; }
    }
    unlock(mm + offsetof<Mm>("lock"));
  }
  return OK;
}

// mapping_mapped: does any VMA map the file?
function mappingMapped(f: usize): bool {
  const h = hdr();
  for (let i: u32 = 0; i < h.mmCount; i++) {
    const mm = h.mmBase + i * MM_SIZE;
    if (mmOf(mm).inUse == 0) continue;
    for (let j: u32 = 0; j < mmOf(mm).nrVmas; j++) {
      const v = changetype<Vma>(vmaAt(mm, j));
      if (v.kind == KIND_FSDAX && <usize>v.file == f) return true;
    }
  }
  return false;
}

// dax_busy_page for entry e: the busy page, or 0.
function daxBusyPage(e: u64): usize {
  const pfn = entryPfn(e);
  if (MODEL == MODEL_LEGACY) {
    const n: u64 = (e & DAX_PMD) != 0 ? (<u64>1) << pmdOrder() : 1;
    for (let i: u64 = 0; i < n; i++) {
      const page = pfnToPage(pfn + i);
      if (atomic.load<i32>(refcountPtr(page)) > 1) return page;
    }
    return 0;
  }
  // folio_ref_count(folio) - folio_mapcount(folio) != 0
  const folio = pfnToPage(pfn);
  const rc = atomic.load<i32>(refcountPtr(folio));
  const mc = folioTestLarge(folio) ? folioLargeMapcount(folio) + 1 : atomic.load<i32>(mapcountPtr(folio)) + 1;
  return rc - mc != 0 ? folio : 0;
}

// dax_layout_busy_page_range over the whole file (xfs_break_dax_layouts,
// ext4_break_layouts): one scan. DaxBreakOut: the busy page, if any; the
// caller waits for it (legacy refcount == 1, unified 0) and scans again.
export function daxBreak(ctx: usize): i32 {
  const a = argsIn<DaxFileRefIn>(ctx);
  const f = daxFileChecked(a.file, a.gen);
  if (f == 0) return E_INVAL;
  const df = fileOf(f);
  const o = argsOut<DaxBreakOut>(ctx);
  o.busy = 0;
  o.pfn = 0;
  o.refcount = 0;
  if (a.evict != 0 && mappingMapped(f)) return E_BUSY;       // an inode is evicted once nothing maps it
  const op = beginOp(ctx, OP_DAX, 0, 0, <u64>df.nrPages << pageShift());
  df.breaks++;
  if (FS_DAX_LIMITED) return OK;                                // "In the 'limited' case get_user_pages() for dax is disabled"
  if (MODEL == MODEL_LEGACY && !mappingMapped(f)) return OK;   // v6.12: !mapping_mapped -> NULL
  const r = unmapMappingPages(ctx, f, 0, <u64>df.cap, op);
  if (r != OK) return r;
  lock(H + offsetof<Header>("daxLock"));
  let i: u64 = 0;
  while (i < <u64>df.cap) {
    const e = load<u64>(entryPtr(f, i));
    if (e == 0) { i++; continue; }
    const page = daxBusyPage(e);
    if (page != 0) {
      o.busy = 1;
      o.pfn = pageToPfn(page);
      o.refcount = atomic.load<i32>(refcountPtr(page));
      break;
    }
    i += (e & DAX_PMD) != 0 ? (<u64>1) << pmdOrder() : 1;
  }
  unlock(H + offsetof<Header>("daxLock"));
  return OK;
}

// Delete every entry that covers an index in [from, cap): disassociate and
// erase (dax_delete_mapping_entry / dax_delete_mapping_range).
function deleteEntries(f: usize, from: u64, trunc: bool, o: DaxTruncateOut): void {
  const df = fileOf(f);
  const pmdN: u64 = (<u64>1) << pmdOrder();
  let i: u64 = from;
  if (i < <u64>df.cap) {
    const e = load<u64>(entryPtr(f, i));
    if (e != 0 && (e & DAX_PMD) != 0) i &= ~(pmdN - 1);        // the multi-order entry holding `from` goes whole
  }
  while (i < <u64>df.cap) {
    const e = load<u64>(entryPtr(f, i));
    if (e == 0) { i++; continue; }
    const order: u32 = (e & DAX_PMD) != 0 ? pmdOrder() : 0;
    if (daxDisassociate(f, e, trunc)) o.warned++;
    entrySet(f, i, 0, order);
    o.deleted++;
    i += (<u64>1) << order;
  }
}

// truncate_setsize after the layouts were broken: unified kernels have
// deleted every entry already (dax_break_layout's dax_delete_mapping_range);
// then unmap_mapping_range and truncate_inode_pages_range from the new size.
export function daxTruncate(ctx: usize): i32 {
  const a = argsIn<DaxFileRefIn>(ctx);
  const f = daxFileChecked(a.file, a.gen);
  if (f == 0 || a.size > <u64>fileOf(f).cap) return E_INVAL;
  const df = fileOf(f);
  const o = argsOut<DaxTruncateOut>(ctx);
  o.deleted = 0;
  o.warned = 0;
  const op = beginOp(ctx, OP_DAX, 0, a.size << pageShift(), <u64>df.nrPages << pageShift());
  if (MODEL != MODEL_LEGACY) {
    lock(H + offsetof<Header>("daxLock"));
    deleteEntries(f, 0, false, o);
    unlock(H + offsetof<Header>("daxLock"));
  }
  const r = unmapMappingPages(ctx, f, a.size, <u64>df.cap, op);
  if (r != OK) return r;
  lock(H + offsetof<Header>("daxLock"));
  deleteEntries(f, a.size, true, o);
  df.nrPages = <u32>a.size;
  df.warned += o.warned;
  unlock(H + offsetof<Header>("daxLock"));
  return OK;
}

// evict_inode: legacy truncate_inode_pages_final (every entry goes, a busy
// page WARNs); unified dax_break_layout_final has waited for every page to
// be idle (the host's loop) and dax_delete_mapping_range empties the file.
// The file's mappings must be gone (an inode is evicted when nothing maps it).
export function daxEvict(ctx: usize): i32 {
  const a = argsIn<DaxFileRefIn>(ctx);
  const f = daxFileChecked(a.file, a.gen);
  if (f == 0) return E_INVAL;
  if (mappingMapped(f)) return E_BUSY;
  const df = fileOf(f);
  const o = argsOut<DaxTruncateOut>(ctx);
  o.deleted = 0;
  o.warned = 0;
  beginOp(ctx, OP_DAX, 0, 0, <u64>df.nrPages << pageShift());
  lock(H + offsetof<Header>("daxLock"));
  deleteEntries(f, 0, true, o);
  df.warned += o.warned;
  df.state = DAXF_EVICTED;
  unlock(H + offsetof<Header>("daxLock"));
  return OK;
}
