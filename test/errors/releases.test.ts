// Every release and every handle is checked: a refused release is a
// PgtemuError naming the pfn (or handle) and why, and changes nothing
// (stats, every touched struct page, the walks).
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/index.js';
import { BASE, MiB, expectError, setup, snapshot } from '../helpers/snapshot.js';

const THP = BASE + 8n * MiB;
const TOO_BIG = 1n << 64n;

describe('releases are checked against what was taken', () => {
  it('put of a mapped page never taken: the mapping owns its reference', () => {
    const { m, mm } = setup();
    const pfn = m.walk(mm, BASE + 3n * MiB).pfn!;                  // mapped, refcount 1, never gup'd
    const before = snapshot(m, mm, [pfn]);
    expect(before.pages![0]).toMatchObject({ refcount: 1, mapcount: 0 });
    expectError(() => m.put({ pfns: [pfn] }), 'EINVAL',
      new RegExp(`put: page 0 \\(pfn 0x${pfn.toString(16)}\\) has no struct page or not the references to give back \\(1 references, 1 of them its mappings'\\)`));
    const head = m.walk(mm, THP).pfn!;                               // a THP: its one pmd mapping owns its reference
    expectError(() => m.put({ pfns: [head + 3n] }), 'EINVAL', /references: 1 for its mappings, 0 pins, 0 gets/);
    expect(snapshot(m, mm, [pfn])).toEqual(before);
  });

  it('put of a pin result, as a handle or as its pfns', () => {
    const { m, mm, pins } = setup();
    const thp = mm.gupFast(THP, 4, { pin: true });
    const touched = [...pins.pfns, thp.pfns[0]];
    const before = snapshot(m, mm, touched);
    expectError(() => m.put(pins), 'EINVAL', /put: this GupResult holds FOLL_PIN pins \(pin_user_pages_fast\); give it back with unpin/);
    expectError(() => m.put(thp), 'EINVAL', /holds FOLL_PIN pins/);
    // a large folio's pins are counted apart: its pfns as gets are refused too
    expectError(() => m.put({ pfns: thp.pfns }), 'EINVAL', /page 0 .*4 pins, 0 gets/);
    expect(snapshot(m, mm, touched)).toEqual(before);
    m.unpin(thp);
    m.unpin(pins);
    expect(m.checkInvariants()).toEqual([]);
  });

  it('a double put or unpin of a handle', () => {
    const { m, mm, pins } = setup();
    const gets = mm.gupFast(BASE + MiB, 8);
    m.put(gets);
    m.unpin(pins);
    const before = snapshot(m, mm, [...gets.pfns, ...pins.pfns]);
    expectError(() => m.put(gets), 'EINVAL', /put: page 0 \(pfn 0x[0-9a-f]+\) .*this GupResult was already released/);
    expectError(() => m.unpin(gets), 'EINVAL', /this GupResult was already released/);
    expectError(() => m.unpin(pins), 'EINVAL', /unpin: .*this GupResult was already released/);
    // a copy of a released result is a plain list: checked against the counts, refused as well
    expectError(() => m.put({ ...gets }), 'EINVAL', /put: page 0 .*1 references, 1 of them its mappings'/);
    expect(snapshot(m, mm, [...gets.pfns, ...pins.pfns])).toEqual(before);
  });

  it('a handle releases what it took, not what its array says now', () => {
    const { m, mm, pins } = setup();
    const other = m.walk(mm, BASE + 2n * MiB).pfn!;
    const taken = pins.pfns[0];
    pins.pfns[0] = other;                                            // the caller's array is theirs
    expect(Object.isFrozen(pins)).toBe(true);
    m.unpin(pins);
    expect(m.page(taken).refcount).toBe(1);
    expect(m.page(other).refcount).toBe(1);
    expect(m.stats().gupOutstanding).toBe(0n);
    expect(m.checkInvariants()).toEqual([]);
  });

  it.each([
    ['one run of a THP', { runs: true }, /unpin: the run at entry 0 \(pfn 0x[0-9a-f]+\) .*its folio has no pins/],
    ['three pfns of a THP', {}, /unpin: page 0 \(pfn 0x[0-9a-f]+\) .*its folio has no pins/],
  ])('a handle whose release was refused is still taken, and goes back once its counts allow: %s', (_, form, refused) => {
    const { m, mm } = setup();
    const pins = mm.gupFast(THP, 3, { pin: true, ...form });
    const head = m.walk(mm, THP).pfn!;
    m.unpin({ pfns: [head, head + 1n, head + 2n] });                   // a plain list gives the pins back first
    // the handle's pfns are the caller's to write; its releases read the record it was taken with
    const other = m.walk(mm, BASE).pfn!;                               // pinned by setup: 1 + 1024
    const otherBefore = m.page(other);
    pins.pfns.fill(other);
    const before = snapshot(m, mm, [head]);
    expectError(() => m.unpin(pins), 'EINVAL', refused);
    expect(snapshot(m, mm, [head])).toEqual(before);
    const again = mm.gupFast(THP, 3, { pin: true });                   // three pins on the folio again
    m.unpin(pins);                                                     // the handle's entries are intact: released
    expect(m.page(other)).toEqual(otherBefore);
    expectError(() => m.unpin(again), 'EINVAL', /its folio has no pins/);
    expect(m.page(head)).toMatchObject({ pincount: 0 });
    expect(m.checkInvariants()).toEqual([]);
  });

  it('results whose pfns share one buffer: writing all of it changes no release', () => {
    const { m, mm, pins } = setup();
    const more = mm.gupFast(BASE + 16n * 4096n, 16, { pin: true });
    const taken = [...pins.pfns, ...more.pfns];
    // 16 pfns are 128 bytes: copies of that size share a slab (gupresult.ts copyOut)
    expect(more.pfns.buffer).toBe(pins.pfns.buffer);
    new BigUint64Array(pins.pfns.buffer).fill(taken[0]);            // every result's copy, at once
    expect(more.pfns[5]).toBe(taken[0]);
    m.unpin(more);
    m.unpin(pins);
    for (const pfn of taken) expect(m.page(pfn).refcount).toBe(1);
    expect(m.stats().gupOutstanding).toBe(0n);
    // an object inheriting a result's fields is not the result: a plain list, checked and refused
    const again = mm.gupFast(BASE, 2, { pin: true });
    const heir = (o: PropertyDescriptorMap) => Object.create(again, { pfns: { value: [taken[20]], enumerable: true }, ...o });
    expectError(() => m.unpin(heir({})), 'EINVAL', /unpin: 2 pages but 1 pfns given/);
    expectError(() => m.unpin(heir({ nr: { value: 1, enumerable: true } })), 'EINVAL', /unpin: page 0 .*fewer than one pin/);
    m.unpin(again);
    expect(m.checkInvariants()).toEqual([]);
  });

  it('put or unpin of a table-pool frame or the zero page', () => {
    const { m, mm } = setup();
    const root = mm.rootPa >> 12n;                                   // a table in the pool (PG_reserved)
    const zero = BigInt(m.poolBytes >> 12);                          // the zero page follows the pool
    expect(m.page(zero)).toMatchObject({ reserved: true, refcount: 1 });
    const before = snapshot(m, mm, [root, zero]);
    expectError(() => m.put({ pfns: [root] }), 'EINVAL', new RegExp(`pfn 0x${root.toString(16)}\\) .*a table-pool frame \\(PG_reserved\\): gup never hands one out`));
    expectError(() => m.unpin({ pfns: [root], pin: true }), 'EINVAL', /a table-pool frame/);
    expectError(() => m.put({ pfns: [zero] }), 'EINVAL', new RegExp(`pfn 0x${zero.toString(16)}\\) .*the zero page: only its own reference is left`));
    expect(snapshot(m, mm, [root, zero])).toEqual(before);
  });

  it('unpin of pins a page does not have', () => {
    const { m, mm } = setup();
    const small = m.walk(mm, BASE + 2n * MiB).pfn!;
    const head = m.walk(mm, THP).pfn!;
    const gets = mm.gupFast(BASE + 2n * MiB, 1);                    // a get is not a pin
    const before = snapshot(m, mm, [small, head]);
    expectError(() => m.unpin({ pfns: [small], pin: true }), 'EINVAL', /page 0 .*1 references beyond its 1 mappings, fewer than one pin \(1024\)/);
    expectError(() => m.unpin({ pfns: [head + 7n], pin: true }), 'EINVAL', /its folio has no pins/);
    expect(snapshot(m, mm, [small, head])).toEqual(before);
    m.put(gets);
  });

  it('pfns of 2^64 and above do not alias pfn mod 2^64', () => {
    const { m, mm, pins } = setup();
    const pfn = pins.pfns[0];
    const before = snapshot(m, mm, [pfn]);
    expectError(() => m.unpin({ pfns: [pfn + TOO_BIG], pin: true }), 'EINVAL', new RegExp(`unpin: page 0 \\(pfn 0x1${'0'.repeat(16 - pfn.toString(16).length)}${pfn.toString(16)}\\) is not a pfn`));
    expectError(() => m.put({ pfns: [pins.pfns[1], pfn + TOO_BIG] }), 'EINVAL', /put: page 1 .* is not a pfn .*nothing was released/);
    expectError(() => m.unpin({ pfns: [-1n] }), 'EINVAL', /unpin: page 0 \(pfn -1n\) is not a pfn/);
    expectError(() => m.unpin({ pfns: [1.5 as unknown as bigint] }), 'EINVAL', /pfn 1.5\) is not a pfn/);
    expectError(() => m.page(pfn + TOO_BIG), 'EINVAL', /page: pfn: 0x1[0-9a-f]{16} is not a 64-bit value/);
    expectError(() => m.page(-1), 'EINVAL', /page: pfn: -0x1 is not a 64-bit value/);
    expectError(() => m.inject(pfn + TOO_BIG, 'refcount', 0), 'EINVAL', /inject: pfn: 0x1[0-9a-f]{16} is not a 64-bit value/);
    expect(snapshot(m, mm, [pfn])).toEqual(before);
  });

  it('release arguments of the wrong shape', () => {
    const { m, mm, pins } = setup();
    const before = snapshot(m, mm, [...pins.pfns]);
    expectError(() => m.unpin(null as never), 'EINVAL', /unpin: expected a GupResult or \{ pfns \}, got null/);
    expectError(() => m.put(7 as never), 'EINVAL', /put: expected a GupResult or \{ pfns \}, got 7/);
    expectError(() => m.unpin({ pfns: 'abc' as never }), 'EINVAL', /unpin: option 'pfns' is 'abc', not an object/);
    expectError(() => m.unpin({ pfns: 7 } as never), 'EINVAL', /unpin: option 'pfns' is 7, not an object/);
    expectError(() => m.put({ pfns: { length: 1, 0: pins.pfns[0] } } as never), 'EINVAL', /put: pfns is an object \(Object\), not an array or BigUint64Array/);
    expectError(() => m.unpin({ pfns: [pins.pfns[0]], pinned: true } as never), 'EINVAL', /unpin: unknown option 'pinned' \(options: pfns, nr, pin/);
    expectError(() => m.unpin({ pfns: [pins.pfns[0]], pin: 'yes' } as never), 'EINVAL', /option 'pin' is 'yes', not a boolean/);
    expectError(() => m.unpin({ pfns: [pins.pfns[0]], nr: 2 }), 'EINVAL', /unpin: 2 pages but 1 pfns given/);
    expect(snapshot(m, mm, [...pins.pfns])).toEqual(before);
  });
});

describe('handles belong to one machine', () => {
  it('a GupResult or Mm of another machine is refused', () => {
    const { m, mm, pins } = setup();
    const other = setup();
    const gets = mm.gupFast(BASE, 1);
    const before = snapshot(m, mm, [...pins.pfns]);
    const otherBefore = snapshot(other.m, other.mm, [...other.pins.pfns]);
    expectError(() => other.m.unpin(pins), 'EINVAL', /unpin: this GupResult was taken by another machine/);
    expectError(() => other.m.put(gets), 'EINVAL', /put: this GupResult was taken by another machine/);
    expectError(() => other.m.walk(mm, BASE), 'EINVAL', /walk: this address space belongs to another machine/);
    expectError(() => m.walk({ ptr: 0 } as never, BASE), 'EINVAL', /walk: an object \(Object\) is not an address space \(Mm\)/);
    expect(snapshot(other.m, other.mm, [...other.pins.pfns])).toEqual(otherBefore);
    expect(snapshot(m, mm, [...pins.pfns])).toEqual(before);
  });
});

describe('arguments are checked, never a raw TypeError or a silent acceptance', () => {
  it('addresses beyond 64 bits, negative, NaN, Infinity, fractions', () => {
    const { m, mm } = setup();
    const before = snapshot(m, mm);
    expectError(() => m.walk(mm, TOO_BIG + BASE), 'EINVAL', /walk: address: 0x10000000040000000 is not a 64-bit value/);
    expectError(() => m.walk(mm, -4096n), 'EINVAL', /walk: address: -0x1000 is not a 64-bit value/);
    expectError(() => m.walkRaw(0, TOO_BIG), 'EINVAL', /walkRaw: address: 0x10000000000000000 is not a 64-bit value/);
    expectError(() => mm.fault(Number.NaN), 'EINVAL', /fault: address: NaN is not an integer/);
    expectError(() => mm.fault(-1n), 'EINVAL', /fault: address -0x1 is not a canonical user address/);
    expectError(() => mm.munmap(1.5, 4096), 'EINVAL', /munmap: start: 1.5 is not an integer/);
    expectError(() => mm.zap(BASE, Infinity), 'EINVAL', /zap: length: Infinity is not an integer/);
    expectError(() => mm.populate(BASE, 4096n, { write: 1 } as never), 'EINVAL', /populate: option 'write' is 1, not a boolean/);
    expectError(() => mm.gupFast(BASE, Number.NaN), 'EINVAL', /gupFast: nr NaN is not in 1\.\./);
    expectError(() => mm.gupFast(TOO_BIG + BASE, 1), 'EINVAL', /gupFast: address 0x10000000040000000 is not a canonical user address/);
    expectError(() => m.readPhys(0, Infinity), 'EINVAL', /readPhys: length Infinity is not a non-negative integer/);
    expectError(() => m.refcounts(BASE >> 12n, -1), 'EINVAL', /refcounts: n -1 is not an integer/);
    expectError(() => m.opRecord(1.5), 'EINVAL', /opRecord: id 1.5 is not a 32-bit operation id/);
    expectError(() => m.decode(5 as never), 'EINVAL', /decode: entry 5 is not a bigint/);
    expectError(() => m.decode(5n, 1.5), 'EINVAL', /decode: level 1.5 does not exist/);
    expectError(() => m.writePhys(0x100000n, 'abc' as never), 'EINVAL', /writePhys: bytes is 'abc', not a Uint8Array/);
    expectError(() => m.entryBytes([1n, 2 as never]), 'EINVAL', /entryBytes: values\[1\] is 2, not a bigint/);
    expect(snapshot(m, mm)).toEqual(before);
  });

  it('null, undefined or unknown options', async () => {
    const { m, mm } = setup();
    const before = snapshot(m, mm);
    expectError(() => mm.gupFast(BASE, 1, null as never), 'EINVAL', /gupFast: options must be an object, not null/);
    expectError(() => mm.gupFast(BASE, 1, { pinned: true } as never), 'EINVAL', /gupFast: unknown option 'pinned' \(options: pin, write, longterm, fastOnly, noFault, pciP2pdma\)/);
    expectError(() => mm.mmap(undefined as never), 'EINVAL', /mmap: options must be an object, not undefined/);
    expectError(() => mm.mmap({ start: BASE + 64n * MiB, length: 4096, populated: true } as never), 'EINVAL', /mmap: unknown option 'populated' \(options: start, length, kind, hugeOrder/);
    expectError(() => mm.mmap({ start: BASE + 64n * MiB, length: 4096, hugeOrder: '9' } as never), 'EINVAL', /option 'hugeOrder' is '9', not a number/);
    expectError(() => mm.fault(BASE, null as never), 'EINVAL', /fault: options must be an object, not null/);
    expectError(() => Machine.createSync(null as never), 'EINVAL', /Machine.create: options must be an object, not null/);
    expectError(() => Machine.createSync(undefined as never), 'EINVAL', /Machine.create: options must be an object, not undefined/);
    await expect(Machine.create(null as never)).rejects.toThrow(/Machine.create: options must be an object, not null/);
    expectError(() => Machine.createSync({ arch: 'x86_64', ramMB: 64 } as never), 'EINVAL',
      /Machine.create: unknown option 'ramMB' \(options: arch, variant, kernel, model, special, devmap, ramMiB, tablePoolMiB, threads, maxMms, vmasPerMm, pgmapPageRefs, devmapCode, daxHugeSpecial, fsDaxLimited, whatIf, deviceMemmapMiB, daxFilesMiB\)/);
    expectError(() => Machine.createSync({ arch: 'x86_64', ramMiB: Number.NaN }), 'EINVAL', /option 'ramMiB' is NaN, not a number/);
    expectError(() => Machine.createSync({ arch: 'x86_64', special: 'no' as never }), 'EINVAL', /option 'special' is 'no', not a boolean/);
    // keys an object's prototype has, own or inherited, are not options (the tables have no prototype)
    for (const k of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf']) {
      expectError(() => mm.gupFast(BASE, 1, JSON.parse(`{"${k}": true}`)), 'EINVAL', new RegExp(`gupFast: unknown option '${k}'`));
    }
    expectError(() => mm.gupFast(BASE, 1, Object.create({ pinned: true })), 'EINVAL', /gupFast: unknown option 'pinned'/);   // inherited, enumerable
    expectError(() => mm.gupFast(BASE, 1, { into: null } as never), 'EINVAL', /gupFast: option 'into' is null, not an object/);
    expect(snapshot(m, mm)).toEqual(before);
  });

  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty'])('%s as an arch, variant or kernel name', (name) => {
    expectError(() => Machine.createSync({ arch: name }), 'EUNKNOWN', new RegExp(`unknown arch '${name}' \\(archs: x86_64`));
    expectError(() => Machine.createSync({ arch: 'x86_64', variant: name }), 'EUNKNOWN', new RegExp(`unknown x86_64 variant '${name}' \\(variants: 4level, la57\\)`));
    expectError(() => Machine.createSync({ arch: 'arm64', kernel: name }), 'EUNKNOWN', new RegExp(`unknown kernel preset '${name}' \\(presets: v6.0, v6.1`));
  });
});
