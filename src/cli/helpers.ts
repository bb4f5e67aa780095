// The kernel's names for what pgtemu evaluates on an entry (EntryFlags), per
// level: only helpers that exist in v6.12 are printed.
import type { Descriptor } from '../host/archdesc.js';
import type { EntryFlags } from '../host/machine.js';

/**
 * The kernel prefix of each of a variant's levels, top first. A level is named
 * by its depth from the bottom (pte, pmd, pud, p4d, pgd): with fewer than five
 * levels the kernel folds the ones above (asm-generic/pgtable-nop4d.h,
 * pgtable-nopud.h), so pgd_present() of a folded pgd is constant 1 and the real
 * test of the top entry is the helper of its own depth (x86 4-level: p4d_present;
 * arm64 4K/39-bit: pud_leaf for a 1 GiB block). s390 names its levels by type
 * and maps them the same way (region1..3 = pgd/p4d/pud, segment = pmd).
 */
export function kernelPrefixes(d: Descriptor): string[] {
  const names = ['pte', 'pmd', 'pud', 'p4d', 'pgd'];
  const n = d.levels.length;
  return d.levels.map((_, i) => names[n - 1 - i]);
}

/** The kernel arch directory of a pgtemu arch. */
const ARCH_DIR: Record<string, string> = { x86_64: 'x86', arm64: 'arm64', ppc64: 'powerpc', s390: 's390', riscv: 'riscv', loongarch: 'loongarch' };

// Helpers defined (static inline or #define) in v6.12 include/linux/pgtable.h,
// include/linux/mm.h, include/asm-generic/pgtable-nop4d.h, pgtable-nopud.h or
// the arch's include/asm/ 64-bit headers, for the suffixes pgtemu evaluates.
// ('table': only arm64 names it, pmd_table/pud_table; elsewhere a table entry is
// present && !leaf; pte_user/pmd_user where the arch has them.)
const HELPERS: Record<string, string> = {
  x86: 'pgd_present pgd_leaf pgd_devmap p4d_present p4d_leaf pud_present pud_leaf pud_write pud_young pud_dirty pud_special pud_devmap pmd_present pmd_leaf pmd_write pmd_young pmd_dirty pmd_special pmd_devmap pmd_protnone pte_present pte_write pte_young pte_dirty pte_special pte_devmap pte_protnone',
  arm64: 'pgd_present pgd_leaf pgd_devmap p4d_present p4d_leaf pud_present pud_leaf pud_table pud_write pud_young pud_special pud_devmap pud_user pmd_present pmd_leaf pmd_table pmd_write pmd_young pmd_dirty pmd_special pmd_devmap pmd_protnone pmd_user pte_present pte_write pte_young pte_dirty pte_special pte_devmap pte_protnone pte_user',
  powerpc: 'pgd_present pgd_leaf pgd_devmap p4d_present p4d_leaf p4d_write pud_present pud_leaf pud_write pud_young pud_dirty pud_special pud_devmap pmd_present pmd_leaf pmd_write pmd_young pmd_dirty pmd_special pmd_devmap pmd_protnone pte_present pte_write pte_young pte_dirty pte_special pte_devmap pte_protnone pte_user',
  riscv: 'pgd_present pgd_leaf pgd_devmap p4d_present p4d_leaf pud_present pud_leaf pud_write pud_special pud_devmap pud_user pmd_present pmd_leaf pmd_write pmd_young pmd_dirty pmd_special pmd_devmap pmd_protnone pmd_user pte_present pte_write pte_young pte_dirty pte_special pte_devmap pte_protnone pte_user',
  s390: 'pgd_present pgd_leaf pgd_devmap p4d_present p4d_leaf pud_present pud_leaf pud_write pud_special pud_devmap pmd_present pmd_leaf pmd_write pmd_young pmd_dirty pmd_special pmd_devmap pmd_protnone pte_present pte_write pte_young pte_dirty pte_special pte_devmap pte_protnone',
  loongarch: 'pgd_present pgd_leaf pgd_devmap p4d_present p4d_leaf pud_present pud_leaf pud_write pud_special pud_devmap pmd_present pmd_leaf pmd_write pmd_young pmd_dirty pmd_special pmd_devmap pmd_protnone pte_present pte_write pte_young pte_dirty pte_special pte_devmap pte_protnone',
};
const EXISTS: Record<string, Set<string>> = Object.fromEntries(Object.entries(HELPERS).map(([a, s]) => [a, new Set(s.split(' '))]));

/** The helpers of level `li` that exist in the kernel, each with pgtemu's answer for `f`. */
export function kernelHelpers(d: Descriptor, li: number, f: EntryFlags): { name: string; value: boolean }[] {
  const prefix = kernelPrefixes(d)[li];
  const have = EXISTS[ARCH_DIR[d.arch]] ?? new Set<string>();
  return (Object.keys(f) as (keyof EntryFlags)[])
    .filter((k): k is Exclude<keyof EntryFlags, 'swap'> => typeof f[k] === 'boolean')
    .map((k) => ({ name: `${prefix}_${k}`, value: f[k] }))
    .filter((h) => have.has(h.name));
}
