// The benchmark case `npm run bench` reports for device-DAX: gup-fast pin +
// unpin over the same device memory on v6.12 (devmap entries) and v6.17
// (normal entries). What it returns, never how fast: the shape, positive
// finite times, percentiles in order, and the table the report is made of.
import { describe, expect, it } from 'vitest';
import { devmapVsUnified, DEVMAP_KERNELS, type DevmapResult } from '../../src/host/bench.js';
import { devmapMarkdown, devmapLines } from '../../src/cli/bench.js';

const cells = (line: string) => line.split('|').slice(1, -1).map((c) => c.trim());

describe('devmapVsUnified', () => {
  // short: 3 rounds of batches of about 0.2 ms, no warm-up
  const x86 = devmapVsUnified('x86_64', undefined, { rounds: 3, warmUpMs: 0, batchMs: 0.2 });
  // s390 v6.12 has no devmap bit, so no ZONE_DEVICE (mm/Kconfig: ZONE_DEVICE depends on ARCH_HAS_PTE_DEVMAP)
  const s390 = devmapVsUnified('s390', undefined, { rounds: 3, warmUpMs: 0, batchMs: 0.2 });

  it('x86_64: both cases run on the default variant, v6.12 against v6.17, 512 pages per call (one 2 MiB pmd leaf)', () => {
    expect(x86).toMatchObject({ arch: 'x86_64', variant: '4level', legacy: 'v6.12', unified: 'v6.17', pageShift: 12, pmdOrder: 9, rounds: 3 });
    expect(DEVMAP_KERNELS).toEqual({ legacy: 'v6.12', unified: 'v6.17' });
    expect(x86.why).toBeUndefined();
    expect(x86.rows.map((r) => [r.case, r.order, r.pages])).toEqual([['base', 0, 512], ['pmd', 9, 512]]);
  });

  it('x86_64: every time and ratio is a positive finite number, the median ratio between its 25th and 75th percentile, whole calls per batch', () => {
    for (const r of x86.rows) {
      for (const v of [r.legacyNsPerPage, r.unifiedNsPerPage, r.ratio, r.ratioP25, r.ratioP75]) {
        expect(Number.isFinite(v)).toBe(true);
        expect(v).toBeGreaterThan(0);
      }
      expect(r.ratioP25).toBeLessThanOrEqual(r.ratio);
      expect(r.ratio).toBeLessThanOrEqual(r.ratioP75);
      for (const c of [r.legacyCalls, r.unifiedCalls]) {
        expect(Number.isInteger(c)).toBe(true);
        expect(c).toBeGreaterThanOrEqual(1);
      }
    }
  });

  it('s390: not run, with the reason (v6.12 has no ZONE_DEVICE there)', () => {
    expect(s390.rows).toEqual([]);
    expect(s390.why).toMatch(/^v6\.12: ZONE_DEVICE depends on ARCH_HAS_PTE_DEVMAP/);
  });

  it('the report\'s table: one row per arch run, as many cells as the header, the values it was given; a line for an arch not run', () => {
    const md = devmapMarkdown([x86, s390]).split('\n');
    const header = md.findIndex((l) => l.startsWith('| arch |'));
    expect(header).toBeGreaterThan(0);
    const rows = md.slice(header + 2).filter((l) => l.startsWith('|'));
    expect(rows.length).toBe(1);
    expect(cells(rows[0]).length).toBe(cells(md[header]).length);
    const [b, p] = x86.rows;
    expect(cells(rows[0])).toEqual(['x86_64', '4level', '4 KiB', '512', b.legacyNsPerPage.toFixed(1), b.unifiedNsPerPage.toFixed(1),
      `${b.ratio.toFixed(2)} [${b.ratioP25.toFixed(2)}..${b.ratioP75.toFixed(2)}]`, '2 MiB', p.legacyNsPerPage.toFixed(1), p.unifiedNsPerPage.toFixed(2),
      `${p.ratio.toFixed(2)} [${p.ratioP25.toFixed(2)}..${p.ratioP75.toFixed(2)}]`]);
    expect(md).toContain(`s390/3level: not run (${s390.why}).`);
    expect(devmapLines([x86, s390]).length).toBe(3);
  });

  it('a result without one of its rows is refused by the table, not printed with a hole', () => {
    const holed: DevmapResult = { ...x86, rows: x86.rows.filter((r) => r.case === 'base') };
    expect(() => devmapMarkdown([holed])).toThrow(/x86_64\/4level have no pmd row/);
  });
});
