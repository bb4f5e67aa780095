// Swap entries: a malformed swap description is an ELAYOUT error naming the
// variant, the level and what is wrong (nothing is built from it); bad inputs
// to Machine.swapEntry / devicePrivateEntry / coreSwapEntry and to
// `pgtemu pte --device-private / --swap` are EINVAL errors saying why.
import { describe, expect, it } from 'vitest';
import { Machine, PgtemuError, archs, buildVariant, compileVariant } from '../../src/index.js';
import type { ArchData, LevelKind, SwapSpec } from '../../src/index.js';
import { run as runCli } from '../../src/cli/main.js';

const SW = { special: true, devmap: true };

/** arch/variant with one kind's swap description (or the kind itself) changed. */
function compileWith(arch: string, kind: string, edit: (k: LevelKind) => LevelKind, variant = archs[arch].defaultVariant, kernel = 'v6.12'): () => unknown {
  const a = archs[arch];
  const data: ArchData = { ...a, kinds: { ...a.kinds, [kind]: edit(a.kinds[kind]) } };
  return () => compileVariant(buildVariant(data, variant, kernel, SW), kernel);
}
const swapOf = (arch: string, kind: string, s: Partial<SwapSpec>) =>
  compileWith(arch, kind, (k) => ({ ...k, swap: { ...k.swap!, ...s } }));

function expectError(f: () => unknown, code: string, msg: RegExp): void {
  let err: unknown;
  try { f(); } catch (e) { err = e; }
  expect(err, String(msg)).toBeInstanceOf(PgtemuError);
  expect((err as PgtemuError).code).toBe(code);
  expect((err as Error).message).toMatch(msg);
}

describe('swap description validation', () => {
  it('every shipped description compiles', () => {
    for (const a of Object.values(archs)) {
      for (const v of Object.keys(a.variants)) expect(() => compileVariant(buildVariant(a, v, 'v6.12', { special: true, devmap: !!a.history.devmap }), 'v6.12')).not.toThrow();
    }
  });

  it('a type field over the present bit: the entry is pte_present', () => {
    expectError(swapOf('x86_64', 'pte', { type: { mask: 0x1fn, shift: 0 }, clear: [], exclusive: undefined, softDirty: undefined, uffdWp: undefined }), 'ELAYOUT',
      /x86_64\/4level: pte\.swap: swp_entry\(1, 0x3ffffffffffff\) = 0x1 is pte_present\(\): a swap entry must not be present/);
  });

  it('a type field over _PAGE_PROTNONE (present to pte_present, with P clear)', () => {
    expectError(swapOf('x86_64', 'pte', { type: { mask: 0x1f00n, shift: 8 }, offset: { mask: 0x07ff_ffff_ffff_e000n, shift: 13, inverted: true }, clear: ['PRESENT'] }),
      'ELAYOUT', /pte\.swap: swp_entry\(1, 0x3fffffffffff\) = 0x100 is pte_present\(\)/);
  });

  it('a set bit that makes every entry present (ppc64 _PAGE_PRESENT with _PAGE_PTE)', () => {
    expectError(swapOf('ppc64', 'pte-64k', { set: ['PTE', 'PRESENT'], clear: ['INVALID'] }), 'ELAYOUT', /ppc64\/radix-64k: pte\.swap: .* is pte_present\(\)/);
  });

  it('fields that meet the empty value: is_swap_pte would miss the entry', () => {
    // the pte's none mask ignores the type field: swp_entry(SWP_HWPOISON, 0) is pte_none
    const f = compileWith('x86_64', 'pte', (k) => ({
      ...k, noneMask: ~0xf800_0000_0000_0000n & ((1n << 64n) - 1n),
      swap: { ...k.swap!, offset: { mask: 0x07ff_ffff_ffff_fe00n, shift: 9 } },
    }));
    expectError(f, 'ELAYOUT', /pte\.swap: swp_entry\(23, 0x0\) = 0xb800000000000000 \(SWP_HWPOISON\) is pte_none\(\): is_swap_pte would miss it/);
  });

  it('an entry valid to the MMU (ppc64: PRESENT without _PAGE_PTE is not pte_present, but V is set)', () => {
    expectError(swapOf('ppc64', 'pte-64k', { set: ['PRESENT'], clear: ['INVALID'] }), 'ELAYOUT',
      /ppc64\/radix-64k: pte\.swap: the swap entry 0x8000000000000000 \(type 0, offset 0x0\) is valid to the MMU \(Power ISA/);
  });

  it('overlapping fields and bits', () => {
    expectError(swapOf('arm64', 'pte4k', { type: { mask: 0x1fc0n, shift: 6 } }), 'ELAYOUT', /arm64\/4k-48: pte\.swap: type and offset overlap \(0x1000\)/);
    expectError(swapOf('arm64', 'pte4k', { exclusive: 7 }), 'ELAYOUT', /pte\.swap: type and exclusive overlap \(0x80\)/);
    expectError(swapOf('s390', 'pte', { set: ['INVALID', 'PROTECT', 'PRESENT'] }), 'ELAYOUT', /s390\/3level: pte\.swap: set and clear overlap \(0x1\)/);
    expectError(swapOf('riscv', 'pte', { softDirty: 12 }), 'ELAYOUT', /riscv\/sv48: pte\.swap: offset and softDirty overlap \(0x1000\)/);
  });

  it('malformed fields', () => {
    expectError(swapOf('x86_64', 'pte', { type: { mask: 0xf800_0000_0000_0000n, shift: 58 } }), 'ELAYOUT', /pte\.swap\.type: shift 58 is not the mask's lowest bit \(59\)/);
    expectError(swapOf('x86_64', 'pte', { type: { mask: 0xd800_0000_0000_0000n, shift: 59 } }), 'ELAYOUT', /pte\.swap\.type: mask 0xd800000000000000 is not one run of bits/);
    expectError(swapOf('x86_64', 'pte', { type: { mask: 1n << 64n, shift: 64 } }), 'ELAYOUT', /pte\.swap\.type: mask 0x10000000000000000 is not a non-zero 64-bit mask/);
    expectError(swapOf('x86_64', 'pte', { type: { mask: 0n, shift: 0 } }), 'ELAYOUT', /pte\.swap\.type: mask 0x0 is not a non-zero 64-bit mask/);
    expectError(swapOf('x86_64', 'pte', { offset: undefined as never }), 'ELAYOUT', /pte\.swap\.offset: missing/);
    expectError(swapOf('x86_64', 'pte', { type: { mask: 0xf000_0000_0000_0000n, shift: 60 } }), 'ELAYOUT',
      /pte\.swap\.type: 4 bits cannot hold MAX_SWAPFILES_SHIFT = 5 \(MAX_SWAPFILES_CHECK\)/);
    expectError(swapOf('x86_64', 'pte', { offset: { mask: 0x0000_0007_ffff_fe00n, shift: 9, inverted: true } }), 'ELAYOUT',
      /pte\.swap\.offset: 26 bits cannot hold a pfn of SWP_PFN_BITS = MAX_PHYSMEM_BITS - PAGE_SHIFT = 34/);
    expectError(swapOf('x86_64', 'pte', { exclusive: 'SWP_EXCL' }), 'ELAYOUT', /pte\.swap\.exclusive: unknown bit 'SWP_EXCL'/);
    expectError(swapOf('x86_64', 'pte', { clear: [64] }), 'ELAYOUT', /pte\.swap\.clear: bit '64' = 64 is not in 0\.\.63/);
  });

  it('a swap description only at the last level, and one there on every arch', () => {
    expectError(compileWith('x86_64', 'pmd', (k) => ({ ...k, swap: archs.x86_64.kinds.pte.swap })), 'ELAYOUT',
      /x86_64\/4level: pmd\.swap: only the last level's swap entries are modelled/);
    expectError(compileWith('loongarch', 'pte14', (k) => ({ ...k, swap: undefined })), 'ELAYOUT',
      /loongarch\/16k-3level: pte\.swap: missing \(every arch describes its swap entries/);
  });

  it('an era\'s swap layout is checked too (arm64 before v6.10)', () => {
    const a = archs.arm64;
    const era = a.eras![0];
    const data: ArchData = { ...a, eras: [{ ...era, swap: { ...era.swap!, offset: { mask: 0x07ff_ffff_ffff_ff00n, shift: 8 }, clear: ['VALID', 1] } }] };
    // bit 58 was PTE_PROT_NONE: an offset reaching it makes the entry present
    expectError(() => compileVariant(buildVariant(data, '4k-48', 'v6.1', SW), 'v6.1'), 'ELAYOUT', /arm64\/4k-48: pte\.swap: .* is pte_present\(\)/);
  });
});

describe('Machine swap-entry inputs', () => {
  const m = Machine.createSync({ arch: 'x86_64', ramMiB: 16, tablePoolMiB: 2 });
  const last = m.desc.levels.length - 1;

  it.each([
    [32, 0n, /swapEntry: type 32 is not a swap type \(0\.\.31, MAX_SWAPFILES_SHIFT 5\)/],
    [-1, 0n, /swapEntry: type -1 is not a swap type/],
    [1.5, 0n, /swapEntry: type 1\.5 is not a swap type/],
    [Number.NaN, 0n, /swapEntry: type NaN is not a swap type/],
    ['3' as never, 0n, /swapEntry: type 3 is not a swap type/],
    [3, 1n << 50n, /swapEntry: offset 0x4000000000000 does not fit the x86_64\/4level swap offset field \(50 bits\)/],
    [3, -1n, /swapEntry: offset: -0x1 is not a 64-bit value/],
    [3, 1n << 64n, /swapEntry: offset: 0x10000000000000000 is not a 64-bit value/],
    [3, 0.5, /swapEntry: offset: 0\.5 is not an integer/],
    [3, 'x' as never, /swapEntry: offset: x is not an integer/],
  ])('swapEntry(%s, %s)', (type, offset, msg) => {
    expectError(() => m.swapEntry(type as number, offset as bigint), 'EINVAL', msg);
  });

  it.each([
    [-1n, undefined, /devicePrivateEntry: pfn: -0x1 is not a 64-bit value/],
    [1n << 64n, undefined, /devicePrivateEntry: pfn: 0x10000000000000000 is not a 64-bit value/],
    [1n << 34n, undefined, /devicePrivateEntry: pfn 0x400000000 is beyond SWP_PFN_BITS = MAX_PHYSMEM_BITS - PAGE_SHIFT = 34 \(largest pfn 0x3ffffffff\)/],
    [1n << 50n, undefined, /devicePrivateEntry: pfn 0x4000000000000 does not fit the x86_64\/4level swap offset field \(50 bits, bits 9\.\.58\)/],
    [(1n << 64n) - 1n, undefined, /does not fit the x86_64\/4level swap offset field/],
    ['0x10' as never, undefined, /devicePrivateEntry: pfn: 0x10 is not an integer/],
    [1n, { writable: 'yes' }, /devicePrivateEntry.*writable/],
    [1n, { write: true }, /devicePrivateEntry.*write/],
    [1n, 5, /devicePrivateEntry/],
  ])('devicePrivateEntry(%s, %j)', (pfn, o, msg) => {
    expectError(() => m.devicePrivateEntry(pfn as bigint, o as never), 'EINVAL', msg);
  });

  // CONFIG_DEVICE_PRIVATE depends on ZONE_DEVICE: a machine without it has no device
  // swap types, and no device-private entry to build, whatever the pfn
  it.each([
    ['s390', 'v6.12'], ['s390', 'v6.0'], ['riscv', 'v6.1'], ['loongarch', 'v6.1'],
  ])('devicePrivateEntry on %s %s (no ZONE_DEVICE) is refused', (arch, kernel) => {
    const k = Machine.createSync({ arch, kernel, ramMiB: 16, tablePoolMiB: 2 });
    for (const pfn of [0n, 1n, 0x1234n]) {
      for (const writable of [true, false]) {
        expectError(() => k.devicePrivateEntry(pfn, { writable }), 'EINVAL',
          new RegExp(`devicePrivateEntry: pfn 0x${pfn.toString(16)}: ${kernel} on ${arch} has no device-private entries: CONFIG_DEVICE_PRIVATE depends on ZONE_DEVICE`));
      }
    }
    // every type decodes as a swap area or a non-device reserved type
    for (let t = 0; t < 32; t++) expect(k.decode(k.swapEntry(t, 1n)).swap?.devicePrivate, `type ${t}`).toBeUndefined();
    // nor does a bad pfn get past the refusal to another message
    expectError(() => k.devicePrivateEntry(-1n), 'EINVAL', /devicePrivateEntry: pfn: -0x1 is not a 64-bit value/);
  });

  it('coreSwapEntry refuses what is not an entry or a level', () => {
    expectError(() => m.coreSwapEntry(-1n), 'EINVAL', /coreSwapEntry: entry -1n is not a 64-bit bigint/);
    expectError(() => m.coreSwapEntry(1n << 64n), 'EINVAL', /coreSwapEntry: entry \d+n is not a 64-bit bigint/);
    expectError(() => m.coreSwapEntry(5 as never), 'EINVAL', /coreSwapEntry: entry 5 is not a 64-bit bigint/);
    expectError(() => m.coreSwapEntry(0n, last + 1), 'EINVAL', /coreSwapEntry: level 4 does not exist \(0\.\.3\)/);
    expectError(() => m.coreSwapEntry(0n, -1), 'EINVAL', /coreSwapEntry: level -1 does not exist/);
    // the largest pfn and offset are still entries
    expect(m.devicePrivateEntry((1n << 34n) - 1n)).toBe(m.swapEntry(28, (1n << 34n) - 1n));
    expect(m.decode(m.swapEntry(3, (1n << 50n) - 1n)).swap?.offset).toBe((1n << 50n) - 1n);
    // not a swap entry: no swap reading, at a directory level neither
    expect(m.decode(0n).swap).toBeUndefined();
    expect(m.decode(m.devicePrivateEntry(1n), 'pmd').swap).toBeUndefined();
  });
});

describe('pgtemu pte --device-private / --swap refusals', () => {
  async function fails(...argv: string[]): Promise<string> {
    const out: string[] = [], err: string[] = [];
    const code = await runCli(argv, { out: (s) => out.push(s), err: (s) => err.push(s), isTTY: false });
    expect(code, `${argv.join(' ')}: exit 2 (${err.join('\n')})`).toBe(2);
    const e = err.join('\n');
    expect(e).toMatch(/^pgtemu: /);
    expect(e).not.toMatch(/\n\s+at /);
    return e;
  }

  it.each([
    [['--device-private', 'x'], /--device-private 'x' is not a number/],
    [['--device-private', '0x'], /--device-private '0x' is not a number/],
    [['--device-private', '1.5'], /--device-private '1\.5' is not a number/],
    [['--device-private', '0x400000000'], /--device-private 0x400000000 is beyond SWP_PFN_BITS = MAX_PHYSMEM_BITS - PAGE_SHIFT = 34/],
    [['--device-private', '0x4000000000000'], /--device-private 0x4000000000000 does not fit the x86_64\/4level swap offset field \(50 bits/],
    [['--device-private', '0x1ffffffffffffffffff'], /does not fit the x86_64\/4level swap offset field/],
    [['--device-private', '1', '0x5'], /pte: give either a VALUE to decode or --device-private, not both \(stray '0x5'\)/],
    [['--device-private', '1', '--encode', 'PRESENT'], /pte --device-private builds a swap entry; it takes no --encode, --pfn or --pa/],
    [['--device-private', '1', '--pfn', '1'], /it takes no --encode, --pfn or --pa/],
    [['--device-private', '1', '--swap', '1:1'], /pte: give --device-private PFN or --swap TYPE:OFFSET, not both/],
    [['--device-private', '1', '--level', 'pmd'], /--device-private: swap entries are modelled at the last level only \(pte\), not pmd/],
    [['--device-private', '1', '--bits'], /pte --bits lists names; it takes no VALUE, --encode, --pfn, --pa, --device-private, --writable or --swap/],
    [['--writable', '0x0'], /pte: --writable goes with --device-private PFN/],
    [['--writable', '--encode', 'PRESENT'], /pte: --writable goes with --device-private PFN/],
    [['--swap', '3'], /--swap '3' is not TYPE:OFFSET \(for example 3:0x100\)/],
    [['--swap', '3:4:5'], /--swap '3:4:5' is not TYPE:OFFSET/],
    [['--swap', ':5'], /--swap ':5' is not TYPE:OFFSET/],
    [['--swap', '32:0'], /--swap 32:0: type 32 is not a swap type \(0\.\.31, MAX_SWAPFILES_SHIFT 5\)/],
    [['--swap', '99999999999999999999:0'], /--swap 99999999999999999999:0: type 99999999999999999999 is not a swap type/],
    [['--swap', 'x:0'], /--swap type 'x' is not a number/],
    [['--swap', '3:0x4000000000000'], /--swap 3:0x4000000000000: offset 0x4000000000000 does not fit the x86_64\/4level swap offset field \(50 bits\)/],
    [['--swap', '3:-1'], /--swap offset '-1' is not a number/],
  ])('pte --arch x86_64 %j', async (args, msg) => {
    expect(await fails('pte', '--arch', 'x86_64', ...args)).toMatch(msg);
  });

  it.each([
    ['s390', 'v6.12'], ['riscv', 'v6.1'], ['loongarch', 'v6.0'],
  ])('pte --device-private on %s %s, which has no ZONE_DEVICE', async (arch, kernel) => {
    for (const extra of [[], ['--writable'], ['--json']]) {
      expect(await fails('pte', '--arch', arch, '--kernel', kernel, '--device-private', '0x1', ...extra))
        .toMatch(new RegExp(`--device-private 0x1: ${kernel} on ${arch} has no device-private entries`));
    }
  });

  it('the ppc64 64K offset field is narrower: a pfn past it is refused there', async () => {
    // 37 bits (16..52), SWP_PFN_BITS 35: 2^35 is beyond SWP_PFN_BITS
    expect(await fails('pte', '--arch', 'ppc64', '--device-private', '0x800000000')).toMatch(/beyond SWP_PFN_BITS = MAX_PHYSMEM_BITS - PAGE_SHIFT = 35/);
    expect(await fails('pte', '--arch', 'ppc64', '--swap', '3:0x2000000000')).toMatch(/does not fit the ppc64\/radix-64k swap offset field \(37 bits\)/);
  });
});
