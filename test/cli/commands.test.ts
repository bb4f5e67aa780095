// Every command and flag of the CLI: help, version, the bad inputs a new user
// types (each an error with exit 2, the valid values and no stack trace), pte's
// refusals, bench's gup_test shape, check's preset table. In-process, except a
// batch through the real binary for exit codes.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { run as runCli } from '../../src/cli/main.js';
import { presetDifferences } from '../../src/cli/check.js';
import { Machine } from '../../src/index.js';

async function run(...argv: string[]) {
  const out: string[] = [], err: string[] = [];
  const code = await runCli(argv, { out: (s) => out.push(s), err: (s) => err.push(s), isTTY: false });
  return { code, out: out.join('\n'), err: err.join('\n') };
}
async function fails(...argv: string[]): Promise<string> {
  const r = await run(...argv);
  expect(r.code, `${argv.join(' ')}: exit 2 (${r.err})`).toBe(2);
  expect(r.err).toMatch(/^pgtemu: /);
  expect(r.err).not.toMatch(/\n\s+at /);
  return r.err;
}
const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe('help and version', () => {
  it.each(['check', 'main', 'archs', 'pte', 'conformance', 'bench'])('%s --help shows usage and an example, runs nothing', async (cmd) => {
    const r = await run(cmd, '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`^Usage: pgtemu ${cmd === 'main' ? 'check\\|main' : cmd}`));
    expect(r.out).toMatch(/Examples:\n {2}\$ (pgtemu|npm) /);
  });

  it('pgtemu alone and --help list the commands; --version prints the package version', async () => {
    for (const argv of [[], ['--help'], ['help']]) {
      const r = await run(...argv);
      expect(r.code).toBe(0);
      for (const c of ['check', 'archs', 'pte', 'conformance', 'bench']) expect(r.out).toContain(`  ${c}`);
    }
    expect((await run('--version')).out).toBe(version);
    expect((await run('-V')).out).toBe(version);
  });
});

describe('bad input is an error with the valid values', () => {
  it('unknown commands, options and values', async () => {
    expect(await fails('frobnicate')).toMatch(/unknown command 'frobnicate'/);
    expect(await fails('archs', '--bogus')).toMatch(/unknown option '--bogus'/);
    expect(await fails('conformance', '--kernel', 'v9')).toMatch(/'v9' is invalid\. Allowed choices are v6\.0, v6\.1, v6\.12, v6\.15, v6\.17/);
    expect(await fails('conformance', '--variant', 'nope')).toMatch(/--variant 'nope' is not a variant of any arch \(x86_64: 4level, la57; arm64/);
    expect(await fails('conformance', '--arch', 'x86_64', '--variant', 'sv39')).toMatch(/'sv39' is not a variant of x86_64 \(4level, la57\)/);
    expect(await fails('bench', '--arch', 'mips')).toMatch(/'mips' is invalid\. Allowed choices are x86_64, arm64, ppc64, s390, riscv, loongarch/);
    expect(await fails('bench', '--mapping', 'fsdax')).toMatch(/Allowed choices are anon\b/);
    expect(await fails('bench', '--case', 'nope')).toMatch(/Allowed choices are disjoint, same, zap/);
    expect(await fails('bench', '-j', '0')).toMatch(/-j '0' is not an integer in 1\.\.64/);
    expect(await fails('bench', '-m', 'lots')).toMatch(/-m 'lots' is not an integer/);
    expect(await fails('bench', '-a', '-L')).toMatch(/cannot be used with/);
    expect(await fails('bench', '--micro', '-j', '2')).toMatch(/--micro takes .*not -j/);
    expect(await fails('bench', '--quick')).toMatch(/--quick goes with --micro/);
    expect(await fails('archs', '--arch', 'x86_64', '--variant', 'nope')).toMatch(/not a variant of x86_64/);
    expect(await fails('archs', 'extra')).toMatch(/too many arguments/);
  });

  it('pte: a missing value, a stray positional, a pfn that does not fit', async () => {
    expect(await fails('pte', '--arch')).toMatch(/option '--arch <arch>' argument missing/);
    expect(await fails('pte', '--arch', 'x86_64')).toMatch(/give one entry VALUE/);
    expect(await fails('pte', '--arch', 'x86_64', '1', '2')).toMatch(/too many arguments/);
    expect(await fails('pte', '--arch', 'x86_64', '--encode', 'PRESENT', '0x1000')).toMatch(/not both \(stray '0x1000'\)/);
    expect(await fails('pte', '--arch', 'x86_64', '--encode', 'PRESENT', '--pfn', '1', '--pa', '0x1000')).toMatch(/--pfn or --pa, not both/);
    expect(await fails('pte', '--arch', 'x86_64', '--pfn', '1', '0x1')).toMatch(/--pfn and --pa go with --encode/);
    expect(await fails('pte', '--arch', 'x86_64', '--level', 'pmd', '--encode', 'PRESENT,PSE', '--pfn', '0x201'))
      .toMatch(/--pfn 0x201 is not aligned to a pmd leaf \(2048 KiB: the pfn must be a multiple of 0x200\)/);
    expect(await fails('pte', '--arch', 'x86_64', '--encode', 'PRESENT', '--pfn', '0x10000000000')).toMatch(/does not fit the pte pfn field \(largest pfn 0xffffffffff\)/);
    expect(await fails('pte', '--arch', 'x86_64', '--encode', 'PRESENT', '--pa', '0x1001')).toMatch(/--pa 0x1001 is not page aligned/);
    expect(await fails('pte', '--arch', 'x86_64', '--level', 'pgd', '--encode', 'PRESENT')).toMatch(/pgd entries of x86_64\/4level are never leaves/);
    expect(await fails('pte', '--arch', 'x86_64', '0x1_0000_0000_0000_0000')).toMatch(/does not fit in 64 bits/);
    expect(await fails('pte', '--arch', 'x86_64', '--bits', '0x1')).toMatch(/--bits lists names/);
  });
});

describe('pgtemu archs', () => {
  it('shows what each preset\'s Kconfig selects on the arch: ppc64 radix has THP-PUD and DAX vmemmap reuse from v6.12', async () => {
    const text = (await run('archs', '--arch', 'ppc64')).out;
    expect(text).toMatch(/^ppc64 +radix-64k \*.* M M PVM PVM PVM *$/m);
    expect(text).toMatch(/P HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD/);
    // s390 selects none of them (no ARCH_SUPPORTS_MEMORY_FAILURE either)
    expect((await run('archs', '--arch', 's390')).out).toMatch(/^s390 +3level \*.* - - - - - *$/m);
    const rows = JSON.parse((await run('archs', '--arch', 'x86_64', '--variant', '4level', '--json')).out);
    expect(rows[0].presets.map((p: { kernel: string; kconfig: object }) => [p.kernel, p.kconfig])).toEqual([
      ['v6.0', { thpPud: true, hugePfnmap: false, daxVmemmapOpt: true, memoryFailure: true }],
      ['v6.1', { thpPud: true, hugePfnmap: false, daxVmemmapOpt: true, memoryFailure: true }],
      ['v6.12', { thpPud: true, hugePfnmap: true, daxVmemmapOpt: true, memoryFailure: true }],
      ['v6.15', { thpPud: true, hugePfnmap: true, daxVmemmapOpt: true, memoryFailure: true }],
      ['v6.17', { thpPud: true, hugePfnmap: true, daxVmemmapOpt: true, memoryFailure: true }],
    ]);
  });
});

describe('pgtemu pte', () => {
  it('lists a level\'s bit names, also in archs --json', async () => {
    const r = JSON.parse((await run('pte', '--arch', 'x86_64', '--bits', '--level', 'pmd', '--json')).out);
    expect(r.bits).toContainEqual({ name: 'PSE', bit: 7 });
    expect(r.bits).toContainEqual({ name: 'DEVMAP', bit: 57 });
    const text = (await run('pte', '--arch', 'riscv', '--bits')).out;
    expect(text).toMatch(/^\s+8 {2}SPECIAL$/m);
    const archs = JSON.parse((await run('archs', '--arch', 'x86_64', '--variant', '4level', '--json')).out);
    expect(archs).toHaveLength(1);
    expect(archs[0].levels.map((l: { kernelLevel: string }) => l.kernelLevel)).toEqual(['p4d', 'pud', 'pmd', 'pte']);
    expect(archs[0].levels[2].bits).toEqual(r.bits);
  });

  it('says when the pfn is stored inverted, and names only helpers the kernel has', async () => {
    const none = await run('pte', '--arch', 'x86_64', '--encode', 'ACCESSED,PROTNONE', '--pfn', '0x1c63');
    expect(none.out).toMatch(/pfn: +0x1c63 \(stored inverted: x86 L1TF/);
    expect(none.out).toMatch(/helpers: +pte_present pte_young pte_protnone$/m);
    const plain = JSON.parse((await run('pte', '--arch', 'x86_64', '--json', '0x8000000001c63067')).out);
    expect(plain.pfnInverted).toBe(false);
    // both views: the kernel's helpers and the MMU (Intel SDM §4.5.4) agree on a present page ...
    expect(plain.hardware).toMatchObject({ kind: 'leaf', pa: '0x1c63000', size: '0x1000' });
    expect(plain.differs).toBe(false);
    // ... and not on PROT_NONE: present to Linux, not valid to the MMU
    expect(none.out).toMatch(/hardware: invalid — a translation fault +\(Intel SDM vol\. 3A §4\.5\.4/);
    expect(none.out).toMatch(/a present leaf to Linux, a fault to the MMU/);
    // ... and on an arm64 pte with bits 48 and 49 set: PTE_ADDR_LOW (v6.12) reads them, the MMU does not
    const hi = await run('pte', '--arch', 'arm64', '--level', 'pte', '0x0003000012340f43');
    expect(hi.out).toMatch(/a present leaf at 0x3000012340000 to Linux, at 0x12340000 to the MMU/);
    // the top level of 4-level x86: pgd is folded into p4d, whose helpers read the entry; no p4d_write in the kernel
    const top = await run('pte', '--arch', 'x86_64', '--level', 'pgd', '0x1234067');
    expect(top.out).toMatch(/the kernel's p4d_\* helpers read it/);
    expect(top.out).toMatch(/helpers: +p4d_present$/m);
    expect(top.out).not.toMatch(/pgd_|p4d_write|p4d_young/);
    // arm64 4K/39-bit: the 1 GiB block at the top is pud_leaf's; pud_write exists there
    const arm = JSON.parse((await run('pte', '--arch', 'arm64', '--variant', '4k-39', '--level', 'pgd', '--encode', 'VALID,AF,WRITE,DIRTY', '--pfn', '0x40000', '--json')).out);
    expect(arm.helpers.map((h: { name: string }) => h.name)).toEqual(expect.arrayContaining(['pud_present', 'pud_leaf', 'pud_write']));
    expect(arm.helpers.every((h: { name: string }) => h.name.startsWith('pud_'))).toBe(true);
    // x86 has no pud_protnone or pmd_user
    const pmd = JSON.parse((await run('pte', '--arch', 'x86_64', '--level', 'pud', '--json', '0x80000000400000e7')).out);
    expect(pmd.helpers.map((h: { name: string }) => h.name)).not.toContain('pud_protnone');
  });

  it('m.decode takes a level name as well as an index', () => {
    const m = Machine.createSync({ arch: 'x86_64', ramMiB: 16, tablePoolMiB: 1 });
    expect(m.decode(0x2000e7n, 'pmd')).toEqual(m.decode(0x2000e7n, 2));
    expect(m.decode(0x2000e7n, 'pmd').leaf).toBe(true);
    expect(() => m.decode(1n, 'pmx')).toThrow(/decode: level pmx does not exist \(0\.\.3: pgd, pud, pmd, pte\)/);
  });
});

describe('pgtemu bench', () => {
  // gup_test's line (tools/testing/selftests/mm/gup_test.c gup_thread): "%s: Time: get:%lld put:%lld us"
  const TIME = /^([A-Z_]+): Time: get:(\d+) put:(\d+) us$/;
  const lines = (out: string) => out.split('\n').filter((l) => / Time: /.test(l));
  /** Each line is gup_test's, for `cmd`, with both phases timed in whole positive microseconds. */
  function gupTestLines(out: string, cmd: string, n: number): void {
    const ls = lines(out);
    expect(ls, out).toHaveLength(n);
    for (const l of ls) {
      const m = TIME.exec(l);
      expect(m, l).not.toBeNull();
      expect(m![1]).toBe(cmd);
      for (const us of [Number(m![2]), Number(m![3])]) {
        expect(Number.isInteger(us) && us > 0, `${l}: get and put are positive integers`).toBe(true);
      }
    }
  }

  it.each([
    ['-u', 'GUP_FAST_BENCHMARK'], ['-a', 'PIN_FAST_BENCHMARK'], ['-L', 'PIN_LONGTERM_BENCHMARK'], [undefined, 'GUP_FAST_BENCHMARK'],
  ])('%s prints %s: Time: get:N put:N us per thread and repeat', async (flag, cmd) => {
    const r = await run('bench', ...(flag ? [flag] : []), '-m', '16', '-n', '32', '-r', '2');
    expect(r.code).toBe(0);
    gupTestLines(r.out, cmd, 2);
    expect(r.out).toMatch(/get and put are timed apart, as gup_test does/);
    expect(r.out).not.toMatch(/get\+put|timed together|truncated/);
    expect(r.out).not.toMatch(/output array holds/);                                      // one get phase holds the range
    // the summary: ns/page of each phase and pages/s of each phase
    expect(r.out).toMatch(/^threads +pages +wall ms +get ns\/page +put ns\/page +get pages\/s +put pages\/s$/m);
    expect(r.out).toMatch(/^1 +8192 +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+e\+\d+ +[\d.]+e\+\d+$/m);   // 2 repeats x 4096 pages
  });

  it('-j 2: a line per thread and repeat, the summary over both threads', async () => {
    const r = await run('bench', '-a', '-j', '2', '-m', '16', '-n', '64', '-r', '2');
    expect(r.code).toBe(0);
    gupTestLines(r.out, 'PIN_FAST_BENCHMARK', 4);                                         // 2 threads x 2 repeats
    expect(r.out).toMatch(/^2 +16384 +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+e\+\d+ +[\d.]+e\+\d+$/m);  // 2 threads x 2 x 4096 pages
  });

  it('--json has both phases per thread and repeat, and per run', async () => {
    const j = JSON.parse((await run('bench', '-a', '-j', '2', '-m', '16', '-n', '64', '-r', '2', '--json')).out);
    expect(j).toMatchObject({
      cmd: 'PIN_FAST_BENCHMARK', pagesPerRange: 4096, nrPerCall: 64, repeats: 2, phasePages: 4096, phasesPerRepeat: 1, outputArrayPages: 262144,
    });
    expect(j.units).toEqual({ time: 'us', wall: 'ms', nsPerPage: 'ns/page', pagesPerSec: 'pages/s' });
    expect(j.note).toMatch(/timed apart/);
    const [run0] = j.runs;
    expect(run0.threads).toBe(2);
    expect(run0.pages).toBe(16384);
    for (const k of ['getNsPerPage', 'putNsPerPage', 'getPagesPerSec', 'putPagesPerSec', 'wallMs']) expect(run0[k], k).toBeGreaterThan(0);
    expect(run0.perThread.map((x: { thread: number; repeat: number }) => [x.thread, x.repeat])).toEqual([[0, 0], [0, 1], [1, 0], [1, 1]]);
    for (const x of run0.perThread) {
      expect(Object.keys(x).sort()).toEqual(['getNsPerPage', 'getUs', 'pages', 'putNsPerPage', 'putUs', 'repeat', 'shortCalls', 'size', 'thread']);
      for (const us of [x.getUs, x.putUs]) expect(Number.isInteger(us) && us > 0).toBe(true);
      expect(x.getNsPerPage).toBeGreaterThan(0);
      expect(x.putNsPerPage).toBeGreaterThan(0);
      expect(x).toMatchObject({ pages: 4096, size: String(16 << 20), shortCalls: 0 });
    }
  });

  it('says how a range longer than one get phase holds is split', async () => {
    // 1025 MiB = 262400 base pages; a context's output array holds 262144 pfns
    const r = await run('bench', '-u', '-m', '1025', '-n', '512');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/the range is 262400 pages, more than a context's output array holds \(262144 pfns\): each repeat runs 2 get \+ put phases of up to 262144 pages \(whole calls\), and get:\/put: are their sums/);
    gupTestLines(r.out, 'GUP_FAST_BENCHMARK', 1);
    const j = JSON.parse((await run('bench', '-u', '-m', '1025', '-n', '3', '--json')).out);
    expect(j).toMatchObject({ pagesPerRange: 262400, phasePages: 262143, phasesPerRepeat: 2, outputArrayPages: 262144 });   // whole calls of 3
    expect(j.note).toMatch(/2 get \+ put phases of up to 262143 pages/);
    expect(j.runs[0].perThread[0]).toMatchObject({ pages: 262400, size: String(1025 * 2 ** 20) });
  });

  it('same range, THP, scaling and the zap race in --json', async () => {
    const j = JSON.parse((await run('bench', '-u', '-t', '-j', '2', '--scale', '--case', 'same', '-m', '4', '-n', '512', '--arch', 'riscv', '--json')).out);
    expect(j).toMatchObject({ arch: 'riscv', variant: 'sv48', kernel: 'v6.12', cmd: 'GUP_FAST_BENCHMARK', case: 'same', folioPages: 512, pagesPerRange: 1024 });
    expect(j.runs.map((x: { threads: number }) => x.threads)).toEqual([1, 2]);
    expect(j.runs[1].perThread).toHaveLength(2);
    expect(j.runs[1].pages).toBe(2048);
    const z = JSON.parse((await run('bench', '-L', '-j', '2', '--case', 'zap', '-m', '2', '-n', '32', '--json')).out);
    expect(z.runs[0].zaps).toBeGreaterThan(0);
    expect(z.cmd).toBe('PIN_LONGTERM_BENCHMARK');
    expect(z.runs[0].perThread).toHaveLength(2);
    for (const x of z.runs[0].perThread) expect(Number.isInteger(x.getUs) && Number.isInteger(x.putUs)).toBe(true);
  });

  it('refuses bad values with exit 2 and the valid range', async () => {
    expect(await fails('bench', '-r', '0')).toMatch(/-r '0' is not an integer in 1\.\.1000/);
    expect(await fails('bench', '-r', '1001')).toMatch(/-r '1001' is not an integer in 1\.\.1000/);
    expect(await fails('bench', '-n', '0')).toMatch(/-n '0' is not an integer in 1\.\.1048576/);
    expect(await fails('bench', '-n', '-1')).toMatch(/-n '-1' is not an integer/);
    expect(await fails('bench', '-n', '300000', '-m', '2')).toMatch(/-n 300000 is more than one call takes \(262144\)/);
    expect(await fails('bench', '-m', '0')).toMatch(/-m '0' is not an integer in 1\.\.4096/);
    expect(await fails('bench', '-m', '4097')).toMatch(/-m '4097' is not an integer in 1\.\.4096/);
    expect(await fails('bench', '-m', '1.5')).toMatch(/-m '1\.5' is not an integer/);
    expect(await fails('bench', '-j', '65')).toMatch(/-j '65' is not an integer in 1\.\.64/);
    expect(await fails('bench', '-m', '3', '-t')).toMatch(/-m 3: THP on x86_64\/4level needs a multiple of 2 MiB/);
    expect(await fails('bench', '-t', '-H')).toMatch(/cannot be used with/);
    expect(await fails('bench', '-u', '-a')).toMatch(/cannot be used with/);
  });

  it('--micro keeps the in-core timings', async () => {
    const j = JSON.parse((await run('bench', '--micro', '--quick', '--arch', 'x86_64', '--variant', 'la57', '--json')).out);
    expect(j.units.gup4k).toBe('ns/page');
    expect(j.rows).toHaveLength(1);
    expect(j.rows[0].gup4k).toBeGreaterThan(0);
  });
});

describe('pgtemu check', () => {
  it('shows the devmap/special bits per arch and preset, and what gup-fast does with a devmap pte', () => {
    const d = presetDifferences();
    const x86 = d.find((r) => r.arch === 'x86_64')!;
    expect(x86.presets.map((p) => p.devmapBit)).toEqual([58, 58, 57, 57, null]);
    expect(x86.presets.map((p) => p.gupFast)).toEqual(['devmap', 'devmap', 'devmap', 'devmap', 'grab']);
    expect(d.find((r) => r.arch === 's390')!.presets.every((p) => p.devmapBit === null && p.specialBit === 6)).toBe(true);
  });

  it('runs the shipped scenarios over every arch and preset and prints where their outcomes differ', async () => {
    const r = await run('check', '--no-bench');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/kernel situations \(scenarios\/\*\.yaml, every arch x every preset\)/);
    expect(r.out).toMatch(/scenarios\/devmap-bit\.yaml: PASS .*: \d+\/\d+ cells pass/);
    expect(r.out).toMatch(/gup-fast: devmap +on x86_64 v6\.0, v6\.1, v6\.12, v6\.15/);
    const j = JSON.parse((await run('check', '--no-bench', '--json')).out);
    expect(j.scenarios.length).toBeGreaterThanOrEqual(6);
    expect(j.scenarios.every((x: { failures: unknown[] }) => x.failures.length === 0)).toBe(true);
  });
});

describe('the binary', () => {
  it('exits 0, 1 or 2 as it says, with no stack trace', async () => {
    const bin = new URL('../../dist/cli/main.js', import.meta.url).pathname;
    const exec = promisify(execFile);
    const go = (...a: string[]) => exec(process.execPath, [bin, ...a]).then((r) => ({ code: 0, ...r }), (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }));
    const [v, help, kern, arch, ok] = await Promise.all([
      go('--version'), go('pte', '--help'), go('conformance', '--kernel', 'v9'), go('pte', '--arch'), go('pte', '--arch', 's390', '0x400'),
    ]);
    expect(v).toMatchObject({ code: 0, stdout: `${version}\n` });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: pgtemu pte/);
    for (const r of [kern, arch]) {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^pgtemu: /);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/kind: +none/);   // s390's empty pte is _PAGE_INVALID
  });
});
