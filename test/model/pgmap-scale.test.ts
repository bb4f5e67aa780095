// Terabytes of device memory: compound device-DAX folios are vmemmap-optimised
// where the kernel optimises them (vmemmap_can_optimize: ARCH_WANT_OPTIMIZE_DAX_VMEMMAP
// on x86_64, ppc64 radix and riscv; struct pages of a folio spanning more than
// VMEMMAP_RESERVE_NR = 2 vmemmap pages), so their tails share struct pages.
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/index.js';

const TiB = 1n << 40n;

describe('vmemmap-optimised device-DAX', () => {
  it('x86_64: 1 TiB of 2 MiB folios costs well under 1 GiB of shared memory; every pfn finds its folio; the checker and unmap cover it', async () => {
    const m = Machine.createSync({ arch: 'x86_64', kernel: 'v6.12', ramMiB: 16, tablePoolMiB: 2, deviceMemmapMiB: 160 });
    const pg = m.memremapPages({ type: 'devdax', start: TiB, size: TiB, folioOrder: 9 });
    expect(pg.vmemmapOptimized).toBe(true);
    expect(m.stats().memoryBytes).toBeLessThan(256 * 2 ** 20);
    expect(pg.stats().ref).toBe(1n + (TiB >> 21n));                      // percpu_ref_get_many(pfn_len): one per folio
    const s = pg.startPfn;
    const last = pg.endPfn - 512n;
    for (const [pfn, head] of [[s, s], [s + 1n, s], [s + 2n, s], [s + 511n, s], [s + 512n, s + 512n], [s + 700n, s + 512n], [pg.endPfn - 1n, last]]) {
      const p = m.page(pfn);
      expect(p, `pfn +${pfn - s}`).toMatchObject({ head, tail: pfn !== head, reserved: true, refcount: pfn === head ? 1 : 0, order: pfn === head ? 9 : 0 });
    }
    const a = m.pages(s + 510n, 4);                                         // across a folio boundary
    expect(Array.from(a.head, (h) => BigInt(h) - s)).toEqual([0n, 0n, 512n, 512n]);
    expect(Array.from(a.tail)).toEqual([1, 1, 0, 1]);
    expect(m.checkInvariants()).toEqual([]);

    // the kernel maps every vmemmap page past the second to the same page: a
    // write to one tail's struct page is a write to all of them
    const tail = m.calls.call('pagePtr', { pfn: s + 1000n }).page;
    new DataView(m.memory.buffer).setInt32(tail + 52, 5, true);             // _refcount
    expect(m.page(s + 600n).refcount).toBe(5);
    expect(m.page(s + 1023n).refcount).toBe(5);
    expect(m.page(s + 1n).refcount).toBe(0);                                // page[1] is its own
    expect(m.checkInvariants().map((v) => [v.name, v.pfn - s])).toEqual([['folio-tail-ref', 514n]]);
    new DataView(m.memory.buffer).setInt32(tail + 52, 0, true);
    expect(m.checkInvariants()).toEqual([]);

    expect(await pg.unmap()).toEqual({ inUse: 0n });
    expect(() => m.page(s + 700n)).toThrow(/has no struct page/);
    new DataView(m.memory.buffer).setInt32(tail + 52, 0, true);             // a stale pointer's write
    expect(m.checkInvariants().map((v) => [v.name, v.pfn - s])).toEqual([['pgmap-poison-touched', 512n + 2n]]);
  });

  it('ppc64 radix-64k: 2 MiB folios (32 struct pages, under one 64 KiB vmemmap page) are not optimised and 1 TiB of them does not fit; 1 GiB folios are and it does', async () => {
    const m = Machine.createSync({ arch: 'ppc64', variant: 'radix-64k', kernel: 'v6.12', ramMiB: 64, tablePoolMiB: 4, deviceMemmapMiB: 64 });
    expect(() => m.memremapPages({ type: 'devdax', start: TiB, size: TiB, folioOrder: 5 })).toThrow(/need 1152 MiB of struct pages/);
    const pg = m.memremapPages({ type: 'devdax', start: TiB, size: TiB, folioOrder: 14 });
    expect(pg.vmemmapOptimized).toBe(true);
    expect(m.page(pg.startPfn + 12345n)).toMatchObject({ tail: true, head: pg.startPfn, refcount: 0 });
    expect(m.checkInvariants()).toEqual([]);
    await pg.unmap();
    expect(m.checkInvariants()).toEqual([]);
  });

  it('arm64 does not select ARCH_WANT_OPTIMIZE_DAX_VMEMMAP: its compound folios keep every struct page', async () => {
    const m = Machine.createSync({ arch: 'arm64', variant: '4k-48', kernel: 'v6.12', ramMiB: 16, tablePoolMiB: 2, deviceMemmapMiB: 16 });
    expect(() => m.memremapPages({ type: 'devdax', start: TiB, size: TiB, folioOrder: 9 })).toThrow(/need 18432 MiB/);
    const pg = m.memremapPages({ type: 'devdax', start: TiB, size: 128n << 20n, folioOrder: 9 });
    expect(pg.vmemmapOptimized).toBe(false);
    const a = m.calls.call('pagePtr', { pfn: pg.startPfn + 5n }).page;
    const b = m.calls.call('pagePtr', { pfn: pg.startPfn + 6n }).page;
    expect(b - a).toBe(64);
    await pg.unmap();
    expect(m.checkInvariants()).toEqual([]);
  });
});
