// A seeded fuzz through the public API: random sequences of operations with
// arguments drawn mostly from the worst values (addresses at and past the
// ends, 2^64 and beyond, negative, misaligned; wrong types; nonsense option
// objects; pfns never taken, released twice, from another machine; raw
// writes everywhere; crafted entries poked into live tables), on several
// variants. Every call either works or throws a PgtemuError; an error
// leaves the machine exactly as it was; nothing traps or hangs; at the end,
// with every pin given back and every poke undone, the checker finds nothing.
//
// `npm test` runs a short seeded run; PGTEMU_FUZZ=<runs> [PGTEMU_FUZZ_SEED=<seed>]
// runs a long one.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Machine, PgtemuError, encodeTableEntry, decodeTablePa, decodeEntry } from '../../src/index.js';
import type { GupResult, Mm } from '../../src/index.js';

const LONG = Number(process.env.PGTEMU_FUZZ ?? 0);
const SEED = Number(process.env.PGTEMU_FUZZ_SEED ?? 20261202);
const RUNS = LONG > 0 ? LONG : 12;
const TARGETS = [
  { arch: 'x86_64', variant: '4level' }, { arch: 'arm64', variant: '4k-48' }, { arch: 's390', variant: '3level' },
  { arch: 'ppc64', variant: 'radix-64k' }, { arch: 'riscv', variant: 'sv39' }, { arch: 'loongarch', variant: '16k-3level' },
];
const BASE = 1n << 30n;

interface Internals { poolBase: number }

type Op = { name: string; args: unknown[] };

/** Addresses and sizes that hurt: ends of things, and past them. */
const evilBig = (pageShift: number, top: bigint) => fc.oneof(
  fc.constantFrom(0n, 1n, -1n, -(1n << 63n), top - 1n, top, top + 1n, (1n << 64n) - 1n, 1n << 64n, (1n << 64n) + BASE, (1n << 32n) + 0x1000n),
  fc.bigInt({ min: 0n, max: 64n }).map((k) => BASE + (k << BigInt(pageShift))),
  fc.bigInt({ min: 0n, max: 8n }).map((k) => BASE + (k << 21n) + 8n),
  fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }),
);
const evilNum = fc.oneof(
  fc.constantFrom(0, 1, 2, 512, -1, 1.5, NaN, Infinity, 2 ** 31, 2 ** 53, Number.MAX_SAFE_INTEGER),
  fc.integer({ min: 1, max: 600 }),
);
const evilOpts = fc.oneof(
  fc.constant(undefined), fc.constant(null), fc.constant({}), fc.constant('pin'),
  fc.record({ pin: fc.boolean(), write: fc.boolean(), longterm: fc.boolean(), fastOnly: fc.boolean(), noFault: fc.boolean() }, { requiredKeys: [] }),
  fc.constant({ toString: 1 }), fc.constant(JSON.parse('{"__proto__": {"pin": true}}')),
);

function opArb(pageShift: number, top: bigint): fc.Arbitrary<Op> {
  const page = 1n << BigInt(pageShift);
  // the worst values, and enough good ones that operations also succeed and interact
  const good = fc.oneof(
    fc.bigInt({ min: 0n, max: 1023n }).map((k) => BASE + k * page),
    fc.bigInt({ min: 0n, max: 15n }).map((k) => 3n * BASE + k * (page << 9n)),
  );
  const a = fc.oneof(evilBig(pageShift, top), good, good);
  const len = fc.oneof(evilBig(pageShift, top), fc.constantFrom(page, 8n * page, page << 9n, 1n << 30n), fc.constantFrom(page, page << 9n));
  const pa = fc.oneof(a, fc.bigInt({ min: 0x180n, max: 0x1bfn }).map((k) => k << 12n));
  const o = (name: string, ...args: fc.Arbitrary<unknown>[]) => fc.tuple(...args).map((xs) => ({ name, args: xs }));
  return fc.oneof(
    o('mmap', a, len, fc.constantFrom('anon', 'hugetlb', 'pfnmap', 'bogus', undefined, 'toString'), fc.constantFrom(0, 9, 13, 18, -1, 1.5, undefined), fc.boolean(), fc.boolean()),
    o('mmap', fc.bigInt({ min: 0n, max: 15n }).map((k) => 3n * BASE + k * (page << 9n)), fc.constantFrom(8n * page, page << 9n),
      fc.constantFrom('anon', 'hugetlb', 'pfnmap'), fc.constantFrom(0, 9), fc.boolean(), fc.boolean()),
    o('munmap', a, len), o('zap', a, len), o('fault', a, fc.boolean()), o('populate', a, len, fc.boolean()),
    o('gup', a, evilNum, evilOpts), o('gup', fc.constant(BASE), fc.integer({ min: 1, max: 64 }), evilOpts),
    o('release', fc.nat(8), fc.constantFrom('put', 'unpin'), fc.constantFrom('handle', 'array', 'twice', 'shifted', 'foreign')),
    o('page', fc.oneof(a, fc.constantFrom('12', null, 1.5, -1))),
    o('walk', a), o('walkRaw', fc.oneof(a, pa), a),
    o('writePhys', pa, fc.oneof(fc.constantFrom('abc', null, 0), fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 64 }))),
    o('readPhys', pa, evilNum),
    o('poke', fc.nat(4), fc.constantFrom('end', 'far', 'header', 'own', 'root', 'raw', 'misaligned')),
    o('mm', fc.constantFrom('create', 'destroy', 'foreign')),
    o('check'),
  );
}

/** An argument as text, whatever it is (String() throws on { toString: 1 }). */
const show = (x: unknown): string => {
  if (typeof x === 'bigint') return `${x}n`;
  try { return JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)) ?? String(x); } catch { return Object.prototype.toString.call(x); }
};

function observe(m: Machine, mms: Mm[]) {
  const s = m.stats();
  const rc = m.refcounts(0n, Number(m.ramPfns));
  let h = 0;
  for (let i = 0; i < rc.length; i++) h = (Math.imul(h, 31) + rc[i] + i) | 0;
  return {
    // state, not event counts (faults, tables freed, flushes happen on the way to a refusal that is then undone)
    s: [s.freePages, s.poolFreeBytes, s.gupOutstanding, s.pinOutstanding],
    h,
    mms: mms.map((mm) => [mm.vmas().length, mm.counters().rssAnon, m.walk(mm, BASE).entry, m.walk(mm, BASE + (2n << 20n)).entry]),
  };
}

/** What the runs reached: calls that worked and errors by code, per operation. */
const reached = new Map<string, number>();
const tally = (k: string) => reached.set(k, (reached.get(k) ?? 0) + 1);

function run(target: { arch: string; variant: string }, ops: Op[]): void {
  const m = Machine.createSync({ ...target, ramMiB: 64, tablePoolMiB: 2 });
  const other = Machine.createSync({ ...target, ramMiB: 16, tablePoolMiB: 1 });
  const foreignMm = other.createMm();
  foreignMm.mmap({ start: BASE, length: 1n << 21n, populate: true });
  const foreignPins = foreignMm.gupFast(BASE, 2, { pin: true });
  const ps = m.desc.pageShift;
  const lv = m.desc.levels;
  const mms: Mm[] = [m.createMm()];
  mms[0].mmap({ start: BASE, length: 1n << 30n, populate: false });
  const held: GupResult[] = [];
  const pokes: { pa: bigint; orig: bigint; crafted: bigint }[] = [];
  const base = (m as unknown as Internals).poolBase;
  const dv = new DataView(m.memory.buffer);
  const rd = (pa: bigint) => dv.getBigUint64(base + Number(pa), !m.desc.bigEndian);
  const wr = (pa: bigint, v: bigint) => dv.setBigUint64(base + Number(pa), BigInt.asUintN(64, v), !m.desc.bigEndian);

  for (const op of ops) {
    const mm = mms[mms.length - 1];
    const before = pokes.length === 0 ? observe(m, mms) : undefined;
    const A = op.args as any[];
    try {
      switch (op.name) {
        case 'mmap': mm.mmap({ start: A[0], length: A[1], kind: A[2], hugeOrder: A[3], populate: A[4], write: A[5], pfn: 0x10n }); break;
        case 'munmap': mm.munmap(A[0], A[1]); break;
        case 'zap': mm.zap(A[0], A[1]); break;
        case 'fault': mm.fault(A[0], { write: A[1] }); break;
        case 'populate': mm.populate(A[0], A[1], { write: A[2] }); break;
        case 'gup': { const r = mm.gupFast(A[0], A[1], A[2]); if (r.nr > 0) held.push(r); break; }
        case 'release': {
          const r = held[A[0] % Math.max(1, held.length)];
          const put = A[1] === 'put';
          if (A[2] === 'foreign') { put ? m.put(foreignPins) : m.unpin(foreignPins); break; }
          if (!r) break;
          if (A[2] === 'array') put ? m.put({ pfns: Array.from(r.pfns) }) : m.unpin({ pfns: Array.from(r.pfns), pin: r.pin });
          else if (A[2] === 'shifted') put ? m.put({ pfns: r.pfns.map((p) => p + 1n) }) : m.unpin({ pfns: r.pfns.map((p) => p + 1n), pin: r.pin });
          else put ? m.put(r) : m.unpin(r);
          held.splice(held.indexOf(r), 1);
          if (A[2] === 'twice') {
            // the first release was good; the second must be refused and change nothing
            const mid = pokes.length === 0 ? observe(m, mms) : undefined;
            let err: unknown;
            try { put ? m.put(r) : m.unpin(r); } catch (e) { err = e; }
            expect(err, 'a second release of one result').toBeInstanceOf(PgtemuError);
            if (mid) expect(observe(m, mms), 'a refused second release changed the machine').toEqual(mid);
          }
          break;
        }
        case 'page': m.page(A[0]); break;
        case 'walk': m.walk(mm, A[0]); break;
        case 'walkRaw': m.walkRaw(A[0], A[1]); break;
        case 'writePhys': m.writePhys(A[0], A[1]); break;
        case 'readPhys': m.readPhys(A[0], A[1]); break;
        case 'poke': {
          // a crafted entry in a live table, behind the API's back (undone at the end)
          const level = A[0] % (lv.length - 1);
          let t = mm.rootPa;
          let at = 0n;
          for (let l = 0; l <= level; l++) {
            at = t + ((BASE >> BigInt(lv[l].shift)) & ((1n << BigInt(lv[l].indexBits)) - 1n)) * 8n;
            if (l < level) t = decodeTablePa(lv[l], rd(at));
            if (t >= BigInt(m.poolBytes)) break;
          }
          if (t >= BigInt(m.poolBytes) || at >= BigInt(m.poolBytes)) break;
          const target = { end: BigInt(m.poolBytes), far: 1n << 40n, header: (1n << 32n) + 0x1000n, own: at & ~0xfffn, root: mm.rootPa, raw: 0x1000n, misaligned: decodeTablePa(lv[level], rd(at)) + 8n }[A[1] as string]!;
          const crafted = encodeTableEntry(lv[level], target);
          if (crafted === rd(at)) break;                      // not representable here: nothing poked
          // only an entry Linux reads as a present table: a non-present one is
          // zapped (cleared) as the kernel clears a bad or swap-like entry, and
          // the subtree the poke hid would then be lost for good
          const f = decodeEntry(lv[level], crafted);
          if (!f.present || f.leaf || !f.table) break;
          pokes.push({ pa: at, orig: rd(at), crafted });
          wr(at, crafted);
          break;
        }
        case 'mm':
          if (A[0] === 'create' && mms.length < 4) { const n = m.createMm(); n.mmap({ start: BASE, length: 1n << 30n }); mms.push(n); }
          else if (A[0] === 'destroy' && mms.length > 1 && pokes.length === 0) {
            const victim = mms[mms.length - 1];
            // pins into a destroyed mm's pages stay valid (the pages outlive the mapping)
            victim.destroy();
            mms.pop();
          } else if (A[0] === 'foreign') m.walk(foreignMm, BASE);
          break;
        case 'check': m.checkInvariants(); break;
      }
      tally(`${op.name}:ok`);
    } catch (e) {
      if (e instanceof PgtemuError) tally(`${op.name}:${e.code}`);
      if (!(e instanceof PgtemuError)) throw new Error(`${op.name}(${A.map(show).join(', ')}) threw a raw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
      expect(e.code, `${op.name}: ${e.message}`).not.toBe('ETRAP');
      // MADV_POPULATE is not all or nothing: the faults before the failing one stay (the message says how far it got)
      const partial = op.name === 'populate' && !/after 0x0 bytes/.test(e.message);
      if (before && !partial) expect(observe(m, mms), `${op.name}(${A.map(show).join(', ')}) failed with ${e.code} and changed the machine`).toEqual(before);
    }
  }
  // undo the pokes (a crafted entry is never followed, so nothing can have replaced it)
  for (const p of pokes.reverse()) {
    expect(rd(p.pa), 'a crafted entry was overwritten').toBe(p.crafted);
    wr(p.pa, p.orig);
  }
  for (const r of held) r.pin ? m.unpin(r) : m.put(r);
  expect(m.checkInvariants().map((v) => v.message)).toEqual([]);
  for (const mm of mms) mm.destroy();
  expect(m.checkInvariants()).toEqual([]);
}

describe('seeded fuzz through the public API', () => {
  it.each(TARGETS)('$arch/$variant: every call works or throws a PgtemuError that changes nothing', (t) => {
    const probe = Machine.createSync({ ...t, ramMiB: 16, tablePoolMiB: 1 });
    const top = 1n << BigInt(probe.desc.userVaBits);
    fc.assert(fc.property(fc.array(opArb(probe.desc.pageShift, top), { minLength: 10, maxLength: 40 }), (ops) => run(t, ops)),
      { seed: SEED, numRuns: RUNS, endOnFailure: true });
  }, LONG > 0 ? 3_600_000 : 60_000);

  it('reached the hard cases (the fuzz is not just refused at the door)', () => {
    const got = (k: string) => reached.get(k) ?? 0;
    for (const k of ['gup:ok', 'release:ok', 'release:EINVAL', 'fault:ok', 'fault:EBADTABLE', 'gup:EBADTABLE', 'munmap:ok',
      'writePhys:ok', 'writePhys:EINVAL', 'walkRaw:ok', 'mmap:ok', 'mmap:EINVAL', 'page:EINVAL']) {
      expect(got(k), `${k} (reached: ${[...reached].map(([a, b]) => `${a}=${b}`).join(' ')})`).toBeGreaterThan(0);
    }
  });
});
