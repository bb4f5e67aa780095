// Measurement primitives shared by `npm run bench` (bench/), the CLI's short
// benchmark and the README table. Every loop runs inside the core: no per-page
// JS, no per-call messages; the host only times whole batches.

import { Machine, type Mm } from './machine.js';
import type { Pgmap } from './pgmap.js';
import { PgtemuError } from './errors.js';
import { FOLL_GET, FOLL_PIN, FOLL_WRITE } from './consts.gen.js';

export interface GupCase { order: number; pages: number; pin: boolean; write: boolean }

/** A case's virtual range: `pages` pages rounded up to whole leaves of `order`, at 4 GiB (or at its own length, when longer). */
function caseRange(m: Machine, c: { order: number; pages: number }): { start: bigint; len: bigint } {
  const ps = m.desc.pageShift;
  const size = 1n << BigInt(ps + c.order);
  const len = ((BigInt(c.pages) << BigInt(ps)) + size - 1n) & ~(size - 1n);
  return { start: len > 1n << 32n ? len : 1n << 32n, len };
}

/** Map and populate one region for a case; returns the mm and its start. */
export function prepareGup(m: Machine, c: { order: number; pages: number }): { mm: Mm; start: bigint } {
  const { start, len } = caseRange(m, c);
  const mm = m.createMm();
  mm.mmap({ start, length: len, kind: c.order === 0 || c.order === m.leafOrders.filter((o) => o > 0).sort((a, b) => a - b)[0] ? 'anon' : 'hugetlb', hugeOrder: c.order, populate: true });
  return { mm, start };
}

/** One batch: `rounds` x (gup `pages` pages + release them), in the core on the calling thread. */
export function gupRounds(m: Machine, mm: Mm, start: bigint, c: GupCase, rounds: number): number {
  const flags = (c.pin ? FOLL_PIN : FOLL_GET) | (c.write ? FOLL_WRITE : 0);
  const o = m.call('gupUnpinLoop', { mm: mm.ptr, start, nr: c.pages, flags, rounds, span: 0 });
  if (o.status < 0) throw new PgtemuError('EFAULT', `bench: gup loop failed (${o.status})`);
  const pages = Number(o.pages);
  if (pages !== rounds * c.pages) throw new PgtemuError('EFAULT', `bench: took ${pages} of ${rounds * c.pages} pages`);
  return pages;
}

/** `count` random walks over [start, start + len). */
export function walkRounds(m: Machine, mm: Mm, start: bigint, len: bigint, count: number, seed = 0x9e3779b97f4a7c15n): number {
  return Number(m.call('walkMany', { mm: mm.ptr, start, len, count, seed }).hits);
}

/** ns per page of gup + release, median of `samples` timed batches. */
export function timeGup(m: Machine, c: GupCase, o: { rounds: number; samples: number; warmUpMs?: number }): number {
  const { mm, start } = prepareGup(m, c);
  warmUp(() => gupRounds(m, mm, start, c, 1), o.warmUpMs ?? 30);
  const t: number[] = [];
  for (let i = 0; i < o.samples; i++) {
    const t0 = performance.now();
    const pages = gupRounds(m, mm, start, c, o.rounds);
    t.push(((performance.now() - t0) * 1e6) / pages);
  }
  mm.destroy();
  return median(t);
}

/** ns per random walk over a populated region, median of `samples`. */
export function timeWalk(m: Machine, o: { count: number; samples: number; pages?: number; warmUpMs?: number }): number {
  const { mm, start } = prepareGup(m, { order: 0, pages: o.pages ?? 4096 });
  const len = BigInt(o.pages ?? 4096) << BigInt(m.desc.pageShift);
  warmUp(() => walkRounds(m, mm, start, len, 512), o.warmUpMs ?? 30);
  const t: number[] = [];
  for (let i = 0; i < o.samples; i++) {
    const t0 = performance.now();
    const hits = walkRounds(m, mm, start, len, o.count);
    if (hits !== o.count) throw new PgtemuError('EFAULT', `bench: ${o.count - hits} walks missed`);
    t.push(((performance.now() - t0) * 1e6) / o.count);
  }
  mm.destroy();
  return median(t);
}

/**
 * Calls `fn` for `ms` milliseconds. V8 first runs the core's functions as
 * baseline (Liftoff) code and re-compiles the busy ones with TurboFan on a
 * background thread; a function in the middle of a call keeps the code it
 * started with, so the warm-up is many short calls, not one long one.
 */
export function warmUp(fn: () => unknown, ms: number): void {
  const until = performance.now() + ms;
  do fn(); while (performance.now() < until);
}

export function median(v: number[]): number {
  return quantile(v, 0.5);
}

/** The q-quantile of `v` (0 <= q <= 1), interpolated linearly between the two nearest samples. */
export function quantile(v: number[], q: number): number {
  const s = [...v].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return s[lo] + (s[Math.ceil(i)] - s[lo]) * (i - lo);
}

// ---------------------------------------------------------------- device-DAX: devmap against unified

/** Where the comparison's device memory starts (physical): above any RAM a bench machine has, aligned to every section and leaf. */
const DEV_START = 1n << 36n;

/**
 * Map a device-DAX range (memremap_pages, MEMORY_DEVICE_GENERIC, in folios
 * of `order`; then an mmap of the device) of `pages` pages rounded up to
 * whole folios, and fault all of it in.
 */
export function prepareDevdax(m: Machine, c: { order: number; pages: number }): { mm: Mm; start: bigint; pgmap: Pgmap } {
  const { start, len } = caseRange(m, c);
  const sec = 1n << BigInt(m.desc.sectionSizeBits);
  const pgmap = m.memremapPages({ type: 'devdax', start: DEV_START, size: ((len + sec - 1n) / sec) * sec, folioOrder: c.order });
  const mm = m.createMm();
  mm.mmap({ start, length: len, kind: 'devdax', pgmap, populate: true });
  return { mm, start, pgmap };
}

/**
 * The two kernels compared: v6.12, the last preset with devmap entries
 * (legacy refcounts), and v6.17, after their removal (unified refcounts,
 * no devmap code).
 */
export const DEVMAP_KERNELS = { legacy: 'v6.12', unified: 'v6.17' } as const;

export interface DevmapRow {
  /** 'base': the device in folios of one page; 'pmd': in folios of one pmd leaf */
  case: 'base' | 'pmd';
  /** the device's folio order */
  order: number;
  /** pages pinned and unpinned per call (the same on both kernels and in both cases) */
  pages: number;
  /** calls per timed batch on each kernel (one batch each per round, each about DevmapOptions.batchMs long) */
  legacyCalls: number;
  unifiedCalls: number;
  /** ns per page (the arch's PAGE_SIZE) of pin + unpin: the median over the rounds */
  legacyNsPerPage: number;
  unifiedNsPerPage: number;
  /** legacy / unified time per round: median, 25th and 75th percentile */
  ratio: number;
  ratioP25: number;
  ratioP75: number;
}

export interface DevmapResult {
  arch: string;
  variant: string;
  legacy: string;
  unified: string;
  pageShift: number;
  /** the pmd leaf's order (pages = 2^order) */
  pmdOrder: number;
  rounds: number;
  /** the two cases; none when either kernel has no ZONE_DEVICE on this arch (then `why`) */
  rows: DevmapRow[];
  why?: string;
}

export interface DevmapOptions {
  /** interleaved rounds per case (each one batch per kernel) */
  rounds: number;
  /** warm-up per case, both machines in turn, before anything counts (default 300) */
  warmUpMs?: number;
  /** the length of one batch, what each side's calls per batch are sized to (default 1) */
  batchMs?: number;
}

/**
 * FOLL_PIN gup-fast + unpin over the same device memory on the legacy and
 * the unified kernel (DEVMAP_KERNELS), one machine each, as base pages and
 * as pmd-sized folios; max(512, one pmd leaf) pages per call, inside the
 * core (gupUnpinLoop). v6.12 (mm/gup.c): gup_fast_pte_range takes a devmap
 * pte under a pgmap reference that get_dev_pagemap caches for the rest of
 * the pte table, and gup_fast_devmap_leaf grabs a devmap pmd leaf one page
 * at a time; v6.17 takes a normal pte on the refcount alone and a pmd leaf
 * with one add for all its pages (gup_fast_pmd_leaf).
 *
 * The host's speed drifts between levels every few tens of ms, so the two
 * machines run in rounds of one short batch each (the order alternating per
 * round), and each round gives a ratio legacy/unified; times are compared
 * only within a round. Refuses (EFAULT) a setup where gup-fast does not
 * take every page (the slow path would be timed instead), and a run after
 * which a machine's invariants or its pgmap's reference count are off.
 */
export function devmapVsUnified(arch: string, variant: string | undefined, o: DevmapOptions): DevmapResult {
  const { rounds, warmUpMs = 300, batchMs = 1 } = o ?? ({} as DevmapOptions);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 10_000) throw new PgtemuError('EINVAL', `devmap bench: rounds ${rounds} is not an integer in 1..10000`);
  if (typeof warmUpMs !== 'number' || !(warmUpMs >= 0 && warmUpMs <= 60_000)) throw new PgtemuError('EINVAL', `devmap bench: warmUpMs ${warmUpMs} is not in 0..60000`);
  if (typeof batchMs !== 'number' || !(batchMs > 0 && batchMs <= 1000)) throw new PgtemuError('EINVAL', `devmap bench: batchMs ${batchMs} is not in (0, 1000]`);
  const make = (kernel: string) => Machine.createSync({ arch, variant, kernel, ramMiB: 64, tablePoolMiB: 8 });
  const probes = [make(DEVMAP_KERNELS.legacy), make(DEVMAP_KERNELS.unified)];
  const pmdOrder = Math.min(...probes[0].leafOrders.filter((x) => x > 0));
  const result: DevmapResult = {
    arch, variant: probes[0].desc.variant, legacy: DEVMAP_KERNELS.legacy, unified: DEVMAP_KERNELS.unified,
    pageShift: probes[0].desc.pageShift, pmdOrder, rounds, rows: [],
  };
  const missing = probes.find((m) => !m.era.zoneDevice);
  if (missing) return { ...result, why: `${missing.kernel}: ${missing.era.zoneDeviceWhyNot}` };
  const pages = Math.max(512, 2 ** pmdOrder);
  for (const [name, order] of [['base', 0], ['pmd', pmdOrder]] as const) {
    const c: GupCase = { order, pages, pin: true, write: false };
    const sides = [make(DEVMAP_KERNELS.legacy), make(DEVMAP_KERNELS.unified)].map((m) => {
      const d = prepareDevdax(m, c);
      const g = d.mm.gupFast(d.start, pages, { pin: true });
      m.unpin(g);
      if (g.nr !== pages || g.fast !== pages) throw new PgtemuError('EFAULT', `devmap bench: ${m.kernel} gup-fast took ${g.fast} of ${pages} device pages (the slow path took ${g.nr - g.fast})`);
      return { m, ...d, refs: d.pgmap.count() };
    });
    const batch = (s: (typeof sides)[number], calls: number) => {
      const t0 = performance.now();
      const got = gupRounds(s.m, s.mm, s.start, c, calls);
      return ((performance.now() - t0) * 1e6) / got;
    };
    warmUp(() => { batch(sides[0], 1); batch(sides[1], 1); }, warmUpMs);
    // each side's batch sized to about batchMs (ms per call from 8 calls), so that
    // both are as exposed to the host's changes of speed
    const [lc, uc] = sides.map((s) => Math.max(1, Math.round(batchMs / ((batch(s, 8) * pages) / 1e6))));
    const legacy: number[] = [], unified: number[] = [], ratios: number[] = [];
    for (let r = 0; r < rounds; r++) {
      let l: number, u: number;
      if (r % 2) { l = batch(sides[0], lc); u = batch(sides[1], uc); } else { u = batch(sides[1], uc); l = batch(sides[0], lc); }
      legacy.push(l); unified.push(u); ratios.push(l / u);
    }
    for (const s of sides) {
      const v = s.m.checkInvariants();
      if (v.length) throw new PgtemuError('EFAULT', `devmap bench: ${s.m.kernel}: ${v.length} invariant violations after the run (first: pfn ${v[0].pfn} ${v[0].invariant})`);
      if (s.pgmap.count() !== s.refs) throw new PgtemuError('EFAULT', `devmap bench: ${s.m.kernel}: the pgmap holds ${s.pgmap.count()} references after the run, ${s.refs} before`);
    }
    result.rows.push({
      case: name, order, pages, legacyCalls: lc, unifiedCalls: uc,
      legacyNsPerPage: median(legacy), unifiedNsPerPage: median(unified),
      ratio: quantile(ratios, 0.5), ratioP25: quantile(ratios, 0.25), ratioP75: quantile(ratios, 0.75),
    });
  }
  return result;
}
