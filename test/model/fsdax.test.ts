// FS-DAX files (fs/dax.c) in every kernel era, on every arch variant where
// the preset has ZONE_DEVICE. The scenarios (scenarios/fsdax-*.yaml,
// dax-longterm-pin.yaml) hold the verdict table's rows; these are the
// situations around them. Expected values come from the kernel's rules.
import { describe, expect, it } from 'vitest';
import { Machine, KERNELS, type DaxFile, type Pgmap } from '../../src/index.js';
import { VARIANTS } from '../helpers/machines.js';

const LEGACY = new Set(['v6.0', 'v6.1', 'v6.12']);
const VA = 0x4000_0000n;

function setup(arch: string, variant: string, kernel: string): { m: Machine; pg: Pgmap; f: DaxFile; pmd: bigint; ps: bigint } {
  const m = Machine.createSync({ arch, variant, kernel, ramMiB: 16, tablePoolMiB: 4, deviceMemmapMiB: 64 });
  const sec = 1n << BigInt(m.desc.sectionSizeBits);
  const pmdOrder = Math.min(...m.leafOrders.filter((o) => o > 0));
  const ps = BigInt(m.desc.pageShift);
  const pmd = 1n << (ps + BigInt(pmdOrder));
  const size = 2n * pmd > sec ? 2n * pmd : sec;
  const pg = m.memremapPages({ type: 'fsdax', start: 1n << 40n, size: ((size + sec - 1n) / sec) * sec });
  const f = m.createDaxFile({ pgmap: pg, size: 2n * pmd });
  return { m, pg, f, pmd, ps };
}

// x86_64, arm64 and riscv cover the three devmap shapes (special+devmap pte;
// devmap-only pte from v6.11) and both page sizes of the 4 KiB family.
const SOME = VARIANTS.filter((v) => ['x86_64/4level', 'arm64/4k-48', 'riscv/sv48', 'ppc64/radix-64k'].includes(`${v.arch}/${v.variant}`));

describe.each(SOME)('$arch $variant', ({ arch, variant }) => {
  for (const kernel of Object.keys(KERNELS)) {
    const probe = Machine.createSync({ arch, variant, kernel, ramMiB: 16, tablePoolMiB: 2 });
    if (!probe.era.zoneDevice) continue;
    const legacy = LEGACY.has(kernel);
    // riscv's pte_mkdevmap (v6.11..v6.14) sets no special bit: zap takes the devmap pte for a normal
    // page and drops a mapcount and a reference the fault never took (vm_normal_page, v6.12 mm/memory.c)
    const k1 = kernel === 'v6.12' && ['riscv', 'loongarch'].includes(arch);
    const clean = (m: Machine) => {
      const names = [...new Set(m.checkInvariants().map((v) => v.name))].sort();
      if (!k1) expect(names).toEqual([]);
      else {
        // a page zapped once is at 0 (dev-idle), one zapped twice below it (ref-negative, and the sum of
        // what pages hold beyond their mappings no longer matches gup's: outstanding)
        expect(names).toContain('mapcount');
        expect(names.every((n) => ['dev-idle', 'mapcount', 'ref-negative', 'outstanding'].includes(n))).toBe(true);
      }
    };

    it(`${kernel}: a file no longer mmapped but still pinned is truncated ${legacy ? 'at once, with a WARN (v6.12 dax_layout_busy_page_range: !mapping_mapped returns NULL; dax_disassociate_entry WARNs on the referenced page)' : 'only after the pin goes (no mapping_mapped test; the waiter waits for refcount 0)'}`, () => {
      const { m, pg, f, pmd } = setup(arch, variant, kernel);
      const mm = m.createMm();
      mm.mmap({ start: VA, length: 2n * pmd, kind: 'fsdax', file: f, hugeOrder: 0 });
      mm.fault(VA, { write: true });
      const pin = mm.gupFast(VA, 1, { pin: true });
      expect(pin.nr).toBe(1);
      mm.munmap(VA, 2n * pmd);
      const w = f.truncate(0n);
      if (legacy) {
        expect(w.state).toBe('done');
        expect(w.result).toEqual({ deleted: 1, warned: 1 });
        expect(f.warnings).toBe(1);
        expect(m.page(pg.startPfn).mapping).toBe(0n);   // disassociated while pinned
      } else {
        expect(w.state).toBe('waiting');
        expect(w.pfn).toBe(pg.startPfn);
        expect(w.condition).toBe('refcount == 0');
        expect(w.poll()).toBe(false);
      }
      m.unpin(pin);
      expect(w.poll()).toBe(true);
      expect(m.page(pg.startPfn).refcount).toBe(legacy && !k1 ? 1 : 0);
      expect(f.size).toBe(0n);
      expect(f.entry(0n)).toBeUndefined();
      clean(m);
    });

    it(`${kernel}: evict (unmount) ${legacy ? 'deletes the entries at once, WARNing on a pinned page (truncate_inode_pages_final)' : 'waits for every page to be idle first (dax_break_layout_final)'}; it is refused while the file is mapped`, async () => {
      const { m, pg, f, pmd } = setup(arch, variant, kernel);
      const mm = m.createMm();
      mm.mmap({ start: VA, length: 2n * pmd, kind: 'fsdax', file: f });
      mm.fault(VA, { write: false });
      const pin = mm.gupFast(VA, 1, { pin: true });
      expect(() => f.evict()).toThrow(expect.objectContaining({ code: 'EBUSY' }));
      mm.munmap(VA, 2n * pmd);
      const w = f.evict();
      expect(w.state).toBe(legacy ? 'done' : 'waiting');
      m.unpin(pin);
      const r = await (w.poll(), w.done);
      expect(r.warned).toBe(legacy ? 1 : 0);
      expect(f.state).toBe('evicted');
      expect(() => mm.mmap({ start: VA, length: pmd, kind: 'fsdax', file: f })).toThrow(/evicted/);
      expect(m.page(pg.startPfn).order).toBe(0);                   // unified: the folio split back
      expect(m.checkInvariants()).toEqual([]);
    });

    it(`${kernel}: a PMD fault ${legacy ? 'associates each of its pages' : 'makes one compound folio (dax_folio_init)'}; a later PMD fault over a range with a PTE entry falls back to PTEs (grab_mapping_entry's conflict)`, () => {
      const { m, pg, f, pmd, ps } = setup(arch, variant, kernel);
      const a = m.createMm(), b = m.createMm();
      a.mmap({ start: VA, length: 2n * pmd, kind: 'fsdax', file: f });
      b.mmap({ start: VA, length: 2n * pmd, kind: 'fsdax', file: f, hugeOrder: 0 });
      // b maps a page of the second PMD range first: a PTE entry there
      b.fault(VA + pmd + (3n << ps), { write: false });
      a.fault(VA, { write: false });
      a.fault(VA + pmd, { write: false });
      expect(m.walk(a, VA).size).toBe(pmd);
      expect(m.walk(a, VA + pmd).size).toBe(1n << ps);
      expect(f.entry(0n)).toEqual({ pfn: pg.startPfn, pmd: true });
      expect(f.entry(pmd + (3n << ps))).toEqual({ pfn: pg.startPfn + (pmd >> ps) + 3n, pmd: false });
      const head = m.page(pg.startPfn);
      if (legacy) {
        expect(head.order).toBe(0);
        expect(m.page(pg.startPfn + 7n).index).toBe(7n);         // page->index per page
        expect(head.refcount).toBe(1);
      } else {
        expect(head.order).toBe(Number((pmd >> ps).toString(2).length - 1));
        expect(head.refcount).toBe(1);                             // the PMD mapping's reference
      }
      a.destroy();
      b.destroy();
      expect(f.truncate(0n).state).toBe('done');
      expect(m.page(pg.startPfn).order).toBe(0);
      clean(m);
    });

    it(`${kernel}: a munmap of one page under a DAX PMD clears the PMD whole (__split_huge_pmd of a DAX VMA)${legacy ? '' : ', dropping its reference, mapcount and MM_FILEPAGES'}; the rest refaults by PTEs`, () => {
      const { m, pg, f, pmd, ps } = setup(arch, variant, kernel);
      const mm = m.createMm();
      mm.mmap({ start: VA, length: 2n * pmd, kind: 'fsdax', file: f });
      mm.fault(VA, { write: true });
      expect(m.walk(mm, VA).size).toBe(pmd);
      mm.munmap(VA + (1n << ps), 1n << ps);
      expect(m.walk(mm, VA).status).toBe('none');
      expect(mm.vmas()).toHaveLength(2);
      expect(m.page(pg.startPfn).refcount).toBe(legacy ? 1 : 0);
      expect(mm.counters().rssFile).toBe(0n);
      mm.fault(VA, { write: true });
      expect(m.walk(mm, VA).size).toBe(1n << ps);               // the VMA no longer covers the PMD
      mm.destroy();
      expect(f.truncate(0n).state).toBe('done');
      clean(m);
    });

    it(`${kernel}: a write to a private mapping copies the page into an anon one (dax_fault_cow_page); the file page keeps its count`, () => {
      const { m, pg, f, pmd, ps } = setup(arch, variant, kernel);
      const mm = m.createMm();
      mm.mmap({ start: VA, length: 2n * pmd, kind: 'fsdax', file: f, shared: false });
      mm.fault(VA, { write: false });
      expect(m.walk(mm, VA).pfn).toBe(pg.startPfn);
      expect(m.walk(mm, VA).flags?.write).toBe(false);
      mm.fault(VA + (1n << ps), { write: true });                // never mapped: a copy at once
      mm.fault(VA, { write: true });                             // read-only DAX pte: do_wp_page copies
      const w = m.walk(mm, VA);
      expect(w.pfn! < pg.startPfn).toBe(true);                   // RAM now
      expect(w.flags?.write).toBe(true);
      expect(mm.counters().rssAnon).toBe(2n);
      expect(mm.counters().rssFile).toBe(0n);
      expect(m.page(pg.startPfn).refcount).toBe(legacy ? 1 : 0);
      mm.destroy();
      expect(m.checkInvariants()).toEqual([]);
    });

    it(`${kernel}: pages of a shared (reflinked) extent count their associations (${legacy ? 'PAGE_MAPPING_DAX_SHARED and page->share' : 'folio->share, mapping NULL'}) and lose them one by one`, () => {
      const m = Machine.createSync({ arch, variant, kernel, ramMiB: 16, tablePoolMiB: 4, deviceMemmapMiB: 64 });
      const sec = 1n << BigInt(m.desc.sectionSizeBits);
      const ps = BigInt(m.desc.pageShift);
      const pg = m.memremapPages({ type: 'fsdax', start: 1n << 40n, size: sec });
      const page = 1n << ps;
      // two files share one block (reflink): both extents point at pgmap offset 0
      const f1 = m.createDaxFile({ pgmap: pg, size: page, extents: [{ offset: 0n, length: page, pgmapOffset: 0n, shared: true }] });
      const f2 = m.createDaxFile({ pgmap: pg, size: page, extents: [{ offset: 0n, length: page, pgmapOffset: 0n, shared: true }] });
      const mm = m.createMm();
      mm.mmap({ start: VA, length: page, kind: 'fsdax', file: f1, hugeOrder: 0 });
      mm.mmap({ start: VA + (1n << 30n), length: page, kind: 'fsdax', file: f2, hugeOrder: 0 });
      mm.fault(VA, { write: false });
      mm.fault(VA + (1n << 30n), { write: false });
      const p = m.page(pg.startPfn);
      expect(p.mapping).toBe(legacy ? 1n : 0n);                  // PAGE_MAPPING_DAX_SHARED (0x1) / NULL
      expect(p.index).toBe(2n);                                   // page->share / folio->share
      mm.destroy();
      expect(f1.truncate(0n).state).toBe('done');
      expect(m.page(pg.startPfn).index).toBe(1n);
      expect(f2.truncate(0n).state).toBe('done');
      expect(m.page(pg.startPfn).index).toBe(0n);
      expect(m.page(pg.startPfn).mapping).toBe(0n);
      clean(m);
    });
  }
});
