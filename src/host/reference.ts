// The reference model of pgtemu's core: the same operations over the same
// compiled architecture description, in plain TypeScript (objects, Maps,
// bigint), with no shared memory and no Wasm. It exists to check the core
// (test/model/differential.test.ts) and as a baseline in benchmarks.
//
// It reproduces the core exactly, not just the kernel's semantics: the same
// pfns come out of the RAM buddy allocator, the same physical addresses out
// of the table-pool buddy allocator (so every table entry is identical), the
// same struct page words, the same operation ids, the same statistics, and
// the same PgtemuError codes in the same situations. Each function below
// names the core function (assembly/*.ts) it mirrors; where the core departs
// from the kernel on purpose or otherwise, a comment says so ("core:").
//
// Limits: one thread (no lockless races, no write_protect_seq writers, no
// table-freeing IPIs); no op log, no invariant checker, no raw table access
// (writePhys / walkRaw); no ZONE_DEVICE pgmaps (as in the core: a devmap
// entry cannot be followed). RefMachine.of() wants a fresh Machine.

import { explainPage, type PageConstants } from './pageinfo.js';
import { decodeEntry, decodeLeafPa, decodeTablePa, encodeLeafEntry, encodeTableEntry, matchPred, type Descriptor, type LevelDescriptor, type PredName, type RawPred, type TemplateName } from './archdesc.js';
import type { Model } from './presets.js';
import { PgtemuError, hex, STATUS, STATUS_TEXT, type ErrorCode } from './errors.js';
import {
  NAMES, VM_READ, VM_WRITE, VM_SHARED, VM_PFNMAP, VM_IO, VM_HUGETLB, FOLL_WRITE, FOLL_GET, FOLL_NOFAULT, FOLL_LONGTERM, FOLL_PIN,
  FOLL_FAST_ONLY, GUP_PIN_COUNTING_BIAS, MMF_HAS_PINNED, PG_referenced, PG_uptodate, PG_head, PG_large_rmappable,
  PG_anon_exclusive, PG_reserved, PG_swapbacked, PGTY_buddy, PGTY_table, PGTY_hugetlb, PAGE_MAPPING_ANON as PAGE_MAPPING_ANON_U64, ENTIRELY_MAPPED,
  MAX_ORDERS, KIND_ANON, KIND_HUGETLB, KIND_PFNMAP, OK, E_FAULT, E_NOMEM, E_NOTABLE, E_INVAL, E_EXIST, E_NOSPC, E_SPLIT,
  W_OK, W_NONE, W_NOT_PRESENT, W_BAD, W_BADTABLE,
} from './consts.gen.js';
import { checkUser, mmapArgs, populateOrUnmap, releaseArgs, toBig, userRange } from './validate.js';
import type {
  EntryFlags, GupOptions, Machine, MachineStats, MmCounters, MmapOptions, PageInfo, VmaKind,
} from './machine.js';

// ---------------------------------------------------------------- kernel / core constants
// The core's (assembly/layout.ts), as built into build/core.wasm.
const PAGE_CONSTANTS: PageConstants = {
  pg: { PG_referenced, PG_uptodate, PG_head, PG_large_rmappable, PG_anon_exclusive, PG_reserved, PG_swapbacked },
  pgty: { buddy: PGTY_buddy, table: PGTY_table, hugetlb: PGTY_hugetlb },
};
/** the model keeps page->mapping as a number */
const PAGE_MAPPING_ANON = Number(PAGE_MAPPING_ANON_U64);
const KINDS: Record<Exclude<VmaKind, 'devdax' | 'fsdax'>, number> = { anon: KIND_ANON, hugetlb: KIND_HUGETLB, pfnmap: KIND_PFNMAP };
const KIND_NAMES = ([KIND_ANON, KIND_HUGETLB, KIND_PFNMAP] as const).map((k) => NAMES.KIND[k].name);
const W_NAMES = ([W_OK, W_NONE, W_NOT_PRESENT, W_BAD, W_BADTABLE] as const).map((w) => NAMES.W[w].name);

// mmu_gather batch sizes (assembly/layout.ts GATHER_*: the model keeps its own; the
// mmu_gather test holds both to the exact flush counts these give)
const GATHER_PAGES = 1024;
const GATHER_TABLES = 512;


/** Words per pfn written by RefMachine.pageWords(). */
export const PAGE_WORDS = 11;

const big = toBig;


/** matchPred for one predicate, without the alternatives it does not use. */
function compilePred(p: RawPred): (e: bigint) => boolean {
  const never = (m: bigint, v: bigint) => (v & ~m) !== 0n;   // (e & m) === v cannot hold
  const alts = [[p.m1, p.v1], [p.m2, p.v2]].filter(([m, v]) => !never(m, v));
  if (alts.some(([m, v]) => m === 0n && v === 0n)) return () => true;
  const any = p.any;
  if (alts.length === 0) return any === 0n ? () => false : (e) => (e & any) !== 0n;
  if (alts.length === 1) {
    const [m, v] = alts[0];
    return any === 0n ? (e) => (e & m) === v : (e) => (e & m) === v || (e & any) !== 0n;
  }
  return (e) => matchPred(p, e);
}

// ---------------------------------------------------------------- levels
/** One level of the descriptor, with its numbers precomputed for the model. */
class Lvl {
  readonly shift: number;
  readonly shiftB: bigint;
  readonly sizeB: bigint;
  readonly idxMask: bigint;
  readonly entries: number;
  readonly tableBytes: number;
  readonly leafOk: boolean;
  readonly isLast: boolean;
  empty: bigint;
  readonly noneMask: bigint;
  readonly t: Record<TemplateName, bigint>;
  readonly emptyTable: boolean;
  constructor(readonly d: LevelDescriptor) {
    this.shift = d.shift;
    this.shiftB = BigInt(d.shift);
    this.sizeB = 1n << this.shiftB;
    this.idxMask = (1n << BigInt(d.indexBits)) - 1n;
    this.entries = 1 << d.indexBits;
    this.tableBytes = d.tableBytes;
    this.leafOk = d.leafOk;
    this.isLast = d.isLast;
    this.empty = d.empty;
    this.noneMask = d.noneMask;
    this.f = Object.fromEntries(Object.entries(d.preds).map(([k, v]) => [k, compilePred(v)])) as Record<PredName, (e: bigint) => boolean>;
    this.t = d.templates;
    this.emptyTable = d.emptyTable;
  }
  private readonly f: Record<PredName, (e: bigint) => boolean>;
  pred(n: PredName, e: bigint): boolean { return this.f[n](e); }
  // (the empty value has no bits outside noneMask: archdesc.ts checks it)
  isNone(e: bigint): boolean { return e === this.empty || (e & this.noneMask) === this.empty; }
  isPresent(e: bigint): boolean { return !this.isNone(e) && this.pred('present', e); }
  isTable(e: bigint): boolean { return this.pred('table', e); }
  isLeaf(e: bigint): boolean { return this.leafOk && this.pred('leaf', e); }
  // the address fields, with the host's one definition (archdesc.ts)
  tablePa(e: bigint): number { return Number(decodeTablePa(this.d, e)); }
  leafPa(e: bigint): bigint { return decodeLeafPa(this.d, e); }
  mkTable(pa: number): bigint { return encodeTableEntry(this.d, BigInt(pa)); }
  mkLeaf(pa: bigint, t: TemplateName): bigint { return encodeLeafEntry(this.d, pa, this.t[t]); }
  index(va: bigint): number { return Number((va >> this.shiftB) & this.idxMask); }
}

// ---------------------------------------------------------------- struct page
/** One struct page, as the core's 64 bytes hold it (the words that matter). */
class RefPage {
  flags = 0;            // low 32 bits of page->flags (the section number above is not modelled)
  ch = -1;              // compound_head: head pfn when this is a tail
  next = -1;            // lru.next / lru.prev: buddy free-list links
  prev = -1;
  mapping = 0;          // anon: PAGE_MAPPING_ANON | mm id << 4 (the model's encoding, as the core's)
  index = 0n;
  priv = 0;             // page->private: buddy order while free
  mapcount = -1;        // _mapcount, or page_type in the top byte
  refcount = 0;
  lastOp = 0;
  // struct folio fields (kept in page[1] by the core; read only while PG_head is set)
  order = 0;
  largeMapcount = 0;
  entireMapcount = 0;
  nrPagesMapped = 0;
  pincount = 0;
  nrPages = 0;
}
const CLEAN = Object.freeze(new RefPage());

interface RefVma { start: bigint; end: bigint; pfn: bigint; flags: number; kind: number; order: number }

/** Where an entry lives: a table (by pa) and an index in it. */
interface Slot { pa: number; i: number }

export interface RefGupResult {
  readonly nr: number;
  readonly ret: number;
  readonly errno?: ErrorCode;
  readonly fast: number;
  readonly pfns: bigint[];
  readonly flags: number;
  readonly pin: boolean;
}

export interface RefWalkResult {
  level: number;
  levelName: string;
  entry: bigint;
  entryPa: bigint;
  status: 'ok' | 'none' | 'not-present' | 'bad' | 'bad-table';
  pa?: bigint;
  pfn?: bigint;
  size?: bigint;
  flags: EntryFlags;
}

/** Machine.stats() without the shared-memory sizes the model has no memory for. */
export type RefStats = Omit<MachineStats, 'memoryBytes' | 'memmapBytesPerGiB'>;

/** What RefMachine needs to know of a machine; RefMachine.of() reads it from a Machine. */
export interface RefMachineParams {
  desc: Descriptor;
  model: Model;
  ramPfns: bigint;
  poolBytes: number;
  maxMms: number;
  vmasPerMm: number;
  maxPagesPerCall: number;
  /** the last operation id handed out (1 on a fresh machine: machineInit) */
  opSeq?: number;
}

// ---------------------------------------------------------------- the machine
export class RefMachine {
  readonly desc: Descriptor;
  readonly model: Model;
  readonly ramPfns: bigint;
  readonly poolBytes: number;
  readonly leafOrders: number[];
  readonly maxPagesPerCall: number;
  /** @internal */ readonly L: Lvl[];
  /** @internal */ readonly n: number;
  /** @internal */ readonly ps: number;
  /** @internal */ readonly psB: bigint;
  private readonly userTop: bigint;
  private readonly vmasPerMm: number;
  private readonly memmapEnd: number;          // pfns with a struct page: whole sections of RAM
  private readonly memmapEndB: bigint;
  private readonly zeroPfn: number;
  private hugeZeroPfn = 0;                     // huge_zero_pfn: 0 until first use (folio.ts getHugeZeroFolio)
  private readonly zoneStart: number;
  private readonly zoneEnd: number;
  private readonly zoneMaxOrder: number;
  private readonly poolMinShift: number;
  private readonly poolMaxShift: number;
  private opSeq: number;

  // struct pages (absent: never touched, a clean page)
  private readonly pages = new Map<number, RefPage>();
  // RAM buddy allocator: LIFO free lists of head pfns
  private readonly zoneHead: number[] = new Array(MAX_ORDERS).fill(-1);
  // table pool: free lists (pa, 0 = end), free block heads and their order
  private readonly poolHead: number[] = new Array(MAX_ORDERS).fill(0);
  private readonly poolNext = new Map<number, number>();
  private readonly poolPrev = new Map<number, number>();
  private readonly poolFreeOrder = new Map<number, number>();
  /** @internal */ readonly tables = new Map<number, bigint[]>();
  private readonly tableGen = new Map<number, number>();
  private readonly slots: (RefMm | null)[];

  // statistics (the machine header's counters)
  private freePagesN = 0;
  private poolFreeBytes = 0;
  private gupOutstanding = 0;
  private pinOutstanding = 0;
  private tlbFlushes = 0;
  private tablesFreed = 0;
  private faults = 0;
  private gupFastPages = 0;
  private gupSlowPages = 0;
  private gupFastBails = 0;

  constructor(p: RefMachineParams) {
    this.desc = p.desc;
    this.model = p.model;
    this.ramPfns = p.ramPfns;
    this.poolBytes = p.poolBytes;
    this.vmasPerMm = p.vmasPerMm;
    this.maxPagesPerCall = p.maxPagesPerCall;
    this.L = p.desc.levels.map((l) => new Lvl(l));
    this.n = this.L.length;
    this.ps = p.desc.pageShift;
    this.psB = BigInt(this.ps);
    this.userTop = 1n << BigInt(p.desc.userVaBits);
    this.leafOrders = p.desc.levels.map((l) => (l.leafOk ? l.shift - p.desc.pageShift : -1));
    this.slots = new Array(p.maxMms).fill(null);
    this.opSeq = p.opSeq ?? 0;
    const ram = Number(p.ramPfns);
    const secPages = 2 ** (p.desc.sectionSizeBits - this.ps);
    this.memmapEnd = Math.ceil(ram / secPages) * secPages;
    this.memmapEndB = BigInt(this.memmapEnd);
    const tableSizes = p.desc.levels.map((l) => l.tableBytes);
    this.poolMinShift = Math.log2(Math.min(...tableSizes));
    this.poolMaxShift = Math.log2(Math.max(...tableSizes));
    const maxLeafOrder = Math.max(...this.leafOrders.filter((o) => o >= 0));
    this.zoneMaxOrder = Math.min(maxLeafOrder, MAX_ORDERS - 1);

    // machineInit: the pool frames and the zero page are reserved, refcount 1
    if (p.opSeq === undefined) this.opSeq++;            // OP_INIT
    const poolPfns = p.poolBytes >> this.ps;
    for (let pfn = 0; pfn <= poolPfns; pfn++) {
      const pg = this.pg(pfn);
      pg.flags |= 1 << PG_reserved;
      pg.refcount = 1;
    }
    this.zeroPfn = poolPfns;
    this.zoneStart = poolPfns + 1;
    this.zoneEnd = ram;
    this.zoneInit(this.zoneStart, this.zoneEnd);
    const first = 1 << this.ps;                         // frame 0 is never a table
    this.poolInit(Math.max(first, 2 ** this.poolMaxShift), p.poolBytes);
    // levels whose empty entries point at a shared invalid table, built bottom up
    for (let l = this.n - 2; l >= 0; l--) {
      const d = this.L[l];
      if (!d.emptyTable) continue;
      const t = this.allocTable(l + 1, 0);
      if (t === 0) throw new PgtemuError('ENOTABLE', 'RefMachine: no room in the table pool for the invalid tables');
      d.empty = d.mkTable(t);
    }
  }

  /**
   * A model of a freshly created Machine: same descriptor, RAM, pool and
   * limits. The machine must not have run any operation yet.
   */
  static of(m: Machine): RefMachine {
    const hd = (f: string) => (m as unknown as { hd(f: string): number | bigint }).hd(f);
    const st = m.stats();
    if (st.freePages !== st.totalPages || st.tablesFreed !== 0n || st.faults !== 0n || st.gupOutstanding !== 0n ||
        st.gupFastPages !== 0n || st.gupSlowPages !== 0n || st.tlbFlushes !== 0n ||
        (m as unknown as { mms: Set<unknown> }).mms.size !== 0) {
      throw new PgtemuError('EINVAL', 'RefMachine.of: the machine has run operations already (a model needs a fresh Machine)');
    }
    const r = new RefMachine({
      desc: m.desc,
      model: m.model,
      ramPfns: m.ramPfns,
      poolBytes: m.poolBytes,
      maxMms: Number(hd('mmCount')),
      vmasPerMm: Number(hd('vmaPerMm')),
      maxPagesPerCall: m.maxPagesPerCall,
      opSeq: m.lastOp(),                  // the main thread's context numbers its operations 1, 2, ...
    });
    if (r.poolFreeBytes !== st.poolFreeBytes) {
      throw new PgtemuError('EINVAL', `RefMachine.of: the machine's table pool has ${st.poolFreeBytes} bytes free, a fresh one ${r.poolFreeBytes}`);
    }
    r.L.forEach((l, i) => {
      if (l.empty !== m.desc.levels[i].empty) {
        throw new PgtemuError('EINVAL', `RefMachine.of: level ${i}'s empty entry ${hex(l.empty)} differs from the machine's ${hex(m.desc.levels[i].empty)}`);
      }
    });
    return r;
  }

  /** @internal */ beginOp(): number { return ++this.opSeq; }
  /** @internal The id of the last operation begun. */
  lastOp(): number { return this.opSeq; }

  // ---------------------------------------------------------------- struct pages
  /** @internal */ pg(pfn: number): RefPage {
    let p = this.pages.get(pfn);
    if (!p) { p = new RefPage(); this.pages.set(pfn, p); }
    return p;
  }
  private peek(pfn: number): RefPage { return this.pages.get(pfn) ?? CLEAN; }

  /** pfn_to_page: the pfn as a page number, or -1 without a struct page. */
  private pfnToPage(pfn: bigint): number {
    return pfn >= 0n && pfn < this.memmapEndB ? Number(pfn) : -1;
  }
  /** page_folio */
  private folioOf(pfn: number): number {
    const ch = this.peek(pfn).ch;
    return ch >= 0 ? ch : pfn;
  }
  private testFlag(pfn: number, bit: number): boolean { return (this.peek(pfn).flags & (1 << bit)) !== 0; }
  private large(folio: number): boolean { return this.testFlag(folio, PG_head); }
  private folioOrder(folio: number): number { return this.large(folio) ? this.peek(folio).order : 0; }
  private pageType(pfn: number): number { return this.peek(pfn).mapcount >>> 24; }
  private isZeroFolio(folio: number): boolean { return folio === this.zeroPfn; }
  private isHugeZeroPfn(pfn: bigint): boolean { return this.hugeZeroPfn !== 0 && pfn === BigInt(this.hugeZeroPfn); }

  /** getHugeZeroFolio: mm_get_huge_zero_folio, allocated once and kept; -1 when no block is free. */
  private getHugeZeroFolio(order: number, op: number): number {
    if (this.hugeZeroPfn !== 0) return this.hugeZeroPfn;
    const folio = this.allocPages(order);
    if (folio < 0) return -1;
    this.prepCompound(folio, order);              // not large_rmappable
    this.pg(folio).lastOp = op;
    this.hugeZeroPfn = folio;
    return folio;
  }

  /** isCowMapping: VM_MAYWRITE is not recorded (every mapping has it), so only VM_SHARED decides. */
  private isCowMapping(flags: number): boolean { return (flags & VM_SHARED) === 0; }

  // prep_compound_page (mem.ts prepCompound)
  private prepCompound(head: number, order: number): void {
    if (order === 0) return;
    const n = 2 ** order;
    for (let i = 1; i < n; i++) {
      const t = this.pg(head + i);
      t.ch = head;
      t.mapcount = -1;
      t.refcount = 0;
    }
    const h = this.pg(head);
    h.flags |= 1 << PG_head;
    // FOLIO_FLAGS_1 is page[1]'s flags word: its low byte holds the order
    const p1 = this.pg(head + 1);
    p1.flags = (p1.flags & ~0xff) | (order & 0xff);
    h.order = order & 0xff;
    h.largeMapcount = -1;
    h.entireMapcount = -1;
    h.nrPagesMapped = 0;
    h.pincount = 0;
    h.nrPages = n;
  }

  // clearPage: everything but the section bits and last_op
  private clearPage(pfn: number): void {
    const p = this.pages.get(pfn);
    if (!p) return;
    p.flags = 0; p.ch = -1; p.next = -1; p.prev = -1; p.mapping = 0; p.index = 0n; p.priv = 0;
    p.mapcount = -1; p.refcount = 0;
    // page[1]'s words hold the folio fields of page[0]: clearing page[1] clears them
    const h = this.pages.get(pfn - 1);
    if (h) { h.order = 0; h.largeMapcount = 0; h.entireMapcount = 0; h.nrPagesMapped = 0; h.pincount = 0; h.nrPages = 0; }
  }

  private unprepFolio(head: number, order: number): void {
    const n = 2 ** order;
    for (let i = 1; i < n; i++) this.clearPage(head + i);
    this.clearPage(head);
  }

  // ---------------------------------------------------------------- RAM buddy allocator
  private listAdd(o: number, pfn: number): void {
    const p = this.pg(pfn);
    const first = this.zoneHead[o];
    p.next = first;
    p.prev = -1;
    if (first >= 0) this.pg(first).prev = pfn;
    this.zoneHead[o] = pfn;
  }

  private listDel(o: number, pfn: number): void {
    const p = this.pg(pfn);
    const nx = p.next, pr = p.prev;
    if (pr >= 0) this.pg(pr).next = nx; else this.zoneHead[o] = nx;
    if (nx >= 0) this.pg(nx).prev = pr;
    p.next = -1;
    p.prev = -1;
  }

  private setBuddy(pfn: number, o: number): void {
    const p = this.pg(pfn);
    p.mapcount = (PGTY_buddy << 24) | 0;
    p.priv = o;
  }

  private clearBuddy(pfn: number): void {
    const p = this.pg(pfn);
    p.mapcount = -1;
    p.priv = 0;
  }

  private isBuddy(pfn: number): boolean { return this.pageType(pfn) === PGTY_buddy; }

  /** allocPages: 2^order frames, head refcount 1; -1 when none. */
  private allocPages(order: number): number {
    if (order > this.zoneMaxOrder) return -1;
    let o = order;
    let p = -1;
    for (; o <= this.zoneMaxOrder; o++) {
      p = this.zoneHead[o];
      if (p >= 0) break;
    }
    if (p < 0) return -1;
    this.listDel(o, p);
    this.clearBuddy(p);
    while (o > order) {            // expand(): hand the upper halves back
      o--;
      const b = p + 2 ** o;
      this.setBuddy(b, o);
      this.listAdd(o, b);
    }
    this.freePagesN -= 2 ** order;
    this.pg(p).refcount = 1;
    return p;
  }

  /** __free_pages_ok: merge with free buddies of equal order. */
  private freePages(pfn: number, order: number): void {
    this.freePagesN += 2 ** order;
    while (order < this.zoneMaxOrder) {
      const size = 2 ** order;
      const b = Math.floor(pfn / size) % 2 === 0 ? pfn + size : pfn - size;
      if (b < this.zoneStart || b + size > this.zoneEnd) break;
      if (!this.isBuddy(b) || this.peek(b).priv !== order) break;
      this.listDel(order, b);
      this.clearBuddy(b);
      if (b < pfn) pfn = b;
      order++;
    }
    this.setBuddy(pfn, order);
    this.listAdd(order, pfn);
  }

  private zoneInit(start: number, end: number): void {
    let pfn = start;
    while (pfn < end) {
      let o = this.zoneMaxOrder;
      while (o > 0 && (pfn % 2 ** o !== 0 || pfn + 2 ** o > end)) o--;
      this.setBuddy(pfn, o);
      this.listAdd(o, pfn);
      this.freePagesN += 2 ** o;
      pfn += 2 ** o;
    }
  }

  // ---------------------------------------------------------------- table pool
  private poolListAdd(o: number, pa: number): void {
    const first = this.poolHead[o];
    this.poolNext.set(pa, first);
    this.poolPrev.set(pa, 0);
    if (first !== 0) this.poolPrev.set(first, pa);
    this.poolHead[o] = pa;
    this.poolFreeOrder.set(pa, o);
  }

  private poolListDel(o: number, pa: number): void {
    const nx = this.poolNext.get(pa) ?? 0, pr = this.poolPrev.get(pa) ?? 0;
    if (pr !== 0) this.poolNext.set(pr, nx); else this.poolHead[o] = nx;
    if (nx !== 0) this.poolPrev.set(nx, pr);
    this.poolNext.delete(pa);
    this.poolPrev.delete(pa);
    this.poolFreeOrder.delete(pa);
  }

  private poolInit(start: number, end: number): void {
    const maxO = this.poolMaxShift - this.poolMinShift;
    let pa = start;
    while (pa < end) {
      let o = maxO;
      while (o > 0 && (pa % 2 ** (o + this.poolMinShift) !== 0 || pa + 2 ** (o + this.poolMinShift) > end)) o--;
      this.poolListAdd(o, pa);
      this.poolFreeBytes += 2 ** (o + this.poolMinShift);
      pa += 2 ** (o + this.poolMinShift);
    }
  }

  private poolAlloc(bytes: number): number {
    const order = Math.log2(bytes) - this.poolMinShift;
    const maxO = this.poolMaxShift - this.poolMinShift;
    let o = order;
    let pa = 0;
    for (; o <= maxO; o++) {
      pa = this.poolHead[o];
      if (pa !== 0) break;
    }
    if (pa === 0) return 0;
    this.poolListDel(o, pa);
    while (o > order) {
      o--;
      this.poolListAdd(o, pa + 2 ** (o + this.poolMinShift));
    }
    this.poolFreeBytes -= bytes;
    return pa;
  }

  private poolFree(pa: number, bytes: number): void {
    let o = Math.log2(bytes) - this.poolMinShift;
    const maxO = this.poolMaxShift - this.poolMinShift;
    this.poolFreeBytes += bytes;
    while (o < maxO) {
      const size = 2 ** (o + this.poolMinShift);
      const b = Math.floor(pa / size) % 2 === 0 ? pa + size : pa - size;
      if (b + size > this.poolBytes || b === 0) break;
      if (this.poolFreeOrder.get(b) !== o) break;
      this.poolListDel(o, b);
      if (b < pa) pa = b;
      o++;
    }
    this.poolListAdd(o, pa);
  }

  /** allocTable: a table for level l, every entry empty; 0 when the pool is exhausted. */
  private allocTable(l: number, op: number): number {
    const d = this.L[l];
    const pa = this.poolAlloc(d.tableBytes);
    if (pa === 0) return 0;
    this.tables.set(pa, new Array<bigint>(d.entries).fill(d.empty));
    this.tableGen.set(pa, op);
    return pa;
  }

  private freeTable(l: number, pa: number): void {
    this.poolFree(pa, this.L[l].tableBytes);
    this.tables.delete(pa);
    this.tableGen.delete(pa);
    this.tablesFreed++;
  }

  private poolContains(pa: number, n: number): boolean { return pa < this.poolBytes && n <= this.poolBytes - pa; }

  private rd(s: Slot): bigint { return this.table(s.pa)[s.i]; }
  private wr(s: Slot, e: bigint): void { this.table(s.pa)[s.i] = e; }
  private table(pa: number): bigint[] {
    const t = this.tables.get(pa);
    if (!t) throw new Error(`reference: no table at pa ${hex(pa)}`);
    return t;
  }

  // ---------------------------------------------------------------- walks
  /** walkFrom with stop = 255: down to a leaf or a non-present entry. */
  private walkFrom(rootPa: number, va: bigint, checkPool: boolean): { level: number; entry: bigint; slot: Slot | null; code: number } {
    let pa = rootPa;
    for (let l = 0; l < this.n; l++) {
      const d = this.L[l];
      if (checkPool && !this.poolContains(pa, d.tableBytes)) return { level: l, entry: 0n, slot: null, code: W_BADTABLE };
      const slot = { pa, i: d.index(va) };
      const e = this.rd(slot);
      if (d.isNone(e)) return { level: l, entry: e, slot, code: W_NONE };
      if (!d.isPresent(e)) return { level: l, entry: e, slot, code: W_NOT_PRESENT };
      if (l === this.n - 1 || d.isLeaf(e)) return { level: l, entry: e, slot, code: d.isLeaf(e) ? W_OK : W_BAD };
      if (!d.isTable(e)) return { level: l, entry: e, slot, code: W_BAD };
      pa = d.tablePa(e);
    }
    throw new Error('unreachable');
  }

  private allocStatus = 0;
  /** walkAlloc: the entry at level target, allocating missing tables; null with allocStatus set. */
  private walkAlloc(mm: RefMm, va: bigint, target: number, op: number): Slot | null {
    let pa = mm.root;
    for (let l = 0; l < target; l++) {
      const d = this.L[l];
      const slot = { pa, i: d.index(va) };
      const e = this.rd(slot);
      if (d.isNone(e)) {
        const t = this.allocTable(l + 1, op);
        if (t === 0) { this.allocStatus = E_NOTABLE; return null; }
        mm.pgtablesBytes += this.L[l + 1].tableBytes;
        this.wr(slot, d.mkTable(t));
        pa = t;
        continue;
      }
      if (!d.isPresent(e) || !d.isTable(e) || d.isLeaf(e)) { this.allocStatus = E_EXIST; return null; }
      pa = d.tablePa(e);
    }
    return { pa, i: this.L[target].index(va) };
  }

  /** The level of the leaf mapping va (populate's step), or null. */
  /** @internal */ walkLevel(mm: RefMm, va: bigint): number | null {
    const w = this.walkFrom(mm.root, va, false);
    return w.code === W_OK ? w.level : null;
  }

  /** leafLevelFor: the level whose leaves map 2^order pages, or -1. */
  private leafLevelFor(order: number): number {
    const want = this.ps + order;
    for (let l = 0; l < this.n; l++) if (this.L[l].shift === want) return this.L[l].leafOk ? l : -1;
    return -1;
  }

  // ---------------------------------------------------------------- faults (mm.ts)
  private initNewFolio(folio: number, order: number, mm: RefMm, va: bigint, op: number, hugetlb: boolean): void {
    this.prepCompound(folio, order);
    const p = this.pg(folio);
    p.mapping = PAGE_MAPPING_ANON | (mm.id << 4);
    p.index = va >> this.psB;
    p.flags |= (1 << PG_uptodate) | (1 << PG_swapbacked) | (1 << PG_anon_exclusive);
    if (order > 0) {
      if (hugetlb) p.mapcount = (PGTY_hugetlb << 24) | 0;
      else p.flags |= 1 << PG_large_rmappable;
      p.entireMapcount = 0;
      p.largeMapcount = 0;
      if (!hugetlb) p.nrPagesMapped = ENTIRELY_MAPPED;
    } else {
      p.mapcount = 0;
    }
    p.lastOp = op;
  }

  /** handle_mm_fault for one address (faultLocked); unshare: FAULT_FLAG_UNSHARE. */
  /** @internal */ faultLocked(mm: RefMm, va: bigint, write: boolean, op: number, unshare = false): number {
    const v = mm.findVma(va);
    if (!v) return E_FAULT;
    if (write && (v.flags & VM_WRITE) === 0) return E_FAULT;
    if (!write && (v.flags & VM_READ) === 0) return E_FAULT;
    if (v.kind === KIND_PFNMAP) return E_FAULT;
    const last = this.n - 1;
    let order = v.order;
    let l = this.leafLevelFor(order);
    if (l < 0) return E_INVAL;
    if (order > 0 && v.kind === KIND_ANON) {
      const size = 1n << BigInt(this.ps + order);
      const base = va & ~(size - 1n);
      if (base < v.start || base + size > v.end) { order = 0; l = last; }
    }
    let p = this.walkAlloc(mm, va, l, op);
    if (p === null && this.allocStatus === E_EXIST && order > 0 && v.kind === KIND_ANON) {
      order = 0;
      l = last;
      p = this.walkAlloc(mm, va, l, op);
    }
    if (p !== null && order > 0 && v.kind === KIND_ANON) {
      // the pmd slot already holds a pte table: handle_pte_fault at pte level
      const d0 = this.L[l];
      const e0 = this.rd(p);
      if (!d0.isNone(e0) && d0.isPresent(e0) && !d0.isLeaf(e0) && d0.isTable(e0)) {
        order = 0;
        l = last;
        p = this.walkAlloc(mm, va, l, op);
      }
    }
    if (p === null) return this.allocStatus === E_NOTABLE ? E_NOTABLE : E_FAULT;
    const d = this.L[l];
    const e = this.rd(p);
    if (!d.isNone(e)) {
      if (!d.isPresent(e) || d.pred('protnone', e)) return E_FAULT;
      if (!d.isLeaf(e)) return E_FAULT;             // a table where a hugetlb leaf belongs
      if ((!write && !unshare) || d.pred('write', e)) return OK;    // spurious
      const pfn = d.leafPa(e) >> this.psB;
      if (l !== last && this.isHugeZeroPfn(pfn)) return this.wpHugeZeroPmd(mm, va, p, l, write, op);
      if (l === last && pfn === BigInt(this.zeroPfn)) {
        // do_wp_page on the zero page: wp_page_copy
        const np = this.allocPages(0);
        if (np < 0) return E_NOMEM;
        this.wpPageCopy(mm, va, p, np, write, op);
        return OK;
      }
      // an exclusive anon folio: unshare has nothing to do; wp_page_reuse
      if (unshare) return OK;
      if (this.pfnToPage(pfn) < 0) return E_FAULT;
      this.wr(p, d.mkLeaf(d.leafPa(e), 'rw'));
      this.tlbFlushes++;
      return OK;
    }
    if (order > 0 && !write && v.kind === KIND_ANON && l === last - 1) {
      // do_huge_pmd_anonymous_page: the huge zero folio
      const hz = this.getHugeZeroFolio(order, op);
      if (hz >= 0) {
        this.wr(p, d.mkLeaf(BigInt(hz) << this.psB, 'ro'));
        return OK;
      }
      order = 0;                                    // THP_FAULT_FALLBACK
      l = last;
      p = this.walkAlloc(mm, va, l, op);
      if (p === null) return this.allocStatus === E_NOTABLE ? E_NOTABLE : E_FAULT;
    }
    if (order === 0 && !write && v.kind === KIND_ANON) {
      // do_anonymous_page: the zero page (pte_mkspecial, a no-op without the special bit)
      this.wr(p, this.L[l].mkLeaf(BigInt(this.zeroPfn) << this.psB, 'specialRo'));
      return OK;
    }
    let folio = this.allocPages(order);
    if (folio < 0 && order > 0 && v.kind === KIND_ANON) {
      // THP_FAULT_FALLBACK
      order = 0;
      l = last;
      p = this.walkAlloc(mm, va, l, op);
      if (p === null) return this.allocStatus === E_NOTABLE ? E_NOTABLE : E_FAULT;
      folio = this.allocPages(0);
    }
    if (folio < 0) return E_NOMEM;
    const hugetlb = v.kind === KIND_HUGETLB;
    this.initNewFolio(folio, order, mm, va & ~((1n << BigInt(this.ps + order)) - 1n), op, hugetlb);
    const writable = (v.flags & VM_WRITE) !== 0 && (!hugetlb || write);
    this.wr(p, this.L[l].mkLeaf(BigInt(folio) << this.psB, writable ? 'rw' : 'ro'));
    if (hugetlb) mm.hugetlbPages += 2 ** order;     // hugetlb_count_add
    else mm.rssAnon += 2 ** order;
    this.faults++;
    return OK;
  }

  /** wpPageCopy: wp_page_copy of the zero page into np (read-only for an unshare). */
  private wpPageCopy(mm: RefMm, va: bigint, p: Slot, np: number, write: boolean, op: number): void {
    this.initNewFolio(np, 0, mm, va, op, false);
    this.wr(p, this.L[this.n - 1].mkLeaf(BigInt(np) << this.psB, write ? 'rw' : 'ro'));
    this.tlbFlushes++;
    mm.rssAnon += 1;
  }

  /** wpHugeZeroPmd: the page and the table first, then the split and the copy. */
  private wpHugeZeroPmd(mm: RefMm, va: bigint, pmd: Slot, l: number, write: boolean, op: number): number {
    const np = this.allocPages(0);
    if (np < 0) return E_NOMEM;
    const t = this.allocTable(l + 1, op);
    if (t === 0) {
      this.folioPutRefs(np, 1);
      return E_NOTABLE;
    }
    this.splitHugeZeroPmd(mm, pmd, l, t);
    this.wpPageCopy(mm, va, { pa: t, i: this.L[l + 1].index(va) }, np, write, op);
    return OK;
  }

  /** splitHugeZeroPmd: __split_huge_zero_page_pmd into the fresh table t. */
  /** @internal */ splitHugeZeroPmd(mm: RefMm, pmd: Slot, l: number, t: number): void {
    this.wr(pmd, this.L[l].empty);
    this.tlbFlushes++;
    const d = this.L[l + 1];
    this.table(t).fill(d.mkLeaf(BigInt(this.zeroPfn) << this.psB, 'specialRo'));
    mm.pgtablesBytes += d.tableBytes;
    this.wr(pmd, this.L[l].mkTable(t));
  }

  /** faultOne: one fault; tables it allocated are taken back if it fails. */
  /** @internal */ faultOne(mm: RefMm, va: bigint, write: boolean, op: number): number {
    const r = this.faultLocked(mm, va, write, op);
    if (r < 0) {
      const base = va & ~((1n << this.psB) - 1n);
      this.zapRange(mm, base, base + (1n << this.psB), true, op, false, op);
    }
    return r;
  }

  /** remap_pfn_range */
  /** @internal */ remapPfnRange(mm: RefMm, start: bigint, end: bigint, pfn: bigint, writable: boolean, op: number): number {
    const last = this.n - 1;
    const d = this.L[last];
    const span = this.L[last - 1].sizeB;       // what one last-level table covers
    let tab: bigint[] | null = null, i = 0, tabEnd = 0n;
    for (let va = start; va < end; va += 1n << this.psB) {
      if (tab === null || va >= tabEnd) {
        // walkAlloc once per last-level table: the pages after it in the same table find it allocated
        const p = this.walkAlloc(mm, va, last, op);
        if (p === null) return this.allocStatus === E_NOTABLE ? E_NOTABLE : E_EXIST;
        tab = this.table(p.pa);
        i = p.i;
        tabEnd = (va | (span - 1n)) + 1n;
      }
      tab[i++] = d.mkLeaf((pfn + ((va - start) >> this.psB)) << this.psB, writable ? 'specialRw' : 'specialRo');
    }
    return OK;
  }

  // ---------------------------------------------------------------- folio references (folio.ts)
  private tallyRefs = 0;
  private tallyPins = 0;

  private freeFolio(folio: number): void {
    if (this.testFlag(folio, PG_reserved)) return;
    const order = this.folioOrder(folio);
    this.unprepFolio(folio, order);
    this.freePages(folio, order);
  }

  private folioPutRefs(folio: number, refs: number): void {
    const p = this.pg(folio);
    p.refcount = (p.refcount - refs) | 0;
    if (p.refcount === 0) this.freeFolio(folio);
  }

  private tryGetFolio(page: number, refs: number): number {
    const folio = this.folioOf(page);
    const p = this.pg(folio);
    if (p.refcount < 0) return -1;
    if (p.refcount === 0) return -1;               // add-unless-zero
    p.refcount = (p.refcount + refs) | 0;
    return folio;
  }

  private tallyGrab(folio: number, refs: number, flags: number): void {
    if (flags & FOLL_PIN) {
      if (this.large(folio)) { this.tallyRefs += refs; this.tallyPins += refs; } else this.tallyRefs += refs * GUP_PIN_COUNTING_BIAS;
    } else this.tallyRefs += refs;
  }

  private tryGrabFolioFast(page: number, refs: number, flags: number): number {
    if (flags & FOLL_GET) {
      const f = this.tryGetFolio(page, refs);
      if (f >= 0) this.tallyRefs += refs;
      return f;
    }
    if (!(flags & FOLL_PIN)) return -1;
    if (this.isZeroFolio(this.folioOf(page))) return this.folioOf(page);
    const folio = this.tryGetFolio(page, refs);
    if (folio < 0) return -1;
    // FOLL_LONGTERM: every RAM folio is longterm-pinnable here
    const p = this.pg(folio);
    if (this.large(folio)) p.pincount = (p.pincount + refs) | 0;
    else p.refcount = (p.refcount + refs * (GUP_PIN_COUNTING_BIAS - 1)) | 0;
    this.tallyGrab(folio, refs, flags);
    return folio;
  }

  private tryGrabFolio(folio: number, refs: number, flags: number): boolean {
    const p = this.pg(folio);
    if (p.refcount <= 0) return false;
    if (flags & FOLL_GET) {
      p.refcount = (p.refcount + refs) | 0;
      this.tallyRefs += refs;
      return true;
    }
    if (this.isZeroFolio(folio)) return true;
    if (this.large(folio)) {
      p.refcount = (p.refcount + refs) | 0;
      p.pincount = (p.pincount + refs) | 0;
    } else {
      p.refcount = (p.refcount + refs * GUP_PIN_COUNTING_BIAS) | 0;
    }
    this.tallyGrab(folio, refs, flags);
    return true;
  }

  private gupPutFolio(folio: number, refs: number, flags: number): void {
    if (flags & FOLL_PIN) {
      if (this.isZeroFolio(folio)) return;
      if (this.large(folio)) {
        const p = this.pg(folio);
        p.pincount = (p.pincount - refs) | 0;
        this.tallyRefs -= refs;
        this.tallyPins -= refs;
      } else {
        this.tallyRefs -= refs * GUP_PIN_COUNTING_BIAS;
        refs *= GUP_PIN_COUNTING_BIAS;
      }
    } else this.tallyRefs -= refs;
    this.folioPutRefs(folio, refs);
  }

  private putUnits(folio: number, refs: number, flags: number): number {
    if (flags & FOLL_PIN) {
      if (this.isZeroFolio(folio)) return 0;
      return this.large(folio) ? refs : refs * GUP_PIN_COUNTING_BIAS;
    }
    return refs;
  }

  private gupFastFolioAllowed(folio: number, flags: number): boolean {
    const all = FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE;
    const rejectFileBacked = (flags & all) === all;
    const checkSecretmem = !this.large(folio);
    if (!rejectFileBacked && !checkSecretmem) return true;
    if (this.large(folio) && this.pageType(folio) === PGTY_hugetlb) return true;
    const mapping = this.peek(folio).mapping;
    if (mapping === 0) return false;
    const bits = mapping & 3;
    if (bits !== 0) return (bits & PAGE_MAPPING_ANON) !== 0;
    return !rejectFileBacked;
  }

  /** gup_must_unshare; vma null: gup-fast's NULL */
  private gupMustUnshare(flags: number, page: number, vma: RefVma | null): boolean {
    if ((flags & (FOLL_WRITE | FOLL_PIN)) !== FOLL_PIN) return false;
    const folio = this.folioOf(page);
    if ((this.peek(folio).mapping & PAGE_MAPPING_ANON) === 0) {
      if (!(flags & FOLL_LONGTERM)) return false;
      return vma === null ? true : this.isCowMapping(vma.flags);
    }
    const p = this.large(folio) && this.pageType(folio) === PGTY_hugetlb ? folio : page;
    return !this.testFlag(p, PG_anon_exclusive);
  }

  private setReferenced(folio: number): void { this.pg(folio).flags |= 1 << PG_referenced; }

  // ---------------------------------------------------------------- gup (gup.ts)
  private gOut: number[] = [];
  private gNr = 0;
  private gFlags = 0;
  private gOp = 0;

  private accessPermitted(d: Lvl, e: bigint, write: boolean): boolean {
    return d.pred('access', e) && (!write || d.pred('write', e));
  }

  private undoSince(nrStart: number): void {
    while (this.gNr > nrStart) {
      this.gNr--;
      this.gupPutFolio(this.folioOf(this.gOut[this.gNr]), 1, this.gFlags);
    }
  }

  private gupFastPteRange(d: Lvl, tpa: number, addr: bigint, end: bigint): boolean {
    const write = (this.gFlags & FOLL_WRITE) !== 0;
    const devmap = this.desc.hasDevmap;
    const nrStart = this.gNr;
    const tab = this.table(tpa);
    let i = d.index(addr);
    const page1 = 1n << this.psB;
    do {
      const pte = tab[i];
      if (d.pred('protnone', pte)) return false;
      if (d.isNone(pte) || !d.isPresent(pte) || !this.accessPermitted(d, pte, write)) return false;
      const pfn = d.leafPa(pte) >> this.psB;
      if (devmap && d.pred('devmap', pte)) {
        if (this.gFlags & FOLL_LONGTERM) return false;
        this.undoSince(nrStart);                     // get_dev_pagemap: no pgmap for any pfn here
        return false;
      } else if (d.pred('special', pte)) {
        return false;
      }
      const page = this.pfnToPage(pfn);
      if (page < 0) return false;
      const folio = this.tryGrabFolioFast(page, 1, this.gFlags);
      if (folio < 0) return false;
      if (!this.gupFastFolioAllowed(folio, this.gFlags)) { this.gupPutFolio(folio, 1, this.gFlags); return false; }
      if (!d.pred('write', pte) && this.gupMustUnshare(this.gFlags, page, null)) { this.gupPutFolio(folio, 1, this.gFlags); return false; }
      this.setReferenced(folio);
      this.pg(page).lastOp = this.gOp;
      this.gOut[this.gNr++] = page;
      i++;
      addr += page1;
    } while (addr !== end);
    return true;
  }

  private gupFastLeaf(d: Lvl, orig: bigint, addr: bigint, end: bigint): boolean {
    const write = (this.gFlags & FOLL_WRITE) !== 0;
    if (!this.accessPermitted(d, orig, write)) return false;
    if (d.pred('special', orig)) return false;
    const pfn = (d.leafPa(orig) + (addr & (d.sizeB - 1n))) >> this.psB;
    if (this.desc.hasDevmap && d.pred('devmap', orig)) return false;   // FOLL_LONGTERM, or no pgmap
    const page = this.pfnToPage(pfn);
    if (page < 0) return false;
    const refs = Number((end - addr) >> this.psB);
    const folio = this.tryGrabFolioFast(page, refs, this.gFlags);
    if (folio < 0) return false;
    if (!this.gupFastFolioAllowed(folio, this.gFlags)) { this.gupPutFolio(folio, refs, this.gFlags); return false; }
    if (!d.pred('write', orig) && this.gupMustUnshare(this.gFlags, folio, null)) { this.gupPutFolio(folio, refs, this.gFlags); return false; }
    for (let k = 0; k < refs; k++) this.gOut[this.gNr + k] = page + k;    // record_subpages
    this.gNr += refs;
    this.setReferenced(folio);
    this.pg(folio).lastOp = this.gOp;
    return true;
  }

  private gupFastLevel(l: number, tpa: number, addr: bigint, end: bigint): boolean {
    const d = this.L[l];
    if (!this.poolContains(tpa, d.tableBytes)) return false;
    if (l === this.n - 1) return this.desc.hasSpecial && this.gupFastPteRange(d, tpa, addr, end);   // the #else stub
    const tab = this.table(tpa);
    let i = d.index(addr);
    do {
      const e = tab[i];
      let next = (addr + d.sizeB) & ~(d.sizeB - 1n);
      if (next === 0n || next > end) next = end;
      if (d.isNone(e) || !d.isPresent(e)) return false;
      if (d.isLeaf(e)) {
        if (d.pred('protnone', e)) return false;
        if (!this.gupFastLeaf(d, e, addr, next)) return false;
      } else if (d.isTable(e)) {
        if (!this.gupFastLevel(l + 1, d.tablePa(e), addr, next)) return false;
      } else {
        return false;
      }
      i++;
      addr = next;
    } while (addr !== end);
    return true;
  }

  private getUserPagesLocked(mm: RefMm, start: bigint, nr: number): number {
    const write = (this.gFlags & FOLL_WRITE) !== 0;
    const n0 = this.gNr;
    const partial = (err: number) => (this.gNr > n0 ? this.gNr - n0 : err);
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
        const w = this.walkFrom(mm.root, addr, true);
        let ok = w.code === W_OK;
        const d = this.L[w.level];
        const e = w.entry;
        if (ok && (d.pred('protnone', e) || (write && !d.pred('write', e)))) ok = false;
        if (ok) {
          const pfn = (d.leafPa(e) + (addr & (d.sizeB - 1n))) >> this.psB;
          let page: number;
          if (this.desc.hasDevmap && d.pred('devmap', e)) {
            return partial(E_FAULT);                 // follow_page_pte: no live pgmap
          } else if (d.pred('special', e)) {
            if (pfn !== BigInt(this.zeroPfn)) return partial(E_FAULT);   // vm_normal_page() NULL
            page = this.pfnToPage(pfn);
          } else {
            page = this.pfnToPage(pfn);
          }
          if (page < 0) return partial(E_FAULT);
          let take = Number((d.sizeB - (addr & (d.sizeB - 1n))) >> this.psB);
          if (take > left) take = left;
          const folio = this.folioOf(page);
          // follow_huge_pmd / follow_huge_pud test the leaf's head page, follow_page_pte the page
          if (!d.pred('write', e) && this.gupMustUnshare(this.gFlags, d.isLast ? page : folio, v)) {
            ok = false;
            unshare = true;
          } else {
            if (!this.tryGrabFolio(folio, take, this.gFlags)) return partial(E_NOMEM);
            this.setReferenced(folio);
            this.pg(folio).lastOp = this.gOp;
            for (let k = 0; k < take; k++) this.gOut[this.gNr + k] = page + k;
            this.gNr += take;
            left -= take;
            addr += BigInt(take) << this.psB;
            break;
          }
        }
        // faultin_page (core: no rollback of the tables a failed fault allocated here)
        if ((this.gFlags & FOLL_NOFAULT) !== 0 || ++tries > 3) return partial(E_FAULT);
        const r = this.faultLocked(mm, addr, write, this.gOp, unshare && !write);
        unshare = false;
        if (r < 0) return partial(r);
      }
    }
    return this.gNr - n0;
  }

  /** @internal */ gup(mm: RefMm, start: bigint, nr: number, flags: number): { ret: number; fast: number; pfns: number[] } {
    const op = this.beginOp();
    // is_valid_gup_args: FOLL_LONGTERM without FOLL_PIN
    if ((flags & (FOLL_LONGTERM | FOLL_PIN)) === FOLL_LONGTERM) return { ret: E_INVAL, fast: 0, pfns: [] };
    this.gOut = [];
    this.gNr = 0;
    this.gFlags = flags;
    this.gOp = op;
    this.tallyRefs = 0;
    this.tallyPins = 0;
    if (flags & FOLL_PIN) mm.flags |= MMF_HAS_PINNED;
    const end = start + (BigInt(nr) << this.psB);
    this.gupFastLevel(0, mm.root, start, end);
    const fast = this.gNr;
    this.gupFastPages += fast;
    if (fast < nr) this.gupFastBails++;
    let ret = fast;
    if (fast < nr && (flags & FOLL_FAST_ONLY) === 0) {
      const slow = this.getUserPagesLocked(mm, start + (BigInt(fast) << this.psB), nr - fast);
      if (slow > 0) {
        this.gupSlowPages += slow;
        ret += slow;
      } else if (fast === 0) {
        ret = slow;
      }
    }
    this.gupOutstanding += this.tallyRefs;
    this.pinOutstanding += this.tallyPins;
    this.tallyRefs = 0;
    this.tallyPins = 0;
    return { ret, fast, pfns: this.gOut.slice(0, Math.max(ret, 0)) };
  }

  // ---------------------------------------------------------------- zap (zap.ts)
  private gPages: { folio: number; refs: number }[] = [];
  private gTables: { l: number; pa: number }[] = [];
  private gMm: RefMm | null = null;
  private gOnlyGen = 0;
  private gFreeTables = false;
  private gZapLeaves = true;
  private gZapOp = 0;

  private tlbFlushMmu(): void {
    if (this.gPages.length === 0 && this.gTables.length === 0) return;
    this.tlbFlushes++;
    const pages = this.gPages;
    this.gPages = [];
    for (const q of pages) this.folioPutRefs(q.folio, q.refs);
    if (this.gTables.length > 0) {
      const tabs = this.gTables;
      this.gTables = [];
      for (const t of tabs) this.freeTable(t.l, t.pa);
    }
  }

  private tlbRemoveFolio(folio: number): void {
    const n = this.gPages.length;
    if (n > 0 && this.gPages[n - 1].folio === folio) { this.gPages[n - 1].refs++; return; }
    if (n === GATHER_PAGES) this.tlbFlushMmu();
    this.gPages.push({ folio, refs: 1 });
  }

  private tlbRemoveTable(l: number, pa: number): void {
    if (this.gTables.length === GATHER_TABLES) this.tlbFlushMmu();
    this.gTables.push({ l, pa });
  }

  private zapLeaf(l: number, s: Slot): void {
    const d = this.L[l];
    const e = this.rd(s);
    this.wr(s, d.empty);                             // ptep_get_and_clear_full
    if (!d.isPresent(e)) return;
    if (d.pred('special', e) || d.pred('devmap', e)) return;
    const pfn = d.leafPa(e) >> this.psB;
    // the zero pfn without a special bit; the huge zero PMD
    if (d.isLast ? pfn === BigInt(this.zeroPfn) : this.isHugeZeroPfn(pfn)) return;
    const page = this.pfnToPage(pfn);
    if (page < 0) return;
    const folio = this.folioOf(page);
    const m = this.gMm!;
    const f = this.pg(folio);
    if (l === this.n - 1) {
      const pp = this.pg(page);
      pp.mapcount = (pp.mapcount - 1) | 0;
      if (this.large(folio)) {
        f.largeMapcount = (f.largeMapcount - 1) | 0;
        f.nrPagesMapped = (f.nrPagesMapped - 1) | 0;
      }
      m.rssAnon -= 1;
    } else {
      f.entireMapcount = (f.entireMapcount - 1) | 0;
      f.largeMapcount = (f.largeMapcount - 1) | 0;
      if (this.pageType(folio) !== PGTY_hugetlb) {
        f.nrPagesMapped = (f.nrPagesMapped - ENTIRELY_MAPPED) | 0;
        m.rssAnon -= 2 ** (d.shift - this.ps);
      } else {
        m.hugetlbPages -= 2 ** (d.shift - this.ps);   // hugetlb_count_sub
      }
    }
    f.lastOp = this.gZapOp;
    this.tlbRemoveFolio(folio);
  }

  private tableEmpty(l: number, pa: number): boolean {
    const d = this.L[l];
    for (const e of this.table(pa)) if (!d.isNone(e)) return false;
    return true;
  }

  private zapLevel(l: number, tpa: number, addr: bigint, end: bigint): void {
    const d = this.L[l];
    if (!this.poolContains(tpa, d.tableBytes)) return;
    let i = d.index(addr);
    do {
      let next = (addr + d.sizeB) & ~(d.sizeB - 1n);
      if (next === 0n || next > end) next = end;
      const s = { pa: tpa, i };
      const e = this.rd(s);
      if (!d.isNone(e)) {
        if (l === this.n - 1 || d.isLeaf(e) || !d.isPresent(e)) {
          if (this.gZapLeaves) this.zapLeaf(l, s);
        } else if (d.isTable(e)) {
          const child = d.tablePa(e);
          this.zapLevel(l + 1, child, addr, next);
          const base = addr & ~(d.sizeB - 1n);      // free_pgd_range's floor and ceiling
          const spanFree = base >= this.gFloor && (this.gCeiling === 0n || base + d.sizeB <= this.gCeiling);
          if (this.gFreeTables && (this.gOnlyGen === 0 || this.tableGen.get(child) === this.gOnlyGen) &&
              (spanFree || (this.gAlsoGen !== 0 && this.tableGen.get(child) === this.gAlsoGen)) && this.tableEmpty(l + 1, child)) {
            this.wr(s, d.empty);
            this.gMm!.pgtablesBytes -= this.L[l + 1].tableBytes;
            this.tlbRemoveTable(l + 1, child);
          }
        }
      }
      i++;
      addr = next;
    } while (addr !== end);
  }

  /** partialLeafAt: the huge leaf mapping va when `edge` is not aligned to it. */
  private partialLeafAt(mm: RefMm, va: bigint, edge: bigint): { slot: Slot; level: number; entry: bigint } | null {
    const w = this.walkFrom(mm.root, va, true);
    if (w.code === W_OK && w.level < this.n - 1 && (edge & (this.L[w.level].sizeB - 1n)) !== 0n) return { slot: w.slot!, level: w.level, entry: w.entry };
    return null;
  }

  private isHugeZeroLeaf(x: { level: number; entry: bigint } | null): boolean {
    return x !== null && this.isHugeZeroPfn(this.L[x.level].leafPa(x.entry) >> this.psB);
  }

  /** partialHugeLeaf: a huge leaf (not the huge zero PMD) that [start, end) covers only in part. */
  private partialHugeLeaf(mm: RefMm, start: bigint, end: bigint): boolean {
    const a = this.partialLeafAt(mm, start, start);
    if (a && !this.isHugeZeroLeaf(a)) return true;
    const b = this.partialLeafAt(mm, end - 1n, end);
    return b !== null && !this.isHugeZeroLeaf(b);
  }

  /** splitPartialHugeZero: both tables first, then the splits. */
  private splitPartialHugeZero(mm: RefMm, start: bigint, end: bigint, op: number): number {
    const first = this.partialLeafAt(mm, start, start);
    const b0 = this.partialLeafAt(mm, end - 1n, end);
    const a = this.isHugeZeroLeaf(first) ? first : null;
    let b = this.isHugeZeroLeaf(b0) ? b0 : null;
    if (a && b && a.slot.pa === b.slot.pa && a.slot.i === b.slot.i) b = null;
    if (!a && !b) return OK;
    const ta = a ? this.allocTable(a.level + 1, op) : 0;
    if (a && ta === 0) return E_NOTABLE;
    const tb = b ? this.allocTable(b.level + 1, op) : 0;
    if (b && tb === 0) {
      if (a) this.freeTable(a.level + 1, ta);
      return E_NOTABLE;
    }
    if (a) this.splitHugeZeroPmd(mm, a.slot, a.level, ta);
    if (b) this.splitHugeZeroPmd(mm, b.slot, b.level, tb);
    return OK;
  }

  private gFloor = 0n;
  private gCeiling = 0n;
  private gAlsoGen = 0;
  /** @internal */ zapRange(mm: RefMm, start: bigint, end: bigint, freeTables: boolean, onlyGen: number, zapLeaves: boolean, op: number,
    floor = 0n, ceiling = 0n, alsoGen = 0): number {
    if (zapLeaves && this.partialHugeLeaf(mm, start, end)) return E_SPLIT;
    this.gFloor = floor;
    this.gCeiling = ceiling;
    this.gAlsoGen = alsoGen;
    if (zapLeaves) {
      const r = this.splitPartialHugeZero(mm, start, end, op);
      if (r !== OK) return r;
    }
    this.gZapLeaves = zapLeaves;
    this.gPages = [];
    this.gTables = [];
    this.gMm = mm;
    this.gOnlyGen = onlyGen;
    this.gFreeTables = freeTables;
    this.gZapOp = op;
    this.zapLevel(0, mm.root, start, end);
    this.tlbFlushMmu();
    return OK;
  }

  /** checkUnmapRange: ranges that would split a hugetlb VMA or a huge leaf. */
  /** @internal */ checkUnmapRange(mm: RefMm, start: bigint, end: bigint): number {
    for (const v of mm.vmaList) {
      if (v.end <= start || v.start >= end || v.kind !== KIND_HUGETLB) continue;
      const mask = (1n << BigInt(this.ps + v.order)) - 1n;
      if ((start > v.start && (start & mask) !== 0n) || (end < v.end && (end & mask) !== 0n)) return E_INVAL;
    }
    if (this.partialHugeLeaf(mm, start, end)) return E_SPLIT;
    return OK;
  }

  // ---------------------------------------------------------------- host-side checks (machine.ts)
  /** @internal */ fail(status: number, op: string, what: string, address?: bigint): never {
    const code = STATUS[status] ?? 'EINVAL';
    throw new PgtemuError(code, `${op}: ${what}: ${STATUS_TEXT[code]} (reference model)`, { op, address });
  }

  /** @internal */ checkUser(v: bigint, what: string, op: string): bigint { return checkUser(this.desc, v, what, op); }

  /** @internal */ get top(): bigint { return this.userTop; }
  /** @internal */ get vmaLimit(): number { return this.vmasPerMm; }

  // ---------------------------------------------------------------- public API (as Machine)
  createMm(): RefMm {
    const i = this.slots.indexOf(null);
    if (i < 0) this.fail(E_NOSPC, 'createMm', 'a new address space');
    const op = this.beginOp();
    const root = this.allocTable(0, op);
    if (root === 0) this.fail(E_NOTABLE, 'createMm', 'a new address space');
    const mm = new RefMm(this, i, i + 1, root);
    this.slots[i] = mm;
    return mm;
  }

  /** mmDestroy: exit_mmap. */
  /** @internal */ destroyMm(mm: RefMm): void {
    const op = this.beginOp();
    this.zapRange(mm, 0n, this.userTop, true, 0, true, op);
    this.freeTable(0, mm.root);
    mm.vmaList = [];
    this.slots[mm.slot] = null;
  }

  /** unpin_user_pages (FOLL_PIN results) or put_page (FOLL_GET results). */
  unpin(pages: RefGupResult | { pfns: ArrayLike<bigint>; nr?: number; pin?: boolean }): void {
    const { n, pin, op } = releaseArgs(pages, false);
    this.release(pages.pfns, n, pin, op);
  }

  put(pages: RefGupResult | { pfns: ArrayLike<bigint>; nr?: number }): void {
    const { n, op } = releaseArgs(pages, true);
    this.release(pages.pfns, n, false, op);
  }

  private release(pfns: ArrayLike<bigint>, n: number, pin: boolean, op: string): void {
    const flags = pin ? FOLL_PIN : FOLL_GET;
    for (let done = 0; done < n;) {
      const chunk = Math.min(n - done, this.maxPagesPerCall);
      const list: bigint[] = [];
      for (let i = 0; i < chunk; i++) list.push(BigInt.asUintN(64, BigInt(pfns[done + i])));
      const bad = this.unpinChunk(list, flags);
      if (bad >= 0) {
        const at = done + bad;
        throw new PgtemuError('EINVAL', `${op}: page ${at} (pfn ${hex(BigInt(pfns[at]))}) has no struct page or not the references to give back; nothing from that page on was released (reference model)`, { op });
      }
      done += chunk;
    }
  }

  /** core unpin(): one gup_put_folio per run, checked. Returns the refused index or -1. */
  private unpinChunk(list: bigint[], flags: number): number {
    // As the core does it, in one pass: runs of one large folio (or of the
    // zero page) are released whole, a small page page by page; the first
    // release that would take a count below zero refuses the list, after
    // everything released before it was taken back (those folios, and a small
    // page some of whose copies went through, keep this operation as their last).
    const op = this.beginOp();
    const n = list.length;
    const pages = list.map((p) => this.pfnToPage(p));
    const owed = new Map<number, { units: number; pins: number }>();
    const runs: { folio: number; refs: number }[] = [];
    const refuse = (at: number, also?: number): number => {
      for (const r of runs) this.pg(r.folio).lastOp = op;
      if (also !== undefined) this.pg(also).lastOp = op;
      return at;
    };
    let i = 0;
    while (i < n) {
      const page = pages[i];
      if (page < 0) return refuse(i);
      const folio = this.folioOf(page);
      let j = i + 1;
      while (j < n && pages[j] >= 0 && this.folioOf(pages[j]) === folio) j++;
      const refs = j - i;
      const o = owed.get(folio) ?? { units: 0, pins: 0 };
      const f = this.peek(folio);
      const units = this.putUnits(folio, refs, flags);
      const pins = (flags & FOLL_PIN) !== 0 && this.large(folio) && !this.isZeroFolio(folio) ? refs : 0;
      // as the core: what the mappings hold (and a large folio's other pins) stays;
      // table-pool frames never go, the zero page keeps its own reference
      if (!this.large(folio) && !this.isZeroFolio(folio)) {
        if (this.testFlag(folio, PG_reserved)) return refuse(i);
        const each = this.putUnits(folio, 1, flags);
        const mapped = Math.max(f.mapcount, -1) + 1;      // a page type (free page) is negative
        const fit = Math.floor((f.refcount - o.units - mapped) / each);
        if (fit < refs) return refuse(i, fit >= 1 ? folio : undefined);
      } else {
        const pinsLeft = f.pincount - o.pins - pins;
        const keep = this.isZeroFolio(folio) ? 1 : f.largeMapcount + 1 + pinsLeft;
        if (pinsLeft < 0 || f.refcount - o.units - units < keep) return refuse(i);
      }
      o.units += units;
      o.pins += pins;
      owed.set(folio, o);
      runs.push({ folio, refs });
      i = j;
    }
    this.tallyRefs = 0;
    this.tallyPins = 0;
    for (const r of runs) {
      this.pg(r.folio).lastOp = op;
      this.gupPutFolio(r.folio, r.refs, flags);
    }
    this.gupOutstanding += this.tallyRefs;
    this.pinOutstanding += this.tallyPins;
    this.tallyRefs = 0;
    this.tallyPins = 0;
    return -1;
  }

  /** A snapshot of one struct page, as Machine.page() reads it. */
  page(pfn: bigint | number): PageInfo {
    const pb = big(pfn, 'page: pfn');
    const i = this.pfnToPage(pb);
    if (i < 0) throw new PgtemuError('EINVAL', `page: pfn ${hex(pb)} has no struct page`);
    const p = this.peek(i);
    const tail = p.ch >= 0;
    const isHead = (p.flags & (1 << PG_head)) !== 0;
    let mapping = BigInt(p.mapping);
    if (tail && p.ch === i - 1 && this.large(p.ch)) {
      // page[1]'s mapping word holds _nr_pages_mapped (low) and _pincount (high)
      const h = this.peek(p.ch);
      mapping = (BigInt(h.pincount >>> 0) << 32n) | BigInt(h.nrPagesMapped >>> 0);
    }
    return {
      pfn: pb,
      index: p.index,
      flags: BigInt(p.flags >>> 0),
      refcount: p.refcount,
      mapcount: p.mapcount,
      buddy: (p.mapcount >>> 24) === PGTY_buddy,
      reserved: (p.flags & (1 << PG_reserved)) !== 0,
      tail,
      head: tail ? BigInt(p.ch) : pb,
      order: isHead ? p.order : 0,
      pincount: isHead ? p.pincount : 0,
      entireMapcount: isHead ? p.entireMapcount : -1,
      largeMapcount: isHead ? p.largeMapcount : -1,
      mapping,
      lastOp: p.lastOp,
      ...explainPage(BigInt(p.flags >>> 0), p.mapcount, isHead ? p.largeMapcount : tail ? this.peek(p.ch).largeMapcount : undefined, PAGE_CONSTANTS),
    };
  }

  /**
   * page(pfn) as PAGE_WORDS int32 words from out[at]: flags, refcount,
   * mapcount, head pfn (-1 unless a tail), order, pincount, entireMapcount,
   * largeMapcount, mapping (low, high), lastOp. For comparing every pfn
   * quickly; pfn must have a struct page.
   */
  pageWords(pfn: number, out: Int32Array, at: number): void {
    const p = this.peek(pfn);
    const isHead = (p.flags & (1 << PG_head)) !== 0;
    let lo = p.mapping | 0, hi = 0;
    if (p.ch >= 0 && p.ch === pfn - 1 && this.large(p.ch)) {
      const h = this.peek(p.ch);
      lo = h.nrPagesMapped | 0;
      hi = h.pincount | 0;
    }
    out[at] = p.flags | 0;
    out[at + 1] = p.refcount;
    out[at + 2] = p.mapcount;
    out[at + 3] = p.ch;
    out[at + 4] = isHead ? p.order : 0;
    out[at + 5] = isHead ? p.pincount : 0;
    out[at + 6] = isHead ? p.entireMapcount : -1;
    out[at + 7] = isHead ? p.largeMapcount : -1;
    out[at + 8] = lo;
    out[at + 9] = hi;
    out[at + 10] = p.lastOp | 0;
  }

  /** Walk an address space's tables for addr (Machine.walk). */
  walk(mm: RefMm, addr: bigint | number): RefWalkResult {
    const va = big(addr, 'walk: address');
    mm.live('walk');
    const w = this.walkFrom(mm.root, BigInt.asUintN(64, va), true);
    const l = this.L[w.level];
    const status = W_NAMES[w.code];
    const res: RefWalkResult = {
      level: w.level,
      levelName: l.d.name,
      entry: w.entry,
      entryPa: w.slot ? BigInt(w.slot.pa + w.slot.i * 8) : 0n,
      status,
      flags: decodeEntry(l.d, w.entry, l.empty),
    };
    if (w.code === W_OK && (l.isLast || l.isLeaf(w.entry))) {
      res.pa = l.leafPa(w.entry) + (BigInt.asUintN(64, va) & (l.sizeB - 1n));
      res.pfn = res.pa >> this.psB;
      res.size = l.sizeB;
    }
    return res;
  }

  /** The entries of the table at pa (as the core holds them, before any byte swap). */
  tableEntries(pa: bigint | number): readonly bigint[] | undefined {
    return this.tables.get(Number(pa));
  }

  stats(): RefStats {
    return {
      freePages: BigInt(this.freePagesN),
      totalPages: BigInt(this.zoneEnd - this.zoneStart),
      zoneStartPfn: BigInt(this.zoneStart),
      poolFreeBytes: this.poolFreeBytes,
      poolBytes: this.poolBytes,
      gupOutstanding: BigInt(this.gupOutstanding),
      pinOutstanding: BigInt(this.pinOutstanding),
      tlbFlushes: BigInt(this.tlbFlushes),
      tablesFreed: BigInt(this.tablesFreed),
      faults: BigInt(this.faults),
      gupFastPages: BigInt(this.gupFastPages),
      gupSlowPages: BigInt(this.gupSlowPages),
      gupFastBails: BigInt(this.gupFastBails),
      hugeZeroPfn: this.hugeZeroPfn !== 0 ? BigInt(this.hugeZeroPfn) : undefined,
    };
  }

  /** What each helper says of an entry at a level (Machine.decode). */
  decode(entry: bigint, level: number = this.n - 1): EntryFlags {
    const l = this.L[level];
    if (!l) throw new PgtemuError('EINVAL', `decode: level ${level} does not exist (0..${this.n - 1})`);
    return decodeEntry(l.d, entry, l.empty);
  }
}


// ---------------------------------------------------------------- address space
export class RefMm {
  /** @internal */ vmaList: RefVma[] = [];
  /** @internal */ rssAnon = 0;
  /** @internal */ hugetlbPages = 0;
  /** @internal */ pgtablesBytes: number;
  /** @internal */ flags = 0;
  private dead = false;
  readonly rootPa: bigint;

  /** @internal */
  constructor(readonly machine: RefMachine, readonly slot: number, readonly id: number, readonly root: number) {
    this.rootPa = BigInt(root);
    this.pgtablesBytes = machine.L[0].tableBytes;
  }

  /** @internal */ live(op: string): void {
    if (this.dead) throw new PgtemuError('EINVAL', `${op}: this address space was destroyed`);
  }

  /** find_vma */
  /** @internal */ findVma(addr: bigint): RefVma | undefined {
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
    if (this.vmaList.length >= this.machine.vmaLimit) return E_NOSPC;
    let i = 0;
    while (i < this.vmaList.length && this.vmaList[i].end <= start) i++;
    if (i < this.vmaList.length && this.vmaList[i].start < end) return E_EXIST;
    this.vmaList.splice(i, 0, { start, end, flags, kind, order, pfn });
    return OK;
  }

  private vmaRemoveRange(start: bigint, end: bigint): number {
    const ps = this.machine.psB;
    const list = this.vmaList;
    for (const v of list) if (v.start < start && v.end > end && list.length >= this.machine.vmaLimit) return E_NOSPC;
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
    // core mmap()
    if (kind === 'devdax' || kind === 'fsdax') throw new PgtemuError('EINVAL', 'reference model: DAX mappings are not modelled');
    const kindN = KINDS[kind];
    if (kindN === KIND_HUGETLB) flags |= VM_HUGETLB;
    if (kindN === KIND_PFNMAP) flags |= VM_PFNMAP;
    const end = s + len;
    const op = m.beginOp();
    let r = this.vmaInsert(s, end, flags, kindN, order, pfn);
    if (r === OK && kindN === KIND_PFNMAP) {
      r = m.remapPfnRange(this, s, end, pfn, (flags & VM_WRITE) !== 0, op);
      if (r !== OK) {
        m.zapRange(this, s, end, true, op, true, op);
        this.vmaRemoveRange(s, end);
      }
    }
    if (r < 0) m.fail(r, 'mmap', `[${hex(s)}, ${hex(end)})`, s);
    if (o.populate && kind !== 'pfnmap') populateOrUnmap(this, () => m.lastOp(), s, len, o.write ?? true);   // __mm_populate skips VM_PFNMAP
  }

  munmap(start: bigint | number, length: bigint | number): void {
    this.unmap(start, length, 0);
  }

  /** @internal munmap, also freeing the empty tables operation `gen` (a failed populate) built. */
  unmap(start: bigint | number, length: bigint | number, gen: number): void {
    const m = this.machine;
    const [s, len] = this.range('munmap', start, length);
    const end = s + len;
    const op = m.beginOp();
    let r = m.checkUnmapRange(this, s, end);
    if (r === OK) {
      for (const v of this.vmaList) if (v.start < s && v.end > end && this.vmaList.length >= m.vmaLimit) r = E_NOSPC;
    }
    if (r === OK) {
      // free_pgtables' floor and ceiling: the neighbouring VMAs once [s, end) is gone
      let floor = 0n, ceiling = 0n;
      for (const v of this.vmaList) {
        if (v.start < s) { const f = v.end < s ? v.end : s; if (f > floor) floor = f; }
        if (v.end > end) { const c = v.start > end ? v.start : end; if (ceiling === 0n || c < ceiling) ceiling = c; }
      }
      r = m.zapRange(this, s, end, true, 0, true, op, floor, ceiling, gen);
    }
    if (r === OK) r = this.vmaRemoveRange(s, end);
    if (r < 0) m.fail(r, 'munmap', `[${hex(s)}, ${hex(end)})`, s);
  }

  zap(start: bigint | number, length: bigint | number): void {
    const m = this.machine;
    const [s, len] = this.range('zap', start, length);
    const end = s + len;
    const op = m.beginOp();
    let r = m.checkUnmapRange(this, s, end);
    if (r === OK) r = m.zapRange(this, s, end, false, 0, true, op);
    if (r < 0) m.fail(r, 'zap', `[${hex(s)}, ${hex(end)})`, s);
  }

  fault(addr: bigint | number, o: { write?: boolean } = {}): void {
    this.live('fault');
    const m = this.machine;
    const va = m.checkUser(big(addr, 'fault: address'), 'address', 'fault');
    const op = m.beginOp();
    const r = m.faultOne(this, va, !!o.write, op);
    if (r < 0) m.fail(r, 'fault', `${o.write ? 'write' : 'read'} fault at ${hex(va)}`, va);
  }

  populate(start: bigint | number, length: bigint | number, o: { write?: boolean } = {}): bigint {
    const m = this.machine;
    const [s, len] = this.range('populate', start, length);
    const end = s + len;
    const op = m.beginOp();
    let va = s & ~((1n << m.psB) - 1n);
    let r = OK;
    const last = m.n - 1;
    while (va < end) {
      r = m.faultOne(this, va, !!o.write, op);
      if (r < 0) break;
      const w = m.walkLevel(this, va);
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
    const va = big(addr, 'gupFast: address');
    m.checkUser(va, 'address', 'gupFast');
    if (!Number.isInteger(nr) || nr <= 0 || nr > m.maxPagesPerCall) {
      throw new PgtemuError('EINVAL', `gupFast: nr ${nr} is not in 1..${m.maxPagesPerCall}`, { op: 'gupFast', address: va });
    }
    m.checkUser(va + (BigInt(nr) << m.psB) - 1n, 'end', 'gupFast');
    const start = va & ~((1n << m.psB) - 1n);
    let flags = o.pin ? FOLL_PIN : FOLL_GET;
    if (o.write) flags |= FOLL_WRITE;
    if (o.longterm) flags |= FOLL_LONGTERM;
    if (o.fastOnly) flags |= FOLL_FAST_ONLY;
    if (o.noFault) flags |= FOLL_NOFAULT;
    const r = m.gup(this, start, nr, flags);
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
