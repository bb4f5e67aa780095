// pgtemu scenario: run scenario files (scenarios/*.yaml) over the arch x
// variant x kernel-preset matrix; per file a verdict, what differs between
// cells, and every failed expectation with its file:line.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { PgtemuError } from '../host/errors.js';
import { ARCH_NAMES, KERNEL_NAMES, jsonOption, printTable, variantOption, type Io } from './common.js';
import { parseScenario, MAX_FILE_BYTES, type Scenario } from '../scenario/parse.js';
import { runMatrix, verdict, selectCells, type MatrixResult, type Selection } from '../scenario/matrix.js';
import { differences, describeCells } from '../scenario/diff.js';
import type { Cell } from '../scenario/run.js';

interface Opts { arch?: string; variant?: string; kernel?: string; json?: boolean }

/** Read and check every file before anything runs: a bad one is a PgtemuError naming file:line:column. */
export function loadScenarios(files: string[]): Scenario[] {
  return files.map((f) => {
    let src: string;
    try {
      const b = readFileSync(f);
      if (b.length > MAX_FILE_BYTES) throw new PgtemuError('EINVAL', `${f}: larger than ${MAX_FILE_BYTES / 1024} KiB`);
      src = b.toString('utf8');
    } catch (e) {
      if (e instanceof PgtemuError) throw e;
      throw new PgtemuError('EINVAL', `cannot read ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return parseScenario(src, f);
  });
}

/** Failed expectations of a matrix, one per (place, expected, observed), with the cells that saw it. */
export function failures(r: MatrixResult): { at: string; what: string; cells: Cell[]; where: string }[] {
  const by = new Map<string, { at: string; what: string; cells: Cell[] }>();
  const add = (at: string, what: string, c: Cell) => {
    const k = `${at}\0${what}`;
    const e = by.get(k) ?? { at, what, cells: [] };
    e.cells.push({ arch: c.arch, variant: c.variant, kernel: c.kernel });
    by.set(k, e);
  };
  for (const c of r.cells) {
    if (c.status === 'fail' && c.reason) add(`${r.file}:1`, c.reason, c);
    for (const s of c.steps) {
      if (s.outcome === 'error') add(`${r.file}:${s.line}:${s.col}`, `step ${s.index} ${s.op}: ${s.message}`, c);
      for (const x of s.expectations) {
        if (!x.held) add(`${r.file}:${x.line}:${x.col}`, `step ${s.index} ${s.op}: ${x.field} expected ${x.expected}, observed ${x.observed}`, c);
      }
    }
  }
  const universe = r.cells.map((c) => ({ arch: c.arch, variant: c.variant, kernel: c.kernel }));
  return [...by.values()].map((f) => ({ ...f, where: describeCells(f.cells, universe) }));
}

const json = (v: unknown) => JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? (x <= BigInt(Number.MAX_SAFE_INTEGER) && x >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : `0x${x.toString(16)}`) : x), 2);

export function scenarioCommand(io: Io, setCode: (c: number) => void): Command {
  return new Command('scenario')
    .summary('run scenario files over the arch x variant x kernel-preset matrix')
    .description('Run scenario files (YAML: machine, steps, expectations; see scenarios/ and the Scenarios section of README.md) on every selected '
      + 'arch, variant and kernel preset. Prints a verdict per file, the steps whose outcome differs between cells and which cells saw '
      + 'which outcome, then every failed expectation with file:line. Exit status 1 when an expectation fails, 2 for a malformed file.')
    .argument('<file...>', 'scenario files')
    .addOption(new Option('--arch <arch>', 'an arch (all its variants), or all (every variant of every arch); default: every arch on its default variant')
      .choices([...ARCH_NAMES, 'all']))
    .addOption(variantOption())
    .addOption(new Option('--kernel <kernel>', 'a kernel preset, or all; default: the presets the file pins, else v6.12').choices([...KERNEL_NAMES, 'all']))
    .addOption(jsonOption())
    .addHelpText('after', `
Examples:
  $ pgtemu scenario scenarios/*.yaml
  $ pgtemu scenario scenarios/devmap-bit.yaml --arch all --kernel all
  $ pgtemu scenario my.yaml --arch x86_64 --variant la57 --kernel v6.17 --json`)
    .action((files: string[], o: Opts) => {
      const sel: Selection = { arch: o.arch, variant: o.variant, kernel: o.kernel };
      selectCells(sel);                       // a selection that matches nothing is bad input, before any file is read
      const scenarios = loadScenarios(files);
      const results = scenarios.map((sc) => runMatrix(sc, sel));
      const failed = results.some((r) => r.failed > 0);
      setCode(failed ? 1 : 0);
      if (o.json) {
        io.out(json({
          selection: { arch: o.arch ?? 'default variants', variant: o.variant, kernel: o.kernel ?? 'default' },
          files: results.map((r) => ({
            file: r.file, name: r.name, description: r.description, verdict: verdict(r), passed: r.failed === 0,
            cells: r.cells, differences: differences(r), failures: failures(r),
          })),
        }));
        return;
      }
      for (const r of results) {
        io.out(verdict(r));
        const rows = differences(r);
        if (rows.length) {
          const t: string[][] = [['step', 'outcome', 'cells']];
          for (const d of rows) d.groups.forEach((g, i) => t.push([i ? '' : `${d.step ? `${d.step} ${d.op}` : d.op} (line ${d.line})`, g.outcome, g.where]));
          io.out('');
          printTable(t, (s) => io.out(`  ${s}`));
        } else if (r.cells.length > 1) {
          io.out(`  every step has the same outcome on all ${r.cells.length} cells`);
        }
        const fs = failures(r);
        if (fs.length) {
          io.out('');
          for (const f of fs) io.out(`  ${f.at}: ${f.what} (on ${f.where})`);
        }
        io.out('');
      }
      io.out(failed ? 'FAILED' : 'all expectations held');
    });
}
