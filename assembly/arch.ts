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
  return rotl<u64>(e & d.tableAddrMask, <u64>d.tableAddrRot);
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
  return <u32>((va >> d.shift) & d.indexMask);
}
@inline export function entriesOf(l: u32): u32 { return 1 << L(l).indexBits; }

// ---------------------------------------------------------------- what an entry is
// The kinds of entry a walker meets. K_LEAF .. K_BAD equal the walk codes
// W_OK .. W_BAD (layout.ts), so the walk reports a kind as it is.
export const K_LEAF: u32 = 0;          // maps memory here (pXd_leaf; any present pte)
export const K_NONE: u32 = 1;          // pXd_none
export const K_NOT_PRESENT: u32 = 2;   // non-empty, !pXd_present (swap-like, protnone-less invalid)
export const K_BAD: u32 = 3;           // present, neither a leaf nor a table here (pXd_bad)
export const K_TABLE: u32 = 6;         // present, points to the next-level table

// What the entry e at the level lvp is, in the kernel's order: pXd_none,
// then pXd_present, then pXd_leaf (a leaf), then a table, else pXd_bad. The
// level's quick pairs (LevelDesc.fastTable*, fastLeaf*) answer first: an
// entry equal to the table template (or to a present leaf template) on
// every bit those predicates read answers them all as the template does.
// `last`: the pte level as the kernel's pte walkers see it (zap_pte_range,
// the checker's count): pte_present is all they ask, so every present entry
// is a leaf there. A walk that must tell a malformed pte (the hardware view)
// passes false and takes a last-level K_TABLE or K_BAD as pXd_bad.
@inline export function entryKind(lvp: usize, e: u64, last: bool): u32 {
  const d = changetype<LevelDesc>(lvp);
  if ((e & d.fastTableMask) == d.fastTableValue) return K_TABLE;
  if ((e & d.fastLeafMask) == d.fastLeafValue) return K_LEAF;
  return entryKindSlow(lvp, e, last);
}

// entryKind's predicates, for an entry no quick pair matched.
@inline export function entryKindSlow(lvp: usize, e: u64, last: bool): u32 {
  if (isNone(lvp, e)) return K_NONE;
  const d = changetype<LevelDesc>(lvp);
  if ((e & d.fastLiveTableMask) == d.fastLiveTableValue && (e & d.fastLiveTableAny) != 0) return K_TABLE;   // (never at the last level)
  if (!pred(lvp, P_PRESENT, e)) return K_NOT_PRESENT;
  if (last || isLeaf(lvp, e)) return K_LEAF;
  if (isTable(lvp, e)) return K_TABLE;
  return K_BAD;
}

// pXd_addr_end (include/linux/pgtable.h): the end of the level-entry of
// `size` bytes that holds addr, or `end` if that comes first. As in the
// kernel, end 0 stands for the top of the 64-bit space (both sides less one).
@inline export function addrEnd(addr: u64, end: u64, size: u64): u64 {
  const boundary = (addr + size) & ~(size - 1);
  return boundary - 1 < end - 1 ? boundary : end;
}

// ---------------------------------------------------------------- swap entries
// Non-present ptes of the generic swap form (include/linux/swapops.h), from the
// descriptor's swp* fields (layout.ts ArchDesc). Device-private pages are
// mapped by such entries: swp_entry(SWP_DEVICE_WRITE or _READ, pfn).

// swp_entry_to_pte(swp_entry(type, offset)): the arch's __swp_entry and
// __swp_entry_to_pte. Bits of type or offset beyond their fields are dropped,
// as the kernel's shifts drop them.
@inline export function mkSwpEntry(type: u32, offset: u64): u64 {
  const a = changetype<ArchDesc>(A);
  return (((<u64>type) << a.swpTypeShift) & a.swpTypeMask)
    | (((offset << a.swpOffsetShift) & a.swpOffsetMask) ^ a.swpOffsetXor) | a.swpSet;
}

// swp_type(pte_to_swp_entry(e)), for an entry isSwapEntry accepts.
@inline export function swpType(e: u64): u32 {
  const a = changetype<ArchDesc>(A);
  return <u32>((e & a.swpTypeMask) >> a.swpTypeShift);
}

// swp_offset(pte_to_swp_entry(e)), for an entry isSwapEntry accepts.
@inline export function swpOffset(e: u64): u64 {
  const a = changetype<ArchDesc>(A);
  return ((e ^ a.swpOffsetXor) & a.swpOffsetMask) >> a.swpOffsetShift;
}

// swp_offset_pfn: the pfn of a migration, device-private or hwpoison entry.
@inline export function swpOffsetPfn(e: u64): u64 {
  return swpOffset(e) & changetype<ArchDesc>(A).swpPfnMask;
}

// is_swap_pte: !pte_none(e) && !pte_present(e), at the level lvp (the last).
@inline export function isSwapEntry(lvp: usize, e: u64): bool {
  return !isNone(lvp, e) && !pred(lvp, P_PRESENT, e);
}

// make_writable_device_private_entry(pfn) / make_readable_device_private_entry(pfn)
// made a pte; the machine's kernel's type numbers.
@inline export function mkDevicePrivateEntry(pfn: u64, write: bool): u64 {
  const a = changetype<ArchDesc>(A);
  return mkSwpEntry(write ? a.swpDeviceWrite : a.swpDeviceRead, pfn);
}

// is_device_private_entry(pte_to_swp_entry(e)), for an entry isSwapEntry accepts.
@inline export function isDevicePrivateEntry(e: u64): bool {
  const a = changetype<ArchDesc>(A);
  const t = swpType(e);
  return t == a.swpDeviceWrite || t == a.swpDeviceRead;
}

// is_writable_device_private_entry(pte_to_swp_entry(e)), for an entry isSwapEntry accepts.
@inline export function isWritableDevicePrivateEntry(e: u64): bool {
  return swpType(e) == changetype<ArchDesc>(A).swpDeviceWrite;
}
