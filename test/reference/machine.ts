// The machine (assembly/index.ts, and the checks src/host/machine.ts makes
// before calling the core): operation ids, statistics, address spaces,
// releases, walks, and what a struct page holds.
import { decodeEntry, type Descriptor } from '../../src/host/archdesc.js';
import { E_NOSPC, E_NOTABLE, MAX_ORDERS, NAMES, W_OK, W_BAD, W_BADTABLE, W_NONE, W_NOT_PRESENT } from '../../src/host/consts.gen.js';
import { PgtemuError, STATUS, STATUS_TEXT, hex } from '../../src/host/errors.js';
import type { EntryFlags, Machine, MachineStats } from '../../src/host/machine.js';
import type { Model } from '../../src/host/presets.js';
import { checkUser, releaseArgs, toBig } from '../../src/host/validate.js';
import { Lvl } from './arch.js';
import { Memory, type RefPage } from './mem.js';
import { RefMm, type RefGupResult } from './mm.js';
import { release } from './unpin.js';
import { walkFrom } from './walk.js';
import { zapRange } from './zap.js';

const W_NAMES = ([W_OK, W_NONE, W_NOT_PRESENT, W_BAD, W_BADTABLE] as const).map((w) => NAMES.W[w].name as RefWalkResult['status']);

export interface RefWalkResult {
  level: number;
  levelName: string;
  entry: bigint;
  /** where the entry lives in the model's own table pool */
  entryPa: bigint;
  status: 'ok' | 'none' | 'not-present' | 'bad' | 'bad-table';
  pa?: bigint;
  pfn?: bigint;
  size?: bigint;
  flags: EntryFlags;
}

/** Machine.stats() without the shared-memory sizes the model has no memory for. */
export type RefStats = Omit<MachineStats, 'memoryBytes' | 'memmapBytesPerGiB'>;

/** What RefMachine needs to know of a machine; RefMachine.of() reads it from a fresh Machine. */
export interface RefMachineParams {
  desc: Descriptor;
  model: Model;
  ramPfns: bigint;
  poolBytes: number;
  maxMms: number;
  vmasPerMm: number;
  maxPagesPerCall: number;
  /** the last operation id handed out (a fresh machine's is its machineInit) */
  opSeq: number;
}

export class RefMachine extends Memory {
  readonly desc: Descriptor;
  readonly model: Model;
  readonly ramPfns: bigint;
  readonly poolBytes: number;
  readonly leafOrders: number[];
  readonly maxPagesPerCall: number;
  readonly vmasPerMm: number;
  readonly L: Lvl[];
  readonly n: number;
  readonly ps: number;
  readonly psB: bigint;
  readonly pageBytes: bigint;
  readonly userTop: bigint;
  /** huge_zero_pfn: -1 until a THP read fault allocates it (folio.ts getHugeZeroFolio) */
  hugeZeroPfn = -1;
  /** what the current gup or unpin took (+) or gave back (-): references and large-folio pins */
  readonly tally = { refs: 0, pins: 0 };
  /** the machine's counters */
  readonly stat = { gupOutstanding: 0, pinOutstanding: 0, tlbFlushes: 0, tablesFreed: 0, faults: 0, gupFastPages: 0, gupSlowPages: 0, gupFastBails: 0 };
  private readonly slots: (RefMm | null)[];
  private opSeq: number;

  constructor(p: RefMachineParams) {
    const ps = p.desc.pageShift;
    const leafOrders = p.desc.levels.map((l) => (l.leafOk ? l.shift - ps : -1));
    super({
      ramPfns: Number(p.ramPfns), sectionPfns: 2 ** (p.desc.sectionSizeBits - ps), pageShift: ps, poolBytes: p.poolBytes,
      tableSizes: p.desc.levels.map((l) => l.tableBytes), maxOrder: Math.min(Math.max(...leafOrders), MAX_ORDERS - 1),
    });
    this.desc = p.desc;
    this.model = p.model;
    this.ramPfns = p.ramPfns;
    this.poolBytes = p.poolBytes;
    this.vmasPerMm = p.vmasPerMm;
    this.maxPagesPerCall = p.maxPagesPerCall;
    this.leafOrders = leafOrders;
    this.L = p.desc.levels.map((l) => new Lvl(l));
    this.n = this.L.length;
    this.ps = ps;
    this.psB = BigInt(ps);
    this.pageBytes = 1n << this.psB;
    this.userTop = 1n << BigInt(p.desc.userVaBits);
    this.slots = new Array(p.maxMms).fill(null);
    this.opSeq = p.opSeq;
    if (this.memmapEnd > 2 ** (p.desc.maxPhysBits - ps)) {
      throw new PgtemuError('EINVAL', `RefMachine: frames numbered from ${this.frameBase} do not fit ${p.desc.maxPhysBits} physical address bits`);
    }
    // levels whose empty entries link a shared invalid table hold one each (their link is the descriptor's empty entry)
    for (let l = this.n - 2; l >= 0; l--) {
      if (!this.L[l].d.emptyTable) continue;
      if (this.allocTableAt(l + 1, 0) < 0) throw new PgtemuError('ENOTABLE', 'RefMachine: no room in the table pool for the invalid tables');
    }
  }

  /**
   * A model of a freshly created Machine: the same descriptor (with the
   * machine's empty entries), RAM, pool and limits. The machine must not have
   * run any operation yet.
   */
  static of(m: Machine): RefMachine {
    const header = (f: 'mmCount' | 'vmaPerMm') => Number(m.rd(m.headerPtr, 'Header', f));
    const r = new RefMachine({
      desc: m.desc, model: m.model, ramPfns: m.ramPfns, poolBytes: m.poolBytes, maxMms: header('mmCount'), vmasPerMm: header('vmaPerMm'),
      maxPagesPerCall: m.maxPagesPerCall, opSeq: m.lastOp(),
    });
    const st = m.stats(), rs = r.stats();
    const fresh = st.freePages === st.totalPages && st.gupOutstanding === 0n && st.faults === 0n && st.tablesFreed === 0n &&
      st.hugeZeroPfn === undefined && st.poolFreeBytes === rs.poolFreeBytes;
    if (!fresh) throw new PgtemuError('EINVAL', 'RefMachine.of: the machine has run operations already (a model needs a fresh Machine)');
    if (st.zoneStartPfn !== BigInt(r.zeroPfn + 1) || st.totalPages !== rs.totalPages) {
      throw new PgtemuError('EINVAL', `RefMachine.of: the machine's zone is [${st.zoneStartPfn}, +${st.totalPages}), the model's the ${rs.totalPages} frames above pfn ${r.zeroPfn}`);
    }
    return r;
  }

  beginOp(): number { return ++this.opSeq; }
  /** The id of the last operation begun. */
  lastOp(): number { return this.opSeq; }

  /** allocTable: a table for level l, every entry empty, made by operation op; -1 when the pool is exhausted. */
  allocTableAt(l: number, op: number): number {
    const d = this.L[l];
    return this.allocTable(d.tableBytes, d.entries, d.empty, op);
  }

  freeTable(l: number, pa: number): void {
    this.freeTableAt(pa, this.L[l].tableBytes);
    this.stat.tablesFreed++;
  }

  fail(status: number, op: string, what: string, address?: bigint): never {
    const code = STATUS[status] ?? 'EINVAL';
    throw new PgtemuError(code, `${op}: ${what}: ${STATUS_TEXT[code]} (reference model)`, { op, address });
  }

  checkUser(v: bigint, what: string, op: string): bigint { return checkUser(this.desc, v, what, op); }

  // ---------------------------------------------------------------- the public operations (as Machine's)
  createMm(): RefMm {
    const i = this.slots.indexOf(null);
    if (i < 0) this.fail(E_NOSPC, 'createMm', 'a new address space');
    const op = this.beginOp();
    const root = this.allocTableAt(0, op);
    if (root < 0) this.fail(E_NOTABLE, 'createMm', 'a new address space');
    const mm = new RefMm(this, i, root);
    this.slots[i] = mm;
    return mm;
  }

  /** mmDestroy: exit_mmap. */
  destroyMm(mm: RefMm): void {
    const op = this.beginOp();
    zapRange(this, mm, 0n, this.userTop, { freeTables: true, onlyGen: 0, zapLeaves: true, op });
    this.freeTable(0, mm.root);
    mm.vmaList = [];
    this.slots[mm.slot] = null;
  }

  /** unpin_user_pages (FOLL_PIN results) or put_page (FOLL_GET results). */
  unpin(pages: RefGupResult | { pfns: ArrayLike<bigint>; nr?: number; pin?: boolean }): void {
    const { n, pin, op } = releaseArgs(pages, false);
    release(this, pages.pfns, n, pin, op);
  }

  put(pages: RefGupResult | { pfns: ArrayLike<bigint>; nr?: number }): void {
    const { n, op } = releaseArgs(pages, true);
    release(this, pages.pfns, n, false, op);
  }

  /** The struct page of pfn, in the model's terms (a free frame reads as a clean page). */
  page(pfn: bigint | number): Readonly<RefPage> {
    const pb = toBig(pfn, 'page: pfn');
    const i = this.pfnToPage(pb);
    if (i < 0) throw new PgtemuError('EINVAL', `page: pfn ${hex(pb)} has no struct page`);
    return this.peek(i);
  }

  /** Walk an address space's tables for addr (Machine.walk). */
  walk(mm: RefMm, addr: bigint | number): RefWalkResult {
    const va = BigInt.asUintN(64, toBig(addr, 'walk: address'));
    mm.live('walk');
    const w = walkFrom(this, mm.root, va);
    const l = this.L[w.level];
    const res: RefWalkResult = {
      level: w.level,
      levelName: l.d.name,
      entry: w.entry,
      entryPa: BigInt(w.slot.pa + w.slot.i * 8),
      status: W_NAMES[w.code],
      flags: decodeEntry(l.d, w.entry, l.empty),
    };
    if (w.code === W_OK && (l.isLast || l.isLeaf(w.entry))) {
      res.pa = l.leafPa(w.entry) + (va & (l.sizeB - 1n));
      res.pfn = res.pa >> this.psB;
      res.size = l.sizeB;
    }
    return res;
  }

  /** The entries of the model's table at pa (a root is RefMm.rootPa; links are its own pool offsets). */
  tableEntries(pa: bigint | number): readonly bigint[] | undefined {
    return this.tables.get(Number(pa))?.entries;
  }

  stats(): RefStats {
    return {
      freePages: BigInt(this.zone.free),
      totalPages: BigInt(this.zone.hi - this.zone.lo),
      zoneStartPfn: BigInt(this.zone.lo),
      poolFreeBytes: this.pool.free * this.pool.unit,
      poolBytes: this.poolBytes,
      gupOutstanding: BigInt(this.stat.gupOutstanding),
      pinOutstanding: BigInt(this.stat.pinOutstanding),
      tlbFlushes: BigInt(this.stat.tlbFlushes),
      tablesFreed: BigInt(this.stat.tablesFreed),
      faults: BigInt(this.stat.faults),
      gupFastPages: BigInt(this.stat.gupFastPages),
      gupSlowPages: BigInt(this.stat.gupSlowPages),
      gupFastBails: BigInt(this.stat.gupFastBails),
      hugeZeroPfn: this.hugeZeroPfn >= 0 ? BigInt(this.hugeZeroPfn) : undefined,
    };
  }

  /** What each helper says of an entry at a level (Machine.decode). */
  decode(entry: bigint, level: number = this.n - 1): EntryFlags {
    const l = this.L[level];
    if (!l) throw new PgtemuError('EINVAL', `decode: level ${level} does not exist (0..${this.n - 1})`);
    return decodeEntry(l.d, entry, l.empty);
  }
}
