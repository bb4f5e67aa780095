// Kernel presets: a named choice of refcount model plus the arch switches
// (special, devmap) that kernel had. See ../shared reference README: three eras.
import type { ArchData, Switches } from '../arch/types.js';
import { archs } from '../arch/index.js';
import { buildVariant, compileVariant, inRange, type Descriptor } from './archdesc.js';
import { PgtemuError } from './errors.js';

export type Model = 'legacy' | 'unified';

/**
 * The ZONE_DEVICE switches a kernel release sets, finer than the model (each
 * can also be given to Machine.create on its own).
 */
export interface EraSwitches {
  /**
   * Device-private/coherent pages hold a pgmap reference while allocated, and
   * free ones sit at refcount 0 (v6.1 on: 0dc45ca1ce18 "mm/memremap.c: take a
   * pgmap reference on page allocation", ef233450898f "mm: free device private
   * pages have zero refcount"). v6.0: no per-page reference, free pages at 1.
   */
  pgmapPageRefs: boolean;
  /**
   * The pXd_devmap code, and `config ZONE_DEVICE` `depends on
   * ARCH_HAS_PTE_DEVMAP` (mm/Kconfig) — until v6.16; removed for v6.17 ("mm:
   * remove devmap related functions and page table bits").
   */
  devmapCode: boolean;
  /**
   * DAX PMD/PUD entries are pXd_special (vmf_insert_folio_pmd/pud as merged
   * for v6.15; "don't mark refcounted folios special" fixed it for v6.17).
   */
  daxHugeSpecial: boolean;
  /**
   * CONFIG_FS_DAX_LIMITED (s390's dcssblk, fs/Kconfig): memremap_pages refuses
   * MEMORY_DEVICE_FS_DAX. Until v6.14 (put behind BROKEN in the v6.15 series).
   */
  fsDaxLimited: boolean;
}

/**
 * Named models that are no kernel release. 'devmap-less-zone-device': the
 * 2021 thread's proposal (Dan Williams, Gerald Schaefer, Joao Martins) on top
 * of a legacy kernel: architectures without a devmap bit keep ZONE_DEVICE;
 * pte_special sends gup-fast to the slow path, which finds the pgmap through
 * the DAX VMA (vma_is_dax, get_dev_pagemap). FS_DAX_LIMITED goes: it is what
 * the proposal replaces on s390.
 */
export type WhatIf = 'devmap-less-zone-device';
export const WHAT_IFS: readonly WhatIf[] = ['devmap-less-zone-device'];

export interface KernelPreset extends Omit<EraSwitches, 'fsDaxLimited'> {
  readonly kernel: string;
  readonly model: Model;
  readonly note: string;
  /** the last release with CONFIG_FS_DAX_LIMITED on the arches that had it (s390) */
  readonly fsDaxLimitedArch: boolean;
}

export const KERNELS: Readonly<Record<string, KernelPreset>> = {
  'v6.0': {
    kernel: 'v6.0', model: 'legacy', pgmapPageRefs: false, devmapCode: true, daxHugeSpecial: false, fsDaxLimitedArch: true,
    note: 'legacy refcounts; device-private pages hold no pgmap reference (free at 1)',
  },
  'v6.1': {
    kernel: 'v6.1', model: 'legacy', pgmapPageRefs: true, devmapCode: true, daxHugeSpecial: false, fsDaxLimitedArch: true,
    note: 'legacy refcounts; x86 devmap at bit 58',
  },
  'v6.12': {
    kernel: 'v6.12', model: 'legacy', pgmapPageRefs: true, devmapCode: true, daxHugeSpecial: false, fsDaxLimitedArch: true,
    note: 'legacy refcounts; devmap bits where the arch had them',
  },
  'v6.15': {
    kernel: 'v6.15', model: 'unified', pgmapPageRefs: true, devmapCode: true, daxHugeSpecial: true, fsDaxLimitedArch: false,
    note: 'unified ZONE_DEVICE refcounts; devmap bits defined, unused; DAX huge entries special',
  },
  'v6.17': {
    kernel: 'v6.17', model: 'unified', pgmapPageRefs: true, devmapCode: false, daxHugeSpecial: false, fsDaxLimitedArch: false,
    note: 'unified refcounts; no devmap bits anywhere; ZONE_DEVICE on every arch',
  },
};
export const DEFAULT_KERNEL = 'v6.12';

export interface MachineChoice extends Partial<EraSwitches> {
  arch: string;
  variant?: string;
  kernel?: string;
  model?: Model;
  special?: boolean;
  devmap?: boolean;
  whatIf?: WhatIf;
}

/** What a resolved machine is, for ZONE_DEVICE: the switches, and whether memremap_pages can exist at all. */
export interface Era extends EraSwitches {
  whatIf?: WhatIf;
  /** CONFIG_ZONE_DEVICE */
  zoneDevice: boolean;
  /** why not, in the kernel's words (when zoneDevice is false) */
  zoneDeviceWhyNot?: string;
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
export function resolve(choice: MachineChoice): { model: Model; kernel: string; desc: Descriptor; era: Era } {
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
  const spec = buildVariant(a, variant, bitsKernel, sw, kernel);
  const era = resolveEra(choice, preset, a.arch, sw.devmap);
  // CONFIG_DEVICE_PRIVATE depends on ZONE_DEVICE: without it no device swap types
  return { model: choice.model ?? preset.model, kernel, desc: compileVariant(spec, kernel, { devicePrivate: era.zoneDevice }), era };
}

/** The ZONE_DEVICE switches of a choice: the preset's, each overridable, checked together. */
function resolveEra(choice: MachineChoice, preset: KernelPreset, arch: string, devmapBit: boolean): Era {
  for (const k of ['pgmapPageRefs', 'devmapCode', 'daxHugeSpecial', 'fsDaxLimited'] as const) {
    if (choice[k] !== undefined && typeof choice[k] !== 'boolean') throw new PgtemuError('EINVAL', `${k} must be a boolean, not ${String(choice[k])}`);
  }
  if (choice.whatIf !== undefined && !WHAT_IFS.includes(choice.whatIf)) {
    throw new PgtemuError('EUNKNOWN', `unknown what-if '${String(choice.whatIf)}' (what-ifs: ${WHAT_IFS.join(', ')})`);
  }
  const sw: EraSwitches = {
    pgmapPageRefs: choice.pgmapPageRefs ?? preset.pgmapPageRefs,
    devmapCode: choice.devmapCode ?? preset.devmapCode,
    daxHugeSpecial: choice.daxHugeSpecial ?? preset.daxHugeSpecial,
    // only s390 had it (drivers/s390/block/Kconfig DCSSBLK_DAX selects FS_DAX_LIMITED)
    fsDaxLimited: choice.fsDaxLimited ?? (preset.fsDaxLimitedArch && arch === 's390' && choice.whatIf === undefined),
  };
  if (sw.fsDaxLimited && arch !== 's390') throw new PgtemuError('EINVAL', `fsDaxLimited: FS_DAX_LIMITED is s390's (drivers/s390/block/Kconfig), not ${arch}'s`);
  if (devmapBit && !sw.devmapCode) throw new PgtemuError('EINVAL', 'devmap: a devmap bit needs the devmap code (devmapCode: false removes both)');
  if (choice.whatIf !== undefined) {
    if (!sw.devmapCode) throw new PgtemuError('EINVAL', `whatIf '${choice.whatIf}': without the devmap code (devmapCode false, as in v6.17) ZONE_DEVICE needs no devmap bit already; the what-if changes nothing`);
    if ((choice.model ?? preset.model) !== 'legacy') throw new PgtemuError('EINVAL', `whatIf '${choice.whatIf}' is a model of legacy refcounts (a kernel of v6.14 or before, or model 'legacy')`);
    if (sw.fsDaxLimited) throw new PgtemuError('EINVAL', `whatIf '${choice.whatIf}' replaces FS_DAX_LIMITED: fsDaxLimited cannot be true with it`);
  }
  const needsBit = sw.devmapCode && choice.whatIf === undefined;
  const zoneDevice = !needsBit || devmapBit;
  return {
    ...sw, whatIf: choice.whatIf, zoneDevice,
    zoneDeviceWhyNot: zoneDevice ? undefined : `ZONE_DEVICE depends on ARCH_HAS_PTE_DEVMAP (mm/Kconfig, until v6.16), and ${arch} has no devmap bit in this kernel`,
  };
}
