// Bad device-DAX mappings: each refused with the kernel's reason (dax_mmap ->
// check_vma, dax_align_valid, dax_pgoff_to_phys) and nothing changed.
import { describe, expect, it } from 'vitest';
import { Machine, type Pgmap } from '../../src/index.js';

const MiB = 1n << 20n;
const VA = 0x4000_0000n;

function setup(arch = 'x86_64', kernel = 'v6.12', folioOrder = 9): { m: Machine; pg: Pgmap } {
  const m = Machine.createSync({ arch, kernel, ramMiB: 16, tablePoolMiB: 2 });
  const sec = 1n << BigInt(m.desc.sectionSizeBits);
  return { m, pg: m.memremapPages({ type: 'devdax', start: 1n << 36n, size: sec, folioOrder }) };
}

function refused(f: () => unknown, message: RegExp): void {
  let err: unknown;
  try { f(); } catch (e) { err = e; }
  expect(err).toMatchObject({ code: 'EINVAL' });
  expect((err as Error).message).toMatch(message);
}

describe('device-DAX mmap refusals', () => {
  it('a private mapping: check_vma "attempted private mapping"', () => {
    const { m, pg } = setup();
    const mm = m.createMm();
    refused(() => mm.mmap({ start: VA, length: 2n * MiB, kind: 'devdax', pgmap: pg, shared: false }), /attempted private mapping/);
    expect(mm.vmas()).toEqual([]);
  });
  it('start, length or offset off the device align: "unaligned vma"', () => {
    const { m, pg } = setup();
    const mm = m.createMm();
    refused(() => mm.mmap({ start: VA + 4096n, length: 2n * MiB, kind: 'devdax', pgmap: pg }), /unaligned vma/);
    refused(() => mm.mmap({ start: VA, length: 3n * MiB, kind: 'devdax', pgmap: pg }), /unaligned vma/);
    refused(() => mm.mmap({ start: VA, length: 2n * MiB, kind: 'devdax', pgmap: pg, offset: 4096n }), /not a multiple of the device's align/);
    expect(mm.vmas()).toEqual([]);
  });
  it('a range past the device, a negative or huge offset', () => {
    const { m, pg } = setup();
    const mm = m.createMm();
    refused(() => mm.mmap({ start: VA, length: pg.size + 2n * MiB, kind: 'devdax', pgmap: pg }), /runs past the device/);
    refused(() => mm.mmap({ start: VA, length: 2n * MiB, kind: 'devdax', pgmap: pg, offset: pg.size }), /runs past the device/);
    refused(() => mm.mmap({ start: VA, length: 2n * MiB, kind: 'devdax', pgmap: pg, offset: -2n * MiB }), /offset/);
    refused(() => mm.mmap({ start: VA, length: 2n * MiB, kind: 'devdax', pgmap: pg, offset: 1n << 64n }), /offset/);
  });
  it('no pgmap, not a Pgmap, another machine\'s, or one of another type', () => {
    const { m, pg } = setup();
    const other = setup().pg;
    const mm = m.createMm();
    refused(() => mm.mmap({ start: VA, length: 2n * MiB, kind: 'devdax' }), /needs pgmap/);
    refused(() => mm.mmap({ start: VA, length: 2n * MiB, kind: 'devdax', pgmap: { start: 0n } as unknown as Pgmap }), /needs pgmap/);
    refused(() => mm.mmap({ start: VA, length: 2n * MiB, kind: 'devdax', pgmap: other }), /another machine/);
    const sec = 1n << BigInt(m.desc.sectionSizeBits);
    const fs = m.memremapPages({ type: 'fsdax', start: (1n << 36n) + sec, size: sec });
    refused(() => mm.mmap({ start: VA, length: 2n * MiB, kind: 'devdax', pgmap: fs }), /not a fsdax one/);
    refused(() => mm.mmap({ start: VA, length: 2n * MiB, kind: 'anon', pgmap: pg }), /pgmap is for a devdax or p2pdma mapping/);
    refused(() => mm.mmap({ start: VA, length: 2n * MiB, kind: 'devdax', pgmap: pg, hugeOrder: 9 }), /hugeOrder does not apply/);
    refused(() => mm.mmap({ start: VA, length: 2n * MiB, kind: 'devdax', pgmap: pg, pfn: pg.startPfn }), /not pfn/);
    expect(mm.vmas()).toEqual([]);
  });
  it('a pgmap that memunmap_pages has begun to tear down: dax_alive is false', async () => {
    const { m, pg } = setup();
    const mm = m.createMm();
    pg.get();
    const done = pg.unmap();
    refused(() => mm.mmap({ start: VA, length: 2n * MiB, kind: 'devdax', pgmap: pg }), /dying/);
    pg.put();
    await done;
    refused(() => mm.mmap({ start: VA, length: 2n * MiB, kind: 'devdax', pgmap: pg }), /destroyed/);
  });
  it('a PUD align where the arch has no THP-PUD (arm64): dax_align_valid', () => {
    const m = Machine.createSync({ arch: 'arm64', variant: '4k-48', ramMiB: 16, tablePoolMiB: 2 });
    const pg = m.memremapPages({ type: 'devdax', start: 1n << 40n, size: 1n << 30n, folioOrder: 18 });
    refused(() => m.createMm().mmap({ start: 1n << 40n, length: 1n << 30n, kind: 'devdax', pgmap: pg }), /HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD/);
  });
  it('a PUD align on ppc64 radix under v6.1 (6.1.y selects no THP-PUD there; v6.12 does)', () => {
    const make = (kernel: string) => {
      const m = Machine.createSync({ arch: 'ppc64', variant: 'radix-4k', kernel, ramMiB: 16, tablePoolMiB: 2 });
      const pg = m.memremapPages({ type: 'devdax', start: 1n << 40n, size: 1n << 30n, folioOrder: 18 });
      return () => m.createMm().mmap({ start: 1n << 40n, length: 1n << 30n, kind: 'devdax', pgmap: pg });
    };
    refused(make('v6.1'), /ppc64 v6\.1 \(dax_align_valid: .*which v6\.1 does not select on ppc64/);
    expect(make('v6.12')).not.toThrow();
  });
  it('splitting a device-DAX VMA off its align: dev_dax_may_split', () => {
    const { m, pg } = setup();
    const mm = m.createMm();
    mm.mmap({ start: VA, length: 4n * MiB, kind: 'devdax', pgmap: pg });
    mm.fault(VA, { write: true });
    expect(() => mm.munmap(VA + 4096n, 4096n)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(mm.vmas()).toHaveLength(1);
    mm.munmap(VA + 2n * MiB, 2n * MiB);             // at the align: fine, and the rest keeps its pfns
    expect(m.walk(mm, VA).pfn).toBe(pg.startPfn);
    expect(m.checkInvariants()).toEqual([]);
  });
});
