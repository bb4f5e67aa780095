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

  // 6.1.y's vmemmap_can_optimize asks ARCH_WANT_HUGETLB_PAGE_OPTIMIZE_VMEMMAP,
  // which only x86_64 selects; v6.12's ARCH_WANT_OPTIMIZE_DAX_VMEMMAP adds ppc64
  // radix and riscv (riscv has no ZONE_DEVICE under v6.1: no devmap bit then)
  it.each([
    ['x86_64', '4level', 9, true, true],
    ['ppc64', 'radix-64k', 14, false, true],
    ['riscv', 'sv48', 9, false, true],
    ['arm64', '4k-48', 9, false, false],
  ] as const)('%s %s, order %i folios: vmemmap-optimised under v6.1 %s, under v6.12 %s', async (arch, variant, order, v61, v612) => {
    for (const [kernel, want] of [['v6.1', v61], ['v6.12', v612]] as const) {
      const m = Machine.createSync({ arch, variant, kernel, ramMiB: 64, tablePoolMiB: 4, deviceMemmapMiB: 64 });
      expect(m.desc.kconfig.daxVmemmapOpt, kernel).toBe(want);
      if (!m.era.zoneDevice) continue;
      const section = 1n << BigInt(m.desc.sectionSizeBits);
      const folio = 1n << BigInt(m.desc.pageShift + order);
      const size = folio > section ? folio : section;
      const pg = m.memremapPages({ type: 'devdax', start: TiB, size, folioOrder: order });
      expect(pg.vmemmapOptimized, kernel).toBe(want);
      // optimised: a tail past the second vmemmap page shares its struct page with
      // the same slot of the next vmemmap page; otherwise every pfn has its own
      const per = BigInt((1 << m.desc.pageShift) / m.layout.size.Page);   // struct pages per vmemmap page
      const ptr = (i: bigint) => m.calls.call('pagePtr', { pfn: pg.startPfn + i }).page;
      expect(ptr(3n * per + 5n) === ptr(4n * per + 5n), kernel).toBe(want);
      expect(m.checkInvariants()).toEqual([]);
      await pg.unmap();
      expect(m.checkInvariants()).toEqual([]);
    }
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
