// The seeded fuzz's racing part: two workers loop gup-fast + release (pins and
// gets, reads and writes, sweeps) over a region while the main thread, between
// the workers' rounds, runs random operations on the same address space:
// zap, munmap and re-mmap, faults and populates at the ends of the range,
// crafted entries poked into the live tables and put back, and an address
// space that runs the table pool dry. Nothing traps or hangs, every error is a
// PgtemuError, and afterwards every count is balanced and the checker reports
// nothing. PGTEMU_FUZZ=<runs> makes it long.
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Machine, PgtemuError, WorkerPool, decodeEntry, decodeTablePa, encodeTableEntry } from '../../src/index.js';
import type { Mm } from '../../src/index.js';

const LONG = Number(process.env.PGTEMU_FUZZ ?? 0);
const A = 0x4000_0000n;
const MiB = 1n << 20n;
let pool: WorkerPool | undefined;
afterEach(async () => { await pool?.close(); pool = undefined; });

type Step = 'zap' | 'munmap' | 'fault' | 'populate' | 'poke' | 'exhaust';

describe('fuzz with racing workers', () => {
  it('random operations race two workers\' gup-fast loops; counts balance and the checker is clean', async () => {
    const m = Machine.createSync({ arch: 'x86_64', ramMiB: 96, tablePoolMiB: 1, threads: 3 });
    const free0 = m.stats().freePages;
    const mm = m.createMm();
    mm.mmap({ start: A, length: 4n * MiB, hugeOrder: 9, populate: true });
    pool = await WorkerPool.start(m, 2);
    const lv = m.desc.levels;
    const base = (m as unknown as { poolBase: number }).poolBase;
    const dv = new DataView(m.memory.buffer);
    const steps = fc.array(fc.record({
      step: fc.constantFrom<Step>('zap', 'munmap', 'fault', 'populate', 'poke', 'exhaust'),
      at: fc.nat(1023), len: fc.integer({ min: 1, max: 1024 }), write: fc.boolean(),
    }), { minLength: 4, maxLength: 12 });
    const loops = fc.record({ pin: fc.boolean(), write: fc.boolean(), nr: fc.integer({ min: 1, max: 1024 }), sweep: fc.boolean() });
    let rounds = 0, errors = 0;
    await fc.assert(fc.asyncProperty(steps, loops, loops, async (plan, l0, l1) => {
      const mk = (l: typeof l0) => ({
        mm, start: A, nr: l.nr, pin: l.pin, write: l.write, rounds: 3000, ...(l.sweep ? { span: 1024 } : {}),
      });
      const hogs: Mm[] = [];
      const { results } = await pool!.run([mk(l0), mk(l1)], () => {
        for (const s of plan) {
          const va = A + (BigInt(s.at) << 12n), len = BigInt(s.len) << 12n;
          try {
            if (s.step === 'zap') mm.zap(va & ~0x1fffffn, 2n * MiB);
            else if (s.step === 'munmap') { mm.munmap(va & ~0x1fffffn, 2n * MiB); mm.mmap({ start: va & ~0x1fffffn, length: 2n * MiB, hugeOrder: 9 }); }
            else if (s.step === 'fault') mm.fault(va, { write: s.write });
            else if (s.step === 'populate') mm.populate(va, len > 4n * MiB - (va - A) ? 4n * MiB - (va - A) : len, { write: s.write });
            else if (s.step === 'exhaust') {
              // another address space takes table after table until the pool is dry
              const h = m.createMm();
              hogs.push(h);
              h.mmap({ start: 1n << 39n, length: 1n << 38n });
              for (let i = 0n; i < 512n; i++) h.fault((1n << 39n) + (i << 30n), { write: s.write });
            } else {
              // a crafted link in the pmd level, seen by the workers' lockless walks, then put back
              const root = mm.rootPa;
              const rd = (pa: bigint) => dv.getBigUint64(base + Number(pa), true);
              const idx = (l: number) => (va >> BigInt(lv[l].shift)) & 511n;
              const pudp = decodeTablePa(lv[0], rd(root + idx(0) * 8n)) + idx(1) * 8n;
              const pmdt = decodeTablePa(lv[1], rd(pudp));
              const at = decodeTablePa(lv[2], rd(pmdt + idx(2) * 8n)) !== undefined ? pmdt + idx(2) * 8n : undefined;
              if (at !== undefined && at < BigInt(m.poolBytes)) {
                const orig = rd(at);
                const crafted = encodeTableEntry(lv[2], BigInt(m.poolBytes) + 0x1000n);
                if (decodeEntry(lv[2], crafted).table) {
                  dv.setBigUint64(base + Number(at), crafted, true);
                  try { mm.fault(va, { write: true }); } catch (e) { expect((e as PgtemuError).code).toBe('EBADTABLE'); }
                  dv.setBigUint64(base + Number(at), orig, true);
                }
              }
            }
          } catch (e) {
            if (!(e instanceof PgtemuError)) throw e;
            expect(e.code).not.toBe('ETRAP');
            errors++;
          }
        }
      });
      for (const r of results) {
        expect(r.error).toBeUndefined();
        expect(r.status, `a worker's loop ended with status ${r.status} (${JSON.stringify({ l0, l1, plan })})`).toBe(0);
        rounds += r.rounds;
      }
      for (const h of hogs) h.destroy();
      expect(m.stats().gupOutstanding).toBe(0n);
      expect(m.stats().pinOutstanding).toBe(0n);
      expect(m.checkInvariants().map((v) => v.message)).toEqual([]);
    }), { seed: 4242, numRuns: LONG > 0 ? LONG : 6, endOnFailure: true });
    expect(rounds).toBeGreaterThan(0);
    expect(errors).toBeGreaterThan(0);                   // the plan did run into refusals (ENOTABLE, EBADTABLE, ...)
    mm.munmap(A, 4n * MiB);
    expect(m.checkInvariants()).toEqual([]);
    // everything is free again but the huge zero folio, which the machine keeps once a THP read fault made it
    const hugeZero = m.stats().hugeZeroPfn ? 512n : 0n;
    expect(m.stats().freePages).toBe(free0 - hugeZero);
  }, LONG > 0 ? 3_600_000 : 60_000);
});
