// A failed mmap({ populate: true }) removes the new mapping again, and with
// it only the tables no neighbouring VMA can use (free_pgtables' floor and
// ceiling) and the empty tables the populate built: the machine is as it was.
import { describe, expect, it } from 'vitest';
import type { Machine, Mm } from '../../src/index.js';
import { MiB, expectError, setup, snapshot } from '../helpers/snapshot.js';

const B = 1n << 32n;      // a fresh 1 GiB region: its tables are all the test's own

function around(m: Machine, mm: Mm, at: bigint[]) {
  return { ...snapshot(m, mm), near: at.map((a) => m.walk(mm, a)), tables: mm.counters().pgtablesBytes, pool: m.stats().poolFreeBytes };
}

describe('a failed MAP_POPULATE', () => {
  it('keeps the empty pte table a neighbouring live VMA spans', () => {
    const { m, mm } = setup({ ramMiB: 32, tablePoolMiB: 4 });
    mm.mmap({ start: B, length: 4096n, populate: true });
    mm.zap(B, 4096n);                                  // the neighbour's pte table stays, empty
    expect(m.walk(mm, B)).toMatchObject({ level: 3, status: 'none' });
    const before = around(m, mm, [B, B + 4096n, B + 2n * MiB]);
    expectError(() => mm.mmap({ start: B + 4096n, length: 64n * MiB - 4096n, populate: true }), 'ENOMEM',
      /mmap: populating \[0x100001000, 0x104000000\) failed, so the mapping was removed again \(none of it stays populated\): the fault at 0x[0-9a-f]+, after 0x[0-9a-f]+ bytes of \[0x100001000, 0x104000000\): simulated RAM exhausted/);
    expect(around(m, mm, [B, B + 4096n, B + 2n * MiB])).toEqual(before);
    expect(m.walk(mm, B)).toMatchObject({ level: 3, status: 'none' });   // still there: a fault needs no new table
    mm.fault(B, { write: true });
    expect(m.stats().poolFreeBytes).toBe(before.pool);
  });

  it('keeps a neighbour that shares its pte table, and the neighbour\'s page', () => {
    const { m, mm } = setup({ ramMiB: 32, tablePoolMiB: 4 });
    mm.mmap({ start: B, length: 4096n, populate: true });
    const w = m.walk(mm, B);
    const page = m.page(w.pfn!);
    const before = around(m, mm, [B, B + 4096n, B + 2n * MiB]);
    expectError(() => mm.mmap({ start: B + 4096n, length: 64n * MiB - 4096n, populate: true }), 'ENOMEM', /removed again/);
    expect(around(m, mm, [B, B + 4096n, B + 2n * MiB])).toEqual(before);
    expect(m.page(w.pfn!)).toEqual(page);
    expect(m.checkInvariants()).toEqual([]);
  });

  it('munmap frees no table a neighbour still spans, and every table once nothing does', () => {
    const { m, mm } = setup({ ramMiB: 32, tablePoolMiB: 4 });
    mm.mmap({ start: B, length: 4096n });                                    // a neighbour never faulted
    mm.mmap({ start: B + 4096n, length: 4096n, populate: true });
    const pool = m.stats().poolFreeBytes;
    mm.munmap(B + 4096n, 4096n);
    expect(m.stats().poolFreeBytes).toBe(pool);                            // its pte and pmd tables span B
    expect(m.walk(mm, B)).toMatchObject({ level: 3, status: 'none' });
    mm.munmap(B, 4096n);
    expect(m.stats().poolFreeBytes - pool).toBe(2 * 4096);                 // now nothing spans them (the pud table holds setup's mappings too)
    expect(m.checkInvariants()).toEqual([]);
  });
});
