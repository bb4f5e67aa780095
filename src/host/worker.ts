// Worker entry: attaches one more core instance to a machine's shared memory
// and runs loops inside the core on its own context. Talks to the pool over
// messages for set-up and over an Atomics start barrier for timing.
import { parentPort, workerData } from 'node:worker_threads';
import { instantiate } from './core.js';
import type { SharedMachine } from './machine.js';
import type { LoopJob, LoopResult } from './workers.js';

interface Init { shared: SharedMachine; ctxIndex: number; control: SharedArrayBuffer }
const init = workerData as Init;
const { exports, layout } = instantiate(init.shared.module, init.shared.memory);
exports.attach(init.shared.header);
const ctx = init.shared.ctxBase + init.ctxIndex * init.shared.ctxSize;
const control = new Int32Array(init.control);
const a0 = layout.off.Ctx.a0, r0 = layout.off.Ctx.r0;

parentPort!.on('message', (job: LoopJob) => {
  const dv = new DataView(init.shared.memory.buffer);
  const arg = (i: number, v: bigint | number) => dv.setBigUint64(ctx + a0 + i * 8, BigInt(v), true);
  const res = (i: number) => Number(dv.getBigUint64(ctx + r0 + i * 8, true));
  arg(0, job.mm); arg(1, job.start); arg(2, job.nr); arg(3, job.flags); arg(4, job.rounds); arg(6, job.span ?? 0);
  for (let i = 0; i < 3; i++) dv.setBigUint64(ctx + r0 + i * 8, 0n, true);
  Atomics.add(control, 1, 1);                      // ready
  Atomics.notify(control, 1);
  // wait on the value just seen: a release between a load and the wait then returns at once
  // (waiting on a second load could sleep on the released value, with no notify to come)
  for (let v = Atomics.load(control, 0); v !== job.go; v = Atomics.load(control, 0)) Atomics.wait(control, 0, v);
  const t0 = performance.now();
  let status = 0;
  let error: string | undefined;
  try {
    status = job.span ? exports.gupSweepLoop(ctx) : exports.gupUnpinLoop(ctx);
  } catch (e) {
    // as Machine.run names a trap: the operation and where; and, as there, the
    // locks this worker's instance held are released and its lockless section
    // left, so no other thread waits on it forever
    let released = 0;
    if (e instanceof WebAssembly.RuntimeError) {
      const pages = res(0);
      exports.recover(ctx);                          // answers in r0: put the loop's count back
      released = res(0);
      dv.setBigUint64(ctx + r0, BigInt(pages), true);
    }
    error = e instanceof WebAssembly.RuntimeError
      ? `core trapped in gupUnpinLoop at 0x${job.start.toString(16)}: ${e.message}${released ? ` (${released} lock${released > 1 ? 's' : ''} it held released)` : ''}`
      : `gupUnpinLoop at 0x${job.start.toString(16)}: ${String(e)}`;
  }
  const ms = performance.now() - t0;
  const rounds = res(2);
  const out: LoopResult = {
    status, error, ms, pages: res(0), short: res(1), rounds, stopped: error === undefined && status === 0 && rounds < job.rounds,
  };
  parentPort!.postMessage(out);
});
