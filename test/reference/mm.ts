// Address spaces (assembly/mm.ts, assembly/index.ts): VMAs, the page-fault
// path, remap_pfn_range, and the per-address-space operations of Mm.
import {
  E_EXIST, E_FAULT, E_INVAL, E_NOMEM, E_NOSPC, E_NOTABLE, FOLL_FAST_ONLY, FOLL_GET, FOLL_LONGTERM, FOLL_NOFAULT, FOLL_PIN, FOLL_WRITE,
  KIND_ANON, KIND_HUGETLB, KIND_PFNMAP, MMF_HAS_PINNED, NAMES, OK, PG_anon_exclusive, PG_large_rmappable, PG_swapbacked, PG_uptodate,
  VM_HUGETLB, VM_PFNMAP, VM_READ, VM_SHARED, VM_WRITE,
} from '../../src/host/consts.gen.js';
import { PgtemuError, STATUS, hex, type ErrorCode } from '../../src/host/errors.js';
import type { GupOptions, MmCounters, MmapOptions, VmaKind } from '../../src/host/machine.js';
import { mmapArgs, populateOrUnmap, toBig, userRange } from '../../src/host/validate.js';
import { getHugeZeroFolio, isHugeZeroPfn } from './folio.js';
import { gup } from './gup.js';
import type { RefMachine } from './machine.js';
import { folioAddNewAnonRmap, folioPutRefs } from './refcount.js';
import { rd, walkAlloc, walkLevel, wr, type Slot } from './walk.js';
import { checkUnmapRange, zapRange } from './zap.js';

export interface RefVma { start: bigint; end: bigint; pfn: bigint; flags: number; kind: number; order: number }

// (the model has RAM only: DAX mappings are the core's alone, tested against the kernel's rules in test/model)
const KINDS: Record<Exclude<VmaKind, 'devdax' | 'fsdax' | 'p2pdma'>, number> = { anon: KIND_ANON, hugetlb: KIND_HUGETLB, pfnmap: KIND_PFNMAP };
const KIND_NAMES = ([KIND_ANON, KIND_HUGETLB, KIND_PFNMAP] as const).map((k) => NAMES.KIND[k].name as VmaKind);

export interface RefGupResult {
  readonly nr: number;
  readonly ret: number;
  readonly errno?: ErrorCode;
  readonly fast: number;
  /** the model's pfns (its own frames: compare them through the addresses that map them) */
  readonly pfns: bigint[];
  readonly flags: number;
  readonly pin: boolean;
}

// ---------------------------------------------------------------- faults
/** leafLevelFor: the level whose leaves map 2^order pages, or -1. */
export function leafLevelFor(m: RefMachine, order: number): number {
  const want = m.ps + order;
  for (let l = 0; l < m.n; l++) if (m.L[l].shift === want) return m.L[l].leafOk ? l : -1;
  return -1;
}

/** A freshly allocated anon / hugetlb folio mapped once by one entry (folio_add_new_anon_rmap; hugetlb_add_new_anon_rmap). */
function initNewFolio(m: RefMachine, folio: number, order: number, mm: RefMm, op: number, hugetlb: boolean): void {
  m.prepCompound(folio, order);
  const p = m.pg(folio);
  p.anon = mm;
  p.flags |= (1 << PG_uptodate) | (1 << PG_swapbacked) | (1 << PG_anon_exclusive);
  if (order > 0 && !hugetlb) p.flags |= 1 << PG_large_rmappable;
  folioAddNewAnonRmap(m, folio, order, hugetlb);
  p.lastOp = op;
}

/** handle_mm_fault for one address (faultLocked); unshare: FAULT_FLAG_UNSHARE. */
export function faultLocked(m: RefMachine, mm: RefMm, va: bigint, write: boolean, op: number, unshare = false): number {
  const v = mm.findVma(va);
  if (!v) return E_FAULT;
  if (write && (v.flags & VM_WRITE) === 0) return E_FAULT;
  if (!write && (v.flags & VM_READ) === 0) return E_FAULT;
  if (v.kind === KIND_PFNMAP) return E_FAULT;
  const last = m.n - 1;
  let order = v.order;
  let l = leafLevelFor(m, order);
  if (l < 0) return E_INVAL;
  // THP: a huge leaf only where the aligned block lies inside the VMA and the level is still empty
  if (order > 0 && v.kind === KIND_ANON) {
    const size = 1n << BigInt(m.ps + order);
    const base = va & ~(size - 1n);
    if (base < v.start || base + size > v.end) { order = 0; l = last; }
  }
  let p = walkAlloc(m, mm, va, l, op);
  if (p === E_EXIST && order > 0 && v.kind === KIND_ANON) {
    order = 0;
    l = last;
    p = walkAlloc(m, mm, va, l, op);
  }
  if (typeof p !== 'number' && order > 0 && v.kind === KIND_ANON) {
    // the pmd slot already holds a pte table: handle_pte_fault at pte level
    const d0 = m.L[l];
    const e0 = rd(m, p);
    if (!d0.isNone(e0) && d0.isPresent(e0) && !d0.isLeaf(e0) && d0.isTable(e0)) {
      order = 0;
      l = last;
      p = walkAlloc(m, mm, va, l, op);
    }
  }
  if (typeof p === 'number') return p === E_NOTABLE ? E_NOTABLE : E_FAULT;
  const d = m.L[l];
  const e = rd(m, p);
  if (!d.isNone(e)) {
    if (!d.isPresent(e) || d.pred('protnone', e)) return E_FAULT;
    if (!d.isLeaf(e)) return E_FAULT;             // a table where a hugetlb leaf belongs
    if ((!write && !unshare) || d.pred('write', e)) return OK;    // spurious
    const pfn = d.leafPa(e) >> m.psB;
    if (l !== last && isHugeZeroPfn(m, pfn)) return wpHugeZeroPmd(m, mm, va, p, l, write, op);
    if (l === last && pfn === m.zeroPfnB) {
      // do_wp_page on the zero page: wp_page_copy
      const np = m.allocPages(0);
      if (np < 0) return E_NOMEM;
      wpPageCopy(m, mm, va, p, np, write, op);
      return OK;
    }
    // an exclusive anon folio: unshare has nothing to do; wp_page_reuse
    if (unshare) return OK;
    if (m.pfnToPage(pfn) < 0) return E_FAULT;
    wr(m, p, d.mkLeaf(d.leafPa(e), 'rw'));
    m.stat.tlbFlushes++;
    return OK;
  }
  if (order > 0 && !write && v.kind === KIND_ANON && l === last - 1) {
    // do_huge_pmd_anonymous_page: the huge zero folio
    const hz = getHugeZeroFolio(m, order, op);
    if (hz >= 0) {
      wr(m, p, d.mkLeaf(BigInt(hz) << m.psB, 'ro'));
      return OK;
    }
    order = 0;                                    // THP_FAULT_FALLBACK
    l = last;
    p = walkAlloc(m, mm, va, l, op);
    if (typeof p === 'number') return p === E_NOTABLE ? E_NOTABLE : E_FAULT;
  }
  if (order === 0 && !write && v.kind === KIND_ANON) {
    // do_anonymous_page: the zero page (pte_mkspecial, a no-op without the special bit)
    wr(m, p, m.L[l].mkLeaf(m.zeroPfnB << m.psB, 'specialRo'));
    return OK;
  }
  let folio = m.allocPages(order);
  if (folio < 0 && order > 0 && v.kind === KIND_ANON) {
    // THP_FAULT_FALLBACK
    order = 0;
    l = last;
    p = walkAlloc(m, mm, va, l, op);
    if (typeof p === 'number') return p === E_NOTABLE ? E_NOTABLE : E_FAULT;
    folio = m.allocPages(0);
  }
  if (folio < 0) return E_NOMEM;
  const hugetlb = v.kind === KIND_HUGETLB;
  initNewFolio(m, folio, order, mm, op, hugetlb);
  // private hugetlb is mapped writable only on a write fault (hugetlb_no_page, hugetlb_wp)
  const writable = (v.flags & VM_WRITE) !== 0 && (!hugetlb || write);
  wr(m, p, m.L[l].mkLeaf(BigInt(folio) << m.psB, writable ? 'rw' : 'ro'));
  if (hugetlb) mm.hugetlbPages += 2 ** order;     // hugetlb_count_add
  else mm.rssAnon += 2 ** order;
  m.stat.faults++;
  return OK;
}

/** wp_page_copy of the zero page into np (read-only for an unshare). */
function wpPageCopy(m: RefMachine, mm: RefMm, va: bigint, p: Slot, np: number, write: boolean, op: number): void {
  initNewFolio(m, np, 0, mm, op, false);
  wr(m, p, m.L[m.n - 1].mkLeaf(BigInt(np) << m.psB, write ? 'rw' : 'ro'));
  m.stat.tlbFlushes++;
  mm.rssAnon += 1;
}

/** A write (or unshare) fault on the huge zero PMD: the page and the table first, then the split and the copy. */
function wpHugeZeroPmd(m: RefMachine, mm: RefMm, va: bigint, pmd: Slot, l: number, write: boolean, op: number): number {
  const np = m.allocPages(0);
  if (np < 0) return E_NOMEM;
  const t = m.allocTableAt(l + 1, op);
  if (t < 0) {
    folioPutRefs(m, np, 1);
    return E_NOTABLE;
  }
  splitHugeZeroPmd(m, mm, pmd, l, t);
  wpPageCopy(m, mm, va, { pa: t, i: m.L[l + 1].index(va) }, np, write, op);
  return OK;
}

/** __split_huge_zero_page_pmd into the fresh table t. */
export function splitHugeZeroPmd(m: RefMachine, mm: RefMm, pmd: Slot, l: number, t: number): void {
  wr(m, pmd, m.L[l].empty);
  m.stat.tlbFlushes++;
  const d = m.L[l + 1];
  m.table(t).fill(d.mkLeaf(m.zeroPfnB << m.psB, 'specialRo'));
  mm.pgtablesBytes += d.tableBytes;
  wr(m, pmd, m.L[l].mkTable(t));
}

/** One fault; the tables it allocated are taken back if it fails. */
export function faultOne(m: RefMachine, mm: RefMm, va: bigint, write: boolean, op: number): number {
  const r = faultLocked(m, mm, va, write, op);
  if (r < 0) {
    const base = va & ~(m.pageBytes - 1n);
    zapRange(m, mm, base, base + m.pageBytes, { freeTables: true, onlyGen: op, zapLeaves: false, op });
  }
  return r;
}

/** remap_pfn_range */
function remapPfnRange(m: RefMachine, mm: RefMm, start: bigint, end: bigint, pfn: bigint, writable: boolean, op: number): number {
  const last = m.n - 1;
  const d = m.L[last];
  const span = m.L[last - 1].sizeB;       // what one last-level table covers
  let tab: bigint[] | null = null, i = 0, tabEnd = 0n;
  for (let va = start; va < end; va += m.pageBytes) {
    if (tab === null || va >= tabEnd) {
      // walkAlloc once per last-level table: the pages after it in the same table find it allocated
      const p = walkAlloc(m, mm, va, last, op);
      if (typeof p === 'number') return p === E_NOTABLE ? E_NOTABLE : E_EXIST;
      tab = m.table(p.pa);
      i = p.i;
      tabEnd = (va | (span - 1n)) + 1n;
    }
    tab[i++] = d.mkLeaf((pfn + ((va - start) >> m.psB)) << m.psB, writable ? 'specialRw' : 'specialRo');
  }
  return OK;
}

// ---------------------------------------------------------------- the address space
export class RefMm {
  vmaList: RefVma[] = [];
  rssAnon = 0;
  hugetlbPages = 0;
  pgtablesBytes: number;
  flags = 0;
  private dead = false;
  /** the root table's offset in the model's pool (not the machine's) */
  readonly rootPa: bigint;

  constructor(readonly machine: RefMachine, readonly slot: number, readonly root: number) {
    this.rootPa = BigInt(root);
    this.pgtablesBytes = machine.L[0].tableBytes;
  }

  live(op: string): void {
    if (this.dead) throw new PgtemuError('EINVAL', `${op}: this address space was destroyed`);
  }

  /** find_vma */
  findVma(addr: bigint): RefVma | undefined {
    let lo = 0, hi = this.vmaList.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.vmaList[mid];
      if (addr < v.start) hi = mid - 1;
      else if (addr >= v.end) lo = mid + 1;
      else return v;
    }
    return undefined;
  }

  private vmaInsert(start: bigint, end: bigint, flags: number, kind: number, order: number, pfn: bigint): number {
    if (this.vmaList.length >= this.machine.vmasPerMm) return E_NOSPC;
    let i = 0;
    while (i < this.vmaList.length && this.vmaList[i].end <= start) i++;
    if (i < this.vmaList.length && this.vmaList[i].start < end) return E_EXIST;
    this.vmaList.splice(i, 0, { start, end, flags, kind, order, pfn });
    return OK;
  }

  /** A VMA that [start, end) splits in two needs a free slot for its second half. */
  private splitNeedsRoom(start: bigint, end: bigint): boolean {
    return this.vmaList.some((v) => v.start < start && v.end > end) && this.vmaList.length >= this.machine.vmasPerMm;
  }

  private vmaRemoveRange(start: bigint, end: bigint): number {
    const ps = this.machine.psB;
    const list = this.vmaList;
    if (this.splitNeedsRoom(start, end)) return E_NOSPC;
    let i = 0;
    while (i < list.length) {
      const v = list[i];
      if (v.end <= start || v.start >= end) { i++; continue; }
      if (v.start < start && v.end > end) {
        const t = { ...v };
        if (t.kind === KIND_PFNMAP) t.pfn += (end - v.start) >> ps;
        t.start = end;
        v.end = start;
        list.splice(i + 1, 0, t);
        return OK;
      }
      if (v.start < start) { v.end = start; i++; continue; }
      if (v.end > end) {
        if (v.kind === KIND_PFNMAP) v.pfn += (end - v.start) >> ps;
        v.start = end;
        i++;
        continue;
      }
      list.splice(i, 1);
    }
    return OK;
  }

  private range(op: string, start: bigint | number, length: bigint | number): [bigint, bigint] {
    this.live(op);
    return userRange(this.machine.desc, op, start, length);
  }

  mmap(o: MmapOptions): void {
    const m = this.machine;
    const [s, len] = this.range('mmap', o.start, o.length);
    const { kind, order, read, write, shared, pfn } = mmapArgs(m.desc, m.leafOrders, o, s, len);
    let flags = (read ? VM_READ : 0) | (write ? VM_WRITE : 0) | (shared ? VM_SHARED : 0);
    if (kind === 'devdax' || kind === 'fsdax' || kind === 'p2pdma') throw new PgtemuError('EINVAL', 'reference model: DAX mappings are not modelled');
    const kindN = KINDS[kind];
    if (kindN === KIND_HUGETLB) flags |= VM_HUGETLB;
    if (kindN === KIND_PFNMAP) flags |= VM_PFNMAP;
    const end = s + len;
    const op = m.beginOp();
    let r = this.vmaInsert(s, end, flags, kindN, order, pfn);
    if (r === OK && kindN === KIND_PFNMAP) {
      r = remapPfnRange(m, this, s, end, pfn, (flags & VM_WRITE) !== 0, op);
      if (r !== OK) {
        zapRange(m, this, s, end, { freeTables: true, onlyGen: op, zapLeaves: true, op });
        this.vmaRemoveRange(s, end);
      }
    }
    if (r < 0) m.fail(r, 'mmap', `[${hex(s)}, ${hex(end)})`, s);
    if (o.populate && kind !== 'pfnmap') populateOrUnmap(this, () => m.lastOp(), s, len, o.write ?? true);   // __mm_populate skips VM_PFNMAP
  }

  munmap(start: bigint | number, length: bigint | number): void {
    this.unmap(start, length, 0);
  }

  /** munmap, also freeing the empty tables operation `gen` (a failed populate) built. */
  unmap(start: bigint | number, length: bigint | number, gen: number): void {
    const m = this.machine;
    const [s, len] = this.range('munmap', start, length);
    const end = s + len;
    const op = m.beginOp();
    let r = checkUnmapRange(m, this, s, end);
    if (r === OK && this.splitNeedsRoom(s, end)) r = E_NOSPC;
    if (r === OK) {
      // free_pgtables' floor and ceiling: the neighbouring VMAs once [s, end) is gone
      let floor = 0n, ceiling = 0n;
      for (const v of this.vmaList) {
        if (v.start < s) { const f = v.end < s ? v.end : s; if (f > floor) floor = f; }
        if (v.end > end) { const c = v.start > end ? v.start : end; if (ceiling === 0n || c < ceiling) ceiling = c; }
      }
      r = zapRange(m, this, s, end, { freeTables: true, onlyGen: 0, zapLeaves: true, op, floor, ceiling, alsoGen: gen });
    }
    if (r === OK) r = this.vmaRemoveRange(s, end);
    if (r < 0) m.fail(r, 'munmap', `[${hex(s)}, ${hex(end)})`, s);
  }

  zap(start: bigint | number, length: bigint | number): void {
    const m = this.machine;
    const [s, len] = this.range('zap', start, length);
    const end = s + len;
    const op = m.beginOp();
    let r = checkUnmapRange(m, this, s, end);
    if (r === OK) r = zapRange(m, this, s, end, { freeTables: false, onlyGen: 0, zapLeaves: true, op });
    if (r < 0) m.fail(r, 'zap', `[${hex(s)}, ${hex(end)})`, s);
  }

  fault(addr: bigint | number, o: { write?: boolean } = {}): void {
    this.live('fault');
    const m = this.machine;
    const va = m.checkUser(toBig(addr, 'fault: address'), 'address', 'fault');
    const op = m.beginOp();
    const r = faultOne(m, this, va, !!o.write, op);
    if (r < 0) m.fail(r, 'fault', `${o.write ? 'write' : 'read'} fault at ${hex(va)}`, va);
  }

  populate(start: bigint | number, length: bigint | number, o: { write?: boolean } = {}): bigint {
    const m = this.machine;
    const [s, len] = this.range('populate', start, length);
    const end = s + len;
    const op = m.beginOp();
    let va = s & ~(m.pageBytes - 1n);
    let r = OK;
    const last = m.n - 1;
    while (va < end) {
      r = faultOne(m, this, va, !!o.write, op);
      if (r < 0) break;
      const w = walkLevel(m, this, va);
      const size = m.L[w === null ? last : w].sizeB;
      va = (va + size) & ~(size - 1n);
    }
    const done = (va < end ? va : end) - s;
    if (r < 0) m.fail(r, 'populate', `after ${hex(done)} bytes of [${hex(s)}, ${hex(end)}) (the pages before stay populated)`, s + done);
    return done;
  }

  gupFast(addr: bigint | number, nr: number, o: GupOptions = {}): RefGupResult {
    this.live('gupFast');
    const m = this.machine;
    const va = toBig(addr, 'gupFast: address');
    m.checkUser(va, 'address', 'gupFast');
    if (!Number.isInteger(nr) || nr <= 0 || nr > m.maxPagesPerCall) {
      throw new PgtemuError('EINVAL', `gupFast: nr ${nr} is not in 1..${m.maxPagesPerCall}`, { op: 'gupFast', address: va });
    }
    m.checkUser(va + (BigInt(nr) << m.psB) - 1n, 'end', 'gupFast');
    const start = va & ~(m.pageBytes - 1n);
    let flags = o.pin ? FOLL_PIN : FOLL_GET;
    if (o.write) flags |= FOLL_WRITE;
    if (o.longterm) flags |= FOLL_LONGTERM;
    if (o.fastOnly) flags |= FOLL_FAST_ONLY;
    if (o.noFault) flags |= FOLL_NOFAULT;
    const r = gup(m, this, start, nr, flags);
    return {
      nr: Math.max(r.ret, 0), ret: r.ret, errno: r.ret < 0 ? STATUS[r.ret] ?? 'EINVAL' : undefined, fast: r.fast,
      pfns: r.pfns.map((p) => BigInt(p)), flags, pin: !!o.pin,
    };
  }

  vmas(): { start: bigint; end: bigint; kind: VmaKind; order: number; flags: number }[] {
    this.live('vmas');
    return this.vmaList.map((v) => ({ start: v.start, end: v.end, kind: KIND_NAMES[v.kind], order: v.order, flags: v.flags }));
  }

  counters(): MmCounters {
    this.live('counters');
    return { rssAnon: BigInt(this.rssAnon), rssFile: 0n, hugetlbPages: BigInt(this.hugetlbPages), pgtablesBytes: BigInt(this.pgtablesBytes), hasPinned: (this.flags & MMF_HAS_PINNED) !== 0 };
  }

  destroy(): void {
    this.live('destroy');
    this.machine.destroyMm(this);
    this.dead = true;
  }
}
