// Kernel presets: a named choice of refcount model plus the arch switches
// (special, devmap) that kernel had. See ../shared reference README: three eras.
import type { ArchData, Switches } from '../arch/types.js';
import { archs } from '../arch/index.js';
import { buildVariant, compileVariant, inRange, type Descriptor } from './archdesc.js';
import { PgtemuError } from './errors.js';

export type Model = 'legacy' | 'unified';

export interface KernelPreset {
  readonly kernel: string;
  readonly model: Model;
  readonly note: string;
}

export const KERNELS: Readonly<Record<string, KernelPreset>> = {
  'v6.1': { kernel: 'v6.1', model: 'legacy', note: 'legacy refcounts; x86 devmap at bit 58' },
  'v6.12': { kernel: 'v6.12', model: 'legacy', note: 'legacy refcounts; devmap bits where the arch had them' },
  'v6.15': { kernel: 'v6.15', model: 'unified', note: 'unified ZONE_DEVICE refcounts; devmap bits defined, unused' },
  'v6.17': { kernel: 'v6.17', model: 'unified', note: 'unified refcounts; no devmap bits anywhere' },
};
export const DEFAULT_KERNEL = 'v6.12';

export interface MachineChoice {
  arch: string;
  variant?: string;
  kernel?: string;
  model?: Model;
  special?: boolean;
  devmap?: boolean;
}

export function archData(name: string): ArchData {
  const a = typeof name === 'string' && Object.hasOwn(archs, name) ? archs[name] : undefined;
  if (!a) throw new PgtemuError('EUNKNOWN', `unknown arch '${name}' (archs: ${Object.keys(archs).join(', ')})`);
  return a;
}

/** Switches a kernel had on an arch. */
export function kernelSwitches(a: ArchData, kernel: string): Switches {
  return { special: inRange(kernel, a.history.special), devmap: inRange(kernel, a.history.devmap) };
}

/** Resolve a choice into the model and the compiled, validated descriptor. */
export function resolve(choice: MachineChoice): { model: Model; kernel: string; desc: Descriptor } {
  const a = archData(choice.arch);
  const kernel = choice.kernel ?? DEFAULT_KERNEL;
  // own names only: 'toString', 'constructor' or '__proto__' are not presets or variants
  const preset = typeof kernel === 'string' && Object.hasOwn(KERNELS, kernel) ? KERNELS[kernel] : undefined;
  if (!preset) throw new PgtemuError('EUNKNOWN', `unknown kernel preset '${kernel}' (presets: ${Object.keys(KERNELS).join(', ')})`);
  if (choice.model !== undefined && choice.model !== 'legacy' && choice.model !== 'unified') {
    throw new PgtemuError('EUNKNOWN', `unknown refcount model '${String(choice.model)}' (legacy, unified)`);
  }
  const sw: { special: boolean; devmap: boolean } = { ...kernelSwitches(a, kernel) };
  for (const k of ['special', 'devmap'] as const) {
    if (choice[k] !== undefined && typeof choice[k] !== 'boolean') throw new PgtemuError('EINVAL', `${k} must be a boolean, not ${String(choice[k])}`);
  }
  if (choice.devmap !== undefined) {
    if (choice.devmap && !a.history.devmap) throw new PgtemuError('EINVAL', `${a.arch} never had a devmap bit`);
    sw.devmap = choice.devmap;
  }
  if (choice.special !== undefined) {
    if (choice.special && !a.history.special) throw new PgtemuError('EINVAL', `${a.arch} has no special bit`);
    sw.special = choice.special;
  }
  // With devmap forced on for a kernel outside the window, use the bits of its last kernel.
  const bitsKernel = sw.devmap && !inRange(kernel, a.history.devmap) && a.history.devmap?.until ? a.history.devmap.until : kernel;
  const variant = choice.variant ?? a.defaultVariant;
  if (typeof variant !== 'string' || !Object.hasOwn(a.variants, variant)) {
    throw new PgtemuError('EUNKNOWN', `unknown ${a.arch} variant '${String(variant)}' (variants: ${Object.keys(a.variants).join(', ')})`);
  }
  const spec = buildVariant(a, variant, bitsKernel, sw);
  return { model: choice.model ?? preset.model, kernel, desc: compileVariant(spec, kernel) };
}
