// Device-private and device-coherent memory in address spaces
// (mm/migrate_device.c, v6.12): an anon page moved to a device page
// (migrate_vma_setup / _pages / _finalize, as lib/test_hmm.c and nouveau do
// it), the CPU's fault that moves it back (do_swap_page -> the pgmap's
// ops->migrate_to_ram), and what zap does with the entry.
//
// A device-private page is mapped by a non-present swap-style entry
// (make_writable_device_private_entry: the arch's __swp_entry of
// SWP_DEVICE_WRITE / SWP_DEVICE_READ and the pfn; arch.ts), holding a
// reference, a mapcount and MM_ANONPAGES like the anon page it replaced; a
// device-coherent page by a normal present pte. gup-fast never takes a
// device-private entry (pte_access_permitted fails on a non-present pte); the
// slow path faults it back to RAM first.

import { H, readEntry, writeEntry, xchgEntry, lock, unlock, beginOp } from './base';
import {
  lv, L, nLevels, pageShift, leafPa, mkLeaf, pred, mkDevicePrivateEntry, isSwapEntry, isDevicePrivateEntry,
  isWritableDevicePrivateEntry, swpOffsetPfn,
} from './arch';
import { pfnToPage, pageToPfn, pageFolio, allocPages, folioTestLarge, refcountPtr, mapcountPtr, setFlag, testFlag } from './mem';
import { folioRefAdd, folioRefSubReturn, folioRemoveRmapPte, folioPutRefs, setPageCount, folioAddRmapPte } from './refcount';
import { MODEL, deviceIdleRefcount, pagesHoldPgmapRef } from './model';
import { pgmapOf, pgmapState, pgmapChecked, pgmapRefTryget, pgmapRefGet, pgmapRefPut, driverPage, devicePagePut, pagePgmap, privateOrCoherent } from './pgmap';
import { mmOf, initNewFolio } from './mm';
import { walkFrom, wCode, wLevel, wEntry, wPtr, walkAlloc, allocStatus } from './walk';
import {
  Header, Mm, Page, P_WRITE, P_SPECIAL, PAGE_MAPPING_ANON, PG_anon_exclusive, PG_locked, PGMAP_LIVE,
  MEMORY_DEVICE_PRIVATE, T_RO, T_RW, W_OK, OP_DEVPAGE, OK, E_INVAL, E_BUSY, E_FAULT, E_NOMEM, E_EXIST, E_NOTABLE, E_BADTABLE,
  MODEL_LEGACY,
} from './layout';
import { MigrateIn, argsIn } from './abi';

// migrate_vma for one page: the anon page mapped at addr moves to the free
// device page pfn of a private or coherent pgmap.
export function migrateToDevice(ctx: usize): i32 {
  const a = argsIn<MigrateIn>(ctx);
  const mm = <usize>a.mm;
  const p = pgmapChecked(a.pgmap, a.gen);
  if (p == 0 || pgmapState(p) != PGMAP_LIVE || !privateOrCoherent(pgmapOf(p).type)) return E_INVAL;
  const g = pgmapOf(p);
  const dev = driverPage(p, a.pfn);
  if (dev == 0) return E_INVAL;
  const ps = pageShift();
  const op = beginOp(ctx, OP_DEVPAGE, mm, a.addr, (<u64>1) << ps);
  lock(mm + offsetof<Mm>("lock"));
  const r = migrateLocked(mm, p, dev, a.addr, a.pfn, op);
  unlock(mm + offsetof<Mm>("lock"));
  return r;
}

function migrateLocked(mm: usize, p: usize, dev: usize, va: u64, pfn: u64, op: u32): i32 {
  const g = pgmapOf(p);
  const last = nLevels() - 1;
  walkFrom(mmOf(mm).root, va, mm);
  // migrate_vma_collect: a present, normal pte of an order-0 anon page
  if (wCode != W_OK || wLevel != last) return E_FAULT;
  const d = lv(last);
  const e = wEntry;
  const ptep = wPtr;
  if (pred(d, P_SPECIAL, e)) return E_FAULT;
  const src = pfnToPage(leafPa(d, e) >> pageShift());
  if (src == 0 || folioTestLarge(src) || (load<u64>(src, offsetof<Page>("mapping")) & PAGE_MAPPING_ANON) == 0) return E_FAULT;
  // migrate_vma_check_page: no reference beyond its mappings (a pin, a get) or it stays
  if (atomic.load<i32>(refcountPtr(src)) != atomic.load<i32>(mapcountPtr(src)) + 1) return E_BUSY;
  // the driver's free device page (dmirror_devmem_alloc_page): zone_device_page_init
  if (testFlag(dev, PG_locked) || atomic.load<i32>(refcountPtr(dev)) != deviceIdleRefcount(g.type)) return E_BUSY;
  if (pagesHoldPgmapRef(g.type)) {
    if (!pgmapRefTryget(p, 1, true)) return E_INVAL;
    setPageCount(dev, 1);
  } else {
    folioRefAdd(dev, 1);                                     // v6.0: get_page of a page idle at 1
  }
  // migrate_vma_pages: the device page takes the anon mapping and its flags
  const sp = changetype<Page>(src), dp = changetype<Page>(dev);
  dp.mapping = sp.mapping;
  dp.index = sp.index;
  if (testFlag(src, PG_anon_exclusive)) setFlag(dev, PG_anon_exclusive);
  // remove_migration_ptes: folio_get and the anon rmap (folio_add_anon_rmap_pte);
  // migrate_vma_finalize puts the allocation's reference (the mapping's stays)
  folioAddRmapPte(dev, dev);
  dp.last_op = op;
  const writable = pred(d, P_WRITE, e);
  xchgEntry(ptep, g.type == MEMORY_DEVICE_PRIVATE ? mkDevicePrivateEntry(pfn, writable) : mkLeaf(d, pfn << pageShift(), writable ? T_RW : T_RO));
  atomic.add<u64>(H + offsetof<Header>("statTlbFlushes"), 1);
  // the source page: unmapped, its reference dropped (freed)
  folioRemoveRmapPte(src, src);
  sp.last_op = op;
  folioPutRefs(src, 1);
  return OK;
}

// Move the device page mapped by the pte at ptep (entry e) back to a new
// anon RAM page: ops->migrate_to_ram (a device-private entry, from
// do_swap_page) or migrate_device_coherent_folio (a coherent page a
// FOLL_LONGTERM pin must not hold). MM_ANONPAGES is unchanged.
export function migrateToRam(mm: usize, va: u64, ptep: usize, e: u64, opId: u32): i32 {
  const d = lv(nLevels() - 1);
  const priv = isSwapEntry(d, e) && isDevicePrivateEntry(e);
  const pfn = priv ? swpOffsetPfn(e) : leafPa(d, e) >> pageShift();
  const dev = pfnToPage(pfn);
  if (dev == 0) return E_FAULT;
  const p = pagePgmap(dev);
  if (p == 0) return E_FAULT;
  const np = allocPages(0);
  if (np == 0) return E_NOMEM;
  const writable = priv ? isWritableDevicePrivateEntry(e) : pred(d, P_WRITE, e);
  initNewFolio(np, 0, mm, va & ~(((<u64>1) << pageShift()) - 1), opId, false);
  xchgEntry(ptep, mkLeaf(d, pageToPfn(np) << pageShift(), writable ? T_RW : T_RO));
  atomic.add<u64>(H + offsetof<Header>("statTlbFlushes"), 1);
  folioRemoveRmapPte(dev, dev);
  changetype<Page>(dev).last_op = opId;
  devicePagePut(p, dev);                                     // free_zone_device_folio (page_free, put_dev_pagemap)
  return OK;
}

// zap_nonpresent_ptes (v6.12 mm/memory.c) for a device-private entry: the
// rmap and MM_ANONPAGES go and the page is put at once (no TLB batching for a
// non-present entry). False for any other non-present entry.
export function zapDevicePrivate(mm: usize, d: usize, e: u64): bool {
  if (!isSwapEntry(d, e) || !isDevicePrivateEntry(e)) return false;
  const dev = pfnToPage(swpOffsetPfn(e));
  if (dev == 0) return true;
  const p = pagePgmap(dev);
  folioRemoveRmapPte(dev, dev);
  mmOf(mm).rssAnon -= 1;
  if (p != 0) devicePagePut(p, dev);
  else folioPutRefs(dev, 1);
  return true;
}

// The checker: the device page a device-private entry maps, or 0.
export function devicePrivatePfn(d: usize, e: u64): u64 {
  return isSwapEntry(d, e) && isDevicePrivateEntry(e) ? swpOffsetPfn(e) : u64.MAX_VALUE;
}

// p2pmem_alloc_mmap (v6.12 drivers/pci/p2pdma.c) for [start, end) of mm,
// from page pfn of a P2PDMA pgmap on: each page comes from the provider's
// pool (a pgmap reference per page, put by p2pdma_page_free), is inserted
// with vm_insert_page (folio_get, MM_FILEPAGES, the file rmap; VM_MIXEDMAP)
// and put again: mapped, a page holds 1 in both eras (legacy: idle at 1, +1
// -1; unified: idle at 0, the allocator's set_page_count(1), +1 -1).
export function p2pmemMmap(mm: usize, p: usize, start: u64, end: u64, pfn: u64, writable: bool, opId: u32): i32 {
  const ps = pageShift();
  const last = nLevels() - 1;
  const d = lv(last);
  if (!pgmapRefTryget(p, 1, true)) return E_INVAL;           // percpu_ref_tryget_live_rcu: -ENODEV
  let r = OK;
  for (let va = start; va < end; va += (<u64>1) << ps) {
    const q = pfn + ((va - start) >> ps);
    const page = pfnToPage(q);
    // gen_pool_alloc_owner: a page no mapping and no allocation holds
    if (page == 0 || atomic.load<i32>(mapcountPtr(page)) != -1 || atomic.load<i32>(refcountPtr(page)) != deviceIdleRefcount(pgmapOf(p).type)) { r = E_BUSY; break; }
    const ep = walkAlloc(mm, va, last, opId);
    if (ep == 0) { r = allocStatus == E_NOTABLE || allocStatus == E_BADTABLE ? allocStatus : E_EXIST; break; }
    if (readEntry(ep) != L(last).emptyValue) { r = E_EXIST; break; }
    pgmapRefGet(p, 1);
    if (MODEL != MODEL_LEGACY) setPageCount(page, 1);
    folioRefAdd(page, 1);                                    // vm_insert_page -> insert_page_into_pte_locked
    folioAddRmapPte(page, page);
    mmOf(mm).rssFile += 1;
    changetype<Page>(page).last_op = opId;
    writeEntry(ep, mkLeaf(d, q << ps, writable ? T_RW : T_RO));
    folioRefSubReturn(page, 1);                              // put_page
  }
  pgmapRefPut(p, 1);
  return r;
}
