// Every shipped scenario (scenarios/*.yaml) on every arch variant and every
// kernel preset -- the full matrix, 17 variants x 5 presets (a what-if model,
// which exists on legacy presets only, on those it names); each cell is a
// small fresh machine and the whole run takes a few seconds -- with every
// expectation holding; and the differences table shows the kernel's own
// differences (the devmap bit by preset and arch, a PUD leaf by variant).
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KERNELS } from '../../src/index.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { runMatrix } from '../../src/scenario/matrix.js';
import { differences } from '../../src/scenario/diff.js';
import { VARIANTS } from '../helpers/machines.js';

const dir = new URL('../../scenarios/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
const load = (f: string) => parseScenario(readFileSync(new URL(f, dir), 'utf8'), `scenarios/${f}`);
const archs = [...new Set(VARIANTS.map((v) => v.arch))];
const only = process.env.PGTEMU_ARCHS ? { arch: undefined } : { arch: 'all' };

describe('shipped scenarios', () => {
  it('there are scenarios, and each cites a kernel function', () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const f of files) expect(load(f).description).toMatch(/[a-z_]+\(\)|[a-z]+_[a-z_]+/);
  });

  it.each(files)('%s: every expectation holds on every variant and preset', (f) => {
    const sc = load(f);
    const r = runMatrix(sc, { ...only, kernel: 'all' });
    const cells = r.cells.filter((c) => archs.includes(c.arch));
    // every variant; every preset, but for a what-if model the legacy presets it applies to
    if (sc.pins.kernels) expect(sc.machine.whatIf).toBeDefined();
    expect(sc.pins.archs ?? sc.pins.variants).toBeUndefined();
    expect(cells.length).toBe(VARIANTS.length * (sc.pins.kernels ?? Object.keys(KERNELS)).length);
    const failed = cells.flatMap((c) => [
      ...(c.status === 'fail' && c.reason ? [`${c.arch}/${c.variant} ${c.kernel}: ${c.reason}`] : []),
      ...c.steps.flatMap((s) => [
        ...(s.outcome === 'error' ? [`${c.arch}/${c.variant} ${c.kernel}: ${s.message}`] : []),
        ...s.expectations.filter((x) => !x.held).map((x) => `${c.arch}/${c.variant} ${c.kernel} line ${x.line}: ${x.field} expected ${x.expected}, observed ${x.observed}`),
      ]),
    ]);
    expect(failed).toEqual([]);
    expect(cells.every((c) => c.status === 'pass')).toBe(true);
    // every step ran somewhere, and checked something
    expect(cells.some((c) => c.steps.every((s) => s.outcome === 'ok' || s.outcome === 'refused'))).toBe(true);
    expect(cells[0].steps.some((s) => s.expectations.length > 0)).toBe(true);
  });

  it('the differences show the devmap bit by preset and arch, and nothing that agrees', () => {
    const r = runMatrix(load('devmap-bit.yaml'), { arch: 'all', kernel: 'all' });
    const rows = differences(r);
    expect(rows.map((x) => x.step)).toEqual([1, 2]);
    const pmd = rows[1].groups;
    expect(pmd).toHaveLength(2);
    const devmap = pmd.find((g) => g.outcome.endsWith('gup-fast: devmap'))!;
    const grab = pmd.find((g) => g.outcome.endsWith('gup-fast: grab'))!;
    const has = (g: typeof devmap, arch: string, kernel: string) => g.cells.some((c) => c.arch === arch && c.kernel === kernel);
    expect(has(devmap, 'x86_64', 'v6.12') && has(devmap, 'riscv', 'v6.12') && has(devmap, 'ppc64', 'v6.15')).toBe(true);
    expect(has(grab, 's390', 'v6.12') && has(grab, 'x86_64', 'v6.17') && has(grab, 'riscv', 'v6.1')).toBe(true);
    expect(grab.where).toContain('s390');
    expect(devmap.where).not.toContain('s390');
    // the same file on one cell differs from nothing
    expect(differences(runMatrix(load('devmap-bit.yaml'), { arch: 'x86_64', variant: '4level', kernel: 'v6.12' }))).toEqual([]);
  });

  it('the PUD hugetlb scenario is refused exactly where the variant has no PUD leaf', () => {
    const r = runMatrix(load('hugetlb-pud-leaf.yaml'), { arch: 'all', kernel: 'v6.12' });
    const refused = r.cells.filter((c) => c.steps[0].outcome === 'refused').map((c) => `${c.arch}/${c.variant}`);
    expect(refused.sort()).toEqual(['arm64/64k-48', ...VARIANTS.filter((v) => v.arch === 'loongarch').map((v) => `loongarch/${v.variant}`)].sort());
    expect(r.cells.filter((c) => c.steps[1].outcome === 'skipped').length).toBe(refused.length);
  });
});
