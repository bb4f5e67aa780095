// pgtemu bench: the kernel's gup_test (tools/testing/selftests/mm/gup_test.c)
// run against the emulated machine, with worker threads released together by
// a start barrier; and, with --micro, the in-core single-thread timings.
import { Command, Option } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { archs } from '../arch/index.js';
import { Machine, type Mm } from '../host/machine.js';
import { WorkerPool, gupTestPhasePages, type GupTest, type GupTestResult } from '../host/workers.js';
import { timeGup, timeWalk, DEVMAP_KERNELS, type DevmapResult, type DevmapRow } from '../host/bench.js';
import { PgtemuError } from '../host/errors.js';
import { DEFAULT_KERNEL } from '../host/presets.js';
import { archOption, checkVariant, jsonOption, kernelOption, parseCount, printTable, selectVariants, variantOption, type Io } from './common.js';

// ---------------------------------------------------------------- gup_test

/** gup_test's three benchmark commands (mm/gup_test.h) and what each calls in mm/gup_test.c. */
export const GUP_CMDS = {
  GUP_FAST_BENCHMARK: { pin: false, longterm: false, calls: 'get_user_pages_fast' },
  PIN_FAST_BENCHMARK: { pin: true, longterm: false, calls: 'pin_user_pages_fast' },
  PIN_LONGTERM_BENCHMARK: { pin: true, longterm: true, calls: 'pin_user_pages(FOLL_LONGTERM)' },
} as const;
export type GupCmd = keyof typeof GUP_CMDS;

export const CASES = {
  disjoint: 'each thread on its own range',
  same: 'every thread on the same range (gup_test\'s own shape: one mmap shared by all threads)',
  zap: 'every thread on the same range while the main thread zaps it and faults it back in',
} as const;
export type BenchCase = keyof typeof CASES;

export interface GupTestOptions {
  arch: string; variant?: string; kernel?: string;
  cmd: GupCmd; threads: number; mib: number; repeats: number; nrPerCall: number;
  thp: boolean; hugetlb: boolean; write: boolean; case: BenchCase;
}

/** One repeat on one thread: gup_test's `Time:` line. */
export interface GupTestLine {
  thread: number; repeat: number;
  /** the get phase, µs, truncated as the kernel's ktime_us_delta */
  getUs: number;
  /** the put phase, µs */
  putUs: number;
  /** pages taken and given back */
  pages: number;
  /** gup_test's size after the run: bytes its calls covered (less than the range: the line says truncated) */
  size: string;
  /** ns per page of each phase, from the exact times */
  getNsPerPage: number; putNsPerPage: number;
  /** calls that took fewer pages than asked (0 or 1: the get phase ends there) */
  shortCalls: number;
}

export interface GupTestRun {
  threads: number;
  perThread: GupTestLine[];
  /** wall time from the barrier's release to the last thread's finish (every repeat of every thread) */
  wallMs: number;
  pages: number;
  /** the mean over threads and repeats of each phase's ns per page */
  getNsPerPage: number;
  putNsPerPage: number;
  /** pages per second in each phase, all threads: each thread's pages over its phase time, summed over threads */
  getPagesPerSec: number;
  putPagesPerSec: number;
  zaps?: number;
}

export interface GupTestReport {
  arch: string; variant: string; kernel: string; cmd: GupCmd; case: BenchCase; mapping: 'anon';
  pageSize: number; folioPages: number; mibPerRange: number; pagesPerRange: number; nrPerCall: number; repeats: number; write: boolean;
  /** the pages one get phase holds (a context's output array: outputArrayPages pfns) and the phases per repeat */
  phasePages: number; phasesPerRepeat: number; outputArrayPages: number;
  units: { time: 'us'; wall: 'ms'; nsPerPage: 'ns/page'; pagesPerSec: 'pages/s' };
  note: string;
  runs: GupTestRun[];
}

const TIMING_NOTE = 'get and put are timed apart, as gup_test does: per repeat a get phase of gup calls over the whole range '
  + '(every reference held), then a put phase giving them all back, each timed on its worker thread around its call into the core';

/** How the phases were split, when the range is more than one get phase holds. */
function splitNote(pages: number, phasePages: number, phases: number, cap: number): string {
  return phases === 1 ? '' : `the range is ${pages} pages, more than a context's output array holds (${cap} pfns): `
    + `each repeat runs ${phases} get + put phases of up to ${phasePages} pages (whole calls), and get:/put: are their sums`;
}

const BASE = 1n << 32n;

/** One gup_test run per thread count in `counts`. */
export async function gupTest(o: GupTestOptions, counts: number[], log?: (s: string) => void): Promise<GupTestReport> {
  checkVariant(o.arch, o.variant);
  const probe = Machine.createSync({ arch: o.arch, variant: o.variant, kernel: o.kernel, ramMiB: 8, tablePoolMiB: 1, threads: 1 });
  const ps = probe.desc.pageShift;
  const pmdOrder = probe.leafOrders.filter((x) => x > 0).sort((a, b) => a - b)[0];
  const order = o.thp || o.hugetlb ? pmdOrder : 0;
  if ((o.thp || o.hugetlb) && pmdOrder === undefined) throw new PgtemuError('EINVAL', `${o.arch}/${probe.desc.variant} has no pmd leaf for -t/-H`);
  const bytes = BigInt(o.mib) << 20n;
  const folioBytes = 1n << BigInt(ps + order);
  if (bytes % folioBytes) throw new PgtemuError('EINVAL', `-m ${o.mib}: ${o.thp ? 'THP' : 'hugetlb'} on ${o.arch}/${probe.desc.variant} needs a multiple of ${folioBytes >> 20n} MiB`);
  const pages = Number(bytes >> BigInt(ps));
  if (o.nrPerCall > probe.maxPagesPerCall) throw new PgtemuError('EINVAL', `-n ${o.nrPerCall} is more than one call takes (${probe.maxPagesPerCall})`);
  const nr = Math.min(o.nrPerCall, pages);
  const maxThreads = Math.max(...counts);
  const ranges = o.case === 'disjoint' ? maxThreads : 1;
  // the ranges, 1 GiB apart at least; with zap, room for the refaults while
  // every thread holds a whole range's references (of pages zapped meanwhile)
  const stride = bytes > 1n << 30n ? (bytes + folioBytes - 1n) & ~(folioBytes - 1n) : 1n << 30n;
  const ramMiB = Math.ceil(ranges * o.mib * (o.case === 'zap' ? maxThreads + 1 : 1) + 64);
  const m = Machine.createSync({ arch: o.arch, variant: o.variant, kernel: o.kernel, ramMiB, tablePoolMiB: Math.max(8, Math.ceil(ranges * o.mib / 256) + 4), threads: maxThreads + 1 });
  const mm = m.createMm();
  const kind = o.hugetlb ? 'hugetlb' : 'anon';
  for (let i = 0; i < ranges; i++) {
    mm.mmap({ start: BASE + BigInt(i) * stride, length: bytes, kind, hugeOrder: order, populate: true });
  }
  const cap = m.maxPagesPerCall;
  const phasePages = gupTestPhasePages(m, pages, nr);
  const phases = Math.ceil(pages / phasePages);
  const split = splitNote(pages, phasePages, phases, cap);
  if (split) log?.(`(${split})`);
  const runs: GupTestRun[] = [];
  try {
    for (const j of counts) {
      const pool = await WorkerPool.start(m, j);
      try {
        runs.push(await gupTestRun(o, pool, mm, { j, nr, pages, stride, bytes, pageShift: ps }, log));
      } finally {
        await pool.close();
      }
    }
  } finally {
    mm.destroy();
  }
  const v = m.checkInvariants();
  if (v.length) throw new PgtemuError('EFAULT', `bench: ${v.length} invariant violations after the run (first: pfn ${v[0].pfn} ${v[0].invariant})`);
  return {
    arch: o.arch, variant: m.desc.variant, kernel: m.kernel, cmd: o.cmd, case: o.case, mapping: 'anon',
    pageSize: 1 << ps, folioPages: 1 << order, mibPerRange: o.mib, pagesPerRange: pages, nrPerCall: nr, repeats: o.repeats, write: o.write,
    phasePages, phasesPerRepeat: phases, outputArrayPages: cap,
    units: { time: 'us', wall: 'ms', nsPerPage: 'ns/page', pagesPerSec: 'pages/s' },
    note: split ? `${TIMING_NOTE}; ${split}` : TIMING_NOTE,
    runs,
  };
}

async function gupTestRun(
  o: GupTestOptions, pool: WorkerPool, mm: Mm,
  g: { j: number; nr: number; pages: number; stride: bigint; bytes: bigint; pageShift: number }, log?: (s: string) => void,
): Promise<GupTestRun> {
  const c = GUP_CMDS[o.cmd];
  const { j, nr, pages, stride, bytes } = g;
  const tests = (range: number, repeats: number): GupTest[] => Array.from({ length: j }, (_, t) => ({
    mm, start: BASE + BigInt(o.case === 'disjoint' ? t : 0) * stride, nr, pages: range,
    pin: c.pin, longterm: c.longterm, write: o.write, repeats,
  }));
  // warm-up: V8 compiles a worker's core functions with its baseline compiler first and
  // re-compiles the busy ones on a background thread; short runs until that settles
  const warm = performance.now();
  do await pool.runGupTest(tests(Math.min(pages, Math.max(nr, 16384)), 1)); while (performance.now() - warm < 150);
  const run: GupTestRun = { threads: j, perThread: [], wallMs: 0, pages: 0, getNsPerPage: 0, putNsPerPage: 0, getPagesPerSec: 0, putPagesPerSec: 0 };
  let during: (() => void) | undefined;
  if (o.case === 'zap') {
    // zap_page_range_single and a refault, for as long as the gup threads took alone
    const alone = (await pool.runGupTest(tests(pages, 1))).wallMs * o.repeats;
    run.zaps = 0;
    during = () => {
      const until = performance.now() + alone;
      do { mm.zap(BASE, bytes); mm.populate(BASE, bytes, { write: true }); run.zaps!++; } while (performance.now() < until);
    };
  }
  const { results, wallMs } = await pool.runGupTest(tests(pages, o.repeats), during);
  check(results, o.case, o.repeats);
  run.wallMs = wallMs;
  const ns = (ms: number, n: number) => (n > 0 ? (ms * 1e6) / n : 0);
  const rate = { get: 0, put: 0 };
  results.forEach((x, t) => {
    let pagesT = 0, getMs = 0, putMs = 0;
    x.repeats.forEach((p, r) => {
      // ktime_us_delta: whole microseconds, truncated
      const line: GupTestLine = {
        thread: t, repeat: r, getUs: Math.trunc(p.getMs * 1000), putUs: Math.trunc(p.putMs * 1000), pages: p.pages,
        size: String(BigInt(p.swept) << BigInt(g.pageShift)), getNsPerPage: ns(p.getMs, p.pages), putNsPerPage: ns(p.putMs, p.pages),
        shortCalls: p.short ? 1 : 0,
      };
      run.perThread.push(line);
      pagesT += p.pages; getMs += p.getMs; putMs += p.putMs;
      log?.(`${o.cmd}: Time: get:${line.getUs} put:${line.putUs} us${p.swept !== pages ? `, truncated (size: ${line.size})` : ''}`);
    });
    run.pages += pagesT;
    if (getMs > 0) rate.get += (pagesT * 1000) / getMs;
    if (putMs > 0) rate.put += (pagesT * 1000) / putMs;
  });
  const n = run.perThread.length;
  run.getNsPerPage = run.perThread.reduce((s, x) => s + x.getNsPerPage, 0) / n;
  run.putNsPerPage = run.perThread.reduce((s, x) => s + x.putNsPerPage, 0) / n;
  run.getPagesPerSec = rate.get;
  run.putPagesPerSec = rate.put;
  return run;
}

function check(results: GupTestResult[], c: BenchCase, repeats: number): void {
  for (const [i, r] of results.entries()) {
    if (r.error || r.status < 0) throw new PgtemuError('EFAULT', `bench: thread ${i} failed (${r.error ?? `status ${r.status}`})`);
    if (r.repeats.length !== repeats) throw new PgtemuError('EFAULT', `bench: thread ${i} did ${r.repeats.length} of ${repeats} repeats`);
    const short = r.repeats.filter((p) => p.short).length;
    if (c !== 'zap' && short) throw new PgtemuError('EFAULT', `bench: thread ${i} came up short in ${short} get phases on a populated range`);
  }
}

export function printGupTest(r: GupTestReport, out: (s: string) => void): void {
  const t: string[][] = [['threads', 'pages', 'wall ms', 'get ns/page', 'put ns/page', 'get pages/s', 'put pages/s', ...(r.case === 'zap' ? ['zaps', 'short calls'] : [])]];
  for (const x of r.runs) {
    t.push([String(x.threads), String(x.pages), x.wallMs.toFixed(1), x.getNsPerPage.toFixed(1), x.putNsPerPage.toFixed(1),
      x.getPagesPerSec.toExponential(3), x.putPagesPerSec.toExponential(3),
      ...(r.case === 'zap' ? [String(x.zaps), String(x.perThread.reduce((s, p) => s + p.shortCalls, 0))] : [])]);
  }
  out('');
  printTable(t, out);
  out('(ns/page: per thread, the mean over threads and repeats; pages/s: all threads, each thread\'s pages over its phase time, summed)');
}

// ---------------------------------------------------------------- --micro

export interface MicroRow { arch: string; variant: string; kernel: string; gup4k: number; gupPmd: number | null; walk: number }

export function benchMatrix(arch: string | undefined, variant: string | undefined, size: 'quick' | 'short', kernel = DEFAULT_KERNEL): MicroRow[] {
  const rounds = size === 'quick' ? 40 : 200;
  return selectVariants(arch, variant).map(({ arch: a, variant: v }) => {
    const m = Machine.createSync({ arch: a, variant: v, kernel, ramMiB: 1200, tablePoolMiB: 8 });
    const pmd = m.leafOrders.filter((o) => o > 0).sort((x, y) => x - y)[0];
    const pmdPages = pmd === undefined ? 0 : 1 << pmd;
    return {
      arch: a, variant: v, kernel,
      gup4k: timeGup(m, { order: 0, pages: 512, pin: true, write: true }, { rounds, samples: 9 }),
      // (a pmd leaf of more than 2^17 pages does not fit this benchmark's 1200 MiB machine twice over)
      gupPmd: pmd === undefined || pmdPages > (1 << 17) ? null
        : timeGup(m, { order: pmd, pages: pmdPages, pin: true, write: true }, { rounds: Math.max(4, (rounds * 512) / pmdPages), samples: 9 }),
      walk: timeWalk(m, { count: rounds * 512, samples: 9 }),
    };
  });
}

export function printMicro(rows: MicroRow[], out: (s: string) => void): void {
  const t: string[][] = [['arch', 'variant', 'pin+unpin 512 x base page', 'pin+unpin one pmd leaf', 'random walk']];
  for (const r of rows) {
    t.push([r.arch, r.variant, `${r.gup4k.toFixed(1)} ns/page`, r.gupPmd === null ? '-' : `${r.gupPmd.toFixed(2)} ns/page`, `${r.walk.toFixed(1)} ns/walk`]);
  }
  printTable(t, out);
}

// ---------------------------------------------------------------- device-DAX, devmap against unified

const ratioText = (r: DevmapRow): string => `${r.ratio.toFixed(2)} [${r.ratioP25.toFixed(2)}..${r.ratioP75.toFixed(2)}]`;
const sizeText = (shift: number): string => (shift >= 20 ? `${2 ** (shift - 20)} MiB` : `${2 ** (shift - 10)} KiB`);

/** One line per arch and case of devmapVsUnified's results (and one per arch it did not run on). */
export function devmapLines(results: DevmapResult[]): string[] {
  const lines = results.flatMap((d) => (d.why ? [[`devdax  ${d.arch}/${d.variant}  not run: ${d.why}`, '']] : d.rows.map((r) => [
    `devdax  ${d.arch}/${d.variant}  pin+unpin ${r.pages} pages in ${r.case === 'base' ? 'base-page folios' : `${sizeText(d.pageShift + r.order)} folios`}`,
    `${d.legacy} ${r.legacyNsPerPage.toFixed(2)}  ${d.unified} ${r.unifiedNsPerPage.toFixed(2)} ns/page  ${d.legacy}/${d.unified} ${ratioText(r)}`])));
  const w = Math.max(...lines.filter(([, b]) => b).map(([a]) => a.length));
  return lines.map(([a, b]) => (b ? `${a.padEnd(w)}  ${b}` : a));
}

/** The benchmark report's device-DAX section (markdown): per arch, ns per page on each kernel and their ratio, for base pages and pmd folios. */
export function devmapMarkdown(results: DevmapResult[]): string {
  const L = DEVMAP_KERNELS.legacy, U = DEVMAP_KERNELS.unified;
  const ran = results.filter((d) => !d.why);
  const row = (d: DevmapResult, c: DevmapRow['case']): DevmapRow => {
    const r = d.rows.find((x) => x.case === c);
    if (!r) throw new PgtemuError('EINVAL', `devmap results of ${d.arch}/${d.variant} have no ${c} row`);
    return r;
  };
  return [
    `### Device-DAX: the devmap path (${L}) against the unified one (${U}) over the same device memory`,
    '',
    'Per arch (its default variant), one machine per kernel over the same device range (memremap_pages, MEMORY_DEVICE_GENERIC, mapped and faulted in),',
    'in folios of one page, then of one pmd leaf; per call FOLL_PIN gup-fast of the same pages (512, or one pmd leaf where that is more) and their unpin, in the core.',
    `${L} takes a devmap pte under a pgmap reference that get_dev_pagemap keeps for the rest of the pte table (gup_fast_pte_range) and a devmap pmd leaf`,
    `one page at a time (gup_fast_devmap_leaf); ${U} takes a normal pte on its refcount alone and a pmd leaf with one add for all its pages (gup_fast_pmd_leaf).`,
    `The two machines run in rounds of one ~1 ms batch each, the order alternating; ns per page (the arch's page): the median over ${ran[0]?.rounds ?? '-'} rounds;`,
    `${L} / ${U}: the ratio of the two times in each round, median [25th..75th percentile]. Compare ratios: the host's speed changes within a run.`,
    '',
    `| arch | variant | page | pages per call | base pages: ${L} ns/page | ${U} ns/page | ${L} / ${U} | pmd folio | pmd folios: ${L} ns/page | ${U} ns/page | ${L} / ${U} |`,
    '|---|---|---|---:|---:|---:|---|---|---:|---:|---|',
    ...ran.map((d) => {
      const b = row(d, 'base'), p = row(d, 'pmd');
      return `| ${d.arch} | ${d.variant} | ${sizeText(d.pageShift)} | ${b.pages} | ${b.legacyNsPerPage.toFixed(1)} | ${b.unifiedNsPerPage.toFixed(1)} | ${ratioText(b)} `
        + `| ${sizeText(d.pageShift + p.order)} | ${p.legacyNsPerPage.toFixed(1)} | ${p.unifiedNsPerPage.toFixed(2)} | ${ratioText(p)} |`;
    }),
    ...results.filter((d) => d.why).flatMap((d) => ['', `${d.arch}/${d.variant}: not run (${d.why}).`]),
  ].join('\n');
}

// ---------------------------------------------------------------- the command

interface BenchOpts {
  arch?: string; variant?: string; kernel?: string; json?: boolean; micro?: boolean; quick?: boolean;
  u?: boolean; a?: boolean; L?: boolean; j: number; m: number; r: number; n: number; t?: boolean; H?: boolean; w?: boolean; W?: boolean;
  case: BenchCase; scale?: boolean; mapping: string; plot?: string;
}

export function benchCommand(io: Io): Command {
  return new Command('bench')
    .summary('gup_test against the emulated machine (or --micro in-core timings)')
    .description('The kernel\'s gup_test (tools/testing/selftests/mm/gup_test.c) on the emulated machine: every thread '
      + 'starts on a barrier; per repeat it runs a get phase (gup calls of -n pages over its whole -m range, inside '
      + 'the core, every reference held) and then a put phase (unpin or put of all of them). Prints gup_test\'s '
      + 'per-thread lines, `PIN_FAST_BENCHMARK: Time: get:N put:N us`, then ns per page and pages per second of each phase. '
      + `Note: ${TIMING_NOTE}. `
      + 'With --micro: in-core single-thread timings of pin+unpin and of the walk, per variant.')
    .addOption(new Option('-u', 'GUP_FAST_BENCHMARK: get_user_pages_fast (the default)').conflicts(['a', 'L']))
    .addOption(new Option('-a', 'PIN_FAST_BENCHMARK: pin_user_pages_fast').conflicts(['L']))
    .addOption(new Option('-L', 'PIN_LONGTERM_BENCHMARK: pin with FOLL_LONGTERM'))
    .addOption(new Option('-j <threads>', 'threads').default(1).argParser(parseCount('-j', 64)))
    .addOption(new Option('-m <MiB>', 'MiB per range').default(128).argParser(parseCount('-m', 4096)))
    .addOption(new Option('-r <repeats>', 'repeats').default(1).argParser(parseCount('-r', 1000)))
    .addOption(new Option('-n <pages>', 'pages per call (gup_test: nr_pages_per_call)').default(1).argParser(parseCount('-n', 1 << 20)))
    .addOption(new Option('-t', 'THP: the range faults in pmd-sized folios (MADV_HUGEPAGE)').conflicts(['H']))
    .addOption(new Option('-H', 'hugetlb: MAP_HUGETLB with the pmd leaf size'))
    .addOption(new Option('-w', 'FOLL_WRITE (the default)').conflicts(['W']))
    .addOption(new Option('-W', 'no FOLL_WRITE'))
    .addOption(new Option('--case <case>', Object.entries(CASES).map(([k, v]) => `${k}: ${v}`).join('; ')).choices(Object.keys(CASES)).default('disjoint'))
    .addOption(new Option('--scale', 'run with 1, 2, ... -j threads'))
    .addOption(new Option('--mapping <kind>', 'what the range maps (anon; device memory is measured by npm run bench, legacy devmap vs unified)').choices(['anon']).default('anon'))
    .addOption(archOption().default('x86_64'))
    .addOption(variantOption())
    .addOption(kernelOption())
    .addOption(new Option('--micro', 'in-core single-thread timings per variant instead (every variant, or --arch/--variant)'))
    .addOption(new Option('--quick', 'with --micro: fewer rounds'))
    .addOption(new Option('--plot <dir>', 'also draw SVG plots into DIR'))
    .addOption(jsonOption())
    .addHelpText('after', `
Examples:
  $ pgtemu bench -a -j 2 -m 64 -n 512              # PIN_FAST_BENCHMARK, two threads, disjoint ranges
  $ pgtemu bench -a -t -j 4 --case same --scale    # contention on the same THPs, 1..4 threads
  $ pgtemu bench -u -j 2 --case zap -m 16          # gup-fast racing zap and refault
  $ pgtemu bench --micro --arch riscv --json`)
    .action(async (o: BenchOpts, cmd: Command) => {
      if (o.micro) {
        const given = ['u', 'a', 'L', 'j', 'm', 'r', 'n', 't', 'H', 'w', 'W', 'case', 'scale', 'mapping']
          .filter((k) => cmd.getOptionValueSource(k) === 'cli');
        if (given.length) throw new PgtemuError('EINVAL', `bench --micro takes --arch, --variant, --kernel, --quick, --json; not ${given.map((k) => (k.length === 1 ? `-${k}` : `--${k}`)).join(', ')}`);
        const arch = cmd.getOptionValueSource('arch') === 'cli' ? o.arch : undefined;
        checkVariant(arch, o.variant);
        const rows = benchMatrix(arch, o.variant, o.quick ? 'quick' : 'short', o.kernel);
        if (o.json) io.out(JSON.stringify({ units: { gup4k: 'ns/page', gupPmd: 'ns/page', walk: 'ns/walk' }, rows }, null, 2));
        else printMicro(rows, io.out);
        if (o.plot) await plotMicro(rows, o.plot, io);
        return;
      }
      if (o.quick) throw new PgtemuError('EINVAL', 'bench: --quick goes with --micro');
      const cmdName: GupCmd = o.L ? 'PIN_LONGTERM_BENCHMARK' : o.a ? 'PIN_FAST_BENCHMARK' : 'GUP_FAST_BENCHMARK';
      const opts: GupTestOptions = {
        arch: o.arch!, variant: o.variant, kernel: o.kernel, cmd: cmdName, threads: o.j, mib: o.m, repeats: o.r, nrPerCall: o.n,
        thp: !!o.t, hugetlb: !!o.H, write: !o.W, case: o.case,
      };
      const counts = o.scale ? Array.from({ length: o.j }, (_, i) => i + 1) : [o.j];
      if (!o.json) {
        io.out(`gup_test on ${o.arch}/${o.variant ?? archs[o.arch!].defaultVariant} ${o.kernel ?? DEFAULT_KERNEL}: ${cmdName} (${GUP_CMDS[cmdName].calls}), `
          + `${o.m} MiB ${o.H ? 'hugetlb' : o.t ? 'THP' : 'anon'} ${o.case === 'disjoint' ? 'per thread' : 'shared by all threads'}, ${o.n} pages per call, ${o.W ? 'read' : 'FOLL_WRITE'}`);
        io.out(`case ${o.case}: ${CASES[o.case]}`);
        io.out(`(${TIMING_NOTE})`);
      }
      const r = await gupTest(opts, counts, o.json ? undefined : io.out);
      if (o.json) io.out(JSON.stringify(r, null, 2));
      else printGupTest(r, io.out);
      if (o.plot) await plotScaling(r, o.plot, io);
    });
}

// ---------------------------------------------------------------- plots

/** A vega-lite spec rendered to SVG in Node (no browser). */
export async function svg(spec: object): Promise<string> {
  const vega = await import('vega');
  const vl = await import('vega-lite');
  const view = new vega.View(vega.parse(vl.compile(spec as never).spec), { renderer: 'none' });
  return view.toSVG();
}

export async function plotMicro(rows: MicroRow[], dir: string, io: Io): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const values = rows.flatMap((r) => [
    { variant: `${r.arch}/${r.variant}`, case: 'pin+unpin base page', ns: r.gup4k },
    ...(r.gupPmd === null ? [] : [{ variant: `${r.arch}/${r.variant}`, case: 'pin+unpin pmd leaf (per page)', ns: r.gupPmd }]),
    { variant: `${r.arch}/${r.variant}`, case: 'random walk', ns: r.walk },
  ]);
  const file = join(dir, 'per-arch-cost.svg');
  writeFileSync(file, await svg({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `pgtemu in-core cost per arch (${rows[0]?.kernel ?? ''})`,
    data: { values },
    mark: 'bar',
    encoding: {
      y: { field: 'variant', type: 'nominal', title: null },
      x: { field: 'ns', type: 'quantitative', title: 'ns' },
      color: { field: 'case', type: 'nominal' },
      yOffset: { field: 'case' },
    },
  }));
  io.out(`plot: ${file}`);
}

export async function plotScaling(r: GupTestReport, dir: string, io: Io): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `scaling-${r.arch}-${r.variant}-${r.case}.svg`);
  writeFileSync(file, await svg({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `${r.cmd} ${r.arch}/${r.variant} ${r.kernel}, case ${r.case}, ${r.folioPages > 1 ? `${r.folioPages}-page folios` : 'base pages'}`,
    data: {
      values: r.runs.flatMap((x) => [
        { threads: x.threads, phase: 'get', pagesPerSec: x.getPagesPerSec, nsPerPage: x.getNsPerPage },
        { threads: x.threads, phase: 'put', pagesPerSec: x.putPagesPerSec, nsPerPage: x.putNsPerPage },
      ]),
    },
    layer: [
      {
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'threads', type: 'ordinal' },
          y: { field: 'pagesPerSec', type: 'quantitative', title: 'pages/s, all threads' },
          color: { field: 'phase', type: 'nominal' },
        },
      },
    ],
  }));
  io.out(`plot: ${file}`);
}
