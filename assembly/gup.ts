// get_user_pages_fast / pin_user_pages_fast (mm/gup.c), generic over the
// descriptor: a lockless walk that reads each entry once, grabs with
// add-unless-zero, re-reads and undoes on change, and stops at the first
// address it cannot handle; then the slow path faults in the rest.

import { H, hdr, arch, readEntry, lock, unlock, ctxOf, SEC_MASK, BE, POOL_BASE } from './base';
import {
  lv, L, nLevels, pageShift, pred, isNone, isPresent, isTable, isLeaf, tablePa, leafPa, levelIndex,
} from './arch';
import { pfnToPage, pageFolio, poolVa, folioOrder, setFlag, testFlag, refcountPtr, tableLinked, rootBad } from './mem';
import {
  tryGrabFolioFast, tryGrabFolio, gupPutFolio, gupFastFolioAllowed, gupMustUnshare,
  tallyReset, tallyCommit, tallyAdd, zeroPageOf, longtermPinnable, mappingAllowed, folioPutRefs, freeFolio, addUnlessNonPositive,
} from './folio';
import { mmOf, findVma, faultLocked, walkFrom, wCode, wLevel, wEntry } from './mm';
import {
  Header, Ctx, Mm, Vma, Page, LevelDesc, PAGE_SIZE_BYTES, LEVEL_PREDS, PRED_SIZE, P_INVERT, P_ACCESS, P_WRITE, P_SPECIAL, P_DEVMAP, P_PROTNONE, PAGE_COMPOUND_HEAD, PG_head, FOLIO_PINCOUNT, FOLIO_LARGE_MAPCOUNT, PG_reserved, PAGE_MAPPING_ANON,
  FOLL_WRITE, FOLL_PIN, FOLL_GET, FOLL_LONGTERM, GUP_PIN_COUNTING_BIAS, FOLL_FAST_ONLY, FOLL_NOFAULT, MMF_HAS_PINNED,
  VM_IO, VM_PFNMAP, VM_WRITE, VM_READ, PG_referenced, W_OK, E_FAULT, E_NOMEM, E_INVAL,
} from './layout';
import { GupIn, GupOut, UnpinIn, UnpinOut, argsIn, argsOut } from './abi';

// Per-thread state of the current call (wasm globals are per instance).
let gOut: usize = 0;
let gNr: u32 = 0;
let gFlags: u32 = 0;
let gOp: u32 = 0;
// Set once per call and read in the loops: as locals, V8 would recompute them per page.
let gBias: i32 = 0;          // unpin: a small folio's refcount units per page
let gSmallRec: u64 = 0;      // unpin: a small page's record, less its folio (one page; R_BIAS for a pin)
let gAnonSettles: u64 = 0;   // gup-fast: PAGE_MAPPING_ANON, or 0 for a read pin

// get_dev_pagemap(pfn): the live pgmap covering pfn. This machine's memmap
// holds RAM only, so no pfn has one: a devmap entry cannot be followed.
function getDevPagemap(pfn: u64): usize {
  return 0;
}

@inline function accessPermitted(d: usize, e: u64, write: bool): bool {
  return pred(d, P_ACCESS, e) && (!write || pred(d, P_WRITE, e));
}

@inline function folioSetReferenced(folio: usize): void {
  if (!testFlag(folio, PG_referenced)) setFlag(folio, PG_referenced);
}

// gup_fast_undo_dev_pagemap: release every page grabbed since nrStart.
function undoSince(nrStart: u32): void {
  while (gNr > nrStart) {
    gNr--;
    const page = pfnToPage(load<u64>(gOut + (gNr << 3)));
    gupPutFolio(pageFolio(page), 1, gFlags);
  }
}

// The section of the last page looked up (pfn_to_page's memory, per call).
let secPfn: u64 = <u64>-1;
let secBase: usize = 0;

// pfn_to_page for a section other than the cached one (out of the loop's way).
function pageOfPfnSlow(pfn: u64): usize {
  const page = pfnToPage(pfn);
  if (page != 0) {
    secPfn = pfn & ~SEC_MASK;
    secBase = page - <usize>(pfn & SEC_MASK) * PAGE_SIZE_BYTES;
  }
  return page;
}

// The quick path's miss: the zero page's struct page where there is none.
function pageOrZeroSlow(pfn: u64): usize {
  const page = pageOfPfnSlow(pfn);
  return page != 0 ? page : zeroPageOf();
}

@inline function pageOfPfn(pfn: u64): usize {
  return (pfn & ~SEC_MASK) == secPfn ? secBase + <usize>(pfn & SEC_MASK) * PAGE_SIZE_BYTES : pageOfPfnSlow(pfn);
}

// One entry of gup_fast_pte_range, every case, in the kernel's order. As in
// the kernel, pte_access_permitted() is what rejects empty and non-present
// entries (every layout's access predicate requires presence).
// Returns 1 (taken, appended at gNr), 0 (stop before it), -1 (a devmap entry
// without its pgmap: the caller undoes the whole range).
function gupFastPteEntry(d: usize, p: usize, pte: u64, pmdp: usize, pmd: u64): i32 {
  const flags = gFlags;
  const write = (flags & FOLL_WRITE) != 0;
  const writable = pred(d, P_WRITE, pte);
  if (pred(d, P_PROTNONE, pte)) return 0;                            // pte_protnone
  if (!pred(d, P_ACCESS, pte) || (write && !writable)) return 0;    // pte_access_permitted
  const pfn = leafPa(d, pte) >> pageShift();
  if (arch().hasDevmap != 0 && pred(d, P_DEVMAP, pte)) {
    if ((flags & FOLL_LONGTERM) != 0) return 0;
    if (getDevPagemap(pfn) == 0) return -1;
  } else if (pred(d, P_SPECIAL, pte)) {
    return 0;                                                          // pte_special
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
  store<u64>(gOut + (gNr << 3), pfn);
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

// folio_ref_try_add after a first cmpxchg lost a race (out of the loop's way).
function refTryAddRetry(rp: usize, add: i32): bool {
  return addUnlessNonPositive(rp, add);
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
function gupFastPteRange(d: usize, tpa: u64, addr: u64, end: u64, pmdp: usize, pmd: u64): bool {
  const flags = gFlags;
  const write = (flags & FOLL_WRITE) != 0;
  // An anon mapping settles gup_fast_folio_allowed, and gup_must_unshare too
  // unless this is a read pin (a per-call global: V8 would recompute a local per page)
  gAnonSettles = (flags & (FOLL_PIN | FOLL_WRITE)) == FOLL_PIN ? 0 : PAGE_MAPPING_ANON;
  const add: i32 = (flags & FOLL_PIN) != 0 ? GUP_PIN_COUNTING_BIAS : 1;   // a small folio's count gains per page
  const ld = changetype<LevelDesc>(d);
  const amask = ld.leafAddrMask, rsh = <u64>ld.leafPfnShiftR, lsh = <u64>ld.leafPfnShiftL;
  const fm = write ? ld.fastWriteMask : ld.fastReadMask;
  const fv = write ? ld.fastWriteValue : ld.fastReadValue;
  const large: u64 = (<u64>1) << PG_head;
  const pmdRaw = BE ? bswap<u64>(pmd) : pmd;       // the rechecks compare entries as stored
  const out0 = gOut + (gNr << 3);
  let p = poolVa(tpa) + (levelIndex(nLevels() - 1, addr) << 3);
  let left = <u32>((end - addr) >> pageShift());   // entries still to look at
  let out = out0;                                  // where the next pfn goes
  let general: u32 = 0;                            // pages the per-entry path took
  do {
    const raw = load<u64>(p);                      // ptep_get_lockless: one read (READ_ONCE)
    const pte = BE ? bswap<u64>(raw) : raw;
    if ((pte & fm) == fv) {
      const pfn = ((pte & amask) >> rsh) << lsh;
      // pfn_to_page, with the zero page's struct page standing for "no struct page":
      // both go the per-entry way
      const page = (pfn & ~SEC_MASK) == secPfn ? secBase + <usize>(pfn & SEC_MASK) * PAGE_SIZE_BYTES : pageOrZeroSlow(pfn);
      if (page != zeroPageOf() && ((load<u64>(page, PAGE_COMPOUND_HEAD) | load<u64>(page)) & (large | 1)) == 0) {
        // folio_ref_try_add on what looks like an order-0 folio
        const rp = refcountPtr(page);
        const c = load<i32>(rp);
        if (c <= 0) break;                         // being freed
        if (atomic.cmpxchg<i32>(rp, c, c + add) != c) {
          if (!refTryAddRetry(rp, add)) break;
        }
        const fl = load<u64>(page);              // the flags, read once with the reference held
        if ((fl & large) == 0 && (load<u64>(page, PAGE_COMPOUND_HEAD) & 1) == 0 &&
            ((flags & FOLL_LONGTERM) == 0 || longtermPinnable(page))) {
          // the tables moved under us; gup_fast_folio_allowed (an anon mapping passes); gup_must_unshare
          if (load<u64>(pmdp) != pmdRaw || load<u64>(p) != raw) { folioPutRefs(page, add); break; }
          const mapping = load<u64>(page, offsetof<Page>("mapping"));
          if ((mapping & gAnonSettles) == 0 && !quickAllowed(d, pte, page, mapping)) {
            folioPutRefs(page, add);
            break;
          }
          if ((fl & ((<u64>1) << PG_referenced)) == 0) setFlag(page, PG_referenced);   // folio_set_referenced
          store<u64>(page, <u64>gOp, offsetof<Page>("last_op"));
          store<u64>(out, pfn);
          out += 8;
          p += 8;
          continue;
        }
        folioPutRefs(page, add);                     // raced with a split or prep: take the long way
      }
    }
    gNr = <u32>((out - gOut) >> 3);
    const r = gupFastPteEntry(d, p, pte, pmdp, pmd);
    if (r < 0) {                                 // gup_fast_undo_dev_pagemap
      tallyAdd(<i64>(<u32>((out - out0) >> 3) - general) * add, 0);
      undoSince(<u32>((out0 - gOut) >> 3));
      return false;
    }
    if (r == 0) break;
    general++;
    out += 8;
    p += 8;
  } while (--left != 0);
  gNr = <u32>((out - gOut) >> 3);
  tallyAdd(<i64>(<u32>((out - out0) >> 3) - general) * add, 0);
  return left == 0;
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
  if (arch().hasDevmap != 0 && pred(d, P_DEVMAP, orig)) {
    // gup_fast_devmap_leaf: one pgmap lookup and one reference per subpage
    if ((gFlags & FOLL_LONGTERM) != 0) return false;
    if (getDevPagemap(pfn) == 0) return false;
  }
  const page = pfnToPage(pfn);
  if (page == 0) return false;
  const refs = <i32>((end - addr) >> ps);
  // record_subpages
  const out = gOut + (gNr << 3);
  for (let i: i32 = 0; i < refs; i++) store<u64>(out + (<usize>i << 3), pfn + <u64>i);
  const folio = tryGrabFolioFast(page, refs, gFlags);
  if (folio == 0) return false;
  if (readEntry(p) != orig) { gupPutFolio(folio, refs, gFlags); return false; }
  if (!gupFastFolioAllowed(folio, gFlags)) { gupPutFolio(folio, refs, gFlags); return false; }
  if (!pred(d, P_WRITE, orig) && gupMustUnshare(gFlags, folio, 0)) { gupPutFolio(folio, refs, gFlags); return false; }
  gNr += <u32>refs;
  folioSetReferenced(folio);
  store<u64>(folio, gOp, offsetof<Page>("last_op"));
  return true;
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
    return gupFastPteRange(d, tpa, addr, end, parentp, parent);
  }
  const size = (<u64>1) << L(l).shift;
  const fm = L(l).fastTableMask, fv = L(l).fastTableValue;
  let p = poolVa(tpa) + (levelIndex(l, addr) << 3);
  do {
    const e = readEntry(p);
    let next = (addr + size) & ~(size - 1);
    if (next == 0 || next > end) next = end;      // pXd_addr_end
    if ((e & fm) == fv) {                         // quick: a table entry
      const child = tablePa(d, e);
      if (!linked(l, child, p) || !gupFastLevel(l + 1, child, addr, next, p, e)) return false;
      p += 8;
      addr = next;
      continue;
    }
    if (isNone(d, e) || !isPresent(d, e)) return false;
    if (isLeaf(d, e)) {
      if (pred(d, P_PROTNONE, e)) return false;
      if (!gupFastLeaf(d, l, p, e, addr, next)) return false;
    } else if (isTable(d, e)) {
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
function gupFast(ctx: usize, mm: usize, start: u64, nr: u32): u32 {
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
    undoSince(0);                                 // gup_fast_unpin_user_pages
    return 0;
  }
  return gNr;
}

// __get_user_pages for [start, start + nr pages), under the mm lock.
// Returns pages taken (appended at gNr) or a negative error if none.
function getUserPagesLocked(mm: usize, start: u64, nr: u32): i32 {
  const ps = pageShift();
  const write = (gFlags & FOLL_WRITE) != 0;
  const n0 = gNr;
  let addr = start;
  let left = nr;
  while (left > 0) {
    const vp = findVma(mm, addr);
    if (vp == 0) return gNr > n0 ? <i32>(gNr - n0) : E_FAULT;
    const v = changetype<Vma>(vp);
    // check_vma_flags
    if ((v.flags & (VM_IO | VM_PFNMAP)) != 0 || (write && (v.flags & VM_WRITE) == 0) || (!write && (v.flags & VM_READ) == 0)) {
      return gNr > n0 ? <i32>(gNr - n0) : E_FAULT;
    }
    let tries = 0;
    let unshare = false;
    while (true) {
      walkFrom(mmOf(mm).root, addr, 255, mm);
      let ok = wCode == W_OK;
      const d = lv(wLevel);
      const e = wEntry;
      if (ok && (pred(d, P_PROTNONE, e) || (write && !pred(d, P_WRITE, e)))) ok = false;
      if (ok) {
        const size = (<u64>1) << L(wLevel).shift;
        const pfn = (leafPa(d, e) + (addr & (size - 1))) >> ps;
        let page: usize = 0;
        if (arch().hasDevmap != 0 && pred(d, P_DEVMAP, e)) {
          // follow_page_pte / follow_devmap_pmd: needs a live pgmap
          if (getDevPagemap(pfn) == 0) return gNr > n0 ? <i32>(gNr - n0) : E_FAULT;
          page = pfnToPage(pfn);
        } else if (pred(d, P_SPECIAL, e)) {
          // vm_normal_page() is NULL; only the zero page is followed
          // (follow_page_pte: is_zero_pfn; without a special bit the zero pfn takes the branch below)
          if (pfn != hdr().zeroPfn) return gNr > n0 ? <i32>(gNr - n0) : E_FAULT;
          page = pfnToPage(pfn);
        } else {
          page = pfnToPage(pfn);
        }
        if (page == 0) return gNr > n0 ? <i32>(gNr - n0) : E_FAULT;
        // a huge leaf hands out every remaining subpage at once (page_increm)
        let take = <u32>((size - (addr & (size - 1))) >> ps);
        if (take > left) take = left;
        const folio = pageFolio(page);
        // follow_huge_pmd / follow_huge_pud test the leaf's head page, follow_page_pte the page;
        // -EMLINK -> faultin_page(unshare)
        if (!pred(d, P_WRITE, e) && gupMustUnshare(gFlags, wLevel == nLevels() - 1 ? page : folio, vp)) {
          ok = false;
          unshare = true;
        } else {
          if (!tryGrabFolio(folio, <i32>take, gFlags)) return gNr > n0 ? <i32>(gNr - n0) : E_NOMEM;
          folioSetReferenced(folio);
          store<u64>(folio, gOp, offsetof<Page>("last_op"));
          for (let i: u32 = 0; i < take; i++) store<u64>(gOut + ((gNr + i) << 3), pfn + <u64>i);
          gNr += take;
          left -= take;
          addr += (<u64>take) << ps;
          break;
        }
      }
      // faultin_page (FAULT_FLAG_UNSHARE after -EMLINK; never with FAULT_FLAG_WRITE)
      if ((gFlags & FOLL_NOFAULT) != 0 || ++tries > 3) return gNr > n0 ? <i32>(gNr - n0) : E_FAULT;
      const r = faultLocked(mm, addr, write, gOp, unshare && !write);
      unshare = false;
      if (r < 0) return gNr > n0 ? <i32>(gNr - n0) : (r == E_NOMEM ? E_NOMEM : r);
    }
  }
  return <i32>(gNr - n0);
}

// get_user_pages_fast / pin_user_pages_fast (gup_fast_fallback).
// GupIn -> GupOut: pages (or status < 0), fast pages.
export function gup(ctx: usize, opId: u32): i32 {
  const c = ctxOf(ctx);
  const a = argsIn<GupIn>(ctx);
  const o = argsOut<GupOut>(ctx);
  const mm = <usize>a.mm;
  const start = a.start;
  const nr = a.nr;
  const flags = a.flags;
  o.ret = E_INVAL;
  o.fast = 0;
  if (((flags & FOLL_GET) != 0) == ((flags & FOLL_PIN) != 0)) return E_INVAL;
  // is_valid_gup_args: LONGTERM can only be specified when pinning (WARN, -EINVAL)
  if ((flags & (FOLL_LONGTERM | FOLL_PIN)) == FOLL_LONGTERM) return E_INVAL;
  if (nr > c.outCap) return E_INVAL;
  gOut = c.out;
  gNr = 0;
  secPfn = <u64>-1;
  gFlags = flags;
  gOp = opId;
  tallyReset();
  if ((flags & FOLL_PIN) != 0) atomic.or<u32>(mm + offsetof<Mm>("flags"), MMF_HAS_PINNED);
  const fast = gupFast(ctx, mm, start, nr);
  o.fast = fast;
  atomic.add<u64>(H + offsetof<Header>("statGupFastPages"), fast);
  if (fast < nr) atomic.add<u64>(H + offsetof<Header>("statGupFastBails"), 1);
  let ret: i32 = <i32>fast;
  if (fast < nr && (flags & FOLL_FAST_ONLY) == 0) {
    const lk = mm + offsetof<Mm>("lock");
    lock(lk);
    const slow = getUserPagesLocked(mm, start + ((<u64>fast) << pageShift()), nr - fast);
    unlock(lk);
    if (slow > 0) {
      atomic.add<u64>(H + offsetof<Header>("statGupSlowPages"), <u64>slow);
      ret += slow;
    } else if (fast == 0) {
      ret = slow;
    }
  }
  tallyCommit();
  o.ret = ret;
  return ret;
}

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
// before it in this call, and the list is refused (the index of the
// refused run's first pfn goes to UnpinOut.refused; a pfn with no struct page is refused the same way).
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
// What was released is recorded in the array in place (record k overwrites
// pfn k or an earlier one), a u64 record each: bits 32..63 the pages, 6..31
// the folio (struct pages are 64-byte aligned: every memmap block is whole
// sections of them), and below it what was dropped per page: R_PINCOUNT
// (one reference and one _pincount: a pin of a large folio), R_BIAS
// (GUP_PIN_COUNTING_BIAS references: a pin of a small folio), R_NOTHING (a
// pin of the zero page), else one reference (a get); R_FREE marks a folio
// brought to zero.
// UnpinIn -> UnpinOut: pages released, or the index refused at.
const R_PINCOUNT: u64 = 1;
const R_BIAS: u64 = 2;
const R_NOTHING: u64 = 4;
const R_FREE: u64 = 8;

export function unpin(ctx: usize): i32 {
  const c = ctxOf(ctx);
  const a = argsIn<UnpinIn>(ctx);
  const o = argsOut<UnpinOut>(ctx);
  const n = a.n;
  const flags = a.flags;
  o.released = 0;
  o.refused = n;
  if (((flags & FOLL_GET) != 0) == ((flags & FOLL_PIN) != 0) || n > c.outCap) return E_INVAL;
  const pin = (flags & FOLL_PIN) != 0;
  gBias = pin ? GUP_PIN_COUNTING_BIAS : 1;
  gSmallRec = pin ? R_BIAS | ((<u64>1) << 32) : (<u64>1) << 32;
  const out = c.out;
  const large: u64 = (<u64>1) << PG_head;
  const reserved: u64 = (<u64>1) << PG_reserved;
  const op = <u64>c.opId;
  secPfn = <u64>-1;
  let i: u32 = 0, k: u32 = 0;
  let prev: u64 = <u64>-1;                         // the last small page released
  let runStart: u32 = 0;                           // where its run began
  let refused = n;                                 // < n: the index the list is refused at
  let refs: i64 = 0, pinned: i64 = 0;
  let toFree: u32 = 0;
  while (i < n) {
    const pfn = load<u64>(out + (i << 3));
    const page = pageOfPfn(pfn);
    if (page == 0) { refused = i; break; }
    const head = load<u64>(page, PAGE_COMPOUND_HEAD);
    if (((head | load<u64>(page)) & (large | reserved | 1)) == 0) {
      // a page of an order-0 folio: GUP_PIN_COUNTING_BIAS references for a pin, one for a get
      if (pfn != prev) { prev = pfn; runStart = i; }
      let rec = <u64>page | gSmallRec;
      const after = atomic.sub<i32>(refcountPtr(page), gBias) - gBias;
      // what its mappings hold stays: after > _mapcount, or after >= 0 when
      // unmapped (_mapcount -1, or a negative page type on a free page)
      const mapped = load<i32>(page, offsetof<Page>("_mapcount"));
      if (after <= max<i32>(mapped, 0)) {          // one test for the refusals and the last reference
        if (after != 0 || mapped >= 0) { atomic.add<i32>(refcountPtr(page), gBias); refused = runStart; break; }
        rec |= R_FREE;                             // the last reference: freed once the list is settled
        toFree++;
      }
      store<u64>(out + (k << 3), rec);
      k++;
      store<u64>(page, op, offsetof<Page>("last_op"));
      refs += gBias;
      i++;
      continue;
    }
    prev = <u64>-1;
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
      const first = pfn - <u64>((page - folio) / PAGE_SIZE_BYTES);
      const last = first + ((<u64>1) << folioOrder(folio));
      while (j < n) {
        const q = load<u64>(out + (j << 3));
        if (q < first || q >= last) break;
        j++;
      }
      if (pin) what = R_PINCOUNT;
    }
    const pages = <i32>(j - i);
    if (what != R_NOTHING) {
      // the references that stay: the zero page's own; a large folio's mappings' and its other pins'
      let pinsLeft: i32 = 0;
      if (what == R_PINCOUNT) {
        pinsLeft = atomic.sub<i32>(folio + FOLIO_PINCOUNT, pages) - pages;
        if (pinsLeft < 0) {
          atomic.add<i32>(folio + FOLIO_PINCOUNT, pages);
          refused = i;
          break;
        }
      } else if (large_) {
        pinsLeft = atomic.load<i32>(folio + FOLIO_PINCOUNT);
      }
      const after = atomic.sub<i32>(refcountPtr(folio), pages) - pages;
      const keep = large_ ? load<i32>(folio + FOLIO_LARGE_MAPCOUNT) + 1 + pinsLeft : 1;
      if (after < keep || after < 0) {
        atomic.add<i32>(refcountPtr(folio), pages);
        if (what == R_PINCOUNT) atomic.add<i32>(folio + FOLIO_PINCOUNT, pages);
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
    store<u64>(out + (k << 3), <u64>folio | what | (<u64>pages << 32));
    k++;
    store<u64>(folio, op, offsetof<Page>("last_op"));
    i = j;
  }
  if (refused < n) {                               // take back what was released
    unpinTakeBack(out, k);
    o.refused = refused;
    return E_INVAL;
  }
  if (toFree != 0) {                               // __folio_put
    for (let q: u32 = 0; q < k; q++) {
      const rec = load<u64>(out + (q << 3));
      if ((rec & R_FREE) != 0) freeFolio(<usize>(<u32>rec & ~(PAGE_SIZE_BYTES - 1)));
    }
  }
  tallyAdd(-refs, -pinned);
  tallyCommit();
  o.released = n;
  return 0;
}

// Gives back what records [0, k) released.
function unpinTakeBack(out: usize, k: u32): void {
  for (let q: u32 = 0; q < k; q++) {
    const rec = load<u64>(out + (q << 3));
    if ((rec & R_NOTHING) != 0) continue;
    const folio = <usize>(<u32>rec & ~(PAGE_SIZE_BYTES - 1));
    const pages = <i32>(rec >> 32);
    atomic.add<i32>(refcountPtr(folio), (rec & R_BIAS) != 0 ? pages * GUP_PIN_COUNTING_BIAS : pages);
    if ((rec & R_PINCOUNT) != 0) atomic.add<i32>(folio + FOLIO_PINCOUNT, pages);
  }
}
