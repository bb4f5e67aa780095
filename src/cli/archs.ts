// pgtemu archs: every variant with its geometry, its bits per level and its
// special/devmap switches and the Kconfig selections pgtemu models per kernel preset.
import { Command } from 'commander';
import { archs } from '../arch/index.js';
import { KERNELS, resolve } from '../host/presets.js';
import { archOption, jsonOption, printTable, selectVariants, variantOption, type Io } from './common.js';
import { kernelPrefixes } from './helpers.js';
import { levelBits } from './pte.js';

export function archRows(arch?: string, variant?: string) {
  return selectVariants(arch, variant).map(({ arch: an, variant: v }) => {
    const a = archs[an];
    const g = a.variants[v];
    const presets = Object.keys(KERNELS).map((k) => {
      const { desc, model } = resolve({ arch: an, variant: v, kernel: k });
      return { kernel: k, model, special: desc.hasSpecial, devmap: desc.hasDevmap, devmapBit: desc.hasDevmap ? desc.bits.DEVMAP : undefined, kconfig: desc.kconfig };
    });
    const { desc } = resolve({ arch: an, variant: v });
    const prefixes = kernelPrefixes(desc);
    return {
      arch: an, variant: v, default: v === a.defaultVariant, description: g.description,
      pageShift: g.pageShift, vaBits: g.vaBits, userVaBits: g.userVaBits, bigEndian: a.bigEndian,
      levels: desc.levels.map((l, i) => ({
        name: l.name, kernelLevel: prefixes[i], shift: l.shift, indexBits: l.indexBits, tableBytes: l.tableBytes, leaf: l.leafOk,
        bits: levelBits(desc, l),
      })),
      presets,
    };
  });
}

export function archsCommand(io: Io): Command {
  return new Command('archs')
    .summary('list architecture variants')
    .description('Every architecture variant: page size, virtual address bits, levels (shift/index bits, * = may hold '
      + 'a leaf), whether it has a special bit, its devmap bit under each kernel preset, and what each preset\'s Kconfig '
      + 'selects there (P: HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD, S: ARCH_SUPPORTS_HUGE_PFNMAP, V: DAX vmemmap reuse). '
      + 'With --json, also each level\'s bit names and the kernel level whose helpers read it.')
    .addOption(archOption('only this architecture'))
    .addOption(variantOption())
    .addOption(jsonOption())
    .addHelpText('after', `
Examples:
  $ pgtemu archs
  $ pgtemu archs --arch riscv --json`)
    .action((o: { arch?: string; variant?: string; json?: boolean }) => {
      const rows = archRows(o.arch, o.variant);
      if (o.json) { io.out(JSON.stringify(rows, null, 2)); return; }
      const kernels = Object.keys(KERNELS).join(' ');
      const table: string[][] = [['arch', 'variant', 'page', 'VA', 'levels (shift/idx, * = leaf)', 'special', `devmap (${kernels})`, `Kconfig (${kernels})`]];
      const kc = (k: { thpPud: boolean; hugePfnmap: boolean; daxVmemmapOpt: boolean; memoryFailure: boolean }) =>
        `${k.thpPud ? 'P' : ''}${k.hugePfnmap ? 'S' : ''}${k.daxVmemmapOpt ? 'V' : ''}${k.memoryFailure ? 'M' : ''}` || '-';
      for (const r of rows) {
        table.push([
          r.arch, r.variant + (r.default ? ' *' : ''), `${1 << (r.pageShift - 10)}K`, `${r.vaBits}`,
          r.levels.map((l) => `${l.name}(${l.shift}/${l.indexBits})${l.leaf ? '*' : ''}`).join(' '),
          r.presets.some((p) => p.special) ? 'yes' : 'no',
          r.presets.map((p) => (p.devmap ? `bit ${p.devmapBit}` : '-')).join(' '),
          r.presets.map((p) => kc(p.kconfig)).join(' '),
        ]);
      }
      printTable(table, io.out);
      io.out('\n(* after a variant: the arch\'s default. Kconfig: P HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD (PUD device-DAX), '
        + 'S ARCH_SUPPORTS_HUGE_PFNMAP (pmd_mkspecial, pud_mkspecial with P), V DAX vmemmap reuse (vmemmap_can_optimize), '
        + 'M ARCH_SUPPORTS_MEMORY_FAILURE (the SWP_HWPOISON swap type); - none)');
    });
}
