// migrateToDevice with bad input: each refused with a reason, nothing moved.
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/index.js';

const VA = 0x4000_0000n;

function setup() {
  const m = Machine.createSync({ arch: 'x86_64', kernel: 'v6.12', ramMiB: 16, tablePoolMiB: 2 });
  const pg = m.memremapPages({ type: 'device-private', start: 1n << 36n, size: 128n << 20n });
  const mm = m.createMm();
  mm.mmap({ start: VA, length: 1n << 21n });
  mm.fault(VA, { write: true });
  return { m, pg, mm };
}

describe('migrateToDevice refusals', () => {
  it('a pinned page (migrate_vma_check_page), a page the driver holds, an unmapped or non-anon address', () => {
    const { m, pg, mm } = setup();
    const pin = mm.gupFast(VA, 1, { pin: true });
    expect(() => mm.migrateToDevice(VA, { pgmap: pg, pfn: pg.startPfn })).toThrow(expect.objectContaining({ code: 'EBUSY' }));
    m.unpin(pin);
    pg.pageInit(pg.startPfn);
    expect(() => mm.migrateToDevice(VA, { pgmap: pg, pfn: pg.startPfn })).toThrow(expect.objectContaining({ code: 'EBUSY' }));
    pg.pagePut(pg.startPfn);
    expect(() => mm.migrateToDevice(VA + 4096n, { pgmap: pg, pfn: pg.startPfn })).toThrow(expect.objectContaining({ code: 'EFAULT' }));   // never faulted
    expect(() => mm.migrateToDevice(0x7000_0000n, { pgmap: pg, pfn: pg.startPfn })).toThrow(expect.objectContaining({ code: 'EFAULT' }));
    mm.fault(VA + 8192n, { write: false });                      // the zero page: no anon page
    expect(() => mm.migrateToDevice(VA + 8192n, { pgmap: pg, pfn: pg.startPfn })).toThrow(expect.objectContaining({ code: 'EFAULT' }));
    expect(m.walk(mm, VA).pfn! < pg.startPfn).toBe(true);
    expect(m.checkInvariants()).toEqual([]);
  });
  it('pfns outside the pgmap, pgmaps of other types, machines or states, bad shapes', async () => {
    const { m, pg, mm } = setup();
    const bad = (o: unknown, re: RegExp) => expect(() => mm.migrateToDevice(VA, o as never)).toThrow(re);
    bad({ pgmap: pg, pfn: pg.endPfn }, /outside the pgmap/);
    bad({ pgmap: pg, pfn: -1n }, /pfn/);
    bad({ pgmap: pg, pfn: 1n << 64n }, /pfn/);
    bad({ pgmap: pg }, /required/);
    bad({ pgmap: {}, pfn: 1n }, /must be a Pgmap/);
    bad({ pgmap: pg, pfn: pg.startPfn, write: true }, /unknown option 'write'/);
    bad(null, /options/);
    const dax = m.memremapPages({ type: 'devdax', start: (1n << 36n) + (128n << 20n), size: 128n << 20n });
    bad({ pgmap: dax, pfn: dax.startPfn }, /not devdax/);
    const other = setup();
    bad({ pgmap: other.pg, pfn: other.pg.startPfn }, /another machine/);
    expect(() => mm.migrateToDevice(-1n, { pgmap: pg, pfn: pg.startPfn })).toThrow(/addr/);
    pg.kill();
    bad({ pgmap: pg, pfn: pg.startPfn }, /drained|dying/);
    expect(m.checkInvariants()).toEqual([]);
  });
});
