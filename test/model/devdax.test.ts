// Device-DAX mappings (drivers/dax/device.c) in every kernel era, on every
// arch variant where the preset has ZONE_DEVICE. Each title states the kernel
// behaviour it checks; expected values are written from the kernel's rules,
// not read back from the core.
import { describe, expect, it } from 'vitest';
import { Machine, KERNELS, type Pgmap, type Mm } from '../../src/index.js';
import { VARIANTS } from '../helpers/machines.js';

const KERNEL_NAMES = Object.keys(KERNELS);
const LEGACY = new Set(['v6.0', 'v6.1', 'v6.12']);
/** ARCH_SUPPORTS_HUGE_PFNMAP (v6.12 arch/x86/Kconfig, arch/arm64/Kconfig): pmd_mkspecial is real */
const HUGE_PFNMAP = ['x86_64', 'arm64', 'riscv'];   // ARCH_SUPPORTS_PMD_PFNMAP at v6.15 (riscv: from v6.15)
/** pte_mkdevmap sets the special bit with the devmap bit (riscv and loongarch set only devmap) */
const DEVMAP_PTE_SPECIAL = ['x86_64', 'arm64', 'ppc64'];
const VA = 0x4000_0000n;

function machine(arch: string, variant: string, kernel: string): Machine {
  return Machine.createSync({ arch, variant, kernel, ramMiB: 16, tablePoolMiB: 4, deviceMemmapMiB: 48 });
}

/** A device-DAX pgmap of at least two folios of `order`, whole sections. */
function devdax(m: Machine, order: number): Pgmap {
  const sec = 1n << BigInt(m.desc.sectionSizeBits);
  const two = 2n << BigInt(m.desc.pageShift + order);
  return m.memremapPages({ type: 'devdax', start: 1n << 36n, size: ((two + sec - 1n) / sec) * sec, folioOrder: order });
}

function setup(m: Machine, order: number): { pg: Pgmap; mm: Mm; folio: bigint; n: number } {
  const pg = devdax(m, order);
  const mm = m.createMm();
  const folio = 1n << BigInt(m.desc.pageShift + order);
  mm.mmap({ start: VA, length: folio, kind: 'devdax', pgmap: pg });
  return { pg, mm, folio, n: Math.min(2 ** order, 512) };
}

describe.each(VARIANTS)('$arch $variant', ({ arch, variant }) => {
  for (const kernel of KERNEL_NAMES) {
    const probe = machine(arch, variant, kernel);
    if (!probe.era.zoneDevice) continue;
    const legacy = LEGACY.has(kernel);
    const pmdOrder = Math.min(...probe.leafOrders.filter((o) => o > 0));
    for (const order of [0, pmdOrder]) {
      const huge = order > 0;
      const what = huge ? 'a PMD-aligned device-DAX folio' : 'a 4 KiB-aligned device-DAX page';
      const insert = legacy ? (huge ? 'vmf_insert_pfn_pmd (pmd_mkdevmap)' : 'vmf_insert_mixed (pte_mkdevmap)')
        : (huge ? 'vmf_insert_folio_pmd' : 'vmf_insert_page_mkwrite');
      const specialHuge = kernel === 'v6.15' && huge && HUGE_PFNMAP.includes(arch);
      it(`${kernel}: ${what} faults in by ${insert}: ${legacy ? 'a devmap entry holding no reference, rmap or rss' : `a ${specialHuge ? 'special' : 'normal'} entry holding one folio reference, a mapcount and MM_FILEPAGES`}`, () => {
        const m = machine(arch, variant, kernel);
        const { pg, mm, folio } = setup(m, order);
        mm.fault(VA, { write: false });
        const w = m.walk(mm, VA);
        expect(w.status).toBe('ok');
        expect(w.size).toBe(folio);
        expect(w.pfn).toBe(pg.startPfn);
        expect(w.flags?.write).toBe(true);                  // a shared writable mapping's vm_page_prot
        if (legacy) {
          expect(w.flags?.devmap).toBe(true);
          // pmd_mkdevmap sets only the devmap bit; pte_mkdevmap the special bit too on x86, arm64 and ppc64
          expect(w.flags?.special).toBe(!huge && DEVMAP_PTE_SPECIAL.includes(arch));
        } else {
          expect(w.flags?.devmap ?? false).toBe(false);
          expect(w.flags?.special).toBe(specialHuge);
        }
        const p = m.page(pg.startPfn);
        expect(p.refcount).toBe(legacy ? 1 : 2);            // device-DAX idles at 1 in both eras
        expect(p.folioMapcount).toBe(legacy ? 0 : 1);
        expect(mm.counters().rssFile).toBe(legacy ? 0n : 1n << BigInt(order));
        expect(p.mapping).not.toBe(0n);                     // dax_set_mapping: on the head only
        if (huge) expect(m.page(pg.startPfn + 2n).mapping).toBe(0n);   // (page[1] holds folio fields)
        expect(m.checkInvariants()).toEqual([]);
      });

      const fastPath = specialHuge ? 'gup-fast bails on the special huge entry and the slow path pins it (follow_huge_pmd)'
        : legacy ? (huge ? 'gup_fast_devmap_leaf grabs each subpage with a cached pgmap reference' : 'gup_fast_pte_range takes the devmap pte with get_dev_pagemap')
          : 'gup-fast pins it on the refcount alone';
      it(`${kernel}: FOLL_PIN of ${what}: ${fastPath}; the pgmap's count is back where it was after the call, and the unpin and munmap leave the idle count`, () => {
        const m = machine(arch, variant, kernel);
        const { pg, mm, folio, n } = setup(m, order);
        mm.fault(VA, { write: true });
        const ref0 = pg.count();
        const r = mm.gupFast(VA, n, { pin: true });
        expect(r.nr).toBe(n);
        expect(r.fast).toBe(specialHuge ? 0 : n);
        expect(pg.count()).toBe(ref0);
        const p = m.page(pg.startPfn);
        const mapped = legacy ? 1 : 2;
        if (huge) {
          expect(p.refcount).toBe(mapped + n);               // a large folio: one reference and one _pincount per page
          expect(p.pincount).toBe(n);
        } else {
          expect(p.refcount).toBe(mapped + 1024);            // GUP_PIN_COUNTING_BIAS
        }
        expect(m.checkInvariants()).toEqual([]);
        m.unpin(r);
        expect(m.page(pg.startPfn).refcount).toBe(mapped);
        mm.munmap(VA, folio);
        const bug = legacy && !huge && !DEVMAP_PTE_SPECIAL.includes(arch) && m.desc.bits.DEVMAP !== undefined;
        if (bug) {
          // vm_normal_page tests pte_devmap only inside its special branch: riscv and
          // loongarch pte_mkdevmap (v6.11 on) set no special bit, so zap takes the devmap
          // pte for a normal page and drops a rmap and a reference the fault never took
          expect(m.page(pg.startPfn).refcount).toBe(0);
          expect(mm.counters().rssFile).toBe(-1n);
          expect(m.checkInvariants().map((v) => v.name).sort()).toEqual(['dev-idle', 'mapcount']);
        } else {
          expect(m.page(pg.startPfn).refcount).toBe(1);
          expect(mm.counters().rssFile).toBe(0n);
          expect(m.checkInvariants()).toEqual([]);
        }
      });

      it(`${kernel}: FOLL_LONGTERM of ${what}: ${legacy ? 'gup-fast bails on a devmap entry, the slow path pins it (check_vma_flags: vma_is_fsdax is false)' : 'a read pin goes fast, a write pin is refused by gup_fast_folio_allowed (file-backed) and pinned by the slow path'}`, () => {
        const m = machine(arch, variant, kernel);
        const { mm, n } = setup(m, order);
        mm.fault(VA, { write: true });
        const read = mm.gupFast(VA, n, { pin: true, longterm: true });
        expect(read.nr).toBe(n);
        expect(read.fast).toBe(legacy || specialHuge ? 0 : n);
        const write = mm.gupFast(VA, n, { pin: true, longterm: true, write: true });
        expect(write.nr).toBe(n);
        expect(write.fast).toBe(0);
        expect(m.checkInvariants()).toEqual([]);
        m.unpin(read);
        m.unpin(write);
        expect(m.checkInvariants()).toEqual([]);
      });

      it(`${kernel}: gup of ${what} once memunmap_pages killed its pgmap: ${legacy ? 'get_dev_pagemap (tryget_live) fails, gup-fast undoes the table and the slow path refuses with EFAULT' : 'no pgmap reference is asked for, the pin goes through'}; a new fault gets SIGBUS (check_vma: !dax_alive)`, async () => {
        const m = machine(arch, variant, kernel);
        const { pg, mm, folio, n } = setup(m, order);
        const va2 = VA + 4n * folio;
        mm.mmap({ start: va2, length: folio, kind: 'devdax', pgmap: pg, offset: folio });
        mm.fault(VA, { write: true });
        pg.get();                                            // a holder that keeps the pgmap dying, not drained
        const done = pg.unmap();
        expect(pg.state()).toBe('dying');
        const ref = pg.count();
        const r = mm.gupFast(VA, n, { pin: true });
        expect(pg.count()).toBe(ref);
        if (legacy && !huge && !DEVMAP_PTE_SPECIAL.includes(arch)) {
          // riscv and loongarch: the devmap pte has no special bit, so after
          // gup-fast's undo the slow path's vm_normal_page returns the page
          // and follow_page_pte never asks for the pgmap: pinned (derived from v6.12 mm/gup.c, mm/memory.c)
          expect(r.nr).toBe(n);
          expect(r.fast).toBe(0);
          m.unpin(r);
        } else if (legacy) {
          expect(r.nr).toBe(0);
          expect(r.errno).toBe('EFAULT');
        } else {
          expect(r.nr).toBe(n);
          m.unpin(r);
        }
        expect(() => mm.fault(va2, { write: false })).toThrow(expect.objectContaining({ code: 'ESIGBUS' }));
        // the mappings go before the device (kill_dev_dax: unmap_mapping_range), then the holder lets go
        mm.munmap(VA, folio);
        mm.munmap(va2, folio);
        pg.put();
        const bug = legacy && !huge && !DEVMAP_PTE_SPECIAL.includes(arch);
        // (the zap of riscv's / loongarch's devmap pte dropped a reference it never took: the page is not idle when the pgmap goes)
        expect((await done).inUse).toBe(bug ? 1n : 0n);
        expect(pg.state()).toBe('destroyed');
        expect(m.checkInvariants().map((v) => v.name)).toEqual(bug ? ['pgmap-destroyed-in-use'] : []);
      }, 10_000);
    }
  }
});

// V4 of the verdict table: a PUD-sized device-DAX folio (x86_64 and ppc64
// radix, the arches with CONFIG_HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD), inserted
// and pinned whole with FOLL_PIN.
describe.each([['x86_64', '4level'], ['ppc64', 'radix-64k']])('%s %s: a PUD device-DAX folio', (arch, variant) => {
  for (const kernel of ['v6.12', 'v6.15', 'v6.17']) {
    const legacy = LEGACY.has(kernel);
    const special = kernel === 'v6.15' && HUGE_PFNMAP.includes(arch);
    it(`${kernel}: ${legacy ? 'vmf_insert_pfn_pud maps it with no reference; gup_fast_devmap_leaf takes one reference and one pin per subpage'
      : special ? 'vmf_insert_folio_pud takes a reference and marks it pud_special: gup-fast bails, the slow path (follow_huge_pud) pins every subpage'
        : 'vmf_insert_folio_pud takes a reference; gup_fast_pud_leaf pins every subpage with one add'}`, () => {
      const m = Machine.createSync({ arch, variant, kernel, ramMiB: 16, tablePoolMiB: 4 });
      const pudOrder = m.leafOrders[m.desc.levels.length - 3];
      const size = 1n << BigInt(m.desc.pageShift + pudOrder);
      const pg = m.memremapPages({ type: 'devdax', start: 1n << 40n, size, folioOrder: pudOrder });
      const mm = m.createMm();
      const va = 1n << 40n;
      mm.mmap({ start: va, length: size, kind: 'devdax', pgmap: pg });
      mm.fault(va, { write: true });
      const w = m.walk(mm, va);
      expect(w.size).toBe(size);
      expect(w.flags?.special).toBe(special);
      const n = 2 ** pudOrder;
      const r = mm.gupFast(va, n, { pin: true });
      expect(r.nr).toBe(n);
      expect(r.fast).toBe(special ? 0 : n);
      const p = m.page(pg.startPfn);
      expect(p.refcount).toBe((legacy ? 1 : 2) + n);
      expect(p.pincount).toBe(n);
      expect(mm.counters().rssFile).toBe(legacy ? 0n : BigInt(n));
      expect(m.checkInvariants()).toEqual([]);
      m.unpin(r);
      mm.munmap(va, size);
      expect(m.page(pg.startPfn).refcount).toBe(1);
      expect(m.checkInvariants()).toEqual([]);
    });
  }
});

// A vmemmap-optimised device-DAX folio (x86_64 1 GiB: head, page[1] and one
// tail struct page all other tails share) pinned from the middle and across
// two folios: the release finds each folio's first pfn by alignment, not by
// the distance between struct pages, and no pfn of such a section is looked
// up through the linear per-section cache.
describe('x86_64: pins across vmemmap-optimised 1 GiB device-DAX folios', () => {
  for (const kernel of ['v6.12', 'v6.17']) {
    it(`${kernel}: 300 pages from 100 before the end of one folio into the next, released as a plain list and as gup's own`, () => {
      const m = Machine.createSync({ arch: 'x86_64', kernel, ramMiB: 16, tablePoolMiB: 4 });
      const size = 1n << 30n;
      const pg = m.memremapPages({ type: 'devdax', start: 1n << 40n, size: 2n * size, folioOrder: 18 });
      expect(pg.vmemmapOptimized).toBe(true);
      const mm = m.createMm();
      const va = 1n << 40n;
      mm.mmap({ start: va, length: 2n * size, kind: 'devdax', pgmap: pg });
      mm.fault(va, { write: true });
      mm.fault(va + size, { write: true });
      const idle = LEGACY.has(kernel) ? 1 : 2;
      for (const plain of [true, false]) {
        const r = mm.gupFast(va + size - (100n << 12n), 300, { pin: true });
        expect(r.nr).toBe(300);
        expect(m.page(pg.startPfn).refcount).toBe(idle + 100);
        expect(m.page(pg.startPfn + (1n << 18n)).refcount).toBe(idle + 200);
        if (plain) m.unpin({ pfns: Array.from(r.pfns), pin: true });
        else m.unpin(r);
        expect(m.page(pg.startPfn).refcount).toBe(idle);
        expect(m.page(pg.startPfn + (1n << 18n)).refcount).toBe(idle);
        expect(m.checkInvariants()).toEqual([]);
      }
    });
  }
});

// unpin_user_pages finds each page's folio by page_folio (_compound_head reads
// bit 0 of the compound_head word, include/linux/page-flags.h) and its size by
// PG_head in the flags. A ZONE_DEVICE page keeps page->pgmap in that same word
// (struct page's union), so whatever other bits the pgmap's address has, the
// page is neither a tail nor a head: an order-0 folio of its own. Consecutive
// pgmap slots sit PGMAP_SIZE (96) bytes apart, so among any four some have the
// PG_head bit (6) set in their address.
describe('order-0 device-DAX pages of pgmaps in any slot', () => {
  for (const kernel of ['v6.12', 'v6.17']) {
    it(`x86_64 ${kernel}: pinned, got, and released again, whatever their pgmap's address (only compound_head's bit 0 makes a tail)`, () => {
      const m = machine('x86_64', '4level', kernel);
      const sec = 1n << BigInt(m.desc.sectionSizeBits);
      const mm = m.createMm();
      const pgs = [0, 1, 2, 3].map((i) => m.memremapPages({ type: 'devdax', start: (1n << 36n) + BigInt(i) * sec, size: sec }));
      pgs.forEach((pg, i) => mm.mmap({ start: VA + BigInt(i) * (1n << 21n), length: 1n << 12n, kind: 'devdax', pgmap: pg, populate: true }));
      const idle = m.page(pgs[0].startPfn).refcount;
      for (const [i, pg] of pgs.entries()) {
        const va = VA + BigInt(i) * (1n << 21n);
        const pin = mm.gupFast(va, 1, { pin: true });
        const get = mm.gupFast(va, 1);
        expect([pin.nr, get.nr]).toEqual([1, 1]);
        expect(m.page(pg.startPfn).refcount).toBe(idle + 1024 + 1);
        m.unpin(pin);
        m.put(get);
        expect(m.page(pg.startPfn).refcount).toBe(idle);
      }
      expect(m.checkInvariants()).toEqual([]);
    });
  }
});

// gup_fast_pte_range takes entry after entry of one pte table whatever backs
// them: device-DAX base pages of two pgmaps, anon RAM after them, and stops at
// the first entry it cannot take (here an unmapped one). Each page gains what
// try_grab_folio_fast adds to an order-0 folio (GUP_PIN_COUNTING_BIAS for a
// pin, one for a get), in both eras (v6.12 through get_dev_pagemap and
// gup_fast_undo_dev_pagemap's bookkeeping, v6.17 as any other page), and the
// release gives back exactly that.
describe.each(VARIANTS)('one pte table of device-DAX pages, RAM and a hole: $arch $variant', ({ arch, variant }) => {
  for (const kernel of ['v6.12', 'v6.17']) {
    const probe = machine(arch, variant, kernel);
    if (!probe.era.zoneDevice) continue;
    it(`${kernel}: gup-fast takes the device pages of both pgmaps and the RAM after them, and stops at the hole`, () => {
      const m = probe;
      const ps = BigInt(m.desc.pageShift), page = 1n << ps;
      const sec = 1n << BigInt(m.desc.sectionSizeBits);
      const mm = m.createMm();
      const pgs = [0n, 1n].map((i) => m.memremapPages({ type: 'devdax', start: (1n << 36n) + i * sec, size: sec }));
      // 8 pages of each pgmap, then 8 of anon RAM, then nothing: 24 of 32 in one pte table
      const base = VA;
      pgs.forEach((pg, i) => mm.mmap({ start: base + BigInt(i) * 8n * page, length: 8n * page, kind: 'devdax', pgmap: pg, populate: true }));
      mm.mmap({ start: base + 16n * page, length: 8n * page, populate: true });
      const pfns = Array.from({ length: 24 }, (_, i) => m.walk(mm, base + BigInt(i) * page).pfn!);
      expect(pfns.slice(0, 8)).toEqual(Array.from({ length: 8 }, (_, i) => pgs[0].startPfn + BigInt(i)));
      expect(pfns.slice(8, 16)).toEqual(Array.from({ length: 8 }, (_, i) => pgs[1].startPfn + BigInt(i)));
      const counts = () => pfns.map((f) => m.page(f).refcount);
      const idle = counts();
      const pgmapRefs = () => pgs.map((pg) => pg.stats().ref);
      const refsBefore = pgmapRefs();
      for (const [o, add] of [[{ pin: true, write: true }, 1024], [{ pin: true }, 1024], [{ write: true }, 1]] as const) {
        const r = mm.gupFast(base, 32, { ...o, fastOnly: true });
        expect([r.nr, r.fast], JSON.stringify(o)).toEqual([24, 24]);
        expect([...r.pfns]).toEqual(pfns);
        expect(counts()).toEqual(idle.map((c) => c + add));
        expect(pgmapRefs()).toEqual(refsBefore);                          // no pgmap reference outlives the call
        if (o.pin) m.unpin(r); else m.put(r);
        expect(counts()).toEqual(idle);
      }
      // released as a plain list (checked against the counts): the device pages in a run of
      // their own, the RAM after them; a list that gives a device page back twice is refused
      // at its second mention and changes nothing
      const r = mm.gupFast(base, 32, { pin: true, fastOnly: true });
      const list = [...r.pfns];
      const twice = [...list.slice(0, 12), list[5], ...list.slice(12)];
      let err: unknown;
      try { m.unpin({ pfns: twice }); } catch (e) { err = e; }
      expect(err).toMatchObject({ code: 'EINVAL' });
      expect((err as Error).message).toMatch(/^unpin: page 12 \(pfn 0x/);
      expect(counts()).toEqual(idle.map((c) => c + 1024));
      m.unpin({ pfns: list });
      expect(counts()).toEqual(idle);
      expect(() => m.unpin(r)).toThrow();                                // its pins went back with the list
      // FOLL_LONGTERM of a write: gup_fast_folio_allowed refuses a file-backed folio (the
      // device's), so gup-fast stops at the first device page on the unified era; the legacy
      // devmap path bails on FOLL_LONGTERM before it (gup_fast_devmap: undo, stop)
      const lt = mm.gupFast(base, 32, { pin: true, write: true, longterm: true, fastOnly: true });
      expect(lt.nr).toBe(0);
      expect(counts()).toEqual(idle);
      expect(m.checkInvariants()).toEqual([]);
    });
    // A P2PDMA page between two device-DAX runs: gup_fast_pte_range stops at it
    // (without FOLL_PCI_P2PDMA: is_pci_p2pdma_page; with it: gup_fast_folio_allowed,
    // an order-0 folio with no mapping, as vm_insert_page leaves it), so gup-fast
    // ends a run of device pages it has already taken part of; the slow path
    // then refuses it with -EREMOTEIO after the pages before it, or pins it and
    // everything after it with FOLL_PCI_P2PDMA.
    it(`${kernel}: a P2PDMA page after a run of device-DAX pages ends gup-fast there`, () => {
      const m = machine(arch, variant, kernel);
      const ps = BigInt(m.desc.pageShift), page = 1n << ps;
      const sec = 1n << BigInt(m.desc.sectionSizeBits);
      const mm = m.createMm();
      const dax = [0n, 1n].map((i) => m.memremapPages({ type: 'devdax', start: (1n << 36n) + i * sec, size: sec }));
      const p2p = m.memremapPages({ type: 'p2pdma', start: 1n << 40n, size: sec });
      mm.mmap({ start: VA, length: 8n * page, kind: 'devdax', pgmap: dax[0], populate: true });
      mm.mmap({ start: VA + 8n * page, length: 8n * page, kind: 'p2pdma', pgmap: p2p });
      mm.mmap({ start: VA + 16n * page, length: 8n * page, kind: 'devdax', pgmap: dax[1], populate: true });
      const pfns = Array.from({ length: 24 }, (_, i) => m.walk(mm, VA + BigInt(i) * page).pfn!);
      expect(pfns.slice(8, 16)).toEqual(Array.from({ length: 8 }, (_, i) => p2p.startPfn + BigInt(i)));
      const counts = () => pfns.map((f) => m.page(f).refcount);
      const idle = counts();
      const refs = () => [...dax, p2p].map((pg) => pg.stats().ref);
      const refs0 = refs();
      const first = (add: number) => idle.map((c, i) => (i < 8 ? c + add : c));
      for (const [o, add] of [[{ pin: true, write: true }, 1024], [{ pin: true, pciP2pdma: true }, 1024], [{ write: true }, 1]] as const) {
        const r = mm.gupFast(VA, 24, { ...o, fastOnly: true });
        expect([r.nr, r.fast], JSON.stringify(o)).toEqual([8, 8]);
        expect([...r.pfns]).toEqual(pfns.slice(0, 8));
        expect(counts()).toEqual(first(add));
        expect(refs()).toEqual(refs0);
        if (o.pin) m.unpin(r); else m.put(r);
        expect(counts()).toEqual(idle);
      }
      // the slow path: -EREMOTEIO at the P2PDMA page, after the 8 before it
      const no = mm.gupFast(VA, 24, { pin: true });
      expect([no.nr, no.fast]).toEqual([8, 8]);
      expect(counts()).toEqual(first(1024));
      m.unpin(no);
      // with FOLL_PCI_P2PDMA the slow path pins the P2PDMA pages and the run after them
      const yes = mm.gupFast(VA, 24, { pin: true, pciP2pdma: true });
      expect([yes.nr, yes.fast]).toEqual([24, 8]);
      expect([...yes.pfns]).toEqual(pfns);
      expect(counts()).toEqual(idle.map((c) => c + 1024));
      m.unpin(yes);
      expect(counts()).toEqual(idle);
      expect(refs()).toEqual(refs0);
      expect(m.checkInvariants()).toEqual([]);
    });
  }
});
