// The invariant checker. It counts, from the page tables of every mm, how
// many entries map each page, then compares every struct page in the memmap
// with what those mappings and the outstanding gup references require.
// Violations are appended to the report buffer; nothing is repaired.

import { H, hdr } from './base';
import { lv, L, nLevels, pageShift, tablePa, leafPa } from './arch';
import { walkRange, tableSpan, WALK_NEXT } from './walk';
import { mappingHoldsRef } from './model';
import { folioOf, pincountPtr, gupOutstandingSum } from './refcount';
import {
  pfnToPage, pfnToAux, pageToPfn, pageFolio, folioTestLarge, folioOrder, isBuddy, pageType, rootBad,
  refcountPtr, mapcountPtr, AUX_SIZE, lruNext, lruPrev,
} from './mem';
import { isZeroFolio, isHugeZeroPfn } from './folio';
import { mmOf, isZeroPfn } from './mm';
import {
  Header, H_ZONE_FREE, H_ZONE_COUNT, Mm, Page, Violation, VIOLATION_SIZE, MM_SIZE, PAGE_SIZE_BYTES, PAGE_COMPOUND_HEAD,
  PG_reserved, PGTY_hugetlb,
  INV_REF_ZERO_MAPPED, INV_REF_NEGATIVE, INV_REF_BALANCE, INV_MAPCOUNT, INV_PIN_BALANCE, INV_FREE_STATE,
  INV_OUTSTANDING, INV_FOLIO_LINK, INV_FOLIO_TAIL_REF, INV_MAP_UNALIGNED, INV_TABLE_LINK, PARENT_ROOT,
} from './layout';

// Sign-extending 32-bit load (counts stored -1-based).
@inline function ld32s(p: usize): i64 {
  const v: i32 = atomic.load<i32>(p);
  return <i64>v;
}

function report(pfn: u64, inv: u32, page: usize, expected: i64, actual: i64): void {
  const h = hdr();
  const i = atomic.add<u32>(H + offsetof<Header>("violCount"), 1);
  if (i >= h.violCap) return;
  const v = changetype<Violation>(h.violBase + i * VIOLATION_SIZE);
  v.pfn = pfn;
  v.invariant = inv;
  v.lastOp = page != 0 ? <u32>load<u64>(page, offsetof<Page>("last_op")) : 0;
  v.expected = expected;
  v.actual = actual;
}

// Count one mapping of the leaf at level l into the aux counters.
function countLeaf(l: u32, e: u64): void {
  const d = lv(l);
  if (!mappingHoldsRef(d, e)) return;                          // no reference held (special, legacy devmap)
  const ps = pageShift();
  const pfn = leafPa(d, e) >> ps;
  // neither does the zero pfn without a special bit, nor a huge zero PMD (recognised by pfn)
  if (l == nLevels() - 1 ? isZeroPfn(pfn) : isHugeZeroPfn(pfn)) return;
  const page = pfnToPage(pfn);
  if (page == 0) return;
  const folio = pageFolio(page);
  if (atomic.load<i32>(refcountPtr(folio)) == 0) report(pfn, INV_REF_ZERO_MAPPED, folio, 1, 0);
  if (l == nLevels() - 1) {
    const aux = pfnToAux(pfn);
    store<u32>(aux, load<u32>(aux) + 1);
  } else {
    const order = L(l).shift - ps;
    if (page != folio || folioOrder(folio) != order) report(pfn, INV_MAP_UNALIGNED, folio, order, folioOrder(folio));
    const aux = pfnToAux(pfn);
    store<u32>(aux, load<u32>(aux, 4) + 1, 4);
  }
}

// Count every mapping under one table. A link the table's entry did not make
// (tableLinked refuses it), or a pXd_bad entry, is reported and not followed:
// the violation's pfn is the pool frame holding the entry, expected the
// entry's pa, actual the address it names.
@unmanaged class Count {
  leaf(l: u32, p: usize, e: u64, addr: u64, next: u64): i32 { countLeaf(l, e); return WALK_NEXT; }
  nonPresent(l: u32, p: usize, e: u64, addr: u64, next: u64): i32 { return WALK_NEXT; }
  bad(l: u32, p: usize, e: u64, addr: u64): i32 { reportLink(p, tablePa(lv(l), e)); return WALK_NEXT; }
  badLink(l: u32, p: usize, e: u64, addr: u64, why: u32): i32 { reportLink(p, tablePa(lv(l), e)); return WALK_NEXT; }
  table(l: u32, p: usize, e: u64, addr: u64): i32 { return WALK_NEXT; }
  afterTable(l: u32, p: usize, child: u64, addr: u64): i32 { return WALK_NEXT; }
}

function reportLink(p: usize, child: u64): void {
  const epa = <u64>(p - hdr().poolBase);
  report(epa >> pageShift(), INV_TABLE_LINK, 0, <i64>epa, <i64>child);
}

// Every mapping of an address space: its whole root table.
function countTables(root: u64): void {
  walkRange<Count>(changetype<Count>(0), 0, root, 0, tableSpan(0));
}

// Check one allocated folio whose head is at pfn; `held` references are
// neither mappings nor gup's (the machine's own on the huge zero folio).
function checkFolio(pfn: u64, folio: usize, strict: bool, held: i64): i64 {
  const order = folioOrder(folio);
  const nr: u64 = (<u64>1) << order;
  const rc = atomic.load<i32>(refcountPtr(folio));
  let pteMaps: i64 = 0;
  for (let i: u64 = 0; i < nr; i++) {
    const page = folio + <usize>i * PAGE_SIZE_BYTES;
    const aux = pfnToAux(pfn + i);
    const maps = <i64>load<u32>(aux);
    pteMaps += maps;
    if (i > 0) {
      if (load<u64>(page, PAGE_COMPOUND_HEAD) != (<u64>folio | 1)) report(pfn + i, INV_FOLIO_LINK, folio, <i64>folio, <i64>load<u64>(page, PAGE_COMPOUND_HEAD));
      if (atomic.load<i32>(refcountPtr(page)) != 0) report(pfn + i, INV_FOLIO_TAIL_REF, folio, 0, atomic.load<i32>(refcountPtr(page)));
      if (i == 1) continue;   // page[1]'s _mapcount slot is its own; only PTE maps below
    }
    // per-page _mapcount (+1) counts PTE mappings; the head of a hugetlb folio keeps its page_type there
    if (!(i == 0 && order > 0 && pageType(folio) == PGTY_hugetlb)) {
      const mc = ld32s(mapcountPtr(page)) + 1;
      if (mc != maps) report(pfn + i, INV_MAPCOUNT, folio, maps, mc);
    }
  }
  let mapRefs = pteMaps;
  if (order > 0) {
    const huge = <i64>load<u32>(pfnToAux(pfn), 4);
    mapRefs += huge;
    const em = <i64>folioOf(folio)._entire_mapcount + 1;
    if (em != huge) report(pfn, INV_MAPCOUNT, folio, huge, em);
    const lm = <i64>folioOf(folio)._large_mapcount + 1;
    if (lm != huge + pteMaps) report(pfn, INV_MAPCOUNT, folio, huge + pteMaps, lm);
    const pc = atomic.load<i32>(pincountPtr(folio));
    if (pc < 0) report(pfn, INV_REF_NEGATIVE, folio, 0, pc);
    if (strict && pc != 0) report(pfn, INV_PIN_BALANCE, folio, 0, pc);
  }
  mapRefs += held;
  if (rc < 0) report(pfn, INV_REF_NEGATIVE, folio, 0, rc);
  else if (rc == 0) report(pfn, INV_FREE_STATE, folio, mapRefs, 0);   // neither free nor referenced
  else if (<i64>rc < mapRefs) report(pfn, INV_REF_BALANCE, folio, mapRefs, rc);
  else if (strict && <i64>rc != mapRefs) report(pfn, INV_REF_BALANCE, folio, mapRefs, rc);
  return <i64>rc - mapRefs;
}

// The buddy free lists: every node a free block of that order, links both
// ways consistent, counts as the zone keeps them.
function checkFreeLists(): void {
  const h = hdr();
  const limit = h.zoneEndPfn - h.zoneStartPfn + 1;
  for (let o: u32 = 0; o <= h.zoneMaxOrder; o++) {
    let p = <usize>load<u32>(H + H_ZONE_FREE + (o << 2));
    let prev: usize = 0;
    let n: u64 = 0;
    while (p != 0 && n <= limit) {
      const pfn = pageToPfn(p);
      if (pfnToPage(pfn) != p || !isBuddy(p) || load<u64>(p, offsetof<Page>("private_")) != <u64>o ||
          lruPrev(p) != prev || pfn < h.zoneStartPfn || pfn >= h.zoneEndPfn) {
        report(pfn, INV_FREE_STATE, p, o, <i64>load<u64>(p, offsetof<Page>("private_")));
        return;
      }
      prev = p;
      p = lruNext(p);
      n++;
    }
    if (n != <u64>load<u32>(H + H_ZONE_COUNT + (o << 2))) report(0, INV_FREE_STATE, 0, <i64>load<u32>(H + H_ZONE_COUNT + (o << 2)), <i64>n);
  }
}

// Returns the number of violations found (all are in the buffer, up to its capacity).
export function checkInvariants(): u32 {
  const h = hdr();
  atomic.store<u32>(H + offsetof<Header>("violCount"), 0);
  const end = h.ramPfns;
  // 1. clear the counters, 2. count every mapping of every mm
  for (let pfn: u64 = 0; pfn < end; pfn++) {
    const aux = pfnToAux(pfn);
    if (aux != 0) store<u64>(aux, 0);
  }
  for (let i: u32 = 0; i < h.mmCount; i++) {
    const mm = h.mmBase + i * MM_SIZE;
    if (mmOf(mm).inUse == 0) continue;
    const root = mmOf(mm).root;
    if (rootBad(root, mmOf(mm).id) != 0) report(0, INV_TABLE_LINK, 0, <i64>PARENT_ROOT, <i64>root);
    else countTables(root);
  }
  // 3. every struct page against its mappings
  const outstanding = gupOutstandingSum(false);
  const pinsOut = gupOutstandingSum(true);
  const strict = outstanding == 0 && pinsOut == 0;
  let extra: i64 = 0;
  let pins: i64 = 0;
  let pfn: u64 = 0;
  while (pfn < end) {
    const page = pfnToPage(pfn);
    if (page == 0) { pfn++; continue; }
    if (isBuddy(page)) {
      const order = <u32>load<u64>(page, offsetof<Page>("private_"));
      const nr: u64 = (<u64>1) << order;
      for (let i: u64 = 0; i < nr; i++) {
        const q = page + <usize>i * PAGE_SIZE_BYTES;
        const aux = pfnToAux(pfn + i);
        const rc = atomic.load<i32>(refcountPtr(q));
        if (rc != 0 || load<u64>(aux) != 0) report(pfn + i, INV_FREE_STATE, q, 0, rc != 0 ? <i64>rc : <i64>load<u32>(aux) + load<u32>(aux, 4));
      }
      pfn += nr;
      continue;
    }
    if ((load<u64>(page) & ((<u64>1) << PG_reserved)) != 0) {  // PG_reserved: pool frames, the zero page
      if (isZeroFolio(page)) extra += ld32s(refcountPtr(page)) - 1;
      pfn++;
      continue;
    }
    if (load<u64>(page, PAGE_COMPOUND_HEAD) & 1) {            // a tail whose head we did not reach
      report(pfn, INV_FOLIO_LINK, page, 0, <i64>load<u64>(page, PAGE_COMPOUND_HEAD));
      pfn++;
      continue;
    }
    extra += checkFolio(pfn, page, strict, isHugeZeroPfn(pfn) ? 1 : 0);
    if (folioTestLarge(page)) pins += atomic.load<i32>(pincountPtr(page));
    pfn += (<u64>1) << folioOrder(page);
  }
  checkFreeLists();
  // 4. what gup handed out must add up to what the pages hold beyond their mappings
  if (extra != outstanding) report(0, INV_OUTSTANDING, 0, outstanding, extra);
  if (pins != pinsOut) report(0, INV_PIN_BALANCE, 0, pinsOut, pins);
  return atomic.load<u32>(H + offsetof<Header>("violCount"));
}

