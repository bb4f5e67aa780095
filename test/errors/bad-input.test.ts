// Bad input gets an Error naming the input, and the machine is left exactly
// as it was. One test per case; each compares a full snapshot before/after.
import { describe, expect, it } from 'vitest';
import { Machine, Mm, archs, buildVariant, compileVariant } from '../../src/index.js';
import type { ArchData } from '../../src/index.js';

import { BASE, MiB, expectError, setup, snapshot } from '../helpers/snapshot.js';

describe('bad input leaves the machine as it was', () => {
  it('a non-canonical address', () => {
    const { m, mm } = setup();
    const before = snapshot(m, mm);
    // x86_64 4-level: user space ends at 1 << 47; 0x0000_8000_0000_0000 is non-canonical
    expectError(() => mm.mmap({ start: 0x0000_8000_0000_0000n, length: 4096 }), 'EINVAL', /0x800000000000 is not a canonical user address/);
    expectError(() => mm.gupFast(0xffff_8000_0000_0000n, 1), 'EINVAL', /not a canonical user address/);
    expectError(() => mm.fault(1n << 47n), 'EINVAL', /not a canonical user address/);
    expectError(() => mm.mmap({ start: (1n << 47n) - 4096n, length: 8192 }), 'EINVAL', /end 0x800000000fff/);
    expect(snapshot(m, mm)).toEqual(before);
  });

  it('gupFast at the top of user space: the range is counted from va rounded down to its page', () => {
    const { m, mm } = setup();
    const top = 1n << 47n;
    const before = snapshot(m, mm);
    // gup_fast_fallback: start = va & PAGE_MASK; end = start + (nr << PAGE_SHIFT) <= TASK_SIZE_MAX.
    // The last byte of user space in one page passes (nothing is mapped there: -EFAULT)...
    const last = mm.gupFast(top - 1n, 1);
    expect([last.nr, last.errno]).toEqual([0, 'EFAULT']);
    expect(m.opRecord(m.lastOp())).toMatchObject({ kind: 'gup', addr: top - 4096n, len: 4096n });   // logged from its page
    m.unpin(last);
    // ... and a second page past it is refused, naming the end from the rounded start
    expectError(() => mm.gupFast(top - 4095n, 2), 'EINVAL', /gupFast: end 0x800000000fff is not a canonical user address/);
    // the kept bounds follow nr, and back
    expectError(() => mm.gupFast(top - 2n * 4096n + 5n, 3), 'EINVAL', /end 0x800000000fff/);
    m.unpin(mm.gupFast(top - 2n * 4096n + 5n, 2));
    expectError(() => mm.gupFast(top - 1n, 2), 'EINVAL', /end 0x800000000fff/);
    expect(snapshot(m, mm)).toEqual(before);
  });

  it('an unaligned huge mapping', () => {
    const { m, mm } = setup();
    const before = snapshot(m, mm);
    expectError(() => mm.mmap({ start: BASE + 64n * MiB + 4096n, length: 2n * MiB, kind: 'hugetlb', hugeOrder: 9 }),
      'EINVAL', /hugetlb start 0x44001000 and length 0x200000 must be multiples of 0x200000/);
    expectError(() => mm.mmap({ start: BASE + 64n * MiB, length: 2n * MiB, kind: 'hugetlb', hugeOrder: 10 }),
      'EINVAL', /hugeOrder 10 has no leaf level on x86_64\/4level \(orders: 0, 9, 18\)/);
    expectError(() => mm.mmap({ start: BASE + 64n * MiB + 12n, length: 4096 }), 'EINVAL', /start 0x4400000c is not aligned/);
    expect(snapshot(m, mm)).toEqual(before);
  });

  it('an overlapping VMA', () => {
    const { m, mm } = setup();
    const before = snapshot(m, mm);
    expectError(() => mm.mmap({ start: BASE + 2n * MiB, length: 4n * MiB }), 'EEXIST', /mmap: \[0x40200000, 0x40600000\): overlaps an existing mapping/);
    expectError(() => mm.mmap({ start: BASE - 4096n, length: 8192, populate: true }), 'EEXIST', /overlaps/);
    expect(snapshot(m, mm)).toEqual(before);
  });

  it('an unknown arch, variant or kernel preset', () => {
    expectError(() => Machine.createSync({ arch: 'vax' }), 'EUNKNOWN', /unknown arch 'vax' \(archs: x86_64/);
    expectError(() => Machine.createSync({ arch: 'x86_64', variant: '6level' }), 'EUNKNOWN', /unknown x86_64 variant '6level' \(variants: 4level, la57\)/);
    expectError(() => Machine.createSync({ arch: 'x86_64', kernel: 'v5.99' }), 'EUNKNOWN', /unknown kernel preset 'v5.99' \(presets: v6.0, v6.1, v6.12, v6.15, v6.17\)/);
    expectError(() => Machine.createSync({ arch: 'x86_64', model: 'hybrid' as never }), 'EUNKNOWN', /unknown refcount model 'hybrid'/);
    expectError(() => Machine.createSync({ arch: 'x86_64', ramMiB: 3.5 }), 'EINVAL', /ramMiB 3.5 is not an integer/);
  });

  it('an invalid layout names the field', () => {
    const x = archs.x86_64;
    const withBits = (bits: Record<string, number>): ArchData => ({ ...x, bits: { ...x.bits, ...bits } });
    const sw = { special: true, devmap: true };
    expect(() => compileVariant(buildVariant(withBits({ DEVMAP: 9 }), '4level', 'v6.12', sw), 'v6.12'))
      .toThrow(/bits.DEVMAP equals bits.SPECIAL \(bit 9\)/);
    expect(() => compileVariant(buildVariant(withBits({ DEVMAP: 40 }), '4level', 'v6.12', sw), 'v6.12'))
      .toThrow(/pud.leafAddr mask 0xfffffc0000000 overlaps flag bits 0x10000000000/);
    const short: ArchData = { ...x, variants: { v: { ...x.variants['4level'], vaBits: 52 } } };
    expect(() => compileVariant(buildVariant(short, 'v', 'v6.12', sw), 'v6.12')).toThrow(/levels cover 48 VA bits, vaBits is 52/);
    const badTable: ArchData = { ...x, variants: { v: { ...x.variants['4level'], levels: x.variants['4level'].levels.map((l) => (l.name === 'pmd' ? { ...l, tableBytes: 2048 } : l)) } } };
    expect(() => compileVariant(buildVariant(badTable, 'v', 'v6.12', sw), 'v6.12')).toThrow(/pmd.tableBytes 2048 does not match indexBits 9 \(4096 bytes\)/);
    const unknownBit: ArchData = { ...x, ops: { ...x.ops, mkwrite: [{ set: ['WRITABLE'] }] } };
    expect(() => compileVariant(buildVariant(unknownBit, '4level', 'v6.12', sw), 'v6.12')).toThrow(/pgd.ops.mkwrite\[0\].set: unknown bit 'WRITABLE'/);
    // an era's overrides are checked as the arch's own are
    const eraKind: ArchData = { ...x, eras: [{ until: 'v6.1', bits: {}, kinds: { pmdd: { write: 'never' } } }] };
    expect(() => buildVariant(eraKind, '4level', 'v6.1', sw)).toThrow(/an era \(until v6.1\) names unknown kind 'pmdd'/);
    expect(() => buildVariant(eraKind, '4level', 'v6.12', sw)).not.toThrow();          // (outside its range it is not read)
    const eraOp: ArchData = { ...x, eras: [{ until: 'v6.1', bits: {}, ops: { wrprotect: [{ clear: ['WRITABLE'] }] } }] };
    expect(() => compileVariant(buildVariant(eraOp, '4level', 'v6.1', sw), 'v6.1')).toThrow(/ops.wrprotect\[0\].clear: unknown bit 'WRITABLE'/);
    const eraProt: ArchData = { ...x, eras: [{ until: 'v6.1', bits: {}, prot: { ...x.prot, none: ['PRESENT', 'NOPE'] } }] };
    expect(() => compileVariant(buildVariant(eraProt, '4level', 'v6.1', sw), 'v6.1')).toThrow(/prot.none.*unknown bit 'NOPE'/);
    // an era whose protections contradict its predicates is refused like the arch's own
    const eraRoWritable: ArchData = { ...x, eras: [{ until: 'v6.1', bits: {}, prot: { ...x.prot, readonly: [...x.prot.readonly, 'RW'] } }] };
    expect(() => compileVariant(buildVariant(eraRoWritable, '4level', 'v6.1', sw), 'v6.1')).toThrow(/a ro leaf \(0x[0-9a-f]+\) passes \w+_write\(\)/);
    expect(() => compileVariant(buildVariant(eraRoWritable, '4level', 'v6.12', sw), 'v6.12')).not.toThrow();   // outside its range
    // an era's SECTION_SIZE_BITS (s390's from v6.13) is checked as a variant's: an integer
    // above PAGE_SHIFT and at most MAX_PHYSMEM_BITS (46 on x86_64/4level)
    for (const bad of [Number.NaN, 2.5, 12, 0, -1, 47, 64, Infinity, '27' as never]) {
      const eraSection: ArchData = { ...x, eras: [{ until: 'v6.1', bits: {}, sectionSizeBits: bad }] };
      expect(() => compileVariant(buildVariant(eraSection, '4level', 'v6.1', sw), 'v6.1'), String(bad))
        .toThrow(/4level: sectionSizeBits .* is not an integer in pageShift \+ 1 \.\. maxPhysBits \(13\.\.46\)/);
      expect(() => compileVariant(buildVariant(eraSection, '4level', 'v6.12', sw), 'v6.12')).not.toThrow();   // outside its range
    }
    const eraSectionOk: ArchData = { ...x, eras: [{ until: 'v6.1', bits: {}, sectionSizeBits: 46 }] };
    expect(compileVariant(buildVariant(eraSectionOk, '4level', 'v6.1', sw), 'v6.1').sectionSizeBits).toBe(46);
    // gup-fast's pgd_none-only test (gup_fast_pgd_range) on a level below the top is refused
    const noneOnlyPmd: ArchData = { ...x, kinds: { ...x.kinds, pmd: { ...x.kinds.pmd, gupFastNoneOnly: true } } };
    expect(() => compileVariant(buildVariant(noneOnlyPmd, 'la57', 'v6.12', sw), 'v6.12')).toThrow(/pmd.gupFastNoneOnly: only the top level \(a real pgd\)/);
    expect(compileVariant(buildVariant(x, 'la57', 'v6.12', sw), 'v6.12').levels.map((l) => l.gupFastNoneOnly)).toEqual([true, false, false, false, false]);
    // a table address field of all 64 bits (it could name pa 2^64 - 1, which the link index cannot tell from no link)
    const wideTables: ArchData = { ...x, kinds: { ...x.kinds, pud: { ...x.kinds.pud, tableAddr: { mask: (1n << 64n) - 1n, shift: 0, paShift: 0 }, tableBits: [] } } };
    expect(() => compileVariant(buildVariant(wideTables, '4level', 'v6.12', sw), 'v6.12')).toThrow(/pud.tableAddr: a table address field of all 64 bits/);
  });

  it('the table pool exhausted in the middle of a mapping: nothing half-built', () => {
    // 1 MiB of pool: room for ~250 tables. A populated 2 GiB base-page mapping needs 1024 pte tables.
    const { m, mm } = setup({ ramMiB: 4096, tablePoolMiB: 1 });
    const before = snapshot(m, mm);
    expectError(() => mm.mmap({ start: 1n << 32n, length: 2n << 30n, populate: true }), 'ENOTABLE', /table pool exhausted/);
    expect(snapshot(m, mm)).toEqual(before);
    // a pfnmap is built at mmap time: the same, from the core's own rollback
    expectError(() => mm.mmap({ start: 1n << 32n, length: 2n << 30n, kind: 'pfnmap', pfn: 0x100000 }), 'ENOTABLE', /table pool exhausted/);
    expect(snapshot(m, mm)).toEqual(before);
    expect(m.stats().poolFreeBytes).toBe(before.pool);
    // a single fault that finds the pool empty half-way takes back the tables it had built:
    // fill the pool with pte tables (one base page per 2 MiB) until one table is left, then
    // fault in a fresh 1 GiB region, which needs a pmd table and a pte table
    const T = BigInt(m.desc.levels[1].tableBytes);
    const fill = 1n << 36n;
    mm.mmap({ start: fill, length: 1n << 30n });
    for (let i = 0n; BigInt(m.stats().poolFreeBytes) > T; i++) mm.fault(fill + (i << 21n), { write: true });
    expect(BigInt(m.stats().poolFreeBytes)).toBe(T);
    const far = (1n << 36n) + (4n << 30n);
    mm.mmap({ start: far, length: 1n << 21n });
    expectError(() => mm.fault(far, { write: true }), 'ENOTABLE', /table pool exhausted/);
    expect(BigInt(m.stats().poolFreeBytes)).toBe(T);        // the pmd table it had taken went back
    expect(m.walk(mm, far).status).toBe('none');
  });

  it('simulated RAM exhausted in a fault', () => {
    const { m, mm } = setup({ ramMiB: 16, tablePoolMiB: 4 });
    mm.mmap({ start: 1n << 32n, length: 64n * MiB });
    const before = snapshot(m, mm);
    const free = Number(m.stats().freePages);
    // populate reports how far it got; each fault before the failing one is whole
    const e = expectError(() => mm.populate(1n << 32n, 64n * MiB, { write: true }), 'ENOMEM', /simulated RAM exhausted/);
    expect(e.address).toBe((1n << 32n) + (BigInt(free) << 12n));
    expect(m.stats().freePages).toBe(0n);
    expect(m.checkInvariants()).toEqual([]);
    mm.zap(1n << 32n, 64n * MiB);
    expect(snapshot(m, mm).free).toBe(before.free);
    // the failing fault itself left no table behind
    const far = (1n << 32n) + 60n * MiB;
    const poolBefore = m.stats().poolFreeBytes;
    mm.populate(1n << 32n, BigInt(free) << 12n, { write: true });
    expectError(() => mm.fault(far, { write: true }), 'ENOMEM', /write fault at 0x103c00000/);
    expect(m.walk(mm, far).status).toBe('none');
    expect(m.stats().poolFreeBytes).toBe(poolBefore);   // the pte table it built for `far` went back
  });

  it('a partial unmap of a huge leaf', () => {
    const { m, mm } = setup();
    const before = snapshot(m, mm);
    expectError(() => mm.zap(BASE + 8n * MiB + 4096n, 4096), 'ESPLIT', /covers a huge leaf only in part/);
    expectError(() => mm.munmap(BASE + 9n * MiB, 2n * MiB), 'ESPLIT', /covers a huge leaf only in part/);
    expect(snapshot(m, mm)).toEqual(before);
  });

  it('a double unpin releases nothing', () => {
    const { m, mm, pins } = setup();
    m.unpin(pins);
    const before = snapshot(m, mm);
    expectError(() => m.unpin(pins), 'EINVAL', /page 0 \(pfn 0x[0-9a-f]+\) has no struct page or not the references to give back/);
    expectError(() => m.unpin({ pfns: [1n << 40n], pin: true }), 'EINVAL', /pfn 0x10000000000/);
    expect(snapshot(m, mm)).toEqual(before);
  });

  it('an unpin that names one page in two runs apart, more than it holds together, releases nothing', () => {
    const { m, mm, pins } = setup();
    const thp = mm.gupFast(BASE + 8n * MiB, 2, { pin: true });   // two pins on a 2 MiB folio
    const before = snapshot(m, mm);
    const refs = (l: ArrayLike<bigint>) => Array.from(l, (p) => m.page(p).refcount);
    const counts = refs(pins.pfns);
    const head = m.page(thp.pfns[0]);
    // each run alone is within what its folio holds; with the run before, the
    // second run of pins.pfns[0] (index 16) and of the THP (index 2) are not
    const small = [...pins.pfns, pins.pfns[0]];
    expectError(() => m.unpin({ pfns: small, pin: true }), 'EINVAL', /page 16 \(pfn/);
    const large = [thp.pfns[0], pins.pfns[5], thp.pfns[1], thp.pfns[0]];
    expectError(() => m.unpin({ pfns: large, pin: true }), 'EINVAL', /page 2 \(pfn/);
    expect(refs(pins.pfns)).toEqual(counts);
    expect(m.page(thp.pfns[0])).toMatchObject({ refcount: head.refcount, pincount: 2 });
    expect(snapshot(m, mm)).toEqual(before);
    m.unpin(thp);
    m.unpin(pins);
    expect(m.stats().gupOutstanding).toBe(0n);
  });

  it('raw access outside the table pool', () => {
    const { m, mm } = setup();
    const root = 0x200000n;
    // writing a raw table claims that pool memory as raw (the allocator never
    // hands it out again): claim it first, so the snapshot sees only what follows
    m.writePhys(root, m.readPhys(root, 4096));
    const before = snapshot(m, mm);
    expectError(() => m.writePhys(4n * MiB - 4n, new Uint8Array(8)), 'ERANGE', /\[0x3ffffc, 0x400004\) is outside the table pool \[0, 0x400000\)/);
    expectError(() => m.readPhys(1n << 40n, 8), 'ERANGE', /outside the table pool/);
    expectError(() => m.walkRaw(4n * MiB, 0), 'ERANGE', /walkRaw/);
    // a raw table whose entry points outside the pool: the walk reports it, no stray access
    const saved = m.readPhys(root, 4096);
    m.writePhys(root, m.entryBytes([(1n << 40n) | 0x67n]));
    const w = m.walkRaw(root, 0);
    expect(w.status).toBe('bad-table');
    expect(w.level).toBe(1);
    m.writePhys(root, saved);
    expect(snapshot(m, mm)).toEqual(before);
  });

  it('a trap in the core becomes an Error with the operation and address', () => {
    const { m, mm } = setup();
    const before = snapshot(m, mm);
    const bogus = new Mm(m, 0x7fff_fff0, 0n);   // a corrupted handle: the core reads outside memory
    const e = expectError(() => bogus.fault(0x1234000n), 'ETRAP', /core trapped in fault at 0x1234000: memory access out of bounds/);
    expect(e.op).toBe('fault');
    expect(e.address).toBe(0x1234000n);
    expect(e.cause).toBeInstanceOf(WebAssembly.RuntimeError);
    expect(snapshot(m, mm)).toEqual(before);
  });
});
