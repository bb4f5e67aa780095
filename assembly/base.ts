// Per-instance anchors, the atomic layer, locks and the op log.
//
// Every instance (main thread, each worker) calls attach() once; the values
// below are per-instance wasm globals that merely cache pointers into shared
// memory, so nothing here needs to be seen by another instance.

import {
  Header, ArchDesc, Ctx, OpRec, OPREC_SIZE, H_ZONE_FREE, OP_CTX_SHIFT, OP_SEQ_MASK,
} from './layout';

export let H: usize = 0;      // machine header
export let A: usize = 0;      // arch descriptor
export let BE: bool = false;  // entries stored big-endian
// sparse memmap geometry (constant once the host has laid the machine out)
export let SEC_ROOTS: usize = 0;
export let NR_ROOTS: u64 = 0;
export let ROOT_SHIFT: u64 = 0;
export let SEC_SHIFT: u64 = 0;
export let SEC_MASK: u64 = 0;   // pfns per section - 1
// table pool geometry (likewise constant)
export let POOL_BASE: usize = 0;
export let POOL_BYTES: u64 = 0;
export let POOL_UNITS: usize = 0;
export let POOL_SHIFT: u64 = 0;  // log2(pool unit) = log2(smallest table)
// bits that make a pa no table: at or above the pool's size rounded up to a
// power of two (PoolUnit records cover that much), or below a unit
export let POOL_LINK_MASK: u64 = 0;
export let POOL_UNIT_INDEX: u64 = 0;   // PoolUnit records - 1 (a power of two less one)
// the link index (Header.poolLinks) less poolBase / 2, so that an entry's
// slot is POOL_LINKS + (entry address >> 1) (poolBase is 64 KiB aligned; the
// sum wraps as i32 arithmetic does, to an address inside the index)
export let POOL_LINKS: usize = 0;

export function attachTo(header: usize): void {
  H = header;
  const h = changetype<Header>(header);
  A = h.arch;
  BE = changetype<ArchDesc>(A).bigEndian != 0;
  SEC_ROOTS = h.sectionRoots;
  NR_ROOTS = h.nrRoots;
  ROOT_SHIFT = h.rootShift;
  SEC_SHIFT = h.sectionShift;
  SEC_MASK = ((<u64>1) << SEC_SHIFT) - 1;
  POOL_BASE = h.poolBase;
  POOL_BYTES = h.poolBytes;
  POOL_UNITS = h.poolUnits;
  POOL_SHIFT = h.poolMinShift;
  const span: u64 = (<u64>1) << (64 - clz<u64>(POOL_BYTES - 1));
  POOL_LINK_MASK = ~(span - 1) | (((<u64>1) << POOL_SHIFT) - 1);
  POOL_UNIT_INDEX = (span >> POOL_SHIFT) - 1;
  POOL_LINKS = <usize>h.poolLinks - (POOL_BASE >> 1);
}

// Point this instance's descriptor at another image of the same geometry for
// one walk (the hardware view, Header.archHw), and back (Header.arch).
export function useArch(desc: usize): void { A = desc; }

@inline export function hdr(): Header { return changetype<Header>(H); }
@inline export function arch(): ArchDesc { return changetype<ArchDesc>(A); }
@inline export function ctxOf(c: usize): Ctx { return changetype<Ctx>(c); }

// ---------------------------------------------------------------- atomics
@inline export function add64(p: usize, n: i64): void {
  atomic.add<i64>(p, n);
}

// Waiting goes through the host's Atomics.wait (an import call), never an
// inline memory.atomic.wait32: V8 11.3's baseline compiler (Liftoff, Node 20)
// does not keep the caller's register-held locals across an inline wait32,
// so after the wait a loop re-reads a garbage address or compares against a
// garbage value (tableSync then returned with a walker still inside its
// section, or waited on a word nobody changes). An import call spills every
// local first. Returns 0 woken, 1 not equal, 2 timed out (memory.atomic.wait32's codes).
@external("env", "futexWait") export declare function futexWait(p: usize, expected: i32, timeoutUs: i32): i32;

// Locks this instance holds, so that a trap never leaves one held: after a
// trap the host calls recover(), which releases them (at most two are ever
// nested: an mm lock, then the pool, zone or memmap lock).
let held0: usize = 0;
let held1: usize = 0;
let held2: usize = 0;
let held3: usize = 0;

@inline function noteHeld(p: usize): void {
  if (held0 == 0) held0 = p;
  else if (held1 == 0) held1 = p;
  else if (held2 == 0) held2 = p;
  else held3 = p;
}

@inline function noteReleased(p: usize): void {
  if (held0 == p) held0 = 0;
  else if (held1 == p) held1 = 0;
  else if (held2 == p) held2 = 0;
  else if (held3 == p) held3 = 0;
}

// A small lock: 0 free, 1 held, 2 held with waiters (futex-style).
export function lock(p: usize): void {
  lockRaw(p);
  noteHeld(p);
}

function lockRaw(p: usize): void {
  let spins = 0;
  while (true) {
    if (atomic.cmpxchg<i32>(p, 0, 1) == 0) return;
    if (++spins < 100) continue;
    const c = atomic.load<i32>(p);
    if (c == 0) continue;
    if (c == 2 || atomic.cmpxchg<i32>(p, 1, 2) == 1) {
      futexWait(p, 2, 1000);                 // 1 ms, then look again
    }
    if (atomic.cmpxchg<i32>(p, 0, 2) == 0) return;
  }
}

export function unlock(p: usize): void {
  noteReleased(p);
  if (atomic.xchg<i32>(p, 0) == 2) atomic.notify(p, 1);
}

// After a trap in this instance: release every lock it held and leave any
// lockless section it was in, so no other thread waits on it forever.
// Returns how many locks were released.
export function recoverAfterTrap(ctx: usize): u32 {
  let n: u32 = 0;
  if (held3 != 0) { unlock(held3); n++; }
  if (held2 != 0) { unlock(held2); n++; }
  if (held1 != 0) { unlock(held1); n++; }
  if (held0 != 0) { unlock(held0); n++; }
  const seqp = ctx + offsetof<Ctx>("seq");
  if ((atomic.load<u32>(seqp) & 1) != 0) atomic.add<u32>(seqp, 1);   // local_irq_restore
  return n;
}

// ---------------------------------------------------------------- bad table links
// The context of the operation in progress in this instance (set by beginOp),
// where a refused table link is described for the host.
export let curCtx: usize = 0;
export function useCtx(ctx: usize): void { curCtx = ctx; }

export function noteBadTable(level: u32, entry: u64, entryPa: u64, va: u64, why: u32): void {
  if (curCtx == 0) return;
  const c = changetype<Ctx>(curCtx);
  c.badLevel = level;
  c.badEntry = entry;
  c.badEntryPa = entryPa;
  c.badVa = va;
  c.badWhy = why;
}

// ---------------------------------------------------------------- op log
// Every operation gets an id and a record in its context's ring of the op
// log (layout.ts OP_CTX_SHIFT): nothing shared is written, so threads on
// other contexts never contend here.
export function beginOp(ctx: usize, kind: u32, mm: u32, addr: u64, len: u64): u32 {
  const h = hdr();
  const c = ctxOf(ctx);
  let seq = (c.opSeq + 1) & OP_SEQ_MASK;
  if (seq == 0) seq = 1;                           // id 0 is "no operation"
  c.opSeq = seq;                                   // only this context's thread writes it
  const index = c.index;
  const id = (index << OP_CTX_SHIFT) | seq;
  const size = h.opLogSize;
  const rec = changetype<OpRec>(h.opLogBase + (index * size + (seq & (size - 1))) * OPREC_SIZE);
  rec.kind = kind;
  rec.mm = mm;
  rec.ctx = index;
  rec.addr = addr;
  rec.len = len;
  atomic.store<u32>(changetype<usize>(rec), id);
  c.opId = id;
  curCtx = ctx;
  return id;
}

// ---------------------------------------------------------------- entries
// READ_ONCE of an entry (ptep_get_lockless on 64-bit): an aligned 8-byte
// load, one instruction on every 64-bit host, so never torn; writers use
// atomics, and V8 keeps plain loads in order with the atomics around them.
@inline export function readEntry(p: usize): u64 {
  const v = load<u64>(p);
  return BE ? bswap<u64>(v) : v;
}

@inline export function writeEntry(p: usize, v: u64): void {
  atomic.store<u64>(p, BE ? bswap<u64>(v) : v);
}

// Clears an entry and returns what it held (ptep_get_and_clear).
@inline export function xchgEntry(p: usize, v: u64): u64 {
  const old = atomic.xchg<u64>(p, BE ? bswap<u64>(v) : v);
  return BE ? bswap<u64>(old) : old;
}

@inline export function zoneFreeHead(order: u32): usize {
  return H + H_ZONE_FREE + (order << 2);
}
