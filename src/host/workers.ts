// A pool of worker threads attached to one machine. Each worker owns a core
// context (1..threads-1; the main thread has 0) and runs its loop inside the
// core, so a measurement has no per-page JS and no per-call messages.
import { Worker } from 'node:worker_threads';
import type { Machine } from './machine.js';
import { PgtemuError } from './errors.js';

/**
 * `rounds` times: gup `nr` pages from `start` with `flags`, then release them; with
 * `span`, each call moves on by `nr` pages through [start, start + span pages) (gup_test's sweep).
 */
export interface LoopJob { mm: number; start: bigint; nr: number; flags: number; rounds: number; go: number; span?: number }
export interface LoopResult { status: number; error?: string; ms: number; pages: number; short: number }
export interface GupLoop { mm: { ptr: number }; start: bigint; nr: number; pin?: boolean; write?: boolean; longterm?: boolean; rounds: number; span?: number }

export class WorkerPool {
  private readonly control = new SharedArrayBuffer(8);
  private readonly ctl = new Int32Array(this.control);
  private round = 0;
  private constructor(private readonly machine: Machine, private readonly workers: Worker[]) {}

  static async start(machine: Machine, n: number): Promise<WorkerPool> {
    if (!Number.isInteger(n) || n < 1 || n > machine.threads - 1) {
      throw new PgtemuError('EINVAL', `WorkerPool: ${n} workers, but the machine has contexts for ${machine.threads - 1} (Machine.create threads option)`);
    }
    const pool = new WorkerPool(machine, []);
    const url = new URL('./worker.js', import.meta.url.replace(/\/src\/host\//, '/dist/host/'));
    for (let i = 0; i < n; i++) {
      const w = new Worker(url, { workerData: { shared: machine.shared(), ctxIndex: i + 1, control: pool.control }, execArgv: [] });
      await settle<void>(w, 'online');
      pool.workers.push(w);
    }
    return pool;
  }

  get size(): number { return this.workers.length; }

  /**
   * Run one loop per worker, released together by a start barrier; resolves
   * with each worker's result and the wall time from release to the last finish.
   * `during` runs on the main thread while they run (a racing zap, say).
   */
  async run(loops: GupLoop[], during?: () => void): Promise<{ results: LoopResult[]; wallMs: number }> {
    if (loops.length !== this.workers.length) throw new PgtemuError('EINVAL', `WorkerPool.run: ${loops.length} loops for ${this.workers.length} workers`);
    const L = this.machine.layout;
    const go = ++this.round;
    Atomics.store(this.ctl, 1, 0);
    const done = this.workers.map((w, i) => {
      const result = settle<LoopResult>(w, 'message');
      const l = loops[i];
      let flags = l.pin ? L.k('FOLL_PIN') : L.k('FOLL_GET');
      if (l.write) flags |= L.k('FOLL_WRITE');
      if (l.longterm) flags |= L.k('FOLL_LONGTERM');
      const job: LoopJob = { mm: l.mm.ptr, start: l.start, nr: l.nr, flags, rounds: l.rounds, go, span: l.span };
      w.postMessage(job);
      return result;
    });
    while (Atomics.load(this.ctl, 1) < this.workers.length) await new Promise((r) => setTimeout(r, 1));
    const t0 = performance.now();
    Atomics.store(this.ctl, 0, go);
    Atomics.notify(this.ctl, 0);
    if (during) during();
    const results = await Promise.all(done);
    return { results, wallMs: performance.now() - t0 };
  }

  async close(): Promise<void> {
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
