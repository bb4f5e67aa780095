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
  arg(0, job.mm); arg(1, job.start); arg(2, job.nr); arg(3, job.flags); arg(4, job.rounds); arg(5, job.span ?? 0);
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
    error = String(e);
  }
  const ms = performance.now() - t0;
  const res: LoopResult = {
    status, error, ms,
    pages: Number(dv.getBigUint64(ctx + r0, true)),
    short: Number(dv.getBigUint64(ctx + r0 + 8, true)),
  };
  parentPort!.postMessage(res);
});
