// Worker entry: attaches one more core instance to a machine's shared memory
// and runs loops inside the core on its own context. Talks to the pool over
// messages for set-up and over an Atomics start barrier for timing.
import { parentPort, workerData } from 'node:worker_threads';
import { Core, instantiate } from './core.js';
import { CTX_OUT, CTX_REC_SIZE } from './consts.gen.js';
import type { SharedMachine } from './machine.js';
import type { LoopJob, LoopResult } from './workers.js';

interface Init { shared: SharedMachine; ctxIndex: number; control: SharedArrayBuffer }
const init = workerData as Init;
const { exports, layout } = instantiate(init.shared.module, init.shared.memory);
exports.attach(init.shared.header);
const ctx = init.shared.ctxBase + init.ctxIndex * init.shared.ctxSize;
const core = new Core(exports, layout, init.shared.memory, ctx);
const control = new Int32Array(init.control);

parentPort!.on('message', (job: LoopJob) => {
  const { loop } = job;
  // a loop writes its LoopOut when it ends: a trap before leaves these zeros
  new Uint8Array(init.shared.memory.buffer, ctx + CTX_OUT, CTX_REC_SIZE).fill(0);
  Atomics.add(control, 1, 1);                      // ready
  Atomics.notify(control, 1);
  // wait on the value just seen: a release between a load and the wait then returns at once
  // (waiting on a second load could sleep on the released value, with no notify to come)
  for (let v = Atomics.load(control, 0); v !== job.go; v = Atomics.load(control, 0)) Atomics.wait(control, 0, v);
  const t0 = performance.now();
  let status = 0;
  let error: string | undefined;
  let pages = 0, short = 0, rounds = 0;
  try {
    const o = core.call(loop.span ? 'gupSweepLoop' : 'gupUnpinLoop', loop);
    status = o.status;
    pages = Number(o.pages); short = Number(o.short); rounds = o.rounds;
  } catch (e) {
    // as Machine.call names a trap: the operation and where; and, as there, the
    // locks this worker's instance held are released and its lockless section
    // left, so no other thread waits on it forever
    let released = 0;
    if (e instanceof WebAssembly.RuntimeError) released = core.call('recover').locks;
    const start = BigInt(loop.start);
    error = e instanceof WebAssembly.RuntimeError
      ? `core trapped in gupUnpinLoop at 0x${start.toString(16)}: ${e.message}${released ? ` (${released} lock${released > 1 ? 's' : ''} it held released)` : ''}`
      : `gupUnpinLoop at 0x${start.toString(16)}: ${String(e)}`;
  }
  const ms = performance.now() - t0;
  const out: LoopResult = {
    status, error, ms, pages, short, rounds, stopped: error === undefined && status === 0 && rounds < loop.rounds,
  };
  parentPort!.postMessage(out);
});
