// Shared helpers for the suites: the variants every table-driven test runs over.
import { archs, Machine, type MachineOptions } from '../../src/index.js';

/** Every (arch, variant) pair the project knows (PGTEMU_ARCHS=a,b narrows it while developing). */
const only = process.env.PGTEMU_ARCHS?.split(',');
export const VARIANTS: { arch: string; variant: string }[] = Object.values(archs)
  .filter((a) => !only || only.includes(a.arch))
  .flatMap((a) => Object.keys(a.variants).map((variant) => ({ arch: a.arch, variant })));

export const KERNEL_PRESETS = ['v6.1', 'v6.12', 'v6.15', 'v6.17'] as const;

export function machine(o: Partial<MachineOptions> & { arch?: string } = {}): Machine {
  return Machine.createSync({ arch: 'x86_64', ramMiB: 64, tablePoolMiB: 4, ...o });
}

/** Bytes of one page, of the pmd-level leaf and of the pud-level leaf (if any) of a machine. */
export function sizes(m: Machine): { page: bigint; orders: number[] } {
  return { page: 1n << BigInt(m.desc.pageShift), orders: m.leafOrders.filter((o) => o >= 0).sort((a, b) => a - b) };
}
