// Does a second worker double the work done? `node bench/threads.js [--rounds N] [--base DIR]`.
//
// For each case (pin+unpin of 512 x 4 KiB pages, of a 2 MiB leaf, and of a
// 2 MiB leaf as runs), each round times one worker alone and then two
// workers on disjoint ranges (a start barrier, the loop inside the core),
// and reports the scaling, two workers' pages per second over one's, as the
// median and 25th..75th percentile of the per-round ratios (this machine's
// speed flips every few tens of milliseconds: only ratios within a round
// compare). With --base DIR (a built checkout) the same cases run on that
// build too, interleaved round by round. The ceiling row runs the same 4 KiB
// loop on two separate machines at once (one worker each, nothing shared):
// what two workers can gain on this host at that moment.
//
// Two ranges faulted one after the other get frames next to each other, so
// their struct pages meet in the memmap: the last pages of one worker's
// range and the first of the other's are a few cache lines apart, as in the
// kernel's vmemmap. On this host that boundary alone cost two workers on
// 512 x 4 KiB about a tenth of their scaling (1.6 to 1.8 against 2.0 with
// the ranges' struct pages 512 bytes or more apart, interleaved in one
// process; 64 bytes apart cost as much as none), most likely the hardware
// prefetcher: streaming through one worker's struct pages, it runs on into
// the other's and takes lines that worker is writing.
// A cost of the layout, not of anything the two workers share in pgtemu, so
// the 4 KiB case runs both ways: frames adjacent, and 64 frames apart.

import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { quantile } from '../dist/host/bench.js';
import { args, intOpt, builtCheckout } from './args.js';

const opt = args('node bench/threads.js [--rounds N] [--calls N] [--base DIR]', { rounds: { type: 'string' }, base: { type: 'string' }, calls: { type: 'string' } });
const ROUNDS = intOpt(opt.rounds, 'rounds', 15, 3, 1000);
const CALLS = intOpt(opt.calls, 'calls', 4000, 1, 1000000);      // gup+unpin calls per worker per timing
const baseDir = opt.base === undefined ? undefined : builtCheckout(opt.base, 'base');
const here = fileURLToPath(new URL('..', import.meta.url));     // this checkout, wherever it is run from

async function side(dir, label) {
  const lib = await import(pathToFileURL(resolve(dir, 'dist/index.js')).href);
  const bench = await import(pathToFileURL(resolve(dir, 'dist/host/bench.js')).href);
  const m = lib.Machine.createSync({ arch: 'x86_64', ramMiB: 256, tablePoolMiB: 8, threads: 3 });
  const cases = [];
  for (const { name, order, runs, apart } of [
    { name: '512 x 4 KiB', order: 0 }, { name: '512 x 4 KiB, memmap apart', order: 0, apart: true },
    { name: 'a 2 MiB leaf', order: 9 }, { name: 'a 2 MiB leaf, runs', order: 9, runs: true }]) {
    if (runs && label === 'base') continue;
    const a = bench.prepareGup(m, { order, pages: 512 });
    // apart: 64 pages between the two ranges' frames, so that their struct
    // pages are 4 KiB apart in the memmap instead of next to each other
    if (apart) bench.prepareGup(m, { order, pages: 64 });
    const b = bench.prepareGup(m, { order, pages: 512 });
    const loop = (x) => ({ mm: x.mm, start: x.start, nr: 512, pin: true, write: true, rounds: CALLS, ...(runs && { runs: true }) });
    cases.push({ name, one: [loop(a)], two: [loop(a), loop(b)] });
  }
  const p1 = await lib.WorkerPool.start(m, 1);
  const p2 = await lib.WorkerPool.start(m, 2);
  const rate = async (pool, loops) => { const { results, wallMs } = await pool.run(loops); return results.reduce((s, r) => s + r.pages, 0) / wallMs; };
  for (const c of cases) { await rate(p1, c.one); await rate(p2, c.two); }   // tier up
  return { label, m, cases, p1, p2, rate };
}

const sides = [await side(here, 'this')];
{
  // the ceiling: two machines that share nothing, one worker each
  const lib = await import(pathToFileURL(resolve(here, 'dist/index.js')).href);
  const bench = await import(pathToFileURL(resolve(here, 'dist/host/bench.js')).href);
  const ms = [0, 1].map(() => lib.Machine.createSync({ arch: 'x86_64', ramMiB: 64, tablePoolMiB: 4, threads: 2 }));
  const loops = ms.map((m) => { const x = bench.prepareGup(m, { order: 0, pages: 512 }); return [{ mm: x.mm, start: x.start, nr: 512, pin: true, write: true, rounds: CALLS }]; });
  const pools = await Promise.all(ms.map((m) => lib.WorkerPool.start(m, 1)));
  const one = async () => { const { results, wallMs } = await pools[0].run(loops[0]); return results[0].pages / wallMs; };
  const two = async () => {
    const t0 = performance.now();
    const rs = await Promise.all(pools.map((p, i) => p.run(loops[i])));
    return rs.reduce((s, r) => s + r.results[0].pages, 0) / (performance.now() - t0);
  };
  await one(); await two();
  sides.push({ label: 'ceiling', cases: [{ name: '512 x 4 KiB, two machines' }], p1: null, p2: null, rate: async (p) => (p === null ? 0 : 0), one, two, pools });
}
if (baseDir) sides.push(await side(baseDir, 'base'));
const res = new Map();
for (let r = 0; r < ROUNDS; r++) {
  for (const s of sides) {
    for (const c of s.cases) {
      const one = s.one ? await s.one() : await s.rate(s.p1, c.one);
      const two = s.two ? await s.two() : await s.rate(s.p2, c.two);
      const k = `${s.label}: pin+unpin ${c.name}`;
      if (!res.has(k)) res.set(k, { ratio: [], one: [] });
      res.get(k).ratio.push(two / one);
      res.get(k).one.push(1e6 / one);
    }
  }
}
for (const [k, v] of res) {
  console.log(`${k.padEnd(46)} 2 workers / 1 worker ${quantile(v.ratio, 0.5).toFixed(2)} [${quantile(v.ratio, 0.25).toFixed(2)}..${quantile(v.ratio, 0.75).toFixed(2)}]   1 worker ${quantile(v.one, 0.5).toFixed(2)} ns/page`);
}
for (const s of sides) {
  if (s.pools) { for (const p of s.pools) await p.close(); continue; }
  await s.p1.close(); await s.p2.close();
  if (s.m.checkInvariants().length) throw new Error(`${s.label}: invariants broken after the runs`);
}
