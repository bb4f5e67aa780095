// The core's exported operations. Every operation takes the calling
// thread's context: arguments in ctx.a*, results in ctx.r*, status returned.

export * from './layout';

import { H, attachTo, hdr, arch, ctxOf, beginOp, lock, unlock, recoverAfterTrap, useCtx, useArch } from './base';
import { L, nLevels, pageShift, lv, isLeaf, leafPa, tablePa, isTable, mkTable, addrEnd } from './arch';
import {
  pfnToPage, pageFolio, folioTestLarge, zoneInit, poolInit, markReserved, allocTable, freeTable, AUX_SIZE,
  FLAGS_SECTION_SHIFT, poolClaimRaw, claimBusyPa, rootBad,
} from './mem';
import { mmOf, vmaInsert, vmaRemoveRange, leafLevelFor, faultLocked, remapPfnRange, vmaAt } from './mm';
import { walkFrom, walkChecked, wLevel, wEntry, wCode, wPtr, wWhy } from './walk';
import { gup as gupImpl } from './gup';
import { unpin as unpinImpl } from './unpin';
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
  KIND_ANON, KIND_HUGETLB, KIND_PFNMAP, VM_PFNMAP, VM_HUGETLB, VM_WRITE, FOLL_PIN,
} from './layout';

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
// sparse_add_section for [startPfn, endPfn): one contiguous memmap block and
// one aux block for all its sections, so every folio's struct pages are contiguous.
function sectionsAdd(startPfn: u64, endPfn: u64): i32 {
  const h = hdr();
  const secPages: u64 = (<u64>1) << h.sectionShift;
  const s0 = startPfn >> h.sectionShift;
  const s1 = (endPfn + secPages - 1) >> h.sectionShift;
  const nPages = (s1 - s0) * secPages;
  lock(H + offsetof<Header>("memmapLock"));
  // root blocks first
  let need: u64 = 0;
  for (let s = s0; s < s1; s += (<u64>1) << h.rootShift) {
    const root = s >> h.rootShift;
    if (root >= <u64>h.nrRoots) { unlock(H + offsetof<Header>("memmapLock")); return E_INVAL; }
    if (load<u32>(h.sectionRoots + (<usize>root << 2)) == 0) need += (<u64>8) << h.rootShift;
  }
  const bytes = need + nPages * (<u64>PAGE_SIZE_BYTES + AUX_SIZE);
  if (<u64>h.memmapArenaNext + bytes > <u64>h.memmapArenaEnd) { unlock(H + offsetof<Header>("memmapLock")); return E_NOSPC; }
  let next = h.memmapArenaNext;
  for (let s = s0; s < s1; s++) {
    const root = s >> h.rootShift;
    const rp = h.sectionRoots + (<usize>root << 2);
    if (load<u32>(rp) == 0) {
      memory.fill(next, 0, 8 << h.rootShift);
      store<u32>(rp, next);
      next += 8 << h.rootShift;
    }
  }
  const memmap = next;
  const aux = memmap + <usize>nPages * PAGE_SIZE_BYTES;
  next = aux + <usize>nPages * AUX_SIZE;
  h.memmapArenaNext = next;
  memory.fill(aux, 0, <usize>nPages * AUX_SIZE);
  for (let s = s0; s < s1; s++) {
    const se = load<u32>(h.sectionRoots + (<usize>(s >> h.rootShift) << 2)) + ((<usize>s & ((1 << h.rootShift) - 1)) << 3);
    const off = <usize>((s - s0) * secPages);
    store<u32>(se, memmap + off * PAGE_SIZE_BYTES);
    store<u32>(se, aux + off * AUX_SIZE, 4);
  }
  // __init_single_page: section in flags, _mapcount -1, refcount 0
  for (let i: u64 = 0; i < nPages; i++) {
    const p = memmap + <usize>i * PAGE_SIZE_BYTES;
    memory.fill(p, 0, PAGE_SIZE_BYTES);
    store<u64>(p, (s0 + (i >> h.sectionShift)) << FLAGS_SECTION_SHIFT);
    pageMapcountReset(p);
  }
  unlock(H + offsetof<Header>("memmapLock"));
  return OK;
}

// a0 pool frames (pfn count of the table pool at the bottom of RAM).
export function machineInit(ctx: usize): i32 {
  const h = hdr();
  const c = ctxOf(ctx);
  beginOp(ctx, OP_INIT, 0, 0, 0);
  const poolPfns = c.a0;
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
// -> r0 mm pointer, r1 root pa
export function mmCreate(ctx: usize): i32 {
  const h = hdr();
  const c = ctxOf(ctx);
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
    c.r0 = mm;
    c.r1 = root;
    return OK;
  }
  return E_NOSPC;
}

@inline function userTop(): u64 { return (<u64>1) << arch().userVaBits; }

// a0 mm: exit_mmap, everything unmapped and every table freed.
export function mmDestroy(ctx: usize): i32 {
  const c = ctxOf(ctx);
  const mm = <usize>c.a0;
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

// a0 mm, a1 start, a2 len, a3 vm flags, a4 kind, a5 order, a6 pfn
export function mmap(ctx: usize): i32 {
  const c = ctxOf(ctx);
  const mm = <usize>c.a0;
  const start = c.a1, len = c.a2, end = start + len;
  let flags = <u32>c.a3;
  const kind = <u32>c.a4, order = <u32>c.a5;
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
  } else if (kind != KIND_ANON) {
    return E_INVAL;
  }
  const op = beginOp(ctx, OP_MMAP, mm, start, len);
  lock(mm + offsetof<Mm>("lock"));
  let r = vmaInsert(mm, start, end, flags, kind, order, c.a6);
  if (r == OK && kind == KIND_PFNMAP) {
    r = remapPfnRange(mm, start, end, c.a6, (flags & VM_WRITE) != 0, op);
    if (r != OK) {
      zapRange(ctx, mm, start, end, true, op, true, op);   // nothing half-built
      vmaRemoveRange(mm, start, end);
    }
  }
  unlock(mm + offsetof<Mm>("lock"));
  return r;
}

// Refuse ranges that would need a huge leaf or a hugetlb VMA split.
function checkUnmapRange(mm: usize, start: u64, end: u64): i32 {
  const m = mmOf(mm);
  for (let i: u32 = 0; i < m.nrVmas; i++) {
    const v = changetype<Vma>(vmaAt(mm, i));
    if (v.end <= start || v.start >= end || v.kind != KIND_HUGETLB) continue;
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

// a0 mm, a1 start, a2 len, a3 a failed populate's operation (its empty tables
// go too, 0: none): munmap (entries, tables and VMAs)
export function munmap(ctx: usize): i32 {
  const c = ctxOf(ctx);
  const mm = <usize>c.a0;
  const start = c.a1, end = c.a1 + c.a2;
  if (c.a2 == 0 || end < start || end > userTop() || ((start | c.a2) & ((<u64>1 << pageShift()) - 1)) != 0) return E_INVAL;
  const op = beginOp(ctx, OP_MUNMAP, mm, start, c.a2);
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
    r = zapRange(ctx, mm, start, end, true, 0, true, op, gFloorOut, ceiling, <u32>c.a3);
  }
  if (r == OK) r = vmaRemoveRange(mm, start, end);
  unlock(mm + offsetof<Mm>("lock"));
  return r;
}

// a0 mm, a1 start, a2 len: zap_page_range_single (MADV_DONTNEED): the VMAs and tables stay
export function zap(ctx: usize): i32 {
  const c = ctxOf(ctx);
  const mm = <usize>c.a0;
  const start = c.a1, end = c.a1 + c.a2;
  if (c.a2 == 0 || end < start || end > userTop() || ((start | c.a2) & ((<u64>1 << pageShift()) - 1)) != 0) return E_INVAL;
  const op = beginOp(ctx, OP_ZAP, mm, start, c.a2);
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

// a0 mm, a1 addr, a2 write
export function fault(ctx: usize): i32 {
  const c = ctxOf(ctx);
  const mm = <usize>c.a0;
  if (c.a1 >= userTop()) return E_FAULT;
  const op = beginOp(ctx, OP_FAULT, mm, c.a1, 1);
  lock(mm + offsetof<Mm>("lock"));
  const r = faultOne(ctx, mm, c.a1, c.a2 != 0, op);
  unlock(mm + offsetof<Mm>("lock"));
  return r;
}

// a0 mm, a1 start, a2 len, a3 write: MADV_POPULATE_(READ|WRITE), a fault per
// leaf. Each fault is whole; on failure r0 holds the bytes populated before it.
export function populate(ctx: usize): i32 {
  const c = ctxOf(ctx);
  const mm = <usize>c.a0;
  const start = c.a1, end = c.a1 + c.a2;
  if (c.a2 == 0 || end < start || end > userTop()) return E_INVAL;
  const op = beginOp(ctx, OP_POPULATE, mm, start, c.a2);
  lock(mm + offsetof<Mm>("lock"));
  let va = start & ~(((<u64>1) << pageShift()) - 1);
  let r = OK;
  while (va < end) {
    r = faultOne(ctx, mm, va, c.a3 != 0, op);
    if (r < 0) break;
    walkFrom(mmOf(mm).root, va, 255, mm);
    // on to the next leaf's start (pXd_addr_end with no end: 0 is the top)
    va = addrEnd(va, 0, (<u64>1) << L(wCode == W_OK ? wLevel : nLevels() - 1).shift);
  }
  c.r0 = (va < end ? va : end) - start;
  c.r1 = va;                                   // where it stopped (the failing fault's address)
  c.r2 = start;
  unlock(mm + offsetof<Mm>("lock"));
  return r;
}

// ---------------------------------------------------------------- gup
export function gup(ctx: usize): i32 {
  const c = ctxOf(ctx);
  const op = beginOp(ctx, OP_GUP, <u32>c.a0, c.a1, c.a2 << pageShift());
  return gupImpl(ctx, op);
}

export function unpin(ctx: usize): i32 {
  const c = ctxOf(ctx);
  beginOp(ctx, OP_UNPIN, 0, 0, c.a0);
  return unpinImpl(ctx);
}

// A worker's loop: `a4` rounds of gup (flags a3) over [a1, a1 + a2 pages) then unpin,
// all inside the core. r0 = pages taken in all, r1 = rounds that came up short
// (or took nothing: the range may be unmapped by a racing thread), r2 = rounds
// done. Ctx.stop is a stop request: any other thread may set it non-zero, and
// the loop ends at the next round boundary (holding nothing).
export function gupUnpinLoop(ctx: usize): i32 {
  const c = ctxOf(ctx);
  const rounds = <u32>c.a4;
  let total: u64 = 0, short: u64 = 0;
  const nr = <u32>c.a2;
  if (nr == 0 || nr > c.outCap) return E_INVAL;
  let i: u32 = 0;
  for (; i < rounds; i++) {
    if (atomic.load<u32>(ctx + offsetof<Ctx>("stop")) != 0) break;
    const op = beginOp(ctx, OP_GUP, <u32>c.a0, c.a1, c.a2 << pageShift());
    const got = gupImpl(ctx, op);
    if (got <= 0) { short++; continue; }      // nothing mapped there right now (-EFAULT)
    total += <u64>got;
    if (<u32>got < nr) short++;
    const saveA0 = c.a0, saveA1 = c.a1;
    c.a0 = <u64>got;
    c.a1 = c.a3;
    beginOp(ctx, OP_UNPIN, 0, 0, <u64>got);
    const r = unpinImpl(ctx);
    c.a0 = saveA0;
    c.a1 = saveA1;
    if (r < 0) { c.r0 = total; c.r1 = short; c.r2 = i; return r; }
  }
  c.r0 = total;
  c.r1 = short;
  c.r2 = i;
  return OK;
}

// gup_test's sweep (mm/gup_test.c __gup_test_ioctl): `a4` calls, each gup (flags a3) of up
// to `a2` pages then their release, walking [a1, a1 + a6 pages) call by call and starting
// over at its end; the last call of a sweep takes what is left (min(nr, remaining)).
// Unlike gup_test, each call's pages are released before the next call (one output
// array per context), so get and put are not timed apart. r0, r1, r2 and the stop
// request as gupUnpinLoop.
export function gupSweepLoop(ctx: usize): i32 {
  const c = ctxOf(ctx);
  const calls = <u32>c.a4;
  const nr = c.a2, span = c.a6, start = c.a1;
  if (nr == 0 || nr > <u64>c.outCap || span == 0) return E_INVAL;
  let total: u64 = 0, short: u64 = 0, off: u64 = 0;
  let i: u32 = 0;
  for (; i < calls; i++) {
    if (atomic.load<u32>(ctx + offsetof<Ctx>("stop")) != 0) break;
    const n = span - off < nr ? span - off : nr;
    c.a1 = start + (off << pageShift());
    c.a2 = n;
    const op = beginOp(ctx, OP_GUP, <u32>c.a0, c.a1, n << pageShift());
    const got = gupImpl(ctx, op);
    off += n;
    if (off >= span) off = 0;
    if (got <= 0) { short++; continue; }
    total += <u64>got;
    if (<u64>got < n) short++;
    const saveA0 = c.a0;
    c.a0 = <u64>got;
    c.a1 = c.a3;
    beginOp(ctx, OP_UNPIN, 0, 0, <u64>got);
    const r = unpinImpl(ctx);
    c.a0 = saveA0;
    if (r < 0) { c.a1 = start; c.a2 = nr; c.r0 = total; c.r1 = short; c.r2 = i; return r; }
  }
  c.a1 = start;
  c.a2 = nr;
  c.r0 = total;
  c.r1 = short;
  c.r2 = i;
  return OK;
}

// ---------------------------------------------------------------- walks and inspection
// a0 mm, a1 va -> r0 level, r1 entry, r2 pa (leaf: of va; table: next table), r3 code, r4 entry pa
function walkResult(ctx: usize, va: u64): void {
  const c = ctxOf(ctx);
  c.r0 = wLevel;
  c.r1 = wEntry;
  c.r3 = wCode;
  c.r4 = wPtr != 0 ? <u64>(wPtr - hdr().poolBase) : 0;
  c.r5 = wCode == W_BADTABLE ? wWhy : 0;
  c.r2 = 0;
  if (wCode == W_OK) {
    const d = lv(wLevel);
    if (wLevel == nLevels() - 1 || isLeaf(d, wEntry)) {
      const size = (<u64>1) << L(wLevel).shift;
      c.r2 = leafPa(d, wEntry) + (va & (size - 1));
    } else if (isTable(d, wEntry)) {
      c.r2 = tablePa(d, wEntry);
    }
  }
}

// a2 = 1: the hardware view. The same walker runs over the hardware image of
// the descriptor (Header.archHw) for this one walk, after its VA-range rule.
function walkView(ctx: usize, root: u64, mm: usize): void {
  const c = ctxOf(ctx);
  useCtx(ctx);
  const va = c.a1;
  const hw = c.a2 != 0;
  if (hw) useArch(hdr().archHw);
  const m = arch().vaCheckMask;
  const hi = va & m;
  if (hi != 0 && (arch().vaSignExtend == 0 || hi != m)) {
    c.r0 = 0; c.r1 = 0; c.r2 = 0; c.r3 = W_BADVA; c.r4 = 0; c.r5 = 0;
  } else {
    walkFrom(root, va, 255, mm);
    walkResult(ctx, va);
  }
  if (hw) useArch(hdr().arch);
}

// a0 mm, a1 va, a2 view
export function walk(ctx: usize): i32 {
  const mm = <usize>ctxOf(ctx).a0;
  walkView(ctx, mmOf(mm).root, mm);
  return OK;
}

// a0 root pa, a1 va, a2 view: a walk over tables written by anyone (writePhys)
export function walkRaw(ctx: usize): i32 {
  walkView(ctx, ctxOf(ctx).a0, 0);
  return OK;
}

// After a trap in this instance (the host calls it): release the locks it
// held and leave its lockless section. -> r0 locks released
export function recover(ctx: usize): i32 {
  ctxOf(ctx).r0 = recoverAfterTrap(ctx);
  return OK;
}

// a0 pa, a1 bytes: claim [pa, pa + bytes) of the pool as raw memory for
// writePhys (the allocator never hands it out). E_BUSY, nothing claimed,
// when it overlaps an allocated table: r0 = the first such pa.
export function claimRaw(ctx: usize): i32 {
  const c = ctxOf(ctx);
  const h = hdr();
  if (c.a1 == 0) return OK;
  if (c.a0 >= <u64>h.poolBytes || c.a1 > <u64>h.poolBytes - c.a0) return E_RANGE;
  const r = poolClaimRaw(c.a0, c.a1);
  c.r0 = claimBusyPa;
  return r;
}

// -> r0 violations found
export function check(ctx: usize): i32 {
  const c = ctxOf(ctx);
  c.r0 = checkInvariants();
  return OK;
}

// a0 pfn -> r0 struct page pointer (0: no struct page)
export function pagePtr(ctx: usize): i32 {
  const c = ctxOf(ctx);
  c.r0 = pfnToPage(c.a0);
  return OK;
}
export * from './offsets.gen';

// Fault injection, for showing what the checker reports: a0 pfn, a1 field
// (INJECT_*), a2 value. Recorded in the op log as a raw write, so a
// violation names it as the last operation.
export function inject(ctx: usize): i32 {
  const c = ctxOf(ctx);
  const page = pfnToPage(c.a0);
  const field = <u32>c.a1;
  if (page == 0 || (field != INJECT_REFCOUNT && field != INJECT_MAPCOUNT && field != INJECT_PINCOUNT)) return E_INVAL;
  const op = beginOp(ctx, OP_RAW, 0, c.a0 << pageShift(), 0);
  const folio = pageFolio(page);
  if (field == INJECT_PINCOUNT && !folioTestLarge(folio)) return E_INVAL;
  store<u64>(folio, op, offsetof<Page>("last_op"));
  injectCount(folio, page, field, <i32>c.a2);
  return OK;
}

// a3 random walks over [a1, a1 + a2) of mm a0 (xorshift64 from seed a4), for
// measuring the walker. r0 = walks that ended on a leaf, r1 = xor of their pas.
export function walkMany(ctx: usize): i32 {
  const c = ctxOf(ctx);
  const root = mmOf(<usize>c.a0).root;
  const start = c.a1, len = c.a2;
  if (len == 0) return E_INVAL;
  useCtx(ctx);
  if (rootBad(root, mmOf(<usize>c.a0).id) != 0) return E_BADTABLE;
  let x = c.a4 | 1;
  let hits: u64 = 0, acc: u64 = 0;
  const ps = pageShift();
  for (let i: u64 = 0; i < c.a3; i++) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    const va = start + (((x % len) >> ps) << ps);
    walkChecked(root, va, 255, <usize>c.a0);
    if (wCode == W_OK) { hits++; acc ^= wEntry; }
  }
  c.r0 = hits;
  c.r1 = acc;
  return OK;
}
