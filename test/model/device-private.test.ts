// Device-private and device-coherent pages in address spaces, every kernel
// preset with ZONE_DEVICE, on every arch variant: an anon page moved to the
// device (migrate_vma) and back (ops->migrate_to_ram, the gup slow path),
// zapped, and a pgmap torn down under it. Expected values come from the
// kernel's rules (mm/migrate_device.c, mm/memory.c, mm/memremap.c, v6.12;
// v6.0's from the v6.1 commits that changed them).
import { describe, expect, it } from 'vitest';
import { Machine, KERNELS } from '../../src/index.js';
import { VARIANTS } from '../helpers/machines.js';

const VA = 0x4000_0000n;

function setup(arch: string, variant: string, kernel: string, type: 'device-private' | 'device-coherent') {
  const m = Machine.createSync({ arch, variant, kernel, ramMiB: 16, tablePoolMiB: 2, deviceMemmapMiB: 48 });
  const sec = 1n << BigInt(m.desc.sectionSizeBits);
  const pg = m.memremapPages({ type, start: 1n << 40n, size: sec });
  const mm = m.createMm();
  mm.mmap({ start: VA, length: 1n << BigInt(m.desc.pageShift + 4) });
  mm.fault(VA, { write: true });
  return { m, pg, mm };
}

describe.each(VARIANTS)('$arch $variant', ({ arch, variant }) => {
  for (const kernel of Object.keys(KERNELS)) {
    const probe = Machine.createSync({ arch, variant, kernel, ramMiB: 16, tablePoolMiB: 2 });
    if (!probe.era.zoneDevice) continue;
    const v60 = kernel === 'v6.0';
    const idle = v60 ? 1 : 0;

    it(`${kernel}: migrate_vma to a device-private page: a non-present SWP_DEVICE_WRITE entry holding one reference, a mapcount and MM_ANONPAGES${v60 ? ' (v6.0: no pgmap reference per page)' : ' and a pgmap reference'}; gup-fast takes nothing, the slow path moves it back (migrate_to_ram, page_free)`, () => {
      const { m, pg, mm } = setup(arch, variant, kernel, 'device-private');
      const ref0 = pg.count();
      const src = m.walk(mm, VA).pfn!;
      mm.migrateToDevice(VA, { pgmap: pg, pfn: pg.startPfn });
      const w = m.walk(mm, VA);
      expect(w.status).toBe('not-present');
      const swap = m.decode(w.entry!, 'pte').swap!;
      expect(swap.typeName).toBe('SWP_DEVICE_WRITE');
      expect(swap.devicePrivate).toEqual({ pfn: pg.startPfn, writable: true });
      const d = m.page(pg.startPfn);
      expect(d.refcount).toBe(idle + 1);
      expect(d.pageMapcount).toBe(1);
      expect(mm.counters().rssAnon).toBe(1n);
      expect(m.page(src).buddy).toBe(true);                    // the source page was freed
      expect(pg.count()).toBe(ref0 + (v60 ? 0n : 1n));
      expect(m.checkInvariants()).toEqual([]);
      const r = mm.gupFast(VA, 1, { pin: true });
      expect(r.nr).toBe(1);
      expect(r.fast).toBe(0);
      expect(r.pfns[0] < pg.startPfn).toBe(true);             // a RAM page now
      expect(m.page(pg.startPfn).refcount).toBe(idle);
      expect(pg.stats().pageFree).toBe(1n);
      expect(pg.count()).toBe(ref0);
      m.unpin(r);
      expect(m.checkInvariants()).toEqual([]);
    });

    it(`${kernel}: a device-private entry zapped puts its page at once (zap_nonpresent_ptes): freed, the rmap and MM_ANONPAGES gone`, () => {
      const { m, pg, mm } = setup(arch, variant, kernel, 'device-private');
      const ref0 = pg.count();
      mm.migrateToDevice(VA, { pgmap: pg, pfn: pg.startPfn });
      mm.zap(VA, 1n << BigInt(m.desc.pageShift));
      expect(m.page(pg.startPfn).refcount).toBe(idle);
      expect(m.page(pg.startPfn).pageMapcount).toBe(0);
      expect(mm.counters().rssAnon).toBe(0n);
      expect(pg.stats().pageFree).toBe(1n);
      expect(pg.count()).toBe(ref0);
      expect(m.checkInvariants()).toEqual([]);
    });

    it(`${kernel}: memunmap_pages while a device-private page is mapped ${v60 ? 'destroys the pgmap under it (no per-page reference: invariant 2)' : 'waits for it (its pgmap reference) until the zap frees it'}`, async () => {
      const { m, pg, mm } = setup(arch, variant, kernel, 'device-private');
      mm.migrateToDevice(VA, { pgmap: pg, pfn: pg.startPfn });
      pg.kill();
      if (v60) {
        expect(pg.settle()).toEqual({ inUse: 1n, firstInUsePfn: pg.startPfn });
        expect(m.checkInvariants().map((v) => v.name)).toContain('pgmap-destroyed-in-use');
        return;
      }
      expect(pg.settle()).toBeUndefined();
      expect(pg.state()).toBe('dying');
      mm.zap(VA, 1n << BigInt(m.desc.pageShift));
      expect(pg.settle()).toEqual({ inUse: 0n });
      expect(pg.state()).toBe('destroyed');
      expect(m.checkInvariants()).toEqual([]);
    });

    it(`${kernel}: a device-coherent page is mapped by a normal pte; gup-fast pins it, but a FOLL_LONGTERM pin migrates it to RAM first (check_and_migrate_movable_folios)`, () => {
      const { m, pg, mm } = setup(arch, variant, kernel, 'device-coherent');
      mm.migrateToDevice(VA, { pgmap: pg, pfn: pg.startPfn });
      const w = m.walk(mm, VA);
      expect(w.status).toBe('ok');
      expect(w.pfn).toBe(pg.startPfn);
      const short = mm.gupFast(VA, 1, { pin: true });
      expect(short.nr).toBe(1);
      expect(short.pfns[0]).toBe(pg.startPfn);
      expect(() => mm.migrateToDevice(VA + (1n << BigInt(m.desc.pageShift)), { pgmap: pg, pfn: pg.startPfn })).toThrow(expect.objectContaining({ code: 'EFAULT' }));
      m.unpin(short);
      const long = mm.gupFast(VA, 1, { pin: true, longterm: true });
      expect(long.nr).toBe(1);
      expect(long.fast).toBe(0);
      expect(long.pfns[0] < pg.startPfn).toBe(true);
      expect(m.page(pg.startPfn).refcount).toBe(idle);
      m.unpin(long);
      mm.destroy();
      expect(m.checkInvariants()).toEqual([]);
    });
  }
});
