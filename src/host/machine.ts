// The Machine: one shared WebAssembly.Memory laid out for one architecture
// variant and kernel preset (plan.ts), one core instance for the calling
// thread, and what is read from it: struct pages, statistics, violations and
// the op log, walks and raw tables. Its address spaces are mm.ts's, its gup
// results gupresult.ts's.

import { Core, coreModule, instantiate, type ClassName, type FieldName, type FieldValue, type CoreExports, type Layout, type OpIn, type OpName, type OpOut, type WalkOut } from './core.js';
import {
  NAMES, RESERVE, CTX_HEAD, CTX_SCRATCH, PARENT_ROOT, BAD_ENTRY, GUP_PIN_COUNTING_BIAS, PGTY_buddy, PGTY_table, PGTY_hugetlb, PG_head,
  PG_reserved, FOLIO_FLAGS_1, FOLIO_PINCOUNT, FOLIO_ENTIRE_MAPCOUNT, FOLIO_LARGE_MAPCOUNT, FOLIO_NR_PAGES_MAPPED, E_BUSY, E_FAULT,
  INJECT_REFCOUNT, INJECT_MAPCOUNT, INJECT_PINCOUNT, OP_CTX_SHIFT, K,
} from './consts.gen.js';
import { levelAt, machineSizes, planMemory, writeInitialRecords, type MemoryPlan } from './plan.js';
import { GupBuffer, GupResults, type GupResult } from './gupresult.js';
import { Mm } from './mm.js';
import {
  decodeEntry, decodeTablePa, decodeHardware, entryBitNames, decodeSwapEntry, encodeDevicePrivateEntry, encodeSwapEntryChecked,
  type Descriptor, type HwEntryFlags, type LevelDescriptor, type SwapEntryInfo,
} from './archdesc.js';

/** Ctx.badWhy in words (assembly/layout.ts BAD_*, their JSDoc). */
const BAD_WHY: Readonly<Record<number, { doc: string }>> = NAMES.BAD;

const decodeTablePaSafe = (l: LevelDescriptor, e: bigint): bigint | undefined => {
  try { return decodeTablePa(l, e); } catch { return undefined; }
};
import { resolve, type Era, type MachineChoice, type Model } from './presets.js';
import { createDaxFile, DaxFile, type DaxFileOptions } from './daxfs.js';
import { memremapPages, pgmapHandle, Pgmap, type MemremapOptions, type UnmapResult } from './pgmap.js';
/** Operations that write the calling context's output array. */
const OUT_OPS: ReadonlySet<string> = new Set(['gup', 'unpin', 'gupUnpinLoop', 'gupSweepLoop', 'gupGetPhase']);
import { explainPage, type PageConstants, type PageExplained } from './pageinfo.js';
import { PgtemuError, hex, STATUS, STATUS_TEXT, invariantOf } from './errors.js';
import { checkUser, describe, options, optionSpec, releaseArgs, toBig, u64Arg } from './validate.js';

export interface MachineOptions extends MachineChoice {
  /** simulated RAM (struct pages only, except the table pool), MiB; default 64 */
  ramMiB?: number;
  /** the backed table pool at the bottom of RAM, MiB; default 8 (its link index takes half as much again of shared memory) */
  tablePoolMiB?: number;
  /**
   * threads that may call into this machine at once (contexts), default 4. Each
   * context holds an output array of maxPagesPerCall u64 entries and as many
   * release records: 4 MiB at the default 262,144 entries.
   */
  threads?: number;
  /** address spaces, default 16 */
  maxMms?: number;
  /** VMAs per address space, default 64 */
  vmasPerMm?: number;
  /**
   * Shared memory for the struct pages (and the checker's counters) of
   * ZONE_DEVICE ranges (memremapPages), MiB; default 32. A 4 KiB page costs
   * 72 bytes: 18 MiB per GiB of device memory. Not reclaimed when a pgmap is
   * unmapped (its struct pages stay, poisoned, for the checker).
   */
  deviceMemmapMiB?: number;
  /**
   * FS-DAX files' page-cache entries and extents (createDaxFile), MiB;
   * default 1: 8 bytes a file page (1 MiB holds 128K pages, 512 MiB of a
   * 4 KiB-page file).
   */
  daxFilesMiB?: number;
}

export type { VmaKind } from './validate.js';
export { GupBuffer } from './gupresult.js';
export type { GupResult, GupRuns } from './gupresult.js';
export { Mm } from './mm.js';
export type { MmapOptions, MmCounters, GupOptions } from './mm.js';
export interface EntryFlags {
  present: boolean; table: boolean; leaf: boolean; write: boolean; user: boolean; young: boolean;
  dirty: boolean; special: boolean; devmap: boolean; protnone: boolean;
  /** a swap entry at the last level (is_swap_pte): its type, offset and what it is
   *  (device-private: the pfn, writable); absent for any other entry */
  swap?: SwapEntryInfo;
}

/** What the core's swap helpers (assembly/arch.ts) say of an entry; see Machine.coreSwapEntry. */
export interface CoreSwapReading {
  /** isSwapEntry (is_swap_pte) */
  isSwap: boolean;
  /** swpType, swpOffset, swpOffsetPfn */
  type: number;
  offset: bigint;
  pfn: bigint;
  /** isDevicePrivateEntry, isWritableDevicePrivateEntry */
  devicePrivate: boolean;
  writable: boolean;
  /** the walker's verdict on the entry at that level (entryKind): 'leaf', 'none', 'not-present', 'bad', 'table' */
  kind: string;
}

/**
 * Whose reading of the tables a walk follows. 'linux': the kernel's helpers
 * (pXd_none, pXd_present, pXd_leaf, ...), VA bits above the top index ignored.
 * 'hardware': what the MMU does, per the architecture manual (src/arch/<arch>
 * `hardware`), whatever the kernel preset: invalid entries fault, malformed ones
 * are 'bad', and an address outside what the root translates is 'bad-va'.
 */
export type WalkView = 'linux' | 'hardware';

/** Where one view's walk stopped, and what it found there. */
export interface WalkVerdict {
  /** level index (0 = top) where the walk stopped, and its name */
  level: number;
  levelName: string;
  entry: bigint;
  /** where the entry lives (physical address inside the table pool) */
  entryPa: bigint;
  /**
   * 'ok' (a leaf), or why the walk stopped: 'none' (the empty entry), 'not-present'
   * (not present / invalid: a translation fault to the MMU), 'bad' (neither table
   * nor leaf: pXd_bad, or a reserved-bit / specification fault), 'bad-table' (the
   * next table is outside the pool), 'bad-va' (hardware view: the address is
   * outside what the root translates; level 0, no entry read)
   */
  status: 'ok' | 'none' | 'not-present' | 'bad' | 'bad-table' | 'bad-va';
  /** the translation of the address (leaves) */
  pa?: bigint;
  pfn?: bigint;
  /** bytes mapped by the leaf */
  size?: bigint;
}

export interface WalkResult extends WalkVerdict {
  /** the view this walk followed */
  view: WalkView;
  /** what the kernel's helpers say of the entry where the walk stopped */
  flags: EntryFlags;
  /** the other view stops elsewhere, or with another status or translation */
  differs: boolean;
  /** on a 'linux' walk that differs: the MMU's walk */
  hardware?: WalkVerdict;
  /** on a 'hardware' walk that differs: the kernel's walk */
  linux?: WalkVerdict;
  /** when they differ, one line saying how (e.g. "pte 0x...: present to Linux, not valid to the MMU (a translation fault)") */
  note?: string;
}

export interface WalkOptions {
  /** default 'linux' */
  view?: WalkView;
}

export interface DecodeOptions {
  /** 'linux' (default): the kernel's helpers (EntryFlags); 'hardware': the MMU's reading (HwEntryFlags) */
  view?: WalkView;
}

export interface OpRecord { id: number; kind: string; mm: number; ctx: number; addr: bigint; len: bigint }

export interface Violation {
  pfn: bigint;
  /** the check's id: 10 x `design` + the check under that invariant (INV_* in layout.ts) */
  invariant: number;
  /** the invariant's number in DESIGN.md (the one the message names) */
  design: number;
  name: string;
  message: string;
  expected: bigint;
  actual: bigint;
  /** the last operation that touched the page (undefined if it left the log) */
  lastOp?: OpRecord;
}

/**
 * Machine.pages(): struct pages of a pfn range, a typed array per PageInfo
 * field (entry i: pfn start + i). Booleans are 0 / 1; pfns are numbers.
 */
export interface PageArrays {
  start: bigint;
  length: number;
  /** PageInfo.flags (the low 32 bits of page->flags) */
  flags: Uint32Array;
  refcount: Int32Array;
  mapcount: Int32Array;
  buddy: Uint8Array;
  reserved: Uint8Array;
  tail: Uint8Array;
  head: Float64Array;
  order: Uint8Array;
  pincount: Int32Array;
  entireMapcount: Int32Array;
  largeMapcount: Int32Array;
  nrPagesMapped: Int32Array;
  mapping: BigUint64Array;
  lastOp: Float64Array;
}

/** A struct page; the fields of PageExplained say what the kernel would report of it. */
export interface PageInfo extends PageExplained {
  pfn: bigint;
  flags: bigint;
  refcount: number;
  mapcount: number;
  buddy: boolean;
  reserved: boolean;
  tail: boolean;
  head: bigint;
  order: number;
  pincount: number;
  entireMapcount: number;
  largeMapcount: number;
  /** a large folio's _nr_pages_mapped (its head; 0 elsewhere): the raw count, ENTIRELY_MAPPED included (dump_page prints it masked, folio_nr_pages_mapped) */
  nrPagesMapped: number;
  mapping: bigint;
  /** page->index (for a DAX page shared by several extents, page->share: how many); 0 for a tail */
  index: bigint;
  lastOp: number;
}

export interface MachineStats {
  freePages: bigint;
  totalPages: bigint;
  zoneStartPfn: bigint;
  poolFreeBytes: number;
  poolBytes: number;
  gupOutstanding: bigint;
  pinOutstanding: bigint;
  tlbFlushes: bigint;
  tablesFreed: bigint;
  faults: bigint;
  gupFastPages: bigint;
  gupSlowPages: bigint;
  gupFastBails: bigint;
  /** the huge zero folio's pfn (huge_zero_pfn), once a THP read fault has allocated it; the machine keeps it */
  hugeZeroPfn?: bigint;
  /** bytes of shared memory */
  memoryBytes: number;
  /** bytes of struct pages per GiB of modelled RAM */
  memmapBytesPerGiB: number;
}

/** OpRec.kind in words (assembly/layout.ts OP_*). */
const OP_KINDS: Readonly<Record<number, { name: string }>> = NAMES.OP;
/** WalkOut.code as WalkVerdict.status (assembly/layout.ts W_*, their @name). */
const WALK_STATUS = NAMES.W as Readonly<Record<number, { name: WalkVerdict['status'] }>>;

const big = toBig;

const MACHINE_OPTIONS = optionSpec({
  arch: 'string', variant: 'string', kernel: 'string', model: 'string', special: 'boolean', devmap: 'boolean',
  ramMiB: 'number', tablePoolMiB: 'number', threads: 'number', maxMms: 'number', vmasPerMm: 'number',
  pgmapPageRefs: 'boolean', devmapCode: 'boolean', daxHugeSpecial: 'boolean', fsDaxLimited: 'boolean', whatIf: 'string',
  deviceMemmapMiB: 'number', daxFilesMiB: 'number',
});

const WRITABLE_OPTION = optionSpec({ writable: 'boolean' });

/** Everything a worker needs to attach to a machine. */
export interface SharedMachine {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  header: number;
  ctxBase: number;
  ctxSize: number;
  threads: number;
}

/** The PG_* bits the core sets (assembly/layout.ts), for PageInfo.flagNames. */
const PG_NAMES = ['PG_referenced', 'PG_uptodate', 'PG_head', 'PG_large_rmappable', 'PG_anon_exclusive', 'PG_reserved', 'PG_swapbacked'] as const;
const PAGE_CONSTANTS: PageConstants = {
  pg: Object.fromEntries(PG_NAMES.map((n) => [n, K[n]])),
  pgty: { buddy: PGTY_buddy, table: PGTY_table, hugetlb: PGTY_hugetlb },
};

export class Machine {
  readonly desc: Descriptor;
  readonly model: Model;
  readonly kernel: string;
  /** the kernel preset's ZONE_DEVICE switches (and any given in the options) */
  readonly era: Readonly<Era>;
  readonly memory: WebAssembly.Memory;
  readonly module: WebAssembly.Module;
  readonly ramPfns: bigint;
  readonly poolBytes: number;
  readonly threads: number;
  /** order of folios mapped at each level (-1: no leaves there) */
  readonly leafOrders: number[];
  private readonly ex: CoreExports;
  private readonly core: Core;
  private readonly L: Layout;
  private readonly header: number;
  private readonly ctx: number;
  private readonly ctxBase: number;
  private readonly ctxSize: number;
  private readonly outCap: number;
  private readonly poolBase: number;
  private readonly mms = new Set<Mm>();
  /** This thread's output array and the gup results it holds. */
  private readonly gupResults: GupResults;

  private constructor(init: {
    desc: Descriptor; model: Model; kernel: string; era: Era; memory: WebAssembly.Memory; module: WebAssembly.Module;
    ex: CoreExports; L: Layout; plan: MemoryPlan;
  }) {
    const p = init.plan;
    this.desc = init.desc;
    this.model = init.model;
    this.kernel = init.kernel;
    this.era = Object.freeze({ ...init.era });
    this.memory = init.memory;
    this.module = init.module;
    this.ex = init.ex;
    this.core = new Core(init.ex, init.L, init.memory, p.ctxBase);
    this.L = init.L;
    this.header = p.header;
    this.ctxBase = p.ctxBase;
    this.ctx = p.ctxBase;
    this.ctxSize = p.ctxSize;
    this.outCap = p.outCap;
    this.poolBase = p.poolBase;
    this.poolBytes = p.poolBytes;
    this.ramPfns = p.ramPfns;
    this.threads = p.threads;
    this.leafOrders = init.desc.levels.map((l) => (l.leafOk ? l.shift - init.desc.pageShift : -1));
    this.gupResults = new GupResults(this, new BigUint64Array(init.memory.buffer, this.outPtr, p.outCap));
    const ps = BigInt(init.desc.pageShift);
    this.gupConsts = { userTop: 1n << BigInt(init.desc.userVaBits), pageShift: ps, pageMask: ~((1n << ps) - 1n), nr: 0, lastVa: 0n };
  }

  /** Build a machine. Async for symmetry with worker start-up; the work is synchronous. */
  static async create(opts: MachineOptions): Promise<Machine> {
    return Machine.createSync(opts);
  }

  static createSync(opts: MachineOptions): Machine {
    options(opts, 'Machine.create', MACHINE_OPTIONS, true);
    if (typeof opts.arch !== 'string') throw new PgtemuError('EINVAL', "Machine.create: 'arch' is required");
    const { model, kernel, desc, era } = resolve(opts);
    const sizes = machineSizes(opts);
    const module = coreModule();
    // A throwaway instance on a small memory tells us the layout and the module's static size.
    const probeMem = new WebAssembly.Memory({ initial: 32, maximum: 32, shared: true });
    const probe = instantiate(module, probeMem);
    const L = probe.layout;
    if (probe.exports.heapBase() > RESERVE) throw new Error('pgtemu: the core\'s static data overlaps the reserved region');
    const plan = planMemory(sizes, desc, L.size);
    const pages = plan.bytes / 65536;
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    const { exports: ex } = instantiate(module, memory);
    writeInitialRecords(new DataView(memory.buffer), L, plan, desc, model, era);
    ex.attach(plan.header);
    const m = new Machine({ desc, model, kernel, era, memory, module, ex, L, plan });
    const st = m.call('machineInit', { poolPfns: plan.poolBytes >> desc.pageShift }, 'Machine.create').status;
    if (st < 0) m.fail(st, 'Machine.create', 'initialising the memmap and table pool');
    // levels whose empty entries name a shared invalid table learn its address now
    desc.levels.forEach((l, i) => {
      if (l.emptyTable) l.empty = m.rd(levelAt(plan.arch, i), 'LevelDesc', 'emptyValue') as bigint;
    });
    return m;
  }

  // ---------------------------------------------------------------- plumbing
  // The memory is created at its full size and never grows, so one view serves.
  private view?: DataView;
  private dv(): DataView { return (this.view ??= new DataView(this.memory.buffer)); }
  /** @internal One field of a shared structure, by its name in assembly/layout.ts (a misspelt name does not compile). */
  rd<C extends ClassName, F extends FieldName<C>>(base: number, c: C, f: F): FieldValue<C, F> {
    return readField(this.dv(), this.L, base, c, f) as FieldValue<C, F>;
  }
  /** @internal A little-endian u64 of the shared memory (the core's own words, not table entries). */
  readU64(addr: number): bigint { return this.dv().getBigUint64(addr, true); }
  private hd<F extends FieldName<'Header'>>(f: F): FieldValue<'Header', F> { return this.rd(this.header, 'Header', f); }
  /**
   * Call a core operation on this thread's context (Core.call: the input
   * record in, the output view back; read it before the next call of the
   * same operation). A trap becomes an Error naming the operation (`name`,
   * by default the core's) and address. A trap never leaves a lock held: the
   * core releases every lock this context held and leaves its lockless
   * section before the error is thrown, so the machine stays usable (what
   * the trapped operation had done so far stays done: checkInvariants()
   * shows it).
   */
  /** @internal */ call<K extends OpName>(op: K, input: OpIn<K>, name: string = op, address?: bigint): OpOut<K> {
    if (this.gupResults.holder !== undefined && OUT_OPS.has(op)) this.gupResults.evict();
    try {
      return this.core.invoke(op, input);
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) {
        const freed = this.core.call('recover').locks;
        const where = address !== undefined ? ` at ${hex(address)}` : '';
        const locks = freed > 0 ? ` (${freed} lock${freed > 1 ? 's' : ''} it held released)` : '';
        throw new PgtemuError('ETRAP', `core trapped in ${name}${where}: ${e.message}${locks}`, { op: name, address, cause: e });
      }
      throw e;
    }
  }

  /** @internal gupFast's arguments' BigInt constants, made once (for the last nr, the last va whose range fits). */
  readonly gupConsts: { userTop: bigint; pageShift: bigint; pageMask: bigint; nr: number; lastVa: bigint };

  /** @internal This thread's gup results and their release. */
  get results(): GupResults { return this.gupResults; }

  /** @internal The output array, all of it (GupResult entries, release lists). */
  get outArray(): BigUint64Array { return this.gupResults.all; }

  /**
   * A reusable result for `mm.gupFast(addr, nr, { into })`: allocated once,
   * filled by each call without allocating or copying (see GupBuffer).
   */
  gupBuffer(): GupBuffer { return new GupBuffer(this, this.gupResults); }

  /** @internal */ fail(status: number, op: string, what: string, address?: bigint): never {
    const code = STATUS[status] ?? 'EINVAL';
    if (code === 'EBADTABLE') {
      const bad = this.badTable();
      throw new PgtemuError(code, `${op}: ${what}: ${bad.message}`, { op, address: address ?? bad.va });
    }
    throw new PgtemuError(code, `${op}: ${what}: ${STATUS_TEXT[code]}`, { op, address });
  }

  /** The table link the core last refused to follow (E_BADTABLE), as the context recorded it. */
  private badTable(): { level: number; entry: bigint; entryPa: bigint; va: bigint; why: string; message: string } {
    const c = <F extends FieldName<'Ctx'>>(f: F) => this.rd(this.ctx, 'Ctx', f);
    const level = c('badLevel'), entry = c('badEntry'), entryPa = c('badEntryPa');
    const va = c('badVa'), whyCode = c('badWhy');
    const why = BAD_WHY[whyCode]?.doc ?? 'refused';
    const lv = this.desc.levels;
    if (entryPa === BigInt(PARENT_ROOT)) {
      return { level: 0, entry, entryPa, va, why, message: `the address space's top-level table ${hex(entry)} is ${why}` };
    }
    const named = lv[level + 1] ? decodeTablePaSafe(lv[level], entry) : undefined;
    const where = `the ${lv[level]?.name ?? `level-${level}`} entry ${hex(entry)} at pa ${hex(entryPa)} (for address ${hex(va)})`;
    if (whyCode === BAD_ENTRY) {
      // What the kernel does instead (v6.12): its zap and free_pgtables clear a
      // bad entry (pXd_none_or_clear_bad), and for the entry above a pte table
      // so does every pte_offset_map (__pte_offset_map: pmd_clear_bad), in a
      // fault and a slow gup too; the table it named is leaked.
      const kernel = lv[level + 1]?.isLast
        ? 'the kernel would clear it (pmd_clear_bad, from pte_offset_map in a fault or a slow gup, and from zap and free_pgtables)'
        : "the kernel's zap and free_pgtables would clear it (pXd_none_or_clear_bad)";
      return {
        level, entry, entryPa, va, why,
        message: `${where} is present but neither a table nor a leaf (${lv[level]?.name ?? 'pXd'}_bad): ${kernel}, leaking the table it names; nothing was changed`,
      };
    }
    return {
      level, entry, entryPa, va, why,
      message: `${where} names ${named !== undefined ? `a table at ${hex(named)}` : 'a table'} that is ${why}; nothing was changed`,
    };
  }

  /** @internal */ checkUser(v: bigint, what: string, op: string): bigint { return checkUser(this.desc, v, what, op); }

  /** @internal */ get exports(): CoreExports { return this.ex; }
  /** @internal The id of the last operation this thread began. */
  lastOp(): number { return this.rd(this.ctx, 'Ctx', 'opId'); }
  /** @internal */ get layout(): Layout { return this.L; }
  /** @internal */ get outPtr(): number { return this.ctxBase + CTX_HEAD + CTX_SCRATCH; }
  /** @internal This thread's calls into the core. */
  get calls(): Core { return this.core; }
  get maxPagesPerCall(): number { return this.outCap; }

  /** What a worker needs to attach to this machine (context i is the worker's own, i >= 1). */
  shared(): SharedMachine {
    return { module: this.module, memory: this.memory, header: this.header, ctxBase: this.ctxBase, ctxSize: this.ctxSize, threads: this.threads };
  }

  // ---------------------------------------------------------------- address spaces
  createMm(): Mm {
    const o = this.call('mmCreate', undefined, 'createMm');
    if (o.status < 0) this.fail(o.status, 'createMm', 'a new address space');
    const mm = new Mm(this, o.mm, o.root);
    this.mms.add(mm);
    return mm;
  }

  /** @internal */ forget(mm: Mm): void { this.mms.delete(mm); }

  /** @internal An address space of this machine, or an error naming op. */
  own(mm: unknown, op: string): Mm {
    if (!(mm instanceof Mm)) throw new PgtemuError('EINVAL', `${op}: ${describe(mm)} is not an address space (Mm)`, { op });
    if (mm.machine !== this) throw new PgtemuError('EINVAL', `${op}: this address space belongs to another machine`, { op });
    return mm;
  }

  // ---------------------------------------------------------------- pages and references
  /**
   * unpin_user_pages (a FOLL_PIN result) or put_page (a FOLL_GET result).
   *
   * How pgtemu knows what was taken: a GupResult is a handle. It is accepted
   * only by the machine whose gupFast made it, only once (a second release
   * is refused), and it releases what it took, as it took it (pins with
   * unpin_user_pages, references with put_page), from the machine's own copy
   * of its pfns. A plain list, `{ pfns, nr?, pin? }` (pin defaults to true),
   * is still accepted: the machine cannot tell whose references it names, so
   * the core checks it against the folios' counts (assembly/unpin.ts): it
   * may not release references the mappings hold, pins a large folio does not
   * have (_pincount), table-pool frames or the zero page's own reference, and
   * on an order-0 folio a pin needs GUP_PIN_COUNTING_BIAS references beyond
   * the mappings (a get and part of a pin there look alike, as they do to the
   * kernel). Every refusal is a PgtemuError naming the page and pfn, and
   * changes nothing, except that a list longer than maxPagesPerCall is
   * released in chunks and a refusal keeps the chunks before it.
   */
  unpin(pages: GupResult | { pfns: ArrayLike<bigint>; nr?: number; pin?: boolean }): void {
    const t = this.gupResults.handle(pages, 'unpin');
    if (t) return this.gupResults.releaseHandle(t, t.pin ? 'unpin' : 'put');
    const { n, pin, op } = releaseArgs(pages, false);
    this.gupResults.releaseList(pages.pfns, n, pin, op);
  }

  /**
   * put_page for FOLL_GET references: a FOLL_GET GupResult, or a plain list
   * `{ pfns, nr? }` checked as unpin describes. A FOLL_PIN result is refused
   * (pins go back with unpin).
   */
  put(pages: GupResult | { pfns: ArrayLike<bigint>; nr?: number }): void {
    const t = this.gupResults.handle(pages, 'put');
    if (t?.pin) throw new PgtemuError('EINVAL', 'put: this GupResult holds FOLL_PIN pins (pin_user_pages_fast); give it back with unpin', { op: 'put' });
    if (t) return this.gupResults.releaseHandle(t, 'put');
    const { n, op } = releaseArgs(pages, true);
    this.gupResults.releaseList(pages.pfns, n, false, op);
  }

  /** @internal Write a list into the output array for the next call (the results it held are copied aside first). */
  putOutList(values: readonly bigint[]): void { this.gupResults.putList(values); }

  /** @internal Why the core refused to release pfn, from its counts now (for the message). */
  whyNot(pfn: bigint, pin: boolean): string {
    if (this.call('pagePtr', { pfn }, 'page').page === 0) return 'no struct page';
    const p = this.page(pfn);
    if (p.buddy) return 'a free page';
    if (p.reserved && pfn === this.hd('zeroPfn')) return 'the zero page: only its own reference is left';
    if (p.reserved && pfn >= (this.hd('ramPfns'))) return 'a device page (ZONE_DEVICE) without those references';
    if (p.reserved) return 'a table-pool frame (PG_reserved): gup never hands one out';
    const h = p.tail ? this.page(p.head) : p;
    if (h.order > 0) {
      const mapped = h.largeMapcount + 1;
      return pin && h.pincount === 0 ? 'its folio has no pins'
        : `its folio holds ${h.refcount} references: ${mapped} for its mappings, ${h.pincount} pins, ${h.refcount - mapped - h.pincount} gets`;
    }
    const beyond = h.refcount - (h.mapcount + 1);
    return pin ? `${beyond} references beyond its ${h.mapcount + 1} mappings, fewer than one pin (${GUP_PIN_COUNTING_BIAS})`
      : `${h.refcount} references, ${h.mapcount + 1} of them its mappings'`;
  }

  /** A snapshot of one struct page (and its folio fields when it heads one), with what the kernel would report of it. */
  page(pfn: bigint | number): PageInfo {
    const p = u64Arg(pfn, 'page: pfn');
    const po = this.call('pagePtr', { pfn: p }, 'page');
    const ptr = po.page, linear = po.linear === 1;
    if (ptr === 0) throw new PgtemuError('EINVAL', `page: pfn ${hex(p)} has no struct page`);
    const rd = <F extends FieldName<'Page'>>(f: F) => this.rd(ptr, 'Page', f);
    const flags = rd('flags');
    const mapcountRaw = rd('_mapcount');
    const ch = rd('lru_next');
    const tail = (ch & 1n) === 1n;
    const buddy = (mapcountRaw >>> 24) === PGTY_buddy;
    const isHead = ((flags >> BigInt(PG_head)) & 1n) === 1n;
    const dv = this.dv();
    const f1 = (o: number) => dv.getInt32(ptr + o, true);
    let headPfn = p;
    if (tail) {
      headPfn = linear ? p - BigInt((ptr - Number(ch - 1n)) / this.L.size.Page)
        // a vmemmap-optimised tail's struct page is shared: the head by alignment (folios are naturally aligned)
        : ch - 1n + BigInt(FOLIO_FLAGS_1) < BigInt(dv.byteLength) ? p & ~((1n << BigInt(dv.getUint8(Number(ch - 1n) + FOLIO_FLAGS_1))) - 1n) : p;
    }
    const large = isHead ? f1(FOLIO_LARGE_MAPCOUNT) : tail ? this.page(headPfn).largeMapcount : undefined;
    return {
      pfn: p,
      flags: flags & 0xffff_ffffn,
      refcount: rd('_refcount'),
      mapcount: mapcountRaw,
      buddy,
      reserved: ((flags >> BigInt(PG_reserved)) & 1n) === 1n,
      tail,
      head: headPfn,
      order: isHead ? dv.getUint8(ptr + FOLIO_FLAGS_1) : 0,
      pincount: isHead ? f1(FOLIO_PINCOUNT) : 0,
      entireMapcount: isHead ? f1(FOLIO_ENTIRE_MAPCOUNT) : -1,
      largeMapcount: isHead ? f1(FOLIO_LARGE_MAPCOUNT) : -1,
      nrPagesMapped: isHead ? f1(FOLIO_NR_PAGES_MAPPED) : 0,
      mapping: rd('mapping'),
      index: tail ? 0n : rd('index'),          // (a tail's word: page[1]'s are folio fields)
      lastOp: Number(rd('last_op')),
      ...explainPage(flags, mapcountRaw, large, PAGE_CONSTANTS),
    };
  }

  /**
   * Fault injection: overwrite one count of the folio holding pfn, as a kernel
   * bug would. The op log records it, so the checker's report names it.
   */
  inject(pfn: bigint | number, field: 'refcount' | 'mapcount' | 'pincount', value: number): void {
    const p = u64Arg(pfn, 'inject: pfn');
    const codes: Record<string, number> = { refcount: INJECT_REFCOUNT, mapcount: INJECT_MAPCOUNT, pincount: INJECT_PINCOUNT };
    if (!Object.hasOwn(codes, field)) throw new PgtemuError('EINVAL', `inject: unknown field '${String(field)}' (refcount, mapcount, pincount)`);
    if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) throw new PgtemuError('EINVAL', `inject: value ${value} is not a 32-bit integer`);
    const st = this.call('inject', { pfn: p, field: codes[field], value }).status;
    if (st < 0) throw new PgtemuError('EINVAL', `inject: pfn ${hex(p)} has no struct page${field === 'pincount' ? ' or heads no large folio' : ''}`);
  }

  /**
   * The struct pages of pfns [start, start + n) as runs of contiguous memory:
   * fn(i, count, ptr) for entries i .. i + count - 1 at ptr (one pagePtr call
   * per section: a section's struct pages are contiguous, the next section's
   * may live elsewhere).
   */
  private memmapRuns(op: string, start: bigint | number, n: number, fn: (i: number, count: number, ptr: number, linear: boolean) => void): void {
    const s = u64Arg(start, `${op}: start`);
    if (!Number.isInteger(n) || n < 0 || n > 1 << 30) throw new PgtemuError('EINVAL', `${op}: n ${describe(n)} is not an integer in 0..${1 << 30}`);
    const secPages = 1n << BigInt(this.desc.sectionSizeBits - this.desc.pageShift);
    for (let i = 0; i < n;) {
      const pfn = s + BigInt(i);
      const o = this.call('pagePtr', { pfn }, op);
      const ptr = o.page;
      if (ptr === 0) throw new PgtemuError('EINVAL', `${op}: pfn ${hex(pfn)} has no struct page`);
      // a vmemmap-optimised section's struct pages are not laid out by pfn: one at a time
      const count = o.linear ? Math.min(n - i, Number(secPages - pfn % secPages)) : 1;
      fn(i, count, ptr, o.linear === 1);
      i += count;
    }
  }

  /** Refcounts of pfns [start, start + n) as one array (fast path for tests and reports). */
  refcounts(start: bigint, n: number): Int32Array {
    const out = new Int32Array(n >= 0 && Number.isInteger(n) ? n : 0);
    const words = new Int32Array(this.memory.buffer);
    const off = this.L.off.Page._refcount, sz = this.L.size.Page;
    this.memmapRuns('refcounts', start, n, (i0, count, ptr) => {
      for (let i = 0; i < count; i++) out[i0 + i] = words[(ptr + i * sz + off) >> 2];
    });
    return out;
  }

  /**
   * The struct pages of pfns [start, start + n) in one pass over the memmap,
   * as a struct of arrays: entry i of each array is what page(start + i)
   * says in the field of that name (page() adds what the kernel would report
   * of it). Pfns are numbers (exact below 2^53).
   */
  pages(start: bigint | number, n: number): PageArrays {
    const len = Number.isInteger(n) && n >= 0 && n <= 1 << 30 ? n : 0;
    const a: PageArrays = {
      start: 0n, length: len,
      flags: new Uint32Array(len), refcount: new Int32Array(len), mapcount: new Int32Array(len),
      buddy: new Uint8Array(len), reserved: new Uint8Array(len), tail: new Uint8Array(len), head: new Float64Array(len),
      order: new Uint8Array(len), pincount: new Int32Array(len), entireMapcount: new Int32Array(len), largeMapcount: new Int32Array(len),
      nrPagesMapped: new Int32Array(len), mapping: new BigUint64Array(len), lastOp: new Float64Array(len),
    };
    const w = new Int32Array(this.memory.buffer);
    const b = new Uint8Array(this.memory.buffer);
    const off = this.L.off.Page, sz = this.L.size.Page;
    const map = new Int32Array(a.mapping.buffer);
    const HEAD = 1 << PG_head, RESERVED = 1 << PG_reserved;
    a.start = u64Arg(start, 'pages: start');
    const first = Number(a.start);
    this.memmapRuns('pages', start, n, (i0, count, ptr0, linear) => {
      for (let k = 0; k < count; k++) {
        const i = i0 + k, ptr = ptr0 + k * sz, pfn = first + i;
        const flags = w[(ptr + off.flags) >> 2];
        const mapcount = w[(ptr + off._mapcount) >> 2];
        const ch = w[(ptr + off.lru_next) >> 2] >>> 0;
        const head = (flags & HEAD) !== 0;
        a.flags[i] = flags;
        a.refcount[i] = w[(ptr + off._refcount) >> 2];
        a.mapcount[i] = mapcount;
        a.buddy[i] = mapcount >>> 24 === PGTY_buddy ? 1 : 0;
        a.reserved[i] = (flags & RESERVED) !== 0 ? 1 : 0;
        a.tail[i] = ch & 1;
        a.head[i] = (ch & 1) !== 1 ? pfn : linear ? pfn - (ptr - (ch - 1)) / sz
          : pfn - pfn % 2 ** (b[ch - 1 + FOLIO_FLAGS_1] ?? 0);             // vmemmap-optimised: by alignment
        a.order[i] = head ? b[ptr + FOLIO_FLAGS_1] : 0;
        a.pincount[i] = head ? w[(ptr + FOLIO_PINCOUNT) >> 2] : 0;
        a.entireMapcount[i] = head ? w[(ptr + FOLIO_ENTIRE_MAPCOUNT) >> 2] : -1;
        a.largeMapcount[i] = head ? w[(ptr + FOLIO_LARGE_MAPCOUNT) >> 2] : -1;
        a.nrPagesMapped[i] = head ? w[(ptr + FOLIO_NR_PAGES_MAPPED) >> 2] : 0;
        map[2 * i] = w[(ptr + off.mapping) >> 2];
        map[2 * i + 1] = w[(ptr + off.mapping + 4) >> 2];
        a.lastOp[i] = (w[(ptr + off.last_op) >> 2] >>> 0) + (w[(ptr + off.last_op + 4) >> 2] >>> 0) * 2 ** 32;
      }
    });
    return a;
  }

  stats(): MachineStats {
    const start = this.hd('zoneStartPfn'), end = this.hd('zoneEndPfn');
    return {
      freePages: this.hd('zoneFreePages'),
      totalPages: end - start,
      zoneStartPfn: start,
      poolFreeBytes: this.hd('poolFreeBytes'),
      poolBytes: this.poolBytes,
      gupOutstanding: this.ctxSum('gupOutstanding'),
      pinOutstanding: this.ctxSum('pinOutstanding'),
      tlbFlushes: this.hd('statTlbFlushes'),
      tablesFreed: this.hd('statTablesFreed'),
      faults: this.hd('statFaults'),
      gupFastPages: this.ctxSum('statGupFastPages'),
      gupSlowPages: this.ctxSum('statGupSlowPages'),
      gupFastBails: this.ctxSum('statGupFastBails'),
      hugeZeroPfn: (this.hd('hugeZeroPfn')) || undefined,
      memoryBytes: this.memory.buffer.byteLength,
      memmapBytesPerGiB: this.L.size.Page * (2 ** (30 - this.desc.pageShift)),
    };
  }

  // ---------------------------------------------------------------- ZONE_DEVICE
  /**
   * memremap_pages: struct pages for a device range above RAM, registered
   * for lookup by pfn (get_dev_pagemap). See src/host/pgmap.ts.
   */
  memremapPages(opts: MemremapOptions): Pgmap { return memremapPages(this, opts); }

  /**
   * An FS-DAX file over an fsdax pgmap: its pages are pmem blocks (one extent
   * at pgmapOffset, or an extent map), mapped with mm.mmap({ kind: 'fsdax',
   * file }). Fully allocated: no holes.
   */
  createDaxFile(opts: DaxFileOptions): DaxFile { return createDaxFile(this, opts); }

  /** The shared zero page's pfn (ZERO_PAGE). */
  get zeroPfn(): bigint { return this.hd('zeroPfn'); }

  /** Is pfn above RAM (is_zone_device_page, for a pfn with a struct page)? */
  isDevicePfn(pfn: bigint | number): boolean { return BigInt(pfn) >= (this.hd('ramPfns')); }

  /** @internal see Mm.migrateToDevice */
  migrate(mm: number, pg: Pgmap, pfn: bigint, addr: bigint): void {
    const op = 'migrateToDevice';
    const h = pgmapHandle(pg);
    const st = this.call('migrateToDevice', { mm, pgmap: h.ptr, gen: h.gen, addr, pfn }, op, addr).status;
    if (st === E_BUSY) throw new PgtemuError('EBUSY', `${op}: ${hex(addr)} cannot move now: its page holds references beyond its mappings (a pin or a get: migrate_vma_check_page), or device pfn ${hex(pfn)} is not free`, { op, address: addr });
    if (st === E_FAULT) throw new PgtemuError('EFAULT', `${op}: ${hex(addr)} maps no order-0 anonymous page (migrate_vma_collect takes only those)`, { op, address: addr });
    if (st < 0) this.fail(st, op, `pfn ${hex(pfn)} of the ${pg.type} pgmap at ${hex(pg.start)}`, addr);
  }

  /** memunmap_pages: the same as pgmap.unmap(), for a pgmap of this machine. */
  memunmapPages(pgmap: Pgmap): Promise<UnmapResult> { return Pgmap.unmapOn(this, pgmap); }

  /** @internal The machine header's address. */
  get headerPtr(): number { return this.header; }

  /** A per-context counter (Ctx: the gup tallies and statistics) summed over every context. */
  private ctxSum(f: FieldName<'Ctx'>): bigint {
    let sum = 0n;
    for (let i = 0; i < this.threads; i++) sum += BigInt(this.rd(this.ctxBase + i * this.ctxSize, 'Ctx', f));
    return sum;
  }

  // ---------------------------------------------------------------- invariants
  /** Check DESIGN.md's invariants now; [] when all hold. */
  checkInvariants(): Violation[] {
    const n = this.call('check', undefined, 'checkInvariants').violations;
    const cap = this.hd('violCap');
    const base = this.hd('violBase');
    const out: Violation[] = [];
    for (let i = 0; i < Math.min(n, cap); i++) {
      const v = base + i * this.L.size.Violation;
      const inv = this.rd(v, 'Violation', 'invariant');
      const { name, doc: text, design } = invariantOf(inv);
      const pfn = this.rd(v, 'Violation', 'pfn');
      const lastOp = this.opRecord(this.rd(v, 'Violation', 'lastOp'));
      const expected = BigInt(this.rd(v, 'Violation', 'expected'));
      const actual = BigInt(this.rd(v, 'Violation', 'actual'));
      out.push({
        pfn, invariant: inv, design, name, expected, actual, lastOp,
        message: `invariant ${design} (${name}) broken at pfn ${hex(pfn)}: ${text} (expected ${expected}, found ${actual}; check ${inv})` +
          (lastOp ? `; last operation #${lastOp.id} ${lastOp.kind} at ${hex(lastOp.addr)}` : ''),
      });
    }
    if (n > cap) out.push({ pfn: 0n, invariant: 0, design: 0, name: 'truncated', message: `${n - cap} more violations not kept`, expected: 0n, actual: BigInt(n) });
    return out;
  }

  /** The op log entry for an operation id, if still in the ring. */
  opRecord(id: number): OpRecord | undefined {
    if (!Number.isInteger(id) || id < 0 || id >= 2 ** 32) throw new PgtemuError('EINVAL', `opRecord: id ${describe(id)} is not a 32-bit operation id`);
    if (id === 0) return undefined;
    // each context logs into its own ring; the id names the context (layout.ts OP_CTX_SHIFT)
    const size = this.hd('opLogSize');
    const ctx = Math.floor(id / 2 ** OP_CTX_SHIFT);
    if (ctx >= this.threads) return undefined;
    const base = (this.hd('opLogBase')) + (ctx * size + (id & (size - 1))) * this.L.size.OpRec;
    if ((this.rd(base, 'OpRec', 'id')) !== id) return undefined;
    return {
      id,
      kind: OP_KINDS[this.rd(base, 'OpRec', 'kind')]?.name ?? 'unknown',
      mm: this.rd(base, 'OpRec', 'mm'),
      ctx: this.rd(base, 'OpRec', 'ctx'),
      addr: this.rd(base, 'OpRec', 'addr'),
      len: this.rd(base, 'OpRec', 'len'),
    };
  }

  // ---------------------------------------------------------------- walks and raw tables
  /** Walk an address space's tables for addr, as the kernel ('linux', default) or the MMU ('hardware') reads them. */
  walk(mm: Mm, addr: bigint | number, opts: WalkOptions = {}): WalkResult {
    this.own(mm, 'walk');
    const va = u64Arg(addr, 'walk: address');
    const view = walkViewOf(opts, 'walk');
    mm.live('walk');
    return this.walkBoth(view, va, (v) => this.walkRun(v, () => this.call('walk', { mm: mm.ptr, va, view: v }, 'walk', va)));
  }

  /** Walk tables written with writePhys, from a root table at rootPa ('linux' or 'hardware' view). */
  walkRaw(rootPa: bigint | number, addr: bigint | number, opts: WalkOptions = {}): WalkResult {
    const root = big(rootPa, 'walkRaw: rootPa');
    const va = u64Arg(addr, 'walkRaw: address');
    const view = walkViewOf(opts, 'walkRaw');
    const top = this.desc.levels[0];
    this.physRange(root, BigInt(top.tableBytes), 'walkRaw');
    if (root % BigInt(top.tableBytes) !== 0n) throw new PgtemuError('EINVAL', `walkRaw: root ${hex(root)} is not aligned to its ${top.tableBytes}-byte table`);
    if (va < 0n || va >= 1n << 64n) throw new PgtemuError('EINVAL', `walkRaw: address ${hex(va)} is not a 64-bit value`);
    return this.walkBoth(view, va, (v) => this.walkRun(v, () => this.call('walkRaw', { root, va, view: v }, 'walkRaw', va)));
  }

  // One core walk under a view. A trap in a hardware walk would leave this
  // instance's descriptor on the hardware image: re-attach, which resets it.
  private walkRun(v: number, go: () => WalkOut): WalkOut {
    try {
      return go();
    } catch (e) {
      if (v !== 0) this.ex.attach(this.header);
      throw e;
    }
  }

  // Walk under both views; report the asked one, and the other where they differ.
  private walkBoth(view: WalkView, va: bigint, go: (v: number) => WalkOut): WalkResult {
    const lx = this.walkVerdict('linux', go(0));
    const hw = this.walkVerdict('hardware', go(1));
    const mine = view === 'linux' ? lx : hw;
    // Two faults are one answer: an empty entry to Linux and an invalid one to the
    // MMU (loongarch's refill follows an empty directory entry into the shared
    // invalid table and faults on its pte) translate nothing either way.
    const fault = (v: WalkVerdict) => v.status === 'none' || v.status === 'not-present';
    const differs = !(fault(lx) && fault(hw)) &&
      (lx.status !== hw.status || lx.level !== hw.level || lx.pa !== hw.pa || lx.size !== hw.size);
    const res: WalkResult = { ...mine, view, flags: this.decode(mine.entry, mine.level), differs };
    if (differs) {
      if (view === 'linux') res.hardware = hw; else res.linux = lx;
      res.note = this.walkNote(lx, hw, va);
    }
    return res;
  }

  private walkVerdict(view: WalkView, o: WalkOut): WalkVerdict {
    const level = o.level;
    const entry = o.entry;
    const status = WALK_STATUS[o.code].name;
    const l = this.desc.levels[level];
    const res: WalkVerdict = { level, levelName: l.name, entry, entryPa: o.entryPa, status };
    const leaf = view === 'linux'
      ? l.isLast || decodeEntry(l, entry).leaf
      : decodeHardware(this.desc.hardware.levels[level], entry).leaf;
    if (status === 'ok' && leaf) {
      res.pa = o.pa;
      res.pfn = res.pa >> BigInt(this.desc.pageShift);
      res.size = 1n << BigInt(l.shift);
    }
    return res;
  }

  // "pte 0x...: present leaf to Linux, not valid to the MMU (a translation fault)"
  private walkNote(lx: WalkVerdict, hw: WalkVerdict, va: bigint): string {
    const say = (v: WalkVerdict, who: 'linux' | 'hardware'): string => {
      switch (v.status) {
        case 'ok': return `a ${v.size !== undefined ? `${v.size >> 10n} KiB ` : ''}leaf mapping ${hex(v.pa ?? 0n)}`;
        case 'none': return 'empty';
        case 'not-present': return who === 'linux' ? 'not present' : 'not valid (a translation fault)';
        case 'bad': return who === 'linux' ? 'bad (neither table nor leaf)' : 'malformed (a reserved-bit / specification fault)';
        case 'bad-table': return 'a table outside the pool';
        case 'bad-va': return `outside the translated range (${this.desc.hardware.vaCite})`;
      }
    };
    if (hw.status === 'bad-va') return `${hex(va)}: walked by Linux to ${lx.levelName} (${say(lx, 'linux')}); ${say(hw, 'hardware')} to the MMU`;
    if (lx.level === hw.level) {
      const cite = this.desc.hardware.levels[lx.level].cite;
      return `${lx.levelName} ${hex(lx.entry)}: ${say(lx, 'linux')} to Linux, ${say(hw, 'hardware')} to the MMU (${cite})`;
    }
    return `Linux stops at ${lx.levelName} ${hex(lx.entry)} (${say(lx, 'linux')}); the MMU at ${hw.levelName} ${hex(hw.entry)} (${say(hw, 'hardware')})`;
  }

  /** What each helper (pte_write, pte_special, ...) says of an entry at a level, or (view 'hardware') what the MMU makes of it. */
  decode(entry: bigint, level?: number | string, opts?: { view?: 'linux' }): EntryFlags;
  decode(entry: bigint, level: number | string | undefined, opts: { view: 'hardware' }): HwEntryFlags;
  decode(entry: bigint, level: number | string | undefined, opts: DecodeOptions): EntryFlags | HwEntryFlags;
  decode(entry: bigint, level: number | string = this.desc.levels.length - 1, opts: DecodeOptions = {}): EntryFlags | HwEntryFlags {
    if (typeof entry !== 'bigint') throw new PgtemuError('EINVAL', `decode: entry ${describe(entry)} is not a bigint`);
    // a level by its index (0 = top) or by the kernel's name for it ('pte', 'pmd', ...)
    const li = typeof level === 'string' ? this.desc.levels.findIndex((x) => x.name === level) : Number.isInteger(level) ? level : -1;
    const l: LevelDescriptor | undefined = this.desc.levels[li];
    if (!l) throw new PgtemuError('EINVAL', `decode: level ${typeof level === 'string' ? level : describe(level)} does not exist (0..${this.desc.levels.length - 1}: ${this.desc.levels.map((x) => x.name).join(', ')})`);
    const view = walkViewOf(opts, 'decode');
    if (view === 'hardware') return decodeHardware(this.desc.hardware.levels[li], entry);
    const f = decodeEntry(l, entry);
    const swap = decodeSwapEntry(this.desc, li, entry);
    return swap ? { ...f, swap } : f;
  }

  // ---------------------------------------------------------------- swap entries
  /**
   * swp_entry_to_pte(swp_entry(type, offset)): the last level's swap entry, built
   * by the core (assembly/arch.ts mkSwpEntry). A type outside 0..31 or an offset
   * the arch's field cannot hold is refused.
   */
  swapEntry(type: number, offset: bigint | number): bigint {
    const off = u64Arg(offset, 'swapEntry: offset');
    const want = encodeSwapEntryChecked(this.desc, type, off, 'swapEntry');
    const got = this.call('swpEntry', { type, level: this.desc.levels.length - 1, offset: off, pfn: 0n, entry: 0n }, 'swapEntry').made;
    if (got !== want) throw new Error(`pgtemu core: mkSwpEntry(${type}, ${hex(off)}) = ${hex(got)}, the host's encoding ${hex(want)}`);
    return got;
  }

  /**
   * make_writable_device_private_entry(pfn) (writable: true) or
   * make_readable_device_private_entry(pfn) as a pte (swp_entry_to_pte), with this
   * machine's kernel's SWP_DEVICE_WRITE / SWP_DEVICE_READ, built by the core. A pfn
   * beyond SWP_PFN_BITS or the arch's offset field is refused.
   */
  devicePrivateEntry(pfn: bigint | number, o?: { writable?: boolean }): bigint {
    const p = u64Arg(pfn, 'devicePrivateEntry: pfn');
    const { writable } = options(o, 'devicePrivateEntry', WRITABLE_OPTION);
    const want = encodeDevicePrivateEntry(this.desc, p, writable === true, `devicePrivateEntry: pfn ${hex(p)}`);
    const r = this.call('swpEntry', { type: 0, level: this.desc.levels.length - 1, offset: 0n, pfn: p, entry: 0n }, 'devicePrivateEntry');
    const got = writable ? r.devWrite : r.devRead;
    if (got !== want) throw new Error(`pgtemu core: mkDevicePrivateEntry(${hex(p)}, ${writable === true}) = ${hex(got)}, the host's encoding ${hex(want)}`);
    return got;
  }

  /** What the core's swap helpers and walker make of an entry at a level (default: the last). */
  coreSwapEntry(entry: bigint, level: number = this.desc.levels.length - 1): CoreSwapReading {
    if (typeof entry !== 'bigint' || entry < 0n || entry >= 1n << 64n) throw new PgtemuError('EINVAL', `coreSwapEntry: entry ${describe(entry)} is not a 64-bit bigint`);
    if (!Number.isInteger(level) || level < 0 || level >= this.desc.levels.length) {
      throw new PgtemuError('EINVAL', `coreSwapEntry: level ${describe(level)} does not exist (0..${this.desc.levels.length - 1})`);
    }
    const r = this.call('swpEntry', { type: 0, level, offset: 0n, pfn: 0n, entry }, 'coreSwapEntry');
    // entryKind's K_LEAF .. K_BAD are the walk codes W_OK .. W_BAD (assembly/arch.ts); its one other kind is K_TABLE
    const kinds: Record<number, string> = { [K.W_OK]: 'leaf', [K.W_NONE]: 'none', [K.W_NOT_PRESENT]: 'not-present', [K.W_BAD]: 'bad' };
    return {
      isSwap: r.isSwap !== 0, type: r.type, offset: r.offset, pfn: r.pfn,
      devicePrivate: (r.devPrivate & 1) !== 0, writable: (r.devPrivate & 2) !== 0,
      kind: kinds[r.kind] ?? 'table',
    };
  }

  /** The names of the bits set in an entry at a level, as that level and the entry's state name them. */
  bitNames(entry: bigint, level: number = this.desc.levels.length - 1): string[] {
    return entryBitNames(this.desc, level, entry);
  }

  private physRange(pa: bigint, n: bigint, op: string): void {
    if (pa < 0n || n < 0n || pa + n > BigInt(this.poolBytes)) {
      throw new PgtemuError('ERANGE', `${op}: [${hex(pa)}, ${hex(pa + n)}) is outside the table pool [0, ${hex(this.poolBytes)})`, { op, address: pa });
    }
  }

  /**
   * Write bytes at a physical address inside the table pool (raw tables for
   * walkRaw). The pool memory written becomes raw: the table allocator never
   * hands it out afterwards, and its own records live outside the pool, so no
   * write can corrupt it. Memory that holds an address space's live tables is
   * refused (EBUSY): those tables change only through the operations.
   */
  writePhys(pa: bigint | number, bytes: Uint8Array): void {
    const p = big(pa, 'writePhys: pa');
    if (!(bytes instanceof Uint8Array)) throw new PgtemuError('EINVAL', `writePhys: bytes is ${describe(bytes)}, not a Uint8Array`);
    this.physRange(p, BigInt(bytes.length), 'writePhys');
    const o = this.call('claimRaw', { pa: p, bytes: bytes.length }, 'writePhys', p);
    if (o.status < 0) {
      const busy = o.busyPa;
      throw new PgtemuError('EBUSY', `writePhys: [${hex(p)}, ${hex(p + BigInt(bytes.length))}) overlaps a live page table at ${hex(busy)}; raw tables go to pool memory no address space uses`, { op: 'writePhys', address: busy });
    }
    new Uint8Array(this.memory.buffer, this.poolBase + Number(p), bytes.length).set(bytes);
  }

  readPhys(pa: bigint | number, n: number): Uint8Array {
    const p = big(pa, 'readPhys: pa');
    if (!Number.isInteger(n) || n < 0) throw new PgtemuError('EINVAL', `readPhys: length ${n} is not a non-negative integer`);
    this.physRange(p, BigInt(n), 'readPhys');
    return new Uint8Array(this.memory.buffer, this.poolBase + Number(p), n).slice();
  }

  /** Encode one entry value as the architecture stores it (byte order), for writePhys. */
  entryBytes(values: readonly bigint[]): Uint8Array {
    if (!Array.isArray(values)) throw new PgtemuError('EINVAL', `entryBytes: values is ${describe(values)}, not an array of bigints`);
    values.forEach((v, i) => { if (typeof v !== 'bigint') throw new PgtemuError('EINVAL', `entryBytes: values[${i}] is ${describe(v)}, not a bigint`); });
    const b = new Uint8Array(values.length * 8);
    const dv = new DataView(b.buffer);
    values.forEach((v, i) => dv.setBigUint64(i * 8, BigInt.asUintN(64, v), !this.desc.bigEndian));
    return b;
  }
}

function readField(dv: DataView, L: Layout, base: number, c: ClassName, f: string): number | bigint {
  const off = base + (L.off[c] as Record<string, number>)[f];
  switch ((L.type[c] as Record<string, string>)[f]) {
    case 'u8': return dv.getUint8(off);
    case 'u16': return dv.getUint16(off, true);
    case 'u32': return dv.getUint32(off, true);
    case 'i32': return dv.getInt32(off, true);
    case 'i64': return dv.getBigInt64(off, true);
    default: return dv.getBigUint64(off, true);
  }
}

function walkViewOf(opts: { view?: unknown } | undefined, op: string): WalkView {
  const v = opts?.view ?? 'linux';
  if (v !== 'linux' && v !== 'hardware') throw new PgtemuError('EINVAL', `${op}: view '${String(v)}' is not 'linux' or 'hardware'`);
  return v;
}
