// pgtemu check (npm start): the conformance matrix in one line, what differs
// between kernel presets and architectures, and a short benchmark.
import { Command } from 'commander';
import { archs } from '../arch/index.js';
import { encodeLeafEntry } from '../host/archdesc.js';
import { KERNELS, resolve } from '../host/presets.js';
import { jsonOption, printTable, type Io } from './common.js';
import { conformanceMatrix, printFailures, summarize, summaryLine } from './conformance.js';
import { benchMatrix, printMicro } from './bench.js';
import { gupVerdict } from './pte.js';
import { readdirSync, readFileSync } from 'node:fs';
import { parseScenario } from '../scenario/parse.js';
import { fileURLToPath } from 'node:url';
import { failures } from './scenario.js';
import { runMatrix, verdict } from '../scenario/matrix.js';
import { differences } from '../scenario/diff.js';

/** The scenarios pgtemu ships (scenarios/*.yaml beside the package), every arch's default variant x every preset. */
export function shippedScenarios() {
  const dir = fileURLToPath(new URL('../../scenarios/', import.meta.url));
  let files: string[] = [];
  try { files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort(); } catch { /* none shipped */ }
  // named as in the package (scenarios/x.yaml), wherever it is installed
  return files.map((f) => runMatrix(parseScenario(readFileSync(dir + f, 'utf8'), `scenarios/${f}`), { kernel: 'all' }));
}

/** Per arch (default variant) and preset: the special and devmap bits, and gup-fast on a DAX-style pte. */
export function presetDifferences() {
  return Object.values(archs).map((a) => ({
    arch: a.arch, variant: a.defaultVariant,
    presets: Object.keys(KERNELS).map((k) => {
      const { desc, model } = resolve({ arch: a.arch, kernel: k });
      const l = desc.levels[desc.levels.length - 1];
      // pte_mkdevmap(pfn_pte(pfn, PAGE_SHARED)) where the preset has devmap; without it the
      // same template is what a DAX fault maps (a plain present pte)
      const e = encodeLeafEntry(l, 0x1c63n << BigInt(desc.pageShift), l.templates.devmapRw);
      const verdict = gupVerdict(desc, l, e, true);
      return {
        kernel: k, model,
        specialBit: desc.hasSpecial ? desc.bits.SPECIAL : null,
        devmapBit: desc.hasDevmap ? desc.bits.DEVMAP : null,
        devmapPte: '0x' + e.toString(16),
        gupFast: verdict.split(':')[0],
        gupFastText: verdict,
      };
    }),
  }));
}

function printDifferences(rows: ReturnType<typeof presetDifferences>, out: (s: string) => void): void {
  const kernels = Object.keys(KERNELS);
  const t: string[][] = [['arch', 'variant', ...kernels.map((k) => `${k} (${KERNELS[k].model})`)]];
  for (const r of rows) {
    t.push([r.arch, r.variant, ...r.presets.map((p) => `${p.specialBit === null ? '-' : `s${p.specialBit}`} ${p.devmapBit === null ? '-' : `d${p.devmapBit}`} ${p.gupFast}`)]);
  }
  printTable(t, out);
  const texts = new Map<string, string>();
  for (const r of rows) for (const p of r.presets) texts.set(p.gupFast, p.gupFastText);
  out('  sN / dN: special / devmap bit N of a pte (- none). Last word: what a FOLL_WRITE gup-fast does with');
  out('  pte_mkdevmap(pfn_pte(pfn, PAGE_SHARED)) (without devmap: the plain pte a DAX fault maps):');
  for (const [k, v] of texts) out(`    ${k.padEnd(8)} ${v.slice(k.length + 2)}`);
}

export function checkCommand(io: Io, setCode: (c: number) => void): Command {
  return new Command('check')
    .alias('main')
    .summary('conformance, preset differences and a short benchmark (npm start)')
    .description('The main job: the conformance matrix over every arch, variant and kernel preset (one summary line), '
      + 'what differs between kernel presets and architectures, then a short in-core benchmark. '
      + 'Exit status 1 when a conformance check fails.')
    .option('--no-bench', 'skip the benchmark')
    .addOption(jsonOption())
    .addHelpText('after', `
Examples:
  $ pgtemu check
  $ npm start`)
    .action((o: { bench: boolean; json?: boolean }) => {
      const results = conformanceMatrix({}, { ...io, err: o.json ? () => {} : io.err });
      const diffs = presetDifferences();
      const scen = shippedScenarios();
      const bench = o.bench ? benchMatrix(undefined, undefined, 'quick') : [];
      const failed = results.some((r) => r.failures.length) || scen.some((r) => r.failed > 0);
      setCode(failed ? 1 : 0);
      if (o.json) {
        io.out(JSON.stringify({ conformance: summarize(results), failures: results.filter((r) => r.failures.length), presets: diffs,
          scenarios: scen.map((r) => ({ file: r.file, verdict: verdict(r), differences: differences(r), failures: failures(r) })),
          bench: { units: { gup4k: 'ns/page', gupPmd: 'ns/page', walk: 'ns/walk' }, rows: bench } }, null, 2));
        return;
      }
      io.out(`conformance: ${summaryLine(results)}`);
      printFailures(results, io.out);
      io.out('\nkernel presets and architectures: special and devmap bits, gup-fast on a devmap pte\n');
      printDifferences(diffs, io.out);
      if (scen.length) {
        io.out('\nkernel situations (scenarios/*.yaml, every arch x every preset): where the outcome differs\n');
        for (const r of scen) {
          io.out(`  ${verdict(r)}`);
          // (here, a step that differs only in where it was skipped is left out: the step that
          // refused, above it, says why; `pgtemu scenario FILE --arch all --kernel all` shows everything)
          for (const d of differences(r)) {
            const ran = d.groups.filter((g) => g.outcome !== 'skipped' && g.outcome !== 'not run');
            if (d.step !== 0 && ran.length < 2) continue;
            for (const g of d.step !== 0 ? ran : d.groups) io.out(`      ${d.step ? `step ${d.step} ${d.op}` : d.op}: ${g.outcome}  on ${g.where}`);
          }
          for (const f of failures(r)) io.out(`      FAILED ${f.at}: ${f.what} (on ${f.where})`);
        }
      }
      if (o.bench) {
        io.out('\nshort benchmark (in-core, one thread; gup_test-style runs: pgtemu bench; full runs: npm run bench)\n');
        printMicro(bench, io.out);
      }
      io.out(failed ? '\nFAILED' : '\nall checks passed');
    });
}
