// V6 of the ZONE_DEVICE verdicts: memunmap_pages racing gup-fast. Two workers
// loop pin + unpin over one device-DAX range -- a PTE table whose first half
// maps 4 KiB device pages of pgmap A and second half those of pgmap C, then one
// PMD-sized device folio of pgmap B -- while the main thread zaps the range
// under them a few times (the pgmaps live; the slow path faults it back), then
// tears the devices down: kill B, kill C, kill A (memunmap_pages' first half:
// percpu_ref_kill and the setup references put; pgtemu's kill() is kill_dax
// too, so a new fault gets SIGBUS), munmap the range (the zap of kill_dev_dax's
// unmap_mapping_range), stop the workers (each loop gives back what it holds
// at its round boundary), and only then finish memunmap_pages
// (pageunmap_range). The checker must then report nothing, and every pgmap be
// destroyed with no page in use.
//
// What each era must show on the way (v6.12 mm/gup.c gup_fast_pte_range,
// gup_fast_undo_dev_pagemap, gup_fast_devmap_leaf, follow_page_pte,
// follow_devmap_pmd; mm/memremap.c get_dev_pagemap, memunmap_pages; unified:
// gup asks for no pgmap, and memunmap_pages waits only for pgmap->ref, which
// device-DAX pages do not hold):
//   legacy  (v6.0, v6.1, v6.12): each walker holds at most one pgmap reference
//           at a time (cached per PTE table, per devmap leaf, per slow call).
//           B killed: percpu_ref_tryget_live fails at the PMD leaf; gup-fast
//           keeps the PTE table it took from an earlier table and stops, the
//           slow path's follow_devmap_pmd fails too: every call takes the
//           table, fast. C killed: the lookup fails in the middle of the table,
//           and gup-fast undoes A's pages it took in it; the slow path takes
//           them again page by page and stops at C: every call takes A's
//           quarter, slow. A killed: calls take nothing. The count drains to
//           exactly 0 as the walkers let go.
//   unified (v6.15, v6.17): the counts never move while pages are pinned, drop
//           to 0 at the kill, and the pins go on succeeding until the munmap;
//           the workers must let go before pageunmap_range, or the checker
//           reports a destroyed pgmap with pages in use (the last tests).
//
// The order differs from kill_dev_dax's (drivers/dax/bus.c: kill_dax,
// unmap_mapping_range, and only later, as a devm action, memunmap_pages) on
// purpose: with the entries still there after the kill, every legacy walker
// meets the killed reference, which in the kernel only a walker that read its
// entry before the zap can.
//
// Deterministic without timing: every stage waits for the workers' statistics
// (Machine.stats, summed over the contexts) to move by a fixed number of calls
// or pages, and the bounds allow for the one call per worker that may be in
// flight across a stage's edge. Nothing here measures a time.
import { afterEach, describe, expect, it } from 'vitest';
import { Machine, KERNELS, WorkerPool, resolve, type Pgmap } from '../../src/index.js';

const ARCHES = ['x86_64', 'arm64', 's390', 'ppc64', 'riscv', 'loongarch'];
// Left out: legacy presets where pte_mkdevmap sets no special bit (riscv and loongarch, v6.11 to
// v6.14): vm_normal_page then takes a 4 KiB devmap pte for a normal page, and every zap drops a
// reference and a mapcount the DAX fault never took (test/model/devdax.test.ts); a race over those
// pages would test that kernel bug, not the teardown.
const DEVMAP_PTE_NOT_SPECIAL = ['riscv', 'loongarch'];
const LEGACY = new Set(['v6.0', 'v6.1', 'v6.12']);
const VA = 0x4000_0000n;
const DEV = 1n << 36n;           // above every machine's RAM, below MAX_PHYSMEM_BITS on each arch
const WINDOW = 40;               // calls (or calls' worth of pages) each stage waits for
const LIVE_ROUNDS = 60;
const ZAPS = 10;                 // zaps under the walkers before the teardown
const FOREVER = 0xffff_ffff;     // rounds: the loops run until close() stops them

let pool: WorkerPool | undefined;
afterEach(async () => { await pool?.close(); pool = undefined; });

function machine(arch: string, kernel: string): Machine {
  return Machine.createSync({ arch, kernel, ramMiB: 16, tablePoolMiB: 4, threads: 3 });
}

/** The workers' gup statistics, summed over the contexts. */
function progress(m: Machine): { fast: bigint; slow: bigint; bails: bigint } {
  const s = m.stats();
  return { fast: s.gupFastPages, slow: s.gupSlowPages, bails: s.gupFastBails };
}

/**
 * Sleep-poll (the main thread yields its core to the workers) until `ok`.
 * A guard of many polls turns a worker that stopped making progress into a
 * failure with a message instead of a hang: `during` is synchronous, so
 * vitest's timeout could not end it.
 */
const nap = new Int32Array(new SharedArrayBuffer(4));
function waitFor(what: string, ok: () => boolean): void {
  for (let i = 0; !ok(); i++) {
    if (i > 100_000) throw new Error(`the workers stopped making progress waiting for ${what}`);
    Atomics.wait(nap, 0, 0, 0.1);
  }
}

describe.each(ARCHES)('%s: memunmap_pages racing gup-fast on device-DAX', (arch) => {
  for (const kernel of Object.keys(KERNELS)) {
    if (!resolve({ arch, kernel }).era.zoneDevice) {
      it(`${kernel}: no ZONE_DEVICE (mm/Kconfig: depends on ARCH_HAS_PTE_DEVMAP, and ${arch} has no devmap bit): memremap_pages is refused with that reason`, () => {
        const m = machine(arch, kernel);
        expect(m.era.zoneDeviceWhyNot).toMatch(/ARCH_HAS_PTE_DEVMAP \(mm\/Kconfig/);
        const sec = 1n << BigInt(m.desc.sectionSizeBits);
        for (const folioOrder of [0, Math.min(...m.leafOrders.filter((o) => o > 0))]) {
          expect(() => m.memremapPages({ type: 'devdax', start: DEV, size: sec, folioOrder })).toThrow(expect.objectContaining({
            code: 'EINVAL', message: expect.stringMatching(/has no ZONE_DEVICE: ZONE_DEVICE depends on ARCH_HAS_PTE_DEVMAP \(mm\/Kconfig/),
          }));
        }
        expect(m.checkInvariants()).toEqual([]);
      });
      continue;
    }
    const legacy = LEGACY.has(kernel);
    if (legacy && DEVMAP_PTE_NOT_SPECIAL.includes(arch)) continue;
    it(`${kernel}: ${legacy
      ? 'a killed pgmap fails tryget_live: earlier tables stay, the table is undone, the slow path stops there; the counts drain to 0 as the walkers let go'
      : 'gup takes no pgmap reference: the counts never move, pins go on until the munmap'}; workers stopped, then pageunmap_range: checker clean, nothing in use`, async () => {
      const m = machine(arch, kernel);
      const ps = BigInt(m.desc.pageShift);
      const pmdOrder = Math.min(...m.leafOrders.filter((o) => o > 0));
      const pmd = 1n << (ps + BigInt(pmdOrder));
      const half = 2 ** pmdOrder;                    // pages of one PTE table, and of one PMD folio
      const quarter = half / 2;
      const nr = 2 * half;                           // one call: the PTE table and the PMD folio
      const sec = 1n << BigInt(m.desc.sectionSizeBits);
      const a = m.memremapPages({ type: 'devdax', start: DEV, size: sec });
      const c = m.memremapPages({ type: 'devdax', start: DEV + sec, size: sec });
      const b = m.memremapPages({ type: 'devdax', start: DEV + 2n * sec, size: sec, folioOrder: pmdOrder });
      const all = [a, b, c];
      // memremap_pages' percpu_ref_init (1) and percpu_ref_get_many(pfn_len): one per folio
      const live = (pg: Pgmap) => 1n + ((pg.endPfn - pg.startPfn) >> BigInt(pg.folioOrder));
      const counts = () => all.map((pg) => pg.count());
      expect(counts()).toEqual(all.map(live));
      const mm = m.createMm();
      mm.mmap({ start: VA, length: pmd / 2n, kind: 'devdax', pgmap: a });
      mm.mmap({ start: VA + pmd / 2n, length: pmd / 2n, kind: 'devdax', pgmap: c });
      mm.mmap({ start: VA + pmd, length: pmd, kind: 'devdax', pgmap: b });
      mm.populate(VA, 2n * pmd, { write: true });
      expect([VA, VA + pmd / 2n, VA + pmd].map((va) => [m.walk(mm, va).size, m.walk(mm, va).pfn])).toEqual([
        [1n << ps, a.startPfn], [1n << ps, c.startPfn], [pmd, b.startPfn],
      ]);
      pool = await WorkerPool.start(m, 2);
      const loops = (rounds: number) => [
        { mm, start: VA, nr, pin: true, write: true, rounds },
        { mm, start: VA, nr, pin: true, rounds },
      ];

      // 1. All live: every call takes all of it, and the walkers' pgmap
      // references (legacy) all went back: the counts are exactly memremap's.
      const first = await pool.run(loops(LIVE_ROUNDS));
      expect(first.results.map((r) => [r.error, r.status, r.pages, r.short])).toEqual([
        [undefined, 0, LIVE_ROUNDS * nr, 0], [undefined, 0, LIVE_ROUNDS * nr, 0],
      ]);
      expect(counts()).toEqual(all.map(live));
      expect(m.checkInvariants()).toEqual([]);

      // 2. Zaps, then the teardown, racing the loops.
      type Progress = ReturnType<typeof progress>;
      const pages = (p: Progress) => p.fast + p.slow;
      const inFlight = BigInt(2 * nr);               // what one call per worker, begun before a stage's edge, may take
      const liveCounts: bigint[][] = [];
      const stages = [{ name: 'B', pg: b }, { name: 'C', pg: c }, { name: 'A', pg: a }];
      const seen: Record<string, Progress> = {};
      const killed: Record<string, bigint[]> = {};
      const stateAtKill: Record<string, string> = {};
      let faults0 = 0n, faults1 = 0n;
      let stopping: Promise<void> | undefined;
      const running = pool.run(loops(FOREVER), () => {
        const p0 = progress(m);
        waitFor('the loops to start', () => pages(progress(m)) - pages(p0) >= BigInt(WINDOW * nr));
        // zaps under the walkers, the pgmaps live (what unmap_mapping_range does to them): a walker that
        // took pages of an entry sees it change and gives them back (legacy: a devmap leaf undoes all the
        // subpages it took), and the slow path faults the entries back. Each zap waits for a call begun
        // after it, so each entry is faulted once per zap.
        faults0 = m.stats().faults;
        for (let i = 0; i < ZAPS; i++) {
          mm.zap(VA, 2n * pmd);
          const z = progress(m);
          liveCounts.push(counts());
          waitFor('pins after a zap', () => pages(progress(m)) - pages(z) >= BigInt(2 * nr) + inFlight);
        }
        faults1 = m.stats().faults;
        liveCounts.push(counts());
        for (const { name, pg } of stages) {
          pg.kill();
          stateAtKill[name] = pg.state();
          const k = (seen[`kill${name}`] = progress(m));
          if (legacy) waitFor(`calls after the kill of ${name}`, () => progress(m).bails - k.bails >= BigInt(WINDOW));
          else waitFor(`pins after the kill of ${name}`, () => pages(progress(m)) - pages(k) >= BigInt(WINDOW * nr));
          seen[`after${name}`] = progress(m);
          killed[name] = counts();
        }
        seen.munmap = progress(m);
        mm.munmap(VA, 2n * pmd);                     // kill_dev_dax's unmap_mapping_range, under the walkers
        waitFor('calls after the munmap', () => progress(m).bails - seen.munmap.bails >= BigInt(WINDOW));
        // each loop stops at its next round boundary, holding nothing. close() is called once run() has
        // returned its promise: called from `during` itself it may find no run in flight yet (start()
        // calls `during` before its first await when the workers were ready at once) and end them mid-loop
        queueMicrotask(() => { stopping = pool!.close(); });
      });
      const { results } = await running;
      await stopping;
      pool = undefined;
      seen.end = progress(m);
      for (const r of results) {
        expect(r.error).toBeUndefined();
        expect(r.status).toBe(0);
        expect(r.stopped).toBe(true);
      }
      // every zap cleared the PTE table and the PMD leaf, and one slow path faulted them back
      expect(faults1 - faults0).toBe(BigInt(ZAPS * (half + 1)));
      const short = results.reduce((s, r) => s + r.short, 0);
      if (legacy) {
        // while live, each walker held at most one pgmap reference (cached per table, per leaf, per slow call)
        for (const cs of liveCounts) {
          expect(cs.every((n, i) => n >= live(all[i]) && n <= live(all[i]) + 2n), `live counts ${cs}`).toBe(true);
        }
        // once killed, only the walkers' own: at most one each
        for (const { name, pg } of stages) expect(killed[name][all.indexOf(pg)] <= 2n, `${name}'s count ${killed[name]}`).toBe(true);
        // each stage's calls, by what one call takes once the pgmap is killed: [fast, slow] pages
        const per: Record<string, [number, number]> = { B: [half, 0], C: [0, quarter], A: [0, 0] };
        for (const { name } of stages) {
          const [k, e] = [seen[`kill${name}`], seen[`after${name}`]];
          const calls = e.bails - k.bails;           // every call bails in gup-fast once B is killed
          for (const [what, got, each] of [['fast', e.fast - k.fast, per[name][0]], ['slow', e.slow - k.slow, per[name][1]]] as const) {
            const n = BigInt(each);
            expect(got >= n * (calls - 4n) && got <= n * calls + inFlight, `${name} killed: ${got} ${what} pages in ${calls} calls, ${each} each`).toBe(true);
          }
        }
        // every call from B's kill on came up short (its gup-fast bailed, and the slow path could not finish)
        expect(BigInt(short) + 2n >= seen.end.bails - seen.killB.bails, `${short} short rounds, ${seen.end.bails - seen.killB.bails} bails`).toBe(true);
      } else {
        // the counts are memremap's while racing, and 0 from the kill: no walker took any
        expect(liveCounts).toEqual(Array(ZAPS + 1).fill(all.map(live)));
        expect([killed.B, killed.C, killed.A]).toEqual([[live(a), 0n, live(c)], [live(a), 0n, 0n], [0n, 0n, 0n]]);
        // memunmap_pages' wait_for_completion returns at once: nothing waits for the pins being taken
        expect(stateAtKill).toEqual({ B: 'drained', C: 'drained', A: 'drained' });
        // and the pins kept succeeding after the kills: only calls around or after the munmap came up short
        expect(BigInt(short) <= seen.end.bails - seen.munmap.bails + 2n, `${short} short rounds, ${seen.end.bails - seen.munmap.bails} calls from the munmap on`).toBe(true);
      }
      // the workers stopped: nothing is held, the counts are exactly 0 and dead, and pageunmap_range may run
      expect([m.stats().gupOutstanding, m.stats().pinOutstanding]).toEqual([0n, 0n]);
      for (const pg of all) {
        expect(pg.count()).toBe(0n);
        expect([pg.state(), pg.stats().dead]).toEqual(['drained', true]);
      }
      // device-DAX idles at 1 in both eras
      for (const pg of [a, c]) expect([...m.refcounts(pg.startPfn, quarter)].filter((r) => r !== 1)).toEqual([]);
      expect([m.page(b.startPfn).refcount, m.page(b.startPfn).pincount]).toEqual([1, 0]);
      expect(mm.counters().rssFile).toBe(0n);
      expect(m.checkInvariants()).toEqual([]);
      for (const pg of all) {
        expect(pg.settle()).toEqual({ inUse: 0n });
        expect(pg.state()).toBe('destroyed');
        expect(pg.stats().inUseAtDestroy).toBe(0n);
      }
      expect(m.checkInvariants()).toEqual([]);
    });
  }
});

// Why the workers stop before pageunmap_range in the unified era: nothing in
// memunmap_pages waits for a device-DAX pin, so removing the struct pages
// under one is what the checker reports (invariant 2).
describe('unified: a pin still held when the pgmap goes', () => {
  for (const kernel of Object.keys(KERNELS).filter((k) => !LEGACY.has(k))) {
    it(`${kernel}: memunmap_pages does not wait for it; the checker reports pgmap-destroyed-in-use`, async () => {
      const m = machine('x86_64', kernel);
      const pg = m.memremapPages({ type: 'devdax', start: DEV, size: 1n << BigInt(m.desc.sectionSizeBits) });
      const mm = m.createMm();
      mm.mmap({ start: VA, length: 1n << 21n, kind: 'devdax', pgmap: pg, populate: true });
      const held = mm.gupFast(VA, 1, { pin: true });
      expect(held.nr).toBe(1);
      pg.kill();
      mm.munmap(VA, 1n << 21n);
      expect(pg.state()).toBe('drained');
      expect(pg.settle()).toEqual({ inUse: 1n, firstInUsePfn: pg.startPfn });
      // and the pin's GUP_PIN_COUNTING_BIAS references, still outstanding, are held by no struct page left
      expect(m.checkInvariants().map((v) => [v.name, v.pfn, v.expected, v.actual])).toEqual([
        ['pgmap-destroyed-in-use', pg.startPfn, 0n, 1n], ['outstanding', 0n, 1024n, 0n],
      ]);
    });
  }
});
