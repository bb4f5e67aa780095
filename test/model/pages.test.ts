// Machine.pages(): the bulk struct-page read says, field for field, what
// Machine.page() says of each pfn, across a section boundary; and the
// generated name tables (consts.gen.ts) name every invariant a violation
// can carry, in its message too.
import { describe, expect, it } from 'vitest';
import { Machine, PgtemuError, archs } from '../../src/index.js';
import { NAMES } from '../../src/host/consts.gen.js';
import { VARIANTS } from '../helpers/machines.js';

const FIELDS = ['flags', 'refcount', 'mapcount', 'buddy', 'reserved', 'tail', 'head', 'order', 'pincount', 'entireMapcount', 'largeMapcount', 'nrPagesMapped', 'mapping', 'lastOp'] as const;

describe('Machine.pages: one pass over the memmap, as page() reads each pfn', () => {
  it.each(VARIANTS)('$arch/$variant: across a section boundary, after THP faults and pins', ({ arch, variant }) => {
    const desc = archs[arch as keyof typeof archs].variants[variant];
    const secMiB = 2 ** Math.max(0, desc.sectionSizeBits - 20);
    const m = Machine.createSync({ arch, variant, ramMiB: Math.max(64, 2 * secMiB), tablePoolMiB: 4, threads: 1 });
    const mm = m.createMm();
    const ps = BigInt(m.desc.pageShift);
    // two folios of the smallest huge order, when they fit in a quarter of RAM (not arm64 64k's 512 MiB pmd)
    const huge = m.leafOrders.filter((o) => o > 0).sort((a, b) => a - b)[0];
    const pmdOrder = (2n << (ps + BigInt(huge))) <= (m.ramPfns << ps) / 4n ? huge : 0;
    const len = (1n << (ps + BigInt(Math.max(pmdOrder, 4)))) * 2n;
    const start = len > 1n << 32n ? len : 1n << 32n;
    mm.mmap({ start, length: len, hugeOrder: pmdOrder, populate: true });
    mm.mmap({ start: start + 4n * len, length: 64n << ps, populate: true });
    const g = mm.gupFast(start + (3n << ps), 5, { pin: true });
    const secPages = 2 ** (desc.sectionSizeBits - desc.pageShift);
    const n = Number(m.ramPfns);
    expect(n).toBeGreaterThan(secPages);
    const a = m.pages(0, n);
    expect(a.start).toBe(0n);
    expect(a.length).toBe(n);
    const interesting = new Set<number>([0, secPages - 1, secPages, n - 1]);
    for (let i = 0; i < n && interesting.size < 400; i++) if (!a.reserved[i] && (a.refcount[i] > 0 || a.tail[i] || a.order[i] > 0)) interesting.add(i);
    const folio = Number(m.walk(mm, start).pfn!);
    for (let k = 0; k < 3; k++) interesting.add(folio + k);
    for (const pfn of g.pfns) interesting.add(Number(pfn));
    for (const i of interesting) {
      const p = m.page(i);
      for (const f of FIELDS) {
        const want = typeof p[f] === 'boolean' ? (p[f] ? 1 : 0) : f === 'head' || f === 'flags' ? Number(p[f]) : p[f];
        expect({ pfn: i, f, v: a[f][i] }).toEqual({ pfn: i, f, v: want });
      }
    }
    // a window that starts past the boundary reads the same entries
    const w = m.pages(secPages - 3, 6);
    for (const f of FIELDS) for (let k = 0; k < 6; k++) expect(w[f][k]).toEqual(a[f][secPages - 3 + k]);
    m.unpin(g);
  });

  it('refuses a range with no struct pages, or a bad count, naming it', () => {
    const m = Machine.createSync({ arch: 'x86_64', ramMiB: 16, tablePoolMiB: 2, threads: 1 });
    const end = 1n << BigInt(m.desc.sectionSizeBits - m.desc.pageShift);   // 16 MiB: one section of struct pages
    expect(() => m.pages(end, 1)).toThrow(PgtemuError);
    expect(() => m.pages(end - 1n, 2)).toThrow(/pages: pfn 0x8000 has no struct page/);
    expect(() => m.pages(-1n, 1)).toThrow(/pages: start/);
    expect(() => m.pages(0, -1)).toThrow(/pages: n -1 is not an integer/);
    expect(() => m.pages(0, 1.5)).toThrow(/pages: n 1.5 is not an integer/);
    expect(m.pages(5, 0).length).toBe(0);
  });
});

describe('the generated invariant table', () => {
  it('names every INV_* check: its DESIGN.md number, name and meaning, and a violation says them all', () => {
    const inv = Object.entries(NAMES.INV);
    expect(inv.length).toBeGreaterThan(10);
    for (const [id, c] of inv) {
      expect(c.name).toMatch(/^[a-z]+(-[a-z]+)*$/);
      expect(c.doc.length).toBeGreaterThan(10);
      expect(Number(id) % 10).not.toBe(0);
    }
    const m = Machine.createSync({ arch: 'x86_64', ramMiB: 16, tablePoolMiB: 2, threads: 1 });
    const mm = m.createMm();
    mm.mmap({ start: 1n << 32n, length: 1n << 12n, populate: true });
    const pfn = m.walk(mm, 1n << 32n).pfn!;
    m.inject(pfn, 'refcount', 7);
    const v = m.checkInvariants().find((x) => x.invariant === 42)!;
    expect(v.name).toBe('ref-balance');
    expect(v.message).toMatch(/^invariant 4 \(ref-balance\) broken at pfn 0x[0-9a-f]+: refcount differs from the mappings plus outstanding gup references \(expected 1, found 7; check 42\); last operation #\d+ raw/);
  });
});
