// Crafted table entries can never make the core touch memory it does not
// own. An entry of a live address space is overwritten through the shared
// memory (the public writePhys refuses live tables) to name: the end of the
// pool and beyond, 2^32 + x (the machine header once truncated), a misaligned
// address, its own table, the root, another address space's table, raw pool
// memory, and a table another entry already links. Every operation then
// refuses with EBADTABLE naming the entry, or reports the link (walk, the
// checker); nothing traps or hangs, and nothing else changes: not the other
// address space, not the machine's counters, not a struct page.
import { describe, expect, it } from 'vitest';
import { Machine, Mm, PgtemuError, encodeTableEntry, decodeTablePa } from '../../src/index.js';
import type { LevelDescriptor } from '../../src/index.js';
import { VARIANTS } from '../helpers/machines.js';

const BASE = 1n << 30n;

interface Internals { poolBase: number; header: number; layout: { off: { Mm: { vmas: number }; Header: { poolLinks: number } } } }

/** The pool pa of the entry at `level` that maps va (read with readPhys, as a raw walker would). */
function entryPa(m: Machine, root: bigint, va: bigint, level: number): bigint {
  let table = root;
  const lv = m.desc.levels;
  for (let l = 0; ; l++) {
    const idx = (va >> BigInt(lv[l].shift)) & ((1n << BigInt(lv[l].indexBits)) - 1n);
    const pa = table + idx * 8n;
    if (l === level) return pa;
    table = decodeTablePa(lv[l], readEntry(m, pa));
  }
}

function readEntry(m: Machine, pa: bigint): bigint {
  const b = m.readPhys(pa, 8);
  return new DataView(b.buffer).getBigUint64(0, !m.desc.bigEndian);
}

/** Overwrite an entry behind the API's back (as a stray kernel write would). */
function poke(m: Machine, pa: bigint, v: bigint): void {
  const base = (m as unknown as Internals).poolBase;
  new DataView(m.memory.buffer).setBigUint64(base + Number(pa), BigInt.asUintN(64, v), !m.desc.bigEndian);
}

function expectBadTable(fn: () => unknown, level: string): PgtemuError {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err, 'expected EBADTABLE').toBeInstanceOf(PgtemuError);
  const e = err as PgtemuError;
  expect(e.code, e.message).toBe('EBADTABLE');
  expect(e.message).toContain(`the ${level} entry 0x`);
  expect(e.message).toMatch(/at pa 0x[0-9a-f]+ \(for address 0x[0-9a-f]+\) (names a table at 0x[0-9a-f]+ that is|is present but neither a table nor a leaf \(\w+_bad\))/);
  expect(e.message).toMatch(/nothing was changed$/);
  return e;
}

/** Everything another address space, the counters and the struct pages show. */
function observe(m: Machine, other: Mm, span: bigint) {
  const s = m.stats();
  const walks: string[] = [];
  for (let a = BASE; a < BASE + span; a += span / 64n) {
    const w = m.walk(other, a);
    walks.push(`${w.level}:${w.status}:${w.entry}`);
  }
  return {
    free: s.freePages, pool: s.poolFreeBytes, out: s.gupOutstanding, pins: s.pinOutstanding,
    faults: s.faults, freed: s.tablesFreed, flushes: s.tlbFlushes,
    other: { walks, counters: other.counters(), vmas: other.vmas() },
    refcounts: Array.from(m.refcounts(0n, Number(m.ramPfns))),
  };
}

describe.each(VARIANTS)('crafted table entries on $arch/$variant', ({ arch, variant }) => {
  it('are refused by every operation, and change nothing', () => {
    const m = Machine.createSync({ arch, variant, ramMiB: 128, tablePoolMiB: 8 });
    const lv = m.desc.levels;
    const n = lv.length;
    const ps = BigInt(m.desc.pageShift);
    const span = 1n << BigInt(lv[n - 2].shift);     // what one pte table maps
    const a = m.createMm(), b = m.createMm();
    for (const mm of [a, b]) {
      mm.mmap({ start: BASE, length: 4n * span });
      mm.populate(BASE, 8n << ps, { write: true });
      mm.populate(BASE + 2n * span, 8n << ps, { write: true });
    }
    const raw = 0x100000n;
    m.writePhys(raw, m.entryBytes(Array(lv[n - 1].tableBytes / 8).fill(lv[n - 1].empty)));
    const poolBytes = BigInt(m.poolBytes);
    let cases = 0;
    for (let level = 0; level < n - 1; level++) {
      const l: LevelDescriptor = lv[level];
      const at = entryPa(m, a.rootPa, BASE, level);
      const orig = readEntry(m, at);
      const own = at & ~(BigInt(l.tableBytes) - 1n);
      const child = decodeTablePa(l, orig);
      const targets: [string, bigint][] = [
        ['the end of the pool', poolBytes],
        ['far past the pool', poolBytes + (1n << 30n)],
        ['2^32 + a header offset', (1n << 32n) + 0x1000n],
        ['a misaligned address', child + 8n],
        ['its own table', own],
        ['the root', a.rootPa],
        ["another address space's table", decodeTablePa(l, readEntry(m, entryPa(m, b.rootPa, BASE, level)))],
        ['raw pool memory', raw],
      ];
      for (const [what, target] of targets) {
        const e = encodeTableEntry(l, target);
        if (decodeTablePa(l, e) !== target || e === orig) continue;   // not representable in this level's field
        const before = observe(m, b, 4n * span);
        poke(m, at, e);
        const name = l.name;
        // a fault below the entry, populate, gup (fast and slow), zap, munmap, destroy
        expectBadTable(() => a.fault(BASE + (9n << ps), { write: true }), name);
        expectBadTable(() => a.populate(BASE + (9n << ps), 1n << ps), name);
        expectBadTable(() => a.gupFast(BASE, 4, { pin: true }), name);
        expect(a.gupFast(BASE, 4, { fastOnly: true }).nr).toBe(0);
        expectBadTable(() => a.zap(BASE, span), name);
        expectBadTable(() => a.munmap(BASE, 4n * span), name);
        expectBadTable(() => a.destroy(), name);
        const w = m.walk(a, BASE);
        // the linux view: a link it refused (bad-table, one level down), or pXd_bad itself (bad)
        expect([['bad-table', level + 1], ['bad', level]], what).toContainEqual([w.status, w.level]);
        const v = m.checkInvariants();
        expect(v.map((x) => x.name), what).toContain('table-link');
        poke(m, at, orig);
        expect(observe(m, b, 4n * span), `${l.name} entry naming ${what}`).toEqual(before);
        expect(m.checkInvariants()).toEqual([]);
        cases++;
      }
      // a table linked by a second entry: the empty neighbour names the same child
      {
        const nb = entryPa(m, a.rootPa, BASE + 3n * span, level);
        if (nb !== at && readEntry(m, nb) === l.empty) {
          const before = observe(m, b, 4n * span);
          poke(m, nb, orig);
          expectBadTable(() => a.munmap(BASE, 4n * span), l.name);
          expectBadTable(() => a.fault(BASE + 3n * span, { write: true }), l.name);
          expect(m.checkInvariants().map((x) => x.name)).toContain('table-link');
          poke(m, nb, l.empty);
          expect(observe(m, b, 4n * span)).toEqual(before);
          cases++;
        }
      }
    }
    expect(cases).toBeGreaterThan(n);
    // restored: everything works, and tearing down leaves nothing behind
    a.fault(BASE + (9n << ps), { write: true });
    a.destroy();
    b.destroy();
    expect(m.checkInvariants()).toEqual([]);
  });
});

// The walks test a link with one load from the link index (a u32 per pool
// slot: the table the entry there linked), outside the pool where writePhys
// and crafted entries cannot reach. A stray write to the index itself is a
// core bug; the checker holds the index to the tables' own records.
describe.each(VARIANTS)('the link index on $arch/$variant', ({ arch, variant }) => {
  it('names each linked table at its entry, is trusted by the walks, and is checked against the records', () => {
    const m = Machine.createSync({ arch, variant, ramMiB: 64, tablePoolMiB: 8 });
    const mm = m.createMm();
    const ps = BigInt(m.desc.pageShift);
    const lv = m.desc.levels, last = lv.length - 1;
    const span = 1n << BigInt(lv[last - 1].shift);
    mm.mmap({ start: BASE, length: 2n * span });
    mm.populate(BASE, 4n << ps, { write: true });
    const x = m as unknown as Internals;
    const dv = new DataView(m.memory.buffer);
    const links = dv.getUint32(x.header + x.layout.off.Header.poolLinks, true);
    const slot = (pa: bigint) => links + Number(pa >> 1n);
    // every table on the way down is in its entry's slot
    for (let l = 0; l < last; l++) {
      const at = entryPa(m, mm.rootPa, BASE, l);
      expect(BigInt(dv.getUint32(slot(at), true)), `level ${l}`).toBe(decodeTablePa(lv[l], readEntry(m, at)) + 1n);
    }
    const at = entryPa(m, mm.rootPa, BASE, last - 1);
    const child = dv.getUint32(slot(at), true);
    // a slot emptied: the walks refuse the link, the checker names both
    dv.setUint32(slot(at), 0, true);
    expect(m.walk(mm, BASE)).toMatchObject({ level: last, status: 'bad-table' });
    expect(mm.gupFast(BASE, 4, { fastOnly: true }).nr).toBe(0);
    expect(m.checkInvariants().map((v) => v.name)).toEqual(expect.arrayContaining(['link-index', 'table-link']));
    dv.setUint32(slot(at), child, true);
    expect(m.walk(mm, BASE)).toMatchObject({ level: last, status: 'ok' });
    // a slot naming a table its (empty) entry never linked
    const nb = entryPa(m, mm.rootPa, BASE + span, last - 1);
    expect(readEntry(m, nb)).toBe(lv[last - 1].empty);
    dv.setUint32(slot(nb), child, true);
    expect(m.checkInvariants().map((v) => v.name)).toEqual(['link-index']);
    dv.setUint32(slot(nb), 0, true);
    expect(m.checkInvariants()).toEqual([]);
    // an entry that never linked a table (its slot empty), crafted to name pa 0
    const zero = encodeTableEntry(lv[last - 1], 0n);
    expect(decodeTablePa(lv[last - 1], zero)).toBe(0n);
    poke(m, nb, zero);
    expect(m.walk(mm, BASE + span)).toMatchObject({ level: last, status: 'bad-table' });
    expectBadTable(() => mm.fault(BASE + span, { write: true }), lv[last - 1].name);
    expect(m.checkInvariants().map((v) => v.name)).toEqual(['table-link']);
    poke(m, nb, lv[last - 1].empty);
    expect(m.checkInvariants()).toEqual([]);
    // tables freed and made again: the index follows
    mm.munmap(BASE, 2n * span);
    expect(dv.getUint32(slot(at), true)).toBe(0);
    mm.mmap({ start: BASE, length: 2n * span });
    mm.populate(BASE, 4n << ps, { write: true });
    expect(BigInt(dv.getUint32(slot(at), true))).toBe(decodeTablePa(lv[last - 1], readEntry(m, at)) + 1n);
    mm.destroy();
    expect(m.checkInvariants()).toEqual([]);
  });

  it('is checked wherever a walk can read it: the raw prefix, a unit claimed raw below every table, every table', () => {
    const m = Machine.createSync({ arch, variant, ramMiB: 64, tablePoolMiB: 8 });
    const mm = m.createMm();
    const ps = BigInt(m.desc.pageShift);
    mm.mmap({ start: BASE, length: 4n << ps });
    mm.populate(BASE, 1n << ps, { write: true });
    const x = m as unknown as Internals;
    const dv = new DataView(m.memory.buffer);
    const links = dv.getUint32(x.header + x.layout.off.Header.poolLinks, true);
    const slot = (pa: bigint) => links + Number(pa >> 1n);
    const root = mm.rootPa;
    // tables come from the top of the pool: 1 MiB is below every one of them
    expect(root).toBeGreaterThan(1n << 20n);
    const raw = 1n << 20n;
    m.writePhys(raw, m.entryBytes([m.desc.levels[0].empty]));
    // an entry of the root that links nothing (its slot empty)
    const lv0 = m.desc.levels[0];
    let idle = root;
    while (readEntry(m, idle) !== lv0.empty || dv.getUint32(slot(idle), true) !== 0) idle += 8n;
    for (const at of [8n, raw + 8n, idle]) {
      dv.setUint32(slot(at), Number(root) + 1, true);     // names the root, which no entry links
      expect(m.checkInvariants().map((v) => v.name), `slot of pa 0x${at.toString(16)}`).toEqual(['link-index']);
      dv.setUint32(slot(at), 0, true);
      expect(m.checkInvariants()).toEqual([]);
    }
  });
});

describe('a pXd_bad entry: refused, with what the kernel would do instead', () => {
  // x86 (v6.12 pgtable.h): pmd_bad is (pmd_flags & ~(_PAGE_USER | _PAGE_ACCESSED)) !=
  // (_KERNPG_TABLE & ~_PAGE_ACCESSED), so RW clear is bad; pud_bad is
  // (pud_flags & ~(_KERNPG_TABLE | _PAGE_USER)) != 0, so _PAGE_BIT_GLOBAL (8) set is bad.
  it.each([
    { level: 2, name: 'pmd', bits: (e: bigint) => e & ~2n, kernel: /\(pmd_bad\): the kernel would clear it \(pmd_clear_bad, from pte_offset_map in a fault or a slow gup, and from zap and free_pgtables\), leaking the table it names; nothing was changed$/ },
    { level: 1, name: 'pud', bits: (e: bigint) => e | (1n << 8n), kernel: /\(pud_bad\): the kernel's zap and free_pgtables would clear it \(pXd_none_or_clear_bad\), leaking the table it names; nothing was changed$/ },
  ])('x86_64: a $name entry', ({ level, name, bits, kernel }) => {
    const m = Machine.createSync({ arch: 'x86_64', variant: '4level', ramMiB: 64, tablePoolMiB: 8 });
    const mm = m.createMm();
    mm.mmap({ start: BASE, length: 4n << 20n });
    mm.populate(BASE, 4096n, { write: true });
    const at = entryPa(m, mm.rootPa, BASE, level), orig = readEntry(m, at);
    const other = m.createMm();
    const before = observe(m, other, 4n << 20n);
    poke(m, at, bits(orig));
    expect(m.walk(mm, BASE)).toMatchObject({ level, status: 'bad' });
    for (const op of [() => mm.fault(BASE + 8192n, { write: true }), () => mm.zap(BASE, 4n << 20n)]) {
      const e = expectBadTable(op, name);
      expect(e.message).toMatch(kernel);
    }
    poke(m, at, orig);
    expect(observe(m, other, 4n << 20n)).toEqual(before);
    expect(m.checkInvariants()).toEqual([]);
  });
});

describe('raw pool memory', () => {
  it('writePhys refuses memory that holds a live page table, and changes nothing', () => {
    const m = Machine.createSync({ arch: 'x86_64', ramMiB: 64, tablePoolMiB: 4 });
    const mm = m.createMm();
    mm.mmap({ start: BASE, length: 1n << 21n, populate: true });
    const pte = m.walk(mm, BASE).entryPa;
    const before = m.readPhys(pte & ~4095n, 4096);
    let err: unknown;
    try { m.writePhys(pte, m.entryBytes([0x1234_5067n])); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(PgtemuError);
    expect((err as PgtemuError).code).toBe('EBUSY');
    expect((err as PgtemuError).message).toMatch(/overlaps a live page table at 0x/);
    expect(m.readPhys(pte & ~4095n, 4096)).toEqual(before);
    expect(m.walk(mm, BASE).status).toBe('ok');
  });

  it('raw writes over all free pool memory cannot corrupt the allocator', () => {
    const m = Machine.createSync({ arch: 'x86_64', ramMiB: 64, tablePoolMiB: 1 });
    const mm = m.createMm();
    mm.mmap({ start: BASE, length: 1n << 30n });
    mm.fault(BASE, { write: true });
    const used = new Set<bigint>();
    for (let pa = 0n; pa < BigInt(m.poolBytes); pa += 4096n) {
      try {
        m.writePhys(pa, new Uint8Array(4096).fill(0xa5));   // what a free list inside the pool would have choked on
      } catch (e) {
        expect((e as PgtemuError).code).toBe('EBUSY');
        used.add(pa);
      }
    }
    expect(used.size).toBeGreaterThanOrEqual(4);            // the mm's four tables
    expect(m.stats().poolFreeBytes).toBe(0);
    // the allocator has nothing left to give, and says so; the mm still works where its tables are
    let err: unknown;
    try { mm.fault(BASE + (1n << 29n), { write: true }); } catch (e) { err = e; }
    expect((err as PgtemuError).code).toBe('ENOTABLE');
    mm.fault(BASE + 4096n, { write: true });
    expect(m.checkInvariants()).toEqual([]);
    mm.destroy();
    // tables freed go back to the allocator, raw memory does not
    expect(m.stats().poolFreeBytes).toBe(used.size * 4096);
    const again = m.createMm();
    again.mmap({ start: BASE, length: 1n << 21n, populate: true });
    expect(m.checkInvariants()).toEqual([]);
  });
});

describe('a trap never leaves a lock held', () => {
  it('an mm whose VMA array points outside memory traps under its lock; the lock is released', () => {
    const m = Machine.createSync({ arch: 'x86_64', ramMiB: 64, tablePoolMiB: 4 });
    const mm = m.createMm();
    mm.mmap({ start: BASE, length: 1n << 21n });
    const dv = new DataView(m.memory.buffer);
    const at = mm.ptr + (m as unknown as Internals).layout.off.Mm.vmas;
    const vmas = dv.getUint32(at, true);
    dv.setUint32(at, 0xffff_fff0, true);                    // the fault's find_vma reads past the memory
    let err: unknown;
    try { mm.fault(BASE, { write: true }); } catch (e) { err = e; }
    expect((err as PgtemuError).code).toBe('ETRAP');
    expect((err as PgtemuError).message).toMatch(/core trapped in fault at 0x40000000: .*\(1 lock it held released\)/);
    dv.setUint32(at, vmas, true);
    mm.fault(BASE, { write: true });                       // would spin forever on a lock left held
    expect(m.walk(mm, BASE).status).toBe('ok');
    expect(m.checkInvariants()).toEqual([]);
  });
});
