// Walking the page tables: to one address (walkFrom), to one address making
// the tables on the way (walkAlloc), and over a range (walkRange, with a
// visitor). Every table link a walk follows is checked before the table is
// read: tableLinked (the one its entry made) in an address space's tables,
// tableRawBad (inside the pool, aligned) in a raw walk.
//
// gup-fast (gup_fast.ts) keeps a loop of its own: it is the hot path, reads
// each entry once and rechecks after the grab; its slow branch asks
// entryKind like everything here.

import { hdr, readEntry, writeEntry, noteBadTable, POOL_BASE, BE } from './base';
import {
  lv, L, nLevels, isNone, isPresent, isLeaf, isTable, tablePa, mkTable, levelIndex, entryKind, addrEnd,
  K_LEAF, K_NONE, K_NOT_PRESENT, K_BAD, K_TABLE,
} from './arch';
import { allocTable, poolVa, tableLinked, tableShared, tableLinkBad, tableRawBad, rootBad } from './mem';
import {
  Mm, LevelDesc, MAX_LEVELS, E_NOTABLE, E_EXIST, E_BADTABLE, PARENT_ROOT, BAD_ENTRY, W_OK, W_NONE, W_NOT_PRESENT, W_BAD, W_BADTABLE,
} from './layout';

// ---------------------------------------------------------------- to one address
// Walk from a root table to the entry mapping va, stopping at a leaf or at a
// non-present entry. Results in the module globals below
// (per instance, so per thread; a result record would have to live in shared
// memory, and the random-walk benchmark measures this function).
// `mm` non-zero means the tables are that address space's own (each must be
// the one its entry linked: tableLinked), 0 a raw walk (inside the pool and
// aligned).
export let wLevel: u32 = 0;
export let wEntry: u64 = 0;
export let wPtr: usize = 0;     // where the entry lives
export let wCode: u32 = 0;      // W_* (an entry's kind K_LEAF .. K_BAD is its code)
export let wWhy: u32 = 0;       // W_BADTABLE: BAD_*

export function walkFrom(rootPa: u64, va: u64, mm: usize): void {
  const why = mm != 0 ? rootBad(rootPa, changetype<Mm>(mm).id) : tableRawBad(0, rootPa);
  if (why != 0) { walkRefused(0, 0, rootPa, va, why); return; }
  if (mm != 0) walkChecked(rootPa, va, mm);
  else walkRawChecked(rootPa, va);
}

// A refused link: the walk stops above it (cold, out of the walk's way).
function walkRefused(l: u32, parent: usize, pa: u64, va: u64, why: u32): void {
  wLevel = l; wEntry = 0; wPtr = 0; wCode = W_BADTABLE; wWhy = why;
  if (parent != 0) noteBadTable(l - 1, readEntry(parent), <u64>(parent - POOL_BASE), va, why);
  else noteBadTable(0, pa, PARENT_ROOT, va, why);
}

// walkFrom below a root the caller has checked: an address space's tables,
// or (walkRawChecked) tables written by anyone. One walk, specialised twice.
// Each is specialised for the byte order the tables are stored in (as
// gup-fast's pte loop is), so no level tests it.
export function walkChecked(rootPa: u64, va: u64, mm: usize): void {
  if (BE) walkBelow(rootPa, va, true, true);
  else walkBelow(rootPa, va, true, false);
}
// walkChecked inlined (the random-walk benchmark's loop calls it per walk)
@inline export function walkCheckedInline(rootPa: u64, va: u64, be: bool): void {
  walkBelow(rootPa, va, true, be);
}
function walkRawChecked(rootPa: u64, va: u64): void {
  if (BE) walkBelow(rootPa, va, false, true);
  else walkBelow(rootPa, va, false, false);
}

// The walk reads what each entry is as entryKind(d, e, false) does -- the
// quick pairs, then pXd_none, pXd_present, pXd_leaf, a table, else pXd_bad --
// with `last` false: a walk reports what the entry is, and the hardware view
// may find a pte malformed (at the last level anything but a leaf is W_BAD).
// It is the random-walk benchmark's loop, so the order is spelled out here
// with the same predicates (an entryKind result tested again after it costs
// the loop about 5% on V8), and the levels are unrolled: each step's level
// is a constant, so its descriptor's fields are at constant offsets, and no
// level count, pointer or interrupt check is carried from one to the next
// (172 instructions a random 4-level walk on V8 against 196 as a loop, 0.96
// of the time). MAX_LEVELS (5) steps; the level count stops it sooner.
@inline function walkBelow(rootPa: u64, va: u64, owned: bool, be: bool): void {
  if (MAX_LEVELS != 5) ERROR('walkBelow spells out five levels');
  const n = nLevels();
  let pa = walkStep(0, rootPa, va, owned, be, false);           // (2 levels at least)
  if (pa == WALK_STOP) return;
  pa = walkStep(1, pa, va, owned, be, n == 2);
  if (pa == WALK_STOP) return;
  pa = walkStep(2, pa, va, owned, be, n == 3);
  if (pa == WALK_STOP) return;
  pa = walkStep(3, pa, va, owned, be, n == 4);
  if (pa == WALK_STOP) return;
  walkStep(4, pa, va, owned, be, true);
}

// No step returns it as a table: every pa a step returns was found inside the
// pool (tableLinked, tableShared or tableRawBad said so).
const WALK_STOP: u64 = u64.MAX_VALUE;

// One level of walkBelow: the entry mapping va in the table at pa, at level
// l. Returns the next table's pa, or WALK_STOP with the result in the w*
// globals.
@inline function walkStep(l: u32, pa: u64, va: u64, owned: bool, be: bool, last: bool): u64 {
  const d = lv(l);
  const ld = changetype<LevelDesc>(d);
  const p = POOL_BASE + <usize>pa + (<usize>((va >> ld.shift) & ld.indexMask) << 3);
  const e = be ? bswap<u64>(load<u64>(p)) : load<u64>(p);     // readEntry, in the order given
  if ((e & ld.fastTableMask) != ld.fastTableValue) {       // not a quick table entry: ask the predicates
    if ((e & ld.fastLeafMask) == ld.fastLeafValue) return walkStop(l, e, p, W_OK);   // quick: a leaf
    if (isNone(d, e)) return walkStop(l, e, p, W_NONE);
    if ((e & ld.fastLiveTableMask) != ld.fastLiveTableValue || (e & ld.fastLiveTableAny) == 0) {   // not a quick table once not empty
      if (!isPresent(d, e)) return walkStop(l, e, p, W_NOT_PRESENT);
      if (last || isLeaf(d, e)) return walkStop(l, e, p, isLeaf(d, e) ? W_OK : W_BAD);
      if (!isTable(d, e)) return walkStop(l, e, p, W_BAD);
    }
  }
  const next = tablePa(d, e);
  // (a read-only walk may also enter a shared invalid table, as loongarch's
  // refill does from an empty entry; nothing that changes tables ever does)
  if (owned) {
    if (!tableLinked(next, p)) {
      if (!tableShared(next)) { walkRefused(l + 1, p, next, va, tableLinkBad(next, p)); return WALK_STOP; }
    }
  } else if (tableRawBad(l + 1, next) != 0) {
    walkRefused(l + 1, p, next, va, tableRawBad(l + 1, next));
    return WALK_STOP;
  }
  return next;
}

@inline function walkStop(l: u32, e: u64, p: usize, code: u32): u64 {
  wLevel = l; wEntry = e; wPtr = p; wCode = code;
  return WALK_STOP;
}

// ---------------------------------------------------------------- making tables
// Walk down to level `target`, allocating missing tables. Returns the entry
// pointer at `target`, or 0 with allocStatus set (E_NOTABLE; E_EXIST if a
// leaf or a non-present entry sits above `target`; E_BADTABLE if an entry
// names a table that is not its own, described in the context).
export let allocStatus: i32 = 0;
export function walkAlloc(mm: usize, va: u64, target: u32, opId: u32): usize {
  const m = changetype<Mm>(mm);
  let pa = m.root;
  const base = hdr().poolBase;
  const id = m.id;
  const rb = rootBad(pa, id);
  if (rb != 0) {
    noteBadTable(0, pa, PARENT_ROOT, va, rb);
    allocStatus = E_BADTABLE;
    return 0;
  }
  for (let l: u32 = 0; l < target; l++) {
    const d = lv(l);
    const p = poolVa(pa) + (levelIndex(l, va) << 3);
    const e = readEntry(p);
    const k = entryKind(d, e, false);
    if (k == K_NONE) {
      const t = allocTable(l + 1, opId, <u32>p, id);
      if (t == 0) { allocStatus = E_NOTABLE; return 0; }
      m.pgtablesBytes += L(l + 1).tableBytes;
      writeEntry(p, mkTable(d, t));      // pmd_populate: the table is filled before it is published
      pa = t;
      continue;
    }
    if (k == K_NOT_PRESENT || k == K_LEAF) { allocStatus = E_EXIST; return 0; }
    if (k == K_BAD) {                      // pXd_bad: refused, never followed
      noteBadTable(l, e, <u64>(p - base), va, BAD_ENTRY);
      allocStatus = E_BADTABLE;
      return 0;
    }
    pa = tablePa(d, e);
    const why = tableLinkBad(pa, p);
    if (why != 0) {
      noteBadTable(l, e, <u64>(p - base), va, why);
      allocStatus = E_BADTABLE;
      return 0;
    }
  }
  return poolVa(pa) + (levelIndex(target, va) << 3);
}

// ---------------------------------------------------------------- over a range
// walkRange visits every entry of [addr, end) under the level-l table at tpa
// (an address space's tables), in address order, and descends into tables.
// The visitor V is an @unmanaged class whose methods say what to do; AS has
// no closures, so a visitor keeps its state in its module's globals and is
// passed as a typed null (changetype<V>(0)): the methods are resolved at
// compile time, one walkRange per visitor. Each method returns WALK_NEXT to
// go on, or anything else (but WALK_SKIP) to end the walk with that value:
//
//   leaf(l, p, e, addr, next)        a present leaf (at the last level: every present pte)
//   nonPresent(l, p, e, addr, next)  a non-empty, non-present entry
//   bad(l, p, e, addr)               pXd_bad: present, neither leaf nor table
//   badLink(l, p, e, addr, why)      a table entry whose link tableLinked refuses (why: BAD_*)
//   table(l, p, e, addr)             a table entry whose link is good: WALK_NEXT descends,
//                                    WALK_SKIP passes it over
//   afterTable(l, p, child, addr)    the level-l entry's table `child` has been walked
//
// Empty entries are passed over. A table is entered only once its link has
// been checked (tableLinked), whatever the visitor does with it. `p` is
// where the entry lives, [addr, next) the addresses it covers.
export const WALK_NEXT: i32 = 0;
export const WALK_SKIP: i32 = 1;

export function walkRange<V>(v: V, l: u32, tpa: u64, addr: u64, end: u64): i32 {
  const d = lv(l);
  const last = l == nLevels() - 1;
  const size = (<u64>1) << L(l).shift;
  let p = poolVa(tpa) + (levelIndex(l, addr) << 3);
  do {
    const next = addrEnd(addr, end, size);
    const e = readEntry(p);
    const k = entryKind(d, e, last);
    let r = WALK_NEXT;
    if (k == K_TABLE) {
      const child = tablePa(d, e);
      if (!tableLinked(child, p)) r = v.badLink(l, p, e, addr, tableLinkBad(child, p));
      else {
        r = v.table(l, p, e, addr);
        if (r == WALK_NEXT) {
          r = walkRange<V>(v, l + 1, child, addr, next);
          if (r == WALK_NEXT) r = v.afterTable(l, p, child, addr);
        } else if (r == WALK_SKIP) r = WALK_NEXT;
      }
    } else if (k == K_LEAF) {
      r = v.leaf(l, p, e, addr, next);
    } else if (k == K_NOT_PRESENT) {
      r = v.nonPresent(l, p, e, addr, next);
    } else if (k == K_BAD) {
      r = v.bad(l, p, e, addr);
    }
    if (r != WALK_NEXT) return r;
    p += 8;
    addr = next;
  } while (addr != end);
  return WALK_NEXT;
}

// The span of a whole level-l table, as walkRange's end for a walk over all
// of it from address 0 (0: the top of the 64-bit space, for a root that
// covers all of it).
@inline export function tableSpan(l: u32): u64 {
  const bits = L(l).shift + L(l).indexBits;
  return bits >= 64 ? 0 : (<u64>1) << bits;
}
