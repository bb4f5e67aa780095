// Bad FS-DAX inputs: files (createDaxFile), fsdax mappings, truncate, evict.
// Each is refused with a reason and changes nothing.
import { describe, expect, it } from 'vitest';
import { Machine, type Pgmap } from '../../src/index.js';

const MiB = 1n << 20n;
const VA = 0x4000_0000n;

function setup(kernel = 'v6.12'): { m: Machine; pg: Pgmap } {
  const m = Machine.createSync({ arch: 'x86_64', kernel, ramMiB: 16, tablePoolMiB: 2 });
  return { m, pg: m.memremapPages({ type: 'fsdax', start: 1n << 36n, size: 128n * MiB }) };
}

function refused(f: () => unknown, message: RegExp, code = 'EINVAL'): void {
  let err: unknown;
  try { f(); } catch (e) { err = e; }
  expect(err).toMatchObject({ code });
  expect((err as Error).message).toMatch(message);
}

describe('createDaxFile refusals', () => {
  it('sizes and offsets that are not whole pages, zero, negative or past the pgmap', () => {
    const { m, pg } = setup();
    refused(() => m.createDaxFile({ pgmap: pg, size: 4097n }), /not a multiple of the page size/);
    refused(() => m.createDaxFile({ pgmap: pg, size: 0n }), /size 0/);
    refused(() => m.createDaxFile({ pgmap: pg, size: -4096n }), /size/);
    refused(() => m.createDaxFile({ pgmap: pg, size: 1n << 64n }), /size/);
    refused(() => m.createDaxFile({ pgmap: pg, size: 4n * MiB, pgmapOffset: pg.size - MiB }), /runs past the pgmap/);
    refused(() => m.createDaxFile({ pgmap: pg, size: 256n * MiB }), /runs past the pgmap/);
    refused(() => m.createDaxFile({ pgmap: pg, size: 4096n, pgmapOffset: 12n }), /not a multiple of the page size/);
  });
  it('extents with holes, overlaps, wrong shapes, or both pgmapOffset and extents', () => {
    const { m, pg } = setup();
    refused(() => m.createDaxFile({ pgmap: pg, size: 2n * MiB, extents: [{ offset: 0n, length: MiB, pgmapOffset: 0n }] }), /no holes/);
    refused(() => m.createDaxFile({ pgmap: pg, size: 2n * MiB, extents: [
      { offset: 0n, length: 2n * MiB, pgmapOffset: 0n }, { offset: MiB, length: MiB, pgmapOffset: 4n * MiB }] }), /overlaps/);
    refused(() => m.createDaxFile({ pgmap: pg, size: 2n * MiB, extents: [] }), /non-empty/);
    refused(() => m.createDaxFile({ pgmap: pg, size: 2n * MiB, extents: [{ offset: 0n, length: 0n, pgmapOffset: 0n }] }), /empty/);
    refused(() => m.createDaxFile({ pgmap: pg, size: 2n * MiB, extents: [{ offset: 0n, length: 2n * MiB, pgmapOffset: 0n, sharde: true } as never] }), /sharde/);
    refused(() => m.createDaxFile({ pgmap: pg, size: 2n * MiB, pgmapOffset: 0n, extents: [{ offset: 0n, length: 2n * MiB, pgmapOffset: 0n }] }), /not both/);
    refused(() => m.createDaxFile({ pgmap: pg, size: 2n * MiB, extents: 'all' as never }), /extents/);
  });
  it('a pgmap of another type, another machine, a dead one, or none', async () => {
    const { m, pg } = setup();
    const other = setup().pg;
    refused(() => m.createDaxFile({ pgmap: other, size: MiB }), /another machine/);
    refused(() => m.createDaxFile({ size: MiB } as never), /pgmap/);
    refused(() => m.createDaxFile({ pgmap: {} as Pgmap, size: MiB }), /pgmap must be a Pgmap/);
    const dd = m.memremapPages({ type: 'devdax', start: (1n << 36n) + 128n * MiB, size: 128n * MiB });
    refused(() => m.createDaxFile({ pgmap: dd, size: MiB }), /fsdax pgmap/);
    await pg.unmap();
    refused(() => m.createDaxFile({ pgmap: pg, size: MiB }), /destroyed|unmapped/);
  });
  it('more files than the machine holds, and more pages than its entry space: ENOSPC, and the next that fits still works', () => {
    const { m, pg } = setup();
    for (let i = 0; i < 64; i++) m.createDaxFile({ pgmap: pg, size: 4096n });
    refused(() => m.createDaxFile({ pgmap: pg, size: 4096n }), /64 files/, 'ENOSPC');
    const tiny = Machine.createSync({ arch: 'x86_64', ramMiB: 16, tablePoolMiB: 2, daxFilesMiB: 0 });
    const p2 = tiny.memremapPages({ type: 'fsdax', start: 1n << 36n, size: 128n * MiB });
    refused(() => tiny.createDaxFile({ pgmap: p2, size: 4096n }), /daxFilesMiB/, 'ENOSPC');
    refused(() => Machine.createSync({ arch: 'x86_64', ramMiB: 16, daxFilesMiB: -1 }), /daxFilesMiB/);
    refused(() => Machine.createSync({ arch: 'x86_64', ramMiB: 16, daxFilesMiB: 1.5 }), /daxFilesMiB/);
  });
});

describe('fsdax mmap, truncate and evict refusals', () => {
  it('mmap: no file, a foreign or evicted file, offsets off a page, pfn or pgmap given, a hugeOrder dax cannot fault', async () => {
    const { m, pg } = setup();
    const f = m.createDaxFile({ pgmap: pg, size: 4n * MiB });
    const mm = m.createMm();
    refused(() => mm.mmap({ start: VA, length: 2n * MiB, kind: 'fsdax' }), /DaxFile/);
    refused(() => mm.mmap({ start: VA, length: 2n * MiB, kind: 'fsdax', file: {} as never }), /DaxFile/);
    const o = setup();
    refused(() => mm.mmap({ start: VA, length: 2n * MiB, kind: 'fsdax', file: o.m.createDaxFile({ pgmap: o.pg, size: MiB }) }), /another machine/);
    refused(() => mm.mmap({ start: VA, length: 2n * MiB, kind: 'fsdax', file: f, offset: 100n }), /not a multiple of the page size/);
    refused(() => mm.mmap({ start: VA, length: 2n * MiB, kind: 'fsdax', file: f, offset: -4096n }), /offset/);
    refused(() => mm.mmap({ start: VA, length: 2n * MiB, kind: 'fsdax', file: f, pfn: 5n }), /not pfn/);
    refused(() => mm.mmap({ start: VA, length: 2n * MiB, kind: 'fsdax', file: f, hugeOrder: 18 }), /PMD-sized/);
    refused(() => mm.mmap({ start: VA, length: 2n * MiB, kind: 'anon', file: f }), /file is for an fsdax mapping/);
    expect(mm.vmas()).toEqual([]);
    // past i_size: the mapping is made, its faults get SIGBUS
    mm.mmap({ start: VA, length: 2n * MiB, kind: 'fsdax', file: f, offset: 8n * MiB });
    expect(() => mm.fault(VA, { write: false })).toThrow(expect.objectContaining({ code: 'ESIGBUS' }));
    mm.munmap(VA, 2n * MiB);
    await f.evict().done;
    refused(() => mm.mmap({ start: VA, length: 2n * MiB, kind: 'fsdax', file: f }), /evicted/);
    refused(() => f.truncate(0n), /evicted/);
    refused(() => f.evict(), /evicted/);
  });
  it('truncate: sizes off a page, negative, or past the file\'s blocks', () => {
    const { m, pg } = setup();
    const f = m.createDaxFile({ pgmap: pg, size: 4n * MiB });
    refused(() => f.truncate(100n), /not a multiple of the page size/);
    refused(() => f.truncate(-1n), /size/);
    refused(() => f.truncate(8n * MiB), /do not grow/);
    refused(() => f.entry(4n * MiB), /past the file/);
    expect(f.size).toBe(4n * MiB);
  });
});

describe('FS_DAX_LIMITED files (s390 to v6.14) refuse bad ranges', () => {
  it('below RAM, over a pgmap\'s struct pages, off a page, empty, past the physical address space, or with extents; and where the kernel has no such thing', () => {
    const m = Machine.createSync({ arch: 's390', kernel: 'v6.12', ramMiB: 16, tablePoolMiB: 2 });
    const bad = (o: object, re: RegExp) => expect(() => m.createDaxFile(o as never)).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringMatching(re) }));
    bad({ start: 0n, size: MiB }, /above RAM/);
    bad({ start: 1n << 36n, size: 0n }, /whole pages, size not 0/);
    bad({ start: (1n << 36n) + 1n, size: MiB }, /whole pages/);
    bad({ start: -4096n, size: MiB }, /start/);
    bad({ start: 1n << 63n, size: MiB }, /above RAM|physical address space/);
    bad({ start: 1n << 36n, size: 1n << 60n }, /more pages than a file holds|above RAM/);
    bad({ start: 1n << 36n }, /'size' is required/);
    bad({ start: 1n << 36n, size: MiB, pgmapOffset: 0n }, /one extent/);
    bad({ size: MiB }, /needs start/);
    const f = m.createDaxFile({ start: 1n << 36n, size: MiB });
    expect(f.size).toBe(MiB);
    expect(m.checkInvariants()).toEqual([]);
    // v6.15: dcssblk's DAX is marked broken; x86_64 never had FS_DAX_LIMITED
    const m15 = Machine.createSync({ arch: 's390', kernel: 'v6.15', ramMiB: 16, tablePoolMiB: 2 });
    expect(() => m15.createDaxFile({ start: 1n << 36n, size: MiB })).toThrow(/dcssblk/);
    const x86 = Machine.createSync({ arch: 'x86_64', ramMiB: 16, tablePoolMiB: 2 });
    expect(() => x86.createDaxFile({ start: 1n << 36n, size: MiB })).toThrow(/FS_DAX_LIMITED/);
  });
});
