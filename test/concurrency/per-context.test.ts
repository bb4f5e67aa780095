// Each context keeps its own op log, gup tallies and gup statistics; the
// machine sums them when read, and operation ids stay unique machine-wide.
import { afterEach, describe, expect, it } from 'vitest';
import { Machine, WorkerPool } from '../../src/index.js';

const A = 0x1000_0000n;
const MiB = 1n << 20n;
let pool: WorkerPool | undefined;
afterEach(async () => { await pool?.close(); pool = undefined; });

describe('per-context counters', () => {
  it('workers\' statistics and tallies add up, and their operations have ids and log records of their own', async () => {
    const m = Machine.createSync({ arch: 'x86_64', ramMiB: 64, tablePoolMiB: 2, threads: 3 });
    const mm = m.createMm();
    mm.mmap({ start: A, length: 4n * MiB, populate: true });
    mm.mmap({ start: A + 4n * MiB, length: 4n * MiB, hugeOrder: 9, populate: true });
    const before = m.stats();
    const mainOp = m.lastOp();
    pool = await WorkerPool.start(m, 2);
    const { results } = await pool.run([
      { mm, start: A, nr: 512, pin: true, write: true, rounds: 50 },
      { mm, start: A + 4n * MiB, nr: 512, pin: true, rounds: 50, runs: true },
    ]);
    const pages = results.reduce((s, r) => s + r.pages, 0);
    expect(pages).toBe(2 * 50 * 512);
    // held by the main thread while the workers' counts are in their own contexts
    const held = mm.gupFast(A + 512n * 4096n, 8, { pin: true });
    const s = m.stats();
    expect(s.gupFastPages - before.gupFastPages).toBe(BigInt(pages + 8));
    expect([s.gupOutstanding, s.pinOutstanding]).toEqual([8n * 1024n, 0n]);
    expect(m.checkInvariants()).toEqual([]);
    // the main thread numbers its operations on from where it was
    expect(m.lastOp()).toBe(mainOp + 1);
    // a worker's last operation on a page: its own context's id and log record
    const w0 = m.page(m.walk(mm, A).pfn!).lastOp, w1 = m.page(m.walk(mm, A + 4n * MiB).pfn!).lastOp;
    expect(w0).not.toBe(w1);
    expect([m.opRecord(w0)?.ctx, m.opRecord(w0)?.kind]).toEqual([1, 'unpin']);
    expect([m.opRecord(w1)?.ctx, m.opRecord(w1)?.kind]).toEqual([2, 'unpin']);
    expect(m.opRecord(m.lastOp())).toMatchObject({ ctx: 0, kind: 'gup' });
    m.unpin(held);
    expect(m.stats().gupOutstanding).toBe(0n);
    expect(m.checkInvariants()).toEqual([]);
  });
});
