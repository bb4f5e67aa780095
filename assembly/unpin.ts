// unpin_user_pages / put_page for what gup handed out: a checked, batched
// release built from refcount.ts's folio_ref_* and pincount helpers.

import { ctxOf } from './base';
import { UnpinIn, UnpinOut, argsIn, argsOut } from './abi';
import { folioOrder } from './mem';
import { zeroPageOf } from './folio';
import {
  folioRefAdd, folioRefSubReturn, folioPinsAdd, folioPinsSubReturn, pincountPtr, folioLargeMapcount, tallyAdd, tallyCommit,
  releaseUnit, setReleaseUnit, folioRefSubUnit, folioRefAddUnit,
} from './refcount';
import { freeAtZero, devicePageIdle } from './model';
import { isDevicePfn } from './pgmap';
import { pageOfPfn, pfnCacheReset, secPfn, secSpan, secBase } from './gup_fast';
import {
  Page, PAGE_SIZE_BYTES, PAGE_COMPOUND_HEAD, PG_head, PG_reserved, FOLL_GET, FOLL_PIN, GUP_PIN_COUNTING_BIAS, E_INVAL,
  GUP_OUT_RUNS, GUP_RELEASE_OWN, RUN_MARK,
} from './layout';

// Set once per call and read in the loop: as a local, V8 would recompute it per page.
// (A small folio's refcount units per page is refcount.ts's releaseUnit.)
let gToRec: usize = 0;       // the quick loop's record offset from its entry
let gSmallRec: u64 = 0;      // a small page's record, less its folio (one page; R_BIAS for a pin)

// unpin_user_pages / put_page over the pfns in the output array, in one
// pass: one gup_put_folio per run of pages of one large folio
// (gup_folio_next), and a page of an order-0 folio on its own (a run of one
// small page listed again goes page by page: the same counts).
//
// Every release is checked against what the folio's counts say gup holds:
// a release may not take the refcount below what the folio's mappings hold
// (_mapcount + 1 of an order-0 page, _large_mapcount + 1 of a large folio),
// plus, on a large folio, one reference per pin still counted in _pincount;
// an unpin may not take _pincount below zero; a PG_reserved page (a
// table-pool frame) is never released, and the zero page keeps its own
// reference. A refused release is added back, and so is everything released
// before it in this call, and the list is refused (UnpinOut.refused = the index of the
// refused run's first pfn; a pfn with no struct page is refused the same way).
// On an order-0 folio a pin is GUP_PIN_COUNTING_BIAS references and nothing
// else tells pins and gets apart (the kernel's folio_maybe_dma_pinned reads
// the same count), so an unpin there is refused only when the page has fewer
// than GUP_PIN_COUNTING_BIAS references beyond its mappings. Counts are read
// in the order that makes a racing gup or zap look like more references to
// give back, never fewer: _pincount before the refcount, mapcounts after. Folios the releases bring to zero
// are freed only once the whole list has gone through. A refused list
// changes no count; the folios it had released and took back keep this
// operation as their last.
//
// What was released is recorded in the context's record array (Ctx.recs,
// never over the entries: a refused list is there as it was given; an
// in-core loop's round records over them), a u64 record each: bits 32..63
// the pages, 6..31 the folio (struct pages are 64-byte aligned: every memmap block is whole
// sections of them), and below it what was dropped per page: R_PINCOUNT
// (one reference and one _pincount: a pin of a large folio), R_BIAS
// (GUP_PIN_COUNTING_BIAS references: a pin of a small folio), R_NOTHING (a
// pin of the zero page), else one reference (a get); R_FREE marks a folio
// brought to zero.
// a0 n, a1 flags -> r0 pages released.
const R_PINCOUNT: u64 = 1;
const R_BIAS: u64 = 2;
const R_NOTHING: u64 = 4;
const R_FREE: u64 = 8;

// UnpinIn -> UnpinOut: entries released, or the entry refused at.
// GUP_RELEASE_OWN takes the loop specialised for lists gup just handed this
// context (the in-core loops): what they name is this context's own, so a
// page's mappings need not be read to tell whose references it releases
// (the counts are still checked: nothing goes below zero).
export function unpin(ctx: usize): i32 {
  return (argsIn<UnpinIn>(ctx).flags & GUP_RELEASE_OWN) != 0 ? unpinOwn(ctx) : unpinChecked(ctx);
}
function unpinChecked(ctx: usize): i32 { return unpinList(ctx, false, false); }
function unpinOwn(ctx: usize): i32 { return unpinList(ctx, true, false); }
// The in-core loops' release of what gup just took (GUP_RELEASE_OWN): a refusal
// ends the loop, so nothing reads the entries again and the records may go
// over them (one array less to touch per page: 2 to 4% of a round).
export function unpinLoopRound(ctx: usize): i32 { return unpinList(ctx, true, true); }

@inline function unpinList(ctx: usize, own: bool, inPlace: bool): i32 {
  const c = ctxOf(ctx);
  const a = argsIn<UnpinIn>(ctx);
  const o = argsOut<UnpinOut>(ctx);
  const n = a.n;
  const flags = a.flags;
  o.released = 0;
  o.refused = n;
  if (((flags & FOLL_GET) != 0) == ((flags & FOLL_PIN) != 0) || n > c.outCap) return E_INVAL;
  const pin = (flags & FOLL_PIN) != 0;
  const runs = (flags & GUP_OUT_RUNS) != 0;
  setReleaseUnit(pin);
  gSmallRec = pin ? R_BIAS | ((<u64>1) << 32) : (<u64>1) << 32;
  const out = c.out;
  const recs = inPlace ? out : c.recs;             // the records: over the entries only in a loop's round
  const large: u64 = (<u64>1) << PG_head;
  const reserved: u64 = (<u64>1) << PG_reserved;
  const op = <u64>c.opId;
  pfnCacheReset();
  let i: u32 = 0, k: u32 = 0;
  let refused = n;                                 // < n: the index the list is refused at
  let refs: i64 = 0, pinned: i64 = 0;
  let small: u32 = 0;                              // pages of order-0 folios released (releaseUnit each)
  let toFree: u32 = 0;
  while (i < n) {
    // The common entry, a page of an order-0 RAM folio in the section looked
    // up last, released by this tight loop; it leaves every other entry (and
    // a release that would reach what must stay, given back first) to the
    // general way below, which does the same for a small page and decides
    // refusals and last references.
    {
      // one pointer moves: entry i at q, its record k at q + toRec
      let q = out + (i << 3);
      const qEnd = out + (n << 3);
      // (a per-call global where it is not a shift: V8 would recompute it per page)
      gToRec = inPlace ? (k - i) << 3 : recs + (k << 3) - (out + (i << 3));   // (wraps as addresses do)
      const toRec = inPlace ? (k - i) << 3 : gToRec;
      while (q != qEnd) {
        const qpfn = load<u64>(q);
        const qoff = qpfn - secPfn;
        if (qoff >= secSpan) break;
        const qpage = secBase + <usize>qoff * PAGE_SIZE_BYTES;
        if (((load<u64>(qpage, PAGE_COMPOUND_HEAD) & 1) | (load<u64>(qpage) & (large | reserved))) != 0) break;
        const after = folioRefSubUnit(qpage);
        // What its mappings hold may stay (none for a list of this context's own):
        // below that, or at zero, is for the general way. (after < max(keep, 1):
        // both tests in one, keep being at least 0.)
        const floor = own ? 1 : max<i32>(load<i32>(qpage, offsetof<Page>("_mapcount")) + 1, 1);
        if (after < floor) {
          folioRefAddUnit(qpage);
          break;
        }
        store<u64>(q + toRec, <u64>qpage | gSmallRec);
        store<u64>(qpage, op, offsetof<Page>("last_op"));
        q += 8;
      }
      const done = ((q - out) >> 3) - i;
      i += done;
      k += done;
      small += done;
    }
    if (i >= n) break;
    let pfn = load<u64>(out + (i << 3));
    let run: u64 = 0;                              // a run record's pages (GUP_OUT_RUNS)
    let page = pageOfPfn(pfn);
    if (page == 0) {
      // no struct page; or a run record (no pfn has bit 63), of a large folio
      if (!runs || (pfn & RUN_MARK) == 0 || i + 1 >= n) { refused = i; break; }
      run = load<u64>(out + ((i + 1) << 3));
      pfn &= ~RUN_MARK;
      page = pageOfPfn(pfn);
      // (its folio bounds it from above, below)
      if (run < 2 || page == 0 || ((load<u64>(page, PAGE_COMPOUND_HEAD) & 1) | (load<u64>(page) & large)) == 0) { refused = i; break; }
    }
    // page_folio / folio_test_large: a tail by bit 0 of compound_head only (_compound_head,
    // include/linux/page-flags.h), a head by PG_head. A ZONE_DEVICE page's compound_head
    // word is page->pgmap, whose other bits say nothing.
    let head = load<u64>(page, PAGE_COMPOUND_HEAD);
    let pflags = load<u64>(page);
    if (((head & 1) | (pflags & large)) == 0 && ((pflags & reserved) == 0 || isDevicePfn(pfn))) {
      // a page of an order-0 folio (RAM, or ZONE_DEVICE: PG_reserved above RAM):
      // GUP_PIN_COUNTING_BIAS references for a pin, one for a get; the device
      // pages after a device page go on here (the quick loop leaves them all)
      while (true) {
        let rec = <u64>page | gSmallRec;
        const after = folioRefSubUnit(page);
        if (own) {
          // this context's own references: only a count gone below zero is refused
          if (after <= 0) {
            if (after != 0) { folioRefAddUnit(page); refused = i; break; }
            rec |= R_FREE;
            toFree++;
          }
        } else {
          // what its mappings hold stays (_mapcount + 1; none for a negative page
          // type on a free page), and a device page's idle count (model.ts)
          const keep = max<i32>(load<i32>(page, offsetof<Page>("_mapcount")) + 1, 0) + ((pflags & reserved) != 0 ? devicePageIdle(page) : 0);
          if (after <= keep) {                         // one test for the refusals and the last reference
            if (after != keep) { folioRefAddUnit(page); refused = smallRunStart(recs, k, page, i); break; }
            if (after == 0) {
              rec |= R_FREE;                           // the last reference: freed once the list is settled
              toFree++;
            }
          }
        }
        store<u64>(recs + (k << 3), rec);
        k++;
        store<u64>(page, op, offsetof<Page>("last_op"));
        small++;
        i++;
        if ((pflags & reserved) == 0 || i >= n) break;
        pfn = load<u64>(out + (i << 3));
        if (!isDevicePfn(pfn)) break;
        page = pageOfPfn(pfn);
        if (page == 0) break;
        head = load<u64>(page, PAGE_COMPOUND_HEAD);
        pflags = load<u64>(page);
        if (((head & 1) | (pflags & large)) != 0 || (pflags & reserved) == 0) break;
      }
      if (refused != n) break;
      continue;
    }
    // a run of the zero page, or of pages of one large folio
    let folio = page;
    let what: u64 = 0;
    let j = i + 1;
    let large_ = true;
    if ((head & 1) == 0 && (load<u64>(page) & large) == 0) {   // PG_reserved
      if (page != zeroPageOf()) { refused = i; break; }        // a table-pool frame: gup never hands one out
      while (j < n && load<u64>(out + (j << 3)) == pfn) j++;
      if (pin) what = R_NOTHING;                   // its pins are not counted
      large_ = false;
    } else {
      if ((head & 1) != 0) folio = <usize>(head - 1);
      // folios are naturally aligned (buddy blocks, device folios, DAX PMD entries): the first pfn by
      // alignment, not by struct page distance (a vmemmap-optimised folio's tails share one struct page)
      const first = pfn & ~(((<u64>1) << folioOrder(folio)) - 1);
      const last = first + ((<u64>1) << folioOrder(folio));
      if (run != 0) {                              // the run is one gup_put_folio, inside its folio
        if (run > last - pfn) { refused = i; break; }
        j = i + 2;
      } else {
        while (j < n) {
          const q = load<u64>(out + (j << 3));
          if (q < first || q >= last) break;
          j++;
        }
      }
      if (pin) what = R_PINCOUNT;
    }
    const pages = run != 0 ? <i32>run : <i32>(j - i);
    if (what != R_NOTHING) {
      if (what == R_PINCOUNT && folioPinsSubReturn(folio, pages) < 0) {   // more pins given back than it holds
        folioPinsAdd(folio, pages);
        refused = i;
        break;
      }
      const after = folioRefSubReturn(folio, pages);
      // What must stay: the zero page's own reference; for a list that is not
      // this context's own, a large folio's mappings' and one per pin still
      // counted, read after our release. The counts are separate words, so this
      // reading is exact only without concurrent traffic on the folio: an unpin
      // drops _pincount before the refcount and a zap the mapcount before the
      // reference (both only loosen it), but a pin landing between our release
      // and our _pincount read looks like a pin the refcount does not cover, so
      // a plain list released while another thread pins the same folio can be
      // refused and must be retried. A context's own list (the in-core loops,
      // a GupResult) needs no such reading: only a count below zero is refused.
      const keep = large_ ? (own ? 0 : folioLargeMapcount(folio) + 1 + atomic.load<i32>(pincountPtr(folio)) + devicePageIdle(folio)) : 1;
      if (after < keep || after < 0) {
        folioRefAdd(folio, pages);
        if (what == R_PINCOUNT) folioPinsAdd(folio, pages);
        refused = i;
        break;
      }
      if (after == 0) {
        what |= R_FREE;
        toFree++;
      }
      refs += pages;
      if (what & R_PINCOUNT) pinned += pages;
    }
    store<u64>(recs + (k << 3), <u64>folio | what | (<u64>pages << 32));
    k++;
    store<u64>(folio, op, offsetof<Page>("last_op"));
    i = j;
  }
  if (refused < n) {                               // take back what was released
    unpinTakeBack(recs, k);
    o.refused = refused;
    return E_INVAL;
  }
  if (toFree != 0) {                               // __folio_put
    for (let q: u32 = 0; q < k; q++) {
      const rec = load<u64>(recs + (q << 3));
      if ((rec & R_FREE) != 0) freeAtZero(<usize>(<u32>rec & ~(PAGE_SIZE_BYTES - 1)));
    }
  }
  tallyAdd(-(refs + <i64>small * releaseUnit), -pinned);
  tallyCommit(ctx);
  o.released = n;
  return 0;
}

// A refused small page is refused from the first of the entries just before
// it that name the same page (gup lists a small page once; a plain list may
// repeat it): those entries' records are the last ones, one per entry, each
// of one page of that folio.
function smallRunStart(recs: usize, k: u32, page: usize, i: u32): u32 {
  let m: u32 = 0;
  while (m < k) {
    const rec = load<u64>(recs + ((k - 1 - m) << 3));
    if ((<usize>(<u32>rec) & ~(PAGE_SIZE_BYTES - 1)) != page || (rec >> 32) != 1) break;
    m++;
  }
  return i - m;
}

// Gives back what records [0, k) released.
function unpinTakeBack(recs: usize, k: u32): void {
  for (let q: u32 = 0; q < k; q++) {
    const rec = load<u64>(recs + (q << 3));
    if ((rec & R_NOTHING) != 0) continue;
    const folio = <usize>(<u32>rec & ~(PAGE_SIZE_BYTES - 1));
    const pages = <i32>(rec >> 32);
    folioRefAdd(folio, (rec & R_BIAS) != 0 ? pages * GUP_PIN_COUNTING_BIAS : pages);
    if ((rec & R_PINCOUNT) != 0) folioPinsAdd(folio, pages);
  }
}

