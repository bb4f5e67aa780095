// Reading the architecture descriptor: predicates, address fields, templates.
// Nothing here knows an architecture; every bit comes from the descriptor.

import { A } from './base';
import {
  ArchDesc, LevelDesc, Pred, ARCH_LEVELS, LEVEL_SIZE, LEVEL_PREDS, PRED_SIZE, LEVEL_TEMPLATES,
  P_PRESENT, P_TABLE, P_LEAF, P_INVERT,
} from './layout';

@inline export function nLevels(): u32 { return changetype<ArchDesc>(A).nLevels; }
@inline export function pageShift(): u32 { return changetype<ArchDesc>(A).pageShift; }
@inline export function lv(l: u32): usize { return A + ARCH_LEVELS + l * LEVEL_SIZE; }
@inline export function L(l: u32): LevelDesc { return changetype<LevelDesc>(lv(l)); }

// (e & m1) == v1 || (e & m2) == v2 || (e & any) != 0, evaluated without
// branches (the three terms are cheap; a branch per term costs more).
@inline export function pred(lvp: usize, p: u32, e: u64): bool {
  const q = lvp + LEVEL_PREDS + p * PRED_SIZE;
  return <bool>(<i32>((e & load<u64>(q, offsetof<Pred>("m1"))) == load<u64>(q, offsetof<Pred>("v1"))) |
    <i32>((e & load<u64>(q, offsetof<Pred>("m2"))) == load<u64>(q, offsetof<Pred>("v2"))) |
    <i32>((e & load<u64>(q, offsetof<Pred>("any"))) != 0));
}

@inline export function isNone(lvp: usize, e: u64): bool {
  const d = changetype<LevelDesc>(lvp);
  return (e & d.noneMask) == d.emptyValue;
}

@inline export function isPresent(lvp: usize, e: u64): bool { return !isNone(lvp, e) && pred(lvp, P_PRESENT, e); }
@inline export function isTable(lvp: usize, e: u64): bool { return pred(lvp, P_TABLE, e); }
@inline export function isLeaf(lvp: usize, e: u64): bool {
  return changetype<LevelDesc>(lvp).leafOk != 0 && pred(lvp, P_LEAF, e);
}

@inline export function tablePa(lvp: usize, e: u64): u64 {
  const d = changetype<LevelDesc>(lvp);
  return ((e & d.tableAddrMask) >> d.tableAddrShift) << d.tableAddrPaShift;
}

// Physical address mapped by a leaf (its first byte).
@inline export function leafPa(lvp: usize, e: u64): u64 {
  const d = changetype<LevelDesc>(lvp);
  // x86 L1TF: a non-present, non-zero entry stores its pfn bits inverted.
  const v = e != 0 && pred(lvp, P_INVERT, e) ? ~e : e;
  return ((v & d.leafAddrMask) >> d.leafAddrShift) << d.leafAddrPaShift;
}

@inline export function mkTable(lvp: usize, pa: u64): u64 {
  const d = changetype<LevelDesc>(lvp);
  return (((pa >> d.tableAddrPaShift) << d.tableAddrShift) & d.tableAddrMask) | d.tableTemplate;
}

@inline export function mkLeaf(lvp: usize, pa: u64, t: u32): u64 {
  const d = changetype<LevelDesc>(lvp);
  return (((pa >> d.leafAddrPaShift) << d.leafAddrShift) & d.leafAddrMask) | load<u64>(lvp + LEVEL_TEMPLATES + (t << 3));
}

@inline export function levelSize(l: u32): u64 { return (<u64>1) << L(l).shift; }
@inline export function levelIndex(l: u32, va: u64): u32 {
  const d = L(l);
  return <u32>((va >> d.shift) & ((<u64>1 << d.indexBits) - 1));
}
@inline export function entriesOf(l: u32): u32 { return 1 << L(l).indexBits; }
