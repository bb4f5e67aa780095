// The counts of a struct page and its folio (assembly/refcount.ts): _refcount,
// _pincount and the mapcounts, changed only here, with the kernel's names
// (include/linux/page_ref.h, include/linux/mm.h, mm/gup.c, mm/rmap.c, v6.12);
// and the gup tally (what the current call took, for the machine's
// outstanding counters).
import { ENTIRELY_MAPPED, FOLL_GET, FOLL_PIN, GUP_PIN_COUNTING_BIAS } from '../../src/host/consts.gen.js';
import { freeFolio } from './folio.js';
import type { RefMachine } from './machine.js';

// ---------------------------------------------------------------- the tally
export function tallyReset(m: RefMachine): void { m.tally.refs = 0; m.tally.pins = 0; }
export function tallyCommit(m: RefMachine): void {
  m.stat.gupOutstanding += m.tally.refs;
  m.stat.pinOutstanding += m.tally.pins;
  tallyReset(m);
}

function tallyGrab(m: RefMachine, folio: number, refs: number, flags: number): void {
  if (flags & FOLL_PIN) {
    if (m.large(folio)) { m.tally.refs += refs; m.tally.pins += refs; } else m.tally.refs += refs * GUP_PIN_COUNTING_BIAS;
  } else m.tally.refs += refs;
}

// ---------------------------------------------------------------- references
/** folio_put_refs: the last reference frees the folio. */
export function folioPutRefs(m: RefMachine, folio: number, refs: number): void {
  const p = m.pg(folio);
  p.refcount = (p.refcount - refs) | 0;
  if (p.refcount === 0) freeFolio(m, folio);
}

/** try_get_folio: folio_ref_try_add (refused at or below zero) on the page's folio; -1 if refused. */
export function tryGetFolio(m: RefMachine, page: number, refs: number): number {
  const folio = m.folioOf(page);
  const p = m.pg(folio);
  if (p.refcount <= 0) return -1;
  p.refcount = (p.refcount + refs) | 0;
  return folio;
}

/** try_grab_folio_fast: add-unless-zero, then the pin (GUP_PIN_COUNTING_BIAS or _pincount); -1 if refused. */
export function tryGrabFolioFast(m: RefMachine, page: number, refs: number, flags: number): number {
  if (flags & FOLL_GET) {
    const f = tryGetFolio(m, page, refs);
    if (f >= 0) m.tally.refs += refs;
    return f;
  }
  if (!(flags & FOLL_PIN)) return -1;
  if (m.isZeroFolio(m.folioOf(page))) return m.folioOf(page);    // the zero page is never pinned or counted
  const folio = tryGetFolio(m, page, refs);
  if (folio < 0) return -1;
  // FOLL_LONGTERM: every RAM folio is longterm-pinnable here
  const p = m.pg(folio);
  if (m.large(folio)) p.folio!.pincount = (p.folio!.pincount + refs) | 0;
  else p.refcount = (p.refcount + refs * (GUP_PIN_COUNTING_BIAS - 1)) | 0;
  tallyGrab(m, folio, refs, flags);
  return folio;
}

/** try_grab_folio (the slow path, under the table lock): false (-ENOMEM) if the folio has no reference. */
export function tryGrabFolio(m: RefMachine, folio: number, refs: number, flags: number): boolean {
  const p = m.pg(folio);
  if (p.refcount <= 0) return false;
  if (flags & FOLL_GET) {
    p.refcount = (p.refcount + refs) | 0;
    m.tally.refs += refs;
    return true;
  }
  if (m.isZeroFolio(folio)) return true;
  if (m.large(folio)) {
    p.refcount = (p.refcount + refs) | 0;
    p.folio!.pincount = (p.folio!.pincount + refs) | 0;
  } else {
    p.refcount = (p.refcount + refs * GUP_PIN_COUNTING_BIAS) | 0;
  }
  tallyGrab(m, folio, refs, flags);
  return true;
}

/** gup_put_folio */
export function gupPutFolio(m: RefMachine, folio: number, refs: number, flags: number): void {
  if (flags & FOLL_PIN) {
    if (m.isZeroFolio(folio)) return;
    if (m.large(folio)) {
      const f = m.folio(folio);
      f.pincount = (f.pincount - refs) | 0;
      m.tally.refs -= refs;
      m.tally.pins -= refs;
    } else {
      m.tally.refs -= refs * GUP_PIN_COUNTING_BIAS;
      refs *= GUP_PIN_COUNTING_BIAS;
    }
  } else m.tally.refs -= refs;
  folioPutRefs(m, folio, refs);
}

/** The references gup_put_folio of `refs` pages would drop from the folio. */
export function putUnits(m: RefMachine, folio: number, refs: number, flags: number): number {
  if (flags & FOLL_PIN) {
    if (m.isZeroFolio(folio)) return 0;
    return m.large(folio) ? refs : refs * GUP_PIN_COUNTING_BIAS;
  }
  return refs;
}

// ---------------------------------------------------------------- rmap
/**
 * folio_add_new_anon_rmap for a folio mapped once, whole, by one entry: an
 * order-0 page's _mapcount 0, a large folio entirely mapped;
 * hugetlb_add_new_anon_rmap: the same without _nr_pages_mapped, and the
 * folio is hugetlb's.
 */
export function folioAddNewAnonRmap(m: RefMachine, folio: number, order: number, hugetlb: boolean): void {
  const p = m.pg(folio);
  if (order > 0) {
    const f = p.folio!;
    f.hugetlb = hugetlb;
    f.entireMapcount = 0;
    f.largeMapcount = 0;
    if (!hugetlb) f.nrPagesMapped = ENTIRELY_MAPPED;
  } else {
    p.mapcount = 0;
  }
}

/** folio_remove_rmap_pte: one pte of page in folio */
export function folioRemoveRmapPte(m: RefMachine, folio: number, page: number): void {
  const pp = m.pg(page);
  pp.mapcount = (pp.mapcount - 1) | 0;
  if (m.large(folio)) {
    const f = m.folio(folio);
    f.largeMapcount = (f.largeMapcount - 1) | 0;
    f.nrPagesMapped = (f.nrPagesMapped - 1) | 0;
  }
}

/** folio_remove_rmap_pmd / _pud: an entire mapping */
export function folioRemoveRmapPmd(m: RefMachine, folio: number): void {
  const f = m.folio(folio);
  f.entireMapcount = (f.entireMapcount - 1) | 0;
  f.largeMapcount = (f.largeMapcount - 1) | 0;
  f.nrPagesMapped = (f.nrPagesMapped - ENTIRELY_MAPPED) | 0;
}

/** hugetlb_remove_rmap */
export function hugetlbRemoveRmap(m: RefMachine, folio: number): void {
  const f = m.folio(folio);
  f.entireMapcount = (f.entireMapcount - 1) | 0;
  f.largeMapcount = (f.largeMapcount - 1) | 0;
}
