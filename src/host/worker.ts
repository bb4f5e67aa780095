// Worker entry: attaches one more core instance to a machine's shared memory
// and runs loops inside the core on its own context. Talks to the pool over
// messages for set-up and over an Atomics start barrier for timing.
import { parentPort, workerData } from 'node:worker_threads';
import { Core, instantiate } from './core.js';
import { CTX_OUT, CTX_REC_SIZE, GUP_RELEASE_OWN } from './consts.gen.js';
import type { SharedMachine } from './machine.js';
import type { GupTestJob, GupTestResult, LoopJob, LoopResult, PhaseTimes } from './workers.js';

interface Init { shared: SharedMachine; ctxIndex: number; control: SharedArrayBuffer }
const init = workerData as Init;
const { exports, layout } = instantiate(init.shared.module, init.shared.memory);
exports.attach(init.shared.header);
const ctx = init.shared.ctxBase + init.ctxIndex * init.shared.ctxSize;
const core = new Core(exports, layout, init.shared.memory, ctx);
const control = new Int32Array(init.control);
const words = new Int32Array(init.shared.memory.buffer);
const stopWord = (ctx + layout.off.Ctx.stop) >> 2;

/** Ready, then wait for the start barrier's release. */
function barrier(go: number): void {
  // a loop writes its LoopOut when it ends: a trap before leaves these zeros
  new Uint8Array(init.shared.memory.buffer, ctx + CTX_OUT, CTX_REC_SIZE).fill(0);
  Atomics.add(control, 1, 1);                      // ready
  Atomics.notify(control, 1);
  // wait on the value just seen: a release between a load and the wait then returns at once
  // (waiting on a second load could sleep on the released value, with no notify to come)
  for (let v = Atomics.load(control, 0); v !== go; v = Atomics.load(control, 0)) Atomics.wait(control, 0, v);
}

/**
 * A trap's message, as Machine.call names one: the operation and where; and,
 * as there, the locks this worker's instance held are released and its
 * lockless section left (and a get phase's output array put back), so no
 * other thread waits on it forever.
 */
function trapped(e: unknown, op: string, start: bigint): string {
  let released = 0;
  if (e instanceof WebAssembly.RuntimeError) released = core.call('recover').locks;
  return e instanceof WebAssembly.RuntimeError
    ? `core trapped in ${op} at 0x${start.toString(16)}: ${e.message}${released ? ` (${released} lock${released > 1 ? 's' : ''} it held released)` : ''}`
    : `${op} at 0x${start.toString(16)}: ${String(e)}`;
}

function runLoop(job: LoopJob): LoopResult {
  const { loop } = job;
  barrier(job.go);
  const t0 = performance.now();
  let status = 0;
  let error: string | undefined;
  let pages = 0, short = 0, rounds = 0;
  try {
    const o = core.call(loop.span ? 'gupSweepLoop' : 'gupUnpinLoop', loop);
    status = o.status;
    pages = Number(o.pages); short = Number(o.short); rounds = o.rounds;
  } catch (e) {
    error = trapped(e, 'gupUnpinLoop', BigInt(loop.start));
  }
  const ms = performance.now() - t0;
  return { status, error, ms, pages, short, rounds, stopped: error === undefined && status === 0 && rounds < loop.rounds };
}

/**
 * gup_test's repeats on this worker, back to back as its gup_thread issues
 * them: per repeat a get phase over the range (gupGetPhase, every reference
 * held), then the put phase (unpin over what it took), each timed here
 * around its one call into the core. A range longer than the output array
 * holds (job.phasePages) goes as several get + put phases, their times
 * summed; like gup_test, a repeat ends at a get phase that came up short.
 */
function runGupTest(job: GupTestJob): GupTestResult {
  const { test, pages, phasePages, repeats, pageShift } = job;
  const base = BigInt(test.start);
  const nr = test.nr;
  const get = { ...test };                         // one input object, its start and span set per phase
  const put = { n: 0, flags: test.flags | GUP_RELEASE_OWN };
  const done: PhaseTimes[] = [];
  let status = 0;
  let error: string | undefined;
  let stopped = false;
  barrier(job.go);
  for (let r = 0; r < repeats && !stopped && error === undefined && status === 0; r++) {
    const t: PhaseTimes = { getMs: 0, putMs: 0, pages: 0, calls: 0, swept: 0, short: false };
    for (let off = 0; off < pages; off += phasePages) {
      if (Atomics.load(words, stopWord) !== 0) { stopped = true; break; }
      const span = Math.min(phasePages, pages - off);
      get.start = base + (BigInt(off) << BigInt(pageShift));
      get.span = span;
      let held = 0, calls = 0, short = false;
      const t0 = performance.now();
      try {
        const o = core.call('gupGetPhase', get);
        const t1 = performance.now();
        if (o.status < 0) { status = o.status; break; }
        held = Number(o.pages); calls = o.rounds; short = o.short !== 0n;
        put.n = held;
        if (held > 0) {
          const u = core.call('unpin', put);
          if (u.status < 0) { status = u.status; error = `unpin of a get phase's ${held} pages refused at entry ${u.refused} (status ${u.status})`; }
        }
        t.getMs += t1 - t0;
        t.putMs += performance.now() - t1;
      } catch (e) {
        error = trapped(e, held > 0 ? 'unpin' : 'gupGetPhase', get.start);
        break;
      }
      if (error !== undefined) break;
      // gup_test's size: what its calls asked for, but for a last call that took nothing
      // (its loop breaks on nr <= 0 before moving addr on; a short call moved it on)
      const failed = short && held === (calls - 1) * nr;
      const swept = failed ? (calls - 1) * nr : Math.min(calls * nr, span);
      t.pages += held;
      t.calls += calls;
      t.swept += swept;
      if (short) { t.short = true; break; }
      if (swept < span) { stopped = true; break; } // no call came up short: a stop request ended the phase
    }
    if (error === undefined && status === 0 && !(stopped && t.calls === 0)) done.push(t);
  }
  return { status, error, repeats: done, stopped };
}

parentPort!.on('message', (job: LoopJob | GupTestJob) => {
  parentPort!.postMessage('test' in job ? runGupTest(job) : runLoop(job));
});
