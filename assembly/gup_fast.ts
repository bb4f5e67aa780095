// get_user_pages_fast / pin_user_pages_fast's lockless walk (gup_fast,
// mm/gup.c), generic over the descriptor: it reads each entry once, grabs
// with add-unless-zero, re-reads and undoes on change, and stops at the
// first address it cannot handle; gup.ts then takes the slow path for the rest.
//
// This is the hot path, and the one walker that does not go through
// walk.ts's walkRange: gupFastLevel tests the level's quick table pair
// inline and gupFastPteRange takes the common pte (an order-0 anon folio)
// with each field read once. Everything else goes through entryKind and
// the same predicates as every other walk, but for pXd_bad, which gup-fast
// never asks (test/arch/gup-fast-kinds.test.ts holds the two to that).

import { arch, readEntry, SEC_MASK, BE } from './base';
import { lv, L, nLevels, pageShift, pred, tablePa, leafPa, levelIndex, entryKind, addrEnd, K_TABLE, K_LEAF, K_BAD, K_NOT_PRESENT } from './arch';
import { pfnToPage, pageFolio, poolVa, setFlag, testFlag, refcountPtr, tableLinked, rootBad, pfnLinear } from './mem';
import { gupFastFolioAllowed, gupMustUnshare, zeroPageOf, mappingAllowed } from './folio';
import {
  tryGrabFolioFast, gupPutFolio, tallyAdd, folioPutRefs, folioRefCmpxchgAdd, folioRefTryAdd,
} from './refcount';
import { isDevmap, gupFastDevmap, longtermPinnable, getDevPagemap, putDevPagemap, gDevPgmap, DEV_GRAB, ZONE_DEVICE } from './model';
import { pagePgmap, pgmapOf, isDevicePfn } from './pgmap';
import { mmOf } from './mm';
import {
  Ctx, Mm, Page, LevelDesc, PAGE_SIZE_BYTES, P_ACCESS, P_WRITE, P_SPECIAL, P_PROTNONE, PAGE_COMPOUND_HEAD, PG_head,
  PAGE_MAPPING_ANON, FOLL_WRITE, FOLL_PIN, FOLL_LONGTERM, GUP_PIN_COUNTING_BIAS, PG_referenced, PG_reserved, GUP_OUT_RUNS, RUN_MARK,
  MEMORY_DEVICE_PCI_P2PDMA,
} from './layout';

// Per-thread state of the current gup or unpin call (wasm globals are per
// instance), shared with gup.ts and unpin.ts.
export let gOut: usize = 0;
export let gNr: u32 = 0;
export let gFlags: u32 = 0;
export let gOp: u32 = 0;
// GUP_OUT_RUNS: pages of a run share two entries, so the next entry is at
// gNr - gSkew (gSkew: pages beyond entries so far; 0 without runs).
export let gRuns: bool = false;
export let gSkew: u32 = 0;
// Where the next entry goes.
@inline export function outNext(): usize { return gOut + ((gNr - gSkew) << 3); }
// Records n pages from pfn (one folio's) at outNext(): a run, or n pfns.
// The caller adds n to gNr once they are taken (recordDone).
export function recordSubpages(pfn: u64, n: u32): void {
  const out = outNext();
  if (gRuns && n >= 2) {
    store<u64>(out, pfn | RUN_MARK);
    store<u64>(out, <u64>n, 8);
    return;
  }
  for (let i: u32 = 0; i < n; i++) store<u64>(out + (<usize>i << 3), pfn + <u64>i);
}
@inline export function recordDone(n: u32): void {
  gNr += n;
  if (gRuns && n >= 2) gSkew += n - 2;
}
// Set once per call and read in the loop: as a local, V8 would recompute it per page.
let gAnonSettles: u64 = 0;   // PAGE_MAPPING_ANON, or 0 for a read pin

// Start a call: pages go to out[0..), flags FOLL_*, for operation opId.
export function gupCallBegin(out: usize, flags: u32, opId: u32): void {
  gOut = out;
  gNr = 0;
  secSpan = 0;
  gFlags = flags;
  gOp = opId;
  gRuns = (flags & GUP_OUT_RUNS) != 0;
  gSkew = 0;
}

// The section of the last page looked up (pfn_to_page's memory, per call).
// A pfn is in it when pfn - secPfn < secSpan (one unsigned test; secSpan 0:
// nothing remembered), its struct page at secBase + (pfn - secPfn) * 64.
export let secPfn: u64 = 0;
export let secSpan: u64 = 0;
export let secBase: usize = 0;
export function pfnCacheReset(): void { secSpan = 0; }

// pfn_to_page for a section other than the cached one (out of the loop's way).
function pageOfPfnSlow(pfn: u64): usize {
  const page = pfnToPage(pfn);
  // (a vmemmap-optimised section's struct pages are not laid out by pfn: never cached)
  if (page != 0 && pfnLinear(pfn)) {
    secPfn = pfn & ~SEC_MASK;
    secSpan = SEC_MASK + 1;
    secBase = page - <usize>(pfn & SEC_MASK) * PAGE_SIZE_BYTES;
  }
  return page;
}

// The quick path's miss: the zero page's struct page where there is none.
function pageOrZeroSlow(pfn: u64): usize {
  const page = pageOfPfnSlow(pfn);
  return page != 0 ? page : zeroPageOf();
}

// pfn_to_page, remembering the last section (gup-fast, unpin).
@inline export function pageOfPfn(pfn: u64): usize {
  const off = pfn - secPfn;
  return off < secSpan ? secBase + <usize>off * PAGE_SIZE_BYTES : pageOfPfnSlow(pfn);
}

@inline export function folioSetReferenced(folio: usize): void {
  if (!testFlag(folio, PG_referenced)) setFlag(folio, PG_referenced);
}

// gup_fast_undo_dev_pagemap / gup_fast_unpin_user_pages: release every page
// grabbed since page nrStart, whose entry was entryStart.
export function undoSince(nrStart: u32, entryStart: u32): void {
  const end = gNr - gSkew;
  let i = entryStart;
  while (i < end) {
    let pfn = load<u64>(gOut + (i << 3));
    let pages: i32 = 1;
    i++;
    if (gRuns && (pfn & RUN_MARK) != 0) {
      pfn &= ~RUN_MARK;
      pages = <i32>load<u64>(gOut + (i << 3));
      i++;
    }
    gupPutFolio(pageFolio(pfnToPage(pfn)), pages, gFlags);
  }
  gSkew -= (gNr - nrStart) - (end - entryStart);
  gNr = nrStart;
}

@inline function accessPermitted(d: usize, e: u64, write: bool): bool {
  return pred(d, P_ACCESS, e) && (!write || pred(d, P_WRITE, e));
}

// One entry of gup_fast_pte_range, every case, in the kernel's order. As in
// the kernel, pte_access_permitted() is what rejects empty and non-present
// entries (every layout's access predicate requires presence).
// Returns the entries taken from p on, appended at gNr (1, or a device
// run's), 0 (stop before it), -1 (a devmap entry without its pgmap: the
// caller undoes the whole range).
function gupFastPteEntry(d: usize, p: usize, pte: u64, pmdp: usize, pmd: u64): i32 {
  if (gDevStop) { gDevStop = false; return 0; }
  const flags = gFlags;
  const write = (flags & FOLL_WRITE) != 0;
  const ld = changetype<LevelDesc>(d);
  let writable: bool, pfn: u64;
  if (write ? (pte & ld.fastWriteMask) == ld.fastWriteValue : (pte & ld.fastReadMask) == ld.fastReadValue) {
    // the level's quick pair: not protnone, access permitted (and writable for
    // a write), not special, not devmap, not inverted (archdesc.ts fastAccept),
    // as the quick loop knows; what is left is the page (a ZONE_DEVICE
    // page, a large folio's, one caught being split or freed)
    if (ZONE_DEVICE) {
      const n = gupFastDeviceRun(d, p, pte, pmdp, pmd);
      if (n > 0) return n;
      if (gDevStop) { gDevStop = false; return 0; }
    }
    writable = write || pred(d, P_WRITE, pte);
    pfn = rotl<u64>(pte & ld.leafPfnMask, <u64>ld.leafPfnRot);
  } else {
    writable = pred(d, P_WRITE, pte);
    if (pred(d, P_PROTNONE, pte)) return 0;                            // pte_protnone
    if (!pred(d, P_ACCESS, pte) || (write && !writable)) return 0;    // pte_access_permitted
    pfn = leafPa(d, pte) >> pageShift();
    if (isDevmap(d, pte)) {
      const g = gupFastDevmap(pfn, flags);             // the model's: legacy, get_dev_pagemap
      if (g != DEV_GRAB) return g;                     // DEV_STOP 0, DEV_UNDO -1
    } else if (pred(d, P_SPECIAL, pte)) {
      return 0;                                                          // pte_special
    }
  }
  const page = pageOfPfn(pfn);
  if (page == 0) return 0;
  const folio = tryGrabFolioFast(page, 1, flags);
  if (folio == 0) return 0;
  if (readEntry(pmdp) != pmd || readEntry(p) != pte ||                 // the tables moved under us
      !gupFastFolioAllowed(folio, flags) || (!writable && gupMustUnshare(flags, page, 0))) {
    gupPutFolio(folio, 1, flags);
    return 0;
  }
  folioSetReferenced(folio);
  store<u64>(page, gOp, offsetof<Page>("last_op"));
  store<u64>(outNext(), pfn);
  gNr++;
  return 1;
}

// The quick path's gup_fast_folio_allowed and gup_must_unshare where an
// anon mapping or a write does not settle them.
function quickAllowed(d: usize, pte: u64, page: usize, mapping: u64): bool {
  const flags = gFlags;
  if (!mappingAllowed(mapping, flags)) return false;
  return (flags & FOLL_WRITE) != 0 || pred(d, P_WRITE, pte) || !gupMustUnshare(flags, page, 0);
}

let gPteEnd: usize = 0;     // the range's end, for a device run
let gDevStop: bool = false; // a device run stopped at a failed recheck: so does the range

// From the entry at p (pte, read by the caller) on, the order-0 ZONE_DEVICE
// folios behind entries matching the level's quick pair, taken as the quick
// loop takes RAM: gup_fast_pte_range treats such a page as any other but for
// try_grab_folio_fast's is_pci_p2pdma_page test, so a p2pdma pgmap's pages
// are left to the per-entry path, as is any entry this loop does not settle
// (the zero page and table frames have no pgmap). A loop of its own, so that
// V8 allocates the RAM loop's registers as before. Returns the entries taken
// (0: the per-entry path decides the entry at p); a recheck that fails sets
// gDevStop: the range stops there, as the quick loop's does.
function gupFastDeviceRun(d: usize, p: usize, pte: u64, pmdp: usize, pmd: u64): i32 {
  const flags = gFlags;
  const ld = changetype<LevelDesc>(d);
  const write = (flags & FOLL_WRITE) != 0;
  const fm = write ? ld.fastWriteMask : ld.fastReadMask;
  const fv = write ? ld.fastWriteValue : ld.fastReadValue;
  const pmask = ld.leafPfnMask, prot = <u64>ld.leafPfnRot;
  const add: i32 = (flags & FOLL_PIN) != 0 ? GUP_PIN_COUNTING_BIAS : 1;
  const longterm = (flags & FOLL_LONGTERM) != 0;
  const large: u64 = (<u64>1) << PG_head;
  const pmdRaw = BE ? bswap<u64>(pmd) : pmd;
  const end = gPteEnd;
  let lo: u64 = 0, hi: u64 = 0;                  // the pgmap found last: [startPfn, endPfn)
  let at = outNext();
  let q = p;
  let e = pte;
  let n: i32 = 0;
  while ((e & fm) == fv) {
    const pfn = rotl<u64>(e & pmask, prot);
    if (pfn - lo >= hi - lo) {                   // another pgmap's, or none
      const pg = isDevicePfn(pfn) ? pageOfPfn(pfn) : 0;
      const map = pg != 0 ? pagePgmap(pg) : 0;
      if (map == 0 || pgmapOf(map).type == MEMORY_DEVICE_PCI_P2PDMA) break;
      lo = pgmapOf(map).startPfn;
      hi = pgmapOf(map).endPfn;
    }
    const page = pageOfPfn(pfn);
    // an order-0 folio (a device page's compound_head word is its pgmap: bit 0 clear)
    if (page == 0 || ((load<u64>(page, PAGE_COMPOUND_HEAD) | load<u64>(page)) & (large | 1)) != 0) break;
    // folio_ref_try_add
    const c = load<i32>(refcountPtr(page));
    if (c <= 0) break;
    if (folioRefCmpxchgAdd(page, c, add) != c) {
      if (!folioRefTryAdd(page, add)) break;
    }
    const fl = load<u64>(page);                  // with the reference held: still order 0
    if (((fl & large) | (load<u64>(page, PAGE_COMPOUND_HEAD) & 1)) != 0 || (longterm && !longtermPinnable(page))) {
      folioPutRefs(page, add);                   // the per-entry path decides
      break;
    }
    const raw = BE ? bswap<u64>(e) : e;
    const mapping = load<u64>(page, offsetof<Page>("mapping"));
    if (((load<u64>(pmdp) ^ pmdRaw) | (load<u64>(q) ^ raw)) != 0 ||
        ((mapping & gAnonSettles) == 0 && !quickAllowed(d, e, page, mapping))) {
      folioPutRefs(page, add);                   // the tables moved, or gup_fast_folio_allowed / gup_must_unshare: stop
      gDevStop = true;
      break;
    }
    if ((fl & ((<u64>1) << PG_referenced)) == 0) setFlag(page, PG_referenced);   // folio_set_referenced
    store<u64>(page, <u64>gOp, offsetof<Page>("last_op"));
    store<u64>(at, pfn);
    at += 8;
    n++;
    q += 8;
    if (q == end) break;
    const next = load<u64>(q);                   // ptep_get_lockless
    e = BE ? bswap<u64>(next) : next;
  }
  tallyAdd(<i64>n * add, 0);
  gNr += <u32>n;
  return n;
}

// gup_fast_pte_range. Most entries are a present, accessible, normal entry of
// an order-0 anonymous folio: the loop takes those itself, with each field
// read once, and hands every other entry to gupFastPteEntry. The quick
// path's checks are the same checks, specialised: an entry matching the
// level's quick-accept pair (LevelDesc.fast*) passes every entry predicate
// gupFastPteEntry asks; an order-0 folio gets refs * GUP_PIN_COUNTING_BIAS
// (FOLL_PIN) or one reference (FOLL_GET) with add-unless-zero, is rechecked
// after the grab (still order 0, still its own head), and needs
// gup_fast_folio_allowed's check_secretmem reading of folio->mapping.
// The loop keeps few values live (V8 has about a dozen registers for it)
// and reads struct page fields with plain loads, the kernel's READ_ONCE.
// The loop is specialised for the byte order the tables are stored in and
// for FOLL_LONGTERM (be, longterm: compile-time constants in each of the
// wrappers), so no entry tests them.
function gupFastPteRangeLE(d: usize, tpa: u64, addr: u64, end: u64, pmdp: usize, pmd: u64): bool { return gupFastPteRange(d, tpa, addr, end, pmdp, pmd, false, false); }
function gupFastPteRangeBE(d: usize, tpa: u64, addr: u64, end: u64, pmdp: usize, pmd: u64): bool { return gupFastPteRange(d, tpa, addr, end, pmdp, pmd, true, false); }
function gupFastPteRangeLongtermLE(d: usize, tpa: u64, addr: u64, end: u64, pmdp: usize, pmd: u64): bool { return gupFastPteRange(d, tpa, addr, end, pmdp, pmd, false, true); }
function gupFastPteRangeLongtermBE(d: usize, tpa: u64, addr: u64, end: u64, pmdp: usize, pmd: u64): bool { return gupFastPteRange(d, tpa, addr, end, pmdp, pmd, true, true); }
@inline function gupFastPteRange(d: usize, tpa: u64, addr: u64, end: u64, pmdp: usize, pmd: u64, be: bool, longterm: bool): bool {
  const flags = gFlags;
  const write = (flags & FOLL_WRITE) != 0;
  // An anon mapping settles gup_fast_folio_allowed, and gup_must_unshare too
  // unless this is a read pin (a per-call global: V8 would recompute a local per page)
  gAnonSettles = (flags & (FOLL_PIN | FOLL_WRITE)) == FOLL_PIN ? 0 : PAGE_MAPPING_ANON;
  const add: i32 = (flags & FOLL_PIN) != 0 ? GUP_PIN_COUNTING_BIAS : 1;   // a small folio's count gains per page
  const ld = changetype<LevelDesc>(d);
  const pmask = ld.leafPfnMask, prot = <u64>ld.leafPfnRot;
  const fm = write ? ld.fastWriteMask : ld.fastReadMask;
  const fv = write ? ld.fastWriteValue : ld.fastReadValue;
  const large: u64 = (<u64>1) << PG_head;
  const reserved: u64 = (<u64>1) << PG_reserved;
  const pmdRaw = be ? bswap<u64>(pmd) : pmd;       // the rechecks compare entries as stored
  const out0 = outNext();                          // (a pte range records no runs: gSkew stays)
  const p0 = poolVa(tpa) + (levelIndex(nLevels() - 1, addr) << 3);
  const pEnd = p0 + (<usize>((end - addr) >> pageShift()) << 3);
  gPteEnd = pEnd;
  gDevStop = false;
  // the pfn of the entry at p goes to p + toOut: one pointer moves in the loop
  const toOut = out0 - p0;
  let p = p0;
  let general: u32 = 0;                            // pages the per-entry path took
  do {
    const raw = load<u64>(p);                      // ptep_get_lockless: one read (READ_ONCE)
    const pte = be ? bswap<u64>(raw) : raw;
    if ((pte & fm) == fv) {
      const pfn = rotl<u64>(pte & pmask, prot);
      // pfn_to_page, with the zero page's struct page standing for "no struct page":
      // both go the per-entry way, as every PG_reserved page does (the zero page
      // is one: one test of the flags sends them all there)
      const off = pfn - secPfn;
      const page = off < secSpan ? secBase + <usize>off * PAGE_SIZE_BYTES : pageOrZeroSlow(pfn);
      if (((load<u64>(page, PAGE_COMPOUND_HEAD) | load<u64>(page)) & (large | reserved | 1)) == 0) {
        // folio_ref_try_add on what looks like an order-0 folio
        const c = load<i32>(refcountPtr(page));
        if (c <= 0) break;                         // being freed
        if (folioRefCmpxchgAdd(page, c, add) != c) {
          if (!folioRefTryAdd(page, add)) break;     // lost a race: the loop of folio_ref_try_add
        }
        const fl = load<u64>(page);              // the flags, read once with the reference held
        // (conditions joined bitwise where both sides are cheap: one branch, no boolean made)
        if (((fl & large) | (load<u64>(page, PAGE_COMPOUND_HEAD) & 1)) == 0 && (longterm ? longtermPinnable(page) : true)) {
          // the tables moved under us; gup_fast_folio_allowed (an anon mapping passes); gup_must_unshare
          if (((load<u64>(pmdp) ^ pmdRaw) | (load<u64>(p) ^ raw)) != 0) { folioPutRefs(page, add); break; }
          const mapping = load<u64>(page, offsetof<Page>("mapping"));
          if ((mapping & gAnonSettles) == 0) {
            if (!quickAllowed(d, pte, page, mapping)) { folioPutRefs(page, add); break; }
          }
          if ((fl & ((<u64>1) << PG_referenced)) == 0) setFlag(page, PG_referenced);   // folio_set_referenced
          store<u64>(page, <u64>gOp, offsetof<Page>("last_op"));
          store<u64>(p + toOut, pfn);
          p += 8;
          continue;
        }
        folioPutRefs(page, add);                     // raced with a split or prep: take the long way
      }
    }
    gNr = <u32>((p + toOut - gOut) >> 3) + gSkew;
    const r = gupFastPteEntry(d, p, pte, pmdp, pmd);
    if (r < 0) {                                 // gup_fast_undo_dev_pagemap
      tallyAdd(<i64>(<u32>((p - p0) >> 3) - general) * add, 0);
      undoSince(<u32>((out0 - gOut) >> 3) + gSkew, <u32>((out0 - gOut) >> 3));
      return false;
    }
    if (r == 0) break;
    general += r;
    p += <usize>r << 3;
  } while (p != pEnd);
  gNr = <u32>((p + toOut - gOut) >> 3) + gSkew;
  tallyAdd(<i64>(<u32>((p - p0) >> 3) - general) * add, 0);
  return p == pEnd;
}

// gup_fast_pmd_leaf / gup_fast_pud_leaf: one grab of `refs` for every
// subpage of the leaf inside [addr, end).
function gupFastLeaf(d: usize, l: u32, p: usize, orig: u64, addr: u64, end: u64): bool {
  const ps = pageShift();
  const write = (gFlags & FOLL_WRITE) != 0;
  if (!accessPermitted(d, orig, write)) return false;
  if (pred(d, P_SPECIAL, orig)) return false;
  const size = (<u64>1) << L(l).shift;
  const pfn = (leafPa(d, orig) + (addr & (size - 1))) >> ps;
  if (isDevmap(d, orig)) {                       // legacy: pXd_devmap before the folio
    if ((gFlags & FOLL_LONGTERM) != 0) return false;
    return gupFastDevmapLeaf(p, orig, pfn, addr, end);
  }
  const page = pfnToPage(pfn);
  if (page == 0) return false;
  const refs = <i32>((end - addr) >> ps);
  recordSubpages(pfn, <u32>refs);   // record_subpages (one run with GUP_OUT_RUNS)
  const folio = tryGrabFolioFast(page, refs, gFlags);
  if (folio == 0) return false;
  if (readEntry(p) != orig) { gupPutFolio(folio, refs, gFlags); return false; }
  if (!gupFastFolioAllowed(folio, gFlags)) { gupPutFolio(folio, refs, gFlags); return false; }
  if (!pred(d, P_WRITE, orig) && gupMustUnshare(gFlags, folio, 0)) { gupPutFolio(folio, refs, gFlags); return false; }
  recordDone(<u32>refs);
  folioSetReferenced(folio);
  store<u64>(folio, gOp, offsetof<Page>("last_op"));
  return true;
}

// gup_fast_devmap_leaf then the pXd recheck of gup_fast_devmap_pmd_leaf /
// _pud_leaf (v6.12 mm/gup.c; the legacy era): each 4 KiB subpage is taken on
// its own -- the pgmap looked up (cached across the leaf) and one
// try_grab_folio_fast(page, 1) -- and recorded as its own page; a missing
// pgmap, a failed grab or a changed entry undoes every page since the leaf's
// first. No gup_fast_folio_allowed, no gup_must_unshare on this path.
function gupFastDevmapLeaf(p: usize, orig: u64, pfn0: u64, addr: u64, end: u64): bool {
  const ps = pageShift();
  const nrStart = gNr;
  const entryStart = gNr - gSkew;
  const n = <u32>((end - addr) >> ps);
  let ok = true;
  for (let i: u32 = 0; i < n; i++) {
    const pfn = pfn0 + <u64>i;
    if (getDevPagemap(pfn) == 0) { ok = false; break; }
    const page = pfnToPage(pfn);
    const folio = page != 0 ? tryGrabFolioFast(page, 1, gFlags) : 0;
    if (folio == 0) { ok = false; break; }
    folioSetReferenced(folio);
    store<u64>(page, gOp, offsetof<Page>("last_op"));
    store<u64>(outNext(), pfn);
    gNr++;
  }
  if (gDevPgmap != 0) putDevPagemap();
  if (ok && readEntry(p) != orig) ok = false;
  if (!ok) undoSince(nrStart, entryStart);        // gup_fast_undo_dev_pagemap
  return ok;
}

// gup_fast_pgd_range .. gup_fast_pmd_range, one function for every level.
// Each table is checked before it is read (tableLinkBad: the one its entry
// linked); a refused link ends the walk there, as a pXd_bad entry would.
@inline function linked(l: u32, child: u64, p: usize): bool {
  return tableLinked(child, p);
}

function gupFastLevel(l: u32, tpa: u64, addr: u64, end: u64, parentp: usize, parent: u64): bool {
  const d = lv(l);
  if (l == nLevels() - 1) {
    // without CONFIG_ARCH_HAS_PTE_SPECIAL gup_fast_pte_range is the #else stub
    // returning 0: a pte cannot be told special, so every pte goes the slow way
    if (arch().hasSpecial == 0) return false;
    const r = (gFlags & FOLL_LONGTERM) != 0
      ? (BE ? gupFastPteRangeLongtermBE(d, tpa, addr, end, parentp, parent) : gupFastPteRangeLongtermLE(d, tpa, addr, end, parentp, parent))
      : (BE ? gupFastPteRangeBE(d, tpa, addr, end, parentp, parent) : gupFastPteRangeLE(d, tpa, addr, end, parentp, parent));
    if (gDevPgmap != 0) putDevPagemap();          // gup_fast_pte_range's put_dev_pagemap at pte_unmap
    return r;
  }
  const size = (<u64>1) << L(l).shift;
  const fm = L(l).fastTableMask, fv = L(l).fastTableValue;
  let p = poolVa(tpa) + (levelIndex(l, addr) << 3);
  do {
    const e = readEntry(p);
    const next = addrEnd(addr, end, size);        // pXd_addr_end
    if ((e & fm) == fv) {                         // quick: a table entry
      const child = tablePa(d, e);
      if (!linked(l, child, p) || !gupFastLevel(l + 1, child, addr, next, p, e)) return false;
      p += 8;
      addr = next;
      continue;
    }
    // the slow branch: what the entry is, as every walk asks (none or
    // non-present: stop; a leaf; a table). gup_fast_pmd_range .. _p4d_range
    // never ask pXd_bad (v6.12 mm/gup.c: present, then leaf, else the next
    // level's range), and at a real pgd level gup_fast_pgd_range asks
    // pgd_none alone (LevelDesc.gupFastNoneOnly; pgd_leaf is false on every
    // arch here): such entries are followed as tables, as far as the link is
    // the one the entry made (tableLinked; the kernel would read whatever
    // page it names).
    const k = entryKind(d, e, false);
    if (k == K_LEAF) {
      if (pred(d, P_PROTNONE, e)) return false;
      if (!gupFastLeaf(d, l, p, e, addr, next)) return false;
    } else if (k == K_TABLE || k == K_BAD || (k == K_NOT_PRESENT && L(l).gupFastNoneOnly != 0)) {
      const child = tablePa(d, e);
      if (!linked(l, child, p) || !gupFastLevel(l + 1, child, addr, next, p, e)) return false;
    } else {
      return false;
    }
    p += 8;
    addr = next;
  } while (addr != end);
  return true;
}

// gup_fast(): returns how many pages it took, in address order.
export function gupFast(ctx: usize, mm: usize, start: u64, nr: u32): u32 {
  const m = mmOf(mm);
  const end = start + ((<u64>nr) << pageShift());
  let seq: u32 = 0;
  if ((gFlags & FOLL_PIN) != 0) {
    seq = atomic.load<u32>(mm + offsetof<Mm>("writeProtectSeq"));
    if ((seq & 1) != 0) return 0;                 // fork is write-protecting: slow path
  }
  const seqp = ctx + offsetof<Ctx>("seq");
  atomic.add<u32>(seqp, 1);                       // local_irq_save: tables cannot be freed under us
  if (rootBad(m.root, m.id) == 0) gupFastLevel(0, m.root, start, end, 0, 0);
  atomic.add<u32>(seqp, 1);                       // local_irq_restore
  if ((gFlags & FOLL_PIN) != 0 && atomic.load<u32>(mm + offsetof<Mm>("writeProtectSeq")) != seq) {
    undoSince(0, 0);                              // gup_fast_unpin_user_pages
    return 0;
  }
  return gNr;
}
