// Shared helpers for the suites: the variants every table-driven test runs over.
import { archs, KERNELS, type Machine } from '../../src/index.js';

/** Every (arch, variant) pair the project knows (PGTEMU_ARCHS=a,b narrows it while developing). */
const only = process.env.PGTEMU_ARCHS?.split(',');
export const VARIANTS: { arch: string; variant: string }[] = Object.values(archs)
  .filter((a) => !only || only.includes(a.arch))
  .flatMap((a) => Object.keys(a.variants).map((variant) => ({ arch: a.arch, variant })));

/** One row per kernel preset (in KERNELS' order): the machine's devmap bit and what `look` reads from that machine. */
export function devmapByKernel(mk: (kernel: string) => Machine, look: (m: Machine) => Record<string, unknown>): Record<string, unknown>[] {
  return Object.keys(KERNELS).map((kernel) => {
    const m = mk(kernel);
    return { kernel, bit: m.desc.bits.DEVMAP, ...look(m) };
  });
}
