// zap_page_range with an mmu_gather (assembly/zap.ts; mm/memory.c,
// mm/mmu_gather.c v6.12), and free_pgtables for unmap: clear entries and drop
// the rmap, then, at each flush, drop the mappings' folio references and free
// the tables that became empty.
import { E_INVAL, E_NOTABLE, E_SPLIT, GATHER_PAGES, GATHER_TABLES, KIND_HUGETLB, OK, W_OK } from '../../src/host/consts.gen.js';
import { isHugeZeroPfn } from './folio.js';
import type { RefMachine } from './machine.js';
import { splitHugeZeroPmd, type RefMm } from './mm.js';
import { folioPutRefs, folioRemoveRmapPmd, folioRemoveRmapPte, hugetlbRemoveRmap } from './refcount.js';
import { rd, walkFrom, wr, type Slot } from './walk.js';

/** What one zapRange does. */
export interface ZapArgs {
  /** free the tables that become empty (free_pgtables) */
  freeTables: boolean;
  /** only tables made by this operation (0: any) */
  onlyGen: number;
  /** clear the leaves (false: only free empty tables) */
  zapLeaves: boolean;
  op: number;
  /** free_pgd_range's floor and ceiling (0: none) */
  floor?: bigint;
  ceiling?: bigint;
  /** tables made by this operation go even outside floor and ceiling (munmap after a failed populate) */
  alsoGen?: number;
}

/** The mmu_gather of one zap. */
interface Gather extends ZapArgs { mm: RefMm; pages: { folio: number; refs: number }[]; tables: { l: number; pa: number }[]; cleared?: boolean }

function tlbFlushMmu(m: RefMachine, g: Gather): void {
  // tlb->end: any present entry cleared needs the flush, a page held or not (tlb_remove_tlb_entry)
  if (g.pages.length === 0 && g.tables.length === 0 && !g.cleared) return;
  g.cleared = false;
  m.stat.tlbFlushes++;
  const pages = g.pages;
  g.pages = [];
  for (const q of pages) folioPutRefs(m, q.folio, q.refs);
  const tabs = g.tables;
  g.tables = [];
  for (const t of tabs) m.freeTable(t.l, t.pa);
}

/** __tlb_remove_folio_pages: consecutive removals of one folio share a slot */
function tlbRemoveFolio(m: RefMachine, g: Gather, folio: number): void {
  const n = g.pages.length;
  if (n > 0 && g.pages[n - 1].folio === folio) { g.pages[n - 1].refs++; return; }
  if (n === GATHER_PAGES) tlbFlushMmu(m, g);
  g.pages.push({ folio, refs: 1 });
}

function tlbRemoveTable(m: RefMachine, g: Gather, l: number, pa: number): void {
  if (g.tables.length === GATHER_TABLES) tlbFlushMmu(m, g);
  g.tables.push({ l, pa });
}

function zapLeaf(m: RefMachine, g: Gather, l: number, s: Slot): void {
  const d = m.L[l];
  const e = rd(m, s);
  wr(m, s, d.empty);                               // ptep_get_and_clear_full
  if (!d.isPresent(e)) return;
  g.cleared = true;
  if (d.pred('special', e) || d.pred('devmap', e)) return;
  const pfn = d.leafPa(e) >> m.psB;
  // the zero pfn without a special bit; the huge zero PMD
  if (d.isLast ? pfn === m.zeroPfnB : isHugeZeroPfn(m, pfn)) return;
  const page = m.pfnToPage(pfn);
  if (page < 0) return;
  const folio = m.folioOf(page);
  if (l === m.n - 1) {
    folioRemoveRmapPte(m, folio, page);
    g.mm.rssAnon -= 1;
  } else if (!m.folio(folio).hugetlb) {
    folioRemoveRmapPmd(m, folio);
    g.mm.rssAnon -= 2 ** (d.shift - m.ps);
  } else {
    hugetlbRemoveRmap(m, folio);
    g.mm.hugetlbPages -= 2 ** (d.shift - m.ps);   // hugetlb_count_sub
  }
  m.pg(folio).lastOp = g.op;
  tlbRemoveFolio(m, g, folio);
}

function tableEmpty(m: RefMachine, l: number, pa: number): boolean {
  const d = m.L[l];
  for (const e of m.table(pa)) if (!d.isNone(e)) return false;
  return true;
}

function zapLevel(m: RefMachine, g: Gather, l: number, tpa: number, addr: bigint, end: bigint): void {
  const d = m.L[l];
  const floor = g.floor ?? 0n, ceiling = g.ceiling ?? 0n, alsoGen = g.alsoGen ?? 0;
  let i = d.index(addr);
  do {
    const next = d.addrEnd(addr, end);
    const s = { pa: tpa, i };
    const e = rd(m, s);
    if (!d.isNone(e)) {
      if (l === m.n - 1 || d.isLeaf(e) || !d.isPresent(e)) {
        if (g.zapLeaves) zapLeaf(m, g, l, s);
      } else if (d.isTable(e)) {
        const child = d.tablePa(e);
        zapLevel(m, g, l + 1, child, addr, next);
        const base = addr & ~(d.sizeB - 1n);      // free_pgd_range's floor and ceiling
        const spanFree = base >= floor && (ceiling === 0n || base + d.sizeB <= ceiling);
        const gen = m.tables.get(child)!.gen;
        if (g.freeTables && (g.onlyGen === 0 || gen === g.onlyGen) && (spanFree || (alsoGen !== 0 && gen === alsoGen)) && tableEmpty(m, l + 1, child)) {
          wr(m, s, d.empty);
          g.mm.pgtablesBytes -= m.L[l + 1].tableBytes;
          tlbRemoveTable(m, g, l + 1, child);
        }
      }
    }
    i++;
    addr = next;
  } while (addr !== end);
}

/** The huge leaf mapping va when `edge` is not aligned to it. */
function partialLeafAt(m: RefMachine, mm: RefMm, va: bigint, edge: bigint): { slot: Slot; level: number; entry: bigint } | null {
  const w = walkFrom(m, mm.root, va);
  if (w.code === W_OK && w.level < m.n - 1 && (edge & (m.L[w.level].sizeB - 1n)) !== 0n) return { slot: w.slot, level: w.level, entry: w.entry };
  return null;
}

function isHugeZeroLeaf(m: RefMachine, x: { level: number; entry: bigint } | null): boolean {
  return x !== null && isHugeZeroPfn(m, m.L[x.level].leafPa(x.entry) >> m.psB);
}

/** A huge leaf (not the huge zero PMD) that [start, end) covers only in part. */
function partialHugeLeaf(m: RefMachine, mm: RefMm, start: bigint, end: bigint): boolean {
  const a = partialLeafAt(m, mm, start, start);
  if (a && !isHugeZeroLeaf(m, a)) return true;
  const b = partialLeafAt(m, mm, end - 1n, end);
  return b !== null && !isHugeZeroLeaf(m, b);
}

/** Huge zero PMDs that [start, end) covers in part are split: both tables first, then the splits. */
function splitPartialHugeZero(m: RefMachine, mm: RefMm, start: bigint, end: bigint, op: number): number {
  const first = partialLeafAt(m, mm, start, start);
  const b0 = partialLeafAt(m, mm, end - 1n, end);
  const a = isHugeZeroLeaf(m, first) ? first : null;
  let b = isHugeZeroLeaf(m, b0) ? b0 : null;
  if (a && b && a.slot.pa === b.slot.pa && a.slot.i === b.slot.i) b = null;
  if (!a && !b) return OK;
  const ta = a ? m.allocTableAt(a.level + 1, op) : -1;
  if (a && ta < 0) return E_NOTABLE;
  const tb = b ? m.allocTableAt(b.level + 1, op) : -1;
  if (b && tb < 0) {
    if (a) m.freeTable(a.level + 1, ta);
    return E_NOTABLE;
  }
  if (a) splitHugeZeroPmd(m, mm, a.slot, a.level, ta);
  if (b) splitHugeZeroPmd(m, mm, b.slot, b.level, tb);
  return OK;
}

/** zap_page_range / unmap_vmas + free_pgtables over [start, end). */
export function zapRange(m: RefMachine, mm: RefMm, start: bigint, end: bigint, a: ZapArgs): number {
  if (a.zapLeaves && partialHugeLeaf(m, mm, start, end)) return E_SPLIT;
  if (a.zapLeaves) {
    const r = splitPartialHugeZero(m, mm, start, end, a.op);
    if (r !== OK) return r;
  }
  const g: Gather = { ...a, mm, pages: [], tables: [] };
  zapLevel(m, g, 0, mm.root, start, end);
  tlbFlushMmu(m, g);
  return OK;
}

/** Ranges that would split a hugetlb VMA or a huge leaf. */
export function checkUnmapRange(m: RefMachine, mm: RefMm, start: bigint, end: bigint): number {
  for (const v of mm.vmaList) {
    if (v.end <= start || v.start >= end || v.kind !== KIND_HUGETLB) continue;
    const mask = (1n << BigInt(m.ps + v.order)) - 1n;
    if ((start > v.start && (start & mask) !== 0n) || (end < v.end && (end & mask) !== 0n)) return E_INVAL;
  }
  if (partialHugeLeaf(m, mm, start, end)) return E_SPLIT;
  return OK;
}
