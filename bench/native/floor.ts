// The Wasm floor for pgtemu's benchmarks: bench/native/gup_fast.c's
// algorithm, step for step, in AssemblyScript with every x86_64 constant
// folded in -- no arch data, no op log, no checks beyond the C loop's. Run in
// pgtemu's own Node, it shows what this V8 costs over the C compiler for the
// same work, so a ratio pgtemu / C can be split into V8's part (floor / C)
// and pgtemu's (pgtemu / floor). bench/native.js builds it with asc.
//
// Memory is the host's shared memory (imported), laid out from BASE as the C
// program's heap: 64-byte struct pages, 4 KiB tables indexed by "pa" >> 12, a
// parent word per table, the output array. The same pages are mapped at the
// same addresses as in gup_fast.c's main.

const BASE: usize = 1 << 20;
const NPAGES: u64 = 1 << 16;
const MEMMAP: usize = BASE;                                   // (NPAGES + 1024) struct pages
const TABLES: usize = MEMMAP + ((<usize>NPAGES + 1024) << 6); // 4096 tables
const PARENT: usize = TABLES + (4096 << 12);                  // u32 per table
const OUT: usize = PARENT + (4096 << 2);                      // u64[512]
export const END: usize = OUT + (512 << 3);

// x86: _PAGE_BIT_PRESENT 0, RW 1, USER 2, ACCESSED 5, DIRTY 6, PSE 7, SPECIAL 9
const P_PRESENT: u64 = 1, P_RW: u64 = 2, P_USER: u64 = 4, P_PSE: u64 = 0x80, P_SPECIAL: u64 = 0x200;
const P_TABLE: u64 = 0x67;                                    // present, rw, user, accessed, dirty
const ADDR_MASK: u64 = 0x000ffffffffff000;
const PG_REFERENCED: u64 = 1 << 2, PG_HEAD: u64 = 1 << 6;
const BIAS: i32 = 1024;
// struct page: flags 0, compound_head 8, mapping 24, mapcount 48, refcount 52, last_op 56;
// page[1] of a folio: _pincount at 64 + 28
const F_HEAD = 8, F_MAPPING = 24, F_REFCOUNT = 52, F_LAST_OP = 56, F_PINCOUNT = 92;

let ntables: u64 = 1;
let root: u64 = 0;
let freed: u64 = 0;
let rng: u64 = 0x9e3779b97f4a7c15;

@inline function table(pa: u64): usize { return TABLES + <usize>pa; }
@inline function page(pfn: u64): usize { return MEMMAP + (<usize>pfn << 6); }

function walkAlloc(va: u64, target: i32): usize {
  let pa = root;
  for (let l = 0; l < target; l++) {
    const e = table(pa) + (<usize>((va >> (39 - 9 * <u64>l)) & 511) << 3);
    if (load<u64>(e) == 0) {
      const t = (ntables++) << 12;
      store<u32>(PARENT + (<usize>(t >> 12) << 2), <u32>(e - TABLES));
      store<u64>(e, t | P_TABLE);
    }
    pa = load<u64>(e) & ADDR_MASK;
  }
  return table(pa) + (<usize>((va >> (39 - 9 * <u64>target)) & 511) << 3);
}

function mapPage(va: u64, pfn: u64): void {
  store<u64>(walkAlloc(va, 3), (pfn << 12) | P_TABLE);
  store<i32>(page(pfn), 1, F_REFCOUNT);
  store<u64>(page(pfn), 1 | (1 << 4), F_MAPPING);             // PAGE_MAPPING_ANON | mm id
}

function mapLeaf(va: u64, pfn: u64): void {
  store<u64>(walkAlloc(va, 2), (pfn << 12) | P_TABLE | P_PSE);
  store<u64>(page(pfn), load<u64>(page(pfn)) | PG_HEAD);
  store<i32>(page(pfn), 1, F_REFCOUNT);
  store<u64>(page(pfn), 1 | (1 << 4), F_MAPPING);
  for (let i: u64 = 1; i < 512; i++) store<u64>(page(pfn + i), <u64>page(pfn) | 1, F_HEAD);
}

const VA_BASE: u64 = 1 << 32, VA_LEAF: u64 = 1 << 33, VA_WALK: u64 = 1 << 34;

/** Map gup_fast.c's pages into memory that is zero from BASE to END. */
export function setup(): void {
  root = (ntables++) << 12;
  for (let i: u64 = 0; i < 512; i++) mapPage(VA_BASE + (i << 12), 4096 + i);
  mapLeaf(VA_LEAF, 8192);
  for (let i: u64 = 0; i < 4096; i++) mapPage(VA_WALK + (i << 12), 16384 + i);
}

@inline function tryAdd(p: usize, n: i32): bool {
  let c = atomic.load<i32>(p);
  while (c > 0) {
    const o = atomic.cmpxchg<i32>(p, c, c + n);
    if (o == c) return true;
    c = o;
  }
  return false;
}

// gup_fast_pte_range over one pte table (the C loop's gup_ptes)
@inline function gupPtes(pmdp: usize, pmd: u64, addr: u64, nr: i32, pin: bool, write: bool): i32 {
  const pt = table(pmd & ADDR_MASK) + (<usize>((addr >> 12) & 511) << 3);
  const add: i32 = pin ? BIAS : 1;
  const need = P_PRESENT | P_USER | (write ? P_RW : 0);
  let got = 0;
  for (; got < nr; got++) {
    const pp = pt + (<usize>got << 3);
    const pte = load<u64>(pp);
    if ((pte & (need | P_SPECIAL)) != need) break;
    const pfn = (pte & ADDR_MASK) >> 12;
    if (pfn >= NPAGES) break;
    const p = page(pfn);
    if (((load<u64>(p, F_HEAD) & 1) | (load<u64>(p) & PG_HEAD)) != 0) break;
    if (!tryAdd(p + F_REFCOUNT, add)) break;
    const fl = load<u64>(p);                                    // still an order-0 folio, with the reference held
    if (((fl & PG_HEAD) | (load<u64>(p, F_HEAD) & 1)) != 0 || ((load<u64>(pmdp) ^ pmd) | (load<u64>(pp) ^ pte)) != 0 ||
        (load<u64>(p, F_MAPPING) & 1) == 0) {
      atomic.sub<i32>(p + F_REFCOUNT, add);
      break;
    }
    if ((fl & PG_REFERENCED) == 0) atomic.or<u64>(p, PG_REFERENCED);
    store<u64>(p, 1, F_LAST_OP);
    store<u64>(OUT + (<usize>got << 3), pfn);
  }
  return got;
}

@inline function gup(addr: u64, nr: i32, pin: bool, write: bool): i32 {
  let pa = root, e: usize = 0, ent: u64 = 0;
  for (let l = 0; l < 3; l++) {
    e = table(pa) + (<usize>((addr >> (39 - 9 * <u64>l)) & 511) << 3);
    ent = load<u64>(e);
    if ((ent & P_PRESENT) == 0) return 0;
    if (l == 2 && (ent & P_PSE) != 0) {                         // gup_fast_pmd_leaf: one grab for every subpage
      if (write && (ent & P_RW) == 0) return 0;
      const pfn = (ent & ADDR_MASK & ~0x1fffff) >> 12;
      const f = page(pfn);
      if (!tryAdd(f + F_REFCOUNT, nr)) return 0;
      if (load<u64>(e) != ent) { atomic.sub<i32>(f + F_REFCOUNT, nr); return 0; }
      if (pin) atomic.add<i32>(f + F_PINCOUNT, nr);
      for (let i = 0; i < nr; i++) store<u64>(OUT + (<usize>i << 3), pfn + <u64>i);
      return nr;
    }
    pa = ent & ADDR_MASK;
  }
  return gupPtes(e, ent, addr, nr, pin, write);
}

@inline function pageFolio(p: usize): usize {
  const h = load<u64>(p, F_HEAD);
  return (h & 1) != 0 ? <usize>(h - 1) : p;
}

@inline function put(nr: i32, pin: bool, leaf: bool): void {
  if (leaf) {                                                   // one gup_put_folio for the run of one folio
    const f = pageFolio(page(load<u64>(OUT)));
    if (pin) atomic.sub<i32>(f + F_PINCOUNT, nr);
    if (atomic.sub<i32>(f + F_REFCOUNT, nr) == nr) freed++;
    store<u64>(f, 2, F_LAST_OP);
    return;
  }
  const sub: i32 = pin ? BIAS : 1;
  for (let i = 0; i < nr; i++) {
    const f = pageFolio(page(load<u64>(OUT + (<usize>i << 3))));
    if (atomic.sub<i32>(f + F_REFCOUNT, sub) == sub) freed++;
    store<u64>(f, 2, F_LAST_OP);
  }
}

// The walks are unrolled by hand, each level's shift a constant and each test
// its own branch: the easiest form for V8, about 100 x86 instructions a walk
// with its loop (cc's, a loop over the levels: 123). The same walk as a loop
// over the levels, constants still folded, runs about 1.3 times as long on
// V8, interleaved; with its tests as one || chain (binaryen makes selects of
// it) it runs about 210 instructions.
@inline function linked(pa: u64, p: usize): bool {   // the table the entry at p linked
  return pa < (4096 << 12) && load<u32>(PARENT + (<usize>(pa >> 12) << 2)) == <u32>(p - TABLES);
}

function walk(va: u64): u64 {
  const p0 = table(root) + (<usize>((va >> 39) & 511) << 3);
  const e0 = load<u64>(p0);
  if ((e0 & P_PRESENT) == 0) return e0;
  const t1 = e0 & ADDR_MASK;
  if (!linked(t1, p0)) return 0;
  const p1 = table(t1) + (<usize>((va >> 30) & 511) << 3);
  const e1 = load<u64>(p1);
  if ((e1 & P_PRESENT) == 0) return e1;
  const t2 = e1 & ADDR_MASK;
  if (!linked(t2, p1)) return 0;
  const p2 = table(t2) + (<usize>((va >> 21) & 511) << 3);
  const e2 = load<u64>(p2);
  if ((e2 & P_PRESENT) == 0) return e2;
  if ((e2 & P_PSE) != 0) return e2;
  const t3 = e2 & ADDR_MASK;
  if (!linked(t3, p2)) return 0;
  return load<u64>(table(t3) + (<usize>((va >> 12) & 511) << 3));
}

function walkBare(va: u64): u64 {
  const e0 = load<u64>(table(root) + (<usize>((va >> 39) & 511) << 3));
  if ((e0 & P_PRESENT) == 0) return e0;
  const e1 = load<u64>(table(e0 & ADDR_MASK) + (<usize>((va >> 30) & 511) << 3));
  if ((e1 & P_PRESENT) == 0) return e1;
  const e2 = load<u64>(table(e1 & ADDR_MASK) + (<usize>((va >> 21) & 511) << 3));
  if ((e2 & P_PRESENT) == 0) return e2;
  if ((e2 & P_PSE) != 0) return e2;
  return load<u64>(table(e2 & ADDR_MASK) + (<usize>((va >> 12) & 511) << 3));
}

/**
 * `rounds` rounds of gup_fast.c's cases: 0 get, 1 pin, 2 getleaf, 3 pinleaf
 * (512 pages, gup then release; returns the pages taken, which must be
 * 512 * rounds), 4 walk, 5 walkbare (4096 random walks a round over the
 * 4096 mapped pages; `len` is their range in bytes, a runtime value as the C
 * loop's is; returns the walks that ended on a present pte).
 */
export function run(kind: i32, rounds: i32, len: u64): u64 {
  let n: u64 = 0;
  if (kind >= 4) {
    const bare = kind == 5;
    let x = rng;
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < 4096; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        const va = VA_WALK + ((x % len) & ~4095);
        n += (bare ? walkBare(va) : walk(va)) & P_PRESENT;
      }
    }
    rng = x;
    return n;
  }
  // each case its own loop, pin and leaf constants in it, as cc's inlining has them
  if (kind == 0) return gupRounds(rounds, false, false);
  if (kind == 1) return gupRounds(rounds, true, false);
  if (kind == 2) return gupRounds(rounds, false, true);
  return gupRounds(rounds, true, true);
}

@inline function gupRounds(rounds: i32, pin: bool, leaf: bool): u64 {
  let n: u64 = 0;
  for (let r = 0; r < rounds; r++) {
    const got = gup(leaf ? VA_LEAF : VA_BASE, 512, pin, true);
    if (got != 512) return n;
    put(got, pin, leaf);
    n += <u64>got;
  }
  return n;
}
