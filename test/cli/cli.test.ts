// The CLI exposes the API: decode/encode entries, list variants, run the
// conformance matrix; bad input is an error naming it.
import { describe, expect, it } from 'vitest';
import { main } from '../../src/host/cli.js';
import { archs, PgtemuError } from '../../src/index.js';

function run(...argv: string[]): { code: number; out: string } {
  const lines: string[] = [];
  const code = main(argv, (s) => lines.push(s));
  return { code, out: lines.join('\n') };
}

describe('pgtemu pte', () => {
  it('decodes an x86 pte like crash does, with the helpers and gup-fast verdict', () => {
    // PAGE_SHARED | _PAGE_DIRTY for pfn 0x1c63 (pgtable_types.h): P RW USER A D NX
    const { code, out } = run('pte', '--arch', 'x86_64', '0x8000000001c63067');
    expect(code).toBe(0);
    expect(out).toContain('8000000001c63067    1c63000         (PRESENT|RW|USER|ACCESSED|DIRTY|NX)');
    expect(out).toMatch(/pfn:\s+0x1c63/);
    expect(out).toMatch(/gup-fast: grab/);
  });

  it('says what gup-fast does with special, devmap, protnone and read-only entries', () => {
    const v = (args: string[]) => JSON.parse(run('pte', '--arch', 'x86_64', '--json', ...args).out).gupFast as string;
    expect(v(['0x1c63225'])).toMatch(/^special: gup-fast bails/);                         // pte_mkspecial(PAGE_READONLY-ish)
    expect(v(['--kernel', 'v6.12', '0x0200000001c63225'])).toMatch(/^devmap: gup-fast takes a pgmap reference/);
    expect(v(['--kernel', 'v6.17', '0x0200000001c63225'])).toMatch(/^special/);            // no devmap bit in v6.17
    // PAGE_NONE = A|G with the pfn stored inverted (L1TF)
    const none = JSON.parse(run('pte', '--arch', 'x86_64', '--json', '--encode', 'ACCESSED,PROTNONE', '--pfn', '0x1c63').out);
    expect(none.pfn).toBe('0x1c63');
    expect(BigInt(none.value) & 0x000f_ffff_ffff_f000n).toBe(~(0x1c63n << 12n) & 0x000f_ffff_ffff_f000n);
    expect(none.gupFast).toMatch(/^protnone/);
    expect(v(['--write', '0x8000000001c63025'])).toMatch(/^read-only: FOLL_WRITE/);
    expect(v(['0x0'])).toMatch(/^none/);
  });

  it('encodes from bit names and decodes back, at a directory level too', () => {
    const e = JSON.parse(run('pte', '--arch', 'x86_64', '--encode', 'PRESENT,RW,USER,ACCESSED,DIRTY,PSE', '--pfn', '0x200', '--level', 'pmd', '--json').out);
    expect(e.value).toBe('0x2000e7');
    expect(e.kind).toBe('leaf');
    expect(e.size).toBe('0x200000');
    const d = JSON.parse(run('pte', '--arch', 'x86_64', '--level', 'pmd', '--json', '0x1234067').out);
    expect(d.kind).toBe('table');
    expect(d.pa).toBe('0x1234000');
    expect(d.gupFast).toMatch(/^table/);
  });

  it('refuses bad input with an error naming it', () => {
    expect(() => run('pte', '--arch', 'x86_64', 'zebra')).toThrow(/entry 'zebra' is not a number/);
    expect(() => run('pte', '--arch', 'x86_64', '--level', 'pmx', '1')).toThrow(/--level 'pmx' is not a level of x86_64\/4level \(pgd, pud, pmd, pte\)/);
    expect(() => run('pte', '--arch', 'vax', '1')).toThrow(PgtemuError);
    expect(() => run('pte', '--arch', 'x86_64', '--encode', 'PRESENT,WRITABLE')).toThrow(/unknown bit 'WRITABLE'/);
    expect(() => run('pte', '1')).toThrow(/--arch is required/);
    expect(() => run('frobnicate')).toThrow(/unknown command 'frobnicate'/);
  });
});

describe('pgtemu archs and conformance', () => {
  it('lists every variant with its geometry and devmap bit per preset', () => {
    const rows = JSON.parse(run('archs', '--json').out);
    const want = Object.values(archs).reduce((n, a) => n + Object.keys(a.variants).length, 0);
    expect(rows.length).toBe(want);
    // the seventeen variants, named: a variant the CLI dropped or invented shows here
    expect(rows.map((r: { arch: string; variant: string }) => `${r.arch}/${r.variant}`).sort()).toEqual([
      'arm64/4k-39', 'arm64/4k-48', 'arm64/64k-48', 'loongarch/16k-3level', 'loongarch/4k-3level', 'loongarch/4k-4level',
      'loongarch/64k-3level', 'ppc64/radix-4k', 'ppc64/radix-64k', 'riscv/sv39', 'riscv/sv48', 'riscv/sv57',
      's390/3level', 's390/4level', 's390/5level', 'x86_64/4level', 'x86_64/la57',
    ]);
    const x = rows.find((r: { arch: string; variant: string }) => r.arch === 'x86_64' && r.variant === '4level');
    expect(x.presets.map((p: { devmapBit?: number }) => p.devmapBit)).toEqual([58, 57, 57, undefined]);
    expect(x.presets.map((p: { model: string }) => p.model)).toEqual(['legacy', 'legacy', 'unified', 'unified']);
  });

  it('runs the conformance matrix for a variant and reports success', () => {
    const { code, out } = run('conformance', '--arch', 'x86_64', '--variant', 'la57');
    expect(code).toBe(0);
    expect(out).toMatch(/checks over 1 variants: all passed/);
    expect(Number(/(\d+) checks over 1 variants/.exec(out)?.[1])).toBeGreaterThan(1000);   // not an empty run
  });
});
