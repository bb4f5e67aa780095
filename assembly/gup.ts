// get_user_pages_fast / pin_user_pages_fast (gup_fast_fallback, mm/gup.c):
// the lockless walk first (gup_fast.ts), then the slow path under the mm
// lock, which walks, faults in what is missing and grabs (__get_user_pages).
// Releases are in unpin.ts.

import { H, hdr, lock, unlock, ctxOf } from './base';
import { lv, L, nLevels, pageShift, pred, leafPa } from './arch';
import { pfnToPage, pageFolio } from './mem';
import { gupMustUnshare } from './folio';
import { tryGrabFolio, tallyReset, tallyCommit } from './refcount';
import { isDevmap, followDevmap, putDevPagemap, longtermPinnable, isDeviceCoherent, whatIfDaxSpecial, isP2pdmaPage } from './model';
import { migrateToRam } from './devmem';
import { findVma, faultLocked } from './mm';
import { walkFrom, wCode, wLevel, wEntry, wPtr } from './walk';
import { gNr, gSkew, gFlags, gOp, gupCallBegin, recordSubpages, recordDone, gupFast, folioSetReferenced } from './gup_fast';
import { mmOf } from './mm';
import {
  Header, Ctx, Mm, Vma, Page, P_WRITE, P_SPECIAL, P_PROTNONE,
  FOLL_WRITE, FOLL_PIN, FOLL_GET, FOLL_LONGTERM, FOLL_FAST_ONLY, FOLL_NOFAULT, MMF_HAS_PINNED,
  VM_IO, VM_PFNMAP, VM_WRITE, VM_READ, W_OK, E_FAULT, E_NOMEM, E_INVAL, E_EXIST, E_OPNOTSUPP, E_REMOTEIO, KIND_FSDAX, FOLL_PCI_P2PDMA,
} from './layout';
import { GupIn, GupOut, argsIn, argsOut } from './abi';

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
    if ((v.flags & (VM_IO | VM_PFNMAP)) != 0) return gNr > n0 ? <i32>(gNr - n0) : E_FAULT;
    // FOLL_LONGTERM && vma_is_fsdax: -EOPNOTSUPP (every era)
    if ((gFlags & FOLL_LONGTERM) != 0 && v.kind == KIND_FSDAX) return gNr > n0 ? <i32>(gNr - n0) : E_OPNOTSUPP;
    if ((write && (v.flags & VM_WRITE) == 0) || (!write && (v.flags & VM_READ) == 0)) return gNr > n0 ? <i32>(gNr - n0) : E_FAULT;
    let tries = 0;
    let unshare = false;
    while (true) {
      walkFrom(mmOf(mm).root, addr, mm);
      let ok = wCode == W_OK;
      const d = lv(wLevel);
      const e = wEntry;
      if (ok && (pred(d, P_PROTNONE, e) || (write && !pred(d, P_WRITE, e)))) ok = false;
      if (ok) {
        const size = (<u64>1) << L(wLevel).shift;
        const pfn = (leafPa(d, e) + (addr & (size - 1))) >> ps;
        const isLast = wLevel == nLevels() - 1;
        let page: usize = 0;
        let devmap = false;
        if (isLast && pred(d, P_SPECIAL, e)) {
          // follow_page_pte: vm_normal_page() is NULL for a special pte; a
          // devmap one is followed with its pgmap (get_dev_pagemap, held in
          // the call's context), the zero page as it is, anything else has
          // no struct page: follow_pfn_pte's -EFAULT (FOLL_GET) or -EEXIST
          if (isDevmap(d, e) || (whatIfDaxSpecial(v.kind) && pfn != hdr().zeroPfn)) {
            if (!followDevmap(pfn)) return gNr > n0 ? <i32>(gNr - n0) : E_FAULT;
            devmap = true;
          } else if (pfn != hdr().zeroPfn) {
            return gNr > n0 ? <i32>(gNr - n0) : ((gFlags & FOLL_GET) != 0 ? E_FAULT : E_EXIST);
          }
        } else if (!isLast && isDevmap(d, e)) {
          // follow_devmap_pmd / follow_huge_pud's devmap branch: the pgmap, or -EFAULT
          if (!followDevmap(pfn)) return gNr > n0 ? <i32>(gNr - n0) : E_FAULT;
          devmap = true;
        }
        // (a huge leaf is followed by its pfn, special or not: follow_huge_pmd / follow_huge_pud)
        page = pfnToPage(pfn);
        if (page == 0) return gNr > n0 ? <i32>(gNr - n0) : E_FAULT;
        // a huge leaf hands out every remaining subpage at once (ctx->page_mask),
        // except a legacy devmap PMD: follow_devmap_pmd sets no page_mask, one page a call
        let take = <u32>((size - (addr & (size - 1))) >> ps);
        if (take > left) take = left;
        if (devmap && wLevel == nLevels() - 2) take = 1;
        const folio = pageFolio(page);
        // __gup_longterm_locked -> check_and_migrate_movable_folios: a device-coherent
        // page may not be pinned long-term; it is migrated to RAM
        // (migrate_device_coherent_folio) and the walk starts again
        if ((gFlags & FOLL_LONGTERM) != 0 && isLast && !longtermPinnable(folio) && isDeviceCoherent(folio)) {
          if (++tries > 3) return gNr > n0 ? <i32>(gNr - n0) : E_FAULT;
          const r = migrateToRam(mm, addr, wPtr, e, gOp);
          if (r < 0) return gNr > n0 ? <i32>(gNr - n0) : r;
          continue;
        }
        // follow_huge_pmd / follow_huge_pud test the leaf's head page, follow_page_pte the page;
        // -EMLINK -> faultin_page(unshare). The devmap huge paths do not ask.
        if (!(devmap && !isLast) && !pred(d, P_WRITE, e) && gupMustUnshare(gFlags, isLast ? page : folio, vp)) {
          ok = false;
          unshare = true;
        } else {
          // try_grab_folio: !FOLL_PCI_P2PDMA && is_pci_p2pdma_page -> -EREMOTEIO
          if ((gFlags & FOLL_PCI_P2PDMA) == 0 && isP2pdmaPage(folio)) return gNr > n0 ? <i32>(gNr - n0) : E_REMOTEIO;
          if (!tryGrabFolio(folio, <i32>take, gFlags)) return gNr > n0 ? <i32>(gNr - n0) : E_NOMEM;
          folioSetReferenced(folio);
          store<u64>(folio, gOp, offsetof<Page>("last_op"));
          recordSubpages(pfn, take);
          recordDone(take);
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
  o.entries = 0;
  if (((flags & FOLL_GET) != 0) == ((flags & FOLL_PIN) != 0)) return E_INVAL;
  // is_valid_gup_args: LONGTERM can only be specified when pinning (WARN, -EINVAL)
  if ((flags & (FOLL_LONGTERM | FOLL_PIN)) == FOLL_LONGTERM) return E_INVAL;
  // "We want to allow the pgmap to be hot-unplugged at all times": LONGTERM with PCI_P2PDMA
  if ((flags & (FOLL_LONGTERM | FOLL_PCI_P2PDMA)) == (FOLL_LONGTERM | FOLL_PCI_P2PDMA)) return E_INVAL;
  if (nr > c.outCap) return E_INVAL;
  gupCallBegin(c.out, flags, opId);
  tallyReset();
  // mm_set_has_pinned_flag: test_bit before set_bit, so that pins of one mm
  // on many threads do not all write its flags word
  if ((flags & FOLL_PIN) != 0 && (atomic.load<u32>(mm + offsetof<Mm>("flags")) & MMF_HAS_PINNED) == 0) {
    atomic.or<u32>(mm + offsetof<Mm>("flags"), MMF_HAS_PINNED);
  }
  const fast = gupFast(ctx, mm, start, nr);
  o.fast = fast;
  atomic.add<u64>(ctx + offsetof<Ctx>("statGupFastPages"), fast);   // per context: see Ctx
  if (fast < nr) atomic.add<u64>(ctx + offsetof<Ctx>("statGupFastBails"), 1);
  let ret: i32 = <i32>fast;
  if (fast < nr && (flags & FOLL_FAST_ONLY) == 0) {
    const lk = mm + offsetof<Mm>("lock");
    lock(lk);
    const slow = getUserPagesLocked(mm, start + ((<u64>fast) << pageShift()), nr - fast);
    unlock(lk);
    putDevPagemap();                              // __get_user_pages: put the context's pgmap
    if (slow > 0) {
      atomic.add<u64>(ctx + offsetof<Ctx>("statGupSlowPages"), <u64>slow);
      ret += slow;
    } else if (fast == 0) {
      ret = slow;
    }
  }
  tallyCommit(ctx);
  o.ret = ret;
  o.entries = gNr - gSkew;
  return ret;
}
