// Two builds of pgtemu in one process, interleaved: `node bench/compare.js --base DIR`
// where DIR is another checkout of pgtemu with its `dist/` and `build/` built
// (e.g. `git worktree add ../base <commit> && (cd ../base && npm run build)`).
//
// This machine's speed flips between two levels every few tens of
// milliseconds, so two separate runs cannot be compared. Here each round
// times one short batch of the base build and one of this build, in
// alternating order, and the result is the ratio this/base per round:
// reported as the median and the spread (25th..75th percentile) over the
// rounds. A ratio below 1 means this build is faster.
//
// The API cases time mm.gupFast + m.unpin; their "buffer" forms use this
// build's GupBuffer and runs (GupOptions.into, .runs) where it has them and
// the plain GupResult where it has not (a base before them).
//
// Options: --base DIR (required), --arch A, --variant V, --rounds N (default 41),
// --write (also write bench/results/compare.{md,json}).

import { mkdirSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { args, intOpt, builtCheckout, refuse } from './args.js';

const usage = 'node bench/compare.js --base DIR [--arch A] [--variant V] [--rounds N] [--write]';
const opt = args(usage, {
  base: { type: 'string' }, arch: { type: 'string' }, variant: { type: 'string' },
  rounds: { type: 'string' }, write: { type: 'boolean' },
});
if (!opt.base) refuse(`--base is required\nusage: ${usage}`);
const baseDir = builtCheckout(opt.base, 'base');
const rounds = intOpt(opt.rounds, 'rounds', 41, 3, 1000);

const load = async (dir) => {
  const url = (f) => pathToFileURL(path.resolve(dir, f)).href;
  return { api: await import(url('dist/index.js')), bench: await import(url('dist/host/bench.js')) };
};
const here = await load(path.dirname(path.dirname(new URL(import.meta.url).pathname)));
const base = await load(baseDir);

const { quantile } = here.bench;

/** Set one case up in a build; returns a function that runs one timed batch and gives ns per unit. */
function setup(build, arch, variant, c) {
  const m = build.api.Machine.createSync({ arch, variant, ramMiB: 2112, tablePoolMiB: 8 });
  if (c.kind === 'walk') {
    const { mm, start } = build.bench.prepareGup(m, { order: 0, pages: 4096 });
    const len = 4096n << BigInt(m.desc.pageShift);
    return () => { const t0 = performance.now(); build.bench.walkRounds(m, mm, start, len, 4096); return ((performance.now() - t0) * 1e6) / 4096; };
  }
  const orders = m.leafOrders.filter((o) => o >= 0).sort((a, b) => a - b);
  if (c.api) {
    // through the public API: a GupResult per call, or (c.best, where the build has
    // one) one GupBuffer filled by every call, with runs of one folio
    const order = c.leaf ? orders[1] : 0;
    if (order === undefined) return undefined;
    const pages = c.leaf ? 1 << order : 512;
    const { mm, start } = build.bench.prepareGup(m, { order, pages });
    const n = Math.max(1, Math.round(100_000 / pages));
    const buf = c.best && typeof m.gupBuffer === 'function' ? m.gupBuffer() : undefined;
    const o = buf ? { pin: true, write: true, runs: true, into: buf } : { pin: true, write: true };
    return () => {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) m.unpin(mm.gupFast(start, pages, o));
      return ((performance.now() - t0) * 1e6) / (n * pages);
    };
  }
  const order = c.kind === 'base' ? 0 : orders[1];
  if (order === undefined) return undefined;
  const pages = c.kind === 'base' ? 512 : 1 << order;
  const g = { order, pages, pin: true, write: true };
  const { mm, start } = build.bench.prepareGup(m, g);
  const n = Math.max(1, Math.round(200_000 / pages));
  return () => { const t0 = performance.now(); const got = build.bench.gupRounds(m, mm, start, g, n); return ((performance.now() - t0) * 1e6) / got; };
}

const cases = [
  { name: 'pin+unpin 512 x 4K', kind: 'base', unit: 'ns/page' },
  { name: 'pin+unpin one pmd leaf', kind: 'leaf', unit: 'ns/page' },
  { name: 'random walk', kind: 'walk', unit: 'ns/walk' },
  { name: 'API pin+unpin 512 x 4K', api: true, unit: 'ns/page' },
  { name: 'API pin+unpin pmd leaf', api: true, leaf: true, unit: 'ns/page' },
  { name: 'API 512 x 4K, buffer', api: true, best: true, unit: 'ns/page' },
  { name: 'API pmd leaf, buffer+runs', api: true, leaf: true, best: true, unit: 'ns/page' },
];
const variants = Object.values(here.api.archs)
  .filter((a) => !opt.arch || a.arch === opt.arch)
  .flatMap((a) => Object.keys(a.variants).filter((v) => !opt.variant || v === opt.variant).map((v) => [a.arch, v]));
if (variants.length === 0) refuse(`no variant matches --arch ${opt.arch ?? '*'} --variant ${opt.variant ?? '*'}`);

const rows = [];
for (const [arch, variant] of variants) {
  for (const c of cases) {
    const a = setup(base, arch, variant, c), b = setup(here, arch, variant, c);
    if (!a || !b) continue;
    const until = performance.now() + 300;                  // both tier up before anything counts
    do { a(); b(); } while (performance.now() < until);
    const ratios = [], ta = [], tb = [];
    for (let r = 0; r < rounds; r++) {
      let x, y;
      if (r % 2) { x = a(); y = b(); } else { y = b(); x = a(); }
      ta.push(x); tb.push(y); ratios.push(y / x);
    }
    const row = {
      arch, variant, case: c.name, unit: c.unit,
      base: quantile(ta, 0.5), here: quantile(tb, 0.5),
      ratio: quantile(ratios, 0.5), ratioP25: quantile(ratios, 0.25), ratioP75: quantile(ratios, 0.75), rounds,
    };
    rows.push(row);
    console.log(`${arch}/${variant}  ${c.name.padEnd(24)} base ${row.base.toFixed(1).padStart(6)}  this ${row.here.toFixed(1).padStart(6)} ${c.unit}  ratio ${row.ratio.toFixed(3)} [${row.ratioP25.toFixed(3)}..${row.ratioP75.toFixed(3)}]`);
  }
}

const commitOf = (dir) => { try { return execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(); } catch { return 'unknown'; } };
if (opt.write) {
  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const md = [
    `Interleaved A/B in one process, ${rounds} rounds per case: this build (${commitOf(path.dirname(path.dirname(new URL(import.meta.url).pathname)))}) against base ${commitOf(opt.base)}; ratio = this / base per round (median [25th..75th percentile]); below 1 is faster.`,
    '', '| arch/variant | case | base | this | unit | ratio |', '|---|---|---:|---:|---|---|',
    ...rows.map((r) => `| ${r.arch}/${r.variant} | ${r.case} | ${r.base.toFixed(1)} | ${r.here.toFixed(1)} | ${r.unit} | ${r.ratio.toFixed(3)} [${r.ratioP25.toFixed(3)}..${r.ratioP75.toFixed(3)}] |`),
  ].join('\n');
  writeFileSync(new URL('compare.md', dir), md + '\n');
  writeFileSync(new URL('compare.json', dir), JSON.stringify({ base: commitOf(opt.base), rounds, rows }, null, 2) + '\n');
}
