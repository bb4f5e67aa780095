// The CLI exposes the API: decode/encode entries, list variants, run the
// conformance matrix; bad input is an error naming it.
import { describe, expect, it } from 'vitest';
import { run as runCli } from '../../src/cli/main.js';
import { archs } from '../../src/index.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const lines: string[] = [], errs: string[] = [];
  const code = await runCli(argv, { out: (s) => lines.push(s), err: (s) => errs.push(s), isTTY: false });
  return { code, out: lines.join('\n'), err: errs.join('\n') };
}
/** A run that must fail with a usage error (exit 2); resolves with its message. */
async function fails(...argv: string[]): Promise<string> {
  const r = await run(...argv);
  expect(r.code, `${argv.join(' ')} exits 2`).toBe(2);
  expect(r.err).not.toMatch(/\n\s+at /);   // no stack trace
  return r.err;
}

describe('pgtemu pte', async () => {
  it('decodes an x86 pte like crash does, with the helpers and gup-fast verdict', async () => {
    // PAGE_SHARED | _PAGE_DIRTY for pfn 0x1c63 (pgtable_types.h): P RW USER A D NX
    const { code, out } = await run('pte', '--arch', 'x86_64', '0x8000000001c63067');
    expect(code).toBe(0);
    expect(out).toContain('8000000001c63067    1c63000         (PRESENT|RW|USER|ACCESSED|DIRTY|NX)');
    expect(out).toMatch(/pfn:\s+0x1c63/);
    expect(out).toMatch(/gup-fast: grab/);
  });

  it('says what gup-fast does with special, devmap, protnone and read-only entries', async () => {
    const v = async (args: string[]) => JSON.parse((await run('pte', '--arch', 'x86_64', '--json', ...args)).out).gupFast as string;
    expect(await v(['0x1c63225'])).toMatch(/^special: gup-fast bails/);                         // pte_mkspecial(PAGE_READONLY-ish)
    expect(await v(['--kernel', 'v6.12', '0x0200000001c63225'])).toMatch(/^devmap: gup-fast takes a pgmap reference/);
    expect(await v(['--kernel', 'v6.17', '0x0200000001c63225'])).toMatch(/^special/);            // no devmap bit in v6.17
    // PAGE_NONE = A|G with the pfn stored inverted (L1TF)
    const none = JSON.parse((await run('pte', '--arch', 'x86_64', '--json', '--encode', 'ACCESSED,PROTNONE', '--pfn', '0x1c63')).out);
    expect(none.pfn).toBe('0x1c63');
    expect(BigInt(none.value) & 0x000f_ffff_ffff_f000n).toBe(~(0x1c63n << 12n) & 0x000f_ffff_ffff_f000n);
    expect(none.gupFast).toMatch(/^protnone/);
    expect(await v(['--write', '0x8000000001c63025'])).toMatch(/^read-only: FOLL_WRITE/);
    expect(await v(['0x0'])).toMatch(/^none/);
    // a pmd table entry with _PAGE_RW clear: pmd_bad, which gup_fast_pmd_range never asks
    expect(await v(['--level', 'pmd', '0x1c63065'])).toMatch(/^bad: pXd_bad to the walkers, but gup-fast never asks it: it descends/);
    expect(await v(['--level', 'pmd', '0x1c63067'])).toMatch(/^table/);
    // la57's pgd is a real pgd: gup_fast_pgd_range asks pgd_none only; 4-level's top is the p4d
    expect(await v(['--variant', 'la57', '--level', 'pgd', '0x1c63066'])).toMatch(/^not present to pgd_present, but gup_fast_pgd_range asks pgd_none only/);
    expect(await v(['--variant', '4level', '--level', 'pgd', '0x1c63066'])).toMatch(/^not present: gup-fast stops/);
    // a pfn no memory section covers: x86_64 MAX_PHYSMEM_BITS is 46 (4-level), 52 (la57)
    expect(await v(['--variant', '4level', '0x8000400001c63067'])).toMatch(/^no struct page: 0x400001c63000 is at or above MAX_PHYSMEM_BITS \(46\)/);
    expect(await v(['--variant', 'la57', '0x8000400001c63067'])).toMatch(/^grab/);
  });

  it('encodes from bit names and decodes back, at a directory level too', async () => {
    const e = JSON.parse((await run('pte', '--arch', 'x86_64', '--encode', 'PRESENT,RW,USER,ACCESSED,DIRTY,PSE', '--pfn', '0x200', '--level', 'pmd', '--json')).out);
    expect(e.value).toBe('0x2000e7');
    expect(e.kind).toBe('leaf');
    expect(e.size).toBe('0x200000');
    const d = JSON.parse((await run('pte', '--arch', 'x86_64', '--level', 'pmd', '--json', '0x1234067')).out);
    expect(d.kind).toBe('table');
    expect(d.pa).toBe('0x1234000');
    expect(d.gupFast).toMatch(/^table/);
  });

  it('refuses bad input with an error naming it', async () => {
    expect(await fails('pte', '--arch', 'x86_64', 'zebra')).toMatch(/^pgtemu: entry 'zebra' is not a number/);
    expect(await fails('pte', '--arch', 'x86_64', '--level', 'pmx', '1')).toMatch(/--level 'pmx' is not a level of x86_64\/4level \(pgd, pud, pmd, pte\)/);
    expect(await fails('pte', '--arch', 'vax', '1')).toMatch(/'vax' is invalid\. Allowed choices are x86_64, arm64, ppc64, s390, riscv, loongarch/);
    expect(await fails('pte', '--arch', 'x86_64', '--encode', 'PRESENT,WRITABLE')).toMatch(/unknown bit 'WRITABLE'/);
    expect(await fails('pte', '1')).toMatch(/required option '--arch <arch>' not specified/);
    expect(await fails('frobnicate')).toMatch(/unknown command 'frobnicate'/);
  });
});

describe('pgtemu archs and conformance', async () => {
  it('lists every variant with its geometry and devmap bit per preset', async () => {
    const rows = JSON.parse((await run('archs', '--json')).out);
    const want = Object.values(archs).reduce((n, a) => n + Object.keys(a.variants).length, 0);
    expect(rows.length).toBe(want);
    // the seventeen variants, named: a variant the CLI dropped or invented shows here
    expect(rows.map((r: { arch: string; variant: string }) => `${r.arch}/${r.variant}`).sort()).toEqual([
      'arm64/4k-39', 'arm64/4k-48', 'arm64/64k-48', 'loongarch/16k-3level', 'loongarch/4k-3level', 'loongarch/4k-4level',
      'loongarch/64k-3level', 'ppc64/radix-4k', 'ppc64/radix-64k', 'riscv/sv39', 'riscv/sv48', 'riscv/sv57',
      's390/3level', 's390/4level', 's390/5level', 'x86_64/4level', 'x86_64/la57',
    ]);
    const x = rows.find((r: { arch: string; variant: string }) => r.arch === 'x86_64' && r.variant === '4level');
    expect(x.presets.map((p: { devmapBit?: number }) => p.devmapBit)).toEqual([58, 58, 57, 57, undefined]);
    expect(x.presets.map((p: { model: string }) => p.model)).toEqual(['legacy', 'legacy', 'legacy', 'unified', 'unified']);
  });

  it('runs the conformance matrix for a variant and reports success', async () => {
    const { code, out } = await run('conformance', '--arch', 'x86_64', '--variant', 'la57');
    expect(code).toBe(0);
    expect(out).toMatch(/checks over 1 variants: all passed/);
    expect(Number(/(\d+) checks over 1 variants/.exec(out)?.[1])).toBeGreaterThan(1000);   // not an empty run
  });
});
