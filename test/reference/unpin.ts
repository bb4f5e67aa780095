// unpin_user_pages / put_page for what gup handed out (assembly/unpin.ts): a
// checked release. The model checks the whole list first and then releases;
// the core releases as it goes and takes back what it released when a page
// refuses. The outcome is the same: either every page goes back, or nothing
// does and the index of the refused page is reported.
import { FOLL_GET, FOLL_PIN, PG_reserved } from '../../src/host/consts.gen.js';
import { PgtemuError, hex } from '../../src/host/errors.js';
import type { RefMachine } from './machine.js';
import { gupPutFolio, putUnits, tallyCommit, tallyReset } from './refcount.js';

/**
 * One list of at most maxPagesPerCall pfns: one gup_put_folio per run of
 * pages of one large folio (or of the zero page), a small page page by page.
 * A release may not take the refcount below what the folio's mappings hold
 * (and, on a large folio, one reference per pin still counted), an unpin may
 * not take _pincount below zero, a reserved page (a table-pool frame) is never
 * released and the zero page keeps its own reference. Returns the refused
 * index, or -1; the folios a refused list had gone through (and a small page
 * some of whose copies did) keep this operation as their last.
 */
function unpinChunk(m: RefMachine, list: bigint[], flags: number): number {
  const op = m.beginOp();
  const n = list.length;
  const pages = list.map((p) => m.pfnToPage(p));
  const owed = new Map<number, { units: number; pins: number }>();
  const runs: { folio: number; refs: number }[] = [];
  const refuse = (at: number, also?: number): number => {
    for (const r of runs) m.pg(r.folio).lastOp = op;
    if (also !== undefined) m.pg(also).lastOp = op;
    return at;
  };
  let i = 0;
  while (i < n) {
    const page = pages[i];
    if (page < 0) return refuse(i);
    const folio = m.folioOf(page);
    let j = i + 1;
    while (j < n && pages[j] >= 0 && m.folioOf(pages[j]) === folio) j++;
    const refs = j - i;
    const o = owed.get(folio) ?? { units: 0, pins: 0 };
    const f = m.peek(folio);
    const units = putUnits(m, folio, refs, flags);
    const large = m.large(folio), zero = m.isZeroFolio(folio);
    const pins = (flags & FOLL_PIN) !== 0 && large && !zero ? refs : 0;
    if (!large && !zero) {
      if (m.testFlag(folio, PG_reserved)) return refuse(i);
      const each = putUnits(m, folio, 1, flags);
      const mapped = f.mapcount + 1;
      const fit = Math.floor((f.refcount - o.units - mapped) / each);
      if (fit < refs) return refuse(i, fit >= 1 ? folio : undefined);
    } else {
      const pinsLeft = (large ? m.folio(folio).pincount : 0) - o.pins - pins;
      const keep = zero ? 1 : m.folio(folio).largeMapcount + 1 + pinsLeft;
      if (pinsLeft < 0 || f.refcount - o.units - units < keep) return refuse(i);
    }
    o.units += units;
    o.pins += pins;
    owed.set(folio, o);
    runs.push({ folio, refs });
    i = j;
  }
  tallyReset(m);
  for (const r of runs) {
    m.pg(r.folio).lastOp = op;
    gupPutFolio(m, r.folio, r.refs, flags);
  }
  tallyCommit(m);
  return -1;
}

/** unpin_user_pages (pin) or put_page over n pfns, in lists of at most maxPagesPerCall. */
export function release(m: RefMachine, pfns: ArrayLike<bigint>, n: number, pin: boolean, op: string): void {
  const flags = pin ? FOLL_PIN : FOLL_GET;
  for (let done = 0; done < n;) {
    const chunk = Math.min(n - done, m.maxPagesPerCall);
    const list: bigint[] = [];
    for (let i = 0; i < chunk; i++) list.push(BigInt.asUintN(64, BigInt(pfns[done + i])));
    const bad = unpinChunk(m, list, flags);
    if (bad >= 0) {
      const at = done + bad;
      throw new PgtemuError('EINVAL', `${op}: page ${at} (pfn ${hex(BigInt(pfns[at]))}) has no struct page or not the references to give back; nothing from that page on was released (reference model)`, { op });
    }
    done += chunk;
  }
}
