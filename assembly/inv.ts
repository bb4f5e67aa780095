// The invariant checker. It counts, from the page tables of every mm, how
// many entries map each page, then compares every struct page in the memmap
// with what those mappings and the outstanding gup references require.
// Violations are appended to the report buffer; nothing is repaired.

import { H, hdr, POOL_BASE, POOL_SHIFT } from './base';
import { lv, L, nLevels, pageShift, tablePa, leafPa } from './arch';
import { walkRange, tableSpan, WALK_NEXT } from './walk';
import { MODEL, leafHoldsRef, KIND_NONE, isDevmap, deviceIdleRefcount, pagesHoldPgmapRef, RAM_PFNS } from './model';
import {
  pgmapOf, pgmapState, pgmapRefWord, pgmapDestroyedAt, poisonTouched, privateOrCoherent, pgmapFolio,
} from './pgmap';
import { folioOf, pincountPtr, gupOutstandingSum } from './refcount';
import {
  pfnToPage, pfnToAux, pageToPfn, pageFolio, folioTestLarge, folioOrder, isBuddy, pageType, rootBad,
  refcountPtr, mapcountPtr, AUX_SIZE, lruNext, lruPrev, unitOf, linkSlot, linkedFromEntry, unitLinked,
} from './mem';
import { isZeroFolio, isHugeZeroPfn } from './folio';
import { mmOf, isZeroPfn, vmaKindAt, vmaCacheReset } from './mm';
import { devicePrivatePfn } from './devmem';
import {
  Header, H_ZONE_FREE, H_ZONE_COUNT, Mm, Page, Violation, VIOLATION_SIZE, MM_SIZE, PAGE_SIZE_BYTES, PAGE_COMPOUND_HEAD,
  PG_reserved, PGTY_hugetlb, UNIT_RAW,
  INV_REF_ZERO_MAPPED, INV_REF_NEGATIVE, INV_REF_BALANCE, INV_MAPCOUNT, INV_PIN_BALANCE, INV_FREE_STATE,
  INV_OUTSTANDING, INV_FOLIO_LINK, INV_FOLIO_TAIL_REF, INV_MAP_UNALIGNED, INV_TABLE_LINK, INV_LINK_INDEX, PARENT_ROOT,
  INV_DEV_REF_DEAD_PGMAP, INV_PGMAP_DESTROYED_IN_USE, INV_PGMAP_POISON_TOUCHED, INV_PGMAP_STALE_MAP, INV_PGMAP_REF,
  INV_DEV_IDLE, MEMORY_DEVICE_PCI_P2PDMA, MODEL_LEGACY, DEDUP_BLOCK, DEDUP_AUX, Pgmap, PGMAP_SIZE, PGMAP_FREE, PGMAP_LIVE, PGMAP_DESTROYED, PGMAP_REF_DEAD, PG_locked,
} from './layout';
import { AUX_SIZE as DEV_AUX_SIZE } from './mem';

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
function countLeaf(l: u32, e: u64, addr: u64): void {
  const d = lv(l);
  const holds = leafHoldsRef(cMm != 0 ? vmaKindAt(cMm, addr) : KIND_NONE, d, e);
  if (!holds && !isDevmap(d, e)) return;                       // no reference held, no struct page named (special)
  const ps = pageShift();
  const pfn = leafPa(d, e) >> ps;
  // a mapping of a destroyed pgmap's range: nothing backs it any more (invariant 1)
  if (pfn >= RAM_PFNS && pfnToPage(pfn) == 0 && pgmapDestroyedAt(pfn) != 0) report(pfn, INV_PGMAP_STALE_MAP, 0, 0, <i64>e);
  if (!holds) return;                                          // legacy devmap: the pgmap holds the page
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
  leaf(l: u32, p: usize, e: u64, addr: u64, next: u64): i32 { countLeaf(l, e, addr); return WALK_NEXT; }
  // a device-private entry maps its page (a reference and a mapcount, as a pte would)
  nonPresent(l: u32, p: usize, e: u64, addr: u64, next: u64): i32 {
    if (l == nLevels() - 1) {
      const pfn = devicePrivatePfn(lv(l), e);
      if (pfn != u64.MAX_VALUE && pfnToPage(pfn) != 0) {
        const aux = pfnToAux(pfn);
        store<u32>(aux, load<u32>(aux) + 1);
      }
    }
    return WALK_NEXT;
  }
  bad(l: u32, p: usize, e: u64, addr: u64): i32 { reportLink(p, tablePa(lv(l), e)); return WALK_NEXT; }
  badLink(l: u32, p: usize, e: u64, addr: u64, why: u32): i32 { reportLink(p, tablePa(lv(l), e)); return WALK_NEXT; }
  table(l: u32, p: usize, e: u64, addr: u64): i32 { return WALK_NEXT; }
  afterTable(l: u32, p: usize, child: u64, addr: u64): i32 { return WALK_NEXT; }
}

function reportLink(p: usize, child: u64): void {
  const epa = <u64>(p - hdr().poolBase);
  report(epa >> pageShift(), INV_TABLE_LINK, 0, <i64>epa, <i64>child);
}

// The link index against the tables' PoolUnit records (the walks trust the
// index, so this runs before them): every table linked from an entry has its
// pa in that entry's slot, and every slot that names a table names one whose
// record says that entry links it. pfn is the pool frame holding the entry,
// expected what the records say (pa + 1), actual what the slot holds.
function checkLinkIndex(): void {
  const bytes = <u64>hdr().poolBytes;
  const unit = (<u64>1) << POOL_SHIFT;
  for (let pa: u64 = 0; pa < bytes; pa += unit) {
    const parent = unitOf(pa).parent;
    if (!linkedFromEntry(parent)) continue;
    const slot = <u64>load<u32>(linkSlot(<usize>parent));
    if (slot != pa + 1) report(<u64>(<usize>parent - POOL_BASE) >> pageShift(), INV_LINK_INDEX, 0, <i64>(pa + 1), <i64>slot);
  }
  // Every slot a walk can read: those of entries in the raw prefix and from
  // Header.poolLow up (below it no table was ever handed out or claimed, so
  // no walk reaches an entry there and allocTable set no slot: not read, as
  // the link index's pages there were never touched)
  let prefix: u64 = 0;
  while (prefix < bytes && unitOf(prefix).state == UNIT_RAW) prefix += unit;
  checkLinkSlots(0, prefix);
  checkLinkSlots(max<u64>(prefix, <u64>hdr().poolLow), bytes);
}

function checkLinkSlots(from: u64, to: u64): void {
  for (let o = from; o < to; o += 8) {
    const entry = POOL_BASE + <usize>o;
    const slot = <u64>load<u32>(linkSlot(entry));
    if (slot != 0 && !unitLinked(slot - 1, entry)) report(o >> pageShift(), INV_LINK_INDEX, 0, 0, <i64>slot);
  }
}

// Every mapping of an address space: its whole root table.
let cMm: usize = 0;
function countTables(mm: usize, root: u64): void {
  cMm = mm;
  vmaCacheReset();
  walkRange<Count>(changetype<Count>(0), 0, root, 0, tableSpan(0));
}

// The references a folio's mappings hold (its entries counted into aux),
// checking its tails' links and refcounts, its mapcounts and its pincount
// on the way.
function folioMapRefs(pfn: u64, folio: usize, strict: bool): i64 {
  const order = folioOrder(folio);
  const nr: u64 = (<u64>1) << order;
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
  return mapRefs;
}

// Check one allocated folio whose head is at pfn; `held` references are
// neither mappings nor gup's (the machine's own on the huge zero folio).
function checkFolio(pfn: u64, folio: usize, strict: bool, held: i64): i64 {
  const rc = atomic.load<i32>(refcountPtr(folio));
  const mapRefs = folioMapRefs(pfn, folio, strict) + held;
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
  // 1. clear the counters (RAM's and every device range's), 2. count every mapping of every mm
  for (let pfn: u64 = 0; pfn < end; pfn++) {
    const aux = pfnToAux(pfn);
    if (aux != 0) store<u64>(aux, 0);
  }
  for (let i: u32 = 0; i < h.pgmapCap; i++) {
    const g = changetype<Pgmap>(<usize>h.pgmapBase + <usize>i * PGMAP_SIZE);
    const st = pgmapState(changetype<usize>(g));
    if (st == PGMAP_FREE || st == PGMAP_DESTROYED) continue;
    const nr = g.endPfn - g.startPfn;
    if (g.dedup == 0) { memory.fill(<usize>g.aux, 0, <usize>nr * DEV_AUX_SIZE); continue; }
    for (let f: u64 = 0; f < nr >> g.vmemmapShift; f++) store<u64>(<usize>g.memmap + <usize>f * DEDUP_BLOCK, 0, DEDUP_AUX);
  }
  checkLinkIndex();
  for (let i: u32 = 0; i < h.mmCount; i++) {
    const mm = h.mmBase + i * MM_SIZE;
    if (mmOf(mm).inUse == 0) continue;
    const root = mmOf(mm).root;
    if (rootBad(root, mmOf(mm).id) != 0) report(0, INV_TABLE_LINK, 0, <i64>PARENT_ROOT, <i64>root);
    else countTables(mm, root);
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
  // 3b. device pages, pgmap by pgmap
  for (let i: u32 = 0; i < h.pgmapCap; i++) {
    const p = <usize>h.pgmapBase + <usize>i * PGMAP_SIZE;
    const st = pgmapState(p);
    if (st == PGMAP_FREE) continue;
    if (st == PGMAP_DESTROYED) { checkDestroyed(p); continue; }
    extra += checkPgmap(p, strict);
    pins += devPins;
  }
  // 4. what gup handed out must add up to what the pages hold beyond their mappings
  if (extra != outstanding) report(0, INV_OUTSTANDING, 0, outstanding, extra);
  if (pins != pinsOut) report(0, INV_PIN_BALANCE, 0, pinsOut, pins);
  return atomic.load<u32>(H + offsetof<Header>("violCount"));
}


// ---------------------------------------------------------------- device pages
// A destroyed pgmap: the pages it still had in use when pageunmap_range ran
// (invariant 2), and any touch of its poisoned struct pages since (invariant 1).
function checkDestroyed(p: usize): void {
  const g = pgmapOf(p);
  if (g.destroyedInUse != 0) report(g.destroyedInUsePfn, INV_PGMAP_DESTROYED_IN_USE, 0, 0, <i64>g.destroyedInUse);
  const t = poisonTouched(p);
  if (t != u64.MAX_VALUE) report(t, INV_PGMAP_POISON_TOUCHED, 0, -1, 0);
}

// Pins of the large device folios checkPgmap saw.
let devPins: i64 = 0;

// A live (or killed, not yet destroyed) pgmap's pages against their era's
// idle count (model.ts deviceIdleRefcount), their mappings and, for a
// private/coherent page the driver holds (zone_device_page_init, locked),
// its one reference; and the pgmap's percpu_ref against what should hold
// it: the live reference until the kill, the setup references until
// memunmap_pages puts them, and one per allocated private/coherent page from
// v6.1. Returns the references beyond all that (gup's, for INV_OUTSTANDING).
function checkPgmap(p: usize, strict: bool): i64 {
  const g = pgmapOf(p);
  const st = pgmapState(p);
  const dead = st != PGMAP_LIVE;
  const type = g.type;
  const idle = deviceIdleRefcount(type);
  const perPage = pagesHoldPgmapRef(type);
  const per: u64 = (<u64>1) << g.vmemmapShift;
  const nr = g.endPfn - g.startPfn;
  let extra: i64 = 0;
  let held: i64 = 0;
  devPins = 0;
  let step: u64 = per;
  for (let i: u64 = 0; i < nr; i += step) {
    const pfn = g.startPfn + i;
    const folio = pgmapFolio(p, i);
    // an FS-DAX folio made compound on association (dax_folio_init) spans its order
    step = g.dedup == 0 && folioTestLarge(folio) ? (<u64>1) << folioOrder(folio) : per;
    if (step < per) step = per;
    const pg = load<u64>(folio, PAGE_COMPOUND_HEAD);
    if (pg != <u64>p) report(pfn, INV_FOLIO_LINK, folio, <i64>p, <i64>pg);        // page->pgmap (invariant 5)
    const locked = privateOrCoherent(type) && (load<u64>(folio) & ((<u64>1) << PG_locked)) != 0;
    // a P2PDMA page from the provider's pool (p2pmem_alloc_mmap) holds a pgmap reference while
    // mapped; legacy kernels keep it at 1, the mapping's reference standing for the idle one
    const p2pMapped = type == MEMORY_DEVICE_PCI_P2PDMA && atomic.load<i32>(mapcountPtr(folio)) >= 0;
    if (p2pMapped) held++;
    const base: i64 = <i64>idle + (locked ? 1 : 0) - (p2pMapped && MODEL == MODEL_LEGACY ? 1 : 0);
    const mapRefs = g.dedup != 0 ? dedupFolioMapRefs(pfn, folio, strict) : folioMapRefs(pfn, folio, strict);
    if (step > 1) devPins += atomic.load<i32>(pincountPtr(folio));
    const rc = <i64>atomic.load<i32>(refcountPtr(folio));
    const diff = rc - base - mapRefs;
    if (perPage && rc > 0) held++;                             // allocated (v6.1 on: free pages sit at 0)
    if (rc < 0) { report(pfn, INV_REF_NEGATIVE, folio, 0, rc); continue; }
    if (diff < 0 || (strict && diff != 0)) report(pfn, INV_DEV_IDLE, folio, base + mapRefs, rc);
    if (diff > 0) {
      // a reference beyond what the page may hold on a killed pgmap, and not one that keeps it alive
      if (dead && !perPage) report(pfn, INV_DEV_REF_DEAD_PGMAP, folio, base + mapRefs, rc);
      extra += diff;
    }
  }
  const want: i64 = (dead ? 0 : 1) + <i64>g.bulkRefs + held;
  const have = pgmapRefWord(p) & ~PGMAP_REF_DEAD;
  if (have != want) report(g.startPfn, INV_PGMAP_REF, 0, want, have);
  return extra;
}

// folioMapRefs for a vmemmap-optimised folio: its head, page[1] and the tail
// every other tail shares, and one set of counters for the folio. Such a
// folio is only ever mapped whole (device-DAX faults at its align): a PTE
// mapping of any of its pages is reported, as it would write a mapcount
// into struct pages all its tails share.
function dedupFolioMapRefs(pfn: u64, folio: usize, strict: bool): i64 {
  const pteMaps = <i64>load<u32>(folio, DEDUP_AUX);
  const huge = <i64>load<u32>(folio, DEDUP_AUX + 4);
  for (let j: u32 = 1; j < 3; j++) {
    const t = folio + j * PAGE_SIZE_BYTES;
    const pfnT = pfn + <u64>j;                          // page[2]'s struct page stands for every tail from 2 on
    if (load<u64>(t, PAGE_COMPOUND_HEAD) != (<u64>folio | 1)) report(pfnT, INV_FOLIO_LINK, folio, <i64>folio, <i64>load<u64>(t, PAGE_COMPOUND_HEAD));
    if (atomic.load<i32>(refcountPtr(t)) != 0) report(pfnT, INV_FOLIO_TAIL_REF, folio, 0, atomic.load<i32>(refcountPtr(t)));
  }
  if (pteMaps != 0) report(pfn, INV_MAPCOUNT, folio, 0, pteMaps);
  for (let j: u32 = 0; j < 3; j += 2) {
    const mc = ld32s(mapcountPtr(folio + j * PAGE_SIZE_BYTES)) + 1;
    if (mc != 0) report(pfn + <u64>j, INV_MAPCOUNT, folio, 0, mc);
  }
  const em = <i64>folioOf(folio)._entire_mapcount + 1;
  if (em != huge) report(pfn, INV_MAPCOUNT, folio, huge, em);
  const lm = <i64>folioOf(folio)._large_mapcount + 1;
  if (lm != huge) report(pfn, INV_MAPCOUNT, folio, huge, lm);
  const pc = atomic.load<i32>(pincountPtr(folio));
  if (pc < 0) report(pfn, INV_REF_NEGATIVE, folio, 0, pc);
  if (strict && pc != 0) report(pfn, INV_PIN_BALANCE, folio, 0, pc);
  return huge;
}
