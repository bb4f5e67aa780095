// WorkerPool checks every loop before any worker starts, reports a worker's
// trap as a PgtemuError naming the operation, and close() during a run stops
// the loops at a round boundary with every count balanced.
import { afterEach, describe, expect, it } from 'vitest';
import { Machine, Mm, PgtemuError, WorkerPool } from '../../src/index.js';

const A = 0x1000_0000n;
const MiB = 1n << 20n;
let pool: WorkerPool | undefined;
afterEach(async () => { await pool?.close(); pool = undefined; });

function machine() {
  const m = Machine.createSync({ arch: 'x86_64', ramMiB: 32, tablePoolMiB: 2, threads: 3 });
  const mm = m.createMm();
  mm.mmap({ start: A, length: 2n * MiB, populate: true });
  return { m, mm };
}

/**
 * Until every worker context of a fresh machine (contexts 1 .. n; 0 is this
 * thread's) has taken pages, read from its own statGupFastPages: the run is
 * under way on each worker, whatever else the host is running.
 */
async function underWay(m: Machine, n: number): Promise<void> {
  const x = m as unknown as { ctxBase: number; ctxSize: number };
  const dv = new DataView(m.memory.buffer);
  const took = (i: number) => dv.getBigUint64(x.ctxBase + i * x.ctxSize + m.layout.off.Ctx.statGupFastPages, true);
  const all = () => Array.from({ length: n }, (_, i) => took(i + 1)).every((v) => v > 0n);
  while (!all()) await new Promise((r) => setTimeout(r, 5));
}

async function refused(p: Promise<unknown>, code: string, text: RegExp): Promise<void> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(PgtemuError);
  expect((e as PgtemuError).code).toBe(code);
  expect((e as PgtemuError).message).toMatch(text);
}

describe('WorkerPool', () => {
  it('refuses bad loops before any worker starts', async () => {
    const { m, mm } = machine();
    const other = machine();
    const dead = m.createMm();
    dead.destroy();
    pool = await WorkerPool.start(m, 2);
    const ok = { mm, start: A, nr: 512, pin: true, rounds: 5 };
    const stats = m.stats();
    const cases: [unknown, RegExp][] = [
      [{ ...ok, rounds: 1.5 }, /loop 1: rounds 1.5 is not an integer in 0\.\.4294967295/],
      [{ ...ok, rounds: -1 }, /loop 1: rounds -1 is not an integer/],
      [{ ...ok, rounds: 2 ** 32 }, /loop 1: rounds 4294967296 is not an integer/],
      [{ ...ok, nr: 0 }, /loop 1: nr 0 is not an integer in 1\.\.262144/],
      [{ ...ok, nr: 1e9 }, /loop 1: nr 1000000000 is not an integer in 1\.\./],
      [{ ...ok, nr: Number.NaN }, /loop 1: option 'nr' is NaN, not a number/],
      [{ ...ok, start: 1n << 47n }, /loop 1: start 0x800000000000 is not a canonical user address/],
      [{ ...ok, start: A + 1n }, /loop 1: start 0x10000001 is not page aligned/],
      [{ ...ok, start: (1n << 47n) - 4096n }, /loop 1: end 0x8000001fefff is not a canonical user address/],
      [{ ...ok, mm: other.mm }, /loop 1: this address space belongs to another machine/],
      [{ ...ok, mm: { ptr: mm.ptr } }, /loop 1: an object \(Object\) is not an address space \(Mm\)/],
      [{ ...ok, mm: dead }, /loop 1: this address space was destroyed/],
      [{ ...ok, turbo: true }, /loop 1: unknown option 'turbo' \(options: mm, start, nr, pin, write, longterm, rounds, span\)/],
      [null, /loop 1: options must be an object, not null/],
    ];
    for (const [bad, text] of cases) await refused(pool.run([ok, bad as never]), 'EINVAL', text);
    await refused(pool.run([ok]), 'EINVAL', /1 loops for 2 workers/);
    await refused(pool.run(null as never), 'EINVAL', /loops must be an array/);
    expect(m.stats()).toEqual(stats);                                 // no worker ran anything
    const { results } = await pool.run([ok, ok]);                     // and the pool still works
    expect(results.map((r) => [r.pages, r.rounds, r.stopped])).toEqual([[2560, 5, false], [2560, 5, false]]);
    expect(m.checkInvariants()).toEqual([]);
  });

  it("a worker's trap comes back as a PgtemuError naming the operation", async () => {
    const { m, mm } = machine();
    pool = await WorkerPool.start(m, 2);
    const bogus = new Mm(m, 0x7fff_fff0, 0n);                        // a corrupted handle: the core reads outside memory
    const ok = { mm, start: A, nr: 16, rounds: 3 };
    await refused(pool.run([ok, { ...ok, mm: bogus }]), 'ETRAP', /WorkerPool\.run: worker 1: core trapped in gupUnpinLoop at 0x10000000: memory access out of bounds/);
    expect(m.stats().gupOutstanding).toBe(0n);
    expect(m.checkInvariants()).toEqual([]);
    const { results } = await pool.run([ok, ok]);                     // the workers live on
    expect(results.map((r) => r.pages)).toEqual([48, 48]);
  });

  it('close() during a run stops the loops at a round boundary, counts balanced', async () => {
    const { m, mm } = machine();
    const free0 = m.stats().freePages;
    pool = await WorkerPool.start(m, 2);
    const loop = { mm, start: A, nr: 512, pin: true, write: true, rounds: 2 ** 32 - 1 };   // hours, if not stopped
    const running = pool.run([loop, { ...loop, pin: false }]);
    await underWay(m, 2);
    await pool.close();
    const { results } = await running;
    for (const r of results) {
      expect(r.stopped).toBe(true);
      expect(r.error).toBeUndefined();
      expect(r.rounds).toBeGreaterThan(0);
      expect(r.rounds).toBeLessThan(loop.rounds);
      expect(r.pages).toBe(r.rounds * 512);
    }
    expect(m.stats().gupOutstanding).toBe(0n);
    expect(m.stats().pinOutstanding).toBe(0n);
    expect(m.checkInvariants()).toEqual([]);
    expect(pool.size).toBe(0);
    await refused(pool.run([loop, loop]), 'EINVAL', /the pool is closed/);
    mm.munmap(A, 2n * MiB);
    expect(m.stats().freePages).toBe(free0 + 512n);
  });
});

describe('WorkerPool.runGupTest', () => {
  it('gup_test on each worker: get then put per repeat, both timed, counts balanced', async () => {
    const { m, mm } = machine();
    pool = await WorkerPool.start(m, 2);
    const t = { mm, start: A, nr: 24, pin: true, write: true, pages: 512, repeats: 3 };
    const { results, phasePages } = await pool.runGupTest([t, { ...t, pin: false }]);
    expect(phasePages).toEqual([512, 512]);
    for (const r of results) {
      expect([r.status, r.error, r.stopped]).toEqual([0, undefined, false]);
      expect(r.repeats).toHaveLength(3);
      for (const p of r.repeats) {
        expect(p).toMatchObject({ pages: 512, calls: 22, swept: 512, short: false });   // 21 calls of 24, one of 8
        expect(p.getMs).toBeGreaterThan(0);
        expect(p.putMs).toBeGreaterThan(0);
      }
    }
    expect(m.stats().gupOutstanding).toBe(0n);
    expect(m.checkInvariants()).toEqual([]);
  });

  it('a get phase that comes up short ends there, and the size is gup_test\'s', async () => {
    const { m, mm } = machine();
    pool = await WorkerPool.start(m, 2);
    // 2 MiB mapped: a call that finds nothing is not counted in the size (gup_test breaks on nr <= 0 before moving on) ...
    const t = { mm, start: A, nr: 16, pin: true, pages: 520, repeats: 2 };
    // ... a call that takes some of its pages is (it moves on by the whole call, then breaks)
    const { results } = await pool.runGupTest([t, { ...t, start: A + 2n * MiB - (8n << 12n), nr: 16, pages: 32 }]);
    expect(results[0].repeats).toEqual([0, 1].map(() => expect.objectContaining({ pages: 512, calls: 33, swept: 512, short: true })));
    expect(results[1].repeats).toEqual([0, 1].map(() => expect.objectContaining({ pages: 8, calls: 1, swept: 16, short: true })));
    expect(m.stats().gupOutstanding).toBe(0n);
    expect(m.checkInvariants()).toEqual([]);
  });

  it('refuses bad tests before any worker starts', async () => {
    const { m, mm } = machine();
    pool = await WorkerPool.start(m, 2);
    const ok = { mm, start: A, nr: 16, pages: 512, repeats: 1 };
    const stats = m.stats();
    const cases: [unknown, RegExp][] = [
      [{ ...ok, pages: 0 }, /test 1: pages 0 is not an integer in 1\.\.2\^40/],
      [{ ...ok, pages: 1.5 }, /test 1: pages 1\.5 is not an integer/],
      [{ ...ok, pages: 2 ** 41 }, /test 1: pages 2199023255552 is not an integer/],
      [{ ...ok, repeats: 0 }, /test 1: repeats 0 is not an integer in 1\.\.4294967295/],
      [{ ...ok, repeats: 2 ** 32 }, /test 1: repeats 4294967296 is not an integer/],
      [{ ...ok, nr: 0 }, /test 1: nr 0 is not an integer in 1\.\.262144/],
      [{ ...ok, start: A + 1n }, /test 1: start 0x10000001 is not page aligned/],
      [{ ...ok, start: (1n << 47n) - 4096n }, /test 1: end 0x8000001fefff is not a canonical user address/],
      [{ ...ok, rounds: 5 }, /test 1: unknown option 'rounds' \(options: mm, start, nr, pin, write, longterm, pages, repeats\)/],
      [{ ...ok, runs: true }, /test 1: unknown option 'runs'/],
      [null, /test 1: options must be an object, not null/],
    ];
    for (const [bad, text] of cases) await refused(pool.runGupTest([ok, bad as never]), 'EINVAL', text);
    await refused(pool.runGupTest([ok]), 'EINVAL', /WorkerPool\.runGupTest: 1 tests for 2 workers/);
    expect(m.stats()).toEqual(stats);
    const { results } = await pool.runGupTest([ok, ok]);
    expect(results.map((r) => r.repeats[0].pages)).toEqual([512, 512]);
  });

  it("a worker's trap names the get phase; the workers live on", async () => {
    const { m, mm } = machine();
    pool = await WorkerPool.start(m, 2);
    const bogus = new Mm(m, 0x7fff_fff0, 0n);
    const ok = { mm, start: A, nr: 16, pages: 64, repeats: 1 };
    await refused(pool.runGupTest([ok, { ...ok, mm: bogus }]), 'ETRAP', /WorkerPool\.runGupTest: worker 1: core trapped in gupGetPhase at 0x10000000: memory access out of bounds/);
    expect(m.stats().gupOutstanding).toBe(0n);
    const { results } = await pool.runGupTest([ok, ok]);
    expect(results.map((r) => r.repeats[0].pages)).toEqual([64, 64]);
    expect(m.checkInvariants()).toEqual([]);
  });

  it('close() during a run stops it at a call boundary, what it took given back', async () => {
    const { m, mm } = machine();
    pool = await WorkerPool.start(m, 2);
    const t = { mm, start: A, nr: 1, pin: true, write: true, pages: 512, repeats: 2 ** 32 - 1 };   // hours, if not stopped
    const running = pool.runGupTest([t, { ...t, pin: false }]);
    await underWay(m, 2);
    await pool.close();
    const { results } = await running;
    for (const r of results) {
      expect([r.stopped, r.error, r.status]).toEqual([true, undefined, 0]);
      expect(r.repeats.length).toBeGreaterThan(0);
      expect(r.repeats.length).toBeLessThan(t.repeats);
    }
    expect(m.stats().gupOutstanding).toBe(0n);
    expect(m.checkInvariants()).toEqual([]);
  });

  it('close() called straight from `during` waits for the run it interrupts: nothing left outstanding, every time', async () => {
    const { m, mm } = machine();
    for (let i = 0; i < 20; i++) {
      pool = await WorkerPool.start(m, 2);
      const loops = [0, 1].map(() => ({ mm, start: A, nr: 512, pin: true, rounds: 1_000_000 }));
      let closing: Promise<void> | undefined;
      const p = pool.run(loops, () => { closing = pool!.close(); });
      await p.then(() => undefined, () => undefined);
      await closing;
      pool = undefined;
      expect(m.stats().gupOutstanding).toBe(0n);
      expect(m.checkInvariants()).toEqual([]);
    }
  }, 30_000);
});
