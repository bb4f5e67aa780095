// Property tests of the device paths, both eras: random sequences of faults,
// gup (fast, long-term, get), releases, zaps, migrations to device-private
// memory and back, truncates and pgmap teardown over device-DAX, FS-DAX and
// device-private memory. The kernel's rules are the checker's (DESIGN.md's
// invariants and the device ones): after every step nothing is broken but
// the era's known violation (riscv / loongarch v6.12: a devmap pte without
// the special bit is zapped as a normal page), and after the sequence is
// wound down (every reference given back, the mappings gone, the files
// truncated, the pgmaps torn down) every count is back to its idle value.
//
// PGTEMU_DEVFUZZ_RUNS=x scales the number of sequences (default 1);
// PGTEMU_DEVFUZZ_SEED=n replays a run.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Machine, type DaxFile, type GupResult, type Mm, type Pgmap } from '../../src/index.js';

const SCALE = Number(process.env.PGTEMU_DEVFUZZ_RUNS ?? 1);
const SEED = process.env.PGTEMU_DEVFUZZ_SEED !== undefined ? Number(process.env.PGTEMU_DEVFUZZ_SEED) : undefined;
const VA = 0x4000_0000n;        // device-DAX, 4 PMDs
const FVA = 0x8000_0000n;       // FS-DAX, 4 PMDs
const AVA = 0xc000_0000n;       // anon, for device-private migration

type Cmd =
  | { op: 'fault'; area: 0 | 1 | 2; page: number; write: boolean }
  | { op: 'gup'; area: 0 | 1 | 2; page: number; nr: number; pin: boolean; longterm: boolean; write: boolean }
  | { op: 'release'; which: number }
  | { op: 'zap'; area: 0 | 1 | 2; pmd: number }
  | { op: 'migrate'; page: number; slot: number }
  | { op: 'truncate' };

// pages: mostly a few at the start of each area (so that faults, pins, migrations and zaps meet), sometimes anywhere
const pageNo = fc.oneof(fc.nat(7), fc.nat(7), fc.nat(2047));
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({ op: fc.constant('fault' as const), area: fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2>, page: pageNo, write: fc.boolean() }),
  fc.record({
    op: fc.constant('gup' as const), area: fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2>, page: pageNo, nr: fc.integer({ min: 1, max: 600 }),
    pin: fc.boolean(), longterm: fc.boolean(), write: fc.boolean(),
  }),
  fc.record({ op: fc.constant('release' as const), which: fc.nat(7) }),
  fc.record({ op: fc.constant('zap' as const), area: fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2>, pmd: fc.nat(3) }),
  fc.record({ op: fc.constant('migrate' as const), page: fc.nat(7), slot: fc.nat(7) }),
  fc.record({ op: fc.constant('truncate' as const) }),
);

interface World { m: Machine; mm: Mm; dax: Pgmap; fs: Pgmap; priv: Pgmap; f: DaxFile; held: GupResult[]; pmd: bigint; ps: bigint; k1: boolean }

function world(arch: string, variant: string, kernel: string, daxOrder: 'pte' | 'pmd'): World {
  const m = Machine.createSync({ arch, variant, kernel, ramMiB: 24, tablePoolMiB: 4, deviceMemmapMiB: 96 });
  const ps = BigInt(m.desc.pageShift);
  const pmdOrder = Math.min(...m.leafOrders.filter((o) => o > 0));
  const pmd = 1n << (ps + BigInt(pmdOrder));
  const sec = 1n << BigInt(m.desc.sectionSizeBits);
  const span = (b: bigint) => ((b + sec - 1n) / sec) * sec;
  const dax = m.memremapPages({ type: 'devdax', start: 1n << 40n, size: span(4n * pmd), folioOrder: daxOrder === 'pmd' ? pmdOrder : 0 });
  const fs = m.memremapPages({ type: 'fsdax', start: 2n << 40n, size: span(4n * pmd) });
  const priv = m.memremapPages({ type: 'device-private', start: 3n << 40n, size: sec });
  const f = m.createDaxFile({ pgmap: fs, size: 4n * pmd });
  const mm = m.createMm();
  mm.mmap({ start: VA, length: 4n * pmd, kind: 'devdax', pgmap: dax });
  mm.mmap({ start: FVA, length: 4n * pmd, kind: 'fsdax', file: f });
  mm.mmap({ start: AVA, length: 4n * pmd });
  const k1 = kernel === 'v6.12' && (arch === 'riscv' || arch === 'loongarch');
  return { m, mm, dax, fs, priv, f, held: [], pmd, ps, k1 };
}

// (and when the pgmap goes, a page the zap left at 0 instead of its idle 1 counts as in use)
const KNOWN_K1 = ['dev-idle', 'mapcount', 'ref-negative', 'outstanding', 'ref-balance', 'pgmap-destroyed-in-use'];
function checkNow(w: World, where: string): void {
  const v = [...new Set(w.m.checkInvariants().map((x) => x.name))];
  if (w.k1) expect(v.filter((n) => !KNOWN_K1.includes(n)), where).toEqual([]);
  else expect(v, where).toEqual([]);
}

const base = (w: World, area: number) => (area === 0 ? VA : area === 1 ? FVA : AVA);

function step(w: World, c: Cmd): void {
  const { m, mm } = w;
  const pages = Number((4n * w.pmd) >> w.ps);
  try {
    switch (c.op) {
      case 'fault': mm.fault(base(w, c.area) + (BigInt(c.page % pages) << w.ps), { write: c.write }); break;
      case 'gup': {
        const first = c.page % pages;
        const nr = Math.min(c.nr, pages - first);
        const r = mm.gupFast(base(w, c.area) + (BigInt(first) << w.ps), nr, { pin: c.pin, longterm: c.longterm && c.pin, write: c.write });
        if (r.nr > 0) w.held.push(r);
        break;
      }
      case 'release': {
        if (w.held.length === 0) break;
        const r = w.held.splice(c.which % w.held.length, 1)[0];
        if (r.pin) m.unpin(r); else m.put(r);
        break;
      }
      case 'zap': mm.zap(base(w, c.area) + BigInt(c.pmd) * w.pmd, w.pmd); break;
      case 'migrate': {
        // a write first (as a driver's test does): an exclusive anon page to move (or one moved back)
        const a = AVA + (BigInt(c.page % pages) << w.ps);
        mm.fault(a, { write: true });
        mm.migrateToDevice(a, { pgmap: w.priv, pfn: w.priv.startPfn + BigInt(c.slot) });
        break;
      }
      case 'truncate': {
        const t = w.f.truncate(0n);
        // (the file keeps its blocks: pgtemu's files do not grow; truncate to 0 empties the entries)
        if (t.state === 'waiting') {
          // the filesystem waits for the busy page: give back every reference, then it must finish
          for (const r of w.held.splice(0)) { if (r.pin) m.unpin(r); else m.put(r); }
          if (!t.poll()) expect(w.k1, 'a truncate that still waits once nothing is held').toBe(true);
        }
        break;
      }
    }
  } catch (e) {
    // refusals the kernel gives: SIGBUS past i_size, EBUSY (a pinned page does not migrate), EFAULT/EEXIST, EOPNOTSUPP
    if (!(e instanceof Error) || !('code' in e)) throw e;
  }
}

async function windDown(w: World): Promise<void> {
  const { m, mm } = w;
  for (const r of w.held.splice(0)) { if (r.pin) m.unpin(r); else m.put(r); }
  mm.destroy();
  const t = w.f.truncate(0n);
  if (!w.k1) expect(t.poll()).toBe(true);
  await w.f.evict().done.catch(() => undefined);
  for (const pg of [w.dax, w.fs, w.priv]) {
    pg.kill();
    const r = pg.settle();
    if (!w.k1) expect(r, `${pg.type} torn down`).toEqual({ inUse: 0n });
  }
  checkNow(w, 'after wind-down');
}

const CASES: [string, string, string, 'pte' | 'pmd'][] = [
  ['x86_64', '4level', 'v6.12', 'pmd'], ['x86_64', '4level', 'v6.15', 'pte'], ['x86_64', '4level', 'v6.17', 'pmd'],
  ['arm64', '4k-48', 'v6.0', 'pte'], ['arm64', '4k-48', 'v6.17', 'pte'], ['ppc64', 'radix-64k', 'v6.1', 'pmd'],
  ['riscv', 'sv48', 'v6.12', 'pte'], ['riscv', 'sv48', 'v6.15', 'pmd'], ['s390', '4level', 'v6.17', 'pte'],
];

describe('random device-memory sequences keep every count the kernel keeps', () => {
  it.each(CASES)('%s %s %s (device-DAX align %s)', async (arch, variant, kernel, order) => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 1, maxLength: 32 }), async (cmds) => {
        const w = world(arch, variant, kernel, order);
        for (const [i, c] of cmds.entries()) {
          step(w, c);
          checkNow(w, `after step ${i} ${JSON.stringify(c)}`);
        }
        await windDown(w);
      }),
      { numRuns: Math.max(1, Math.round(12 * SCALE)), ...(SEED !== undefined ? { seed: SEED } : {}) },
    );
  }, 60_000);
});
