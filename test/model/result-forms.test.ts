// gupFast's result forms: runs of one folio (GupOptions.runs) and a reusable
// GupBuffer (GupOptions.into). Both take and give back exactly what the
// plain form does, and a buffer is a handle with the same checks.
import { describe, expect, it } from 'vitest';
import { Machine, GupBuffer, type GupResult } from '../../src/index.js';
import { VARIANTS } from '../helpers/machines.js';
import { expectError } from '../helpers/snapshot.js';

const START = 1n << 32n;

/** A THP region, then base pages, then a hugetlb region (where the variant has a pmd leaf). */
function machine(arch = 'x86_64', variant = '4level') {
  const m = Machine.createSync({ arch, variant, ramMiB: 256, tablePoolMiB: 8 });
  const ps = m.desc.pageShift;
  const pmd = m.leafOrders.filter((o) => o > 0).sort((a, b) => a - b)[0];
  const leafBytes = 1n << BigInt(ps + pmd);
  const mm = m.createMm();
  const thp = leafBytes <= 32n << 20n;                     // arm64-64K's 512 MiB leaves: base pages only
  if (thp) mm.mmap({ start: START, length: 2n * leafBytes, hugeOrder: pmd, populate: true });
  const small = START + 2n * leafBytes;
  mm.mmap({ start: small, length: 64n << BigInt(ps), populate: true });
  return { m, mm, ps, leafPages: thp ? 1 << pmd : 0, small };
}

const state = (m: Machine, pfns: ArrayLike<bigint>) => Array.from(pfns, (p) => {
  const i = m.page(p);
  const h = i.tail ? m.page(i.head) : i;
  return [i.pfn, h.refcount, h.pincount];
});

describe('runs of one folio', () => {
  for (const { arch, variant } of VARIANTS) {
    it(`${arch}/${variant}: the same pages and counts as one pfn per page, one record per leaf`, () => {
      const { m, mm, ps, leafPages, small } = machine(arch, variant);
      const starts = leafPages ? [START, START + (BigInt(leafPages - 3) << BigInt(ps))] : [small];
      for (const start of starts) {
        for (const pin of [true, false]) {
          const nr = leafPages ? leafPages + 5 : 40;
          const before = state(m, [m.walk(mm, start).pfn!]);
          const plain = mm.gupFast(start, nr, { pin, write: true });
          const afterPlain = state(m, plain.pfns);
          m.unpin(plain);
          const r = mm.gupFast(start, nr, { pin, write: true, runs: true });
          expect(r.nr).toBe(plain.nr);
          expect(Array.from(r.pfns)).toEqual(Array.from(plain.pfns));
          expect(state(m, r.pfns)).toEqual(afterPlain);
          const runs = r.runs!;
          // every run lies in one folio, in address order, and they add up
          expect(Array.from(runs.pages).reduce((a, b) => a + b, 0)).toBe(r.nr);
          if (leafPages && start === START) expect([runs.pfn[0], runs.pages[0]]).toEqual([plain.pfns[0], leafPages]);
          for (let i = 0; i < runs.count; i++) {
            const head = m.page(runs.pfn[i]).head;
            expect(m.page(runs.pfn[i] + BigInt(runs.pages[i] - 1)).head).toBe(head);
          }
          if (pin) m.unpin(r); else m.put(r);
          expect(state(m, [m.walk(mm, start).pfn!])).toEqual(before);
          expect(m.stats().gupOutstanding).toBe(0n);
          expect(m.checkInvariants()).toEqual([]);
        }
      }
    });
  }

  it('a refused run (more pins than the folio holds) changes nothing, and the handle can be released afterwards', () => {
    const { m, mm } = machine();
    const r = mm.gupFast(START, 600, { pin: true, runs: true });
    const head = m.page(r.runs!.pfn[0]);
    m.inject(head.pfn, 'pincount', 100);
    const before = state(m, r.pfns);
    expectError(() => m.unpin(r), 'EINVAL', /unpin: the run at entry 0 \(pfn 0x[0-9a-f]+\) has no struct page or not the references/);
    expect(state(m, r.pfns)).toEqual(before);
    m.inject(head.pfn, 'pincount', 512);
    m.unpin(r);
    expect(m.stats().pinOutstanding).toBe(0n);
    expect(m.checkInvariants()).toEqual([]);
  });
});

describe('GupBuffer', () => {
  it('is filled in place, released once, and refuses what a handle refuses', () => {
    const { m, mm, small } = machine();
    const other = machine();
    const buf = m.gupBuffer();
    expect(buf).toBeInstanceOf(GupBuffer);
    expectError(() => m.unpin(buf), 'EINVAL', /unpin: this GupBuffer holds nothing/);
    const plain = mm.gupFast(small, 16, { pin: true });
    const expected = Array.from(plain.pfns);
    m.unpin(plain);
    expect(mm.gupFast(small, 16, { pin: true, into: buf })).toBe(buf);
    expect([buf.nr, buf.ret, buf.fast, buf.pin, buf.held]).toEqual([16, 16, 16, true, true]);
    expect(Array.from(buf.pfns)).toEqual(expected);
    const stats = m.stats();
    expectError(() => mm.gupFast(small, 16, { pin: true, into: buf }), 'EBUSY', /still holds the 16 pages/);
    expectError(() => other.mm.gupFast(other.small, 1, { into: buf }), 'EINVAL', /belongs to another machine/);
    expectError(() => mm.gupFast(small, 1, { into: {} as GupBuffer }), 'EINVAL', /into is an object \(Object\), not a GupBuffer/);
    expectError(() => m.put(buf), 'EINVAL', /put: this GupResult holds FOLL_PIN pins/);
    expectError(() => other.m.unpin(buf), 'EINVAL', /taken by another machine/);
    expect(m.stats()).toEqual(stats);
    m.unpin(buf);
    expect([buf.held, buf.pfns.length]).toEqual([false, 0]);
    expectError(() => m.unpin(buf), 'EINVAL', /this GupBuffer holds nothing/);
    expect(m.stats().pinOutstanding).toBe(0n);
    // refilled, as references this time
    mm.gupFast(small, 8, { into: buf });
    m.put(buf);
    expect(m.stats().gupOutstanding).toBe(0n);
    expect(m.checkInvariants()).toEqual([]);
  });

  it('keeps its pages when other calls need the output array, and gives them back from where they were set aside', () => {
    const { m, mm, small, leafPages } = machine();
    const a = m.gupBuffer(), b = m.gupBuffer();
    mm.gupFast(small, 10, { pin: true, into: a });
    const pa = Array.from(a.pfns);
    const c: GupResult = mm.gupFast(small + 0x10000n, 4, { write: true });   // needs the array: a's entries go aside
    mm.gupFast(START, leafPages, { pin: true, runs: true, into: b });
    expect(Array.from(a.pfns)).toEqual(pa);
    expect(b.runs!.count).toBe(1);
    // small folios' pins count GUP_PIN_COUNTING_BIAS references; _pincount counts a large folio's
    expect([m.stats().gupOutstanding, m.stats().pinOutstanding]).toEqual([BigInt(10 * 1024 + 4 + leafPages), BigInt(leafPages)]);
    expectError(() => m.unpin({ pfns: [1n << 40n] }), 'EINVAL', /no struct page/);   // a plain list in between
    m.unpin(a);
    m.put(c);
    m.unpin(b);
    expect([m.stats().gupOutstanding, m.stats().pinOutstanding]).toEqual([0n, 0n]);
    expect(m.checkInvariants()).toEqual([]);
  });

  it('its entries are anyone\'s to write, so its release is checked as a plain list is', () => {
    const { m, mm, small } = machine();
    const buf = m.gupBuffer();
    mm.gupFast(small, 4, { pin: true, into: buf });
    const pfns = Array.from(buf.pfns);
    const refs = pfns.map((p) => m.page(p).refcount);
    buf.pfns[2] = pfns[0];                                  // pfns[0] twice: more pins than it has
    expectError(() => m.unpin(buf), 'EINVAL', /unpin: page 2 \(pfn 0x[0-9a-f]+\) has no struct page or not the references/);
    expect(pfns.map((p) => m.page(p).refcount)).toEqual(refs);
    // a refused release keeps the entries as they were (the core records elsewhere): put
    // right, the same buffer gives its pages back
    expect(Array.from(buf.pfns)).toEqual([pfns[0], pfns[1], pfns[0], pfns[3]]);
    expect(buf.held).toBe(true);
    buf.pfns[2] = pfns[2];
    m.unpin(buf);
    expect(pfns.map((p) => m.page(p).refcount)).toEqual(refs.map((r) => r - 1024));
    expect([m.stats().gupOutstanding, m.stats().pinOutstanding]).toEqual([0n, 0n]);
    expect(m.checkInvariants()).toEqual([]);
  });
});
