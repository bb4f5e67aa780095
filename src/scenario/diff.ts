// What differs across a matrix: for each step whose outcome is not the same on
// every cell, which (arch, variant, kernel) sets saw which outcome. Steps that
// agree everywhere are not listed.
import type { MatrixResult } from './matrix.js';
import type { Cell } from './run.js';

export interface DiffGroup { outcome: string; where: string; cells: Cell[] }
export interface DiffRow {
  /** step number (0: the cell as a whole: skipped, or its machine refused) */
  step: number;
  line: number;
  op: string;
  groups: DiffGroup[];
}

const key = (c: Cell) => `${c.arch}/${c.variant}/${c.kernel}`;
const uniq = <T>(xs: T[]) => [...new Set(xs)];

/**
 * A set of cells in few words, relative to the cells that ran: 'all', 'v6.15,
 * v6.17' (every arch, those presets), 'x86_64, arm64' (every preset), or per
 * arch: 'arm64 v6.1' (all its variants), 'arm64/4k-48 *', 'arm64/{4k-39, 4k-48} v6.12'.
 */
export function describeCells(group: Cell[], universe: Cell[]): string {
  const g = new Set(group.map(key));
  const same = (pred: (c: Cell) => boolean) => universe.every((c) => pred(c) === g.has(key(c)));
  if (same(() => true)) return 'all';
  const ks = uniq(group.map((c) => c.kernel));
  if (same((c) => ks.includes(c.kernel))) return `every arch on ${ks.join(', ')}`;
  const as = uniq(group.map((c) => c.arch));
  if (same((c) => as.includes(c.arch))) return as.join(', ') + (uniq(universe.map((c) => c.kernel)).length > 1 ? ' (every preset)' : '');
  return as.map((a) => {
    const ga = group.filter((c) => c.arch === a), ua = universe.filter((c) => c.arch === a);
    const vs = uniq(ga.map((c) => c.variant)), kk = uniq(ga.map((c) => c.kernel));
    const uvs = uniq(ua.map((c) => c.variant)), uks = uniq(ua.map((c) => c.kernel));
    const product = ua.filter((c) => vs.includes(c.variant) && kk.includes(c.kernel));
    if (product.length === ga.length) {
      const v = vs.length === uvs.length ? '' : `/${vs.length > 1 ? `{${vs.join(', ')}}` : vs[0]}`;
      const k = kk.length === uks.length ? '' : ` ${kk.join(', ')}`;
      return `${a}${v}${k}`;
    }
    return vs.map((v) => `${a}/${v} ${ga.filter((c) => c.variant === v).map((c) => c.kernel).join(', ')}`).join('; ');
  }).join('; ');
}

/** The rows where the cells' outcomes differ. */
export function differences(r: MatrixResult): DiffRow[] {
  const universe = r.cells.map((c) => ({ arch: c.arch, variant: c.variant, kernel: c.kernel }));
  const rows: DiffRow[] = [];
  const group = (pick: (i: number) => string): DiffGroup[] => {
    const by = new Map<string, Cell[]>();
    universe.forEach((c, i) => { const o = pick(i); by.set(o, [...(by.get(o) ?? []), c]); });
    return [...by].sort((a, b) => b[1].length - a[1].length).map(([outcome, cells]) => ({ outcome, cells, where: describeCells(cells, universe) }));
  };
  const whole = group((i) => { const c = r.cells[i]; return c.status === 'skipped' ? `skipped: ${c.reason}` : c.reason ? `failed: ${c.reason}` : 'runs'; });
  if (whole.length > 1) rows.push({ step: 0, line: 1, op: '(cell)', groups: whole });
  const nSteps = Math.max(0, ...r.cells.map((c) => c.steps.length));
  for (let s = 0; s < nSteps; s++) {
    const ran = r.cells.find((c) => c.steps[s])!.steps[s];
    const groups = group((i) => r.cells[i].steps[s]?.summary ?? (r.cells[i].status === 'skipped' ? 'skipped' : 'not run'));
    if (groups.length > 1) rows.push({ step: ran.index, line: ran.line, op: ran.op, groups });
  }
  return rows;
}
