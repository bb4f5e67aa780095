// Physical memory (assembly/mem.ts), in the model's own terms: a record per
// struct page in use, the folio's counts in an object of their own, and one
// buddy allocator over plain numbers for RAM frames and another for the table
// pool, whose tables are Maps of entries.
//
// The allocators are here for what their choices decide, not for the numbers
// they hand out: which order-9 block is still whole decides a THP fault's
// fallback and ENOMEM, which pool block is free decides ENOTABLE when tables
// of several sizes share the pool. Nothing compares a pfn or a table address
// of the model with the machine's (test/helpers/ref-compare.ts pairs the
// pages by the addresses that map them), and to keep it so the model numbers
// its RAM above the zero page from a base of its own (frameBase), far from
// the machine's pfns.
import { PG_head, PG_reserved } from '../../src/host/consts.gen.js';
import type { RefMm } from './mm.js';

/** struct folio's counts (the kernel keeps them in page[1]; here they are the folio's). */
export interface RefFolio {
  order: number;
  largeMapcount: number;       // _large_mapcount, -1-based
  entireMapcount: number;      // _entire_mapcount, -1-based
  nrPagesMapped: number;       // _nr_pages_mapped
  pincount: number;            // _pincount
  hugetlb: boolean;            // page_type PGTY_hugetlb (the head's _mapcount word holds it)
}

/** One struct page in use (or reserved); a pfn without a record is a free or never used frame. */
export class RefPage {
  flags = 0;                   // PG_* bits (the section number above them is not modelled)
  refcount = 0;
  mapcount = -1;               // _mapcount, -1-based
  head = -1;                   // compound_head: the head's pfn when this is a tail
  folio: RefFolio | null = null;   // a large folio's head: its counts
  anon: RefMm | null = null;   // an anon folio's head: page->mapping, the address space it was faulted into
  lastOp = 0;                  // the last operation that touched the page (0: none since it left the allocator)
}
const CLEAN: Readonly<RefPage> = Object.freeze(new RefPage());

/**
 * A buddy allocator over [lo, hi) in units of `unit` (mm/page_alloc.c v6.12:
 * __rmqueue_smallest takes the first block on the list of the smallest order
 * that has one, expand() puts the upper halves back at the heads of their
 * lists, __free_one_page merges with a free buddy of the same order). As the
 * core does, a freed block always goes to the head of its list (the kernel
 * may put it at the tail: buddy_merge_likely).
 */
export class Buddy {
  /** per order, the heads of the free blocks; a list's head is its last element */
  private readonly lists: number[][];
  /** head of each free block -> its order */
  private readonly freeOrder = new Map<number, number>();
  /** units free */
  free = 0;

  constructor(readonly lo: number, readonly hi: number, readonly unit: number, readonly maxOrder: number) {
    this.lists = Array.from({ length: maxOrder + 1 }, () => []);
    // the largest aligned blocks that fit (the core's zoneInit / poolInit)
    let a = lo;
    while (a < hi) {
      let o = maxOrder;
      while (o > 0 && (a % this.size(o) !== 0 || a + this.size(o) > hi)) o--;
      this.add(o, a);
      this.free += 2 ** o;
      a += this.size(o);
    }
  }

  private size(o: number): number { return this.unit * 2 ** o; }
  private add(o: number, a: number): void { this.lists[o].push(a); this.freeOrder.set(a, o); }
  private del(o: number, a: number): void {
    const l = this.lists[o];
    l.splice(l.lastIndexOf(a), 1);
    this.freeOrder.delete(a);
  }

  /** A block of 2^order units; -1 when none is free. */
  alloc(order: number): number {
    let o = order;
    while (o <= this.maxOrder && this.lists[o].length === 0) o++;
    if (o > this.maxOrder) return -1;
    const a = this.lists[o][this.lists[o].length - 1];
    this.del(o, a);
    while (o > order) {            // expand()
      o--;
      this.add(o, a + this.size(o));
    }
    this.free -= 2 ** order;
    return a;
  }

  release(a: number, order: number): void {
    this.free += 2 ** order;
    while (order < this.maxOrder) {
      const size = this.size(order);
      const b = Math.floor(a / size) % 2 === 0 ? a + size : a - size;
      if (b < this.lo || b + size > this.hi || this.freeOrder.get(b) !== order) break;
      this.del(order, b);
      if (b < a) a = b;
      order++;
    }
    this.add(order, a);
  }
}

/** The struct pages, the RAM frames and the table pool of a machine. */
export class Memory {
  /** struct pages with something in them */
  readonly pages = new Map<number, RefPage>();
  /** where the model's RAM above the zero page is numbered from: a power of two above every block's order and the machine's memmap */
  readonly frameBase: number;
  /** pfns [frameBase + zeroPfn + 1, memmapEnd) have a struct page (whole sections of RAM), and [0, zeroPfn] */
  readonly memmapEnd: number;
  /** the RAM frames the page allocator hands out (pfns) */
  readonly zone: Buddy;
  /** the table pool (byte offsets) */
  readonly pool: Buddy;
  /** every table in use: its entries, and the operation that made it (free_pgtables' "only what this failed operation built") */
  readonly tables = new Map<number, { entries: bigint[]; gen: number }>();
  readonly zeroPfn: number;
  readonly zeroPfnB: bigint;
  /** the pfns with a struct page, as bigints: [0, zeroPfn] and [zone.lo, memmapEnd) */
  private readonly ranges: readonly [bigint, bigint, bigint];

  /**
   * The machine's plan (assembly/index.ts machineInit): the pool's frames and
   * then the zero page are reserved with one reference each; the zone is the
   * rest of RAM (here from frameBase on: the same blocks, aligned alike, under
   * other numbers); the pool hands out [max(page, largest table), poolBytes).
   */
  constructor(p: { ramPfns: number; sectionPfns: number; pageShift: number; poolBytes: number; tableSizes: number[]; maxOrder: number }) {
    const memmap = Math.ceil(p.ramPfns / p.sectionPfns) * p.sectionPfns;
    this.frameBase = 2 ** Math.max(p.maxOrder + 1, Math.ceil(Math.log2(memmap)) + 1);
    this.memmapEnd = this.frameBase + memmap;
    const poolPfns = p.poolBytes >> p.pageShift;
    for (let pfn = 0; pfn <= poolPfns; pfn++) {
      const pg = this.pg(pfn);
      pg.flags |= 1 << PG_reserved;
      pg.refcount = 1;
    }
    this.zeroPfn = poolPfns;
    this.zeroPfnB = BigInt(poolPfns);
    this.zone = new Buddy(this.frameBase + poolPfns + 1, this.frameBase + p.ramPfns, 1, p.maxOrder);
    const minTable = Math.min(...p.tableSizes), maxTable = Math.max(...p.tableSizes);
    this.ranges = [this.zeroPfnB, BigInt(this.zone.lo), BigInt(this.memmapEnd)];
    this.pool = new Buddy(Math.max(1 << p.pageShift, maxTable), p.poolBytes, minTable, Math.log2(maxTable / minTable));
  }

  // ---------------------------------------------------------------- struct pages
  /** The record of pfn, made if it has none. */
  pg(pfn: number): RefPage {
    let p = this.pages.get(pfn);
    if (!p) { p = new RefPage(); this.pages.set(pfn, p); }
    return p;
  }
  /** The record of pfn, or a clean page. */
  peek(pfn: number): Readonly<RefPage> { return this.pages.get(pfn) ?? CLEAN; }

  /** pfn_to_page: the pfn as a page number, or -1 without a struct page. */
  pfnToPage(pfn: bigint): number {
    const [zero, lo, end] = this.ranges;
    return (pfn >= 0n && pfn <= zero) || (pfn >= lo && pfn < end) ? Number(pfn) : -1;
  }
  /** page_folio */
  folioOf(pfn: number): number {
    const h = this.peek(pfn).head;
    return h >= 0 ? h : pfn;
  }
  testFlag(pfn: number, bit: number): boolean { return (this.peek(pfn).flags & (1 << bit)) !== 0; }
  large(folio: number): boolean { return this.testFlag(folio, PG_head); }
  /** The counts of a large folio (its head must be one). */
  folio(head: number): RefFolio { return this.peek(head).folio!; }
  folioOrder(folio: number): number { return this.large(folio) ? this.folio(folio).order : 0; }
  isZeroFolio(folio: number): boolean { return folio === this.zeroPfn; }

  /** prep_compound_page: tails point at the head, the head gets the folio's counts. */
  prepCompound(head: number, order: number): void {
    if (order === 0) return;
    for (let i = 1; i < 2 ** order; i++) {
      const t = this.pg(head + i);
      t.head = head;
      t.mapcount = -1;
      t.refcount = 0;
    }
    this.pg(head).flags |= 1 << PG_head;
    this.pg(head).folio = { order, largeMapcount: -1, entireMapcount: -1, nrPagesMapped: 0, pincount: 0, hugetlb: false };
  }

  // ---------------------------------------------------------------- RAM frames
  /** alloc_pages: 2^order frames, the head with one reference (set_page_refcounted); -1 when none. */
  allocPages(order: number): number {
    if (order > this.zone.maxOrder) return -1;
    const pfn = this.zone.alloc(order);
    if (pfn < 0) return -1;
    for (let i = 0; i < 2 ** order; i++) this.pages.delete(pfn + i);
    this.pg(pfn).refcount = 1;
    return pfn;
  }

  /** free_pages_prepare and __free_pages_ok: the struct pages forget the folio, the frames go back. */
  freePages(pfn: number, order: number): void {
    for (let i = 0; i < 2 ** order; i++) this.pages.delete(pfn + i);
    this.zone.release(pfn, order);
  }

  // ---------------------------------------------------------------- table pool
  /** A table of tableBytes, every entry `empty`, made by operation gen; -1 when the pool is exhausted. */
  allocTable(tableBytes: number, entries: number, empty: bigint, gen: number): number {
    const pa = this.pool.alloc(Math.log2(tableBytes / this.pool.unit));
    if (pa < 0) return -1;
    this.tables.set(pa, { entries: new Array<bigint>(entries).fill(empty), gen });
    return pa;
  }

  freeTableAt(pa: number, tableBytes: number): void {
    this.tables.delete(pa);
    this.pool.release(pa, Math.log2(tableBytes / this.pool.unit));
  }

  /** The entries of the table at pa. */
  table(pa: number): bigint[] {
    const t = this.tables.get(pa);
    if (!t) throw new Error(`reference: no table at ${pa}`);
    return t.entries;
  }
}
