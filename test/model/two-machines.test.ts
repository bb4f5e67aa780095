// Two machines in one process are independent: separate memories, layouts,
// allocators and counters, even of different architectures.
import { expect, it } from 'vitest';
import { Machine } from '../../src/index.js';

it('two machines do not see each other', () => {
  const a = Machine.createSync({ arch: 'x86_64', ramMiB: 64, tablePoolMiB: 4 });
  const b = Machine.createSync({ arch: 'x86_64', variant: 'la57', kernel: 'v6.17', ramMiB: 32, tablePoolMiB: 2 });
  expect(a.memory).not.toBe(b.memory);
  const freeB = b.stats().freePages;
  const ma = a.createMm();
  ma.mmap({ start: 0x1000_0000n, length: 1n << 21n, populate: true });
  const pins = ma.gupFast(0x1000_0000n, 512, { pin: true });
  expect(b.stats().freePages).toBe(freeB);
  expect(b.stats().gupOutstanding).toBe(0n);
  const mb = b.createMm();
  mb.mmap({ start: 0x1000_0000n, length: 1n << 21n, populate: true });
  // same address, same pfn numbering scheme, different machines: each walk sees its own tables
  expect(a.walk(ma, 0x1000_0000n).pfn).toBe(pins.pfns[0]);
  expect(b.walk(mb, 0x1000_0000n).levelName).toBe('pte');
  expect(b.desc.levels.length).toBe(5);
  expect(a.page(pins.pfns[0]).refcount).toBe(1025);
  const bPfn = b.walk(mb, 0x1000_0000n).pfn!;
  expect(b.page(bPfn).refcount).toBe(1);                   // b's page: mapped once, never pinned
  const aStats = a.stats();
  mb.mmap({ start: 0x2000_0000n, length: 1n << 21n, populate: true });
  expect(a.stats()).toEqual(aStats);                        // b's mapping changes nothing in a
  expect(b.page(pins.pfns[0]).refcount).toBeLessThan(2);   // b's own page at that pfn: never pinned
  a.unpin(pins);
  expect(a.checkInvariants()).toEqual([]);
  expect(b.checkInvariants()).toEqual([]);
});
