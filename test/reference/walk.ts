// Walking the page tables (assembly/walk.ts): to one address (walkFrom), and
// to one address making the tables on the way (walkAlloc). The model's tables
// are its own (Memory.tables), so no link needs checking.
import { E_EXIST, E_NOTABLE, W_BAD, W_NONE, W_NOT_PRESENT, W_OK } from '../../src/host/consts.gen.js';
import type { RefMachine } from './machine.js';
import type { RefMm } from './mm.js';

/** Where an entry lives: a table (by its pool offset) and an index in it. */
export interface Slot { pa: number; i: number }

export function rd(m: RefMachine, s: Slot): bigint { return m.table(s.pa)[s.i]; }
export function wr(m: RefMachine, s: Slot, e: bigint): void { m.table(s.pa)[s.i] = e; }

export interface Walk { level: number; entry: bigint; slot: Slot; code: number }

/** walkFrom down to a leaf or a non-present entry. */
export function walkFrom(m: RefMachine, rootPa: number, va: bigint): Walk {
  let pa = rootPa;
  for (let l = 0; ; l++) {
    const d = m.L[l];
    const slot = { pa, i: d.index(va) };
    const e = rd(m, slot);
    if (d.isNone(e)) return { level: l, entry: e, slot, code: W_NONE };
    if (!d.isPresent(e)) return { level: l, entry: e, slot, code: W_NOT_PRESENT };
    if (l === m.n - 1 || d.isLeaf(e)) return { level: l, entry: e, slot, code: d.isLeaf(e) ? W_OK : W_BAD };
    if (!d.isTable(e)) return { level: l, entry: e, slot, code: W_BAD };
    pa = d.tablePa(e);
  }
}

/**
 * walkAlloc: the entry at level `target`, allocating missing tables (made by
 * operation op); E_NOTABLE when the pool is exhausted, E_EXIST when a leaf or
 * a non-present entry sits above `target`.
 */
export function walkAlloc(m: RefMachine, mm: RefMm, va: bigint, target: number, op: number): Slot | number {
  let pa = mm.root;
  for (let l = 0; l < target; l++) {
    const d = m.L[l];
    const slot = { pa, i: d.index(va) };
    const e = rd(m, slot);
    if (d.isNone(e)) {
      const t = m.allocTableAt(l + 1, op);
      if (t < 0) return E_NOTABLE;
      mm.pgtablesBytes += m.L[l + 1].tableBytes;
      wr(m, slot, d.mkTable(t));
      pa = t;
      continue;
    }
    if (!d.isPresent(e) || !d.isTable(e) || d.isLeaf(e)) return E_EXIST;
    pa = d.tablePa(e);
  }
  return { pa, i: m.L[target].index(va) };
}

/** The level of the leaf mapping va (populate's step), or null. */
export function walkLevel(m: RefMachine, mm: RefMm, va: bigint): number | null {
  const w = walkFrom(m, mm.root, va);
  return w.code === W_OK ? w.level : null;
}
