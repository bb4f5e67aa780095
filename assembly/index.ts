// The core's exported operations. Every operation takes the calling
// thread's context: its input record at ctx + CTX_IN, its output record at
// ctx + CTX_OUT (assembly/abi.ts), status returned.

export * from './layout';

import { H, attachTo, hdr, arch, ctxOf, beginOp, lock, unlock, recoverAfterTrap, useCtx, useArch, BE } from './base';
import { L, nLevels, pageShift, lv, isLeaf, leafPa, tablePa, isTable, mkTable, addrEnd } from './arch';
import {
  sectionsAdd, pfnLinear, pfnToPage, pageFolio, folioTestLarge, zoneInit, poolInit, markReserved, allocTable, freeTable, AUX_SIZE,
  FLAGS_SECTION_SHIFT, poolClaimRaw, claimBusyPa, rootBad,
} from './mem';
import { mmOf, vmaInsert, vmaRemoveRange, leafLevelFor, faultLocked, remapPfnRange, vmaAt } from './mm';
import { walkFrom, walkCheckedInline, wLevel, wEntry, wCode, wPtr, wWhy } from './walk';
import { gup as gupImpl } from './gup';
import { unpin as unpinImpl, unpinLoopRound } from './unpin';
import { zapRange, partialHugeLeaf } from './zap';
import { checkInvariants } from './inv';
import { refreshZeroPage } from './folio';
import { setPageRefcounted, pageMapcountReset, injectCount } from './refcount';
import { modelAttach } from './model';
import {
  Header, Ctx, Mm, Vma, Page, MM_SIZE, PAGE_SIZE_BYTES, W_OK, W_BADVA, OP_RAW,
  INJECT_REFCOUNT, INJECT_MAPCOUNT, INJECT_PINCOUNT,
  OK, E_INVAL, E_NOSPC, E_NOTABLE, E_FAULT, E_EXIST, E_SPLIT, E_RANGE, E_BADTABLE, W_BADTABLE, PARENT_ROOT, PARENT_SHARED,
  OP_FAULT, OP_GUP, OP_UNPIN, OP_ZAP, OP_MUNMAP, OP_MMAP, OP_POPULATE, OP_INIT,
  KIND_ANON, KIND_HUGETLB, KIND_PFNMAP, KIND_DEVDAX, VM_PFNMAP, VM_HUGETLB, VM_WRITE, VM_SHARED, FOLL_PIN, GUP_RELEASE_OWN,
  GUP_OUT_RUNS, PGMAP_LIVE, MEMORY_DEVICE_GENERIC, KIND_FSDAX, KIND_P2PDMA, MEMORY_DEVICE_PCI_P2PDMA, VM_MIXEDMAP,
} from './layout';
import { pgmapChecked, pgmapOf, pgmapState } from './pgmap';
import {
  MachineInitIn, MmCreateOut, MmDestroyIn, MmapIn, MunmapIn, ZapIn, FaultIn, PopulateIn, PopulateOut, GupIn, GupOut, UnpinIn,
  LoopIn, LoopOut, WalkIn, WalkRawIn, WalkOut, RecoverOut, ClaimRawIn, ClaimRawOut, CheckOut, PageIn, PageOut, InjectIn,
  WalkManyIn, WalkManyOut, argsIn, argsOut,
} from './abi';

export { memremapPages, memunmapBegin, memunmapFinish, pgmapRef, devPageInit, devPagePut } from './pgmap';
export { daxFileCreate, daxBreak, daxTruncate, daxEvict } from './dax';
export { migrateToDevice } from './devmem';
import { p2pmemMmap } from './devmem';
import { daxFileChecked } from './dax';
export { swpEntry } from './swp';

export function attach(header: usize): void {
  attachTo(header);
  modelAttach();
  if (hdr().zeroPfn != 0) refreshZeroPage();
}

// Highest address of the module's own static data; the host checks it is below RESERVE.
export function heapBase(): usize {
  return __heap_base;
}

// ---------------------------------------------------------------- machine
export function machineInit(ctx: usize): i32 {
  const h = hdr();
  const a = argsIn<MachineInitIn>(ctx);
  beginOp(ctx, OP_INIT, 0, 0, 0);
  const poolPfns = a.poolPfns;
  const r = sectionsAdd(0, h.ramPfns);
  if (r < 0) return r;
  markReserved(0, poolPfns + 1);
  for (let pfn: u64 = 0; pfn <= poolPfns; pfn++) setPageRefcounted(pfnToPage(pfn));
  h.zeroPfn = poolPfns;                    // the shared zero page: reserved, refcount 1
  refreshZeroPage();
  h.zoneStartPfn = poolPfns + 1;
  h.zoneEndPfn = h.ramPfns;
  zoneInit(h.zoneStartPfn, h.zoneEndPfn);
  const first = (<u32>1) << pageShift();   // frame 0 is never a table
  poolInit(first > (1 << h.poolMaxShift) ? first : (1 << h.poolMaxShift), h.poolBytes);
  // Levels whose empty entries point at a shared invalid table (loongarch
  // invalid_pte_table, invalid_pmd_table, ...): build them bottom up, each
  // filled with the empty entries of the level below.
  for (let l: i32 = <i32>nLevels() - 2; l >= 0; l--) {
    const d = L(<u32>l);
    if (d.emptyTable == 0) continue;
    const t = allocTable(<u32>l + 1, 0, PARENT_SHARED, 0);
    if (t == 0) return E_NOTABLE;
    d.emptyValue = mkTable(lv(<u32>l), t);
  }
  return OK;
}

// ---------------------------------------------------------------- mm
export function mmCreate(ctx: usize): i32 {
  const h = hdr();
  const o = argsOut<MmCreateOut>(ctx);
  for (let i: u32 = 0; i < h.mmCount; i++) {
    const mm = h.mmBase + i * MM_SIZE;
    const m = mmOf(mm);
    if (m.inUse != 0) continue;
    const op = beginOp(ctx, OP_MMAP, mm, 0, 0);
    const root = allocTable(0, op, PARENT_ROOT, i + 1);
    if (root == 0) return E_NOTABLE;
    m.inUse = 1;
    m.lock = 0;
    m.writeProtectSeq = 0;
    m.flags = 0;
    m.nrVmas = 0;
    m.id = i + 1;
    m.root = root;
    m.rssAnon = 0;
    m.rssFile = 0;
    m.hugetlbUsage = 0;
    m.pgtablesBytes = L(0).tableBytes;
    o.mm = <u32>mm;
    o.root = root;
    return OK;
  }
  return E_NOSPC;
}

@inline function userTop(): u64 { return (<u64>1) << arch().userVaBits; }

// exit_mmap, everything unmapped and every table freed.
export function mmDestroy(ctx: usize): i32 {
  const mm = <usize>argsIn<MmDestroyIn>(ctx).mm;
  const m = mmOf(mm);
  if (m.inUse == 0) return E_INVAL;
  const op = beginOp(ctx, OP_MUNMAP, mm, 0, userTop());
  lock(mm + offsetof<Mm>("lock"));
  const r = zapRange(ctx, mm, 0, userTop(), true, 0, true, op);
  if (r != OK) {                               // a table link it will not follow: nothing freed
    unlock(mm + offsetof<Mm>("lock"));
    return r;
  }
  freeTable(0, m.root);
  m.nrVmas = 0;
  m.inUse = 0;
  unlock(mm + offsetof<Mm>("lock"));
  return OK;
}

export function mmap(ctx: usize): i32 {
  const a = argsIn<MmapIn>(ctx);
  const mm = <usize>a.mm;
  const start = a.start, len = a.len, end = start + len;
  let flags = a.flags;
  const kind = a.kind, pfn = a.pfn;
  let order = a.order;
  let pg: u32 = 0;
  let file: u32 = 0;
  const ps = pageShift();
  if (len == 0 || end < start || end > userTop()) return E_INVAL;
  if (((start | len) & ((<u64>1 << ps) - 1)) != 0) return E_INVAL;
  if (leafLevelFor(order) < 0) return E_INVAL;
  if (kind == KIND_HUGETLB) {
    if (order == 0) return E_INVAL;
    if (((start | len) & ((<u64>1 << (ps + order)) - 1)) != 0) return E_INVAL;
    flags |= VM_HUGETLB;
  } else if (kind == KIND_PFNMAP) {
    if (order != 0) return E_INVAL;
    flags |= VM_PFNMAP;
  } else if (kind == KIND_DEVDAX) {
    const r = devdaxMmapCheck(a.pgmap, a.gen, flags, start, len, pfn);
    if (r != OK) return r;
    pg = <u32>pgmapChecked(a.pgmap, a.gen);
    order = pgmapOf(<usize>pg).vmemmapShift;
  } else if (kind == KIND_P2PDMA) {
    // p2pmem_alloc_mmap: a shared mapping of a live P2PDMA pgmap's pages, inserted now (VM_MIXEDMAP)
    const p = pgmapChecked(a.pgmap, a.gen);
    if (p == 0 || pgmapState(p) != PGMAP_LIVE || pgmapOf(p).type != MEMORY_DEVICE_PCI_P2PDMA || (flags & VM_SHARED) == 0 || order != 0) return E_INVAL;
    const g = pgmapOf(p);
    if (pfn < g.startPfn || pfn >= g.endPfn || (len >> ps) > g.endPfn - pfn) return E_INVAL;
    pg = <u32>p;
    flags |= VM_MIXEDMAP;
  } else if (kind == KIND_FSDAX) {
    // a DAX file: pfn is vm_pgoff; faults try the PMD order unless order 0 (VM_NOHUGEPAGE)
    file = <u32>daxFileChecked(a.pgmap, a.gen);
    if (file == 0 || (order != 0 && order != <u32>(L(nLevels() - 2).shift - ps))) return E_INVAL;
  } else if (kind != KIND_ANON) {
    return E_INVAL;
  }
  const op = beginOp(ctx, OP_MMAP, mm, start, len);
  lock(mm + offsetof<Mm>("lock"));
  let r = vmaInsert(mm, start, end, flags, kind, order, pfn, pg, file);
  if (r == OK && (kind == KIND_PFNMAP || kind == KIND_P2PDMA)) {
    r = kind == KIND_PFNMAP ? remapPfnRange(mm, start, end, pfn, (flags & VM_WRITE) != 0, op)
      : p2pmemMmap(mm, <usize>pg, start, end, pfn, (flags & VM_WRITE) != 0, op);
    if (r != OK) {
      zapRange(ctx, mm, start, end, true, op, true, op);   // nothing half-built
      vmaRemoveRange(mm, start, end);
    }
  }
  unlock(mm + offsetof<Mm>("lock"));
  return r;
}

// dax_mmap -> check_vma, and the device's align (dax_align_valid): a live
// device-DAX pgmap; a shared mapping ("attempted private mapping"); start and
// end aligned to the align ("unaligned vma"); an align of PAGE_SIZE, PMD_SIZE
// or, with CONFIG_HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD, PUD_SIZE; and pgoff
// (the first pfn) inside the device, at a folio boundary.
function devdaxMmapCheck(pgmap: u32, gen: u32, flags: u32, start: u64, len: u64, pfn: u64): i32 {
  const p = pgmapChecked(pgmap, gen);
  if (p == 0 || pgmapState(p) != PGMAP_LIVE) return E_INVAL;
  const g = pgmapOf(p);
  if (g.type != MEMORY_DEVICE_GENERIC || (flags & VM_SHARED) == 0) return E_INVAL;
  const ps = pageShift();
  const o = g.vmemmapShift;
  const l = leafLevelFor(o);
  const last = <i32>nLevels() - 1;
  if (l < 0 || l < last - 2 || (l == last - 2 && hdr().thpPud == 0)) return E_INVAL;
  if (((start | len) & (((<u64>1) << (ps + o)) - 1)) != 0) return E_INVAL;
  if (pfn < g.startPfn || pfn >= g.endPfn || (len >> ps) > g.endPfn - pfn) return E_INVAL;
  if (((pfn - g.startPfn) & (((<u64>1) << o) - 1)) != 0) return E_INVAL;
  return OK;
}

// Refuse ranges that would need a huge leaf or a hugetlb VMA split (or a
// device-DAX VMA split off its align: dev_dax_may_split).
function checkUnmapRange(mm: usize, start: u64, end: u64): i32 {
  const m = mmOf(mm);
  for (let i: u32 = 0; i < m.nrVmas; i++) {
    const v = changetype<Vma>(vmaAt(mm, i));
    if (v.end <= start || v.start >= end || (v.kind != KIND_HUGETLB && v.kind != KIND_DEVDAX)) continue;
    const mask = ((<u64>1) << (pageShift() + v.order)) - 1;
    if ((start > v.start && (start & mask) != 0) || (end < v.end && (end & mask) != 0)) return E_INVAL;
  }
  if (partialHugeLeaf(mm, start, end)) return E_SPLIT;
  return OK;
}

// free_pgtables' floor and ceiling for unmapping [start, end): the end of the
// mapping below it and the start of the one above (0: none above), as they
// will be once [start, end) is gone.
let gFloorOut: u64 = 0;
function unmapCeiling(mm: usize, start: u64, end: u64): u64 {
  const m = mmOf(mm);
  let floor: u64 = 0, ceiling: u64 = 0;
  for (let i: u32 = 0; i < m.nrVmas; i++) {
    const v = changetype<Vma>(vmaAt(mm, i));
    if (v.start < start) { const f = v.end < start ? v.end : start; if (f > floor) floor = f; }
    if (v.end > end) { const c = v.start > end ? v.start : end; if (ceiling == 0 || c < ceiling) ceiling = c; }
  }
  gFloorOut = floor;
  return ceiling;
}

// munmap (entries, tables and VMAs); MunmapIn.gen: a failed populate's
// operation, whose empty tables go too (0: none)
export function munmap(ctx: usize): i32 {
  const a = argsIn<MunmapIn>(ctx);
  const mm = <usize>a.mm;
  const start = a.start, len = a.len, end = start + len, gen = a.gen;
  if (len == 0 || end < start || end > userTop() || ((start | len) & ((<u64>1 << pageShift()) - 1)) != 0) return E_INVAL;
  const op = beginOp(ctx, OP_MUNMAP, mm, start, len);
  lock(mm + offsetof<Mm>("lock"));
  let r = checkUnmapRange(mm, start, end);
  if (r == OK) {
    // a split needs a free VMA slot: check before any entry is touched
    const m = mmOf(mm);
    for (let i: u32 = 0; i < m.nrVmas; i++) {
      const v = changetype<Vma>(vmaAt(mm, i));
      if (v.start < start && v.end > end && m.nrVmas >= hdr().vmaPerMm) r = E_NOSPC;
    }
  }
  if (r == OK) {
    const ceiling = unmapCeiling(mm, start, end);
    r = zapRange(ctx, mm, start, end, true, 0, true, op, gFloorOut, ceiling, gen);
  }
  if (r == OK) r = vmaRemoveRange(mm, start, end);
  unlock(mm + offsetof<Mm>("lock"));
  return r;
}

// zap_page_range_single (MADV_DONTNEED): the VMAs and tables stay
export function zap(ctx: usize): i32 {
  const a = argsIn<ZapIn>(ctx);
  const mm = <usize>a.mm;
  const start = a.start, len = a.len, end = start + len;
  if (len == 0 || end < start || end > userTop() || ((start | len) & ((<u64>1 << pageShift()) - 1)) != 0) return E_INVAL;
  const op = beginOp(ctx, OP_ZAP, mm, start, len);
  lock(mm + offsetof<Mm>("lock"));
  let r = checkUnmapRange(mm, start, end);
  if (r == OK) r = zapRange(ctx, mm, start, end, false, 0, true, op);
  unlock(mm + offsetof<Mm>("lock"));
  return r;
}

// One fault; tables it allocated are taken back if it fails.
function faultOne(ctx: usize, mm: usize, va: u64, write: bool, op: u32): i32 {
  const r = faultLocked(mm, va, write, op);
  if (r < 0) {
    const ps = pageShift();
    const base = va & ~(((<u64>1) << ps) - 1);
    zapRange(ctx, mm, base, base + ((<u64>1) << ps), true, op, false, op);
  }
  return r;
}

export function fault(ctx: usize): i32 {
  const a = argsIn<FaultIn>(ctx);
  const mm = <usize>a.mm, addr = a.addr;
  if (addr >= userTop()) return E_FAULT;
  const op = beginOp(ctx, OP_FAULT, mm, addr, 1);
  lock(mm + offsetof<Mm>("lock"));
  const r = faultOne(ctx, mm, addr, a.write != 0, op);
  unlock(mm + offsetof<Mm>("lock"));
  return r;
}

// MADV_POPULATE_(READ|WRITE), a fault per leaf. Each fault is whole; on
// failure PopulateOut.done holds the bytes populated before it.
export function populate(ctx: usize): i32 {
  const a = argsIn<PopulateIn>(ctx);
  const o = argsOut<PopulateOut>(ctx);
  const mm = <usize>a.mm;
  const start = a.start, len = a.len, end = start + len, write = a.write != 0;
  if (len == 0 || end < start || end > userTop()) return E_INVAL;
  const op = beginOp(ctx, OP_POPULATE, mm, start, len);
  lock(mm + offsetof<Mm>("lock"));
  let va = start & ~(((<u64>1) << pageShift()) - 1);
  let r = OK;
  while (va < end) {
    r = faultOne(ctx, mm, va, write, op);
    if (r < 0) break;
    walkFrom(mmOf(mm).root, va, mm);
    // on to the next leaf's start (pXd_addr_end with no end: 0 is the top)
    va = addrEnd(va, 0, (<u64>1) << L(wCode == W_OK ? wLevel : nLevels() - 1).shift);
  }
  o.done = (va < end ? va : end) - start;
  o.at = va;                                   // where it stopped (the failing fault's address)
  unlock(mm + offsetof<Mm>("lock"));
  return r;
}

// ---------------------------------------------------------------- gup
export function gup(ctx: usize): i32 {
  const a = argsIn<GupIn>(ctx);
  a.start &= ~(((<u64>1) << pageShift()) - 1);   // gup_fast_fallback: start = untagged_addr(start) & PAGE_MASK
  const op = beginOp(ctx, OP_GUP, a.mm, a.start, (<u64>a.nr) << pageShift());
  return gupImpl(ctx, op);
}

export function unpin(ctx: usize): i32 {
  beginOp(ctx, OP_UNPIN, 0, 0, argsIn<UnpinIn>(ctx).n);
  return unpinImpl(ctx);
}

// One round of a loop: gup `nr` pages from `start`, then release what it took.
// The loop hands gup and unpin their input records as the host would (its
// own LoopIn is read before the first round). -> pages taken, or < 0: the
// release failed (its status).
function gupUnpinRound(ctx: usize, mm: u32, start: u64, nr: u32, flags: u32): i32 {
  const g = argsIn<GupIn>(ctx);
  g.mm = mm; g.start = start; g.nr = nr; g.flags = flags;
  const op = beginOp(ctx, OP_GUP, mm, start, (<u64>nr) << pageShift());
  const got = gupImpl(ctx, op);
  if (got <= 0) return 0;                     // nothing mapped there right now (-EFAULT)
  const entries = argsOut<GupOut>(ctx).entries;
  const u = argsIn<UnpinIn>(ctx);
  u.n = entries; u.flags = flags | GUP_RELEASE_OWN;   // what gup just handed this context
  beginOp(ctx, OP_UNPIN, 0, 0, <u64>entries);
  const r = unpinLoopRound(ctx);
  return r < 0 ? r : got;
}

// A worker's loop: LoopIn.rounds rounds of gup (LoopIn.flags) over
// [start, start + nr pages) then its release, all inside the core. LoopOut:
// pages taken in all, rounds that came up short (or took nothing: the range
// may be unmapped by a racing thread), rounds done. Ctx.stop is a stop
// request: any other thread may set it non-zero, and the loop ends at the
// next round boundary (holding nothing). The sweep below over a span of
// exactly nr pages.
export function gupUnpinLoop(ctx: usize): i32 {
  const a = argsIn<LoopIn>(ctx);
  return gupLoop(ctx, <u64>a.nr);
}

// A sweep in gup_test's calls (mm/gup_test.c __gup_test_ioctl): LoopIn.rounds
// calls, each gup (LoopIn.flags) of up to `nr` pages then their release,
// walking [start, start + span pages) call by call and starting over at its
// end; the last call of a sweep takes what is left (min(nr, remaining)). Each
// call's pages are released before the next call: gup_test's own two phases,
// get then put, are gupGetPhase and unpin. LoopOut and the stop request as
// gupUnpinLoop.
export function gupSweepLoop(ctx: usize): i32 {
  const a = argsIn<LoopIn>(ctx);
  if (a.span == 0) return E_INVAL;
  return gupLoop(ctx, a.span);
}

function gupLoop(ctx: usize, span: u64): i32 {
  const a = argsIn<LoopIn>(ctx);
  const o = argsOut<LoopOut>(ctx);
  const mm = a.mm, start = a.start, flags = a.flags, calls = a.rounds;
  const nr = <u64>a.nr;
  if (nr == 0 || nr > <u64>ctxOf(ctx).outCap) return E_INVAL;
  let total: u64 = 0, short: u64 = 0, off: u64 = 0;
  let i: u32 = 0;
  let r: i32 = OK;
  for (; i < calls; i++) {
    if (atomic.load<u32>(ctx + offsetof<Ctx>("stop")) != 0) break;
    const n = span - off < nr ? span - off : nr;
    const got = gupUnpinRound(ctx, mm, start + (off << pageShift()), <u32>n, flags);
    off += n;
    if (off >= span) off = 0;
    if (got < 0) { r = got; break; }
    total += <u64>got;
    if (<u64>got < n) short++;
  }
  o.pages = total;
  o.short = short;
  o.rounds = i;
  return r;
}

// gup_test's get phase (v6.12 mm/gup_test.c __gup_test_ioctl, its timed gup
// loop): gup (LoopIn.flags) calls of LoopIn.nr pages through [start, start +
// span pages), the last call taking what is left, each call's pfns stored in
// Ctx.out after the previous call's (gup_test's `pages + i`), so that the
// references of the whole phase are held when it returns. As in gup_test,
// the phase ends after a call that took fewer pages than it asked for (or
// none). The put phase is the unpin export over the LoopOut.pages entries it
// left (GUP_RELEASE_OWN): put_back_pages' unpin_user_pages, or a put per
// page, of the whole array. span is at most Ctx.outCap (the host splits a
// longer range into phases); GUP_OUT_RUNS is refused (one pfn per page, as
// gup_test's pages[]); LoopIn.rounds is not read. LoopOut: pages held,
// short (1: a call came up short), rounds = calls made. A stop request
// (Ctx.stop) ends the phase at a call boundary, what it took still held.
// During the phase Ctx.out and Ctx.outCap name the free part of the array
// (gup writes at Ctx.out); recover() puts them back after a trap.
let phaseOut: u32 = 0;       // this instance's Ctx.out, Ctx.outCap while a get phase runs
let phaseCap: u32 = 0;

export function gupGetPhase(ctx: usize): i32 {
  const a = argsIn<LoopIn>(ctx);
  const c = ctxOf(ctx);
  const mm = a.mm, start = a.start, flags = a.flags, span = a.span;
  const nr = <u64>a.nr;
  const out = c.out, cap = c.outCap;
  if (nr == 0 || nr > <u64>cap || span == 0 || span > <u64>cap || (flags & GUP_OUT_RUNS) != 0) {
    const o = argsOut<LoopOut>(ctx);
    o.pages = 0; o.short = 0; o.rounds = 0;
    return E_INVAL;
  }
  phaseOut = out;
  phaseCap = cap;
  let held: u32 = 0, calls: u32 = 0, short: u64 = 0;
  let off: u64 = 0;
  while (off < span) {
    if (atomic.load<u32>(ctx + offsetof<Ctx>("stop")) != 0) break;
    const n = span - off < nr ? span - off : nr;
    c.out = out + (held << 3);
    c.outCap = cap - held;
    // the loop's own LoopIn was read above: gup's GupIn overlays it
    const g = argsIn<GupIn>(ctx);
    const va = start + (off << pageShift());
    g.mm = mm; g.start = va; g.nr = <u32>n; g.flags = flags;
    const got = gupImpl(ctx, beginOp(ctx, OP_GUP, mm, va, n << pageShift()));
    calls++;
    off += n;
    if (got > 0) held += <u32>got;
    if (got <= 0 || <u64>got < n) { short = 1; break; }
  }
  c.out = out;
  c.outCap = cap;
  phaseOut = 0;
  const o = argsOut<LoopOut>(ctx);            // (gup's GupOut overlays it: written last)
  o.pages = <u64>held;
  o.short = short;
  o.rounds = calls;
  return OK;
}

// ---------------------------------------------------------------- walks and inspection
// -> WalkOut: level, entry, pa (leaf: of va; table: next table), code, entry pa, why
function walkResult(o: WalkOut, va: u64): void {
  o.level = wLevel;
  o.entry = wEntry;
  o.code = wCode;
  o.entryPa = wPtr != 0 ? <u64>(wPtr - hdr().poolBase) : 0;
  o.why = wCode == W_BADTABLE ? wWhy : 0;
  o.pa = 0;
  if (wCode == W_OK) {
    const d = lv(wLevel);
    if (wLevel == nLevels() - 1 || isLeaf(d, wEntry)) {
      const size = (<u64>1) << L(wLevel).shift;
      o.pa = leafPa(d, wEntry) + (va & (size - 1));
    } else if (isTable(d, wEntry)) {
      o.pa = tablePa(d, wEntry);
    }
  }
}

// view 1: the hardware view. The same walker runs over the hardware image of
// the descriptor (Header.archHw) for this one walk, after its VA-range rule.
function walkView(ctx: usize, root: u64, mm: usize, va: u64, view: u32): void {
  const o = argsOut<WalkOut>(ctx);
  useCtx(ctx);
  const hw = view != 0;
  if (hw) useArch(hdr().archHw);
  const m = arch().vaCheckMask;
  const hi = va & m;
  if (hi != 0 && (arch().vaSignExtend == 0 || hi != m)) {
    o.level = 0; o.entry = 0; o.pa = 0; o.code = W_BADVA; o.entryPa = 0; o.why = 0;
  } else {
    walkFrom(root, va, mm);
    walkResult(o, va);
  }
  if (hw) useArch(hdr().arch);
}

export function walk(ctx: usize): i32 {
  const a = argsIn<WalkIn>(ctx);
  const mm = <usize>a.mm;
  walkView(ctx, mmOf(mm).root, mm, a.va, a.view);
  return OK;
}

// a walk over tables written by anyone (writePhys)
export function walkRaw(ctx: usize): i32 {
  const a = argsIn<WalkRawIn>(ctx);
  walkView(ctx, a.root, 0, a.va, a.view);
  return OK;
}

// After a trap in this instance (the host calls it): release the locks it
// held and leave its lockless section; after a trap in a get phase, its
// context's output array named whole again (the references it took stay).
export function recover(ctx: usize): i32 {
  if (phaseOut != 0) {                         // a get phase trapped: its context's array as it was
    const c = ctxOf(ctx);
    c.out = phaseOut;
    c.outCap = phaseCap;
    phaseOut = 0;
  }
  argsOut<RecoverOut>(ctx).locks = recoverAfterTrap(ctx);
  return OK;
}

// Claim [pa, pa + bytes) of the pool as raw memory for writePhys (the
// allocator never hands it out). E_BUSY, nothing claimed, when it overlaps
// an allocated table: ClaimRawOut.busyPa = the first such pa.
export function claimRaw(ctx: usize): i32 {
  const a = argsIn<ClaimRawIn>(ctx);
  const h = hdr();
  const pa = a.pa, bytes = a.bytes;
  if (bytes == 0) return OK;
  if (pa >= <u64>h.poolBytes || bytes > <u64>h.poolBytes - pa) return E_RANGE;
  const r = poolClaimRaw(pa, bytes);
  argsOut<ClaimRawOut>(ctx).busyPa = claimBusyPa;
  return r;
}

export function check(ctx: usize): i32 {
  argsOut<CheckOut>(ctx).violations = checkInvariants();
  return OK;
}

// -> the struct page of a pfn (0: no struct page)
export function pagePtr(ctx: usize): i32 {
  const pfn = argsIn<PageIn>(ctx).pfn;
  const o = argsOut<PageOut>(ctx);
  o.page = <u32>pfnToPage(pfn);
  o.linear = pfnLinear(pfn) ? 1 : 0;
  return OK;
}
export * from './offsets.gen';

// Fault injection, for showing what the checker reports: one count
// (InjectIn.field, INJECT_*) set to a value. Recorded in the op log as a raw
// write, so a violation names it as the last operation.
export function inject(ctx: usize): i32 {
  const a = argsIn<InjectIn>(ctx);
  const pfn = a.pfn;
  const page = pfnToPage(pfn);
  const field = a.field;
  if (page == 0 || (field != INJECT_REFCOUNT && field != INJECT_MAPCOUNT && field != INJECT_PINCOUNT)) return E_INVAL;
  const op = beginOp(ctx, OP_RAW, 0, pfn << pageShift(), 0);
  const folio = pageFolio(page);
  if (field == INJECT_PINCOUNT && !folioTestLarge(folio)) return E_INVAL;
  store<u64>(folio, op, offsetof<Page>("last_op"));
  injectCount(folio, page, field, a.value);
  return OK;
}

// `count` random walks over [start, start + len) of an mm (xorshift64 from
// `seed`), for measuring the walker. WalkManyOut: walks that ended on a leaf,
// xor of their entries.
export function walkMany(ctx: usize): i32 {
  const a = argsIn<WalkManyIn>(ctx);
  const mm = <usize>a.mm;
  const root = mmOf(mm).root;
  const start = a.start, len = a.len, count = a.count;
  if (len == 0) return E_INVAL;
  useCtx(ctx);
  if (rootBad(root, mmOf(mm).id) != 0) return E_BADTABLE;
  let x = a.seed | 1;
  let hits: u64 = 0, acc: u64 = 0;
  const pageMask = ~(((<u64>1) << pageShift()) - 1);
  // (the walk inlined, once per byte order)
  if (BE) {
    for (let i: u64 = 0; i < count; i++) {
      x ^= x << 13; x ^= x >> 7; x ^= x << 17;
      walkCheckedInline(root, start + ((x % len) & pageMask), true);
      if (wCode == W_OK) { hits++; acc ^= wEntry; }
    }
  } else {
    for (let i: u64 = 0; i < count; i++) {
      x ^= x << 13; x ^= x >> 7; x ^= x << 17;
      walkCheckedInline(root, start + ((x % len) & pageMask), false);
      if (wCode == W_OK) { hits++; acc ^= wEntry; }
    }
  }
  const o = argsOut<WalkManyOut>(ctx);
  o.hits = hits;
  o.acc = acc;
  return OK;
}
