// Freeing a table waits for lockless walkers (tlb_remove_table_sync_one),
// under the default V8 flags (Liftoff first): a worker holds its context's
// walk section open (seq odd) for a while; munmap on the main thread must
// not free the tables until it leaves, and then must complete.
import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { Machine } from '../../src/index.js';

const A = 0x1000_0000n;

describe('table freeing waits for lockless walkers', () => {
  it('munmap waits out a long lockless section on another context, then frees', async () => {
    expect(process.execArgv.join(' ')).not.toMatch(/liftoff/);      // the default compiler tiering
    const m = Machine.createSync({ arch: 'x86_64', ramMiB: 16, tablePoolMiB: 2, threads: 2 });
    const mm = m.createMm();
    mm.mmap({ start: A, length: 2n << 20n, populate: true });
    const sh = m.shared();
    const seq = sh.ctxBase + 1 * sh.ctxSize + m.layout.off.Ctx.seq;   // context 1's walk sequence
    const hold = 250;
    // the worker enters a walk section (seq odd, as gup-fast's local_irq_save), stays, leaves (seq even)
    const w = new Worker(`
      const { workerData, parentPort } = require('node:worker_threads');
      const words = new Int32Array(workerData.memory.buffer);
      Atomics.add(words, workerData.seq >> 2, 1);
      parentPort.postMessage('in');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.hold);
      parentPort.postMessage(performance.now() + performance.timeOrigin);
      Atomics.add(words, workerData.seq >> 2, 1);
    `, { eval: true, workerData: { memory: sh.memory, seq, hold } });
    try {
      const left = new Promise<number>((res) => w.on('message', (v) => { if (typeof v === 'number') res(v); }));
      await new Promise((res) => w.once('message', res));
      const freed0 = m.stats().tablesFreed;
      mm.munmap(A, 2n << 20n);
      const done = performance.now() + performance.timeOrigin;
      // causality, not a duration: munmap returned only after the walker had left
      expect(done).toBeGreaterThanOrEqual(await left);
      expect(m.stats().tablesFreed - freed0).toBe(3n);             // and then freed the pmd, pud and pte tables
      expect(m.walk(mm, A).status).toBe('none');
      expect(m.checkInvariants()).toEqual([]);
    } finally {
      await w.terminate();
    }
  });
});
