// gup-fast keeps its own loop over the tables (assembly/gup_fast.ts), apart
// from walk.ts; what it makes of a directory entry must still be what every
// other walk makes of it (entryKind: the quick pairs, then pXd_none,
// pXd_present, pXd_leaf, a table, else pXd_bad). A directory entry above a
// populated page of a live address space is overwritten with random values
// of every kind -- the real table entry with bits flipped or added, each leaf
// template at a real or a random address, the empty value, any 64 bits --
// (on every kernel preset: with and without the devmap bit), and a
// FOLL_FAST_ONLY pin is compared with the walk at that address:
//
//   the walk passes the entry as a table (it reaches the pte) -> gup-fast
//     descends too and takes the page, as it does on the untouched tables;
//   the walk stops there (none, not present, a refused link) -> gup-fast
//     takes nothing;
//   the walk calls it bad, or (at a real pgd level, where gup_fast_pgd_range
//     asks pgd_none only) not present -> gup-fast, which never asks pXd_bad (mm/gup.c
//     gup_fast_pmd_range .. _p4d_range: present, leaf, else the next level),
//     descends as into a table: it takes the page when the entry still names
//     the table it linked, and nothing when the link is refused;
//   the walk finds a leaf there -> gup-fast takes nothing or the page the
//     leaf maps at that address.
//
// What was taken is unpinned and the entry restored; the checker then finds
// every count as it was.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Machine, KERNELS, encodeLeafEntry } from '../../src/index.js';
import { VARIANTS } from '../helpers/machines.js';

const BASE = 1n << 30n;
const M64 = (1n << 64n) - 1n;

interface Internals { poolBase: number }

function poke(m: Machine, pa: bigint, v: bigint): void {
  const base = (m as unknown as Internals).poolBase;
  new DataView(m.memory.buffer).setBigUint64(base + Number(pa), BigInt.asUintN(64, v), !m.desc.bigEndian);
}

describe.each(VARIANTS)('gup-fast and the walk read a directory entry alike on $arch/$variant', ({ arch, variant }) => {
  it.each(Object.keys(KERNELS))('kernel %s: for random entries of every kind at every directory level', (kernel) => {
    const m = Machine.createSync({ arch, variant, kernel, ramMiB: 64, tablePoolMiB: 8 });
    const lv = m.desc.levels;
    const n = lv.length;
    const ps = BigInt(m.desc.pageShift);
    const mm = m.createMm();
    mm.mmap({ start: BASE, length: 1n << BigInt(lv[n - 2].shift) });
    mm.populate(BASE, 1n << ps, { write: true });
    const page = m.walk(mm, BASE);
    expect(page.status).toBe('ok');
    const pin = () => mm.gupFast(BASE, 1, { pin: true, write: true, fastOnly: true });
    const untouched = pin();
    m.unpin(untouched);
    expect(untouched.nr).toBe(1);          // every variant's gup-fast takes a normal anon pte
    const seen = { table: 0, leaf: 0, bad: 0, stop: 0 };

    for (let l = 0; l < n - 1; l++) {
      const d = lv[l];
      // the pool pa of the level-l entry for BASE: walk down with readPhys
      let table = mm.rootPa;
      let entryPa = 0n;
      for (let k = 0; k <= l; k++) {
        const idx = (BASE >> BigInt(lv[k].shift)) & ((1n << BigInt(lv[k].indexBits)) - 1n);
        entryPa = table + idx * 8n;
        const b = m.readPhys(entryPa, 8);
        const e = new DataView(b.buffer).getBigUint64(0, !m.desc.bigEndian);
        const tableAt = (v: bigint) => ((v & lv[k].tableAddr.mask) >> BigInt(lv[k].tableAddr.shift)) << BigInt(lv[k].tableAddr.paShift);
        if (k < l) table = tableAt(e);
        else {
          const orig = e;
          const templates = d.leafOk ? Object.values(d.templates) : [];
          const size = 1n << BigInt(d.shift);
          const entry = fc.oneof(
            fc.constant(orig),
            fc.constant(d.empty),
            fc.integer({ min: 0, max: 63 }).map((b) => orig ^ (1n << BigInt(b))),
            fc.tuple(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: 63 })).map(([a, b]) => orig ^ (1n << BigInt(a)) ^ (1n << BigInt(b))),
            fc.bigInt({ min: 0n, max: M64 }).map((r) => orig | (r & ~d.tableAddr.mask)),
            fc.bigInt({ min: 0n, max: M64 }),
            ...(templates.length > 0 ? [
              fc.tuple(fc.constantFrom(...templates), fc.boolean(), fc.bigInt({ min: 0n, max: (1n << 40n) - 1n }))
                .map(([t, real, r]) => encodeLeafEntry(d, real ? page.pa! & ~(size - 1n) : (r << ps) & ~(size - 1n), t)),
              fc.tuple(fc.constantFrom(...templates), fc.integer({ min: 0, max: 63 }))
                .map(([t, b]) => encodeLeafEntry(d, page.pa! & ~(size - 1n), t) ^ (1n << BigInt(b))),
            ] : []),
          );
          fc.assert(fc.property(entry, (v) => {
            poke(m, entryPa, v);
            try {
              const w = m.walk(mm, BASE);
              const got = pin();
              try {
                if (w.status === 'ok' && w.level === n - 1) {
                  seen.table++;
                  expect(got.nr, `${d.name} entry 0x${v.toString(16)}: a table to the walk`).toBe(1);
                  expect(got.pfns[0]).toBe(page.pfn);
                } else if (w.status === 'ok' && w.level === l) {
                  seen.leaf++;
                  if (got.nr > 0) expect(got.pfns[0], `${d.name} leaf 0x${v.toString(16)}`).toBe(w.pfn);
                } else if (w.status === 'not-present' && w.level === l && d.gupFastNoneOnly) {
                  seen.bad++;
                  const linked = tableAt(v) === tableAt(orig);
                  expect(got.nr, `${d.name} entry 0x${v.toString(16)}: not present, followed (pgd_none only)`).toBe(linked ? 1 : 0);
                } else if (w.status === 'bad' && w.level === l) {
                  seen.bad++;
                  const linked = tableAt(v) === tableAt(orig);
                  expect(got.nr, `${d.name} bad entry 0x${v.toString(16)}: followed as a table (${linked ? 'its link' : 'a refused link'})`).toBe(linked ? 1 : 0);
                  if (linked) expect(got.pfns[0]).toBe(page.pfn);
                } else {
                  seen.stop++;
                  expect(w.level, `${d.name} entry 0x${v.toString(16)}: the walk stopped at ${w.status}`).toBeLessThanOrEqual(l + 1);
                  expect(got.nr, `${d.name} entry 0x${v.toString(16)}: ${w.status} to the walk`).toBe(0);
                }
              } finally {
                m.unpin(got);
              }
            } finally {
              poke(m, entryPa, orig);
            }
          }), { numRuns: 100, seed: 0x5eed + l });
        }
      }
    }
    // every kind was met somewhere, and nothing was left behind
    expect(seen.table).toBeGreaterThan(0);
    expect(seen.stop).toBeGreaterThan(0);
    if (lv.slice(0, n - 1).some((d) => d.leafOk)) expect(seen.leaf).toBeGreaterThan(0);
    expect(m.checkInvariants()).toEqual([]);
  });
});

describe.each(VARIANTS)('gup-fast at the top level of $arch/$variant', ({ arch, variant }) => {
  it('stops at a top-level entry that is not present, unless the level is a real pgd (pgd_none only)', () => {
    const m = Machine.createSync({ arch, variant, ramMiB: 64, tablePoolMiB: 8 });
    const top = m.desc.levels[0];
    const mm = m.createMm();
    mm.mmap({ start: BASE, length: 1n << BigInt(m.desc.levels[m.desc.levels.length - 2].shift) });
    mm.populate(BASE, 1n << BigInt(m.desc.pageShift), { write: true });
    const pfn = m.walk(mm, BASE).pfn;
    const entryPa = mm.rootPa + ((BASE >> BigInt(top.shift)) & ((1n << BigInt(top.indexBits)) - 1n)) * 8n;
    const orig = new DataView(m.readPhys(entryPa, 8).buffer).getBigUint64(0, !m.desc.bigEndian);
    const tableAt = (v: bigint) => ((v & top.tableAddr.mask) >> BigInt(top.tableAddr.shift)) << BigInt(top.tableAddr.paShift);
    let notPresent = 0;
    // every single bit cleared, and the address field cleared
    for (const v of [...Array.from({ length: 64 }, (_, b) => orig & ~(1n << BigInt(b))), orig & ~top.tableAddr.mask]) {
      if (v === orig) continue;
      poke(m, entryPa, v);
      try {
        const w = m.walk(mm, BASE);
        if (w.status !== 'not-present' || w.level !== 0) continue;
        notPresent++;
        const got = mm.gupFast(BASE, 1, { pin: true, write: true, fastOnly: true });
        const follows = top.gupFastNoneOnly && tableAt(v) === tableAt(orig);
        expect([got.nr, got.nr ? got.pfns[0] : undefined], `${arch}/${variant} top entry 0x${v.toString(16)}`).toEqual(follows ? [1, pfn] : [0, undefined]);
        m.unpin(got);
      } finally {
        poke(m, entryPa, orig);
      }
    }
    // (x86_64 la57, riscv sv57 and s390 5level are real pgds; arm64 4k-48's p4d and
    // loongarch's top level have no present bit a single clear removes)
    if (top.gupFastNoneOnly) expect(notPresent, 'a top entry made not present was tried').toBeGreaterThan(0);
    expect(m.checkInvariants()).toEqual([]);
  });
});

describe('gup-fast follows an entry the walkers call bad', () => {
  it('x86_64: a pmd table entry with RW clear (pmd_bad) still leads gup-fast to the pte, even for a write pin', () => {
    // pmd_bad: (pmd_flags & ~(_PAGE_USER | _PAGE_ACCESSED)) != _KERNPG_TABLE (P|RW|A|D less A);
    // gup_fast_pmd_range asks pmd_present and pmd_leaf only, and the write check is
    // pte_access_permitted's, on the pte: the MMU would fault on the write, gup-fast does not.
    const m = Machine.createSync({ arch: 'x86_64', variant: '4level', ramMiB: 64, tablePoolMiB: 8 });
    const mm = m.createMm();
    mm.mmap({ start: BASE, length: 2n << 20n });
    mm.populate(BASE, 4096n, { write: true });
    const pfn = m.walk(mm, BASE).pfn;
    const lv = m.desc.levels;
    let table = mm.rootPa, pmdPa = 0n;
    for (let k = 0; k <= 2; k++) {
      pmdPa = table + ((BASE >> BigInt(lv[k].shift)) & 511n) * 8n;
      const e = new DataView(m.readPhys(pmdPa, 8).buffer).getBigUint64(0, true);
      if (k < 2) table = e & 0x000f_ffff_ffff_f000n;
    }
    const orig = new DataView(m.readPhys(pmdPa, 8).buffer).getBigUint64(0, true);
    poke(m, pmdPa, orig & ~2n);                                      // _PAGE_RW clear
    try {
      expect(m.walk(mm, BASE)).toMatchObject({ level: 2, status: 'bad' });
      const got = mm.gupFast(BASE, 1, { pin: true, write: true, fastOnly: true });
      expect([got.nr, got.fast, got.pfns[0]]).toEqual([1, 1, pfn]);
      m.unpin(got);
    } finally {
      poke(m, pmdPa, orig);
    }
    expect(m.checkInvariants()).toEqual([]);
  });
});
