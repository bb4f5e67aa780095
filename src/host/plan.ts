// A machine's shared memory, planned when it is created: where each structure
// of assembly/layout.ts lives and how big it is (planMemory, a pure function of
// the options, the descriptor and the core's structure sizes), and the records
// the host writes there before the core attaches (writeInitialRecords, through
// the typed writers scripts/gen-layout.mjs generates into records.gen.ts).

import type { Layout } from './core.js';
import {
  RESERVE, HEADER_SIZE, ARCH_SIZE, ARCH_LEVELS, LEVEL_SIZE, LEVEL_PREDS, LEVEL_TEMPLATES, CTX_HEAD, CTX_SCRATCH, MM_SIZE, VMA_SIZE,
  MAGIC, MODEL_LEGACY, MODEL_UNIFIED, MAX_ORDERS, PGMAP_MAX, DAX_FILES_MAX, WHATIF_NONE, WHATIF_DEVMAP_LESS,
  T_RO, T_RW, T_SPECIAL_RO, T_SPECIAL_RW, T_DEVMAP_RO, T_DEVMAP_RW, K, MAX_SWAPFILES_SHIFT,
} from './consts.gen.js';
import { PRED_NAMES, TEMPLATE_NAMES, hardwareImage, type Descriptor } from './archdesc.js';
import type { Era, Model } from './presets.js';
import { PgtemuError } from './errors.js';
import { writeArchDescInit, writeCtxInit, writeHeaderInit, writeLevelDescInit, writeMmInit, writePredInit } from './records.gen.js';
import type { MachineOptions } from './machine.js';

/** The sizes a machine is created with: MachineOptions' own, their defaults applied and checked. */
export type MachineSizes = Required<Pick<MachineOptions, 'ramMiB' | 'tablePoolMiB' | 'threads' | 'maxMms' | 'vmasPerMm' | 'deviceMemmapMiB' | 'daxFilesMiB'>>;

/** The options' sizes, or an EINVAL naming the one out of range. */
export function machineSizes(opts: MachineOptions): MachineSizes {
  const s: MachineSizes = {
    ramMiB: opts.ramMiB ?? 64,
    tablePoolMiB: opts.tablePoolMiB ?? 8,
    threads: opts.threads ?? 4,
    maxMms: opts.maxMms ?? 16,
    vmasPerMm: opts.vmasPerMm ?? 64,
    deviceMemmapMiB: opts.deviceMemmapMiB ?? 32,
    daxFilesMiB: opts.daxFilesMiB ?? 1,
  };
  const intIn = (name: keyof MachineSizes, lo: number, hi: number) => {
    const v = s[name];
    if (!Number.isInteger(v) || v < lo || v > hi) throw new PgtemuError('EINVAL', `Machine.create: ${name} ${v} is not an integer in ${lo}..${hi}`);
  };
  intIn('ramMiB', 4, 48 * 1024);
  intIn('tablePoolMiB', 1, 1024);
  intIn('threads', 1, 64);
  intIn('maxMms', 1, 4096);
  intIn('vmasPerMm', 1, 65536);
  intIn('deviceMemmapMiB', 0, 3072);
  intIn('daxFilesMiB', 0, 1024);
  if (s.tablePoolMiB * 2 > s.ramMiB) throw new PgtemuError('EINVAL', `Machine.create: tablePoolMiB ${s.tablePoolMiB} must be at most half of ramMiB ${s.ramMiB}`);
  return s;
}

/**
 * Where everything lives in shared memory (addresses are byte offsets into
 * it), low to high as assembly/layout.ts draws it, and the sizes the header
 * carries.
 */
export interface MemoryPlan {
  /** bytes of shared memory: a whole number of 64 KiB Wasm pages */
  bytes: number;
  header: number;
  /** the ArchDesc the kernel's helpers read, and the hardware image of the same geometry */
  arch: number;
  archHw: number;
  /** Ctx x threads, ctxSize bytes each: the fields, the op records, the scratch, outCap u64 entries, then outCap u64 release records (Ctx.recs) */
  ctxBase: number;
  ctxSize: number;
  threads: number;
  outCap: number;
  /** Mm x maxMms, then Vma x vmasPerMm for each */
  mmBase: number;
  maxMms: number;
  vmaBase: number;
  vmasPerMm: number;
  /** OpRec x opLogSize per context */
  opLog: number;
  opLogSize: number;
  /** Violation x violCap */
  viol: number;
  violCap: number;
  /** the sparse memmap's roots, and the arena its section blocks (and device ranges' struct pages) come from */
  sectionRoots: number;
  nrRoots: number;
  sectionShift: number;
  rootShift: number;
  arena: number;
  arenaBytes: number;
  /** Pgmap x PGMAP_MAX, DaxFile x DAX_FILES_MAX, and the DAX files' arena */
  pgmaps: number;
  daxFiles: number;
  daxArena: number;
  daxArenaBytes: number;
  /** PoolUnit per pool unit, the link index (a u32 per 8-byte pool slot), then the table pool itself (pa 0 at poolBase) */
  poolUnits: number;
  poolLinks: number;
  poolBase: number;
  poolBytes: number;
  poolMinShift: number;
  poolMaxShift: number;
  /** RAM is pfn [0, ramPfns) */
  ramPfns: bigint;
  /** the largest folio order a leaf maps (the buddy allocator's top order, the output array's least size) */
  maxLeafOrder: number;
}

/**
 * Lay out a machine: `size` is the core's structure sizes (Layout.size). An
 * EINVAL when the machine would need more than the 4 GiB a Wasm memory holds.
 */
export function planMemory(s: MachineSizes, desc: Descriptor, size: Layout['size']): MemoryPlan {
  const ps = desc.pageShift;
  const ramPfns = (BigInt(s.ramMiB) << 20n) >> BigInt(ps);
  const poolBytes = s.tablePoolMiB << 20;
  const tableSizes = desc.levels.map((l) => l.tableBytes);
  const minT = Math.min(...tableSizes), maxT = Math.max(...tableSizes);
  const poolMinShift = Math.log2(minT), poolMaxShift = Math.log2(maxT);
  const sectionShift = desc.sectionSizeBits - ps;
  const rootShift = 8;   // SECTIONS_PER_ROOT = PAGE_SIZE / sizeof(struct mem_section) = 256
  const nrSections = 2 ** (desc.maxPhysBits - desc.sectionSizeBits);
  const nrRoots = Math.max(1, Math.ceil(nrSections / 256));
  const maxLeafOrder = Math.max(...desc.levels.filter((l) => l.leafOk).map((l) => l.shift - ps));
  const outCap = Math.max(1 << 18, 2 ** maxLeafOrder);
  const { threads, maxMms, vmasPerMm } = s;

  const align = (v: number, a: number) => Math.ceil(v / a) * a;
  let at = RESERVE;
  const take = (bytes: number, a = 64) => { at = align(at, a); const p = at; at += bytes; return p; };
  const header = take(HEADER_SIZE, 4096);
  const arch = take(ARCH_SIZE, 64);
  const archHw = take(ARCH_SIZE, 64);
  // the head, the scratch, the output array, then as much for unpin's records
  const ctxSize = align(CTX_HEAD + CTX_SCRATCH + outCap * 16, 4096);
  const ctxBase = take(ctxSize * threads, 4096);
  const mmBase = take(MM_SIZE * maxMms, 64);
  const vmaBase = take(VMA_SIZE * vmasPerMm * maxMms, 64);
  const opLogSize = 4096;                          // per context (layout.ts OP_CTX_SHIFT)
  const opLog = take(opLogSize * threads * size.OpRec, 64);
  const violCap = 4096;
  const viol = take(violCap * size.Violation, 64);
  const sectionRoots = take(nrRoots * 4, 64);
  const secPages = 2 ** sectionShift;
  const ramSections = Math.ceil(Number(ramPfns) / secPages);
  const rootBlocks = Math.ceil(ramSections / 256) + 1;
  // device ranges: their struct pages and counters, and root blocks for sections far above RAM
  const deviceBytes = s.deviceMemmapMiB > 0 ? s.deviceMemmapMiB * 2 ** 20 + 64 * 8 * 256 : 0;
  const arenaBytes = rootBlocks * 8 * 256 + ramSections * secPages * (size.Page + 8) + 4096 + deviceBytes;
  const arena = take(arenaBytes, 4096);
  const pgmaps = take(PGMAP_MAX * size.Pgmap, 64);
  const daxFiles = take(DAX_FILES_MAX * size.DaxFile, 64);
  const daxArenaBytes = s.daxFilesMiB * 2 ** 20;
  const daxArena = take(daxArenaBytes, 64);
  // one PoolUnit per smallest table, over the pool rounded up to a power of
  // two (the core tests a link with one mask: the records past the end say "no table")
  const units = 2 ** Math.ceil(Math.log2(poolBytes)) >> poolMinShift;
  const poolUnits = take(units * size.PoolUnit, 64);
  // the link index: for each 8-byte slot of the pool, the pa of the table the
  // entry there linked, plus one (0: none). The walks test a link with one
  // load from it (mem.ts tableLinked); it costs half the pool's size again.
  const poolLinks = take(poolBytes / 2, 64);
  const poolBase = take(poolBytes, Math.max(maxT, 65536));
  const bytes = align(at, 65536);
  if (bytes > 65536 * 65536) {
    throw new PgtemuError('EINVAL', `Machine.create: ${s.ramMiB} MiB of RAM and a ${s.tablePoolMiB} MiB pool need ${bytes} bytes of shared memory, more than 4 GiB`);
  }
  return {
    bytes, header, arch, archHw, ctxBase, ctxSize, threads, outCap, mmBase, maxMms, vmaBase, vmasPerMm, opLog, opLogSize, viol, violCap,
    sectionRoots, nrRoots, sectionShift, rootShift, arena, arenaBytes, pgmaps, daxFiles, daxArena, daxArenaBytes,
    poolUnits, poolLinks, poolBase, poolBytes, poolMinShift, poolMaxShift, ramPfns, maxLeafOrder,
  };
}

const bit = (b: boolean | undefined): number => (b ? 1 : 0);

/**
 * Write what the core reads at attach into a new machine's memory: the
 * header, both descriptors, each context's set-up fields and each address
 * space's Vma array. Everything else starts at 0 (records.gen.ts names what).
 */
export function writeInitialRecords(dv: DataView, L: Layout, p: MemoryPlan, desc: Descriptor, model: Model, era: Era): void {
  // pmd_mkspecial / pud_mkspecial where the arch has them (the PUD only with THP-PUD)
  const n = desc.levels.length;
  // pXd_mkspecial exists at the pmd level with ARCH_SUPPORTS_PMD_PFNMAP, and at the pud level with _PUD_PFNMAP (mm/Kconfig)
  const k = desc.kconfig;
  const pfnmapLevels = k.hugePfnmap ? (1 << (n - 2)) | (k.thpPud ? 1 << (n - 3) : 0) : 0;
  writeHeaderInit(dv, p.header, L.off.Header, {
    magic: MAGIC, version: 1, model: model === 'legacy' ? MODEL_LEGACY : MODEL_UNIFIED, arch: p.arch, archHw: p.archHw,
    ctxBase: p.ctxBase, ctxCount: p.threads, ctxSize: p.ctxSize, mmBase: p.mmBase, mmCount: p.maxMms, vmaPerMm: p.vmasPerMm,
    opLogBase: p.opLog, opLogSize: p.opLogSize, violBase: p.viol, violCap: p.violCap,
    sectionRoots: p.sectionRoots, nrRoots: p.nrRoots, sectionShift: p.sectionShift, rootShift: p.rootShift,
    memmapArena: p.arena, memmapArenaEnd: p.arena + p.arenaBytes, memmapArenaNext: p.arena,
    poolBase: p.poolBase, poolBytes: p.poolBytes, poolUnits: p.poolUnits, poolLinks: p.poolLinks, poolMinShift: p.poolMinShift, poolMaxShift: p.poolMaxShift,
    zoneMaxOrder: Math.min(p.maxLeafOrder, MAX_ORDERS - 1), ramPfns: p.ramPfns,
    pgmapPageRefs: bit(era.pgmapPageRefs), devmapCode: bit(era.devmapCode), daxHugeSpecial: bit(era.daxHugeSpecial),
    fsDaxLimited: bit(era.fsDaxLimited), whatIf: era.whatIf === 'devmap-less-zone-device' ? WHATIF_DEVMAP_LESS : WHATIF_NONE,
    zoneDevice: bit(era.zoneDevice), daxVmemmapOpt: bit(k.daxVmemmapOpt),
    thpPud: bit(k.thpPud), pfnmapLevels,
    pgmapBase: p.pgmaps, pgmapCap: PGMAP_MAX,
    daxBase: p.daxFiles, daxCap: DAX_FILES_MAX, daxArena: p.daxArena, daxArenaEnd: p.daxArena + p.daxArenaBytes, daxArenaNext: p.daxArena,
  });
  writeDescriptor(dv, L, p.arch, desc);
  writeDescriptor(dv, L, p.archHw, hardwareImage(desc));
  for (let i = 0; i < p.threads; i++) {
    const c = p.ctxBase + i * p.ctxSize;
    const out = c + CTX_HEAD + CTX_SCRATCH;
    writeCtxInit(dv, c, L.off.Ctx, { index: i, outCap: p.outCap, scratch: c + CTX_HEAD, out, recs: out + p.outCap * 8 });
  }
  for (let i = 0; i < p.maxMms; i++) writeMmInit(dv, p.mmBase + i * MM_SIZE, L.off.Mm, { vmas: p.vmaBase + i * p.vmasPerMm * VMA_SIZE });
}

/** The LevelDesc of level i of the descriptor at `arch` (ARCH_LEVELS, LEVEL_SIZE apart). */
export const levelAt = (arch: number, i: number): number => arch + ARCH_LEVELS + i * LEVEL_SIZE;

/** A leaf's pfn is its address field shifted right by this (the bits below the page dropped), then left. */
function leafPfnR(d: Descriptor, l: Descriptor['levels'][number]): number {
  return l.leafAddr.shift + Math.max(0, d.pageShift - l.leafAddr.paShift);
}

/** Write the compiled descriptor where the core expects it: the ArchDesc, then per level its LevelDesc, Pred[NPRED] and templates. */
function writeDescriptor(dv: DataView, L: Layout, at: number, d: Descriptor): void {
  const sw = d.swap;
  writeArchDescInit(dv, at, L.off.ArchDesc, {
    nLevels: d.levels.length, pageShift: d.pageShift, vaBits: d.vaBits, userVaBits: d.userVaBits,
    bigEndian: bit(d.bigEndian), hasSpecial: bit(d.hasSpecial), hasDevmap: bit(d.hasDevmap), entryBytes: 8,
    vaCheckMask: d.vaCheckMask ?? 0n, vaSignExtend: bit(d.vaSignExtend),
    swpTypeMask: sw.type.mask, swpTypeShift: sw.type.shift,
    swpOffsetMask: sw.offset.mask, swpOffsetShift: sw.offset.shift, swpOffsetXor: sw.offset.inverted ? sw.offset.mask : 0n,
    swpSet: sw.set, swpPfnMask: (1n << BigInt(sw.pfnBits)) - 1n,
    // (no device types without CONFIG_DEVICE_PRIVATE: a number no 5-bit type field holds)
    swpDeviceWrite: sw.deviceWrite < 0 ? 1 << MAX_SWAPFILES_SHIFT : sw.deviceWrite,
    swpDeviceRead: sw.deviceRead < 0 ? 1 << MAX_SWAPFILES_SHIFT : sw.deviceRead,
  });
  const predIdx: Record<string, number> = {};
  for (const p of PRED_NAMES) predIdx[p] = K[`P_${p.toUpperCase()}` as keyof typeof K] as number;
  const tIdx: Record<string, number> = {
    ro: T_RO, rw: T_RW, specialRo: T_SPECIAL_RO, specialRw: T_SPECIAL_RW,
    devmapRo: T_DEVMAP_RO, devmapRw: T_DEVMAP_RW,
  };
  d.levels.forEach((l, i) => {
    const b = levelAt(at, i);
    writeLevelDescInit(dv, b, L.off.LevelDesc, {
      shift: l.shift, indexBits: l.indexBits, indexMask: (1n << BigInt(l.indexBits)) - 1n, tableBytes: l.tableBytes, leafOk: bit(l.leafOk),
      emptyValue: l.empty, noneMask: l.noneMask,
      tableAddrMask: l.tableAddr.mask, tableAddrShift: l.tableAddr.shift, tableAddrPaShift: l.tableAddr.paShift,
      // exact because archdesc's field() puts the field at or above its shift and its address inside 64 bits
      tableAddrRot: (l.tableAddr.paShift - l.tableAddr.shift) & 63,
      leafAddrMask: l.leafAddr.mask, leafAddrShift: l.leafAddr.shift, leafAddrPaShift: l.leafAddr.paShift,
      // (x >> shift << paShift) >> pageShift as x >> r << sl, the bits below r dropped: one rotate
      leafPfnMask: l.leafAddr.mask & ~((1n << BigInt(leafPfnR(d, l))) - 1n),
      leafPfnRot: (Math.max(0, l.leafAddr.paShift - d.pageShift) - leafPfnR(d, l)) & 63,
      tableTemplate: l.tableTemplate, emptyTable: bit(l.emptyTable), gupFastNoneOnly: bit(l.gupFastNoneOnly),
      fastReadMask: l.fastRead.mask, fastReadValue: l.fastRead.value,
      fastWriteMask: l.fastWrite.mask, fastWriteValue: l.fastWrite.value,
      fastTableMask: l.fastTable.mask, fastTableValue: l.fastTable.value,
      fastLiveTableMask: l.fastLiveTable.mask, fastLiveTableValue: l.fastLiveTable.value, fastLiveTableAny: l.fastLiveTable.any,
      fastLeafMask: l.fastLeaf.mask, fastLeafValue: l.fastLeaf.value,
    });
    for (const p of PRED_NAMES) {
      const { m1, v1, m2, v2, any } = l.preds[p];
      writePredInit(dv, b + LEVEL_PREDS + predIdx[p] * L.size.Pred, L.off.Pred, { m1, v1, m2, v2, any });
    }
    for (const t of TEMPLATE_NAMES) dv.setBigUint64(b + LEVEL_TEMPLATES + tIdx[t] * 8, l.templates[t], true);
  });
}
