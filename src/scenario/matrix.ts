// A scenario over the selected arch x variant x kernel-preset cells.
import { archs, KERNELS, DEFAULT_KERNEL, PgtemuError } from '../index.js';
import type { Scenario } from './parse.js';
import { runScenario, type Cell, type CellResult } from './run.js';

/**
 * Which cells to run. arch: one arch (all its variants), 'all' (every variant
 * of every arch), or undefined (every arch on its default variant); variant
 * narrows to one variant; kernel: one preset, 'all', or undefined (the
 * default preset, or the presets the file pins).
 */
export interface Selection { arch?: string; variant?: string; kernel?: string }

export interface MatrixResult {
  file: string;
  name: string;
  description: string;
  cells: CellResult[];
  /** cells the selection had but the file's pins (archs, variants, kernels) left out */
  pinnedOut: number;
  /** failed expectations, over every cell */
  failed: number;
}

const ARCH_NAMES = Object.keys(archs);
const KERNEL_NAMES = Object.keys(KERNELS);

/** The cells a selection means, before a file's pins; refuses names that match nothing. */
export function selectCells(sel: Selection, pinnedKernels?: string[]): Cell[] {
  if (sel.arch !== undefined && sel.arch !== 'all' && !ARCH_NAMES.includes(sel.arch)) {
    throw new PgtemuError('EUNKNOWN', `unknown arch '${sel.arch}' (archs: ${ARCH_NAMES.join(', ')}, or all)`);
  }
  if (sel.kernel !== undefined && sel.kernel !== 'all' && !KERNEL_NAMES.includes(sel.kernel)) {
    throw new PgtemuError('EUNKNOWN', `unknown kernel preset '${sel.kernel}' (presets: ${KERNEL_NAMES.join(', ')}, or all)`);
  }
  const kernels = sel.kernel === 'all' ? KERNEL_NAMES : sel.kernel ? [sel.kernel] : pinnedKernels ?? [DEFAULT_KERNEL];
  const variants = Object.values(archs).flatMap((a) => {
    if (sel.arch !== undefined && sel.arch !== 'all' && a.arch !== sel.arch) return [];
    const vs = sel.variant !== undefined ? Object.keys(a.variants).filter((v) => v === sel.variant)
      : sel.arch === undefined ? [a.defaultVariant] : Object.keys(a.variants);
    return vs.map((variant) => ({ arch: a.arch, variant }));
  });
  if (sel.variant !== undefined && variants.length === 0) {
    const where = sel.arch && sel.arch !== 'all' ? `a variant of ${sel.arch} (${Object.keys(archs[sel.arch].variants).join(', ')})` : 'a variant of any arch';
    throw new PgtemuError('EUNKNOWN', `variant '${sel.variant}' is not ${where}`);
  }
  return variants.flatMap((v) => kernels.map((kernel) => ({ ...v, kernel })));
}

/** The cells of a selection that a file's pins keep. */
export function scenarioCells(sc: Scenario, sel: Selection): { cells: Cell[]; pinnedOut: number } {
  const all = selectCells(sel, sc.pins.kernels);
  const p = sc.pins;
  const cells = all.filter((c) => (!p.archs || p.archs.includes(c.arch)) && (!p.variants || p.variants.includes(c.variant)) && (!p.kernels || p.kernels.includes(c.kernel)));
  return { cells, pinnedOut: all.length - cells.length };
}

/** Run a scenario on every selected cell. */
export function runMatrix(sc: Scenario, sel: Selection = {}): MatrixResult {
  const { cells, pinnedOut } = scenarioCells(sc, sel);
  const results = cells.map((c) => runScenario(sc, c));
  return { file: sc.file, name: sc.name, description: sc.description, cells: results, pinnedOut, failed: results.reduce((n, r) => n + r.failed, 0) };
}

/** One line: PASS / FAIL / SKIPPED with the counts. */
export function verdict(r: MatrixResult): string {
  const n = r.cells.length;
  const failed = r.cells.filter((c) => c.status === 'fail').length;
  const skipped = r.cells.filter((c) => c.status === 'skipped').length;
  const word = n === 0 ? 'NOT RUN' : failed ? 'FAIL' : skipped === n ? 'SKIPPED' : 'PASS';
  const parts = [`${n - skipped - failed}/${n} cells pass`];
  if (failed) parts.push(`${failed} fail (${r.failed} expectation${r.failed === 1 ? '' : 's'})`);
  if (skipped) parts.push(`${skipped} skipped`);
  if (r.pinnedOut) parts.push(`${r.pinnedOut} not selected by the file`);
  return `${r.file}: ${word} ${r.name}: ${n === 0 ? 'the file pins cells the selection does not have' : parts.join(', ')}`;
}
