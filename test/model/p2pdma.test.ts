// P2PDMA memory mapped to user space (p2pmem_alloc_mmap, drivers/pci/p2pdma.c
// v6.12) in every kernel preset with ZONE_DEVICE, on every arch variant:
// pages from the provider's pool, each holding a pgmap reference, inserted by
// vm_insert_page; gup refuses them unless the caller says FOLL_PCI_P2PDMA, and
// never long-term; the unmap frees them (p2pdma_page_free).
import { describe, expect, it } from 'vitest';
import { Machine, KERNELS } from '../../src/index.js';
import { VM_MIXEDMAP } from '../../src/host/consts.gen.js';
import { VARIANTS } from '../helpers/machines.js';

const LEGACY = new Set(['v6.0', 'v6.1', 'v6.12']);
const VA = 0x4000_0000n;

describe.each(VARIANTS)('$arch $variant', ({ arch, variant }) => {
  for (const kernel of Object.keys(KERNELS)) {
    const probe = Machine.createSync({ arch, variant, kernel, ramMiB: 16, tablePoolMiB: 2 });
    if (!probe.era.zoneDevice) continue;
    const legacy = LEGACY.has(kernel);
    it(`${kernel}: p2pmem mapped by vm_insert_page holds 1 a page (${legacy ? 'idle at 1, +1 -1' : 'idle at 0, set to 1 by the allocator, +1 -1'}), a mapcount, MM_FILEPAGES and a pgmap reference; gup: -EREMOTEIO without FOLL_PCI_P2PDMA, pinned with it (by the slow path: the page has no mapping), EINVAL with FOLL_LONGTERM; munmap frees them (page_free)`, () => {
      const m = Machine.createSync({ arch, variant, kernel, ramMiB: 16, tablePoolMiB: 2, deviceMemmapMiB: 48 });
      const sec = 1n << BigInt(m.desc.sectionSizeBits);
      const ps = BigInt(m.desc.pageShift);
      const pg = m.memremapPages({ type: 'p2pdma', start: 1n << 40n, size: sec });
      const ref0 = pg.count();
      const mm = m.createMm();
      const n = 4n;
      mm.mmap({ start: VA, length: n << ps, kind: 'p2pdma', pgmap: pg, offset: 2n << ps });
      const w = m.walk(mm, VA);
      expect(w.pfn).toBe(pg.startPfn + 2n);
      expect(w.flags?.special).toBe(false);
      expect(mm.vmas()[0].flags & VM_MIXEDMAP).toBe(VM_MIXEDMAP);          // vm_insert_page sets it
      const p = m.page(pg.startPfn + 2n);
      expect(p.refcount).toBe(1);
      expect(p.pageMapcount).toBe(1);
      expect(mm.counters().rssFile).toBe(n);
      expect(pg.count()).toBe(ref0 + n);
      expect(m.checkInvariants()).toEqual([]);
      const no = mm.gupFast(VA, 1, { pin: true });
      expect(no.nr).toBe(0);
      expect(no.errno).toBe('EREMOTEIO');
      const yes = mm.gupFast(VA, Number(n), { pin: true, pciP2pdma: true });
      expect(yes.nr).toBe(Number(n));
      // gup_fast_folio_allowed: an order-0 folio with no mapping (vm_insert_page sets none) goes to the slow path
      expect(yes.fast).toBe(0);
      expect(m.page(pg.startPfn + 2n).refcount).toBe(1 + 1024);
      expect(() => mm.gupFast(VA, 1, { pin: true, pciP2pdma: true, longterm: true })).not.toThrow();
      expect(mm.gupFast(VA, 1, { pin: true, pciP2pdma: true, longterm: true }).errno).toBe('EINVAL');
      m.unpin(yes);
      mm.munmap(VA, n << ps);
      expect(m.page(pg.startPfn + 2n).refcount).toBe(legacy ? 1 : 0);      // free_zone_device_folio: legacy folio_set_count(1)
      expect(pg.stats().pageFree).toBe(n);
      expect(pg.count()).toBe(ref0);
      expect(mm.counters().rssFile).toBe(0n);
      expect(m.checkInvariants()).toEqual([]);
    });
  }
});
