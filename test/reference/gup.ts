// get_user_pages_fast / pin_user_pages_fast (assembly/gup.ts; gup_fast_fallback,
// mm/gup.c v6.12): the lockless walk first (gup_fast.ts), then the slow path,
// which walks, faults in what is missing and grabs (__get_user_pages).
import {
  E_FAULT, E_INVAL, E_NOMEM, FOLL_FAST_ONLY, FOLL_LONGTERM, FOLL_NOFAULT, FOLL_PIN, FOLL_WRITE, MMF_HAS_PINNED,
  VM_IO, VM_PFNMAP, VM_READ, VM_WRITE, W_OK,
} from '../../src/host/consts.gen.js';
import { gupMustUnshare, setReferenced } from './folio.js';
import { gupFastLevel, type GupCall } from './gup_fast.js';
import type { RefMachine } from './machine.js';
import { faultLocked, type RefMm } from './mm.js';
import { tallyCommit, tallyReset, tryGrabFolio } from './refcount.js';
import { walkFrom } from './walk.js';

/** __get_user_pages for [start, start + nr pages): pages taken (appended to g.out), or an error if none. */
function getUserPagesLocked(m: RefMachine, g: GupCall, mm: RefMm, start: bigint, nr: number): number {
  const write = (g.flags & FOLL_WRITE) !== 0;
  const n0 = g.out.length;
  const partial = (err: number) => (g.out.length > n0 ? g.out.length - n0 : err);
  let addr = start;
  let left = nr;
  while (left > 0) {
    const v = mm.findVma(addr);
    if (!v) return partial(E_FAULT);
    if ((v.flags & (VM_IO | VM_PFNMAP)) !== 0 || (write && (v.flags & VM_WRITE) === 0) || (!write && (v.flags & VM_READ) === 0)) {
      return partial(E_FAULT);
    }
    let tries = 0;
    let unshare = false;
    for (;;) {
      const w = walkFrom(m, mm.root, addr);
      let ok = w.code === W_OK;
      const d = m.L[w.level];
      const e = w.entry;
      if (ok && (d.pred('protnone', e) || (write && !d.pred('write', e)))) ok = false;
      if (ok) {
        const pfn = (d.leafPa(e) + (addr & (d.sizeB - 1n))) >> m.psB;
        if (m.desc.hasDevmap && d.pred('devmap', e)) return partial(E_FAULT);   // follow_page_pte: no live pgmap
        if (d.pred('special', e) && pfn !== m.zeroPfnB) return partial(E_FAULT);   // vm_normal_page() NULL
        const page = m.pfnToPage(pfn);
        if (page < 0) return partial(E_FAULT);
        let take = Number((d.sizeB - (addr & (d.sizeB - 1n))) >> m.psB);
        if (take > left) take = left;
        const folio = m.folioOf(page);
        // follow_huge_pmd / follow_huge_pud test the leaf's head page, follow_page_pte the page
        if (!d.pred('write', e) && gupMustUnshare(m, g.flags, d.isLast ? page : folio, v)) {
          ok = false;
          unshare = true;
        } else {
          if (!tryGrabFolio(m, folio, take, g.flags)) return partial(E_NOMEM);
          setReferenced(m, folio);
          m.pg(folio).lastOp = g.op;
          for (let k = 0; k < take; k++) g.out.push(page + k);
          left -= take;
          addr += BigInt(take) << m.psB;
          break;
        }
      }
      // faultin_page (core: no rollback of the tables a failed fault allocated here)
      if ((g.flags & FOLL_NOFAULT) !== 0 || ++tries > 3) return partial(E_FAULT);
      const r = faultLocked(m, mm, addr, write, g.op, unshare && !write);
      unshare = false;
      if (r < 0) return partial(r);
    }
  }
  return g.out.length - n0;
}

/** gup_fast_fallback: ret (pages taken, or an error if none), how many the lockless walk took, and the pfns. */
export function gup(m: RefMachine, mm: RefMm, start: bigint, nr: number, flags: number): { ret: number; fast: number; pfns: number[] } {
  const op = m.beginOp();
  // is_valid_gup_args: FOLL_LONGTERM without FOLL_PIN
  if ((flags & (FOLL_LONGTERM | FOLL_PIN)) === FOLL_LONGTERM) return { ret: E_INVAL, fast: 0, pfns: [] };
  const g: GupCall = { flags, op, out: [] };
  tallyReset(m);
  if (flags & FOLL_PIN) mm.flags |= MMF_HAS_PINNED;
  const end = start + (BigInt(nr) << m.psB);
  gupFastLevel(m, g, 0, mm.root, start, end);
  const fast = g.out.length;
  m.stat.gupFastPages += fast;
  if (fast < nr) m.stat.gupFastBails++;
  let ret = fast;
  if (fast < nr && (flags & FOLL_FAST_ONLY) === 0) {
    const slow = getUserPagesLocked(m, g, mm, start + (BigInt(fast) << m.psB), nr - fast);
    if (slow > 0) {
      m.stat.gupSlowPages += slow;
      ret += slow;
    } else if (fast === 0) {
      ret = slow;
    }
  }
  tallyCommit(m);
  return { ret, fast, pfns: g.out.slice(0, Math.max(ret, 0)) };
}
