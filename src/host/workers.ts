// A pool of worker threads attached to one machine. Each worker owns a core
// context (1..threads-1; the main thread has 0) and runs its loop inside the
// core, so a measurement has no per-page JS and no per-call messages.
import { Worker } from 'node:worker_threads';
import { Machine } from './machine.js';
import { PgtemuError, hex } from './errors.js';
import { options } from './validate.js';
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

const LOOP_OPTIONS = { mm: 'object', start: 'bigint|number', nr: 'number', pin: 'boolean', write: 'boolean', longterm: 'boolean', rounds: 'number', span: 'number' } as const;
const LOOP_FORMS = { runs: 'boolean' } as const;

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

  /** Every loop checked before any worker is told anything. */
  private jobs(loops: GupLoop[], go: number): LoopJob[] {
    const op = 'WorkerPool.run';
    if (this.closing || this.workers.length === 0) throw new PgtemuError('EINVAL', `${op}: the pool is closed`);
    if (this.running) throw new PgtemuError('EINVAL', `${op}: a run is already in flight on this pool`);
    if (!Array.isArray(loops)) throw new PgtemuError('EINVAL', `${op}: loops must be an array, one loop per worker`);
    if (loops.length !== this.workers.length) throw new PgtemuError('EINVAL', `${op}: ${loops.length} loops for ${this.workers.length} workers`);
    const m = this.machine;
    return loops.map((l, i) => {
      const what = `${op}: loop ${i}`;
      options(l, what, LOOP_OPTIONS, true, LOOP_FORMS);
      const mm = m.own(l.mm, what);
      mm.live(what);
      if (!Number.isInteger(l.nr) || l.nr < 1 || l.nr > m.maxPagesPerCall) throw new PgtemuError('EINVAL', `${what}: nr ${l.nr} is not an integer in 1..${m.maxPagesPerCall}`);
      if (!Number.isInteger(l.rounds) || l.rounds < 0 || l.rounds > 0xffff_ffff) throw new PgtemuError('EINVAL', `${what}: rounds ${l.rounds} is not an integer in 0..${0xffff_ffff}`);
      if (typeof l.start !== 'bigint' && !Number.isSafeInteger(l.start)) throw new PgtemuError('EINVAL', `${what}: start ${String(l.start)} is not an integer`);
      const start = BigInt(l.start);
      m.checkUser(start, 'start', what);
      const ps = BigInt(m.desc.pageShift);
      if ((start & ((1n << ps) - 1n)) !== 0n) throw new PgtemuError('EINVAL', `${what}: start ${hex(start)} is not page aligned`);
      if (l.span !== undefined && (!Number.isInteger(l.span) || l.span < 1 || l.span > 2 ** 40)) throw new PgtemuError('EINVAL', `${what}: span ${l.span} is not an integer in 1..2^40 pages`);
      m.checkUser(start + (BigInt(Math.max(l.nr, l.span ?? 0)) << ps) - 1n, 'end', what);
      const flags = (l.pin ? FOLL_PIN : FOLL_GET) | (l.write ? FOLL_WRITE : 0) | (l.longterm ? FOLL_LONGTERM : 0) | (l.runs ? GUP_OUT_RUNS : 0);
      return { loop: { mm: mm.ptr, start, nr: l.nr, flags, rounds: l.rounds, span: l.span ?? 0 }, go, ctx: this.ctxOf(i) };
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
    const go = ++this.round;
    const p = this.start(jobs, go, during);
    this.running = p.catch(() => undefined);
    try {
      return await p;
    } finally {
      this.running = undefined;
    }
  }

  private async start(jobs: LoopJob[], go: number, during?: () => void): Promise<{ results: LoopResult[]; wallMs: number }> {
    const words = new Int32Array(this.machine.memory.buffer);
    const stop = this.machine.layout.off.Ctx.stop;
    Atomics.store(this.ctl, 1, 0);
    const done = this.workers.map((w, i) => {
      const result = settle<LoopResult>(w, 'message');
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
    const results: LoopResult[] = [];
    settled.forEach((s, i) => {
      if (s.status === 'rejected') {
        throw new PgtemuError('ETRAP', `WorkerPool.run: worker ${i} failed: ${(s.reason as Error)?.message ?? String(s.reason)}`, { op: 'gupUnpinLoop', cause: s.reason });
      }
      results.push(s.value);
    });
    const bad = results.findIndex((r) => r.error !== undefined);
    if (bad >= 0) throw new PgtemuError('ETRAP', `WorkerPool.run: worker ${bad}: ${results[bad].error}`, { op: 'gupUnpinLoop', address: BigInt(jobs[bad].loop.start) });
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
