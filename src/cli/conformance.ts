// pgtemu conformance: the debug_vm_pgtable identities, round trips, walks and
// map/gup/zap end to end, over every selected arch, variant and kernel preset.
import { Command } from 'commander';
import { KERNELS, DEFAULT_KERNEL } from '../host/presets.js';
import { runConformance, type ConformanceResult } from '../host/conformance.js';
import { archOption, jsonOption, kernelOption, printTable, progress, selectVariants, variantOption, type Io } from './common.js';

export interface MatrixFilter { arch?: string; variant?: string; kernel?: string }

export function conformanceMatrix(o: MatrixFilter, io: Io): ConformanceResult[] {
  const variants = selectVariants(o.arch, o.variant);
  const kernels = Object.keys(KERNELS).filter((k) => !o.kernel || k === o.kernel);
  const bar = progress(io, 'conformance', variants.length * kernels.length);
  const results: ConformanceResult[] = [];
  try {
    for (const { arch, variant } of variants) {
      for (const k of kernels) {
        // the end-to-end part (map, pin, zap at every leaf size up to 1 GiB; s390's 2 GiB region
        // leaves would need a 4 GiB machine) runs once per variant, on the default preset: the
        // presets differ in bits the other parts check, not in geometry
        results.push(runConformance(arch, variant, k, { maxRamMiB: k === DEFAULT_KERNEL ? 2200 : 0 }));
        bar.step(`${arch}/${variant} ${k}`);
      }
    }
  } finally {
    bar.stop();
  }
  return results;
}

export function summarize(results: ConformanceResult[]) {
  const variants = new Set(results.map((r) => `${r.arch}/${r.variant}`)).size;
  const checks = results.reduce((s, r) => s + r.checks, 0);
  const failed = results.reduce((s, r) => s + r.failures.length, 0);
  return { checks, failed, variants, presets: [...new Set(results.map((r) => r.kernel))] };
}

export function summaryLine(results: ConformanceResult[]): string {
  const s = summarize(results);
  return `${s.checks} checks over ${s.variants} variants: ${s.failed ? `${s.failed} FAILED` : 'all passed'} (kernel presets ${s.presets.join(' ')})`;
}

export function printFailures(results: ConformanceResult[], out: (s: string) => void): void {
  for (const r of results) for (const f of r.failures.slice(0, 5)) out(`  ${r.arch}/${r.variant} ${r.kernel}: ${f}`);
}

function printConformance(results: ConformanceResult[], out: (s: string) => void): void {
  const kernels = Object.keys(KERNELS);
  const rows: string[][] = [['arch', 'variant', ...kernels.map((k) => `${k} checks`)]];
  const byVariant = new Map<string, ConformanceResult[]>();
  for (const r of results) byVariant.set(`${r.arch}/${r.variant}`, [...(byVariant.get(`${r.arch}/${r.variant}`) ?? []), r]);
  for (const [key, rs] of byVariant) {
    const [arch, variant] = key.split('/');
    rows.push([arch, variant, ...kernels.map((k) => {
      const r = rs.find((x) => x.kernel === k);
      return !r ? '' : r.failures.length ? `${r.checks} (${r.failures.length} FAILED)` : `${r.checks} passed`;
    })]);
  }
  printTable(rows, out);
  out(`\n${summaryLine(results)}`);
  printFailures(results, out);
}

export function conformanceCommand(io: Io, setCode: (c: number) => void): Command {
  return new Command('conformance')
    .summary('run the conformance checks')
    .description('The debug_vm_pgtable identities (mm/debug_vm_pgtable.c) for every leaf level and base protection, '
      + 'pfn and table-address round trips up to the largest physical address, leaf/table recognition, the '
      + 'core\'s walk of entries built from the same data, and map/gup/zap end to end (on the default preset). '
      + 'Exit status 1 when a check fails.')
    .addOption(archOption('only this architecture'))
    .addOption(variantOption())
    .addOption(kernelOption(false))
    .addOption(jsonOption())
    .addHelpText('after', `
Examples:
  $ pgtemu conformance --arch x86_64 --variant la57
  $ pgtemu conformance --kernel v6.17 --json`)
    .action((o: MatrixFilter & { json?: boolean }) => {
      const results = conformanceMatrix(o, io);
      if (o.json) io.out(JSON.stringify({ ...summarize(results), results }, null, 2));
      else printConformance(results, io.out);
      setCode(results.some((r) => r.failures.length) ? 1 : 0);
    });
}
