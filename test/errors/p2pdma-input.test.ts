// p2pmem mappings with bad input: refused with the kernel's reason, nothing mapped.
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/index.js';

const VA = 0x4000_0000n;

describe('p2pdma mmap refusals', () => {
  it('private, off a page, past the pgmap, a busy page, a pgmap of another type or state', async () => {
    const m = Machine.createSync({ arch: 'x86_64', ramMiB: 16, tablePoolMiB: 2 });
    const pg = m.memremapPages({ type: 'p2pdma', start: 1n << 36n, size: 128n << 20n });
    const mm = m.createMm();
    const bad = (o: object, re: RegExp, code = 'EINVAL') => expect(() => mm.mmap({ start: VA, length: 8192n, kind: 'p2pdma', pgmap: pg, ...o } as never)).toThrow(expect.objectContaining({ code, message: expect.stringMatching(re) }));
    bad({ shared: false }, /private mapping/);
    bad({ offset: 100n }, /not a multiple of the page size/);
    bad({ offset: pg.size }, /runs past/);
    bad({ offset: -4096n }, /offset/);
    bad({ hugeOrder: 9 }, /base pages/);
    bad({ pfn: pg.startPfn }, /not pfn/);
    bad({ pgmap: undefined }, /needs pgmap/);
    const dd = m.memremapPages({ type: 'devdax', start: (1n << 36n) + (128n << 20n), size: 128n << 20n });
    bad({ pgmap: dd }, /not a devdax one/);
    expect(mm.vmas()).toEqual([]);
    mm.mmap({ start: VA, length: 8192n, kind: 'p2pdma', pgmap: pg });
    // the same pages again: the pool has handed them out (EBUSY), and the half-built mapping goes
    expect(() => mm.mmap({ start: VA + (1n << 30n), length: 16384n, kind: 'p2pdma', pgmap: pg })).toThrow(expect.objectContaining({ code: 'EBUSY' }));
    expect(mm.vmas()).toHaveLength(1);
    expect(m.checkInvariants()).toEqual([]);
    mm.munmap(VA, 8192n);
    pg.kill();
    bad({}, /dying|drained|destroyed/);
    pg.settle();
    expect(m.checkInvariants()).toEqual([]);
  });
});
