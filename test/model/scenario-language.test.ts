// The scenario language's semantics: expressions, builtins per geometry,
// per-arch / per-preset expectation overrides (the last entry whose `when`
// holds wins, field by field), requires at file and step level, named results
// read by later steps, refusals that a step expects, and failures that report
// where they are.
import { describe, expect, it } from 'vitest';
import { parseExpr, evalExpr } from '../../src/scenario/expr.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { runScenario } from '../../src/scenario/run.js';
import { runMatrix, selectCells } from '../../src/scenario/matrix.js';
import { differences, describeCells } from '../../src/scenario/diff.js';

const x86 = { arch: 'x86_64', variant: '4level', kernel: 'v6.12' };
const sc = (body: string) => parseScenario(`name: t\ndescription: d\n${body}`, 't.yaml');

describe('expressions', () => {
  it('sum names and integers with K/M/G, hex and underscores', () => {
    const env: Record<string, bigint> = { base: 1n << 30n };
    const ev = (s: string) => evalExpr(parseExpr(s), (n) => env[n]);
    expect(ev('base + 2M - 4K')).toBe((1n << 30n) + (2n << 20n) - 4096n);
    expect(ev('0x4000_0000')).toBe(1n << 30n);
    expect(ev('-4K + base')).toBe((1n << 30n) - 4096n);
    expect(ev('1G+1G')).toBe(2n << 30n);
    expect(parseExpr('pin.pfn + 1').terms[0]).toMatchObject({ kind: 'name', name: 'pin', field: 'pfn' });
  });
});

describe('running one cell', () => {
  it('builtins follow the geometry: PMD_SIZE is 2 MiB on x86-64, 512 MiB on arm64 with 64K pages', () => {
    const s = sc('values: { end: PMD_SIZE + PMD_SIZE - PAGE_SIZE }\nsteps:\n  - mmap: { start: PMD_SIZE, length: end }\n  - walk: end\n    expect: { status: none }\n');
    expect(runScenario(s, x86).status).toBe('pass');
    expect(runScenario(s, { arch: 'arm64', variant: '64k-48', kernel: 'v6.12' }).status).toBe('pass');
  });

  it('overrides: the last entry whose when holds decides each field', () => {
    const s = sc(`steps:
  - rawEntry: { at: 1G, template: devmapRw }
    expect:
      - { flags: { devmap: false }, gupFast: grab }
      - { when: { kernel: [v6.1, v6.12, v6.15], arch: x86_64 }, flags: { devmap: true }, gupFast: devmap }
`);
    for (const kernel of ['v6.1', 'v6.12', 'v6.15', 'v6.17']) expect(runScenario(s, { ...x86, kernel }).status).toBe('pass');
    expect(runScenario(s, { arch: 's390', variant: '4level', kernel: 'v6.12' }).status).toBe('pass');
    // without the override the preset with the bit fails, at the line of the expectation
    const plain = sc('steps:\n  - rawEntry: { at: 1G, template: devmapRw }\n    expect: { gupFast: grab }\n');
    const r = runScenario(plain, x86);
    expect(r.status).toBe('fail');
    expect(r.steps[0].expectations[0]).toMatchObject({ field: 'gupFast', line: 5, col: 15, expected: 'grab', observed: 'devmap', held: false });
  });

  it('an expected refusal holds, an unexpected one fails the cell and stops it; error: none undoes an inherited error', () => {
    const s = sc(`steps:
  - mmap: { start: 1G, length: 2M, hugeOrder: 7 }
    expect: { error: EINVAL }
  - mmap: { start: 1G, length: 2M, hugeOrder: pmd }
    expect: [ { error: EINVAL }, { when: { arch: x86_64 }, error: none } ]
  - fault: 3G
  - check:
`);
    const r = runScenario(s, x86);
    expect(r.steps.map((x) => x.outcome)).toEqual(['refused', 'ok', 'refused', 'not-run']);
    expect(r.steps[0].errno).toBe('EINVAL');
    expect(r.steps[2].expectations[0]).toMatchObject({ field: 'error', expected: 'success', held: false, line: 8 });
    expect(r.status).toBe('fail');
    expect(r.failed).toBe(1);
  });

  it('requires: a file that does not hold is skipped; a step that does not hold is skipped with what reads it', () => {
    const s = sc(`requires: { not: { arch: s390 } }
steps:
  - mmap: { start: 2G, length: PUD_SIZE, kind: hugetlb, hugeOrder: pud }
    requires: { leaf: pud }
  - fault: 2G
    requires: { leaf: pud }
  - gupFast: 2G
    requires: { leaf: pud }
    as: g
  - unpin: g
  - check:
    expect: { violations: [], gupOutstanding: 0 }
`);
    expect(runScenario(s, { arch: 's390', variant: '3level', kernel: 'v6.12' })).toMatchObject({ status: 'skipped', reason: 'requires not (arch s390)' });
    const arm = runScenario(s, { arch: 'arm64', variant: '64k-48', kernel: 'v6.12' });
    expect(arm.steps.map((x) => x.outcome)).toEqual(['skipped', 'skipped', 'skipped', 'skipped', 'ok']);
    expect(arm.steps[3].message).toBe('reads g, which was skipped');
    expect(arm.status).toBe('pass');
  });

  it('named results: a later step reads a field; a comparison can say not', () => {
    const s = sc(`steps:
  - mmap: { start: 1G, length: 2M }
  - fault: 1G
  - walk: 1G
    as: z
  - fault: { at: 1G, write: true }
  - walk: 1G
    expect: { pfn: { not: z.pfn }, reserved: false }
  - page: { pfn: z.pfn }
    expect: { reserved: true }
`);
    expect(runScenario(s, x86).status).toBe('pass');
  });

  it('the file\'s pins narrow the matrix; a selection that matches nothing is an error', () => {
    const s = sc('archs: [riscv]\nkernels: [v6.1, v6.17]\nsteps:\n  - check:\n');
    const r = runMatrix(s, { arch: 'all' });
    expect(r.cells.map((c) => `${c.variant} ${c.kernel}`)).toEqual(['sv39 v6.1', 'sv39 v6.17', 'sv48 v6.1', 'sv48 v6.17', 'sv57 v6.1', 'sv57 v6.17']);
    expect(runMatrix(s, {}).cells).toHaveLength(2);    // default variants, the pinned presets
    expect(runMatrix(s, { kernel: 'v6.12' }).cells).toHaveLength(0);
    expect(() => selectCells({ arch: 'mips' })).toThrow(/unknown arch 'mips'/);
    expect(() => selectCells({ arch: 'x86_64', variant: 'sv39' })).toThrow(/variant 'sv39' is not a variant of x86_64/);
  });
});

describe('the differences', () => {
  it('name cell sets in few words and leave out what agrees', () => {
    const u = selectCells({ arch: 'all', kernel: 'all' });
    expect(describeCells(u, u)).toBe('all');
    expect(describeCells(u.filter((c) => c.kernel === 'v6.17'), u)).toBe('every arch on v6.17');
    expect(describeCells(u.filter((c) => c.arch === 's390'), u)).toBe('s390 (every preset)');
    expect(describeCells(u.filter((c) => c.arch === 'arm64' && c.variant === '64k-48' && c.kernel !== 'v6.17'), u)).toBe('arm64/64k-48 v6.0, v6.1, v6.12, v6.15');
    const r = runMatrix(sc('steps:\n  - mmap: { start: 1G, length: PMD_SIZE }\n  - check:\n'), { arch: 'all', kernel: 'all' });
    expect(differences(r)).toEqual([]);
  });
});
