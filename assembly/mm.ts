// Address spaces: VMAs and the page-fault path (the walks are in walk.ts).

import { H, hdr, readEntry, writeEntry, xchgEntry } from './base';
import {
  lv, L, nLevels, pageShift, leafPa, mkTable, mkLeaf, levelIndex, pred, entriesOf,
  entryKind, K_TABLE, K_NONE, K_LEAF, K_NOT_PRESENT, isSwapEntry, isDevicePrivateEntry,
} from './arch';
import { pfnToPage, pageToPfn, allocPages, allocTable, poolVa, prepCompound, setFlag } from './mem';
import { getHugeZeroFolio, isHugeZeroPfn } from './folio';
import { folioPutRefs, folioAddNewAnonRmap } from './refcount';
import { walkAlloc, allocStatus } from './walk';
import { devdaxFault, fsdaxFault } from './dax';
import { migrateToRam } from './devmem';
import { KIND_NONE } from './model';
import {
  Header, Mm, Vma, VMA_SIZE, VM_WRITE, VM_READ, KIND_ANON, KIND_HUGETLB, KIND_PFNMAP, KIND_DEVDAX, KIND_FSDAX,
  T_RO, T_RW, T_SPECIAL_RO, T_SPECIAL_RW, P_WRITE, P_PROTNONE,
  OK, E_FAULT, E_NOMEM, E_NOTABLE, E_INVAL, E_EXIST, E_NOSPC, E_BADTABLE, Page,
  PG_anon_exclusive, PG_swapbacked, PG_uptodate, PG_large_rmappable, PAGE_MAPPING_ANON,
} from './layout';

@inline export function mmOf(p: usize): Mm { return changetype<Mm>(p); }
@inline export function vmaAt(mm: usize, i: u32): usize { return mmOf(mm).vmas + i * VMA_SIZE; }

// find_vma: the VMA containing addr, or 0.
export function findVma(mm: usize, addr: u64): usize {
  const m = mmOf(mm);
  let lo: i32 = 0, hi: i32 = <i32>m.nrVmas - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = changetype<Vma>(vmaAt(mm, mid));
    if (addr < v.start) hi = mid - 1;
    else if (addr >= v.end) lo = mid + 1;
    else return changetype<usize>(v);
  }
  return 0;
}

// findVma with a one-entry memory for walks over many leaves (zap, the
// checker): the kind of the VMA holding addr, or KIND_NONE. Call
// vmaCacheReset before a walk; the VMAs must not change during it.
let cMm: usize = 0;
let cStart: u64 = 0;
let cEnd: u64 = 0;
let cKind: u32 = 0;
export function vmaCacheReset(): void { cMm = 0; }
export function vmaKindAt(mm: usize, addr: u64): u32 {
  if (mm == cMm && addr >= cStart && addr < cEnd) return cKind;
  const vp = findVma(mm, addr);
  if (vp == 0) return KIND_NONE;
  const v = changetype<Vma>(vp);
  cMm = mm;
  cStart = v.start;
  cEnd = v.end;
  cKind = v.kind;
  return cKind;
}

// Insert [start, end); the caller checked alignment. E_EXIST on overlap.
export function vmaInsert(mm: usize, start: u64, end: u64, flags: u32, kind: u32, order: u32, pfn: u64, pgmap: u32 = 0, file: u32 = 0): i32 {
  const m = mmOf(mm);
  if (m.nrVmas >= hdr().vmaPerMm) return E_NOSPC;
  let i: u32 = 0;
  while (i < m.nrVmas && changetype<Vma>(vmaAt(mm, i)).end <= start) i++;
  if (i < m.nrVmas && changetype<Vma>(vmaAt(mm, i)).start < end) return E_EXIST;
  memory.copy(vmaAt(mm, i + 1), vmaAt(mm, i), (m.nrVmas - i) * VMA_SIZE);
  const v = changetype<Vma>(vmaAt(mm, i));
  v.start = start;
  v.end = end;
  v.flags = flags;
  v.kind = kind;
  v.order = order;
  v.pfn = pfn;
  v.pgmap = pgmap;
  v.file = file;
  m.nrVmas++;
  return OK;
}

// Remove [start, end) from the VMA list, splitting VMAs that straddle it.
export function vmaRemoveRange(mm: usize, start: u64, end: u64): i32 {
  const m = mmOf(mm);
  // A split needs one more slot: check before changing anything.
  for (let i: u32 = 0; i < m.nrVmas; i++) {
    const v = changetype<Vma>(vmaAt(mm, i));
    if (v.start < start && v.end > end && m.nrVmas >= hdr().vmaPerMm) return E_NOSPC;
  }
  let i: u32 = 0;
  while (i < m.nrVmas) {
    const v = changetype<Vma>(vmaAt(mm, i));
    if (v.end <= start || v.start >= end) { i++; continue; }
    if (v.start < start && v.end > end) {          // split in two
      memory.copy(vmaAt(mm, i + 1), vmaAt(mm, i), (m.nrVmas - i) * VMA_SIZE);
      m.nrVmas++;
      const t = changetype<Vma>(vmaAt(mm, i + 1));
      if (t.kind == KIND_PFNMAP || t.kind == KIND_DEVDAX || t.kind == KIND_FSDAX) t.pfn += (end - v.start) >> pageShift();
      t.start = end;
      v.end = start;
      return OK;
    }
    if (v.start < start) { v.end = start; i++; continue; }
    if (v.end > end) {
      if (v.kind == KIND_PFNMAP || v.kind == KIND_DEVDAX || v.kind == KIND_FSDAX) v.pfn += (end - v.start) >> pageShift();
      v.start = end;
      i++;
      continue;
    }
    memory.copy(vmaAt(mm, i), vmaAt(mm, i + 1), (m.nrVmas - i - 1) * VMA_SIZE);
    m.nrVmas--;
  }
  return OK;
}

// The level whose leaves map 2^order pages, or -1.
export function leafLevelFor(order: u32): i32 {
  const want = pageShift() + order;
  const n = nLevels();
  for (let l: u32 = 0; l < n; l++) {
    if (L(l).shift == want) return L(l).leafOk != 0 ? <i32>l : -1;
  }
  return -1;
}

// ---------------------------------------------------------------- faults
export function isZeroPfn(pfn: u64): bool { return pfn == hdr().zeroPfn; }

// Set up a freshly allocated anon / hugetlb folio mapped once by one entry at
// `huge` level (folio_add_new_anon_rmap; hugetlb_add_new_anon_rmap).
export function initNewFolio(folio: usize, order: u32, mm: usize, va: u64, opId: u32, hugetlb: bool): void {
  const p = changetype<Page>(folio);
  prepCompound(folio, order);
  p.mapping = PAGE_MAPPING_ANON | (<u64>mmOf(mm).id << 4);
  p.index = va >> pageShift();
  setFlag(folio, PG_uptodate);
  setFlag(folio, PG_swapbacked);
  setFlag(folio, PG_anon_exclusive);
  if (order > 0 && !hugetlb) setFlag(folio, PG_large_rmappable);
  folioAddNewAnonRmap(folio, order, hugetlb);
  p.last_op = opId;
  // the allocation's reference (refcount 1) becomes the mapping's reference
}

// handle_mm_fault for one address; the caller holds the mm lock. `unshare` is
// FAULT_FLAG_UNSHARE (gup's faultin_page after gup_must_unshare said -EMLINK):
// incompatible with a write, it breaks COW without making the entry writable.
export function faultLocked(mm: usize, va: u64, write: bool, opId: u32, unshare: bool = false): i32 {
  const vp = findVma(mm, va);
  if (vp == 0) return E_FAULT;
  const v = changetype<Vma>(vp);
  if (write && (v.flags & VM_WRITE) == 0) return E_FAULT;
  if (!write && (v.flags & VM_READ) == 0) return E_FAULT;
  if (v.kind == KIND_PFNMAP) return E_FAULT;   // populated at mmap time; nothing to fault in
  if (v.kind == KIND_DEVDAX) return devdaxFault(mm, vp, va, write, opId);
  if (v.kind == KIND_FSDAX) return fsdaxFault(mm, vp, va, write, opId);
  const ps = pageShift();
  const last = <i32>nLevels() - 1;

  // THP: a huge leaf only where the aligned block lies inside the VMA and the
  // level is still empty; otherwise fall back to a base page.
  let order = v.order;
  let l = leafLevelFor(order);
  if (l < 0) return E_INVAL;
  if (order > 0 && v.kind == KIND_ANON) {
    const size = (<u64>1) << (ps + order);
    const base = va & ~(size - 1);
    if (base < v.start || base + size > v.end) { order = 0; l = last; }
  }
  let p = walkAlloc(mm, va, <u32>l, opId);
  if (p == 0 && allocStatus == E_EXIST && order > 0 && v.kind == KIND_ANON) {
    order = 0;                                   // a pte table is already there
    l = last;
    p = walkAlloc(mm, va, <u32>l, opId);
  }
  if (p != 0 && order > 0 && v.kind == KIND_ANON) {
    // the pmd slot already holds a pte table: handle_pte_fault at pte level
    if (entryKind(lv(<u32>l), readEntry(p), false) == K_TABLE) {
      order = 0;
      l = last;
      p = walkAlloc(mm, va, <u32>l, opId);
    }
  }
  if (p == 0) return allocStatus == E_NOTABLE || allocStatus == E_BADTABLE ? allocStatus : E_FAULT;
  const d = lv(<u32>l);
  const e = readEntry(p);
  const k = entryKind(d, e, false);
  if (k == K_NOT_PRESENT && <i32>l == last && isSwapEntry(d, e) && isDevicePrivateEntry(e)) {
    // do_swap_page: a device-private entry goes back to RAM (ops->migrate_to_ram)
    return migrateToRam(mm, va, p, e, opId);
  }
  if (k != K_NONE) {
    // not present, a table where a hugetlb leaf belongs, pXd_bad, or PROT_NONE
    if (k != K_LEAF || pred(d, P_PROTNONE, e)) return E_FAULT;
    // spurious, or huge_pmd_set_accessed: already mapped as needed
    if ((!write && !unshare) || pred(d, P_WRITE, e)) return OK;
    const pfn = leafPa(d, e) >> ps;
    if (l != last && isHugeZeroPfn(pfn)) {
      // wp_huge_pmd -> do_huge_pmd_wp_page: is_huge_zero_pmd -> fallback:
      // __split_huge_pmd, then handle_pte_fault -> do_wp_page on the zero pte
      return wpHugeZeroPmd(mm, va, p, <u32>l, write, opId);
    }
    if (l == last && isZeroPfn(pfn)) {
      // do_wp_page: vm_normal_page() is NULL for the zero pfn (special bit or,
      // without ARCH_HAS_PTE_SPECIAL, is_zero_pfn) -> wp_page_copy
      const np = allocPages(0);
      if (np == 0) return E_NOMEM;
      wpPageCopy(mm, va, p, np, write, opId);
      return OK;
    }
    // an exclusive anon folio mapped read-only (do_wp_page / do_huge_pmd_wp_page /
    // hugetlb_wp): PageAnonExclusive -> an unshare has nothing to do; a write
    // reuses it in place (wp_page_reuse: made writable)
    if (unshare) return OK;
    const page = pfnToPage(pfn);
    if (page == 0) return E_FAULT;
    writeEntry(p, mkLeaf(d, leafPa(d, e), T_RW));
    atomic.add<u64>(H + offsetof<Header>("statTlbFlushes"), 1);
    return OK;
  }
  // A fresh fault. do_huge_pmd_anonymous_page: a read fault maps the huge
  // zero folio (transparent_hugepage_use_zero_page(), on by default), read-only
  // as vm_page_prot gives it (mk_pmd + pmd_mkhuge: not special); no rss, no rmap.
  if (order > 0 && !write && v.kind == KIND_ANON && l == last - 1) {
    const hz = getHugeZeroFolio(order, opId);
    if (hz != 0) {
      writeEntry(p, mkLeaf(d, pageToPfn(hz) << ps, T_RO));
      return OK;
    }
    // no PMD-order block for it: THP_FAULT_FALLBACK, a base-page fault
    order = 0;
    l = last;
    p = walkAlloc(mm, va, <u32>l, opId);
    if (p == 0) return allocStatus == E_NOTABLE ? E_NOTABLE : E_FAULT;
  }
  // Anon base-page read faults map the shared zero page (do_anonymous_page):
  // pte_mkspecial(pfn_pte(zero_pfn)), where pte_mkspecial is a no-op without
  // ARCH_HAS_PTE_SPECIAL (T_SPECIAL_RO is then the plain read-only template).
  if (order == 0 && !write && v.kind == KIND_ANON) {
    writeEntry(p, mkLeaf(lv(<u32>l), hdr().zeroPfn << ps, T_SPECIAL_RO));
    return OK;
  }
  let folio = allocPages(order);
  if (folio == 0 && order > 0 && v.kind == KIND_ANON) {
    // THP allocation failed: fall back to a base page (count_vm_event THP_FAULT_FALLBACK)
    order = 0;
    l = last;
    p = walkAlloc(mm, va, <u32>l, opId);
    if (p == 0) return allocStatus == E_NOTABLE || allocStatus == E_BADTABLE ? allocStatus : E_FAULT;
    folio = allocPages(0);
  }
  if (folio == 0) return E_NOMEM;
  const hugetlb = v.kind == KIND_HUGETLB;
  initNewFolio(folio, order, mm, va & ~(((<u64>1) << (ps + order)) - 1), opId, hugetlb);
  const pfn = pfnFromPage(folio);
  // New anon pages are mapped writable and dirty when the VMA allows writes
  // (do_anonymous_page, do_huge_pmd_anonymous_page); private hugetlb only on
  // a write fault (hugetlb_no_page maps read-only, hugetlb_wp upgrades).
  const writable = (v.flags & VM_WRITE) != 0 && (!hugetlb || write);
  writeEntry(p, mkLeaf(lv(<u32>l), pfn << ps, writable ? T_RW : T_RO));
  // hugetlb_no_page: hugetlb_count_add (mm->hugetlb_usage), not MM_ANONPAGES
  if (hugetlb) mmOf(mm).hugetlbUsage += (<i64>1) << order;
  else mmOf(mm).rssAnon += (<i64>1) << order;
  atomic.add<u64>(H + offsetof<Header>("statFaults"), 1);
  return OK;
}

// wp_page_copy (mm/memory.c v6.12) of the zero page at pte *p into the new
// order-0 page np: an exclusive anon folio (folio_add_new_anon_rmap,
// RMAP_EXCLUSIVE), MM_ANONPAGES + 1, the old entry cleared and flushed
// (ptep_clear_flush). A write maps it maybe_mkwrite(pte_mkdirty()); an
// unshare leaves it read-only (BUG_ON(unshare && pte_write(entry))).
function wpPageCopy(mm: usize, va: u64, p: usize, np: usize, write: bool, opId: u32): void {
  const ps = pageShift();
  initNewFolio(np, 0, mm, va, opId, false);
  writeEntry(p, mkLeaf(lv(nLevels() - 1), pfnFromPage(np) << ps, write ? T_RW : T_RO));
  atomic.add<u64>(H + offsetof<Header>("statTlbFlushes"), 1);  // ptep_clear_flush of the old entry
  mmOf(mm).rssAnon += 1;
}

// A write or unshare fault on a huge zero PMD (pmdp at level l): the PMD is
// split into zero-page PTEs and the pte fault copies the page at va. The
// kernel splits first (into the table deposited at fault time) and may then
// fail to allocate the copy, leaving the split; pgtemu, which deposits no
// table, takes the table and the page first so that a failure changes nothing.
function wpHugeZeroPmd(mm: usize, va: u64, pmdp: usize, l: u32, write: bool, opId: u32): i32 {
  const np = allocPages(0);
  if (np == 0) return E_NOMEM;
  const t = allocTable(l + 1, opId, <u32>pmdp, mmOf(mm).id);
  if (t == 0) {
    folioPutRefs(np, 1);                 // folio_put of the copy that was never mapped
    return E_NOTABLE;
  }
  splitHugeZeroPmd(mm, pmdp, l, t);
  wpPageCopy(mm, va, poolVa(t) + (levelIndex(l + 1, va) << 3), np, write, opId);
  return OK;
}

// __split_huge_zero_page_pmd (mm/huge_memory.c v6.12): the PMD is cleared and
// flushed (pmdp_huge_clear_flush), a pte table is filled with the zero page's
// entries -- pte_mkspecial(pfn_pte(my_zero_pfn(addr), vm_page_prot)) -- and
// published (smp_wmb; pmd_populate). The kernel withdraws the table it
// deposited when it mapped the huge zero PMD (and counted then, mm_inc_nr_ptes);
// pgtemu deposits none: `table` is a fresh one from the pool, counted now.
export function splitHugeZeroPmd(mm: usize, pmdp: usize, l: u32, table: u64): void {
  xchgEntry(pmdp, L(l).emptyValue);
  atomic.add<u64>(H + offsetof<Header>("statTlbFlushes"), 1);
  const d = lv(l + 1);
  const e = mkLeaf(d, hdr().zeroPfn << pageShift(), T_SPECIAL_RO);
  const va = poolVa(table);
  const n = entriesOf(l + 1);
  for (let i: u32 = 0; i < n; i++) writeEntry(va + (i << 3), e);
  mmOf(mm).pgtablesBytes += L(l + 1).tableBytes;
  writeEntry(pmdp, mkTable(lv(l), table));
}

@inline function pfnFromPage(p: usize): u64 { return pageToPfn(p); }

// remap_pfn_range: special leaves for [start, end) -> pfn.. at base-page level.
export function remapPfnRange(mm: usize, start: u64, end: u64, pfn: u64, writable: bool, opId: u32): i32 {
  const ps = pageShift();
  const l = nLevels() - 1;
  const d = lv(l);
  for (let va = start; va < end; va += (<u64>1) << ps) {
    const p = walkAlloc(mm, va, l, opId);
    if (p == 0) return allocStatus == E_NOTABLE || allocStatus == E_BADTABLE ? allocStatus : E_EXIST;
    writeEntry(p, mkLeaf(d, (pfn + ((va - start) >> ps)) << ps, writable ? T_SPECIAL_RW : T_SPECIAL_RO));
  }
  return OK;
}

