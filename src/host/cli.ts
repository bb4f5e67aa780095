#!/usr/bin/env node
// pgtemu's command line: the same capabilities as the API.
import { parseArgs } from 'node:util';
import { archs } from '../arch/index.js';
import {
  decodeLeafPa, decodeTablePa, encodeLeafEntry, gupFastAccepts, maskOf, matchPred, type Descriptor, type LevelDescriptor,
} from './archdesc.js';
import { KERNELS, resolve, DEFAULT_KERNEL } from './presets.js';
import { decodeEntry } from './archdesc.js';
import { runConformance } from './conformance.js';
import { Machine } from './machine.js';
import { timeGup, timeWalk } from './bench.js';
import { PgtemuError } from './errors.js';

const USAGE = `pgtemu — Linux page tables and page refcounts, across architectures

usage:
  pgtemu main                         the conformance matrix over every arch, variant
                                      and kernel preset, then a short benchmark (npm start)
  pgtemu archs [--json]               variants with their geometry and switches
  pgtemu pte --arch A [--variant V] [--kernel K] [--level L] [--write] VALUE [--json]
                                      decode an entry: bits by kernel name, pfn, physical
                                      address, leaf or table, what gup-fast would do
  pgtemu pte --arch A --encode NAME[,NAME...] [--pfn N | --pa PA] [--level L] [--json]
                                      build an entry from bit names
  pgtemu conformance [--arch A] [--variant V] [--kernel K] [--json]
  pgtemu bench [--arch A] [--variant V] [--quick] [--json]
                                      in-core gup-fast and walk timings (full runs: npm run bench)

kernel presets: ${Object.keys(KERNELS).join(', ')} (default ${DEFAULT_KERNEL})
`;

type Out = (s: string) => void;
const hex = (v: bigint) => '0x' + v.toString(16);

function parseValue(s: string, what: string): bigint {
  try {
    if (!/^(0x[0-9a-f_]+|\d+)$/i.test(s)) throw new Error();
    return BigInt(s.replace(/_/g, ''));
  } catch {
    throw new PgtemuError('EINVAL', `${what} '${s}' is not a number (decimal or 0x hex)`);
  }
}

function pickLevel(d: Descriptor, level: string | undefined): number {
  if (level === undefined) return d.levels.length - 1;
  const byName = d.levels.findIndex((l) => l.name === level);
  if (byName >= 0) return byName;
  if (/^\d+$/.test(level) && Number(level) < d.levels.length) return Number(level);
  throw new PgtemuError('EINVAL', `--level '${level}' is not a level of ${d.arch}/${d.variant} (${d.levels.map((l) => l.name).join(', ')})`);
}

/** Bit names set in an entry, outside its address field. */
function setBits(d: Descriptor, l: LevelDescriptor, e: bigint, leaf: boolean, table: boolean): string[] {
  if (table) {
    // a table entry: the address, the level's table bits by name, and any fixed value
    // the level ORs in (ppc64 NLS, loongarch's direct-map window) as a number
    const named = l.tableBitNames.map((n) => [n, d.bits[n]] as const).filter(([, b]) => ((e >> BigInt(b)) & 1n) === 1n);
    const namedMask = named.reduce((m, [, b]) => m | (1n << BigInt(b)), 0n);
    const rest = e & l.tableTemplate & ~namedMask & ~l.tableAddr.mask;
    return [...named.map(([n]) => n), ...(rest ? [`0x${rest.toString(16)}`] : [])];
  }
  const field = leaf ? l.leafAddr.mask : l.isLast ? l.leafAddr.mask : l.tableAddr.mask;
  const byBit = new Map<number, string[]>();
  // names this level's helpers use first (s390 names its segment bits apart from its pte bits)
  const own = new Set(l.bitNames);
  const names = Object.entries(d.bits).filter(([n]) => own.has(n));
  const ownBits = new Set(names.map(([, b]) => b));
  for (const [name, bit] of [...names, ...Object.entries(d.bits).filter(([n, b]) => !own.has(n) && !ownBits.has(b))]) {
    if (bit < 0 || ((1n << BigInt(bit)) & field) !== 0n) continue;
    if (((e >> BigInt(bit)) & 1n) === 1n) byBit.set(bit, [...(byBit.get(bit) ?? []), name]);
  }
  return [...byBit.entries()].sort((a, b) => a[0] - b[0]).map(([, names]) => names.join('/'));
}

/** What gup-fast (mm/gup.c) does with this entry at this level. */
export function gupVerdict(d: Descriptor, l: LevelDescriptor, e: bigint, write: boolean): string {
  const f = decodeEntry(l, e);
  if ((e & l.noneMask) === l.empty) return 'none: gup-fast stops; the slow path faults';
  if (!f.present) return 'not present: gup-fast stops; the slow path faults (swap, migration)';
  if (f.table) return 'table: the walk continues at the next level';
  if (!f.leaf) return 'bad: neither table nor leaf; gup-fast stops';
  if (f.protnone) return 'protnone: gup-fast stops (NUMA hinting fault in the slow path)';
  const p = (n: 'access' | 'write') => matchPred(l.preds[n], e);
  if (!p('access')) return 'not user-accessible: pXd_access_permitted fails, gup-fast stops';
  if (write && !p('write')) return 'read-only: FOLL_WRITE stops gup-fast (the slow path breaks COW)';
  if (d.hasDevmap && f.devmap) return 'devmap: gup-fast takes a pgmap reference (get_dev_pagemap) before the page; FOLL_LONGTERM bails';
  if (f.special) return 'special: gup-fast bails (vm_normal_page has no page: pfnmap or zero page)';
  if (!gupFastAccepts(l, e, write)) return 'gup-fast stops';
  return l.isLast ? 'grab: try_grab_folio_fast on the page' : `grab: one try_grab_folio_fast for the subpages of this ${l.name} leaf`;
}

function describeEntry(d: Descriptor, li: number, e: bigint, write: boolean) {
  const l = d.levels[li];
  const f = decodeEntry(l, e);
  const leaf = f.leaf;
  const pa = leaf ? decodeLeafPa(l, e) : f.table ? decodeTablePa(l, e) : undefined;
  return {
    arch: d.arch, variant: d.variant, kernel: d.kernel, level: l.name, value: hex(e),
    kind: (e & l.noneMask) === l.empty ? 'none' : !f.present ? 'not-present' : leaf ? 'leaf' : f.table ? 'table' : 'bad',
    bits: setBits(d, l, e, leaf, f.table),
    pa: pa === undefined ? undefined : hex(pa),
    pfn: leaf && pa !== undefined ? hex(pa >> BigInt(d.pageShift)) : undefined,
    size: leaf ? hex(1n << BigInt(l.shift)) : undefined,
    flags: f,
    gupFast: gupVerdict(d, l, e, write),
  };
}

function cmdPte(args: string[], out: Out): void {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: {
      arch: { type: 'string' }, variant: { type: 'string' }, kernel: { type: 'string' }, level: { type: 'string' },
      encode: { type: 'string' }, pfn: { type: 'string' }, pa: { type: 'string' }, write: { type: 'boolean' }, json: { type: 'boolean' },
    },
  });
  if (!values.arch) throw new PgtemuError('EINVAL', `pte: --arch is required (${Object.keys(archs).join(', ')})`);
  const { desc: d } = resolve({ arch: values.arch, variant: values.variant, kernel: values.kernel });
  const li = pickLevel(d, values.level);
  const l = d.levels[li];
  let e: bigint;
  if (values.encode !== undefined) {
    const names = values.encode.split(/[,|]/).map((s) => s.trim()).filter(Boolean);
    const bits = maskOf(d.bits, names, 'pte --encode');
    const pa = values.pa !== undefined ? parseValue(values.pa, '--pa') : values.pfn !== undefined ? parseValue(values.pfn, '--pfn') << BigInt(d.pageShift) : 0n;
    e = encodeLeafEntry(l, pa, bits);
  } else {
    if (positionals.length !== 1) throw new PgtemuError('EINVAL', 'pte: give one entry VALUE (or --encode NAMES)');
    e = parseValue(positionals[0], 'entry');
    if (e >= 1n << 64n) throw new PgtemuError('EINVAL', `entry ${positionals[0]} does not fit in 64 bits`);
  }
  const r = describeEntry(d, li, e, !!values.write);
  if (values.json) { out(JSON.stringify(r, null, 2)); return; }
  // the crash utility's `pte` layout, then pgtemu's verdict
  out(`${d.arch}/${d.variant} ${d.kernel}, ${l.name} entry`);
  out(`${'PTE'.padEnd(18)}  ${'PHYSICAL'.padEnd(14)}  FLAGS`);
  out(`${e.toString(16).padStart(16, '0').padEnd(18)}  ${(r.pa ?? '-').replace(/^0x/, '').padEnd(14)}  (${r.bits.join('|')})`);
  out('');
  out(`  kind:     ${r.kind}${r.size ? ` (${BigInt(r.size) >> 10n} KiB)` : ''}`);
  if (r.pfn) out(`  pfn:      ${r.pfn}`);
  const on = Object.entries(r.flags).filter(([, v]) => v).map(([k]) => k);
  out(`  helpers:  ${on.length ? on.map((k) => `${l.name}_${k}`).join(' ') : '(none true)'}`);
  out(`  gup-fast: ${r.gupFast}`);
}

function cmdArchs(args: string[], out: Out): void {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' } } });
  const rows = Object.values(archs).flatMap((a) => Object.entries(a.variants).map(([v, g]) => {
    const presets = Object.keys(KERNELS).map((k) => {
      const { desc, model } = resolve({ arch: a.arch, variant: v, kernel: k });
      return { kernel: k, model, special: desc.hasSpecial, devmap: desc.hasDevmap, devmapBit: desc.hasDevmap ? desc.bits.DEVMAP : undefined };
    });
    const { desc } = resolve({ arch: a.arch, variant: v });
    return {
      arch: a.arch, variant: v, default: v === a.defaultVariant, description: g.description,
      pageShift: g.pageShift, vaBits: g.vaBits, userVaBits: g.userVaBits, bigEndian: a.bigEndian,
      levels: desc.levels.map((l) => ({ name: l.name, shift: l.shift, indexBits: l.indexBits, tableBytes: l.tableBytes, leaf: l.leafOk })),
      presets,
    };
  }));
  if (values.json) { out(JSON.stringify(rows, null, 2)); return; }
  const table: string[][] = [['arch', 'variant', 'page', 'VA', 'levels (shift/idx, * = leaf)', 'special', `devmap (${Object.keys(KERNELS).join(' ')})`]];
  for (const r of rows) {
    table.push([
      r.arch, r.variant + (r.default ? ' *' : ''), `${1 << (r.pageShift - 10)}K`, `${r.vaBits}`,
      r.levels.map((l) => `${l.name}(${l.shift}/${l.indexBits})${l.leaf ? '*' : ''}`).join(' '),
      r.presets.some((p) => p.special) ? 'yes' : 'no',
      r.presets.map((p) => (p.devmap ? `bit ${p.devmapBit}` : '-')).join(' '),
    ]);
  }
  printTable(table, out);
}

function cmdConformance(args: string[], out: Out): number {
  const { values } = parseArgs({ args, options: { arch: { type: 'string' }, variant: { type: 'string' }, kernel: { type: 'string' }, json: { type: 'boolean' } } });
  const results = conformanceMatrix(values);
  if (values.json) out(JSON.stringify(results, null, 2));
  else printConformance(results, out);
  return results.some((r) => r.failures.length) ? 1 : 0;
}

function conformanceMatrix(o: { arch?: string; variant?: string; kernel?: string }) {
  if (o.arch && !archs[o.arch]) throw new PgtemuError('EUNKNOWN', `unknown arch '${o.arch}' (archs: ${Object.keys(archs).join(', ')})`);
  const results = [];
  for (const a of Object.values(archs)) {
    if (o.arch && a.arch !== o.arch) continue;
    for (const v of Object.keys(a.variants)) {
      if (o.variant && v !== o.variant) continue;
      for (const k of Object.keys(KERNELS)) {
        if (o.kernel && k !== o.kernel) continue;
        // the end-to-end part (map, pin, zap at every leaf size up to 1 GiB; s390's 2 GiB region
        // leaves would need a 4 GiB machine) runs once per variant, on the default preset: the
        // presets differ in bits the other parts check, not in geometry
        results.push(runConformance(a.arch, v, k, { maxRamMiB: k === DEFAULT_KERNEL ? 2200 : 0 }));
      }
    }
  }
  return results;
}

function printConformance(results: ReturnType<typeof conformanceMatrix>, out: Out): void {
  const rows: string[][] = [['arch', 'variant', ...Object.keys(KERNELS), 'checks']];
  const byVariant = new Map<string, typeof results>();
  for (const r of results) byVariant.set(`${r.arch}/${r.variant}`, [...(byVariant.get(`${r.arch}/${r.variant}`) ?? []), r]);
  let total = 0, failed = 0;
  for (const [key, rs] of byVariant) {
    const [arch, variant] = key.split('/');
    const cells = Object.keys(KERNELS).map((k) => {
      const r = rs.find((x) => x.kernel === k);
      return !r ? '' : r.failures.length ? `FAIL ${r.failures.length}` : 'ok';
    });
    const checks = rs.reduce((s, r) => s + r.checks, 0);
    total += checks;
    failed += rs.reduce((s, r) => s + r.failures.length, 0);
    rows.push([arch, variant, ...cells, String(checks)]);
  }
  printTable(rows, out);
  out(`\n${total} checks over ${byVariant.size} variants: ${failed ? `${failed} FAILED` : 'all passed'}`);
  for (const r of results) for (const f of r.failures.slice(0, 5)) out(`  ${r.arch}/${r.variant} ${r.kernel}: ${f}`);
}

function cmdBench(args: string[], out: Out): void {
  const { values } = parseArgs({ args, options: { arch: { type: 'string' }, variant: { type: 'string' }, quick: { type: 'boolean' }, json: { type: 'boolean' } } });
  const rows = benchMatrix(values.arch, values.variant, values.quick ? 'quick' : 'short');
  if (values.json) { out(JSON.stringify(rows, null, 2)); return; }
  printBench(rows, out);
}

interface BenchRow { arch: string; variant: string; gup4k: number; gupPmd: number | null; walk: number }

function benchMatrix(arch: string | undefined, variant: string | undefined, size: 'quick' | 'short'): BenchRow[] {
  const rounds = size === 'quick' ? 40 : 200;
  const rows: BenchRow[] = [];
  for (const a of Object.values(archs)) {
    if (arch && a.arch !== arch) continue;
    for (const v of Object.keys(a.variants)) {
      if (variant && v !== variant) continue;
      const m = Machine.createSync({ arch: a.arch, variant: v, ramMiB: 1200, tablePoolMiB: 8 });
      const pmd = m.leafOrders.filter((o) => o > 0).sort((x, y) => x - y)[0];
      const pmdPages = pmd === undefined ? 0 : 1 << pmd;
      rows.push({
        arch: a.arch, variant: v,
        gup4k: timeGup(m, { order: 0, pages: 512, pin: true, write: true }, { rounds, samples: 9 }),
        // (a pmd leaf of more than 2^17 pages does not fit this benchmark's 1200 MiB machine twice over)
        gupPmd: pmd === undefined || pmdPages > (1 << 17) ? null
          : timeGup(m, { order: pmd, pages: pmdPages, pin: true, write: true }, { rounds: Math.max(4, (rounds * 512) / pmdPages), samples: 9 }),
        walk: timeWalk(m, { count: rounds * 512, samples: 9 }),
      });
    }
  }
  return rows;
}

function printBench(rows: BenchRow[], out: Out): void {
  const t: string[][] = [['arch', 'variant', 'pin+unpin 512 x base page', 'pin+unpin one pmd leaf', 'random walk']];
  for (const r of rows) {
    t.push([r.arch, r.variant, `${r.gup4k.toFixed(1)} ns/page`, r.gupPmd === null ? '-' : `${r.gupPmd.toFixed(2)} ns/page`, `${r.walk.toFixed(1)} ns/walk`]);
  }
  printTable(t, out);
}

function printTable(rows: string[][], out: Out): void {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  rows.forEach((r, i) => {
    out(r.map((c, j) => (c ?? '').padEnd(w[j])).join('  ').trimEnd());
    if (i === 0) out(w.map((n) => '-'.repeat(n)).join('  '));
  });
}

function cmdMain(out: Out): number {
  out('pgtemu: conformance matrix (debug_vm_pgtable identities, round trips, walks, map/gup/zap end to end)\n');
  const results = conformanceMatrix({});
  printConformance(results, out);
  out('\npgtemu: short benchmark (in-core, single thread; full runs: npm run bench)\n');
  printBench(benchMatrix(undefined, undefined, 'quick'), out);
  return results.some((r) => r.failures.length) ? 1 : 0;
}

export function main(argv: string[], out: Out = (s) => console.log(s)): number {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'main': return cmdMain(out);
    case 'archs': cmdArchs(rest, out); return 0;
    case 'pte': cmdPte(rest, out); return 0;
    case 'conformance': return cmdConformance(rest, out);
    case 'bench': cmdBench(rest, out); return 0;
    case undefined: case 'help': case '--help': case '-h': out(USAGE); return 0;
    default: throw new PgtemuError('EINVAL', `unknown command '${cmd}'\n\n${USAGE}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/pgtemu')) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    if (e instanceof PgtemuError || (e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      console.error(`pgtemu: ${(e as Error).message}`);
      process.exitCode = 2;
    } else throw e;
  }
}
