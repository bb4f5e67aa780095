// pgtemu benchmarks: `npm run bench [-- --quick] [-- --arch A] [-- --variant V] [-- --json] [-- --write]`.
//
// benchmark.js times, per architecture variant, in the same run:
//   - gup-fast pin + unpin of 512 base pages, of one pmd-level leaf, of one
//     pud-level leaf (where the variant has one), and 512 random walks,
//     each as one call into the core (the loop runs inside the Wasm module);
//   - the same operations on the plain-TypeScript reference model;
// then, with worker threads in gup_test's shape (a start barrier; per repeat
// a get phase over 128 MiB in the core, then the put phase, each timed apart):
//   - 1 worker, 2 workers on disjoint ranges, 2 workers on the same pages;
// then, per arch (its default variant, or --variant) where both presets have ZONE_DEVICE:
//   - device-DAX pin + unpin on v6.12 (devmap entries) against v6.17 (normal
//     entries) over the same device memory, as base pages and as pmd-sized
//     folios, the two machines interleaved in rounds (devmapVsUnified);
// and the shared-memory footprint per GiB of modelled RAM; and last (x86_64)
// pgtemu against a native C loop of the same algorithm, interleaved in rounds
// (bench/native.js; "no compiler" where cc is missing).
// Results: printed (with --json: the report as JSON on stdout, the lines on stderr); with --write
// (a full run only) also written to bench/results/latest.{json,md} and the README's benchmark
// section. A quick or filtered run never rewrites tracked files.

import Benchmark from 'benchmark';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { Machine, WorkerPool, archs } from '../dist/index.js';
import { prepareGup, gupRounds, walkRounds, median, quantile, warmUp, devmapVsUnified } from '../dist/host/bench.js';
import { plotMicro, svg, devmapLines, devmapMarkdown } from '../dist/cli/bench.js';
import { progress } from '../dist/cli/common.js';
import { nativeComparison, nativeMarkdown } from './native.js';
import { args, refuse } from './args.js';

const opt = args('npm run bench -- [--quick] [--arch A] [--variant V] [--no-ref] [--json] [--write]',
  { quick: { type: 'boolean' }, arch: { type: 'string' }, variant: { type: 'string' }, 'no-ref': { type: 'boolean' }, json: { type: 'boolean' }, write: { type: 'boolean' } });
// (refused before anything runs)
if (opt.arch !== undefined && !Object.values(archs).some((a) => a.arch === opt.arch)) {
  refuse(`--arch ${opt.arch}: not an architecture (${Object.values(archs).map((a) => a.arch).join(', ')})`);
}
const variants = Object.values(archs).flatMap((a) => Object.keys(a.variants).map((v) => ({ arch: a.arch, variant: v })))
  .filter((x) => (!opt.arch || x.arch === opt.arch) && (!opt.variant || x.variant === opt.variant));
if (variants.length === 0) refuse(`--variant ${opt.variant}: no such variant${opt.arch ? ` of ${opt.arch}` : ''}`);
if (opt.write && (opt.quick || opt.arch || opt.variant)) refuse('--write records full runs only: drop --quick, --arch and --variant');
// the reference model (npm run build:reference, which prebench runs)
const RefMachine = opt['no-ref'] ? null : (await import('../build/reference/test/reference/index.js')).RefMachine;
const maxTime = opt.quick ? 0.25 : 1;
// the lines a run prints; with --json stdout carries the report alone
const log = opt.json ? (...a) => console.error(...a) : (...a) => console.log(...a);
const GiB = 1n << 30n;

// One benchmark.js case, after a warm-up long enough for the core's functions
// to tier up from V8's baseline compiler to its optimising one. Reported: the
// median of benchmark.js's samples (each sample is the mean of many calls),
// their mean and relative margin of error, and the fastest sample.
function bench(name, fn) {
  warmUp(fn, opt.quick ? 100 : 300);
  const b = new Benchmark(name, fn, { maxTime, minSamples: 5, initCount: 1 });
  b.run({ async: false });
  if (b.error) throw b.error;
  return { median: median(b.stats.sample), min: Math.min(...b.stats.sample), mean: b.stats.mean, rme: b.stats.rme, samples: b.stats.sample.length };
}

/** ns per page: the core's median, best and mean, and the reference's median. */
function perPage(core, ref, pages) {
  const ns = (x) => (x * 1e9) / pages;
  return {
    coreNsPerPage: ns(core.median), coreBestNsPerPage: ns(core.min), coreMeanNsPerPage: ns(core.mean), coreRme: core.rme, coreSamples: core.samples,
    refNsPerPage: ref && ns(ref.median), refRme: ref?.rme,
  };
}

function xorshift(seed) {
  let x = seed;
  return () => { x ^= x << 13n; x &= (1n << 64n) - 1n; x ^= x >> 7n; x ^= x << 17n; x &= (1n << 64n) - 1n; return x; };
}

/** One variant: core and reference, same cases. */
function benchVariant(arch, variant) {
  const probe = Machine.createSync({ arch, variant, ramMiB: 64, tablePoolMiB: 4 });
  const orders = probe.leafOrders.filter((o) => o >= 0).sort((a, b) => a - b);
  const ps = probe.desc.pageShift;
  const cases = [
    { name: '512 x base page', order: 0, pages: 512 },
    ...orders.filter((o) => o > 0).slice(0, 2).map((o, i) => ({ name: i === 0 ? 'one pmd leaf' : 'one pud leaf', order: o, pages: 1 << o })),
  ].filter((c) => (BigInt(c.pages) << BigInt(ps)) <= GiB);   // up to 1 GiB leaves (s390's 2 GiB leaves: see its tests)
  const rows = [];
  for (const c of cases) {
    const bytes = BigInt(c.pages) << BigInt(ps);
    const ramMiB = Math.max(128, Number((2n * bytes) >> 20n) + 96);
    const m = Machine.createSync({ arch, variant, ramMiB, tablePoolMiB: 8 });
    const r = opt['no-ref'] ? null : RefMachine.of(m);   // a model starts from the same fresh machine
    const { mm, start } = prepareGup(m, c);
    const gc = { ...c, pin: true, write: true };
    const core = bench(`${arch}/${variant} core ${c.name}`, () => gupRounds(m, mm, start, gc, 1));
    let ref = null;
    if (r) {
      const rmm = r.createMm();
      rmm.mmap({ start, length: (bytes + (1n << BigInt(ps + c.order)) - 1n) & ~((1n << BigInt(ps + c.order)) - 1n), kind: c.order === 0 || c.order === orders.filter((o) => o > 0)[0] ? 'anon' : 'hugetlb', hugeOrder: c.order, populate: true });
      ref = bench(`${arch}/${variant} reference ${c.name}`, () => { const g = rmm.gupFast(start, c.pages, { pin: true, write: true }); r.unpin(g); });
    }
    rows.push({ case: `pin+unpin ${c.name}`, pages: c.pages, ...perPage(core, ref, c.pages) });
    if (c.order === 0) {
      const len = 4096n << BigInt(ps);
      const w = Machine.createSync({ arch, variant, ramMiB: Math.max(128, Number((2n * len) >> 20n) + 64), tablePoolMiB: 8 });
      const rw = opt['no-ref'] ? null : RefMachine.of(w);
      const { mm: wmm, start: ws } = prepareGup(w, { order: 0, pages: 4096 });
      let seed = 0x9e3779b97f4a7c15n;
      const coreWalk = bench(`${arch}/${variant} core walk`, () => { seed += 1n; walkRounds(w, wmm, ws, len, 512, seed); });
      let refWalk = null;
      if (rw) {
        const rmm = rw.createMm();
        rmm.mmap({ start: ws, length: len, populate: true });
        const rnd = xorshift(0x9e3779b97f4a7c15n);
        refWalk = bench(`${arch}/${variant} reference walk`, () => {
          for (let i = 0; i < 512; i++) rw.walk(rmm, ws + ((rnd() % len) & ~((1n << BigInt(ps)) - 1n)));
        });
      }
      rows.push({ case: 'random walk', pages: 512, ...perPage(coreWalk, refWalk, 512) });
    }
  }
  return rows;
}

/**
 * Worker threads on one machine, gup_test's shape (WorkerPool.runGupTest):
 * per repeat a get phase over the worker's 128 MiB range (gup_test's default
 * -m) in calls of 512 pages, every reference held, then the put phase; each
 * phase timed on its worker around its call into the core. The modes run in
 * rounds, one sample of each per round, so that the scaling (one worker's
 * aggregate time per page over this mode's, in the same round) compares
 * times the host took in the same phase.
 */
async function benchThreads() {
  const out = [];
  const pmdOrder = Machine.createSync({ arch: 'x86_64', ramMiB: 64, tablePoolMiB: 4 }).leafOrders.filter((o) => o > 0).sort((x, y) => x - y)[0];
  const pages = 32768;                                     // 128 MiB of 4 KiB pages
  for (const { name, order } of [{ name: '4 KiB pages', order: 0 }, { name: '2 MiB leaves', order: pmdOrder }]) {
    const m = Machine.createSync({ arch: 'x86_64', ramMiB: 320, tablePoolMiB: 8, threads: 3 });
    const a = prepareGup(m, { order, pages });
    const b = prepareGup(m, { order, pages });
    const pool = await WorkerPool.start(m, 2);
    const one = await WorkerPool.start(m, 1);
    // about 50 ms a sample either way: a 2 MiB leaf's pages cost a tenth of
    // a base page's, and a sample of a few ms is mostly the start and the
    // messages around it
    const repeats = (opt.quick ? 20 : 100) * (order === 0 ? 1 : 10);
    const test = (x) => ({ mm: x.mm, start: x.start, nr: 512, pin: true, write: true, pages, repeats });
    await pool.runGupTest([test(a), test(b)]);           // warm-up, tier-up
    await one.runGupTest([test(a)]);
    const runs = {
      '1 worker': () => one.runGupTest([test(a)]),
      '2 workers, disjoint': () => pool.runGupTest([test(a), test(b)]),
      '2 workers, same pages': () => pool.runGupTest([test(a), test(a)]),
    };
    const samples = Object.fromEntries(Object.keys(runs).map((k) => [k, []]));
    for (let i = 0; i < (opt.quick ? 3 : 9); i++) {
      for (const [mode, go] of Object.entries(runs)) {
        const { results, wallMs } = await go();
        const phase = (k) => Math.max(...results.map((r) => (r.repeats.reduce((s, p) => s + p[k], 0) * 1e6) / r.repeats.reduce((s, p) => s + p.pages, 0)));
        const all = results.reduce((s, r) => s + r.repeats.reduce((t, p) => t + p.pages, 0), 0);
        samples[mode].push({ get: phase('getMs'), put: phase('putMs'), aggregate: (wallMs * 1e6) / all });
      }
    }
    for (const [mode, v] of Object.entries(samples)) {
      const scaling = v.map((x, i) => samples['1 worker'][i].aggregate / x.aggregate);
      const med = (f) => quantile(v.map(f), 0.5);
      out.push({
        case: `pin 128 MiB of ${name}, 512 pages per call`, mode,
        getNsPerPage: med((x) => x.get), putNsPerPage: med((x) => x.put), aggregateNsPerPage: med((x) => x.aggregate),
        scaling: quantile(scaling, 0.5), scalingP25: quantile(scaling, 0.25), scalingP75: quantile(scaling, 0.75),
      });
    }
    await pool.close();
    await one.close();
    if (m.checkInvariants().length) throw new Error('bench: invariants broken after the threaded runs');
  }
  return out;
}

/**
 * Device-DAX, the legacy devmap path against the unified one: per arch, its
 * default variant (or --variant), where both presets have ZONE_DEVICE
 * (devmapVsUnified says why not elsewhere). Rounds of one ~1 ms batch per
 * kernel; a full run about 1 s per arch.
 */
function benchDevmap() {
  return Object.values(archs)
    .filter((a) => !opt.arch || a.arch === opt.arch)
    .flatMap((a) => (opt.variant ? [opt.variant].filter((v) => Object.hasOwn(a.variants, v)) : [a.defaultVariant]).map((v) => [a.arch, v]))
    .map(([arch, variant]) => devmapVsUnified(arch, variant, { rounds: opt.quick ? 15 : 41, warmUpMs: opt.quick ? 100 : 300 }));
}

function footprint() {
  const machines = [1024, 2048].map((ramMiB) => Machine.createSync({ arch: 'x86_64', ramMiB, tablePoolMiB: 8 }));
  const sizes = machines.map((m) => m.stats());
  const framesPerGiB = 2 ** (30 - machines[0].desc.pageShift);
  return {
    structPageBytes: machines[0].layout.size.Page,
    perFrameBytes: (sizes[1].memoryBytes - sizes[0].memoryBytes) / framesPerGiB,
    structPageBytesPerGiB: sizes[0].memmapBytesPerGiB,
    sharedBytesPerGiB: sizes[1].memoryBytes - sizes[0].memoryBytes,
    sharedBytesAt1GiB: sizes[0].memoryBytes,
  };
}

const fmt = (v, d = 1) => (v === null || v === undefined ? '-' : v.toFixed(d));
const started = new Date();
const perVariant = [];
// a bar on a terminal (stderr), plain result lines either way
const bar = progress({ out: log, err: console.error, isTTY: process.stdout.isTTY }, 'bench', variants.length, true);
for (const { arch, variant } of variants) {
  const rows = benchVariant(arch, variant);
  perVariant.push({ arch, variant, rows });
  bar.step(`${arch}/${variant}`);
  for (const r of rows) {
    log(`${arch}/${variant}  ${r.case.padEnd(28)} core ${fmt(r.coreNsPerPage, 2).padStart(8)} ns/page (best ${fmt(r.coreBestNsPerPage, 2)}, mean ${fmt(r.coreMeanNsPerPage, 2)} ±${fmt(r.coreRme)}%)   reference ${fmt(r.refNsPerPage, 1).padStart(8)} ns/page`);
  }
}
bar.stop();
const threads = opt.arch && opt.arch !== 'x86_64' ? [] : await benchThreads();
for (const t of threads) log(`threads  ${t.case}  ${t.mode.padEnd(22)} per worker get ${fmt(t.getNsPerPage)} put ${fmt(t.putNsPerPage)} ns/page, aggregate ${fmt(t.aggregateNsPerPage)} ns/page${t.mode === '1 worker' ? '' : `, scaling ${fmt(t.scaling, 2)} [${fmt(t.scalingP25, 2)}..${fmt(t.scalingP75, 2)}]`}`);
const devmap = benchDevmap();
for (const line of devmapLines(devmap)) log(line);
const nativeRun = opt.arch && opt.arch !== 'x86_64' ? undefined : await nativeComparison({ rounds: opt.quick ? 5 : 31, log: (l) => log(`native  ${l}`) });

// Last: its 1 and 2 GiB machines change what the C allocator hands out after
// them (a GupResult's pfns copy then faulted in fresh pages: 2.4x the time
// of the allocating API in one run), which is not what the cases above measure
const fp = footprint();
log(`footprint: struct pages ${fp.structPageBytesPerGiB / 2 ** 20} MiB per GiB of RAM; shared memory grows ${(fp.sharedBytesPerGiB / 2 ** 20).toFixed(1)} MiB per GiB`);

const machine = { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, platform: `${os.platform()} ${os.arch()}` };
const report = { date: started.toISOString(), quick: !!opt.quick, machine, perVariant, threads, devmap, footprint: fp, native: nativeRun };
const md = [
  `# pgtemu benchmark results`,
  '',
  `${started.toISOString().slice(0, 10)}, ${machine.cpus} x ${machine.cpu}, Node ${machine.node}, benchmark.js (maxTime ${maxTime}s per case)${opt.quick ? ', quick run' : ''}.`,
  'Each case is one call into the core that does the whole batch (gup-fast pin of every page, then unpin), or 512 random walks;',
  'the reference is the plain-TypeScript model of the same operations. ns per page (per walk for walks): the median of benchmark.js samples',
  '(each sample the mean of many calls, after a warm-up that lets V8 tier the core up); for base pages, the fastest sample in brackets.',
  '',
  'Leaf sizes differ per arch (x86 2 MiB = 512 pages, ppc64-64K 2 MiB = 32 pages, arm64-64K 512 MiB, s390 1 MiB segments; pud: 1 GiB);',
  'a leaf is grabbed with one atomic add, so its per-page cost falls with its page count and the per-call cost shows on small leaves.',
  '',
  '| arch | variant | pin+unpin 512 x base page | one pmd leaf | one pud leaf | random walk | reference: base pages | reference: walk |',
  '|---|---|---|---|---|---|---|---|',
  ...perVariant.map(({ arch, variant, rows }) => {
    const get = (c) => rows.find((r) => r.case === c);
    const base = get('pin+unpin 512 x base page'), pmd = get('pin+unpin one pmd leaf'), pud = get('pin+unpin one pud leaf'), walk = get('random walk');
    return `| ${arch} | ${variant} | ${fmt(base?.coreNsPerPage)} (${fmt(base?.coreBestNsPerPage)}) | ${fmt(pmd?.coreNsPerPage, 2)} | ${fmt(pud?.coreNsPerPage, 3)} | ${fmt(walk?.coreNsPerPage)} | ${fmt(base?.refNsPerPage)} | ${fmt(walk?.refNsPerPage)} |`;
  }),
  '',
  threads.length ? '### Worker threads (x86_64, gup_test\'s shape: per repeat a get phase over the range, every reference held, then the put phase; median of runs)\n\n'
    + 'get and put: ns per page of each phase on the slowest worker, timed on the worker around its call into the core; aggregate: wall time from the start barrier to the last finish over all pages, both phases. '
    + 'The modes run in rounds, one sample each per round; scaling: one worker\'s aggregate time per page over this mode\'s in the same round, median [25th..75th percentile] (2 is perfect for two workers).\n\n'
    + '| case | mode | get ns/page per worker | put ns/page per worker | aggregate ns/page (get + put) | scaling over 1 worker |\n|---|---|---|---|---|---|\n' +
    threads.map((t) => `| ${t.case} | ${t.mode} | ${fmt(t.getNsPerPage)} | ${fmt(t.putNsPerPage)} | ${fmt(t.aggregateNsPerPage)} | ${t.mode === '1 worker' ? '-' : `${fmt(t.scaling, 2)} [${fmt(t.scalingP25, 2)}..${fmt(t.scalingP75, 2)}]`} |`).join('\n') : '',
  '',
  devmap.length ? devmapMarkdown(devmap) : '',
  '',
  nativeRun ? `### Against a native C loop of the same algorithm\n\n${nativeMarkdown(nativeRun)}\n` : '',
  `### Footprint\n\nstruct page: ${fp.structPageBytesPerGiB / 2 ** 20} MiB per GiB of modelled RAM (${fp.structPageBytes} bytes per 4 KiB frame, as in the kernel); the shared memory grows by ${(fp.sharedBytesPerGiB / 2 ** 20).toFixed(1)} MiB per GiB (${fp.perFrameBytes.toFixed(1)} bytes per frame: the struct page plus the checker's counters); only the table pool is backed.`,
  '',
].join('\n');
const json = (v) => JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? x.toString() : x), 2);
if (opt.json) console.log(json(report));
if (!opt.write) {
  log('\nnot written (npm run bench -- --write records a full run in bench/results/ and the README)');
} else {
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  // The README's benchmark section is this run's report (between its markers), so it cannot drift.
  const readmeUrl = new URL('../README.md', import.meta.url);
  try {
    const readme = readFileSync(readmeUrl, 'utf8');
    const body = md.split('\n').slice(2).join('\n').trim();
    const next = readme.replace(/<!-- bench:start -->[\s\S]*<!-- bench:end -->/, `<!-- bench:start -->\n${body}\n<!-- bench:end -->`);
    if (next !== readme) writeFileSync(readmeUrl, next);
  } catch { /* no README next to an installed package */ }
  writeFileSync(new URL('./results/latest.json', import.meta.url), json(report));
  writeFileSync(new URL('./results/latest.md', import.meta.url), md);
  if (nativeRun) writeFileSync(new URL('./results/native.json', import.meta.url), json(nativeRun));
  // the plots the README shows: per-arch cost, and what a second worker adds
  const dir = new URL('./results/', import.meta.url).pathname;
  const quiet = { out: () => {}, err: (x) => console.error(x) };
  await plotMicro(perVariant.map(({ arch, variant, rows }) => {
    const get = (c) => rows.find((r) => r.case === c);
    return { arch, variant, kernel: 'v6.12', gup4k: get('pin+unpin 512 x base page')?.coreNsPerPage, gupPmd: get('pin+unpin one pmd leaf')?.coreNsPerPage ?? null, walk: get('random walk')?.coreNsPerPage };
  }), dir, quiet);
  if (threads.length) {
    writeFileSync(new URL('./results/threads.svg', import.meta.url), await svg({
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: 'x86_64 gup_test pin, get + put phases, 512 pages per call, in the core',
      data: { values: threads.map((t) => ({ case: t.case, mode: t.mode, ns: t.aggregateNsPerPage })) },
      mark: 'bar',
      encoding: {
        y: { field: 'mode', type: 'nominal', title: null },
        x: { field: 'ns', type: 'quantitative', title: 'aggregate ns/page (lower is better)' },
        row: { field: 'case', type: 'nominal', title: null },
      },
    }));
  }
  log('\nwritten: bench/results/latest.{json,md}, native.json, per-arch-cost.svg, threads.svg, README.md');
}
