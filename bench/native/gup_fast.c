// The native baseline for pgtemu's benchmarks: the same gup-fast algorithm
// over x86_64 4-level tables and 64-byte struct pages, in C with the
// compiler's atomics, so pgtemu's cost can be stated as a ratio to it.
//
// It follows pgtemu's (and mm/gup.c's) steps per base page: read the PTE once,
// check present/user/write/special, pfn_to_page, reject compound pages,
// try_get_folio as add-unless-zero (+GUP_PIN_COUNTING_BIAS for FOLL_PIN,
// +1 for FOLL_GET) with cmpxchg, re-read the PMD and the PTE, check the
// anon mapping, set PG_referenced once, note the operation in the page (as
// pgtemu's op log does), record the pfn. The release is unpin_user_pages'
// per page: page_folio, folio_put_refs (one atomic subtract, and the free
// test of its result), and the operation noted in the page. A 2 MiB leaf is
// one grab of 512 references (plus _pincount for a pin).
//
// A walk is four table reads, each table checked to be the one its entry
// linked before it is read (pgtemu's walk does: tables can be written raw),
// as a per-table parent word; `walkbare` is the same walk without that check.
//
// Driven over stdin/stdout by bench/native.js: each line "CASE ROUNDS" runs
// ROUNDS rounds of CASE and answers with the nanoseconds per unit, so the
// harness can interleave it with pgtemu's batches in one run.
//   get | pin      512 base pages, gup then release
//   getleaf | pinleaf   one 2 MiB leaf (512 subpages)
//   walk           4096 random walks over 4096 mapped pages (ns per walk)
//   walkbare       the same without the link check
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef uint64_t u64;
typedef int32_t i32;

// x86: _PAGE_BIT_PRESENT 0, RW 1, USER 2, ACCESSED 5, DIRTY 6, PSE 7, SPECIAL 9, NX 63
#define P_PRESENT (1ull << 0)
#define P_RW (1ull << 1)
#define P_USER (1ull << 2)
#define P_ACCESSED (1ull << 5)
#define P_DIRTY (1ull << 6)
#define P_PSE (1ull << 7)
#define P_SPECIAL (1ull << 9)
#define ADDR_MASK 0x000ffffffffff000ull
#define PG_head 6
#define PG_referenced 2
#define BIAS 1024

struct page {           // 64 bytes, as pgtemu's struct page
  u64 flags, compound_head, lru_prev, mapping, index, private_;
  i32 mapcount, refcount;
  u64 last_op;
};
struct folio1 { u64 flags1, head1; i32 large_mapcount, entire_mapcount, nr_pages_mapped, pincount; };

enum { NPAGES = 1 << 16 };          // 256 MiB of frames
static struct page *memmap;
static u64 *tables;                 // 4 KiB tables, indexed by "pa" >> 12
static u64 root;
static u64 out[512];

static u64 *table(u64 pa) { return tables + (pa >> 3); }
static uint32_t *parent;            // per table: the offset of the entry that links it
static u64 ntables = 1;
static u64 alloc_table(void) { return (ntables++) << 12; }

static u64 *walk_alloc(u64 va, int target) {
  u64 pa = root;
  for (int l = 0; l < target; l++) {
    u64 *e = table(pa) + ((va >> (39 - 9 * l)) & 511);
    if (!*e) {
      u64 t = alloc_table();
      parent[t >> 12] = (uint32_t)((e - tables) << 3);
      *e = t | P_PRESENT | P_RW | P_USER | P_ACCESSED | P_DIRTY;
    }
    pa = *e & ADDR_MASK;
  }
  return table(pa) + ((va >> (39 - 9 * target)) & 511);
}

static void map_page(u64 va, u64 pfn) {
  *walk_alloc(va, 3) = (pfn << 12) | P_PRESENT | P_RW | P_USER | P_ACCESSED | P_DIRTY;
  memmap[pfn].refcount = 1;
  memmap[pfn].mapping = 1 | (1 << 4);   // PAGE_MAPPING_ANON | mm id
}

static void map_leaf(u64 va, u64 pfn) {
  *walk_alloc(va, 2) = (pfn << 12) | P_PRESENT | P_RW | P_USER | P_ACCESSED | P_DIRTY | P_PSE;
  memmap[pfn].flags |= 1ull << PG_head;
  memmap[pfn].refcount = 1;
  memmap[pfn].mapping = 1 | (1 << 4);
  for (int i = 1; i < 512; i++) memmap[pfn + i].compound_head = (u64)&memmap[pfn] | 1;
}

static int try_add(i32 *rc, i32 n) {
  i32 c = __atomic_load_n(rc, __ATOMIC_RELAXED);
  do { if (c <= 0) return 0; } while (!__atomic_compare_exchange_n(rc, &c, c + n, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
  return 1;
}

// gup_fast_pte_range over one pte table
static int gup_ptes(u64 *pmdp, u64 pmd, u64 addr, int nr, int pin, int write) {
  u64 *pt = table(pmd & ADDR_MASK) + ((addr >> 12) & 511);
  i32 add = pin ? BIAS : 1;
  int got = 0;
  for (; got < nr; got++) {
    u64 pte = __atomic_load_n(pt + got, __ATOMIC_RELAXED);
    if ((pte & (P_PRESENT | P_USER)) != (P_PRESENT | P_USER) || (write && !(pte & P_RW)) || (pte & P_SPECIAL)) break;
    u64 pfn = (pte & ADDR_MASK) >> 12;
    if (pfn >= NPAGES) break;
    struct page *p = &memmap[pfn];
    if ((p->compound_head & 1) || (p->flags & (1ull << PG_head))) break;
    if (!try_add(&p->refcount, add)) break;
    u64 fl = __atomic_load_n(&p->flags, __ATOMIC_RELAXED);   // still an order-0 folio, with the reference held
    if ((fl & (1ull << PG_head)) || (__atomic_load_n(&p->compound_head, __ATOMIC_RELAXED) & 1) ||
        __atomic_load_n(pmdp, __ATOMIC_RELAXED) != pmd || __atomic_load_n(pt + got, __ATOMIC_RELAXED) != pte ||
        !(__atomic_load_n(&p->mapping, __ATOMIC_RELAXED) & 1)) {
      __atomic_fetch_sub(&p->refcount, add, __ATOMIC_SEQ_CST);
      break;
    }
    if (!(fl & (1ull << PG_referenced))) __atomic_fetch_or(&p->flags, 1ull << PG_referenced, __ATOMIC_SEQ_CST);
    p->last_op = 1;                  // pgtemu records the operation on the page
    out[got] = pfn;
  }
  return got;
}

static int gup(u64 addr, int nr, int pin, int write) {
  u64 pa = root, *e = 0, ent = 0;
  for (int l = 0; l < 3; l++) {
    e = table(pa) + ((addr >> (39 - 9 * l)) & 511);
    ent = __atomic_load_n(e, __ATOMIC_RELAXED);
    if (!(ent & P_PRESENT)) return 0;
    if (l == 2 && (ent & P_PSE)) {   // gup_fast_pmd_leaf: one grab for every subpage
      if (write && !(ent & P_RW)) return 0;
      u64 pfn = (ent & ADDR_MASK & ~0x1fffffull) >> 12;
      struct page *f = &memmap[pfn];
      if (!try_add(&f->refcount, nr)) return 0;
      if (__atomic_load_n(e, __ATOMIC_RELAXED) != ent) { __atomic_fetch_sub(&f->refcount, nr, __ATOMIC_SEQ_CST); return 0; }
      if (pin) __atomic_fetch_add(&((struct folio1 *)(f + 1))->pincount, nr, __ATOMIC_SEQ_CST);
      for (int i = 0; i < nr; i++) out[i] = pfn + i;
      return nr;
    }
    pa = ent & ADDR_MASK;
  }
  return gup_ptes(e, ent, addr, nr, pin, write);
}

static u64 freed;                   // folios a release brought to zero (none here)
static struct page *page_folio(struct page *p) {
  u64 h = __atomic_load_n(&p->compound_head, __ATOMIC_RELAXED);
  return (h & 1) ? (struct page *)(h - 1) : p;
}

static void put(int nr, int pin, int leaf) {
  if (leaf) {                        // one gup_put_folio for the run of one folio
    struct page *f = page_folio(&memmap[out[0]]);
    if (pin) __atomic_fetch_sub(&((struct folio1 *)(f + 1))->pincount, nr, __ATOMIC_SEQ_CST);
    if (__atomic_sub_fetch(&f->refcount, nr, __ATOMIC_SEQ_CST) == 0) freed++;
    f->last_op = 2;
    return;
  }
  i32 sub = pin ? BIAS : 1;
  for (int i = 0; i < nr; i++) {
    struct page *f = page_folio(&memmap[out[i]]);
    if (__atomic_sub_fetch(&f->refcount, sub, __ATOMIC_SEQ_CST) == 0) freed++;
    f->last_op = 2;                  // pgtemu records the operation on the page
  }
}

static u64 walk(u64 va) {
  u64 pa = root, e = 0;
  for (int l = 0; l < 4; l++) {
    u64 *p = table(pa) + ((va >> (39 - 9 * l)) & 511);
    e = __atomic_load_n(p, __ATOMIC_RELAXED);
    if (!(e & P_PRESENT) || (l == 2 && (e & P_PSE)) || l == 3) return e;
    pa = e & ADDR_MASK;
    if (pa >= (4096ull << 12) || parent[pa >> 12] != (uint32_t)((p - tables) << 3)) return 0;   // not the table it linked
  }
  return e;
}

static u64 walk_bare(u64 va) {
  u64 pa = root, e = 0;
  for (int l = 0; l < 4; l++) {
    e = __atomic_load_n(table(pa) + ((va >> (39 - 9 * l)) & 511), __ATOMIC_RELAXED);
    if (!(e & P_PRESENT) || (l == 2 && (e & P_PSE))) return e;
    pa = e & ADDR_MASK;
  }
  return e;
}

static double now_ns(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }

int main(void) {
  memmap = calloc(NPAGES + 1024, sizeof(struct page));
  tables = calloc(4096, 4096);
  parent = calloc(4096, sizeof *parent);
  if (!memmap || !tables || !parent) return 1;
  root = alloc_table();
  const u64 base = 1ull << 32, leafva = 1ull << 33, walkva = 1ull << 34;
  for (u64 i = 0; i < 512; i++) map_page(base + (i << 12), 4096 + i);
  map_leaf(leafva, 8192);
  for (u64 i = 0; i < 4096; i++) map_page(walkva + (i << 12), 16384 + i);
  char kind[16];
  long rounds;
  u64 x = 0x9e3779b97f4a7c15ull, acc = 0;
  // the walks' range, not a constant the compiler could fold into a mask: the
  // core's walk loop divides by its range too
  volatile u64 lenvol = 4096ull << 12;
  const u64 lenv = lenvol;
  setvbuf(stdout, 0, _IOLBF, 0);
  while (scanf("%15s %ld", kind, &rounds) == 2) {
    int pin = kind[0] == 'p', leaf = strstr(kind, "leaf") != 0;
    double t0 = now_ns(), units;
    if (!strcmp(kind, "walk") || !strcmp(kind, "walkbare")) {
      int bare = kind[4] == 'b';
      for (long r = 0; r < rounds; r++)
        for (int i = 0; i < 4096; i++) {
          x ^= x << 13; x ^= x >> 7; x ^= x << 17;
          u64 va = walkva + ((x % lenv) & ~4095ull);
          acc ^= bare ? walk_bare(va) : walk(va);
        }
      units = 4096.0 * rounds;
    } else {
      for (long r = 0; r < rounds; r++) {
        int got = gup(leaf ? leafva : base, 512, pin, 1);
        if (got != 512) { fprintf(stderr, "gup took %d\n", got); return 1; }
        put(got, pin, leaf);
      }
      units = 512.0 * rounds;
    }
    printf("%.4f %llu\n", (now_ns() - t0) / units, (unsigned long long)((acc ^ freed) & 1));
  }
  return 0;
}
