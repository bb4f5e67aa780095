// pgtemu scenario: exit codes (0 all held, 1 an expectation failed, 2 bad
// input), the verdict / differences / failures layout, --json with the preset
// and variant of every cell, a malformed file naming line and column, and
// `--arch all --kernel all` giving the verdicts the model suite asserts.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run as runCli } from '../../src/cli/main.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { verdict } from '../../src/scenario/matrix.js';

async function run(...argv: string[]) {
  const out: string[] = [], err: string[] = [];
  const code = await runCli(argv, { out: (s) => out.push(s), err: (s) => err.push(s), isTTY: false });
  return { code, out: out.join('\n'), err: err.join('\n') };
}
const dir = mkdtempSync(join(tmpdir(), 'pgtemu-scenario-'));
const write = (name: string, body: string) => { const p = join(dir, name); writeFileSync(p, body); return p; };
const shipped = readdirSync('scenarios').filter((f) => f.endsWith('.yaml')).sort().map((f) => `scenarios/${f}`);

describe('pgtemu scenario', () => {
  it('--help shows the usage and an example', async () => {
    const r = await run('scenario', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage: pgtemu scenario \[options\] <file\.\.\.>/);
    expect(r.out).toMatch(/Examples:\n {2}\$ pgtemu scenario scenarios\/\*\.yaml/);
    expect((await run('--help')).out).toContain('  scenario');
  });

  it('the shipped scenarios pass on the default selection (exit 0): a verdict per file', async () => {
    const r = await run('scenario', ...shipped);
    expect(r.code, r.out).toBe(0);
    // each arch's default variant on the default preset; a what-if file on the legacy presets it names
    for (const f of shipped) {
      const n = 6 * (parseScenario(readFileSync(f, 'utf8'), f).pins.kernels?.length ?? 1);
      expect(r.out).toMatch(new RegExp(`^${f.replace(/[.]/g, '\\.')}: PASS .*: ${n}/${n} cells pass$`, 'm'));
    }
    expect(r.out).toMatch(/all expectations held$/);
  });

  it('--arch all --kernel all prints the verdicts the model suite asserts, and the devmap differences', async () => {
    const r = await run('scenario', ...shipped, '--arch', 'all', '--kernel', 'all');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n').filter((l) => /^scenarios\//.test(l));
    // test/model/scenarios.test.ts asserts that every cell of every file passes: the verdict that gives
    const cells = 17 * 5;                                    // every variant x every preset (v6.0 .. v6.17)
    // (a what-if model's file names the legacy presets it applies to: the others are not selected)
    const selected = (f: string) => 17 * (parseScenario(readFileSync(f, 'utf8'), f).pins.kernels?.length ?? 5);
    const allPass = (f: string) => verdict({ file: f, name: parseScenario(readFileSync(f, 'utf8'), f).name, description: '', pinnedOut: cells - selected(f), failed: 0,
      cells: Array.from({ length: selected(f) }, () => ({ arch: '', variant: '', kernel: '', status: 'pass' as const, steps: [], failed: 0 })) });
    expect(lines).toEqual(shipped.map((f) => allPass(f)));
    for (const [i, l] of lines.entries()) expect(l).toMatch(new RegExp(`: PASS .*: ${selected(shipped[i])}/${selected(shipped[i])} cells pass`));
    // the devmap file's table: which presets and arches see the bit
    const dev = r.out.slice(r.out.indexOf('scenarios/devmap-bit.yaml'), r.out.indexOf('scenarios/hugetlb'));
    expect(dev).toMatch(/ok at pmd \[write dirty devmap\]; gup-fast: devmap +x86_64 v6\.0, v6\.1, v6\.12, v6\.15; arm64 v6\.0, v6\.1, v6\.12, v6\.15;/);
    expect(dev).toMatch(/ok at pmd \[write dirty\]; gup-fast: grab +.*s390/);
  });

  it('--json: every cell with its arch, variant, kernel and model; the differences and failures', async () => {
    const r = await run('scenario', 'scenarios/devmap-bit.yaml', '--arch', 'x86_64', '--kernel', 'all', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    const f = j.files[0];
    expect(f).toMatchObject({ file: 'scenarios/devmap-bit.yaml', passed: true, failures: [] });
    expect(f.cells).toHaveLength(10);                       // 2 variants x 5 presets
    expect(f.cells[0]).toMatchObject({ arch: 'x86_64', variant: '4level', kernel: 'v6.0', model: 'legacy', devmap: true, status: 'pass' });
    expect(f.cells.find((c: { kernel: string }) => c.kernel === 'v6.17')).toMatchObject({ model: 'unified', devmap: false });
    expect(f.cells[0].steps[0].fields.flags.devmap).toBe(true);
    expect(f.differences[0].groups.map((g: { where: string }) => g.where).sort()).toEqual(['every arch on v6.0, v6.1, v6.12, v6.15', 'every arch on v6.17']);
  });

  it('a failed expectation: exit 1, the failure with file:line:column and the cells', async () => {
    const p = write('fails.yaml', `name: wrong
description: expects gup-fast to pin a zero page it unshares (gup_must_unshare)
steps:
  - mmap: { start: 1G, length: 2M }
  - fault: 1G
  - gupFast: { at: 1G, pin: true, longterm: true }
    expect: { fast: 1 }
`);
    const r = await run('scenario', p, '--arch', 'x86_64');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/fails\.yaml: FAIL wrong: 0\/2 cells pass, 2 fail \(2 expectations\)/);
    expect(r.out).toContain(`${p}:7:15: step 3 gupFast: fast expected 1, observed 0 (on all)`);
    expect(r.out).toMatch(/FAILED$/);
  });

  it('a malformed file: exit 2 naming file, line and column, before any file runs', async () => {
    const good = write('good.yaml', 'name: g\ndescription: d\nsteps:\n  - check:\n');
    const bad = write('bad.yaml', 'name: b\ndescription: d\nsteps:\n  - mmap: { start: 1G, lenght: 2M }\n');
    const r = await run('scenario', good, bad);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toBe(`pgtemu: ${bad}:4:24: mmap arguments: unknown key 'lenght' (keys: start, length, kind, hugeOrder, read, write, shared, pfn, populate, pgmap, offset, file, mm)`);
    const syn = write('syntax.yaml', 'name: b\ndescription: d\nsteps: [\n');
    expect((await run('scenario', syn)).err).toMatch(new RegExp(`^pgtemu: ${syn.replace(/[.]/g, '\\.')}:\\d+:\\d+: YAML: `));
  });

  it('bad options and missing files: exit 2 with pgtemu: and the valid values', async () => {
    let r = await run('scenario', 'scenarios/devmap-bit.yaml', '--arch', 'mips');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^pgtemu: option '--arch <arch>' argument 'mips' is invalid\. Allowed choices are x86_64, arm64, ppc64, s390, riscv, loongarch, all/);
    r = await run('scenario', 'scenarios/devmap-bit.yaml', '--kernel', 'v9');
    expect(r.code).toBe(2);
    r = await run('scenario', 'scenarios/devmap-bit.yaml', '--arch', 'x86_64', '--variant', 'sv39');
    expect(r.err).toBe("pgtemu: variant 'sv39' is not a variant of x86_64 (4level, la57)");
    r = await run('scenario', join(dir, 'nope.yaml'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^pgtemu: cannot read .*nope\.yaml: ENOENT$/);
    expect((await run('scenario')).code).toBe(2);
  });
});
