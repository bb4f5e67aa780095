// What gup hands out and how it comes back. A GupResult is a handle the
// machine that made it recognises: its record (Taken) is kept beside it, out
// of the caller's reach. A GupBuffer is one handle filled again and again.
// The entries a gup took stay in this thread's output array until another
// call needs the array; only then are they copied aside. Releasing a handle
// gives back what it took, as it took it; a plain list of pfns is checked by
// the core against the folios' counts (assembly/unpin.ts). The runs form of
// the output array (layout.ts GUP_OUT_RUNS) is decoded and encoded here.

import { FOLL_GET, FOLL_PIN, GUP_OUT_RUNS, GUP_RELEASE_OWN, K } from './consts.gen.js';
import { PgtemuError, hex, STATUS, type ErrorCode } from './errors.js';
import { describe } from './validate.js';
import type { Machine } from './machine.js';

/** Pages taken as runs in address order: run i is `pages[i]` pages from pfn `pfn[i]`, all of one folio. */
export interface GupRuns {
  readonly count: number;
  readonly pfn: BigUint64Array;
  readonly pages: Uint32Array;
}

/**
 * What gupFast took: a handle the machine that made it recognises. Give it
 * back once, whole, with `unpin` (either kind) or `put` (FOLL_GET results
 * only); see Machine.unpin.
 */
export interface GupResult {
  /** pages taken (the prefix pfns[0..nr)) */
  readonly nr: number;
  /** the kernel's return: nr, or a negative errno when nothing was taken */
  readonly ret: number;
  readonly errno?: ErrorCode;
  /** pages taken by the lockless walk */
  readonly fast: number;
  readonly pfns: BigUint64Array;
  readonly flags: number;
  readonly pin: boolean;
  /** with `runs: true`: the pages as runs of one folio */
  readonly runs?: GupRuns;
}

/**
 * The GupResults every machine handed out and their state: a result is
 * released at most once, and only by the machine that made it. What a
 * result took stays in the core's output array of this thread's context
 * until another call needs the array (GupResults.holder); only then does
 * the machine copy the entries aside (`saved`), so a result released before
 * the next gup is given back in place, without a copy. Results are frozen,
 * and a GupResult's pfns are a copy: changing them changes nothing. A
 * GupBuffer's record is reused by every gupFast into it.
 */
export interface Taken {
  machine: Machine; pin: boolean; runs: boolean; nr: number;
  /** u64 entries in the output array (nr, or fewer as runs) */
  entries: number;
  /** the entries, once the output array was needed for another call */
  saved?: BigUint64Array;
  released: boolean;
  /** a GupBuffer's: its pfns view the output array, anyone may write them, so its
   *  release is checked as a plain list's is */
  buffer: boolean;
}
/** layout.ts RUN_MARK, as the unsigned entry value the output array holds */
const RUN_MARK = BigInt.asUintN(64, BigInt(K.RUN_MARK));

/** Decodes `entries` GUP_OUT_RUNS entries (layout.ts): a pfn, or pfn | RUN_MARK then its page count. */
function decodeRuns(raw: BigUint64Array, entries: number): GupRuns {
  let count = 0;
  for (let i = 0; i < entries; i++, count++) if (raw[i] >= RUN_MARK) i++;
  const pfn = new BigUint64Array(count), pages = new Uint32Array(count);
  for (let i = 0, k = 0; i < entries; i++, k++) {
    const e = raw[i];
    if (e >= RUN_MARK) { pfn[k] = e - RUN_MARK; pages[k] = Number(raw[++i]); } else { pfn[k] = e; pages[k] = 1; }
  }
  return { count, pfn, pages };
}

/** The pfn of every page of `runs`, in order. */
function expandRuns(runs: GupRuns, nr: number): BigUint64Array {
  const out = new BigUint64Array(nr);
  for (let r = 0, at = 0; r < runs.count; r++) for (let i = 0; i < runs.pages[r]; i++) out[at++] = runs.pfn[r] + BigInt(i);
  return out;
}

/**
 * A reusable GupResult (Machine.gupBuffer): `mm.gupFast(addr, nr, { into: buf })`
 * fills it and returns it, with nothing allocated or copied per call. Its
 * pfns view the core's output array in place, valid until it is released or
 * filled again (another call that needs the array first copies them aside).
 * It is a handle like any GupResult: released once per fill, by its machine,
 * with unpin (either kind) or put (references only); filling it again while
 * it holds pages is refused (EBUSY). Its entries can be written by anyone,
 * so its release is checked against the counts as a plain list's is.
 */
export class GupBuffer implements GupResult {
  readonly #t: Taken;
  /** @internal */ get t(): Taken { return this.#t; }
  /** @internal The record of a GupBuffer; undefined for anything else (a brand check: no user code runs). */
  static taken(o: object): Taken | undefined { return #t in o ? (o as GupBuffer).#t : undefined; }
  private _ret = 0;
  private _fast = 0;
  private _flags = 0;
  private view?: BigUint64Array;
  private viewLen = -1;
  private viewOf?: BigUint64Array;
  private decoded?: GupRuns;
  /** @internal */ constructor(machine: Machine, private readonly results: GupResults) {
    this.#t = { machine, pin: false, runs: false, nr: 0, entries: 0, released: true, buffer: true };
  }
  /** @internal */ fill(ret: number, fast: number, flags: number, pin: boolean, runs: boolean, entries: number): void {
    const t = this.t;
    this._ret = ret; this._fast = fast; this._flags = flags;
    t.pin = pin; t.runs = runs; t.nr = Math.max(ret, 0); t.entries = entries; t.released = false;
    this.decoded = undefined;
  }
  get nr(): number { return this.t.nr; }
  get ret(): number { return this._ret; }
  get errno(): ErrorCode | undefined { return this._ret < 0 ? STATUS[this._ret] ?? 'EINVAL' : undefined; }
  get fast(): number { return this._fast; }
  get flags(): number { return this._flags; }
  get pin(): boolean { return this.t.pin; }
  /** holds pages not yet released */
  get held(): boolean { return !this.t.released; }
  /** The entries as the core wrote them: in place, or where they were copied aside. */
  private rawEntries(): BigUint64Array {
    const t = this.t, out = this.results.all;
    const src = t.released ? out : t.saved && this.results.holder !== t ? t.saved : out;
    const n = t.released ? 0 : t.entries;
    if (this.viewOf !== src || this.viewLen !== n) { this.view = src.subarray(0, n); this.viewOf = src; this.viewLen = n; }
    return this.view!;
  }
  /** The pfns taken (empty once released). Without runs, a view of the core's array: no copy. */
  get pfns(): BigUint64Array {
    if (!this.t.runs) return this.rawEntries();
    return expandRuns(this.runs!, this.t.released ? 0 : this.t.nr);
  }
  get runs(): GupRuns | undefined {
    if (!this.t.runs) return undefined;
    if (this.t.released) return decodeRuns(this.results.all, 0);
    return (this.decoded ??= decodeRuns(this.rawEntries(), this.t.entries));
  }
}

/**
 * A GupResult of its own (what gupFast returns without `into`): frozen, its
 * record in a private field the machine reads (no table of results: a
 * WeakMap entry per result cost more than the gup of a few pages).
 */
class OwnResult implements GupResult {
  readonly nr: number;
  readonly ret: number;
  readonly errno?: ErrorCode;
  readonly fast: number;
  readonly pfns!: BigUint64Array;
  readonly flags: number;
  readonly pin: boolean;
  declare readonly runs?: GupRuns;
  readonly #t: Taken;
  constructor(t: Taken, ret: number, fast: number, flags: number, all: BigUint64Array) {
    this.nr = t.nr; this.ret = ret;
    this.errno = ret < 0 ? STATUS[ret] ?? 'EINVAL' : undefined;
    this.fast = fast; this.flags = flags; this.pin = t.pin;
    this.#t = t;
    if (t.runs) {
      const r = decodeRuns(all, t.entries);
      let pfns: BigUint64Array | undefined;
      Object.defineProperty(this, 'runs', { enumerable: true, value: r });
      Object.defineProperty(this, 'pfns', { enumerable: true, get: () => (pfns ??= expandRuns(r, t.nr)) });
    } else {
      (this as { pfns: BigUint64Array }).pfns = copyOut(all, t.nr);
    }
    Object.freeze(this);
  }
  /** The record of a GupResult this module made; undefined for anything else. */
  static taken(o: object): Taken | undefined { return #t in o ? (o as OwnResult).#t : undefined; }
}

/**
 * A copy of v[0, n) for a result's pfns. Typed arrays of more than 64 bytes
 * get a buffer of their own outside the heap, which costs more than the gup
 * of hundreds of pages; copies up to a quarter of a slab share one (a slab
 * lives while any copy in it does, at most SLAB_BYTES per copy kept).
 */
const SLAB_BYTES = 1 << 16;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabAt = 0;
function copyOut(v: BigUint64Array, n: number): BigUint64Array {
  const bytes = n * 8;
  if (bytes <= 64 || bytes > SLAB_BYTES / 4) return v.slice(0, n);
  if (slabAt + bytes > SLAB_BYTES) { slab = new ArrayBuffer(SLAB_BYTES); slabAt = 0; }
  const c = new BigUint64Array(slab, slabAt, n);
  slabAt += bytes;
  c.set(v.subarray(0, n));
  return c;
}

/**
 * One machine's gup results on this thread: its output array, the result
 * whose entries the array holds, and the release of results and plain lists.
 */
export class GupResults {
  /** The result whose entries the output array holds, not yet released. */
  holder?: Taken;

  /** `all`: the context's output array, all of it. */
  constructor(private readonly machine: Machine, readonly all: BigUint64Array) {}

  /**
   * The output array is about to be written: copy the entries of the result
   * it holds aside (that result's release copies them back).
   */
  evict(): void {
    const t = this.holder;
    if (t === undefined) return;
    this.holder = undefined;
    if (t.released) return;
    if (!t.saved || t.saved.length < t.entries) t.saved = new BigUint64Array(t.entries);
    t.saved.set(this.all.subarray(0, t.entries));
  }

  /** Write a list into the output array for the next call (the results it held are copied aside first). */
  putList(values: readonly bigint[]): void {
    this.evict();
    if (values.length > this.all.length) throw new PgtemuError('EINVAL', `a list of ${values.length} words is longer than the output array (${this.all.length})`);
    this.all.set(values, 0);
  }

  /** gupFast's `into`: a GupBuffer of this machine that holds nothing. */
  checkInto(into: unknown, va: bigint): void {
    const t = typeof into === 'object' && into !== null ? GupBuffer.taken(into) : undefined;
    if (t === undefined) throw new PgtemuError('EINVAL', `gupFast: into is ${describe(into)}, not a GupBuffer (Machine.gupBuffer())`, { op: 'gupFast', address: va });
    if (t.machine !== this.machine) throw new PgtemuError('EINVAL', 'gupFast: this GupBuffer belongs to another machine', { op: 'gupFast', address: va });
    if (!t.released && t.nr > 0) {
      throw new PgtemuError('EBUSY', `gupFast: this GupBuffer still holds the ${t.nr} pages of its last gupFast; release them (unpin or put) before filling it again`, { op: 'gupFast', address: va });
    }
  }

  /**
   * What this thread's last gup took (its `entries` are in the output array
   * now): `into` filled, or a new frozen GupResult; the output array holds it.
   */
  took(ret: number, fast: number, flags: number, pin: boolean, runs: boolean, entries: number, into?: GupBuffer): GupResult {
    if (into !== undefined) {
      into.fill(ret, fast, flags, pin, runs, entries);
      this.holder = into.t;
      return into;
    }
    const t: Taken = { machine: this.machine, pin, runs, nr: Math.max(ret, 0), entries, released: false, buffer: false };
    const res = new OwnResult(t, ret, fast, flags, this.all);
    this.holder = t;
    return res;
  }

  /** The machine's record of a GupResult; undefined for a plain list. */
  handle(pages: unknown, op: string): Taken | undefined {
    if (pages === null || typeof pages !== 'object') throw new PgtemuError('EINVAL', `${op}: expected a GupResult or { pfns }, got ${describe(pages)}`, { op });
    const t = GupBuffer.taken(pages) ?? OwnResult.taken(pages);
    if (!t) return undefined;
    if (t.machine !== this.machine) throw new PgtemuError('EINVAL', `${op}: this GupResult was taken by another machine`, { op });
    if (t.released) {
      if (t.buffer) throw new PgtemuError('EINVAL', `${op}: this GupBuffer holds nothing: it was released (or never filled) since its last gupFast`, { op });
      const r = pages as GupResult;
      const first = t.nr > 0 ? `page 0 (pfn ${hex(r.runs ? r.runs.pfn[0] : r.pfns[0])}) has no struct page or not the references to give back: ` : '';
      throw new PgtemuError('EINVAL', `${op}: ${first}this GupResult was already released`, { op });
    }
    return t;
  }

  /**
   * Gives back what a result took. Its entries are still in the output array
   * when nothing has needed it since (the usual gup, then release): the core
   * releases them there, without a copy. Otherwise they go back from where
   * evict() copied them. A GupResult's entries are the machine's own (its
   * pfns are a copy), so the core's release skips the reading of mappings
   * (GUP_RELEASE_OWN); a GupBuffer's can be written by anyone and are checked
   * as a plain list is.
   */
  releaseHandle(t: Taken, op: string): void {
    const inPlace = this.holder === t;
    if (inPlace) this.holder = undefined;
    else if (t.entries > 0) {
      this.evict();
      this.all.set(t.saved!.subarray(0, t.entries));
    }
    const flags = (t.pin ? FOLL_PIN : FOLL_GET) | (t.runs ? GUP_OUT_RUNS : 0) | (t.buffer ? 0 : GUP_RELEASE_OWN);
    if (t.entries > 0) {
      const o = this.machine.call('unpin', { n: t.entries, flags }, op);
      if (o.status < 0) {
        // nothing was released and the entries are as they were (the core's records
        // are elsewhere, Ctx.recs): the array holds this handle again, still taken
        this.holder = t;
        const bad = o.refused;
        const e = this.all[bad];
        const pfn = e >= RUN_MARK ? e - RUN_MARK : e;
        const what = t.runs ? `the run at entry ${bad} (pfn ${hex(pfn)})` : `page ${bad} (pfn ${hex(pfn)})`;
        throw new PgtemuError('EINVAL', `${op}: ${what} has no struct page or not the references to give back (${this.machine.whyNot(pfn, t.pin)}); nothing was released`, { op });
      }
    }
    t.released = true;
  }

  /**
   * A plain list's first n pfns, given back in chunks of the output array
   * (a refusal keeps the chunks before it). Each pfn is checked to be a
   * 64-bit value before anything is released.
   */
  releaseList(pfns: ArrayLike<bigint | number>, n: number, pin: boolean, op: string): void {
    const list = pfnList(pfns, n, op);
    const flags = pin ? FOLL_PIN : FOLL_GET;
    this.evict();   // before the list goes where its entries are
    for (let done = 0; done < n;) {
      const chunk = Math.min(n - done, this.all.length);
      this.all.set(list.subarray(done, done + chunk));   // one copy, no per-page JS
      const o = this.machine.call('unpin', { n: chunk, flags }, op);
      if (o.status < 0) {
        const bad = done + o.refused;
        throw new PgtemuError('EINVAL', `${op}: page ${bad} (pfn ${hex(list[bad])}) has no struct page or not the references to give back (${this.machine.whyNot(list[bad], pin)}); nothing from that page on was released`, { op });
      }
      done += chunk;
    }
  }
}

/** A plain list's first n pfns, checked before anything is released: 64-bit values only. */
function pfnList(pfns: ArrayLike<bigint | number>, n: number, op: string): BigUint64Array {
  if (pfns instanceof BigUint64Array) return pfns;
  const list = new BigUint64Array(n);
  for (let i = 0; i < n; i++) {
    const v = pfns[i];
    if ((typeof v !== 'bigint' && !Number.isSafeInteger(v)) || v < 0 || BigInt(v) >= 1n << 64n) {
      throw new PgtemuError('EINVAL', `${op}: page ${i} (pfn ${typeof v === 'bigint' && v >= 0n ? hex(v) : describe(v)}) is not a pfn (an integer in 0 .. 2^64 - 1); nothing was released`, { op });
    }
    list[i] = BigInt(v);
  }
  return list;
}
