// What the commands share: output, the --arch/--variant/--kernel options with
// their valid values, number parsing, tables and progress.
import { Option } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { archs } from '../arch/index.js';
import { KERNELS, DEFAULT_KERNEL } from '../host/presets.js';
import { PgtemuError } from '../host/errors.js';

/** Where a command writes: stdout and stderr lines, and whether stdout is a terminal. */
export interface Io {
  out(s: string): void;
  err(s: string): void;
  isTTY: boolean;
}

export const ARCH_NAMES = Object.keys(archs);
export const KERNEL_NAMES = Object.keys(KERNELS);
export const ALL_VARIANTS = [...new Set(Object.values(archs).flatMap((a) => Object.keys(a.variants)))];

export const hex = (v: bigint | number): string => '0x' + BigInt(v).toString(16);

export const archOption = (what = 'architecture') => new Option('--arch <arch>', what).choices(ARCH_NAMES);
export const variantOption = () => new Option('--variant <variant>', 'architecture variant (default: the arch\'s default; see `pgtemu archs`)');
export const kernelOption = (dflt = true) => {
  const o = new Option('--kernel <kernel>', `kernel preset${dflt ? ` (default ${DEFAULT_KERNEL})` : ''}`).choices(KERNEL_NAMES);
  return o;
};
export const jsonOption = () => new Option('--json', 'print JSON instead of a table');

/** The variants of `arch` (or of every arch), for a filter; refuses a variant that matches nothing. */
export function checkVariant(arch: string | undefined, variant: string | undefined): void {
  if (variant === undefined) return;
  if (arch !== undefined) {
    const vs = Object.keys(archs[arch].variants);
    if (!vs.includes(variant)) throw new PgtemuError('EUNKNOWN', `--variant '${variant}' is not a variant of ${arch} (${vs.join(', ')})`);
  } else if (!ALL_VARIANTS.includes(variant)) {
    const list = Object.values(archs).map((a) => `${a.arch}: ${Object.keys(a.variants).join(', ')}`).join('; ');
    throw new PgtemuError('EUNKNOWN', `--variant '${variant}' is not a variant of any arch (${list})`);
  }
}

/** Every arch/variant that the filters select (never empty: checkVariant runs first). */
export function selectVariants(arch?: string, variant?: string): { arch: string; variant: string }[] {
  checkVariant(arch, variant);
  return Object.values(archs).flatMap((a) => (arch && a.arch !== arch ? [] : Object.keys(a.variants)
    .filter((v) => !variant || v === variant).map((v) => ({ arch: a.arch, variant: v }))));
}

/** A non-negative integer in decimal or 0x hex (underscores allowed). */
export function parseValue(s: string, what: string): bigint {
  if (!/^(0x[0-9a-f_]+|\d[\d_]*)$/i.test(s)) throw new PgtemuError('EINVAL', `${what} '${s}' is not a number (decimal or 0x hex)`);
  return BigInt(s.replace(/_/g, ''));
}

/** A positive integer option value no larger than `max`. */
export function parseCount(what: string, max: number) {
  return (s: string): number => {
    if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > max) throw new PgtemuError('EINVAL', `${what} '${s}' is not an integer in 1..${max}`);
    return Number(s);
  };
}

export function printTable(rows: string[][], out: (s: string) => void): void {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  rows.forEach((r, i) => {
    out(r.map((c, j) => (c ?? '').padEnd(w[j])).join('  ').trimEnd());
    if (i === 0) out(w.map((n) => '-'.repeat(n)).join('  '));
  });
}

/**
 * Progress over `total` steps: a bar on a terminal (cli-progress, on stderr so
 * stdout stays the result), one plain line per step otherwise (or none with `quiet`).
 */
export function progress(io: Io, title: string, total: number, quiet = false): { step(label: string): void; stop(): void } {
  if (io.isTTY && process.stderr.isTTY) {
    const bar = new SingleBar({ format: `${title} [{bar}] {value}/{total} {label}`, stream: process.stderr, clearOnComplete: true, hideCursor: true }, Presets.shades_classic);
    bar.start(total, 0, { label: '' });
    return { step: (label) => bar.increment(1, { label }), stop: () => bar.stop() };
  }
  let n = 0;
  return { step: (label) => { n++; if (!quiet) io.err(`${title} ${n}/${total} ${label}`); }, stop: () => {} };
}
