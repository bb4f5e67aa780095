// get_user_pages_fast / pin_user_pages_fast's lockless walk (assembly/gup_fast.ts;
// gup_fast, mm/gup.c v6.12): it stops at the first address it cannot handle,
// and gup.ts takes the slow path for the rest. One thread: nothing races the
// grab, so there is no re-read.
import { FOLL_LONGTERM, FOLL_WRITE } from '../../src/host/consts.gen.js';
import type { Lvl } from './arch.js';
import { gupFastFolioAllowed, gupMustUnshare, setReferenced } from './folio.js';
import type { RefMachine } from './machine.js';
import { gupPutFolio, tryGrabFolioFast } from './refcount.js';

/** The current gup call: its flags, its operation, and the pages taken so far (out.length is gNr). */
export interface GupCall { flags: number; op: number; out: number[] }

export function accessPermitted(d: Lvl, e: bigint, write: boolean): boolean {
  return d.pred('access', e) && (!write || d.pred('write', e));
}

/** Give back the pages taken since out held nrStart. */
export function undoSince(m: RefMachine, g: GupCall, nrStart: number): void {
  while (g.out.length > nrStart) gupPutFolio(m, m.folioOf(g.out.pop()!), 1, g.flags);
}

/** gup_fast_pte_range */
function gupFastPteRange(m: RefMachine, g: GupCall, d: Lvl, tpa: number, addr: bigint, end: bigint): boolean {
  const write = (g.flags & FOLL_WRITE) !== 0;
  const nrStart = g.out.length;
  const tab = m.table(tpa);
  let i = d.index(addr);
  do {
    const pte = tab[i];
    if (d.pred('protnone', pte)) return false;
    if (d.isNone(pte) || !d.isPresent(pte) || !accessPermitted(d, pte, write)) return false;
    const pfn = d.leafPa(pte) >> m.psB;
    if (m.desc.hasDevmap && d.pred('devmap', pte)) {
      if (g.flags & FOLL_LONGTERM) return false;
      undoSince(m, g, nrStart);                   // get_dev_pagemap: no pgmap for any pfn here
      return false;
    } else if (d.pred('special', pte)) {
      return false;
    }
    const page = m.pfnToPage(pfn);
    if (page < 0) return false;
    const folio = tryGrabFolioFast(m, page, 1, g.flags);
    if (folio < 0) return false;
    if (!gupFastFolioAllowed(m, folio, g.flags)) { gupPutFolio(m, folio, 1, g.flags); return false; }
    if (!d.pred('write', pte) && gupMustUnshare(m, g.flags, page, null)) { gupPutFolio(m, folio, 1, g.flags); return false; }
    setReferenced(m, folio);
    m.pg(page).lastOp = g.op;
    g.out.push(page);
    i++;
    addr += m.pageBytes;
  } while (addr !== end);
  return true;
}

/** gup_fast_pmd_leaf / gup_fast_pud_leaf: refs pages of the folio a huge leaf maps */
function gupFastLeaf(m: RefMachine, g: GupCall, d: Lvl, orig: bigint, addr: bigint, end: bigint): boolean {
  const write = (g.flags & FOLL_WRITE) !== 0;
  if (!accessPermitted(d, orig, write)) return false;
  if (d.pred('special', orig)) return false;
  const pfn = (d.leafPa(orig) + (addr & (d.sizeB - 1n))) >> m.psB;
  if (m.desc.hasDevmap && d.pred('devmap', orig)) return false;    // FOLL_LONGTERM, or no pgmap
  const page = m.pfnToPage(pfn);
  if (page < 0) return false;
  const refs = Number((end - addr) >> m.psB);
  const folio = tryGrabFolioFast(m, page, refs, g.flags);
  if (folio < 0) return false;
  if (!gupFastFolioAllowed(m, folio, g.flags)) { gupPutFolio(m, folio, refs, g.flags); return false; }
  if (!d.pred('write', orig) && gupMustUnshare(m, g.flags, folio, null)) { gupPutFolio(m, folio, refs, g.flags); return false; }
  for (let k = 0; k < refs; k++) g.out.push(page + k);     // record_subpages
  setReferenced(m, folio);
  m.pg(folio).lastOp = g.op;
  return true;
}

/** gup_fast_pgd_range and the levels below it, generic over the descriptor */
export function gupFastLevel(m: RefMachine, g: GupCall, l: number, tpa: number, addr: bigint, end: bigint): boolean {
  const d = m.L[l];
  if (l === m.n - 1) return m.desc.hasSpecial && gupFastPteRange(m, g, d, tpa, addr, end);   // the #else stub
  const tab = m.table(tpa);
  let i = d.index(addr);
  do {
    const e = tab[i];
    const next = d.addrEnd(addr, end);
    if (d.isNone(e) || !d.isPresent(e)) return false;
    if (d.isLeaf(e)) {
      if (d.pred('protnone', e)) return false;
      if (!gupFastLeaf(m, g, d, e, addr, next)) return false;
    } else if (d.isTable(e)) {
      if (!gupFastLevel(m, g, l + 1, d.tablePa(e), addr, next)) return false;
    } else {
      return false;
    }
    i++;
    addr = next;
  } while (addr !== end);
  return true;
}
