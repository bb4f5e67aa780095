// zap_page_range with an mmu_gather (mm/memory.c, mm/mmu_gather.c), and
// free_pgtables for unmap: clear entries and drop the rmap under the lock,
// flush the TLB, then drop the mappings' folio references; tables that
// became empty are unlinked, and freed only once no lockless walker can
// still be reading them (tlb_remove_table_sync_one).

import { H, hdr, readEntry, writeEntry, xchgEntry, ctxOf, noteBadTable, futexWait } from './base';
import { lv, L, nLevels, pageShift, leafPa, isPresent } from './arch';
import { pfnToPage, pageFolio, allocTable, freeTable, unitOf, rootBad, pageType } from './mem';
import { isHugeZeroPfn } from './folio';
import { folioPutRefs, folioRemoveRmapPte, folioRemoveRmapPmd, hugetlbRemoveRmap } from './refcount';
import { zapTakesPage, isDaxKind } from './model';
import { zapDevicePrivate } from './devmem';
import { mmOf, isZeroPfn, splitHugeZeroPmd, vmaKindAt, vmaCacheReset } from './mm';
import { walkFrom, walkRange, tableSpan, wCode, wLevel, wEntry, wPtr, WALK_NEXT, WALK_SKIP } from './walk';
import {
  Header, Ctx, Page, GATHER_PAGES, GATHER_TABLES, W_OK, OK, E_SPLIT, E_NOTABLE, E_BADTABLE, PARENT_ROOT, BAD_ENTRY,
  PGTY_hugetlb, PAGE_MAPPING_ANON,
} from './layout';

// The gather lives in the thread's context scratch (layout.ts CTX_SCRATCH):
//   u32 folio, u32 refs   x GATHER_PAGES, then
//   u64 table pa, u32 level, u32 pad  x GATHER_TABLES
const TABLES_OFF: u32 = GATHER_PAGES * 8;

let gScratch: usize = 0;
let gCtx: usize = 0;
let gPages: u32 = 0;
let gTables: u32 = 0;
let gMm: usize = 0;
let gOnlyGen: u32 = 0;
let gFloor: u64 = 0;      // free_pgtables' floor and ceiling (0: the top of the address space)
let gCeiling: u64 = 0;
let gAlsoGen: u32 = 0;    // and the empty tables this operation built, wherever they are
let gFreeTables: bool = false;
let gZapLeaves: bool = true;
let gOp: u32 = 0;

// tlb_remove_table_sync_one: wait until every other thread that was inside a
// lockless walk has left it (the IPI that gup-fast's irq-off section blocks).
// A walker's seq is odd inside its section and bumped (to even) on leaving;
// the walker does not notify (that would cost every gup a call), so the wait
// looks again every 10 us until the seq it saw has moved on.
function tableSync(): void {
  const h = hdr();
  for (let i: u32 = 0; i < h.ctxCount; i++) {
    const c = h.ctxBase + i * h.ctxSize;
    if (c == gCtx) continue;
    const s = atomic.load<u32>(c + offsetof<Ctx>("seq"));
    if ((s & 1) == 0) continue;
    while (atomic.load<u32>(c + offsetof<Ctx>("seq")) == s) futexWait(c + offsetof<Ctx>("seq"), <i32>s, 10);
  }
}

// tlb_flush_mmu: flush the TLB, then free what the batch held.
// tlb->end: a present entry was cleared (tlb_remove_tlb_entry), whether or not
// it held a page (the zero page, a special or devmap entry still need the flush)
let gCleared: bool = false;
function tlbFlushMmu(): void {
  if (gPages == 0 && gTables == 0 && !gCleared) return;
  gCleared = false;
  atomic.add<u64>(H + offsetof<Header>("statTlbFlushes"), 1);   // tlb_flush_mmu_tlbonly
  for (let i: u32 = 0; i < gPages; i++) {                       // tlb_batch_pages_flush
    const q = gScratch + (i << 3);
    folioPutRefs(<usize>load<u32>(q), <i32>load<u32>(q, 4));
  }
  gPages = 0;
  if (gTables > 0) {                                             // tlb_table_flush
    tableSync();
    for (let i: u32 = 0; i < gTables; i++) {
      const q = gScratch + TABLES_OFF + (i << 4);
      freeTable(load<u32>(q, 8), load<u64>(q));
    }
    gTables = 0;
  }
}

// __tlb_remove_folio_pages: queue one reference; consecutive entries of the
// same folio share a slot (encoded nr_pages).
function tlbRemoveFolio(folio: usize): void {
  if (gPages > 0) {
    const q = gScratch + ((gPages - 1) << 3);
    if (<usize>load<u32>(q) == folio) { store<u32>(q, load<u32>(q, 4) + 1, 4); return; }
  }
  if (gPages == GATHER_PAGES) tlbFlushMmu();
  const q = gScratch + (gPages << 3);
  store<u32>(q, <u32>folio);
  store<u32>(q, 1, 4);
  gPages++;
}

function tlbRemoveTable(l: u32, pa: u64): void {
  if (gTables == GATHER_TABLES) tlbFlushMmu();
  const q = gScratch + TABLES_OFF + (gTables << 4);
  store<u64>(q, pa);
  store<u32>(q, l, 8);
  gTables++;
}

// Clear one leaf at level l (mapping addr) and, if its VMA and bits say it
// maps a page it holds (model.ts zapTakesPage: vm_normal_page, zap_huge_pmd),
// drop its rmap and rss and queue the reference.
function zapLeaf(l: u32, p: usize, addr: u64): void {
  const d = lv(l);
  const e = xchgEntry(p, L(l).emptyValue);   // ptep_get_and_clear_full
  if (!isPresent(d, e)) {                    // non-present: a device-private entry holds its page; nothing else does
    if (l == nLevels() - 1) zapDevicePrivate(gMm, d, e);
    return;
  }
  gCleared = true;
  const last = l == nLevels() - 1;
  if (!zapTakesPage(vmaKindAt(gMm, addr), last, d, e)) return;
  const ps = pageShift();
  const pfn = leafPa(d, e) >> ps;
  // the zero pfn without a special bit (vm_normal_page: is_zero_pfn), and the
  // huge zero PMD (zap_huge_pmd: is_huge_zero_pmd): no rmap, no reference, no rss
  if (last ? isZeroPfn(pfn) : isHugeZeroPfn(pfn)) return;
  const page = pfnToPage(pfn);
  if (page == 0) return;
  const folio = pageFolio(page);
  const m = mmOf(gMm);
  // mm_counter: MM_ANONPAGES for an anon folio, MM_FILEPAGES otherwise (DAX)
  const anon = (load<u64>(folio, offsetof<Page>("mapping")) & PAGE_MAPPING_ANON) != 0;
  if (last) {
    folioRemoveRmapPte(folio, page);
    if (anon) m.rssAnon -= 1;
    else m.rssFile -= 1;
  } else if (pageType(folio) == PGTY_hugetlb) {
    // __unmap_hugepage_range: hugetlb_remove_rmap, hugetlb_count_sub
    hugetlbRemoveRmap(folio);
    m.hugetlbUsage -= (<i64>1) << (L(l).shift - ps);
  } else {
    folioRemoveRmapPmd(folio);                 // folio_remove_rmap_pmd / _pud
    if (anon) m.rssAnon -= (<i64>1) << (L(l).shift - ps);
    else m.rssFile -= (<i64>1) << (L(l).shift - ps);
  }
  store<u64>(folio, gOp, offsetof<Page>("last_op"));
  tlbRemoveFolio(folio);
}

// Is the level-l table at pa empty (every entry pXd_none)?
@unmanaged class TableEmpty {
  leaf(l: u32, p: usize, e: u64, addr: u64, next: u64): i32 { return NOT_EMPTY; }
  nonPresent(l: u32, p: usize, e: u64, addr: u64, next: u64): i32 { return NOT_EMPTY; }
  bad(l: u32, p: usize, e: u64, addr: u64): i32 { return NOT_EMPTY; }
  badLink(l: u32, p: usize, e: u64, addr: u64, why: u32): i32 { return NOT_EMPTY; }
  table(l: u32, p: usize, e: u64, addr: u64): i32 { return NOT_EMPTY; }
  afterTable(l: u32, p: usize, child: u64, addr: u64): i32 { return WALK_NEXT; }
}
const NOT_EMPTY: i32 = 2;
function tableEmpty(l: u32, pa: u64): bool {
  return walkRange<TableEmpty>(changetype<TableEmpty>(0), l, pa, 0, tableSpan(l)) == WALK_NEXT;
}

// Before anything is cleared or freed: every table link under [addr, end)
// must be the one its entry made (tableLinked), so a crafted entry, a loop
// or a table named twice is refused whole (E_BADTABLE, described in the
// context). Reads the directory levels only, not the PTE tables.
@unmanaged class LinkCheck {
  leaf(l: u32, p: usize, e: u64, addr: u64, next: u64): i32 { return WALK_NEXT; }
  nonPresent(l: u32, p: usize, e: u64, addr: u64, next: u64): i32 { return WALK_NEXT; }
  bad(l: u32, p: usize, e: u64, addr: u64): i32 {
    noteBadTable(l, e, <u64>(p - hdr().poolBase), addr, BAD_ENTRY);
    return E_BADTABLE;
  }
  badLink(l: u32, p: usize, e: u64, addr: u64, why: u32): i32 {
    noteBadTable(l, e, <u64>(p - hdr().poolBase), addr, why);
    return E_BADTABLE;
  }
  // a PTE table's link is checked, its entries are not read
  table(l: u32, p: usize, e: u64, addr: u64): i32 { return l + 2 < nLevels() ? WALK_NEXT : WALK_SKIP; }
  afterTable(l: u32, p: usize, child: u64, addr: u64): i32 { return WALK_NEXT; }
}
function checkLinks(tpa: u64, addr: u64, end: u64): i32 {
  if (nLevels() < 2) return OK;
  return walkRange<LinkCheck>(changetype<LinkCheck>(0), 0, tpa, addr, end);
}

// free_pgd_range: the table under the level-l entry for addr may go only if
// no other VMA can use it: its whole span lies within [floor, ceiling).
@inline function spanFree(l: u32, addr: u64): bool {
  const size = (<u64>1) << L(l).shift;
  const base = addr & ~(size - 1);
  return base >= gFloor && (gCeiling == 0 || base + size <= gCeiling);
}

// zap_pXd_range (its links checked by checkLinks first), and free_pgtables'
// unlinking of the tables it left empty.
@unmanaged class Zap {
  // whole huge leaves only: partial ones were refused (or split) up front
  leaf(l: u32, p: usize, e: u64, addr: u64, next: u64): i32 { if (gZapLeaves) zapLeaf(l, p, addr); return WALK_NEXT; }
  nonPresent(l: u32, p: usize, e: u64, addr: u64, next: u64): i32 { if (gZapLeaves) zapLeaf(l, p, addr); return WALK_NEXT; }
  bad(l: u32, p: usize, e: u64, addr: u64): i32 { return WALK_NEXT; }
  // (checkLinks refused the range before anything changed: not met here)
  badLink(l: u32, p: usize, e: u64, addr: u64, why: u32): i32 { return WALK_NEXT; }
  table(l: u32, p: usize, e: u64, addr: u64): i32 { return WALK_NEXT; }
  afterTable(l: u32, p: usize, child: u64, addr: u64): i32 {
    if (gFreeTables && (gOnlyGen == 0 || unitOf(child).gen == gOnlyGen) &&
        (spanFree(l, addr) || (gAlsoGen != 0 && unitOf(child).gen == gAlsoGen)) && tableEmpty(l + 1, child)) {
      writeEntry(p, L(l).emptyValue);            // pmd_clear, then free after the flush
      mmOf(gMm).pgtablesBytes -= L(l + 1).tableBytes;
      tlbRemoveTable(l + 1, child);
    }
    return WALK_NEXT;
  }
}

// The huge leaf mapping va if [start, end) covers it only in part (`edge`,
// start or end, is not aligned to it): its entry pointer and level, else 0.
let pLevel: u32 = 0;
let pEntry: u64 = 0;
function partialLeafAt(mm: usize, va: u64, edge: u64): usize {
  walkFrom(mmOf(mm).root, va, mm);
  if (wCode == W_OK && wLevel < nLevels() - 1 && (edge & (((<u64>1) << L(wLevel).shift) - 1)) != 0) {
    pLevel = wLevel;
    pEntry = wEntry;
    return wPtr;
  }
  return 0;
}

// A huge leaf that [start, end) covers only in part would need a split;
// pgtemu splits only the huge zero PMD (below) and refuses the others, but
// for a DAX VMA's leaf: __split_huge_pmd of a non-anon VMA clears the PMD
// whole (and drops what it held, as the zap then does; a legacy DAX VMA,
// vma_is_special_huge, holds nothing), so the zap takes it whole.
export function partialHugeLeaf(mm: usize, start: u64, end: u64): bool {
  vmaCacheReset();
  if (partialLeafAt(mm, start, start) != 0 && !isHugeZeroPfn(leafPa(lv(pLevel), pEntry) >> pageShift()) && !isDaxKind(vmaKindAt(mm, start))) return true;
  if (partialLeafAt(mm, end - 1, end) != 0 && !isHugeZeroPfn(leafPa(lv(pLevel), pEntry) >> pageShift()) && !isDaxKind(vmaKindAt(mm, end - 1))) return true;
  return false;
}

// zap_pmd_range: a huge zero PMD that [start, end) covers only in part is
// split first (__split_huge_pmd -> __split_huge_zero_page_pmd), then its
// ptes are zapped. Both tables are taken before either split, so that an
// exhausted pool (E_NOTABLE) changes nothing.
function splitPartialHugeZero(mm: usize, start: u64, end: u64, opId: u32): i32 {
  const p0 = partialLeafAt(mm, start, start);
  const l0 = pLevel;
  const p1 = partialLeafAt(mm, end - 1, end);
  const l1 = pLevel;
  const a = p0 != 0 && isHugeZeroPfn(leafPa(lv(l0), readEntry(p0)) >> pageShift()) ? p0 : 0;
  let b = p1 != 0 && isHugeZeroPfn(leafPa(lv(l1), readEntry(p1)) >> pageShift()) ? p1 : 0;
  if (b == a) b = 0;                          // one PMD holds both edges
  if (a == 0 && b == 0) return OK;
  const id = mmOf(mm).id;
  const ta = a != 0 ? allocTable(l0 + 1, opId, <u32>a, id) : 0;
  if (a != 0 && ta == 0) return E_NOTABLE;
  const tb = b != 0 ? allocTable(l1 + 1, opId, <u32>b, id) : 0;
  if (b != 0 && tb == 0) {
    if (ta != 0) freeTable(l0 + 1, ta);
    return E_NOTABLE;
  }
  if (a != 0) splitHugeZeroPmd(mm, a, l0, ta);
  if (b != 0) splitHugeZeroPmd(mm, b, l1, tb);
  return OK;
}

// Zap [start, end) of mm. freeTables: also unlink and free tables left empty
// (only those allocated by operation onlyGen, when non-zero: a rollback),
// whose span lies within [floor, ceiling) (ceiling 0: no limit), or that
// operation alsoGen built (a failed populate's tables go with it).
// zapLeaves false: take back empty new tables only (a failed fault).
export function zapRange(ctx: usize, mm: usize, start: u64, end: u64, freeTables: bool, onlyGen: u32, zapLeaves: bool, opId: u32,
  floor: u64 = 0, ceiling: u64 = 0, alsoGen: u32 = 0): i32 {
  const root = mmOf(mm).root;
  const rb = rootBad(root, mmOf(mm).id);
  if (rb != 0) { noteBadTable(0, root, <u64>PARENT_ROOT, start, rb); return E_BADTABLE; }
  const links = checkLinks(root, start, end);
  if (links != OK) return links;
  if (zapLeaves && partialHugeLeaf(mm, start, end)) return E_SPLIT;
  if (zapLeaves) {
    const r = splitPartialHugeZero(mm, start, end, opId);
    if (r != OK) return r;
  }
  gZapLeaves = zapLeaves;
  gCtx = ctx;
  gScratch = ctxOf(ctx).scratch;
  gPages = 0;
  gTables = 0;
  gMm = mm;
  gOnlyGen = onlyGen;
  gFreeTables = freeTables;
  gOp = opId;
  gFloor = floor;
  gCeiling = ceiling;
  gAlsoGen = alsoGen;
  vmaCacheReset();
  gCleared = false;
  walkRange<Zap>(changetype<Zap>(0), 0, mmOf(mm).root, start, end);
  tlbFlushMmu();   // tlb_finish_mmu
  return OK;
}
