// ZONE_DEVICE: dev_pagemaps under every kernel preset, on every arch variant
// where the preset has ZONE_DEVICE (the others refuse, with the Kconfig
// reason). Each title states the kernel behaviour it checks.
import { describe, expect, it } from 'vitest';
import { Machine, KERNELS, PgtemuError, encodeLeafEntry, type Pgmap, type PgmapType } from '../../src/index.js';
import { VARIANTS } from '../helpers/machines.js';

const KERNEL_NAMES = Object.keys(KERNELS);
const TYPES: PgmapType[] = ['fsdax', 'devdax', 'device-private', 'device-coherent', 'p2pdma'];

function machine(arch: string, variant: string, kernel: string, extra: Record<string, unknown> = {}): Machine {
  return Machine.createSync({ arch, variant, kernel, ramMiB: 16, tablePoolMiB: 2, deviceMemmapMiB: 48, ...extra });
}

/** A section-aligned device range far above RAM, one section (or one pmd folio) long. */
function range(m: Machine, i = 0): { start: bigint; size: bigint; pmdOrder: number } {
  const sec = 1n << BigInt(m.desc.sectionSizeBits);
  const pmdOrder = Math.min(...m.leafOrders.filter((o) => o > 0));
  const pmd = 1n << BigInt(m.desc.pageShift + pmdOrder);
  const size = sec > pmd ? sec : pmd;
  return { start: (1n << 36n) + BigInt(i) * size, size, pmdOrder };
}

/** The refcount of a free device page, per release (v6.12 mm/mm_init.c __init_zone_device_page and its history). */
function idleRefcount(kernel: string, type: PgmapType): number {
  if (kernel === 'v6.0') return 1;                                    // before ef233450898f every type starts at 1
  if (kernel === 'v6.15' || kernel === 'v6.17') return type === 'devdax' ? 1 : 0;   // unified: only MEMORY_DEVICE_GENERIC at 1
  return type === 'device-private' || type === 'device-coherent' ? 0 : 1;
}

/** memremap_pages' percpu_ref_get_many(pfn_len): all types in v6.0, all but private/coherent from v6.1. */
function setupRefs(kernel: string, type: PgmapType, folios: bigint): bigint {
  return kernel === 'v6.0' || (type !== 'device-private' && type !== 'device-coherent') ? folios : 0n;
}

const names = (m: Machine) => m.checkInvariants().map((v) => v.name);
const at = (m: Machine, i = 0) => { const { start, size } = range(m, i); return { start, size }; };

describe.each(VARIANTS)('$arch $variant', ({ arch, variant }) => {
  for (const kernel of KERNEL_NAMES) {
    const probe = machine(arch, variant, kernel);
    if (!probe.era.zoneDevice) {
      it(`${kernel}: memremap_pages is refused, as mm/Kconfig makes ZONE_DEVICE depend on ARCH_HAS_PTE_DEVMAP and this arch has no devmap bit then`, () => {
        for (const type of TYPES) {
          const { start, size } = range(probe);
          let err: unknown;
          try { probe.memremapPages({ type, start, size }); } catch (e) { err = e; }
          expect(err).toBeInstanceOf(PgtemuError);
          expect((err as PgtemuError).message).toMatch(/ZONE_DEVICE depends on ARCH_HAS_PTE_DEVMAP \(mm\/Kconfig, until v6\.16\)/);
        }
        expect(names(probe)).toEqual([]);
      });
      continue;
    }

    it(`${kernel}: memremap_pages gives PG_reserved pages at the era's idle refcount (v6.0 all 1; v6.1-v6.14 private/coherent 0, others 1; v6.15 on all but devdax 0) and takes pfn_len setup references where the era does`, async () => {
      const m = probe;
      const ps = BigInt(m.desc.pageShift);
      const pgmaps: Pgmap[] = [];
      TYPES.forEach((type, i) => {
        if (type === 'fsdax' && m.era.fsDaxLimited) return;
        const { start, size } = range(m, i);
        const pg = m.memremapPages({ type, start, size });
        pgmaps.push(pg);
        expect(pg.startPfn).toBe(start >> ps);
        expect(pg.endPfn).toBe((start + size) >> ps);
        for (const pfn of [pg.startPfn, pg.endPfn - 1n]) {
          const p = m.page(pfn);
          expect(p.reserved, `${type} pfn ${pfn}`).toBe(true);
          expect(p.refcount, `${type} refcount`).toBe(idleRefcount(kernel, type));
          expect(p.mapcount).toBe(-1);
          expect(p.tail).toBe(false);
        }
        const st = pg.stats();
        expect(st).toMatchObject({ state: 'live', dead: false, pageFree: 0n, driverPages: 0n });
        expect(st.ref).toBe(1n + setupRefs(kernel, type, size >> ps));
      });
      expect(names(m)).toEqual([]);
      for (const pg of pgmaps) {
        expect(await pg.unmap()).toEqual({ inUse: 0n });
        expect(pg.state()).toBe('destroyed');
        expect(() => m.page(pg.startPfn)).toThrow(/has no struct page/);
      }
      expect(names(m)).toEqual([]);
    });

    it(`${kernel}: a compound device-DAX pgmap (vmemmap_shift = pmd order) builds folios: tails point at their head at refcount 0, the head holds the idle count`, async () => {
      const m = machine(arch, variant, kernel);
      const { start, size, pmdOrder } = range(m);
      const pg = m.memremapPages({ type: 'devdax', start, size, folioOrder: pmdOrder });
      const nr = 1n << BigInt(pmdOrder);
      for (const head of [pg.startPfn, pg.endPfn - nr]) {
        const h = m.page(head);
        expect(h.order).toBe(pmdOrder);
        expect(h.refcount).toBe(idleRefcount(kernel, 'devdax'));
        const t = m.page(head + nr - 1n);
        expect(t).toMatchObject({ tail: true, head, refcount: 0, reserved: true });
      }
      expect(pg.stats().ref).toBe(1n + setupRefs(kernel, 'devdax', size >> BigInt(m.desc.pageShift + pmdOrder)));
      expect(names(m)).toEqual([]);
      await pg.unmap();
      expect(names(m)).toEqual([]);
    });

    it(`${kernel}: the pgmap's percpu_ref: after percpu_ref_kill tryget_live fails and tryget still succeeds; memunmap_pages waits until the last put`, async () => {
      const m = machine(arch, variant, kernel);
      const { start, size } = range(m);
      const pg = m.memremapPages({ type: 'devdax', start, size });
      const base = pg.count();
      expect(pg.trygetLive()).toBe(true);
      pg.get(2);
      expect(pg.count()).toBe(base + 3n);
      pg.put(2);
      const done = pg.unmap();                                        // kill + put the setup references; one ref left
      expect(pg.state()).toBe('dying');
      expect(pg.stats()).toMatchObject({ dead: true, ref: 1n, bulkRefs: 0n });
      expect(pg.trygetLive()).toBe(false);
      expect(pg.tryget()).toBe(true);
      await new Promise((r) => setTimeout(r, 5));
      expect(pg.state()).toBe('dying');
      pg.put(2);
      expect(await done).toEqual({ inUse: 0n });
      expect(pg.state()).toBe('destroyed');
      expect(names(m)).toEqual([]);
    });

    const perPageRefs = kernel !== 'v6.0';
    it(perPageRefs
      ? `${kernel}: an allocated device-private page holds a pgmap reference (zone_device_page_init), so memunmap_pages waits for its free; page_free then put_dev_pagemap`
      : `${kernel}: a device-private page holds no pgmap reference, so memunmap_pages finishes while it is in use: the checker reports invariant 2`, async () => {
      const m = machine(arch, variant, kernel);
      const { start, size } = range(m);
      const pg = m.memremapPages({ type: 'device-private', start, size });
      const pfn = pg.startPfn + 3n;
      expect(pg.pageInit(pfn)).toBe(perPageRefs ? 1 : 2);
      expect(m.page(pfn).flagNames).toContain('PG_reserved');
      expect(pg.stats().driverPages).toBe(1n);
      expect(names(m)).toEqual([]);
      if (perPageRefs) {
        expect(pg.count()).toBe(2n);                                  // the live reference and the page's
        const done = pg.unmap();
        expect(pg.state()).toBe('dying');
        expect(names(m)).toEqual([]);                                 // waiting is what a correct kernel does
        expect(pg.pagePut(pfn)).toBe(true);                           // 1 -> 0: free_zone_device_folio
        expect(pg.stats().pageFree).toBe(1n);
        expect(await done).toEqual({ inUse: 0n });
        expect(names(m)).toEqual([]);
      } else {
        expect(pg.count()).toBe(1n + (size >> BigInt(m.desc.pageShift)));
        const r = await pg.unmap();
        expect(r).toEqual({ inUse: 1n, firstInUsePfn: pfn });
        const v = m.checkInvariants();
        expect(v.map((x) => [x.name, x.invariant, x.pfn])).toEqual([['pgmap-destroyed-in-use', 21, pfn]]);
        expect(v[0].message).toMatch(/^invariant 2 \(pgmap-destroyed-in-use\)/);
        expect(() => pg.pagePut(pfn)).toThrow(/was unmapped/);
      }
    });

    it(`${kernel}: a device page that gains a reference after its pgmap is killed, and not one that holds the pgmap, is reported (invariant 2)`, async () => {
      const m = machine(arch, variant, kernel);
      const { start, size } = range(m);
      const pg = m.memremapPages({ type: 'devdax', start, size });
      pg.get();
      const done = pg.unmap();
      const pfn = pg.startPfn + 1n;
      const idle = idleRefcount(kernel, 'devdax');
      m.inject(pfn, 'refcount', idle + 1);
      const v = m.checkInvariants();
      expect(v.find((x) => x.name === 'dev-ref-dead-pgmap')).toMatchObject({ invariant: 22, pfn, expected: BigInt(idle), actual: BigInt(idle + 1) });
      expect(v.find((x) => x.name === 'dev-ref-dead-pgmap')!.message).toMatch(/^invariant 2 \(dev-ref-dead-pgmap\)/);
      m.inject(pfn, 'refcount', idle);
      // what is left is the test's own get: a pgmap reference no page or setup accounts for
      expect(m.checkInvariants().map((x) => [x.name, x.expected, x.actual])).toEqual([['pgmap-ref', 0n, 1n]]);
      pg.put();
      expect(names(m)).toEqual([]);
      await done;
    });
  }
});

describe('a destroyed pgmap (x86_64, every preset)', () => {
  it.each(KERNEL_NAMES)('%s: its struct pages are out of reach and poisoned: a stray write into them and a page-table entry still mapping its pfns are reported (invariant 1)', async (kernel) => {
    const m = machine('x86_64', '4level', kernel);
    const { start, size } = range(m);
    const pg = m.memremapPages({ type: 'fsdax', start, size });
    const ptr = m.calls.call('pagePtr', { pfn: pg.startPfn + 7n }).page;
    expect(ptr).toBeGreaterThan(0);
    // a leaf in a live table that maps a device pfn (next to a real anon page)
    const mm = m.createMm();
    const a = 1n << 32n;
    mm.mmap({ start: a, length: 2n << 12n });
    mm.fault(a, { write: true });
    expect(names(m)).toEqual([]);
    await pg.unmap();
    expect(names(m)).toEqual([]);
    const w = m.walk(mm, a);
    const pte = m.desc.levels[m.desc.levels.length - 1];
    const dev = encodeLeafEntry(pte, (pg.startPfn + 9n) << 12n, pte.templates.devmapRw);
    new DataView(m.memory.buffer).setBigUint64((m as unknown as { poolBase: number }).poolBase + Number(w.entryPa) + 8, dev, true);
    expect(names(m)).toEqual(['pgmap-stale-map']);
    new DataView(m.memory.buffer).setInt32(ptr + 52, 1, true);      // _refcount of a removed struct page
    const v = m.checkInvariants();
    expect(v.map((x) => [x.name, x.pfn])).toEqual([['pgmap-stale-map', pg.startPfn + 9n], ['pgmap-poison-touched', pg.startPfn + 7n]]);
    expect(v[1].message).toMatch(/^invariant 1 \(pgmap-poison-touched\)/);
  });
});

describe('era switches', () => {
  it('v6.17 drops the Kconfig dependency: s390, which never had a devmap bit, gets ZONE_DEVICE', async () => {
    const m = machine('s390', '4level', 'v6.17');
    expect(m.era).toMatchObject({ devmapCode: false, zoneDevice: true, fsDaxLimited: false });
    const pg = m.memremapPages({ type: 'fsdax', ...at(m) });
    expect(m.page(pg.startPfn).refcount).toBe(0);
    await pg.unmap();
  });

  it("the 2021 what-if ('devmap-less-zone-device') keeps ZONE_DEVICE on arches without a devmap bit, with legacy refcounts and no FS_DAX_LIMITED", async () => {
    const m = machine('s390', '4level', 'v6.12', { whatIf: 'devmap-less-zone-device' });
    expect(m.era).toMatchObject({ whatIf: 'devmap-less-zone-device', zoneDevice: true, fsDaxLimited: false, devmapCode: true });
    const pg = m.memremapPages({ type: 'fsdax', ...at(m) });
    expect(m.page(pg.startPfn).refcount).toBe(1);
    expect(names(m)).toEqual([]);
    await pg.unmap();
  });

  it('the what-if on x86_64 without its devmap bit: a 2 MiB device-DAX fault maps a pmd_special leaf on v6.12 (ARCH_SUPPORTS_PMD_PFNMAP) and SIGBUSes on v6.1, which has no pmd_mkspecial', async () => {
    for (const kernel of ['v6.1', 'v6.12']) {
      const m = machine('x86_64', '4level', kernel, { devmap: false, whatIf: 'devmap-less-zone-device' });
      expect(m.desc.kconfig.hugePfnmap, kernel).toBe(kernel === 'v6.12');
      const { start } = at(m);
      const pg = m.memremapPages({ type: 'devdax', start, size: 1n << BigInt(m.desc.sectionSizeBits), folioOrder: 9 });
      const mm = m.createMm();
      mm.mmap({ start, length: 2n << 20n, kind: 'devdax', pgmap: pg });
      if (kernel === 'v6.1') {
        // the PMD fault cannot mark the leaf, and __dev_dax_pte_fault refuses an align above PAGE_SIZE
        expect(() => mm.fault(start, { write: true }), kernel).toThrow(expect.objectContaining({ code: 'ESIGBUS' }));
      } else {
        mm.fault(start, { write: true });
        expect(m.walk(mm, start)).toMatchObject({ size: 2n << 20n, flags: { special: true } });
      }
      expect(names(m), kernel).toEqual([]);
      mm.destroy();
      await pg.unmap();
    }
  });

  it('FS_DAX_LIMITED (s390 until v6.14) makes memremap_pages refuse MEMORY_DEVICE_FS_DAX, and only that', async () => {
    const m = machine('s390', '4level', 'v6.17', { fsDaxLimited: true });
    expect(() => m.memremapPages({ type: 'fsdax', ...at(m) })).toThrow(/File system DAX not supported/);
    const pg = m.memremapPages({ type: 'devdax', ...at(m) });
    await pg.unmap();
  });

  it('each switch can be set on its own: pgmapPageRefs false on v6.12 behaves as v6.0 for device-private pages', async () => {
    const m = machine('x86_64', '4level', 'v6.12', { pgmapPageRefs: false });
    expect(m.era.pgmapPageRefs).toBe(false);
    const pg = m.memremapPages({ type: 'device-private', ...at(m) });
    expect(m.page(pg.startPfn).refcount).toBe(1);
    expect(pg.pageInit(pg.startPfn)).toBe(2);
    expect(await pg.unmap()).toMatchObject({ inUse: 1n });
    expect(names(m)).toEqual(['pgmap-destroyed-in-use']);
  });

  it('the presets set the switches by release', () => {
    const era = (kernel: string, arch = 'x86_64') => {
      const { pgmapPageRefs, devmapCode, daxHugeSpecial, fsDaxLimited, zoneDevice } = machine(arch, undefined as never, kernel).era;
      return { pgmapPageRefs, devmapCode, daxHugeSpecial, fsDaxLimited, zoneDevice };
    };
    expect(era('v6.0')).toEqual({ pgmapPageRefs: false, devmapCode: true, daxHugeSpecial: false, fsDaxLimited: false, zoneDevice: true });
    expect(era('v6.1')).toEqual({ pgmapPageRefs: true, devmapCode: true, daxHugeSpecial: false, fsDaxLimited: false, zoneDevice: true });
    expect(era('v6.12', 's390')).toEqual({ pgmapPageRefs: true, devmapCode: true, daxHugeSpecial: false, fsDaxLimited: true, zoneDevice: false });
    expect(era('v6.15')).toEqual({ pgmapPageRefs: true, devmapCode: true, daxHugeSpecial: true, fsDaxLimited: false, zoneDevice: true });
    expect(era('v6.15', 's390')).toMatchObject({ fsDaxLimited: false, zoneDevice: false });
    expect(era('v6.17')).toEqual({ pgmapPageRefs: true, devmapCode: false, daxHugeSpecial: false, fsDaxLimited: false, zoneDevice: true });
    expect(era('v6.1', 'riscv')).toMatchObject({ zoneDevice: false });   // riscv's devmap bit arrived in v6.11
    expect(era('v6.12', 'riscv')).toMatchObject({ zoneDevice: true });
  });
});
