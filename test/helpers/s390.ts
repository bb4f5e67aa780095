// What the s390 suites that transcribe one kernel era each share
// (s390.decode.test.ts for v6.12, s390.decode-v6.13.test.ts for v6.13 on):
// the comparison of the compiled entry ops with the suite's kernel helpers,
// and the end-to-end check (populate a mapping of one leaf size, compare every
// leaf with the entry the kernel writes, count the tables, then the
// whole-range pin cycle).
import { expect } from 'vitest';
import { Machine, applyOp, type Descriptor } from '../../src/index.js';
import { pinCycle } from './pin-cycle.js';

const GiB = 1n << 30n;
const hex = (v: bigint) => `0x${v.toString(16)}`;

// Region-first and region-second entries, the same in v6.12 and v7.2
// (arch/s390/include/asm/pgtable.h, pgalloc.h): pXd_populate writes
// _REGIONn_ENTRY = _REGION_ENTRY_TYPE_Rn | _REGION_ENTRY_LENGTH | __pa(table);
// a new table holds _REGIONn_ENTRY_EMPTY = TYPE_Rn | _REGION_ENTRY_INVALID.
const _REGION_ENTRY_INVALID = 0x20n, _REGION_ENTRY_LENGTH = 0x03n;
const _REGION1_ENTRY = 0x0cn | _REGION_ENTRY_LENGTH, _REGION1_ENTRY_EMPTY = 0x0cn | _REGION_ENTRY_INVALID;
const _REGION2_ENTRY = 0x08n | _REGION_ENTRY_LENGTH, _REGION2_ENTRY_EMPTY = 0x08n | _REGION_ENTRY_INVALID;

/**
 * The region-first / region-second decode cases of a variant whose levels R1 / R2
 * (-1: none) hold them: [name, level, entry, the flags the kernel's helpers give,
 * space separated].
 */
export function upperRegionCases(R1: number, R2: number, tablePa: bigint): [string, number, bigint, string][] {
  const cases: [string, number, bigint, string][] = [];
  if (R2 >= 0) {
    // p4d_none: _REGION2_ENTRY_EMPTY; p4d_populate: _REGION2_ENTRY | __pa(pud)
    cases.push(['region2 empty', R2, _REGION2_ENTRY_EMPTY, '']);
    cases.push(['region2 table', R2, _REGION2_ENTRY | tablePa, 'present table']);
    // p4d_bad: type R3 is below R2 and is not bad (folded), type R1 above it is
    cases.push(['region2 type R1', R2, tablePa | _REGION1_ENTRY, 'present']);
  }
  if (R1 >= 0) {
    // pgd_none: _REGION1_ENTRY_EMPTY; pgd_populate: _REGION1_ENTRY | __pa(p4d)
    cases.push(['region1 empty', R1, _REGION1_ENTRY_EMPTY, '']);
    cases.push(['region1 table', R1, _REGION1_ENTRY | tablePa, 'present table']);
    // pgd_none tests _REGION_ENTRY_INVALID only (type R1): an invalid entry with an origin is none
    cases.push(['region1 invalid with origin', R1, _REGION1_ENTRY | tablePa | _REGION_ENTRY_INVALID, '']);
  }
  return cases;
}

/** Per level index: entries to try, and the kernel helper for each op name. */
export type OpsByLevel = Record<number, { inputs: bigint[]; fns: Record<string, (p: bigint) => bigint> }>;

/** Every op of `perLevel` applied to every input, as pgtemu compiled it and as the kernel helper does it: where they differ. */
export function opsDiffering(d: Descriptor, perLevel: OpsByLevel): string[] {
  const wrong: string[] = [];
  for (const [lvl, { inputs, fns }] of Object.entries(perLevel)) {
    const l = d.levels[Number(lvl)];
    for (const [op, f] of Object.entries(fns)) {
      for (const v of inputs) {
        const got = applyOp(l.ops[op as keyof typeof l.ops], v);
        if (got !== f(v)) wrong.push(`${l.name} ${op}(${hex(v)}) = ${hex(got)}, kernel ${hex(f(v))}`);
      }
    }
  }
  return wrong;
}

export interface S390EndToEnd {
  variant: string;
  leaf: string;
  kind: 'anon' | 'hugetlb';
  order: number;
  leaves: number;
  ramMiB: number;
}

// Base pages, 1 MiB segment leaves (THP and hugetlb) and 2 GiB region-third
// hugetlb leaves (hugeOrder 19: needs 2 GiB-aligned free RAM, so 4096 + 64 MiB).
export const S390_END_TO_END: readonly S390EndToEnd[] = ['3level', '4level', '5level'].flatMap((variant) => [
  { variant, leaf: 'base pages', kind: 'anon' as const, order: 0, leaves: 300, ramMiB: 64 },
  { variant, leaf: '1 MiB segment leaves (THP)', kind: 'anon' as const, order: 8, leaves: 3, ramMiB: 64 },
  { variant, leaf: '1 MiB segment leaves (hugetlb)', kind: 'hugetlb' as const, order: 8, leaves: 2, ramMiB: 64 },
  { variant, leaf: '2 GiB region-third leaves (hugetlb)', kind: 'hugetlb' as const, order: 19, leaves: 1, ramMiB: 4096 + 64 },
]);

/**
 * Map `leaves` folios of one order with populate (which faults for write),
 * check each leaf entry against `kernelEntry(pfn)` and its flags against
 * `leafFlags`, then pin, unpin, zap and unmap it all (pinCycle).
 */
export function s390EndToEnd(c: S390EndToEnd, kernel: string | undefined, kernelEntry: (pfn: bigint) => bigint, leafFlags: object): void {
  const { variant, kind, order, leaves, ramMiB } = c;
  const m = Machine.createSync({ arch: 's390', variant, ramMiB, tablePoolMiB: 4, ...(kernel ? { kernel } : {}) });
  const free0 = m.stats().freePages;
  const mm = m.createMm();
  const root = mm.counters().pgtablesBytes;
  expect(root).toBe(16384n);                                // pgd_alloc: one CRST, 16 KiB
  const folioPages = 1 << order;
  const nrPages = leaves * folioPages;
  const length = BigInt(nrPages) << 12n;
  const start = 4n * GiB;                                   // 2 GiB-aligned, below 4 TiB
  mm.mmap({ start, length, kind, hugeOrder: order, populate: true });
  expect(m.stats().freePages).toBe(free0 - BigInt(nrPages));
  // tables: one per level below the root; base pages need ceil(300 / 256) = 2 page tables of 2 KiB
  const n = m.desc.levels.length;
  const tables = order === 0 ? BigInt((n - 2) * 16384 + 2 * 2048) : order === 8 ? BigInt((n - 2) * 16384) : BigInt((n - 3) * 16384);
  expect(mm.counters().pgtablesBytes - root).toBe(tables);

  // every leaf is what the kernel writes
  const leafLevel = m.desc.levels.findIndex((l) => l.leafOk && l.shift === 12 + order);
  const bad: string[] = [];
  for (let i = 0; i < leaves; i++) {
    const va = start + (BigInt(i * folioPages) << 12n);
    const w = m.walk(mm, va);
    const exp = kernelEntry(w.pfn ?? 0n);
    if (w.status !== 'ok' || w.level !== leafLevel || w.entry !== exp || w.size !== BigInt(folioPages) << 12n ||
        JSON.stringify(w.flags) !== JSON.stringify(leafFlags)) {
      bad.push(`${hex(va)}: ${w.levelName} ${w.status} entry ${hex(w.entry)} (kernel ${hex(exp)}) ${JSON.stringify(w.flags)}`);
    }
  }
  expect(bad).toEqual([]);

  // pin_user_pages_fast over the whole range
  pinCycle(m, mm, { start, length, order, free0, tablesLeft: root });
}
