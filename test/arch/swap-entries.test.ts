// Swap entries on every arch variant and kernel preset: what swp_entry_to_pte
// builds (the arch's __swp_entry and __swp_entry_to_pte, src/arch/<arch>
// `swap`), read back by the host (archdesc.ts) and by the core (assembly/arch.ts
// mkSwpEntry, swpType, swpOffset, isSwapEntry, through the swpEntry operation);
// device-private entries by hand from the kernel headers; and what the walker
// and gup-fast make of one installed in a live pte.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Machine, KERNELS, decodeSwapEntry, encodeSwapEntry } from '../../src/index.js';
import { SWP_DEVICE_READ, SWP_DEVICE_WRITE } from '../../src/host/consts.gen.js';
import { VARIANTS } from '../helpers/machines.js';
import { run as runCli } from '../../src/cli/main.js';

async function cli(...argv: string[]): Promise<string> {
  const out: string[] = [], err: string[] = [];
  const code = await runCli(argv, { out: (x) => out.push(x), err: (x) => err.push(x), isTTY: false });
  expect(code, err.join('\n')).toBe(0);
  return out.join('\n');
}

const BASE = 1n << 30n;

interface Internals { poolBase: number }
function poke(m: Machine, pa: bigint, v: bigint): void {
  const base = (m as unknown as Internals).poolBase;
  new DataView(m.memory.buffer).setBigUint64(base + Number(pa), BigInt.asUintN(64, v), !m.desc.bigEndian);
}

describe.each(VARIANTS)('swap entries on $arch/$variant', ({ arch, variant }) => {
  it.each(Object.keys(KERNELS))('kernel %s: host and core encode alike and read back type and offset', (kernel) => {
    const m = Machine.createSync({ arch, variant, kernel, ramMiB: 16, tablePoolMiB: 2 });
    const s = m.desc.swap;
    const last = m.desc.levels.length - 1;
    const maxOffset = (1n << BigInt(s.offset.bits)) - 1n;
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 31 }),
      fc.oneof(fc.bigInt({ min: 0n, max: maxOffset }), fc.constantFrom(0n, 1n, maxOffset)),
      (type, offset) => {
        const e = encodeSwapEntry(s, type, offset);
        expect(m.swapEntry(type, offset)).toBe(e);
        const host = decodeSwapEntry(m.desc, last, e);
        const core = m.coreSwapEntry(e);
        if (host === undefined) {
          // only type 0 can meet the empty value (x86: swp_entry(0, 2^50 - 1) is 0)
          expect(type).toBe(0);
          expect(core.isSwap).toBe(false);
          return;
        }
        expect([host.type, host.offset]).toEqual([type, offset]);
        expect(core).toMatchObject({ isSwap: true, type, offset, kind: 'not-present' });
        expect(host.stray).toBe(0n);
        expect(host.exclusive || host.softDirty || host.uffdWp).toBe(false);
        const dp = type === s.deviceWrite || type === s.deviceRead;
        expect(core.devicePrivate).toBe(dp);
        expect(host.devicePrivate !== undefined).toBe(dp);
        expect(m.decode(e).swap).toEqual(host);
        expect(m.decode(e).present).toBe(false);
        expect(m.decode(e, last, { view: 'hardware' }).valid).toBe(false);
      },
    ), { numRuns: 150, seed: 0x5a9 });
    // CONFIG_DEVICE_PRIVATE depends on ZONE_DEVICE: where the machine has none there are
    // no device types (include/linux/swap.h SWP_DEVICE_NUM 0) and no entry to build
    expect(s.deviceWrite >= 0, kernel).toBe(m.era.zoneDevice);
    if (!m.era.zoneDevice) {
      expect(() => m.devicePrivateEntry(0x42n, { writable: true })).toThrow(/no device-private entries: CONFIG_DEVICE_PRIVATE depends on ZONE_DEVICE/);
      expect(s.typeNames.filter((t) => t?.startsWith('SWP_DEVICE'))).toEqual([]);
      return;
    }
    // the exclusive / soft-dirty / uffd-wp bits may sit in a swap entry: still one, same type and offset
    const flags = s.exclusive | s.softDirty | s.uffdWp;
    const e = m.devicePrivateEntry(0x42n, { writable: true }) | flags;
    expect(m.coreSwapEntry(e)).toMatchObject({ isSwap: true, type: s.deviceWrite, offset: 0x42n, devicePrivate: true, writable: true });
    expect(m.decode(e).swap).toMatchObject({ exclusive: s.exclusive !== 0n, softDirty: s.softDirty !== 0n, uffdWp: s.uffdWp !== 0n });
  });

  it('a device-private entry in a live pte: not present to the walk and the MMU, refused by gup-fast, decoded as such', () => {
    for (const kernel of ['v6.1', 'v6.12', 'v6.17']) {
      const m = Machine.createSync({ arch, variant, kernel, ramMiB: 64, tablePoolMiB: 4 });
      if (!m.era.zoneDevice) continue;   // no device types (see above)
      const mm = m.createMm();
      const ps = BigInt(m.desc.pageShift);
      mm.mmap({ start: BASE, length: 1n << ps });
      mm.populate(BASE, 1n << ps, { write: true });
      const page = m.walk(mm, BASE);
      expect(page.status).toBe('ok');
      const orig = page.entry;
      const maxPfn = (1n << BigInt(m.desc.swap.pfnBits)) - 1n;
      for (const [pfn, writable] of [[page.pfn!, true], [page.pfn!, false], [maxPfn, true], [0n, false]] as const) {
        const e = m.devicePrivateEntry(pfn, { writable });
        poke(m, page.entryPa, e);
        try {
          const w = m.walk(mm, BASE);
          expect(w).toMatchObject({ status: 'not-present', level: m.desc.levels.length - 1, entry: e });
          expect(m.walk(mm, BASE, { view: 'hardware' }).status).toBe('not-present');
          const got = mm.gupFast(BASE, 1, { pin: true, write: writable, fastOnly: true });
          expect(got.nr, `${kernel} ${e.toString(16)}`).toBe(0);
          m.unpin(got);
          const f = m.decode(e);
          expect(f.swap?.devicePrivate).toEqual({ pfn, writable });
          expect(f.swap?.typeName).toBe(writable ? 'SWP_DEVICE_WRITE' : 'SWP_DEVICE_READ');
          expect(f.swap?.helpers.filter((h) => h.value).map((h) => h.name)).toEqual([
            'is_swap_pte', 'is_pfn_swap_entry', 'is_device_private_entry', ...(writable ? ['is_writable_device_private_entry'] : []),
          ]);
          expect(m.coreSwapEntry(e)).toMatchObject({ pfn, devicePrivate: true, writable });
        } finally {
          poke(m, page.entryPa, orig);
        }
      }
      expect(m.walk(mm, BASE).entry).toBe(orig);
      expect(m.checkInvariants()).toEqual([]);
    }
  });
});

// make_{writable,readable}_device_private_entry(0x1234) by hand, per arch, from
// the v6.12 headers (SWP_DEVICE_WRITE 27 = 0b11011, SWP_DEVICE_READ 28 = 0b11100;
// src/arch/swap.ts) and, where the layout or the type numbers differ, v6.1's:
//
// x86_64 (pgtable_64.h): type << 59 | (~offset << 14 >> 5). ~0x1234 in 50 bits is
//   0x3_ffff_ffff_edcb; << 9 gives 0x07ff_ffff_ffdb_9600. 27 << 59 = 0xd800_0000_0000_0000,
//   28 << 59 = 0xe000_..., and v6.1's SWP_DEVICE_WRITE 26 (PTE marker and swapin-error
//   types both taken on x86) << 59 = 0xd000_...
// arm64 (pgtable.h): type << 6 | offset << 12 = 27 * 0x40 = 0x6c0 | 0x1234000; 28 << 6 = 0x700.
//   v6.1: type << 3 | offset << 8 = 0xd8 | 0x123400.
// ppc64 (book3s/64/pgtable.h): type | (offset << PAGE_SHIFT) & PTE_RPN_MASK | _PAGE_PTE (1 << 62):
//   64K: 0x1b | 0x1234_0000 | 0x4000_0000_0000_0000; 4K: 0x1b | 0x123_4000 | the same.
// s390 (pgtable.h mk_swap_pte): _PAGE_INVALID 0x400 | _PAGE_PROTECT 0x200 | offset << 12
//   | type << 2 = 0x600 | 0x123_4000 | 0x70 (28) or 0x74 (29), the v6.17 types: s390 has
//   no ZONE_DEVICE before v6.17 (no devmap bit), so no device types at all.
// riscv (pgtable.h): type << 7 | offset << 12 = 0xd80 (27) or 0xe00 (28) | 0x123_4000.
//   v6.1 (no device types: riscv's ZONE_DEVICE came in v6.11) the layout was
//   type << 6 | offset << 11: swp_entry(27, 0x1234) = 0x6c0 | 0x91_a000.
// loongarch (pgtable.h mk_swap_pte): (type & 0x7f) << 16 | offset << 24
//   = 0x1b_0000 (27) or 0x1c_0000 (28) | 0x12_3400_0000.
const EXACT: { arch: string; variant?: string; kernel: string; writable: boolean; value: bigint }[] = [
  { arch: 'x86_64', kernel: 'v6.12', writable: true, value: 0xdfff_ffff_ffdb_9600n },
  { arch: 'x86_64', kernel: 'v6.12', writable: false, value: 0xe7ff_ffff_ffdb_9600n },
  { arch: 'x86_64', kernel: 'v6.1', writable: true, value: 0xd7ff_ffff_ffdb_9600n },
  { arch: 'arm64', kernel: 'v6.12', writable: true, value: 0x123_46c0n },
  { arch: 'arm64', kernel: 'v6.12', writable: false, value: 0x123_4700n },
  { arch: 'arm64', kernel: 'v6.1', writable: true, value: 0x12_34d8n },
  { arch: 'ppc64', variant: 'radix-64k', kernel: 'v6.12', writable: true, value: 0x4000_0000_1234_001bn },
  { arch: 'ppc64', variant: 'radix-64k', kernel: 'v6.12', writable: false, value: 0x4000_0000_1234_001cn },
  { arch: 'ppc64', variant: 'radix-4k', kernel: 'v6.12', writable: true, value: 0x4000_0000_0123_401bn },
  { arch: 's390', kernel: 'v6.17', writable: true, value: 0x123_4670n },
  { arch: 's390', kernel: 'v6.17', writable: false, value: 0x123_4674n },
  { arch: 'riscv', kernel: 'v6.12', writable: true, value: 0x123_4d80n },
  { arch: 'riscv', kernel: 'v6.12', writable: false, value: 0x123_4e00n },
  { arch: 'loongarch', kernel: 'v6.12', writable: true, value: 0x12_341b_0000n },
  { arch: 'loongarch', kernel: 'v6.12', writable: false, value: 0x12_341c_0000n },
];

describe('device-private entries by hand from the kernel headers', () => {
  it('riscv v6.1: the layout by hand, and type 27 a swap area there (no device types before ZONE_DEVICE)', () => {
    for (const v of VARIANTS.filter((x) => x.arch === 'riscv')) {
      const m = Machine.createSync({ arch: 'riscv', variant: v.variant, kernel: 'v6.1', ramMiB: 16, tablePoolMiB: 2 });
      expect(m.swapEntry(27, 0x1234n), v.variant).toBe(0x91_a6c0n);
      // MAX_SWAPFILES = 32 - 3 (migration) - 1 (SWP_SWAPIN_ERROR) = 28: 27 is a swap area
      expect(m.decode(0x91_a6c0n).swap).toMatchObject({ type: 27, offset: 0x1234n, typeName: undefined, devicePrivate: undefined });
    }
  });

  it.each(EXACT)('$arch $variant $kernel, pfn 0x1234, writable $writable', ({ arch, variant, kernel, writable, value }) => {
    for (const v of VARIANTS.filter((x) => x.arch === arch && (variant === undefined || x.variant === variant))) {
      const m = Machine.createSync({ arch, variant: v.variant, kernel, ramMiB: 16, tablePoolMiB: 2 });
      expect(m.devicePrivateEntry(0x1234n, { writable }), `${arch}/${v.variant}`).toBe(value);
      expect(m.decode(value).swap?.devicePrivate).toEqual({ pfn: 0x1234n, writable });
    }
  });

  it.each(EXACT)('pgtemu pte builds and decodes it: $arch $variant $kernel, writable $writable', async ({ arch, variant, kernel, writable, value }) => {
    const v = ['--arch', arch, ...(variant ? ['--variant', variant] : []), '--kernel', kernel];
    const built = JSON.parse(await cli('pte', ...v, '--device-private', '0x1234', ...(writable ? ['--writable'] : []), '--json'));
    expect(built.value).toBe(`0x${value.toString(16)}`);
    const r = JSON.parse(await cli('pte', ...v, '--json', `0x${value.toString(16)}`));
    expect(r).toMatchObject({ kind: 'not-present', hardware: { kind: 'invalid' } });
    expect(r.swap).toMatchObject({ typeName: writable ? 'SWP_DEVICE_WRITE' : 'SWP_DEVICE_READ', offset: '0x1234', devicePrivate: { pfn: '0x1234', writable } });
    expect(r.gupFast).toMatch(/^device-private: not present, gup-fast stops/);
    const text = await cli('pte', ...v, `0x${value.toString(16)}`);
    expect(text).toContain(`device-private (${writable ? 'writable' : 'read-only'}): pfn 0x1234`);
    expect(text).toMatch(/swapops: {2}is_swap_pte is_pfn_swap_entry is_device_private_entry/);
  });

  it('the layout constants are v6.12\'s device types, and each preset\'s follow src/arch/swap.ts', () => {
    const at = (kernel: string, arch = 'arm64') => Machine.createSync({ arch, kernel, ramMiB: 16, tablePoolMiB: 2 }).desc.swap;
    expect([SWP_DEVICE_WRITE, SWP_DEVICE_READ]).toEqual([27, 28]);
    expect([at('v6.12').deviceWrite, at('v6.12').deviceRead]).toEqual([SWP_DEVICE_WRITE, SWP_DEVICE_READ]);
    // v6.1: SWP_SWAPIN_ERROR took a type; SWP_PTE_MARKER too where PTE_MARKER_UFFD_WP is (x86_64)
    expect(at('v6.1').deviceWrite).toBe(27);
    expect(at('v6.1', 'x86_64').deviceWrite).toBe(26);
    expect(at('v6.1', 'x86_64').typeNames.slice(22)).toEqual([
      'SWP_HWPOISON', 'SWP_MIGRATION_READ', 'SWP_MIGRATION_READ_EXCLUSIVE', 'SWP_MIGRATION_WRITE', 'SWP_DEVICE_WRITE',
      'SWP_DEVICE_READ', 'SWP_DEVICE_EXCLUSIVE_WRITE', 'SWP_DEVICE_EXCLUSIVE_READ', 'SWP_PTE_MARKER', 'SWP_SWAPIN_ERROR',
    ]);
    expect(at('v6.12').typeNames.slice(23)).toEqual([
      'SWP_HWPOISON', 'SWP_MIGRATION_READ', 'SWP_MIGRATION_READ_EXCLUSIVE', 'SWP_MIGRATION_WRITE', 'SWP_DEVICE_WRITE',
      'SWP_DEVICE_READ', 'SWP_DEVICE_EXCLUSIVE_WRITE', 'SWP_DEVICE_EXCLUSIVE_READ', 'SWP_PTE_MARKER',
    ]);
    // v6.15: one SWP_DEVICE_EXCLUSIVE type (the MM pull for 6.15-rc1, src/arch/swap.ts)
    expect([at('v6.17').deviceWrite, at('v6.17').deviceRead, at('v6.17').maxSwapfiles]).toEqual([28, 29, 24]);
  });

  // SWP_HWPOISON_NUM is 1 only with CONFIG_MEMORY_FAILURE, which needs
  // ARCH_SUPPORTS_MEMORY_FAILURE: x86, arm64, powerpc (and parisc) select it, s390,
  // riscv and loongarch do not (v6.12 and v7.2 Kconfig). Without it MAX_SWAPFILES is
  // one higher and the migration types start at it; the device types do not move
  // (SWP_DEVICE_WRITE = 32 - SWP_DEVICE_NUM - SWP_PTE_MARKER_NUM [- SWP_SWAPIN_ERROR_NUM]).
  // And SWP_DEVICE_NUM is 0 without CONFIG_DEVICE_PRIVATE, which depends on ZONE_DEVICE:
  // until v6.16 only where the arch has a devmap bit (s390 never; riscv and loongarch
  // from v6.11). Then MAX_SWAPFILES is that much higher again.
  it.each(['s390', 'riscv', 'loongarch'])('%s has no SWP_HWPOISON: MAX_SWAPFILES one higher, the device types where they were', (arch) => {
    const mk = (kernel: string, a = arch) => Machine.createSync({ arch: a, kernel, ramMiB: 16, tablePoolMiB: 2 });
    for (const kernel of ['v6.1', 'v6.12', 'v6.17']) {
      const m = mk(kernel), s = m.desc.swap, arm = mk(kernel, 'arm64').desc.swap;
      const armDevice = arm.typeNames.filter((t) => t?.startsWith('SWP_DEVICE')).length;
      expect(s.typeNames.includes('SWP_HWPOISON'), kernel).toBe(false);
      expect(arm.typeNames.includes('SWP_HWPOISON'), kernel).toBe(true);
      expect(s.maxSwapfiles, kernel).toBe(arm.maxSwapfiles + 1 + (m.era.zoneDevice ? 0 : armDevice));
      expect(s.typeNames[s.maxSwapfiles], kernel).toBe('SWP_MIGRATION_READ');
      expect(s.typeNames[s.maxSwapfiles - 1], kernel).toBeUndefined();
      expect([s.deviceWrite, s.deviceRead], kernel).toEqual(m.era.zoneDevice ? [arm.deviceWrite, arm.deviceRead] : [-1, -1]);
    }
    // v6.12: MAX_SWAPFILES = 32 - SWP_DEVICE_NUM (4, or 0 on s390: no ZONE_DEVICE) - 3 (migration)
    // - 0 (no hwpoison) - 1 (PTE marker) = 24, or 28 on s390
    expect(mk('v6.12').desc.swap.maxSwapfiles).toBe(arch === 's390' ? 28 : 24);
    // and the what-if that keeps ZONE_DEVICE on s390 has the device types back
    if (arch === 's390') {
      const w = Machine.createSync({ arch, kernel: 'v6.12', whatIf: 'devmap-less-zone-device', ramMiB: 16, tablePoolMiB: 2 }).desc.swap;
      expect([w.maxSwapfiles, w.deviceWrite, w.deviceRead]).toEqual([24, 27, 28]);
    }
  });
});
