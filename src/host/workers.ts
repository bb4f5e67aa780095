// A pool of worker threads attached to one machine. Each worker owns a core
// context (1..threads-1; the main thread has 0) and runs its loop inside the
// core, so a measurement has no per-page JS and no per-call messages.
import { Worker } from 'node:worker_threads';
import { Machine } from './machine.js';
import { PgtemuError, hex } from './errors.js';
import { options, optionSpec } from './validate.js';
import { FOLL_GET, FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE, GUP_OUT_RUNS } from './consts.gen.js';
import type { LoopIn } from './core.js';

/**
 * A worker's job: its loop's input record (assembly/abi.ts LoopIn: `rounds`
 * times, gup `nr` pages from `start` with `flags`, then release them; with
 * `span`, each call moves on by `nr` pages through [start, start + span pages),
 * gup_test's sweep), the start barrier's round and the worker's context.
 */
export interface LoopJob { loop: LoopIn; go: number; ctx: number }
export interface LoopResult {
  status: number;
  /** a trap or error in the worker, naming the operation (run() rejects with it as a PgtemuError) */
  error?: string;
  ms: number;
  pages: number;
  short: number;
  /** rounds done: fewer than asked when close() stopped the loop */
  rounds: number;
  /** close() stopped the loop at a round boundary */
  stopped: boolean;
}
export interface GupLoop {
  mm: { ptr: number }; start: bigint; nr: number; pin?: boolean; write?: boolean; longterm?: boolean; rounds: number;
  /** gup_test's sweep: each call moves on by nr pages through [start, start + span pages), then starts over */
  span?: number;
  /** gup reports runs of one folio (GupOptions.runs), released one gup_put_folio per run */
  runs?: boolean;
}

/**
 * gup_test (tools/testing/selftests/mm/gup_test.c) on one worker: `repeats`
 * times, a get phase over [start, start + pages pages) in calls of `nr`
 * pages, every reference held, then a put phase giving them all back
 * (v6.12 mm/gup_test.c __gup_test_ioctl: the gup loop, then put_back_pages).
 */
export interface GupTest {
  mm: { ptr: number }; start: bigint; nr: number; pin?: boolean; write?: boolean; longterm?: boolean;
  /** the range, in pages (gup_test -m) */
  pages: number;
  /** get + put phases, back to back on this worker (gup_test -r) */
  repeats: number;
}
/** One repeat on one worker. */
export interface PhaseTimes {
  /** the get phase(s): the calls into the core, timed on the worker around them */
  getMs: number;
  /** the put phase(s) */
  putMs: number;
  /** pages taken, and given back */
  pages: number;
  /** gup calls made */
  calls: number;
  /** pages the calls covered (gup_test's size, in pages): less than the range when a call came up short */
  swept: number;
  /** a call took fewer pages than it asked for: the get phase ended there, as gup_test's does */
  short: boolean;
}
export interface GupTestResult {
  status: number;
  error?: string;
  /** one entry per repeat done */
  repeats: PhaseTimes[];
  /** close() stopped it at a call boundary (what it had taken given back) */
  stopped: boolean;
}
/** A worker's gup_test job: the test's loop input, the range, how much one get phase may hold. */
export interface GupTestJob { test: LoopIn; pages: number; phasePages: number; repeats: number; pageShift: number; go: number; ctx: number }

/**
 * The pages one gup_test get phase holds on a machine: the whole range when a
 * context's output array holds it (maxPagesPerCall pfns; gup_test's pages[]
 * is the whole range), else the most whole calls of nr pages that fit.
 */
export function gupTestPhasePages(m: Machine, pages: number, nr: number): number {
  const cap = m.maxPagesPerCall;
  return pages <= cap ? pages : Math.floor(cap / nr) * nr;
}

const LOOP_OPTIONS = optionSpec({ mm: 'object', start: 'bigint|number', nr: 'number', pin: 'boolean', write: 'boolean', longterm: 'boolean', rounds: 'number', span: 'number' }, { runs: 'boolean' });
const TEST_OPTIONS = optionSpec({ mm: 'object', start: 'bigint|number', nr: 'number', pin: 'boolean', write: 'boolean', longterm: 'boolean', pages: 'number', repeats: 'number' });

export class WorkerPool {
  private readonly control = new SharedArrayBuffer(8);
  private readonly ctl = new Int32Array(this.control);
  private round = 0;
  private running?: Promise<unknown>;
  private closing = false;
  private exited = 0;
  private constructor(private readonly machine: Machine, private readonly workers: Worker[]) {}

  static async start(machine: Machine, n: number): Promise<WorkerPool> {
    if (!(machine instanceof Machine)) throw new PgtemuError('EINVAL', 'WorkerPool: the first argument is not a Machine');
    if (!Number.isInteger(n) || n < 1 || n > machine.threads - 1) {
      throw new PgtemuError('EINVAL', `WorkerPool: ${n} workers, but the machine has contexts for ${machine.threads - 1} (Machine.create threads option)`);
    }
    const pool = new WorkerPool(machine, []);
    const url = new URL('./worker.js', import.meta.url.replace(/\/src\/host\//, '/dist/host/'));
    for (let i = 0; i < n; i++) {
      const w = new Worker(url, { workerData: { shared: machine.shared(), ctxIndex: i + 1, control: pool.control }, execArgv: [] });
      w.once('exit', () => { pool.exited++; });
      await settle<void>(w, 'online');
      pool.workers.push(w);
    }
    return pool;
  }

  get size(): number { return this.workers.length; }

  /** The worker's context address (context i + 1). */
  private ctxOf(i: number): number {
    const s = this.machine.shared();
    return s.ctxBase + (i + 1) * s.ctxSize;
  }

  /** The pool can take a run of one job per worker. */
  private ready(op: string, jobs: unknown, what: string): void {
    if (this.closing || this.workers.length === 0) throw new PgtemuError('EINVAL', `${op}: the pool is closed`);
    if (this.running) throw new PgtemuError('EINVAL', `${op}: a run is already in flight on this pool`);
    if (!Array.isArray(jobs)) throw new PgtemuError('EINVAL', `${op}: ${what}s must be an array, one ${what} per worker`);
    if (jobs.length !== this.workers.length) throw new PgtemuError('EINVAL', `${op}: ${jobs.length} ${what}s for ${this.workers.length} workers`);
  }

  /**
   * What a loop and a test share: a live Mm of this machine, nr in
   * 1..maxPagesPerCall, a page-aligned user range of `pages` pages (at
   * least nr) from start. -> the Mm's pointer, start and the gup flags.
   */
  private checkRange(l: GupLoop | GupTest, pages: number, what: string): { mm: number; start: bigint; flags: number } {
    const m = this.machine;
    const mm = m.own(l.mm, what);
    mm.live(what);
    if (!Number.isInteger(l.nr) || l.nr < 1 || l.nr > m.maxPagesPerCall) throw new PgtemuError('EINVAL', `${what}: nr ${l.nr} is not an integer in 1..${m.maxPagesPerCall}`);
    if (typeof l.start !== 'bigint' && !Number.isSafeInteger(l.start)) throw new PgtemuError('EINVAL', `${what}: start ${String(l.start)} is not an integer`);
    const start = BigInt(l.start);
    m.checkUser(start, 'start', what);
    const ps = BigInt(m.desc.pageShift);
    if ((start & ((1n << ps) - 1n)) !== 0n) throw new PgtemuError('EINVAL', `${what}: start ${hex(start)} is not page aligned`);
    m.checkUser(start + (BigInt(Math.max(l.nr, pages)) << ps) - 1n, 'end', what);
    const flags = (l.pin ? FOLL_PIN : FOLL_GET) | (l.write ? FOLL_WRITE : 0) | (l.longterm ? FOLL_LONGTERM : 0);
    return { mm: mm.ptr, start, flags };
  }

  /** Every loop checked before any worker is told anything. */
  private jobs(loops: GupLoop[], go: number): LoopJob[] {
    const op = 'WorkerPool.run';
    this.ready(op, loops, 'loop');
    return loops.map((l, i) => {
      const what = `${op}: loop ${i}`;
      options(l, what, LOOP_OPTIONS, true);
      if (!Number.isInteger(l.rounds) || l.rounds < 0 || l.rounds > 0xffff_ffff) throw new PgtemuError('EINVAL', `${what}: rounds ${l.rounds} is not an integer in 0..${0xffff_ffff}`);
      if (l.span !== undefined && (!Number.isInteger(l.span) || l.span < 1 || l.span > 2 ** 40)) throw new PgtemuError('EINVAL', `${what}: span ${l.span} is not an integer in 1..2^40 pages`);
      const { mm, start, flags } = this.checkRange(l, l.span ?? 0, what);
      return { loop: { mm, start, nr: l.nr, flags: flags | (l.runs ? GUP_OUT_RUNS : 0), rounds: l.rounds, span: l.span ?? 0 }, go, ctx: this.ctxOf(i) };
    });
  }


  /**
   * Run one loop per worker, released together by a start barrier; resolves
   * with each worker's result and the wall time from release to the last finish.
   * `during` runs on the main thread while they run (a racing zap, say).
   * Every loop is checked first (a live Mm of this machine, a user range,
   * nr in 1..maxPagesPerCall, rounds in 0..2^32-1); a loop that traps in a
   * worker rejects the run with a PgtemuError 'ETRAP' naming the worker and
   * the operation, once every worker has finished. close() during a run
   * stops the loops at their next round boundary: the run resolves with what
   * was done (`stopped`, `rounds` in each result), every reference given back.
   */
  async run(loops: GupLoop[], during?: () => void): Promise<{ results: LoopResult[]; wallMs: number }> {
    const jobs = this.jobs(loops, this.round + 1);
    return this.launch<LoopJob, LoopResult>(jobs, 'gupUnpinLoop', during);
  }

  /**
   * gup_test on every worker, one GupTest each, released together by the
   * start barrier: per repeat a get phase over the range (gupGetPhase: calls
   * of nr pages, every reference held) and then a put phase (unpin of all of
   * them), each timed on the worker around its call into the core. A range
   * longer than one get phase may hold (phasePages: the context's output
   * array) goes as several get + put phases, whole calls each, and each
   * repeat's times are their sums. Resolves with each worker's repeats, the
   * wall time from release to the last finish and phasePages. Checks as
   * run() (pages in 1..2^40, repeats in 1..2^32-1; no `runs` form: one pfn
   * per page, as gup_test's pages[]); close() during a run stops it at a
   * call boundary, what was taken given back.
   */
  async runGupTest(tests: GupTest[], during?: () => void): Promise<{ results: GupTestResult[]; wallMs: number; phasePages: number[] }> {
    const op = 'WorkerPool.runGupTest';
    this.ready(op, tests, 'test');
    const go = this.round + 1;
    const ps = this.machine.desc.pageShift;
    const jobs = tests.map((t, i): GupTestJob => {
      const what = `${op}: test ${i}`;
      options(t, what, TEST_OPTIONS, true);
      if (!Number.isInteger(t.pages) || t.pages < 1 || t.pages > 2 ** 40) throw new PgtemuError('EINVAL', `${what}: pages ${t.pages} is not an integer in 1..2^40`);
      if (!Number.isInteger(t.repeats) || t.repeats < 1 || t.repeats > 0xffff_ffff) throw new PgtemuError('EINVAL', `${what}: repeats ${t.repeats} is not an integer in 1..${0xffff_ffff}`);
      const { mm, start, flags } = this.checkRange(t, t.pages, what);
      return {
        test: { mm, start, nr: t.nr, flags, rounds: 0, span: 0 }, pages: t.pages, phasePages: gupTestPhasePages(this.machine, t.pages, t.nr),
        repeats: t.repeats, pageShift: ps, go, ctx: this.ctxOf(i),
      };
    });
    const r = await this.launch<GupTestJob, GupTestResult>(jobs, 'gupGetPhase', during);
    return { ...r, phasePages: jobs.map((j) => j.phasePages) };
  }

  private async launch<J extends LoopJob | GupTestJob, R extends { error?: string }>(jobs: J[], opName: string, during?: () => void): Promise<{ results: R[]; wallMs: number }> {
    const go = ++this.round;
    const p = this.start<J, R>(jobs, go, opName, during);
    this.running = p.catch(() => undefined);
    try {
      return await p;
    } finally {
      this.running = undefined;
    }
  }

  private async start<J extends LoopJob | GupTestJob, R extends { error?: string }>(jobs: J[], go: number, opName: string, during?: () => void): Promise<{ results: R[]; wallMs: number }> {
    // launch() records the run (this.running) when this first yields: yield now, so that a
    // close() from `during` always finds the run in flight and waits for it
    await Promise.resolve();
    const words = new Int32Array(this.machine.memory.buffer);
    const stop = this.machine.layout.off.Ctx.stop;
    Atomics.store(this.ctl, 1, 0);
    const done = this.workers.map((w, i) => {
      const result = settle<R>(w, 'message');
      Atomics.store(words, (jobs[i].ctx + stop) >> 2, 0);   // no stop request yet
      w.postMessage(jobs[i]);
      return result;
    });
    while (Atomics.load(this.ctl, 1) < this.workers.length) {
      if (this.exited > 0) break;                          // a worker died: its settle() rejects below
      await new Promise((r) => setTimeout(r, 1));
    }
    const t0 = performance.now();
    Atomics.store(this.ctl, 0, go);
    Atomics.notify(this.ctl, 0);
    if (during) during();
    const settled = await Promise.allSettled(done);
    const wallMs = performance.now() - t0;
    const results: R[] = [];
    const run = opName === 'gupGetPhase' ? 'WorkerPool.runGupTest' : 'WorkerPool.run';
    settled.forEach((s, i) => {
      if (s.status === 'rejected') {
        throw new PgtemuError('ETRAP', `${run}: worker ${i} failed: ${(s.reason as Error)?.message ?? String(s.reason)}`, { op: opName, cause: s.reason });
      }
      results.push(s.value);
    });
    const bad = results.findIndex((r) => r.error !== undefined);
    if (bad >= 0) {
      const j = jobs[bad];
      throw new PgtemuError('ETRAP', `${run}: worker ${bad}: ${results[bad].error}`, { op: opName, address: BigInt('test' in j ? j.test.start : j.loop.start) });
    }
    return { results, wallMs };
  }

  /**
   * Stop the workers and end them. A run in flight is asked to stop at the
   * next round boundary (through each loop's stop word in its context) and
   * settles first, so no worker is ended holding references.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.running) {
      const words = new Int32Array(this.machine.memory.buffer);
      const stop = this.machine.layout.off.Ctx.stop;
      this.workers.forEach((_, i) => Atomics.store(words, (this.ctxOf(i) + stop) >> 2, 1));
      await this.running;
    }
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}

/** The worker's next `event` (or its error), with both listeners removed once either fires. */
function settle<T>(w: Worker, event: 'online' | 'message'): Promise<T> {
  return new Promise<T>((res, rej) => {
    const ok = (v: T) => { w.off('error', fail); res(v); };
    const fail = (e: Error) => { w.off(event, ok); rej(e); };
    w.once(event, ok);
    w.once('error', fail);
  });
}
