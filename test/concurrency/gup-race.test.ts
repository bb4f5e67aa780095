// Workers racing gup-fast + unpin over the same folios while the main thread
// zaps and refaults them: every reference taken is given back exactly, the
// invariant checker reports nothing afterwards, every page is accounted for.
import { afterEach, describe, expect, it } from 'vitest';
import { Machine, WorkerPool } from '../../src/index.js';

const A = 0x1000_0000n;
const MiB = 1n << 20n;
let pool: WorkerPool | undefined;
afterEach(async () => { await pool?.close(); pool = undefined; });

describe('concurrency', () => {
  it.each([
    { name: '4 KiB pages', order: 0 },
    { name: 'a 2 MiB THP (every pin on one head refcount)', order: 9 },
  ])('two workers pin the same $name while the main thread zaps and refaults', async ({ order }) => {
    const m = Machine.createSync({ arch: 'x86_64', ramMiB: 64, tablePoolMiB: 4, threads: 3 });
    const free0 = m.stats().freePages;
    const mm = m.createMm();
    mm.mmap({ start: A, length: 2n * MiB, hugeOrder: order, populate: true });
    pool = await WorkerPool.start(m, 2);
    const loop = { mm, start: A, nr: 512, pin: true, write: true, rounds: 400 };
    let zaps = 0;
    const { results } = await pool.run([loop, loop], () => {
      for (let i = 0; i < 40; i++) {
        mm.zap(A, 2n * MiB);                       // racing the lockless walks
        mm.populate(A, 2n * MiB, { write: true });
        zaps++;
      }
    });
    for (const r of results) {
      expect(r.error).toBeUndefined();
      expect(r.status).toBe(0);
      expect(r.pages).toBeGreaterThan(0);
    }
    expect(zaps).toBe(40);
    expect(m.stats().gupOutstanding).toBe(0n);
    expect(m.stats().pinOutstanding).toBe(0n);
    expect(m.checkInvariants()).toEqual([]);
    mm.munmap(A, 2n * MiB);
    expect(m.checkInvariants()).toEqual([]);
    expect(m.stats().freePages).toBe(free0);
  });

  it('workers on disjoint ranges and on the same range take exactly what they report', async () => {
    const m = Machine.createSync({ arch: 'x86_64', ramMiB: 64, tablePoolMiB: 4, threads: 3 });
    const mm = m.createMm();
    mm.mmap({ start: A, length: 4n * MiB, populate: true });
    pool = await WorkerPool.start(m, 2);
    const a = { mm, start: A, nr: 512, pin: true, rounds: 300 };
    const b = { mm, start: A + 2n * MiB, nr: 512, pin: false, rounds: 300 };
    const { results } = await pool.run([a, b]);
    expect(results.map((r) => r.pages)).toEqual([512 * 300, 512 * 300]);
    expect(results.map((r) => r.short)).toEqual([0, 0]);
    const same = await pool.run([a, { ...a, pin: false }]);
    expect(same.results.map((r) => r.pages)).toEqual([512 * 300, 512 * 300]);
    const heads = [A, A + 2n * MiB].map((x) => m.walk(mm, x).pfn!);
    for (const h of heads) expect(m.page(h).refcount).toBe(1);
    // every one of the 1024 pages, not just the first of each range (populate hands out consecutive frames)
    for (const h of heads) expect([...m.refcounts(h, 512)].filter((r) => r !== 1)).toEqual([]);
    expect(m.checkInvariants()).toEqual([]);
    // a pool runs any number of loops without piling listeners on its workers
    const small = { ...a, rounds: 1 };
    const counts = () => pool!['workers'].map((w) => w.listenerCount('message') + w.listenerCount('error'));
    const idle = counts();
    for (let i = 0; i < 12; i++) await pool.run([small, small]);
    expect(counts()).toEqual(idle);
  });

  it('munmap frees tables only after lockless walkers have left them', async () => {
    const m = Machine.createSync({ arch: 'x86_64', ramMiB: 64, tablePoolMiB: 4, threads: 3 });
    const before = m.stats();
    const mm = m.createMm();
    pool = await WorkerPool.start(m, 2);
    mm.mmap({ start: A, length: 2n * MiB, populate: true });
    const loop = { mm, start: A, nr: 512, pin: true, rounds: 300 };
    const { results } = await pool.run([loop, loop], () => {
      for (let i = 0; i < 30; i++) {
        mm.munmap(A, 2n * MiB);                    // tables unlinked and freed under the walkers
        mm.mmap({ start: A, length: 2n * MiB, populate: true });
      }
    });
    for (const r of results) {
      expect(r.error).toBeUndefined();
      expect(r.status).toBe(0);
    }
    expect(m.stats().gupOutstanding).toBe(0n);
    expect(m.checkInvariants()).toEqual([]);
    mm.munmap(A, 2n * MiB);                        // every page and every table but the root back
    const after = m.stats();
    expect(after.freePages).toBe(before.freePages);
    expect(before.poolFreeBytes - after.poolFreeBytes).toBe(m.desc.levels[0].tableBytes);
  });
});
