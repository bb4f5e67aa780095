// A malformed hardware description is an ELAYOUT error naming the variant,
// the level and the field; nothing is built from it.
import { describe, expect, it } from 'vitest';
import { PgtemuError, archs, buildVariant, compileVariant } from '../../src/index.js';
import type { ArchData, HardwareSpec, HwLevelSpec } from '../../src/index.js';

const SW = { special: true, devmap: true };

/** x86_64/4level with its hardware description changed by `edit`. */
function compileWith(edit: (h: HardwareSpec) => HardwareSpec, arch = 'x86_64', variant = '4level'): () => unknown {
  const a = archs[arch];
  const g = a.variants[variant];
  const data: ArchData = { ...a, variants: { ...a.variants, [variant]: { ...g, hardware: edit(g.hardware) } } };
  return () => compileVariant(buildVariant(data, variant, 'v6.12', SW), 'v6.12');
}
const level = (h: HardwareSpec, i: number, l: Partial<HwLevelSpec>): HardwareSpec => ({
  ...h, levels: h.levels.map((x, k) => (k === i ? { ...x, ...l } : x)),
});

function expectLayout(f: () => unknown, msg: RegExp): void {
  let err: unknown;
  try { f(); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(PgtemuError);
  expect((err as PgtemuError).code).toBe('ELAYOUT');
  expect((err as Error).message).toMatch(msg);
}

describe('hardware description validation', () => {
  it('the unmodified descriptions compile', () => {
    expect(() => compileWith((h) => h)()).not.toThrow();
  });

  it('a leaf predicate at a level that may not hold leaves', () => {
    expectLayout(compileWith((h) => level(h, 0, { leaf: { set: ['PSE'] } })),
      /x86_64\/4level: hardware\.levels\[0\] \(pgd\)\.leaf: a leaf predicate at a level that may not hold leaves/);
  });

  it('a predicate mask overlapping the address field', () => {
    expectLayout(compileWith((h) => level(h, 2, { leaf: { mask: ['PSE', 21], value: ['PSE'] } })),
      /hardware\.levels\[2\] \(pmd\)\.leaf: mask 0x200080 overlaps the leaf address field \(0x200000\)/);
    expectLayout(compileWith((h) => level(h, 1, { table: { clear: ['PSE', 12] } })),
      /hardware\.levels\[1\] \(pud\)\.table: mask .* overlaps the table address field \(0x1000\)/);
  });

  it('a level count that is not the geometry', () => {
    expectLayout(compileWith((h) => ({ ...h, levels: h.levels.slice(1) })), /hardware\.levels has 3 levels, the geometry 4/);
  });

  it('the last level without leaves, or with a next table', () => {
    expectLayout(compileWith((h) => level(h, 3, { leafOk: false, leaf: 'never' })), /levels\[3\] \(pte\): the last level must hold leaves/);
    expectLayout(compileWith((h) => level(h, 3, { table: 'always' })), /levels\[3\] \(pte\)\.table: the last level has no next table/);
  });

  it('a missing address field', () => {
    expectLayout(compileWith((h) => level(h, 1, { tableAddr: undefined })), /levels\[1\] \(pud\)\.tableAddr: missing/);
    expectLayout(compileWith((h) => level(h, 2, { leafAddr: undefined })), /levels\[2\] \(pmd\)\.leafAddr: missing/);
  });

  it('an address field whose addresses do not fit in 64 bits', () => {
    // (the core makes a table address with one rotate: exact only inside 64 bits)
    expectLayout(compileWith((h) => level(h, 1, { tableAddr: { mask: 0xfffffffffffff000n, shift: 12, paShift: 20 } })),
      /levels\[1\] \(pud\)\.tableAddr: mask 0xfffffffffffff000 with pa shift 20 makes addresses beyond 64 bits/);
    expectLayout(compileWith((h) => level(h, 1, { tableAddr: { mask: 1n << 64n, shift: 64, paShift: 0 } })),
      /levels\[1\] \(pud\)\.tableAddr: mask 0x10000000000000000 with pa shift 0 makes addresses beyond 64 bits/);
    // all 64 bits: no bit left to tell a table by (and pa 2^64 - 1 is the link index's "no link")
    expectLayout(compileWith((h) => level(h, 1, { tableAddr: { mask: 0xffff_ffff_ffff_ffffn, shift: 0, paShift: 0 } })),
      /levels\[1\] \(pud\)\.tableAddr: a table address field of all 64 bits/);
  });

  it('a leaf address not aligned to the size the level maps', () => {
    expectLayout(compileWith((h) => level(h, 2, { leafAddr: { mask: 0x000f_ffff_ffff_f000n, shift: 12, paShift: 12 } })),
      /levels\[2\] \(pmd\)\.leafAddr: paShift 12 is not the level's shift 21/);
  });

  it('a level the kernel puts leaves at, where the MMU cannot hold one', () => {
    expectLayout(compileWith((h) => level(h, 2, { leafOk: false, leaf: 'never' })),
      /levels\[2\] \(pmd\): the kernel installs leaves here, the MMU cannot hold one/);
  });

  it('drift: the kernel empty entry valid to the MMU, or its leaves / tables not read as such', () => {
    expectLayout(compileWith((h) => level(h, 3, { valid: 'always' })), /levels\[3\] \(pte\): the kernel's empty entry 0x0 is valid to the MMU/);
    expectLayout(compileWith((h) => level(h, 3, { valid: { set: ['PRESENT', 'GLOBAL'] } })), /levels\[3\] \(pte\): the kernel's ro leaf .* does not map 0x100000000 to the MMU/);
    expectLayout(compileWith((h) => level(h, 1, { table: { set: ['PSE'] } })), /levels\[1\] \(pud\): the kernel's table entry .* is not a table at 0x100000000 to the MMU/);
    expectLayout(compileWith((h) => level(h, 2, { leafAddr: { mask: 0x0000_0fff_ffe0_0000n, shift: 21, paShift: 21 } })), /pmd\): the kernel's ro leaf .* does not map 0x3fffffe00000 to the MMU/);
  });

  it('an unknown bit name', () => {
    expectLayout(compileWith((h) => level(h, 0, { valid: { set: ['VALID'] } })), /hardware\.levels\[0\] \(pgd\)\.valid: unknown bit 'VALID'/);
  });

  it('a VA rule that cuts into user space, or signs from above the translated bits', () => {
    expectLayout(compileWith((h) => ({ ...h, va: { ...h.va, lo: 46 } })), /hardware\.va: bit 46 is inside the user range \(userVaBits 47\)/);
    expectLayout(compileWith((h) => ({ ...h, va: { ...h.va, lo: 48 } })), /hardware\.va: the sign bit 48 is above the translated bits \(vaBits 48\)/);
    expectLayout(compileWith((h) => ({ ...h, va: { ...h.va, lo: 50, hi: 40 } })), /hardware\.va: bits 50\.\.40 are not a range in 0\.\.63/);
  });

  it('a missing hardware description', () => {
    expectLayout(compileWith(() => undefined as unknown as HardwareSpec), /x86_64\/4level: hardware: missing/);
  });
});
