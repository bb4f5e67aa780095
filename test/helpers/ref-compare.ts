// Comparing a Machine with the reference model (test/reference) by what both
// show, not by how either lays it out: operation results and error codes,
// statistics, walks, the entries of the tables (their links and frame
// numbers aside), and the struct pages read in bulk (Machine.pages). The
// model's frames and table offsets are its own: its pages are paired with the
// machine's by the addresses that map them (and by the gup results that hold
// them), folio by folio, and compared through that pairing; the pages nothing
// maps or holds are compared as multisets.
import { decodeEntry, decodeLeafPa, decodeTablePa, type LevelDescriptor } from '../../src/host/archdesc.js';
import { NAMES, PAGE_MAPPING_ANON, PG_reserved } from '../../src/host/consts.gen.js';
import type { GupResult, Machine, MachineStats, Mm, PageArrays, WalkResult } from '../../src/index.js';
import type { RefGupResult, RefMachine, RefMm, RefStats, RefWalkResult } from '../reference/index.js';

export const show = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x));

function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (!equal((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  return true;
}

export class Divergence extends Error {}
export function same(what: string | (() => string), a: unknown, b: unknown): void {
  if (equal(a, b)) return;
  throw new Divergence(`${typeof what === 'string' ? what : what()}:\n  machine:   ${show(a)}\n  reference: ${show(b)}`);
}

/** A gup result but its pfns (compared through the pairing: comparePfns). */
export const gupView = (g: GupResult | RefGupResult) => ({ nr: g.nr, ret: g.ret, errno: g.errno, fast: g.fast, flags: g.flags, pin: g.pin });

/**
 * Statistics: every counter; of the zone and the huge zero folio not where
 * they are (the model numbers its frames its own way), only their size and
 * whether there is one.
 */
export function statsView(s: MachineStats | RefStats) {
  return [s.freePages, s.totalPages, s.poolFreeBytes, s.poolBytes, s.gupOutstanding, s.pinOutstanding,
    s.tlbFlushes, s.tablesFreed, s.faults, s.gupFastPages, s.gupSlowPages, s.gupFastBails, s.hugeZeroPfn !== undefined];
}

// ---------------------------------------------------------------- pages
/** What a struct page says, with no pfn in it: a tail by its place in its folio, an anon folio by its address space. */
interface PageView {
  refcount: number;
  /** _mapcount (-1-based), or the page type its word holds */
  mapcount: number | string;
  /** PG_* bits; not of page[1] of a large folio, whose flags word is the folio's (_flags_1: its order) */
  flags?: number;
  /** a tail's index in its folio */
  tail?: number;
  /** a large folio's counts, on its head */
  folio?: { order: number; pincount: number; entireMapcount: number; largeMapcount: number; nrPagesMapped: number };
  /** page->mapping of a head or small page: the machine's word, the model's address-space slot; compared through the pairing */
  mapping?: bigint | number | null;
  lastOp: number;
}

/** page_type's names (PGTY_*) */
const PAGE_TYPES = NAMES.PGTY as Readonly<Record<number, { name: string }>>;

function coreView(a: PageArrays, i: number): PageView {
  const raw = a.mapcount[i];
  const v: PageView = {
    refcount: a.refcount[i],
    // a count is never below -1 (unmapped): below it, the word holds a page type (PGTY_*)
    mapcount: raw < -1 ? PAGE_TYPES[raw >>> 24]?.name ?? `type ${raw >>> 24}` : raw,
    lastOp: a.lastOp[i],
  };
  if (a.tail[i]) {
    v.tail = i - a.head[i];
    if (v.tail !== 1) v.flags = a.flags[i];
  } else {
    v.flags = a.flags[i];
    const m = a.mapping[i];
    v.mapping = m === 0n ? null : m;
    if (a.order[i] > 0) {
      v.folio = { order: a.order[i], pincount: a.pincount[i], entireMapcount: a.entireMapcount[i], largeMapcount: a.largeMapcount[i], nrPagesMapped: a.nrPagesMapped[i] };
    }
  }
  return v;
}

function refView(r: RefMachine, pfn: number): PageView {
  const p = r.peek(pfn);
  const v: PageView = { refcount: p.refcount, mapcount: p.folio?.hugetlb ? 'hugetlb' : p.mapcount, lastOp: p.lastOp };
  if (p.head >= 0) {
    v.tail = pfn - p.head;
    if (v.tail !== 1) v.flags = p.flags;
  } else {
    v.flags = p.flags;
    v.mapping = p.anon ? p.anon.slot : null;
    const f = p.folio;
    if (f) v.folio = { order: f.order, pincount: f.pincount, entireMapcount: f.entireMapcount, largeMapcount: f.largeMapcount, nrPagesMapped: f.nrPagesMapped };
  }
  return v;
}

const coreFree = (a: PageArrays, i: number) => !a.tail[i] && a.refcount[i] === 0 && !a.reserved[i];
const refFree = (r: RefMachine, pfn: number) => {
  const p = r.peek(pfn);
  return p.head < 0 && p.refcount === 0 && (p.flags & (1 << PG_reserved)) === 0;
};

/**
 * The machine's pages paired with the model's: the table-pool frames and the
 * zero page by number (both machines put them at the bottom of RAM), the huge
 * zero folio, then every page a table maps or a live gup result holds, its
 * whole folio with it.
 */
export class Pairing {
  readonly a: PageArrays;
  /** the zero page's pfn: it and the table pool's frames below it pair with the same pfn */
  private readonly fixed: number;
  private readonly c2r = new Map<number, number>();
  private readonly r2c = new Map<number, number>();
  /** the machine's anon page->mapping words and the model's address-space slots */
  private readonly mmC2R = new Map<bigint, number>();
  private readonly mmR2C = new Map<number, bigint>();

  constructor(readonly m: Machine, readonly r: RefMachine) {
    this.a = m.pages(0, Number(m.ramPfns));
    this.fixed = Number(m.stats().zoneStartPfn) - 1;
    same('the zero page', this.fixed, r.zeroPfn);
    const hz = m.stats().hugeZeroPfn, rhz = r.stats().hugeZeroPfn;
    same('a huge zero folio', hz !== undefined, rhz !== undefined);
    if (hz !== undefined && rhz !== undefined) this.pair(Number(hz), Number(rhz), () => 'the huge zero folio');
  }

  private link(c: number, r: number, what: () => string): void {
    if (c <= this.fixed || r <= this.fixed) {
      if (c !== r) throw new Divergence(`${what()}: machine pfn ${c} pairs with model pfn ${r}, but the table pool and the zero page are the same frames in both`);
      return;
    }
    const rc = this.c2r.get(c), cr = this.r2c.get(r);
    if (rc === r && cr === c) return;
    if (rc !== undefined || cr !== undefined) {
      throw new Divergence(`${what()}: machine pfn ${c} pairs with model pfn ${r}, but ${rc !== undefined ? `it was paired with model pfn ${rc}` : `model pfn ${r} with machine pfn ${cr}`}`);
    }
    this.c2r.set(c, r);
    this.r2c.set(r, c);
  }

  /** Pair machine page c with model page r, and their folios page for page. */
  pair(c: number, r: number, what: () => string): void {
    const a = this.a;
    if (c >= a.length) throw new Divergence(`${what()}: machine pfn ${c} is not RAM`);
    const hc = a.tail[c] ? a.head[c] : c, oc = a.order[hc];
    const hr = this.r.folioOf(r), or = this.r.folioOrder(hr);
    if (c - hc !== r - hr || oc !== or) {
      throw new Divergence(`${what()}: machine pfn ${c} is page ${c - hc} of an order-${oc} folio, model pfn ${r} page ${r - hr} of an order-${or} folio`);
    }
    for (let k = 0; k < 2 ** oc; k++) this.link(hc + k, hr + k, what);
  }

  /** The model page paired with machine page c, if any. */
  toModel(c: number): number | undefined { return c <= this.fixed ? c : this.c2r.get(c); }

  private sameMapping(what: () => string, c: bigint | number | null | undefined, r: bigint | number | null | undefined): void {
    if (c === undefined || r === undefined || c === null || r === null) { same(() => `${what()}: page->mapping`, c ?? null, r ?? null); return; }
    if (typeof c !== 'bigint' || (c & PAGE_MAPPING_ANON) === 0n) throw new Divergence(`${what()}: page->mapping ${show(c)} is not an anon mapping`);
    const rc = this.mmC2R.get(c), cr = this.mmR2C.get(r as number);
    if (rc === undefined && cr === undefined) { this.mmC2R.set(c, r as number); this.mmR2C.set(r as number, c); return; }
    if (rc !== r || cr !== c) throw new Divergence(`${what()}: page->mapping ${show(c)} stands for address space ${rc}, the model's is ${r}`);
  }

  /** One pair's views: equal, a tail's lastOp aside when the model's folio has not touched it (the machine's is the frame's history). */
  private compareViews(what: () => string, vc: PageView, vr: PageView): void {
    const { mapping: mc, lastOp: lc, ...rc } = vc;
    const { mapping: mr, lastOp: lr, ...rr } = vr;
    same(what, rc, rr);
    this.sameMapping(what, mc, mr);
    if (vr.tail === undefined || lr !== 0) same(() => `${what()}: lastOp`, lc, lr);
  }

  /** One machine page and the model's page for it: paired, or both free. */
  comparePage(what: string, c: number): void {
    const r = this.toModel(c);
    if (r === undefined) {
      if (!coreFree(this.a, c)) throw new Divergence(`${what}: machine pfn ${c} is in use (${show(coreView(this.a, c))}) but nothing maps or holds it`);
      return;
    }
    this.compareViews(() => `${what}: machine pfn ${c}, model pfn ${r}`, coreView(this.a, c), refView(this.r, r));
  }

  /**
   * Every pair's pages; then the pages nothing pairs: the machine's and the
   * model's as multisets (free pages by their number).
   */
  compareAll(when: string): void {
    const a = this.a, r = this.r;
    for (let c = 0; c <= this.fixed; c++) this.compareViews(() => `${when}: pfn ${c} (the table pool, the zero page)`, coreView(a, c), refView(r, c));
    for (const [c, rp] of this.c2r) this.compareViews(() => `${when}: machine pfn ${c}, model pfn ${rp}`, coreView(a, c), refView(r, rp));
    const rest = (v: PageView) => { const { lastOp: _l, mapping, ...x } = v; return show({ ...x, anon: mapping !== null && mapping !== undefined }); };
    const bag = (keys: string[]) => keys.sort().join('\n');
    let freeC = 0, freeR = 0;
    const usedC: string[] = [], usedR: string[] = [];
    for (let i = this.fixed + 1; i < a.length; i++) {
      if (this.c2r.has(i)) continue;
      if (coreFree(a, i)) freeC++; else usedC.push(rest(coreView(a, i)));
    }
    // the rest of the model's frames: its zone
    for (let pfn = r.zone.lo; pfn < r.zone.hi; pfn++) {
      if (this.r2c.has(pfn)) continue;
      if (refFree(r, pfn)) freeR++; else usedR.push(rest(refView(r, pfn)));
    }
    same(`${when}: free pages nothing maps or holds`, freeC, freeR);
    same(`${when}: pages in use that nothing maps or holds`, bag(usedC), bag(usedR));
  }
}

// ---------------------------------------------------------------- tables and walks
/** A level's entry without the address it links or maps. */
function unaddressed(lv: LevelDescriptor, e: bigint, table: boolean): bigint {
  return e & ~(table ? lv.tableAddr.mask : lv.leafAddr.mask);
}

/** Whether a present leaf maps a page the pairing follows (not special, inside RAM), or a number both must agree on. */
function pairedLeaf(m: Machine, special: boolean, pfn: bigint): boolean {
  return !special && pfn < m.ramPfns;
}

/**
 * The machine's tables under root and the model's under rroot, entry by
 * entry over [lo, hi): the same entries but for their links and frames; the
 * tables they link, likewise; every page a leaf maps paired with the model's.
 */
export function compareTables(p: Pairing, root: bigint, rroot: bigint, when: string, lo = 0n, hi?: bigint): void {
  const { m, r } = p;
  const d = m.desc, ps = BigInt(d.pageShift);
  const visit = (l: number, pa: bigint, rpa: bigint, base: bigint) => {
    const lv = d.levels[l];
    const size = 1n << BigInt(lv.shift), span = size << BigInt(lv.indexBits);
    const from = lo > base ? lo : base, to = hi === undefined || hi > base + span ? base + span : hi;
    if (from >= to) return;
    const bytes = m.readPhys(pa, lv.tableBytes);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const ref = r.tableEntries(rpa);
    if (!ref) throw new Divergence(`${when}: the model has no table at its ${rpa} (level ${l})`);
    // empty entries (most of them) compared as two 32-bit words, without a bigint
    const le = !d.bigEndian, empty = lv.empty;
    const e0 = Number(BigInt.asUintN(32, le ? empty : empty >> 32n)), e1 = Number(BigInt.asUintN(32, le ? empty >> 32n : empty));
    const i0 = Number((from - base) / size), i1 = Number((to - base - 1n) / size);
    for (let i = i0; i <= i1; i++) {
      const er = ref[i];
      if (er === empty && dv.getUint32(i * 8, le) === e0 && dv.getUint32(i * 8 + 4, le) === e1) continue;
      const ec = dv.getBigUint64(i * 8, le);
      const va = base + BigInt(i) * size;
      const what = () => `${when}: level-${l} entry ${i} (va ${va})`;
      const fc = decodeEntry(lv, ec), fr = decodeEntry(lv, er);
      same(() => `${what()}: what it is`, fc, fr);
      if (fr.table) {
        same(() => `${what()}: a table link's bits`, unaddressed(lv, ec, true), unaddressed(lv, er, true));
        visit(l + 1, decodeTablePa(lv, ec), decodeTablePa(lv, er), va);
      } else if (fr.leaf) {
        same(() => `${what()}: a leaf's bits`, unaddressed(lv, ec, false), unaddressed(lv, er, false));
        const pc = decodeLeafPa(lv, ec) >> ps, pr = decodeLeafPa(lv, er) >> ps;
        if (pairedLeaf(m, fc.special, pc)) p.pair(Number(pc), Number(pr), what);
        else same(() => `${what()}: the pfn it maps`, pc, pr);
      } else {
        same(what, ec, er);
      }
    }
  };
  visit(0, root, rroot, 0n);
}

/**
 * A walk's result, its addresses through the pairing: the model's pfn for a
 * page the machine maps, the number itself for anything else; where the entry
 * lives is neither's business.
 */
function walkView(w: WalkResult | RefWalkResult, lv: LevelDescriptor, pageShift: number, pfn: bigint | undefined) {
  const leaf = w.status === 'ok';
  return {
    level: w.level, name: w.levelName, status: w.status, flags: w.flags, size: w.size,
    entry: leaf ? unaddressed(lv, w.entry, false) : w.entry,
    offset: w.pa === undefined ? undefined : w.pa & ((1n << BigInt(pageShift)) - 1n),
    pfn,
  };
}

/** Machine.walk and the model's walk of one address, compared through the pairing. */
export function compareWalk(p: Pairing, mm: Mm, rm: RefMm, va: bigint, what: () => string): WalkResult {
  const w = p.m.walk(mm, va), rw = p.r.walk(rm, va);
  const lv = p.m.desc.levels[w.level] ?? p.m.desc.levels[0];
  let pfn = w.pfn;
  if (pfn !== undefined && pairedLeaf(p.m, w.flags.special, pfn)) {
    const t = p.toModel(Number(pfn));
    if (t === undefined) throw new Divergence(`${what()}: the machine maps pfn ${pfn}, which no table comparison paired`);
    pfn = BigInt(t);
  }
  // field by field first (the end-of-sequence walks are many); the views only to report a difference
  const f = w.flags, rf = rw.flags;
  const leaf = w.status === 'ok';
  const mask = (1n << BigInt(p.m.desc.pageShift)) - 1n;
  if (w.level === rw.level && w.status === rw.status && w.size === rw.size && pfn === rw.pfn &&
      (w.pa === undefined ? rw.pa === undefined : rw.pa !== undefined && (w.pa & mask) === (rw.pa & mask)) &&
      (leaf ? unaddressed(lv, w.entry, false) === unaddressed(lv, rw.entry, false) : w.entry === rw.entry) &&
      f.present === rf.present && f.table === rf.table && f.leaf === rf.leaf && f.write === rf.write && f.user === rf.user && f.young === rf.young &&
      f.dirty === rf.dirty && f.special === rf.special && f.devmap === rf.devmap && f.protnone === rf.protnone && w.levelName === rw.levelName) return w;
  const ps = p.m.desc.pageShift;
  same(what, walkView(w, lv, ps, pfn), walkView(rw, p.r.desc.levels[rw.level] ?? lv, ps, rw.pfn));
  return w;
}

/**
 * The pages of a gup result against the model's: each the page the same
 * address maps in each (the tables of [start, start + nr pages) are compared
 * and paired), so the same folios, at the same places in them.
 */
export function comparePfns(p: Pairing, mm: Mm, rm: RefMm, g: GupResult, rg: RefGupResult, start: bigint, what: () => string): void {
  same(() => `${what()}: pages`, g.nr, rg.nr);
  if (g.nr === 0) return;
  const ps = BigInt(p.m.desc.pageShift);
  compareTables(p, mm.rootPa, rm.rootPa, what(), start, start + (BigInt(g.nr) << ps));
  for (let i = 0; i < g.nr; i++) {
    const c = Number(g.pfns[i]), r = Number(rg.pfns[i]);
    const t = p.toModel(c);
    if (t !== r) throw new Divergence(`${what()}: page ${i} is machine pfn ${c} and model pfn ${r}, but the address that maps it pairs pfn ${c} with ${t}`);
  }
}
