// pgtemu against a native C loop of the same algorithm (bench/native/gup_fast.c),
// interleaved in one run. `npm run bench` runs it (nativeComparison below);
// on its own: `node bench/native.js [--rounds N] [--write]`.
//
// The C program is built with the system's C compiler (cc) into build/; with
// no compiler the report says "no compiler" and nothing else is measured.
// The same algorithm in AssemblyScript with its constants folded
// (bench/native/floor.ts, built with asc) runs in this process as the Wasm
// floor: what this V8 costs over cc for the same work, whatever pgtemu does.
// Each round times, for every case in turn, one batch of pgtemu (through the
// public API, or the loop inside the core), one of the C loop, which times
// itself, and one of the floor; the ratios pgtemu/C, floor/C and
// pgtemu/floor per round are reported as median and 25th..75th percentile. This machine's speed flips every few tens of
// milliseconds, so only ratios within a round mean anything; and the ratio
// itself moves with the host's phase over seconds, so every case runs in
// every round (compare cases within one run; runs minutes apart differ).

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import { Machine } from '../dist/index.js';
import { prepareGup, gupRounds, walkRounds, quantile } from '../dist/host/bench.js';
import { args, intOpt } from './args.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const exe = root + 'build/gup_fast_native';

function build() {
  mkdirSync(root + 'build', { recursive: true });
  const cc = spawnSync('cc', ['-O2', '-o', exe, root + 'bench/native/gup_fast.c'], { encoding: 'utf8' });
  if (cc.error || cc.status !== 0) return cc.error ? 'no compiler' : `cc failed: ${cc.stderr.trim()}`;
  return undefined;
}

const FLOOR_PAGES = 352;                            // 22 MiB of Wasm pages: floor.ts's END, checked below

/** The Wasm floor, built and mapped as gup_fast.c's main maps its pages: run(kind, rounds) -> ns per unit. */
async function floor() {
  const wasm = root + 'build/gup_fast_floor.wasm';
  // (run in bench/native, so that asc does not read the core's asconfig.json)
  const asc = spawnSync(process.execPath, [root + 'node_modules/assemblyscript/bin/asc.js', 'floor.ts',
    '-O3', '--noAssert', '--enable', 'threads', '--runtime', 'stub', '--use', 'abort=', '--importMemory', '--sharedMemory',
    '--initialMemory', String(FLOOR_PAGES), '--maximumMemory', String(FLOOR_PAGES), '-o', wasm], { encoding: 'utf8', cwd: root + 'bench/native' });
  if (asc.error || asc.status !== 0) throw new Error(`bench/native/floor.ts: asc failed: ${asc.error?.message ?? asc.stderr.trim()}`);
  const memory = new WebAssembly.Memory({ initial: FLOOR_PAGES, maximum: FLOOR_PAGES, shared: true });
  const { instance } = await WebAssembly.instantiate(readFileSync(wasm), { env: { memory } });
  const f = instance.exports;
  if (f.END.value > memory.buffer.byteLength) throw new Error(`bench/native/floor.ts needs ${f.END.value} bytes of memory`);
  f.setup();
  const kinds = { get: 0, pin: 1, getleaf: 2, pinleaf: 3, walk: 4, walkbare: 5 };
  const walkLen = 4096n << 12n;
  return (kind, rounds) => {
    const k = kinds[kind], t0 = performance.now();
    const n = f.run(k, rounds, walkLen);
    const t = (performance.now() - t0) * 1e6;
    const units = k >= 4 ? 4096 * rounds : 512 * rounds;
    // every gup takes all 512 pages; most random walks end on a present pte
    if (k < 4 ? Number(n) !== units : Number(n) < units / 2) throw new Error(`floor ${kind}: ${n} of ${units}`);
    return t / units;
  };
}

/** The C side: one request per line, one answer per line. */
function native() {
  const child = spawn(exe, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  lines.on('line', (l) => waiting.shift()?.(Number(l.split(' ')[0])));
  return {
    run: (kind, rounds) => new Promise((res) => { waiting.push(res); child.stdin.write(`${kind} ${rounds}\n`); }),
    close: () => { child.stdin.end(); },
  };
}

/**
 * Every case, `rounds` interleaved rounds each (x86_64/4level). Returns
 * { compiler: 'cc -O2' or why not, rounds, rows: [{ case, unit, pgtemu, c, wasm,
 * ratio, ratioP25, ratioP75, floorRatio, floorP25, floorP75, overFloor, overFloorP25, overFloorP75 }] }:
 * ratio pgtemu / C, floorRatio floor / C, overFloor pgtemu / floor.
 */
export async function nativeComparison({ rounds = 31, log = console.log } = {}) {
  const why = build();
  const rows = [];
  if (why) {
    log(`native baseline: ${why}; nothing measured`);
    return { compiler: why, rounds, rows };
  }
  const c = native();
  const w = await floor();
  const m = Machine.createSync({ arch: 'x86_64', variant: '4level', ramMiB: 512, tablePoolMiB: 8 });
  const small = prepareGup(m, { order: 0, pages: 512 });
  const leaf = prepareGup(m, { order: 9, pages: 512 });
  const walks = prepareGup(m, { order: 0, pages: 4096 });
  const walkLen = 4096n << 12n;
  const N = 400;                                    // gup calls per pgtemu batch
  const api = (x, pin) => () => {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) { const r = x.mm.gupFast(x.start, 512, { pin, write: true }); pin ? m.unpin(r) : m.put(r); }
    return ((performance.now() - t0) * 1e6) / (N * 512);
  };
  // the allocation-free forms: one GupBuffer filled by every call, released in place
  const buf = m.gupBuffer();
  const apiBuf = (x, pin, runs) => {
    const o = { pin, write: true, runs, into: buf };
    return () => {
      const t0 = performance.now();
      for (let i = 0; i < N; i++) { mm(x).gupFast(x.start, 512, o); pin ? m.unpin(buf) : m.put(buf); }
      return ((performance.now() - t0) * 1e6) / (N * 512);
    };
  };
  const mm = (x) => x.mm;
  const core = (x, pin) => () => {
    const t0 = performance.now();
    const pages = gupRounds(m, x.mm, x.start, { order: 0, pages: 512, pin, write: true }, N);
    return ((performance.now() - t0) * 1e6) / pages;
  };
  const walk = () => { const t0 = performance.now(); walkRounds(m, walks.mm, walks.start, walkLen, 4096 * 4); return ((performance.now() - t0) * 1e6) / (4096 * 4); };
  const cases = [
    { name: 'get+put 512 x 4K, public API', unit: 'ns/page', ours: api(small, false), theirs: 'get' },
    { name: 'pin+unpin 512 x 4K, public API', unit: 'ns/page', ours: api(small, true), theirs: 'pin' },
    { name: 'pin+unpin 512 x 4K, loop in the core', unit: 'ns/page', ours: core(small, true), theirs: 'pin' },
    { name: 'get+put 512 x 4K, API into a GupBuffer', unit: 'ns/page', ours: apiBuf(small, false, false), theirs: 'get' },
    { name: 'pin+unpin 512 x 4K, API into a GupBuffer', unit: 'ns/page', ours: apiBuf(small, true, false), theirs: 'pin' },
    { name: 'pin+unpin a 2 MiB leaf, public API', unit: 'ns/4K subpage', ours: api(leaf, true), theirs: 'pinleaf' },
    { name: 'pin+unpin a 2 MiB leaf, API, runs, GupBuffer', unit: 'ns/4K subpage', ours: apiBuf(leaf, true, true), theirs: 'pinleaf' },
    { name: 'random walk, loop in the core', unit: 'ns/walk', theirs: 'walk', ours: walk },
    { name: 'random walk, against a C walk without link checks', unit: 'ns/walk', theirs: 'walkbare', ours: walk },
  ];
  const cRounds = { get: N, pin: N, pinleaf: N, walk: 4, walkbare: 4 };
  // Every case in every round, so that all of them see the same phases of the
  // host (whose speed, and the pgtemu / C ratio with it, moves over seconds).
  for (const k of cases) {
    const until = performance.now() + 300;          // tier up
    do { k.ours(); w(k.theirs, cRounds[k.theirs]); } while (performance.now() < until);
    await c.run(k.theirs, cRounds[k.theirs] * 4);
  }
  const t = cases.map(() => ({ a: [], b: [], f: [], r: [], rf: [], ro: [] }));
  for (let i = 0; i < rounds; i++) {
    for (let j = 0; j < cases.length; j++) {
      const k = cases[j];
      // the floor before pgtemu in odd rounds, after it in even ones, C between
      const z0 = i & 1 ? w(k.theirs, cRounds[k.theirs]) : 0;
      const x = k.ours();
      const y = await c.run(k.theirs, cRounds[k.theirs]);
      const z = i & 1 ? z0 : w(k.theirs, cRounds[k.theirs]);
      const s = t[j];
      s.a.push(x); s.b.push(y); s.f.push(z); s.r.push(x / y); s.rf.push(z / y); s.ro.push(x / z);
    }
  }
  const band = (v) => `${quantile(v, 0.5).toFixed(2)} [${quantile(v, 0.25).toFixed(2)}..${quantile(v, 0.75).toFixed(2)}]`;
  cases.forEach((k, j) => {
    const { a, b, f, r, rf, ro } = t[j];
    const row = {
      case: k.name, unit: k.unit, pgtemu: quantile(a, 0.5), c: quantile(b, 0.5), wasm: quantile(f, 0.5),
      ratio: quantile(r, 0.5), ratioP25: quantile(r, 0.25), ratioP75: quantile(r, 0.75),
      floorRatio: quantile(rf, 0.5), floorP25: quantile(rf, 0.25), floorP75: quantile(rf, 0.75),
      overFloor: quantile(ro, 0.5), overFloorP25: quantile(ro, 0.25), overFloorP75: quantile(ro, 0.75), rounds,
    };
    rows.push(row);
    log(`${k.name.padEnd(50)} pgtemu ${row.pgtemu.toFixed(2).padStart(6)}  floor ${row.wasm.toFixed(2).padStart(6)}  C ${row.c.toFixed(2).padStart(6)} ${k.unit.padEnd(14)} ` +
      `pgtemu/C ${band(r)}  floor/C ${band(rf)}  pgtemu/floor ${band(ro)}`);
  });
  c.close();
  return { compiler: 'cc -O2', rounds, rows };
}

const q = (m, lo, hi) => `${m.toFixed(2)} [${lo.toFixed(2)}..${hi.toFixed(2)}]`;

/** The comparison as a markdown section. */
export function nativeMarkdown(r) {
  if (r.rows.length === 0) return `Native baseline: ${r.compiler}.`;
  return [
    `pgtemu against a C loop of the same algorithm (bench/native/gup_fast.c, ${r.compiler}) and against the Wasm floor, the same algorithm in AssemblyScript with its constants folded (bench/native/floor.ts), x86_64/4level, ${r.rounds} interleaved rounds per case: each ratio per round, median [25th..75th percentile].`,
    '', '| case | pgtemu | floor | C | unit | pgtemu / C | floor / C | pgtemu / floor |', '|---|---:|---:|---:|---|---|---|---|',
    ...r.rows.map((x) => `| ${x.case} | ${x.pgtemu.toFixed(2)} | ${x.wasm.toFixed(2)} | ${x.c.toFixed(2)} | ${x.unit} | ${q(x.ratio, x.ratioP25, x.ratioP75)} | ${q(x.floorRatio, x.floorP25, x.floorP75)} | ${q(x.overFloor, x.overFloorP25, x.overFloorP75)} |`),
  ].join('\n');
}

// ---------------------------------------------------------------- on its own
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const opt = args('node bench/native.js [--rounds N] [--write]', { rounds: { type: 'string' }, write: { type: 'boolean' } });
  const rounds = intOpt(opt.rounds, 'rounds', 31, 3, 1000);
  const r = await nativeComparison({ rounds });
  if (opt.write) {
    const dir = new URL('./results/', import.meta.url);
    mkdirSync(dir, { recursive: true });
    writeFileSync(new URL('native.md', dir), nativeMarkdown(r) + '\n');
    writeFileSync(new URL('native.json', dir), JSON.stringify(r, null, 2) + '\n');
  }
}
