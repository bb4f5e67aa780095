// The worst inputs to memremapPages, the Pgmap handle and the era switches:
// each is refused with a PgtemuError naming it, and leaves the machine as it was.
import { describe, expect, it } from 'vitest';
import { Machine, type Pgmap } from '../../src/index.js';
import { expectError } from '../helpers/snapshot.js';

const GiB = 1n << 30n;
const SEC = 128n << 20n;                    // x86_64 SECTION_SIZE_BITS 27
const DEV = 64n * GiB;                      // far above RAM

function x86(extra: Record<string, unknown> = {}): Machine {
  return Machine.createSync({ arch: 'x86_64', kernel: 'v6.12', ramMiB: 16, tablePoolMiB: 2, deviceMemmapMiB: 16, ...extra });
}

/** What a refusal must leave alone: the memmap arena, the pgmaps' counts, the checker's verdict. */
function state(m: Machine, pgmaps: Pgmap[] = []) {
  return {
    arenaNext: m.rd(m.headerPtr, 'Header', 'memmapArenaNext'),
    pgmaps: pgmaps.map((p) => p.stats()),
    violations: m.checkInvariants().map((v) => v.name),
  };
}

describe('memremapPages refuses bad ranges, naming them, and changes nothing', () => {
  it('starts and sizes that are no 64-bit value: 2^64, -1, NaN, fractions, strings', () => {
    const m = x86();
    const before = state(m);
    for (const start of [1n << 64n, (1n << 64n) + DEV, -1n, -1, Number.NaN, 1.5, Infinity]) {
      expectError(() => m.memremapPages({ type: 'devdax', start, size: SEC }), 'EINVAL', /memremapPages: start/);
    }
    for (const size of [1n << 64n, -SEC, Number.NaN, 0.5]) {
      expectError(() => m.memremapPages({ type: 'devdax', start: DEV, size }), 'EINVAL', /memremapPages: size/);
    }
    expectError(() => m.memremapPages({ type: 'devdax', start: '0x1000' as never, size: SEC }), 'EINVAL', /option 'start' is '0x1000', not a bigint or number/);
    expect(state(m)).toEqual(before);
  });

  it('size 0, and enormous sizes: beyond MAX_PHYSMEM_BITS, wrapping past 2^64', () => {
    const m = x86();
    const before = state(m);
    expectError(() => m.memremapPages({ type: 'devdax', start: DEV, size: 0 }), 'EINVAL', /size 0: a pgmap covers at least one memory section/);
    expectError(() => m.memremapPages({ type: 'devdax', start: DEV, size: 1n << 63n }), 'EINVAL', /reaches beyond MAX_PHYSMEM_BITS \(46\)/);
    expectError(() => m.memremapPages({ type: 'devdax', start: (1n << 64n) - SEC, size: SEC }), 'EINVAL', /beyond MAX_PHYSMEM_BITS/);
    expectError(() => m.memremapPages({ type: 'devdax', start: (1n << 46n) - SEC, size: 2n * SEC }), 'EINVAL', /beyond MAX_PHYSMEM_BITS/);
    expect(state(m)).toEqual(before);
    // the last section below MAX_PHYSMEM_BITS is fine
    const pg = m.memremapPages({ type: 'devdax', start: (1n << 46n) - SEC, size: SEC });
    expect(m.page(pg.endPfn - 1n).refcount).toBe(1);
  });

  it('misaligned to the section or to the folio; folio orders a variant cannot have', () => {
    const m = x86();
    const before = state(m);
    expectError(() => m.memremapPages({ type: 'devdax', start: DEV + 4096n, size: SEC }), 'EINVAL', /start 0x1000001000 is not a multiple of the memory section \(SECTION_SIZE_BITS\), 0x8000000 on x86_64\/4level/);
    expectError(() => m.memremapPages({ type: 'devdax', start: DEV, size: SEC + 4096n }), 'EINVAL', /size 0x8001000 is not a multiple of the memory section/);
    expectError(() => m.memremapPages({ type: 'devdax', start: DEV, size: SEC, folioOrder: 18 }), 'EINVAL', /size 0x8000000 is not a multiple of the folio size 0x40000000 \(folioOrder 18\)/);
    expectError(() => m.memremapPages({ type: 'devdax', start: DEV + SEC, size: GiB, folioOrder: 18 }), 'EINVAL', /start 0x1008000000 is not a multiple of the folio size/);
    for (const folioOrder of [3, -1, 1.5, 64]) {
      expectError(() => m.memremapPages({ type: 'devdax', start: DEV, size: SEC, folioOrder }), 'EINVAL', /folioOrder .* is not a folio order device memory can have on x86_64\/4level \(0, 9, 18:/);
    }
    expectError(() => m.memremapPages({ type: 'devdax', start: DEV, size: SEC, folioOrder: Number.NaN }), 'EINVAL', /option 'folioOrder' is NaN, not a number/);
    expectError(() => m.memremapPages({ type: 'device-private', start: DEV, size: SEC, folioOrder: 9 }), 'EINVAL', /only device-DAX pgmaps have compound folios .*"we don't expect anonymous compound pages yet"\); folioOrder 9 refused for device-private/);
    expectError(() => m.memremapPages({ type: 'fsdax', start: DEV, size: SEC, folioOrder: 9 }), 'EINVAL', /only device-DAX pgmaps have compound folios \(drivers\/dax\/device.c sets vmemmap_shift; its driver does not\); folioOrder 9 refused for fsdax/);
    expect(state(m)).toEqual(before);
  });

  it('a range over RAM, and one overlapping a pgmap (wholly, in part, at either end)', () => {
    const m = x86();
    const pg = m.memremapPages({ type: 'fsdax', start: DEV, size: 2n * SEC });
    const before = state(m, [pg]);
    expectError(() => m.memremapPages({ type: 'devdax', start: 0, size: SEC }), 'EINVAL', /overlaps System RAM \[0, 0x1000000\) \(region_intersects/);
    for (const [start, size] of [[DEV, 2n * SEC], [DEV - SEC, 2n * SEC], [DEV + SEC, 2n * SEC], [DEV - SEC, 4n * SEC]]) {
      expectError(() => m.memremapPages({ type: 'devdax', start, size }), 'EEXIST', /overlaps the fsdax pgmap at \[0x1000000000, 0x1010000000\) \("Conflicting mapping in same section"\)/);
    }
    expect(state(m, [pg])).toEqual(before);
    // right next to it is fine
    m.memremapPages({ type: 'devdax', start: DEV + 2n * SEC, size: SEC });
  });

  it('unknown types and options, and options of the wrong shape', () => {
    const m = x86();
    const before = state(m);
    for (const type of ['dax', 'FS_DAX', '', 3, undefined, '__proto__', 'toString']) {
      expectError(() => m.memremapPages({ type: type as never, start: DEV, size: SEC }), 'EINVAL', /memremapPages: (type .* is not a pgmap type \(fsdax, devdax, device-private, device-coherent, p2pdma\)|option 'type' is)/);
    }
    expectError(() => m.memremapPages({ type: 'devdax', start: DEV, size: SEC, order: 9 } as never), 'EINVAL', /memremapPages: unknown option 'order' \(options: type, start, size, folioOrder\)/);
    for (const o of [null, undefined, [], 'devdax']) expectError(() => m.memremapPages(o as never), 'EINVAL', /memremapPages: options must be an object/);
    expectError(() => m.memremapPages({ type: 'devdax', start: DEV } as never), 'EINVAL', /'start' and 'size' are required/);
    expect(state(m)).toEqual(before);
  });

  it('a range whose struct pages do not fit: 1 TiB of 4 KiB pages needs 18 GiB of memmap, of vmemmap-optimised 2 MiB folios 128 MiB; the limit says which', () => {
    const m = x86();
    const before = state(m);
    const e = expectError(() => m.memremapPages({ type: 'fsdax', start: 1n << 40n, size: 1n << 40n }), 'ENOMEM',
      /0x10000000000 bytes of device memory need 18432 MiB of struct pages and checker counters \(72 bytes per 4096-byte page\), and 16\.\d MiB of the machine's memmap is left \(Machine.create option deviceMemmapMiB/);
    expect(e.message).toMatch(/Only device-DAX folios whose struct pages span more than two pages are vmemmap-optimised \(vmemmap_can_optimize, on x86_64, ppc64 and riscv\)/);
    expectError(() => m.memremapPages({ type: 'devdax', start: 1n << 40n, size: 1n << 40n, folioOrder: 9 }), 'ENOMEM',
      /need 128\.0 MiB of struct pages and checker counters \(256 bytes per vmemmap-optimised folio\), and 16\.\d MiB/);
    expect(state(m)).toEqual(before);
    // what does fit is used to the end
    const pg = m.memremapPages({ type: 'devdax', start: DEV, size: SEC });
    expect(pg.stats().state).toBe('live');
  });

  it('the pgmap table is full: the 65th pgmap is refused (ENOSPC) until one is unmapped', async () => {
    const m = Machine.createSync({ arch: 'ppc64', variant: 'radix-64k', ramMiB: 64, tablePoolMiB: 4, deviceMemmapMiB: 4 });
    const sec = 16n << 20n;
    const pgs = Array.from({ length: 64 }, (_, i) => m.memremapPages({ type: 'p2pdma', start: DEV + BigInt(i) * sec, size: sec }));
    const before = state(m);
    expectError(() => m.memremapPages({ type: 'p2pdma', start: DEV + 64n * sec, size: sec }), 'ENOSPC', /all 64 pgmap slots are in use/);
    expect(state(m)).toEqual(before);
    await pgs[5].unmap();
    const again = m.memremapPages({ type: 'p2pdma', start: DEV + 64n * sec, size: sec });
    expect(again.stats().state).toBe('live');
    // the reused slot's old handle knows it is gone
    expectError(() => pgs[5].get(), 'EINVAL', /was unmapped/);
    expect(pgs[5].stats()).toMatchObject({ state: 'destroyed', ref: 0n, dead: true, pageFree: 0n });
    expect(again.stats()).toMatchObject({ state: 'live', ref: 257n, dead: false });   // 1 + pfn_len: 16 MiB of 64 KiB pages
    expect(m.checkInvariants()).toEqual([]);
  });
});

describe('the Pgmap handle', () => {
  it('unmap twice: while draining and after; a foreign machine, a fake handle', async () => {
    const m = x86();
    const other = x86();
    const pg = m.memremapPages({ type: 'devdax', start: DEV, size: SEC });
    expectError(() => other.memunmapPages(pg), 'EINVAL', /memunmapPages: this pgmap belongs to another machine/);
    for (const fake of [{}, null, 7, { type: 'devdax', start: DEV }]) {
      expectError(() => m.memunmapPages(fake as never), 'EINVAL', /memunmapPages: .* is not a Pgmap/);
    }
    pg.get();
    const done = pg.unmap();
    expectError(() => pg.unmap(), 'EINVAL', /is already being unmapped \(memunmap_pages twice\)/);
    pg.put();
    await done;
    expectError(() => pg.unmap(), 'EINVAL', /is already unmapped \(memunmap_pages twice\)/);
    expectError(() => m.memunmapPages(pg), 'EINVAL', /already unmapped/);
    expect(m.checkInvariants()).toEqual([]);
    expect(other.checkInvariants()).toEqual([]);
  });

  it('every use after unmap is refused; stats still say what happened', async () => {
    const m = x86();
    const pg = m.memremapPages({ type: 'device-private', start: DEV, size: SEC });
    await pg.unmap();
    for (const f of [() => pg.get(), () => pg.put(), () => pg.tryget(), () => pg.trygetLive(), () => pg.count(),
      () => pg.pageInit(pg.startPfn), () => pg.pagePut(pg.startPfn)]) {
      expectError(f, 'EINVAL', /the device-private pgmap at 0x1000000000 was unmapped \(memunmap_pages\); its struct pages are gone/);
    }
    expect(pg.stats()).toMatchObject({ state: 'destroyed', dead: true, ref: 0n });
    expectError(() => m.page(pg.startPfn), 'EINVAL', /has no struct page/);
    expectError(() => m.inject(pg.startPfn, 'refcount', 1), 'EINVAL', /has no struct page/);
    expect(m.checkInvariants()).toEqual([]);
  });

  it('percpu_ref misuse: a put without its get, counts of 0, 2^31, fractions; a get on a drained ref', async () => {
    const m = x86();
    const pg = m.memremapPages({ type: 'device-private', start: DEV, size: SEC });
    const before = state(m, [pg]);
    expectError(() => pg.put(2), 'EINVAL', /percpu_ref holds 1, fewer than 2 \(a put without its get\)/);
    for (const n of [0, -1, 2 ** 31, 1.5, Number.NaN]) expectError(() => pg.get(n), 'EINVAL', /get: n .* is not a count of references/);
    expect(state(m, [pg])).toEqual(before);
  });

  it('driver pages: a type without zone_device_page_init, a pfn outside, a page allocated twice, a put of a page never allocated, allocation once unmapping began', async () => {
    const m = x86();
    const dax = m.memremapPages({ type: 'fsdax', start: DEV, size: SEC });
    const prv = m.memremapPages({ type: 'device-coherent', start: DEV + SEC, size: SEC });
    const before = state(m, [dax, prv]);
    expectError(() => dax.pageInit(dax.startPfn), 'EINVAL', /zone_device_page_init is for device-private and device-coherent pages, not fsdax/);
    for (const pfn of [prv.startPfn - 1n, prv.endPfn, 1n << 64n, -1]) expectError(() => prv.pageInit(pfn), 'EINVAL', /pageInit: pfn/);
    expectError(() => prv.pagePut(prv.startPfn), 'EINVAL', /is not a page the driver holds/);
    expect(state(m, [dax, prv])).toEqual(before);
    expect(prv.pageInit(prv.startPfn)).toBe(1);
    const mid = state(m, [dax, prv]);
    expectError(() => prv.pageInit(prv.startPfn), 'EBUSY', /is not a free page of this pgmap/);
    expect(state(m, [dax, prv])).toEqual(mid);
    const done = prv.unmap();
    expectError(() => prv.pageInit(prv.startPfn + 1n), 'EINVAL', /the pgmap is dying: memunmap_pages has begun/);
    expect(prv.pagePut(prv.startPfn)).toBe(true);
    await done;
    expect(m.checkInvariants()).toEqual([]);
  });
});

describe('era switches in Machine.create', () => {
  it('are validated: wrong types, unknown what-ifs, and combinations no kernel had', () => {
    expectError(() => x86({ pgmapPageRefs: 'yes' }), 'EINVAL', /option 'pgmapPageRefs' is 'yes', not a boolean/);
    expectError(() => x86({ devmapCode: 1 }), 'EINVAL', /option 'devmapCode' is 1, not a boolean/);
    expectError(() => x86({ whatIf: 'no-devmap' }), 'EUNKNOWN', /unknown what-if 'no-devmap' \(what-ifs: devmap-less-zone-device\)/);
    expectError(() => x86({ whatIf: 'devmap-less-zone-device', kernel: 'v6.17' }), 'EINVAL', /without the devmap code .* the what-if changes nothing/);
    expectError(() => x86({ whatIf: 'devmap-less-zone-device', kernel: 'v6.15' }), 'EINVAL', /is a model of legacy refcounts/);
    expectError(() => x86({ fsDaxLimited: true }), 'EINVAL', /FS_DAX_LIMITED is s390's .* not x86_64's/);
    expectError(() => x86({ devmapCode: false }), 'EINVAL', /a devmap bit needs the devmap code/);
    expectError(() => Machine.createSync({ arch: 's390', kernel: 'v6.12', whatIf: 'devmap-less-zone-device', fsDaxLimited: true }), 'EINVAL', /replaces FS_DAX_LIMITED/);
    expectError(() => x86({ deviceMemmapMiB: Number.NaN }), 'EINVAL', /option 'deviceMemmapMiB' is NaN, not a number/);
    for (const deviceMemmapMiB of [-1, 3073, 1.5]) {
      expectError(() => x86({ deviceMemmapMiB }), 'EINVAL', /deviceMemmapMiB .* is not an integer in 0\.\.3072/);
    }
    expectError(() => x86({ zoneDevice: true }), 'EINVAL', /unknown option 'zoneDevice'/);
    // devmapCode false with the devmap bit off too is v6.17's shape on a v6.12 machine: ZONE_DEVICE without the bit
    expect(x86({ devmapCode: false, devmap: false }).era).toMatchObject({ devmapCode: false, zoneDevice: true });
  });

  it('deviceMemmapMiB 0: no device memory at all, said as such', () => {
    const m = x86({ deviceMemmapMiB: 0 });
    expectError(() => m.memremapPages({ type: 'devdax', start: DEV, size: SEC }), 'ENOMEM', /and 0\.0 MiB of the machine's memmap is left/);
  });
});

describe('the core refuses on its own what the host checks (a caller that skips the host)', () => {
  it('memremapPages below RAM, misaligned, past MAX_PHYSMEM_BITS or 2^64, of no type, overlapping; pgmap operations on no pgmap or a stale generation', () => {
    const m = x86();
    const E_INVAL = -22, E_EXIST = -17;
    const ps = 12n;
    const secPfns = SEC >> ps;
    const call = (startPfn: bigint, nrPages: bigint, type = 4, order = 0) => m.calls.call('memremapPages', { startPfn, nrPages, type, order }).status;
    const before = state(m);
    expect(call(0n, secPfns)).toBe(E_INVAL);                                   // RAM
    expect(call((DEV >> ps) + 1n, secPfns)).toBe(E_INVAL);                     // section
    expect(call(DEV >> ps, secPfns, 4, 18)).toBe(E_INVAL);                     // folio
    expect(call(DEV >> ps, secPfns, 1, 9)).toBe(E_INVAL);                      // compound private
    expect(call(DEV >> ps, secPfns, 3, 9)).toBe(E_INVAL);                      // compound fsdax
    expect(call(DEV >> ps, 0n)).toBe(E_INVAL);
    expect(call(DEV >> ps, (1n << 64n) - (DEV >> ps))).toBe(E_INVAL);          // wraps
    expect(call((1n << 64n) - secPfns, secPfns)).toBe(E_INVAL);
    for (const type of [0, 6, 0xffffffff]) expect(call(DEV >> ps, secPfns, type)).toBe(E_INVAL);
    expect(call(DEV >> ps, secPfns, 4, 40)).toBe(E_INVAL);
    expect(state(m)).toEqual(before);
    const ok = m.calls.call('memremapPages', { startPfn: DEV >> ps, nrPages: secPfns, type: 4, order: 0 });
    expect(ok.status).toBe(0);
    const { pgmap, gen } = ok;
    expect(call(DEV >> ps, secPfns)).toBe(E_EXIST);
    for (const [p, g] of [[0, gen], [pgmap + 1, gen], [pgmap, gen + 1], [0xfffffff0, gen], [pgmap + 64 * 1024, gen]]) {
      expect(m.calls.call('memunmapBegin', { pgmap: p, gen: g }).status).toBe(E_INVAL);
      expect(m.calls.call('pgmapRef', { pgmap: p, gen: g, op: 0, n: 1 }).status).toBe(E_INVAL);
      expect(m.calls.call('devPageInit', { pgmap: p, gen: g, pfn: DEV >> ps }).status).toBe(E_INVAL);
    }
    expect(m.calls.call('pgmapRef', { pgmap, gen, op: 9, n: 1 }).status).toBe(E_INVAL);
    expect(m.calls.call('memunmapFinish', { pgmap, gen }).status).toBe(E_INVAL); // not drained: never killed
    expect(m.checkInvariants()).toEqual([]);
  });
});
