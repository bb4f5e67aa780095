// From an architecture folder's data to the descriptor the core reads:
// resolve a variant for a kernel and switch set, compile bit names into
// masks, derive leaf templates from the kernel's own transformations,
// and validate the result. One place, every architecture.

import type {
  ArchData, Bits, FieldSpec, HardwareSpec, LevelSpec, OpSpec, Ops, PredSpec, Switches, VariantSpec,
} from '../arch/types.js';
import { PgtemuError, hex } from './errors.js';
import type { EntryFlags } from './machine.js';

export interface RawPred { m1: bigint; v1: bigint; m2: bigint; v2: bigint; any: bigint }
export interface RawStep { if?: RawPred; set: bigint; clear: bigint }
export type RawOp = readonly RawStep[];

export const NEVER: RawPred = { m1: 0n, v1: 1n, m2: 0n, v2: 1n, any: 0n };
export const ALWAYS: RawPred = { m1: 0n, v1: 0n, m2: 0n, v2: 1n, any: 0n };

export const PRED_NAMES = [
  'present', 'table', 'leaf', 'access', 'write', 'special', 'devmap', 'protnone', 'young', 'dirty', 'user', 'invert',
] as const;
export type PredName = typeof PRED_NAMES[number];
export const TEMPLATE_NAMES = ['ro', 'rw', 'specialRo', 'specialRw', 'devmapRo', 'devmapRw'] as const;
export type TemplateName = typeof TEMPLATE_NAMES[number];
export const OP_NAMES = ['mkwrite', 'wrprotect', 'mkdirty', 'mkclean', 'mkyoung', 'mkold', 'mkspecial', 'mkdevmap', 'mkhuge'] as const;
export type OpName = typeof OP_NAMES[number];

export interface Field { mask: bigint; shift: number; paShift: number }

export interface LevelDescriptor {
  name: string;
  shift: number;
  indexBits: number;
  tableBytes: number;
  leafOk: boolean;
  isLast: boolean;
  empty: bigint;
  noneMask: bigint;
  preds: Record<PredName, RawPred>;
  tableAddr: Field;
  leafAddr: Field;
  tableTemplate: bigint;
  /** empty entries point at a shared invalid table; `empty` is filled in by the machine */
  emptyTable: boolean;
  templates: Record<TemplateName, bigint>;
  /** the bit names this level's helpers read or write (for printing an entry) */
  bitNames: string[];
  /** the bit names of a table entry's flags (tableBits) */
  tableBitNames: string[];
  /** pfn_pte(0, prot) for the base protections (made huge at directory levels) */
  prots: { none: bigint; readonly: bigint; copy: bigint; shared: bigint };
  ops: Record<OpName, RawOp>;
  /** gup-fast's quick accept for reads and writes (see assembly/layout.ts LevelDesc) */
  fastRead: { mask: bigint; value: bigint };
  fastWrite: { mask: bigint; value: bigint };
  fastTable: { mask: bigint; value: bigint };
  /** the walk's quick test for a present leaf (see assembly/layout.ts LevelDesc) */
  fastLeaf: { mask: bigint; value: bigint };
  /** which name a shared bit prints under, by entry state (see types.ts BitNameRule) */
  nameRules: { bit: number; name: string; when?: RawPred }[];
}

/** What the MMU makes of an entry at one level (compiled HwLevelSpec). */
export interface HwLevel {
  name: string;
  leafOk: boolean;
  isLast: boolean;
  valid: RawPred;
  table: RawPred;
  leaf: RawPred;
  tableAddr: Field;
  leafAddr: Field;
  /** the kernel's empty value here points at a shared invalid table, which the MMU follows:
   *  no entry is empty to it (loongarch) */
  followsEmpty: boolean;
  /** the empty value the walk reports as 'none' (invalid to the MMU too) */
  empty: bigint;
  noneMask: bigint;
  cite: string;
}

/** The hardware view of a variant: per-level rules and the VA range the root translates. */
export interface HardwareDescriptor {
  levels: HwLevel[];
  /** va & vaCheckMask must be 0, or (vaSignExtend) vaCheckMask */
  vaCheckMask: bigint;
  vaSignExtend: boolean;
  vaCite: string;
}

// ---------------------------------------------------------------- entries
const M64n = (1n << 64n) - 1n;
/** pfn_pte / pfn_pmd: a leaf mapping pa with flag bits; non-present encodings that
 *  store the pfn inverted (x86 L1TF: pte_pfn XORs ~0 when invert() holds) get it inverted. */
export function encodeLeafEntry(l: LevelDescriptor, pa: bigint, bits: bigint): bigint {
  const inv = bits !== 0n && matchPred(l.preds.invert, bits);
  const f = inv ? ~pa & M64n : pa;
  return (((f >> BigInt(l.leafAddr.paShift)) << BigInt(l.leafAddr.shift)) & l.leafAddr.mask) | bits;
}
/** pte_pfn << PAGE_SHIFT: the physical address a leaf maps. */
export function decodeLeafPa(l: LevelDescriptor, e: bigint): bigint {
  const inv = e !== 0n && matchPred(l.preds.invert, e);
  const f = (((inv ? ~e & M64n : e) & l.leafAddr.mask) >> BigInt(l.leafAddr.shift)) << BigInt(l.leafAddr.paShift);
  return inv ? f & (((l.leafAddr.mask >> BigInt(l.leafAddr.shift)) << BigInt(l.leafAddr.paShift))) : f;
}
/** pmd_populate and friends: an entry pointing at the next table. */
export function encodeTableEntry(l: LevelDescriptor, pa: bigint): bigint {
  return (((pa >> BigInt(l.tableAddr.paShift)) << BigInt(l.tableAddr.shift)) & l.tableAddr.mask) | l.tableTemplate;
}
export function decodeTablePa(l: LevelDescriptor, e: bigint): bigint {
  return ((e & l.tableAddr.mask) >> BigInt(l.tableAddr.shift)) << BigInt(l.tableAddr.paShift);
}

// A table entry is recognised by pXd_none, pXd_present, pXd_leaf and the table
// test; an entry equal to the table template on all the bits they read (and on
// the whole none mask, so it is never the empty value) is a table too. Levels
// whose empty value is itself a table pointer (loongarch) get no shortcut.
function fastTable(d: LevelDescriptor): { mask: bigint; value: bigint } {
  if (d.isLast || d.emptyTable) return { mask: 0n, value: 1n };
  const t = d.tableTemplate;
  const names: PredName[] = ['present', 'table', ...(d.leafOk ? ['leaf' as const] : [])];
  // (bits of the address field that a predicate reads stay in the mask: an entry
  // must then match the template there too, which is never wrong, only slower)
  const mask = names.reduce((m, n) => m | d.preds[n].m1 | d.preds[n].m2 | d.preds[n].any, 0n);
  if ((t & mask & d.noneMask) === (d.empty & mask & d.noneMask)) {
    // the template alone does not tell it from the empty value on these bits: no shortcut
    return { mask: 0n, value: 1n };
  }
  const ok = matchPred(d.preds.present, t) && matchPred(d.preds.table, t) && (!d.leafOk || !matchPred(d.preds.leaf, t));
  if (!ok) return { mask: 0n, value: 1n };
  return { mask, value: t & mask };
}

// A walk stops at a leaf it can map through when pXd_none is false and
// pXd_present and pXd_leaf hold; an entry equal to a present leaf template on
// all the bits those read (told from the empty value there) answers them as
// the template does. Levels whose empty value is a table pointer get none.
function fastLeaf(d: LevelDescriptor, t: bigint): { mask: bigint; value: bigint } {
  if (!d.leafOk || d.emptyTable) return { mask: 0n, value: 1n };   // (an empty value set later: no shortcut)
  const mask = (['present', 'leaf'] as const).reduce((m, n) => m | d.preds[n].m1 | d.preds[n].m2 | d.preds[n].any, 0n);
  if ((t & mask & d.noneMask) === (d.empty & mask & d.noneMask)) return { mask: 0n, value: 1n };
  const ok = (t & d.noneMask) !== d.empty && matchPred(d.preds.present, t) && matchPred(d.preds.leaf, t);
  return ok ? { mask, value: t & mask } : { mask: 0n, value: 1n };
}

/** gup-fast's per-entry decision before the grab: protnone, access, write, devmap, special. */
export function gupFastAccepts(d: LevelDescriptor, e: bigint, write: boolean): boolean {
  const p = (n: PredName) => matchPred(d.preds[n], e);
  return !p('protnone') && p('access') && (!write || p('write')) && !p('special') && !p('devmap') && !(e !== 0n && p('invert'));
}

// Every bit the gup-fast predicates read: an entry that agrees with an
// accepted template on all of them is accepted too.
function fastAccept(d: LevelDescriptor, t: bigint, write: boolean): { mask: bigint; value: bigint } {
  const names: PredName[] = ['protnone', 'access', 'special', 'devmap', 'invert', ...(write ? ['write' as const] : [])];
  const mask = names.reduce((m, n) => m | d.preds[n].m1 | d.preds[n].m2 | d.preds[n].any, 0n);
  const value = t & mask;
  if (!d.leafOk || value === 0n || !gupFastAccepts(d, t, write)) return { mask: 0n, value: 1n };
  return { mask, value };
}

export interface Descriptor {
  arch: string;
  variant: string;
  kernel: string;
  description: string;
  pageShift: number;
  vaBits: number;
  userVaBits: number;
  bigEndian: boolean;
  hasSpecial: boolean;
  hasDevmap: boolean;
  sectionSizeBits: number;
  maxPhysBits: number;
  bits: Record<string, number>;
  levels: LevelDescriptor[];
  source: string;
  hardware: HardwareDescriptor;
  /** the VA-range rule of this image (the kernel's own: none) */
  vaCheckMask?: bigint;
  vaSignExtend?: boolean;
}

const M64 = (1n << 64n) - 1n;

// ---------------------------------------------------------------- kernel versions
export function parseKernel(v: string): number[] {
  const m = /^v(\d+)\.(\d+)(?:\.(\d+))?$/.exec(v);
  if (!m) throw new PgtemuError('EUNKNOWN', `kernel version '${v}' is not of the form vX.Y`);
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}
export function kernelCmp(a: string, b: string): number {
  const x = parseKernel(a), y = parseKernel(b);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}
export function inRange(k: string, r: { from: string; until?: string } | null): boolean {
  if (!r) return false;
  return kernelCmp(k, r.from) >= 0 && (r.until === undefined || kernelCmp(k, r.until) <= 0);
}

// ---------------------------------------------------------------- bits, predicates, ops
// A bit whose number is -1 does not exist in this kernel era (x86 SAVED_DIRTY
// before v6.6): masks leave it out, and a predicate that needs it set never holds.
export const ABSENT = -1;
const absentIn = (bits: Record<string, number>, names: Bits) => names.some((n) => typeof n === 'string' && bits[n] === ABSENT);

export function maskOf(bits: Record<string, number>, names: Bits, where: string): bigint {
  let m = 0n;
  for (const n of names) {
    const b = typeof n === 'number' ? n : bits[n];
    if (b === undefined) throw new PgtemuError('ELAYOUT', `${where}: unknown bit '${n}'`);
    if (b === ABSENT) continue;
    if (!Number.isInteger(b) || b < 0 || b > 63) throw new PgtemuError('ELAYOUT', `${where}: bit '${n}' = ${b} is not in 0..63`);
    m |= 1n << BigInt(b);
  }
  return m;
}

function alt(bits: Record<string, number>, p: PredSpec, where: string): { m: bigint; v: bigint } | { any: bigint } {
  if (p === 'always') return { m: 0n, v: 0n };
  if (p === 'never') return { m: 0n, v: 1n };
  if ('set' in p) {
    const m = maskOf(bits, p.set, where);
    return absentIn(bits, p.set) ? { m: 0n, v: 1n } : { m, v: m };
  }
  if ('clear' in p) return { m: maskOf(bits, p.clear, where), v: 0n };
  if ('mask' in p) {
    const m = maskOf(bits, p.mask, where), v = maskOf(bits, p.value, where);
    if (absentIn(bits, p.value)) return { m: 0n, v: 1n };
    if ((v & ~m) !== 0n) throw new PgtemuError('ELAYOUT', `${where}: value ${hex(v)} has bits outside mask ${hex(m)}`);
    return { m, v };
  }
  if ('any' in p) return { any: maskOf(bits, p.any, where) };
  throw new PgtemuError('ELAYOUT', `${where}: 'or' cannot nest`);
}

export function compilePred(bits: Record<string, number>, p: PredSpec, where: string): RawPred {
  if (p === undefined) throw new PgtemuError('ELAYOUT', `${where}: missing`);
  const parts = typeof p === 'object' && 'or' in p ? p.or : [p];
  const r: RawPred = { ...NEVER };
  let used = 0;
  for (const q of parts) {
    const a = alt(bits, q, where);
    if ('any' in a) {
      if (r.any !== 0n) throw new PgtemuError('ELAYOUT', `${where}: two 'any' alternatives`);
      r.any = a.any;
    } else if (used === 0) { r.m1 = a.m; r.v1 = a.v; used++; } else { r.m2 = a.m; r.v2 = a.v; used++; }
  }
  return r;
}

/** A predicate no entry can satisfy (a helper the level does not have). */
export function predIsNever(q: RawPred): boolean {
  return q.any === 0n && (q.v1 & ~q.m1) !== 0n && (q.v2 & ~q.m2) !== 0n;
}

export function matchPred(p: RawPred, e: bigint): boolean {
  return (e & p.m1) === p.v1 || (e & p.m2) === p.v2 || (e & p.any) !== 0n;
}

export function compileOp(bits: Record<string, number>, op: OpSpec, where: string): RawOp {
  return op.map((s, i) => ({
    if: s.if !== undefined ? compilePred(bits, s.if, `${where}[${i}].if`) : undefined,
    set: maskOf(bits, s.set ?? [], `${where}[${i}].set`),
    clear: maskOf(bits, s.clear ?? [], `${where}[${i}].clear`),
  }));
}

export function applyOp(op: RawOp, e: bigint): bigint {
  for (const s of op) {
    if (s.if && !matchPred(s.if, e)) continue;
    e = (e & ~s.clear & M64) | s.set;
  }
  return e;
}

// ---------------------------------------------------------------- variants
export function buildVariant(data: ArchData, name: string, kernel: string, sw: Switches): VariantSpec {
  const g = data.variants[name];
  if (!g) {
    throw new PgtemuError('EUNKNOWN',
      `unknown ${data.arch} variant '${name}' (variants: ${Object.keys(data.variants).join(', ')})`);
  }
  const bits: Record<string, number> = { ...data.bits };
  for (const era of data.eras ?? []) {
    if ((era.from === undefined || kernelCmp(kernel, era.from) >= 0) && (era.until === undefined || kernelCmp(kernel, era.until) <= 0)) {
      Object.assign(bits, era.bits);
    }
  }
  Object.assign(bits, g.bits ?? {});
  if (sw.devmap && !sw.special) throw new PgtemuError('ELAYOUT', `${data.arch}: devmap without special is not a kernel configuration`);
  if (!sw.devmap && bits.DEVMAP !== undefined) bits.DEVMAP = ABSENT;
  if (!sw.special && bits.SPECIAL !== undefined) bits.SPECIAL = ABSENT;
  const strip = (ops: Partial<Ops> | undefined): Partial<Ops> | undefined => {
    if (!ops) return ops;
    const o: { -readonly [K in keyof Ops]?: Ops[K] } = { ...ops };
    if (!sw.devmap && o.mkdevmap) o.mkdevmap = [];
    if (!sw.special && o.mkspecial) o.mkspecial = [];
    return o;
  };
  const levels: LevelSpec[] = g.levels.map((lg) => {
    const kind = data.kinds[lg.kind];
    if (!kind) throw new PgtemuError('ELAYOUT', `${data.arch}/${name}: level '${lg.name}' names unknown kind '${lg.kind}'`);
    return {
      ...kind,
      name: lg.name,
      shift: lg.shift,
      indexBits: lg.indexBits,
      tableBytes: lg.tableBytes,
      leafOk: lg.leafOk ?? kind.leafOk ?? true,
      tableValue: lg.tableValue ?? kind.tableValue,
      devmap: sw.devmap ? kind.devmap : 'never',
      special: sw.special ? kind.special : 'never',
      ops: strip(kind.ops),
    };
  });
  return {
    arch: data.arch,
    variant: name,
    description: g.description,
    pageShift: g.pageShift,
    vaBits: g.vaBits,
    userVaBits: g.userVaBits,
    bigEndian: data.bigEndian,
    sectionSizeBits: g.sectionSizeBits,
    maxPhysBits: g.maxPhysBits,
    bits,
    levels,
    ops: strip(data.ops) as Ops,
    prot: data.prot,
    switches: sw,
    source: data.source,
    hardware: g.hardware,
  };
}

// ---------------------------------------------------------------- compile + validate
const field = (f: FieldSpec, where: string): Field => {
  if (f.mask === 0n) throw new PgtemuError('ELAYOUT', `${where}: empty mask`);
  const low = BigInt(f.mask & -f.mask).toString(2).length - 1;
  if (low !== f.shift) throw new PgtemuError('ELAYOUT', `${where}: shift ${f.shift} is not the mask's lowest bit (${low})`);
  return { mask: f.mask, shift: f.shift, paShift: f.paShift };
};

/** Compile and validate a variant; every problem is an ELAYOUT error naming the field. */
export function compileVariant(v: VariantSpec, kernel: string): Descriptor {
  const at = `${v.arch}/${v.variant}`;
  const n = v.levels.length;
  if (n < 2 || n > 5) throw new PgtemuError('ELAYOUT', `${at}: levels: ${n} levels (2 to 5 supported)`);
  if (v.pageShift < 12 || v.pageShift > 16) throw new PgtemuError('ELAYOUT', `${at}: pageShift ${v.pageShift} is not 12..16`);
  if (v.userVaBits > v.vaBits) throw new PgtemuError('ELAYOUT', `${at}: userVaBits ${v.userVaBits} exceeds vaBits ${v.vaBits}`);
  if (v.sectionSizeBits <= v.pageShift) throw new PgtemuError('ELAYOUT', `${at}: sectionSizeBits ${v.sectionSizeBits} must exceed pageShift`);
  if (v.bits.DEVMAP !== undefined && v.bits.DEVMAP !== ABSENT && v.bits.DEVMAP === v.bits.SPECIAL) {
    throw new PgtemuError('ELAYOUT', `${at}: bits.DEVMAP equals bits.SPECIAL (bit ${v.bits.DEVMAP})`);
  }
  const last = v.levels[n - 1];
  if (last.shift !== v.pageShift) throw new PgtemuError('ELAYOUT', `${at}: levels[${n - 1}] (${last.name}).shift ${last.shift} != pageShift ${v.pageShift}`);
  if (!last.leafOk) throw new PgtemuError('ELAYOUT', `${at}: levels[${n - 1}] (${last.name}) must hold leaves`);
  for (let i = 0; i + 1 < n; i++) {
    const a = v.levels[i], b = v.levels[i + 1];
    if (a.shift !== b.shift + b.indexBits) {
      throw new PgtemuError('ELAYOUT', `${at}: levels[${i}] (${a.name}).shift ${a.shift} != ${b.name}.shift + ${b.name}.indexBits (${b.shift + b.indexBits})`);
    }
  }
  const top = v.levels[0].shift + v.levels[0].indexBits;
  if (top !== v.vaBits) throw new PgtemuError('ELAYOUT', `${at}: levels cover ${top} VA bits, vaBits is ${v.vaBits}`);

  const levels = v.levels.map((l, i): LevelDescriptor => {
    const w = `${at}: ${l.name}`;
    const tableBytes = l.tableBytes ?? (8 << l.indexBits);
    if (tableBytes !== (8 << l.indexBits)) {
      throw new PgtemuError('ELAYOUT', `${w}.tableBytes ${tableBytes} does not match indexBits ${l.indexBits} (${8 << l.indexBits} bytes)`);
    }
    const preds = {} as Record<PredName, RawPred>;
    for (const p of PRED_NAMES) preds[p] = compilePred(v.bits, l[p], `${w}.${p}`);
    const ops = {} as Record<OpName, RawOp>;
    for (const o of OP_NAMES) ops[o] = compileOp(v.bits, l.ops?.[o] ?? v.ops[o], `${w}.ops.${o}`);
    const prot = (k: keyof VariantSpec['prot']) => maskOf(v.bits, v.prot[k], `${at}: prot.${k}`);
    const isLast = i === n - 1;
    const huge = (e: bigint) => (isLast ? e : applyOp(ops.mkhuge, e));
    const rw = (e: bigint) => applyOp(ops.mkwrite, applyOp(ops.mkdirty, e));
    const templates: Record<TemplateName, bigint> = l.leafOk ? {
      ro: huge(prot('readonly')),                                    // mk_pte(page, vm_page_prot)
      rw: huge(rw(prot('copy'))),                                    // pte_mkwrite(pte_mkdirty(..))
      specialRo: huge(applyOp(ops.mkspecial, prot('readonly'))),     // zero page
      specialRw: huge(applyOp(ops.mkspecial, prot('shared'))),       // remap_pfn_range, shared
      devmapRo: huge(applyOp(ops.mkdevmap, prot('readonly'))),
      devmapRw: huge(applyOp(ops.mkdevmap, rw(prot('shared')))),
    } : { ro: 0n, rw: 0n, specialRo: 0n, specialRw: 0n, devmapRo: 0n, devmapRw: 0n };
    const used = new Set<string>();
    const collect = (x: unknown): void => {
      if (typeof x === 'string') { if (v.bits[x] !== undefined) used.add(x); }
      else if (Array.isArray(x)) x.forEach(collect);
      else if (x && typeof x === 'object') Object.values(x).forEach(collect);
    };
    for (const p of PRED_NAMES) collect(l[p]);
    for (const o of OP_NAMES) if (o !== 'mkhuge') collect(l.ops?.[o] ?? v.ops[o]);   // (mkhuge may convert from pte format)
    collect(l.tableBits);
    const d: LevelDescriptor = {
      name: l.name,
      bitNames: [...used],
      tableBitNames: l.tableBits.filter((b): b is string => typeof b === 'string' && v.bits[b] !== undefined && v.bits[b] >= 0),
      shift: l.shift,
      indexBits: l.indexBits,
      tableBytes,
      leafOk: l.leafOk,
      isLast,
      empty: l.empty ?? 0n,
      noneMask: l.noneMask ?? M64,
      preds,
      tableAddr: field(l.tableAddr, `${w}.tableAddr`),
      leafAddr: field(l.leafAddr, `${w}.leafAddr`),
      tableTemplate: maskOf(v.bits, l.tableBits, `${w}.tableBits`) | (l.tableValue ?? 0n),
      emptyTable: l.emptyIsTable ?? false,
      templates,
      prots: l.leafOk
        ? { none: huge(prot('none')), readonly: huge(prot('readonly')), copy: huge(prot('copy')), shared: huge(prot('shared')) }
        : { none: 0n, readonly: 0n, copy: 0n, shared: 0n },
      ops,
      fastRead: { mask: 0n, value: 1n },
      fastWrite: { mask: 0n, value: 1n },
      fastTable: { mask: 0n, value: 1n },
      fastLeaf: { mask: 0n, value: 1n },
      nameRules: (l.names ?? []).map((r, k) => {
        const bit = v.bits[r.name];
        if (bit === undefined) throw new PgtemuError('ELAYOUT', `${w}.names[${k}]: unknown bit '${r.name}'`);
        return { bit, name: r.name, when: r.when === undefined ? undefined : compilePred(v.bits, r.when, `${w}.names[${k}].when`) };
      }).filter((r) => r.bit !== ABSENT),
    };
    d.fastRead = fastAccept(d, templates.ro, false);
    d.fastWrite = fastAccept(d, templates.rw, true);
    d.fastTable = fastTable(d);
    d.fastLeaf = fastLeaf(d, templates.rw);
    checkLevel(d, v, w);
    return d;
  });
  return {
    arch: v.arch, variant: v.variant, kernel, description: v.description,
    pageShift: v.pageShift, vaBits: v.vaBits, userVaBits: v.userVaBits, bigEndian: v.bigEndian,
    hasSpecial: v.switches.special, hasDevmap: v.switches.devmap,
    sectionSizeBits: v.sectionSizeBits, maxPhysBits: v.maxPhysBits,
    bits: { ...v.bits }, levels, source: v.source,
    hardware: compileHardware(v, levels, at),
  };
}

const predMask = (p: RawPred) => p.m1 | p.m2 | p.any;

// Consistency of one level: fields vs flags, templates vs predicates.
function checkLevel(d: LevelDescriptor, v: VariantSpec, w: string): void {
  const flagMask = (['write', 'special', 'devmap', 'young', 'dirty', 'user', 'access'] as const)
    .reduce((m, p) => m | predMask(d.preds[p]), 0n);
  if (d.leafOk) {
    const clash = d.leafAddr.mask & flagMask;
    if (clash !== 0n) throw new PgtemuError('ELAYOUT', `${w}.leafAddr mask ${hex(d.leafAddr.mask)} overlaps flag bits ${hex(clash)}`);
    for (const t of TEMPLATE_NAMES) {
      const tv = d.templates[t];
      if ((tv & d.leafAddr.mask) !== 0n) throw new PgtemuError('ELAYOUT', `${w}: template ${t} ${hex(tv)} sets pfn bits`);
    }
    // pmd_special()/pud_special() are the generic `false` where the arch has no
    // huge pfnmaps (riscv, loongarch v6.12): no special or devmap leaves there.
    const never = (p: PredName) => predIsNever(d.preds[p]);
    const need = (t: TemplateName, p: PredName, want: boolean) => {
      if (t.startsWith('special') && (!v.switches.special || never('special'))) return;
      if (t.startsWith('devmap') && (!v.switches.devmap || never('devmap'))) return;
      if (matchPred(d.preds[p], d.templates[t]) !== want) {
        throw new PgtemuError('ELAYOUT', `${w}: a ${t} leaf (${hex(d.templates[t])}) ${want ? 'fails' : 'passes'} ${d.name}_${p}()`);
      }
    };
    for (const t of TEMPLATE_NAMES) {
      need(t, 'present', true);
      need(t, 'access', true);
      if (!d.isLast) need(t, 'leaf', true);
      need(t, 'protnone', false);
    }
    need('ro', 'write', false);
    need('rw', 'write', true);
    need('rw', 'dirty', true);
    need('ro', 'special', false);
    need('rw', 'special', false);
    need('specialRo', 'special', true);
    need('devmapRo', 'devmap', true);
    need('ro', 'devmap', false);
  }
  if (!d.isLast) {
    const clash = d.tableAddr.mask & d.tableTemplate;
    if (clash !== 0n) throw new PgtemuError('ELAYOUT', `${w}.tableAddr mask overlaps tableBits ${hex(clash)}`);
    const sample = (((1n << 30n) >> BigInt(d.tableAddr.paShift)) << BigInt(d.tableAddr.shift)) & d.tableAddr.mask | d.tableTemplate;
    if (!matchPred(d.preds.present, sample) || !matchPred(d.preds.table, sample) || (d.leafOk && matchPred(d.preds.leaf, sample))) {
      throw new PgtemuError('ELAYOUT', `${w}: a table entry (${hex(sample)}) is not recognised as present, non-leaf table`);
    }
  }
  if (d.emptyTable && d.isLast) throw new PgtemuError('ELAYOUT', `${w}: the last level cannot point empty entries at a table`);
  if ((d.empty & d.noneMask) !== d.empty) throw new PgtemuError('ELAYOUT', `${w}: empty value ${hex(d.empty)} has bits outside noneMask`);
}

/** What pXd_present/_leaf/_write/... say of an entry (`empty`: the level's empty value, if not yet in `l`). */
export function decodeEntry(l: LevelDescriptor, entry: bigint, empty: bigint = l.empty): EntryFlags {
  const p = (n: PredName) => matchPred(l.preds[n], entry);
  const none = (entry & l.noneMask) === empty;
  const present = !none && p('present');
  return {
    present,
    table: present && !l.isLast && !(l.leafOk && p('leaf')) && p('table'),
    leaf: present && (l.isLast || (l.leafOk && p('leaf'))),
    write: p('write'), user: p('user'), young: p('young'), dirty: p('dirty'),
    special: p('special'), devmap: p('devmap'), protnone: p('protnone'),
  };
}

// ---------------------------------------------------------------- the hardware view
// The MMU's reading of the same geometry, compiled from the variant's
// `hardware` data and checked against the kernel's description: everything the
// kernel installs for a valid mapping must be valid to the MMU and map the same
// address, so the two descriptions cannot drift apart.
export function compileHardware(v: VariantSpec, levels: LevelDescriptor[], at: string): HardwareDescriptor {
  const h: HardwareSpec | undefined = v.hardware;
  if (!h) throw new PgtemuError('ELAYOUT', `${at}: hardware: missing`);
  if (h.levels.length !== levels.length) {
    throw new PgtemuError('ELAYOUT', `${at}: hardware.levels has ${h.levels.length} levels, the geometry ${levels.length}`);
  }
  const hw = h.levels.map((s, i): HwLevel => {
    const ld = levels[i];
    const w = `${at}: hardware.levels[${i}] (${ld.name})`;
    const isLast = i === levels.length - 1;
    const valid = compilePred(v.bits, s.valid, `${w}.valid`);
    const table = compilePred(v.bits, s.table, `${w}.table`);
    const leaf = compilePred(v.bits, s.leaf, `${w}.leaf`);
    if (!s.leafOk && !predIsNever(leaf)) throw new PgtemuError('ELAYOUT', `${w}.leaf: a leaf predicate at a level that may not hold leaves (leafOk is false)`);
    if (isLast && !s.leafOk) throw new PgtemuError('ELAYOUT', `${w}: the last level must hold leaves`);
    if (isLast && !predIsNever(table)) throw new PgtemuError('ELAYOUT', `${w}.table: the last level has no next table`);
    if (!isLast && !s.tableAddr) throw new PgtemuError('ELAYOUT', `${w}.tableAddr: missing`);
    if (s.leafOk && !s.leafAddr) throw new PgtemuError('ELAYOUT', `${w}.leafAddr: missing`);
    if (ld.leafOk && !s.leafOk) throw new PgtemuError('ELAYOUT', `${w}: the kernel installs leaves here, the MMU cannot hold one`);
    const tableAddr = s.tableAddr ? field(s.tableAddr, `${w}.tableAddr`) : ld.tableAddr;   // (last level: unused)
    const leafAddr = s.leafAddr ? field(s.leafAddr, `${w}.leafAddr`) : ld.leafAddr;          // (no leaves: unused)
    if (s.leafAddr && leafAddr.paShift !== ld.shift) {
      throw new PgtemuError('ELAYOUT', `${w}.leafAddr: paShift ${leafAddr.paShift} is not the level's shift ${ld.shift} (a leaf maps an aligned block)`);
    }
    const clash = (what: string, p: RawPred, f: Field, fname: string) => {
      const c = predMask(p) & f.mask;
      if (c !== 0n) throw new PgtemuError('ELAYOUT', `${w}.${what}: mask ${hex(predMask(p))} overlaps the ${fname} address field (${hex(c)})`);
    };
    if (s.leafOk) { clash('valid', valid, leafAddr, 'leaf'); clash('leaf', leaf, leafAddr, 'leaf'); }
    if (!isLast) { clash('valid', valid, tableAddr, 'table'); clash('table', table, tableAddr, 'table'); }
    const followsEmpty = ld.emptyTable;
    const r: HwLevel = {
      name: ld.name, leafOk: s.leafOk, isLast, valid, table, leaf, tableAddr, leafAddr, followsEmpty,
      empty: followsEmpty ? 1n : ld.empty, noneMask: followsEmpty ? 0n : ld.noneMask, cite: s.cite,
    };
    // the kernel's empty value is invalid to the MMU
    if (!followsEmpty && matchPred(valid, ld.empty)) {
      throw new PgtemuError('ELAYOUT', `${w}: the kernel's empty entry ${hex(ld.empty)} is valid to the MMU`);
    }
    // a low address, and the highest the kernel can map (MAX_PHYSMEM_BITS), aligned
    const top = (1n << BigInt(v.maxPhysBits)) - 1n;
    if (!isLast) {
      for (const pa of [1n << 32n, top & ~0xffffn]) {
        const t = encodeTableEntry(ld, pa);
        if (!decodeHardware(r, t).table || decodeTablePa({ ...ld, tableAddr } as LevelDescriptor, t) !== pa) {
          throw new PgtemuError('ELAYOUT', `${w}: the kernel's table entry ${hex(t)} is not a table at ${hex(pa)} to the MMU`);
        }
      }
    }
    if (ld.leafOk) {
      for (const pa of [1n << 32n, top & ~((1n << BigInt(ld.shift)) - 1n)]) {
        for (const tn of TEMPLATE_NAMES) {
          const e = encodeLeafEntry(ld, pa, ld.templates[tn]);
          if (!decodeHardware(r, e).leaf || decodeLeafPa({ ...ld, leafAddr, preds: { ...ld.preds, invert: NEVER } } as LevelDescriptor, e) !== pa) {
            throw new PgtemuError('ELAYOUT', `${w}: the kernel's ${tn} leaf ${hex(e)} does not map ${hex(pa)} to the MMU`);
          }
        }
      }
    }
    return r;
  });
  const va = h.va;
  let vaCheckMask = 0n;
  if (va.rule !== 'all') {
    if (!Number.isInteger(va.lo) || !Number.isInteger(va.hi) || va.lo < 0 || va.hi > 63 || va.lo > va.hi) {
      throw new PgtemuError('ELAYOUT', `${at}: hardware.va: bits ${va.lo}..${va.hi} are not a range in 0..63`);
    }
    if (va.lo < v.userVaBits) throw new PgtemuError('ELAYOUT', `${at}: hardware.va: bit ${va.lo} is inside the user range (userVaBits ${v.userVaBits})`);
    if (va.rule === 'sign-extend' && va.lo > v.vaBits - 1) {
      throw new PgtemuError('ELAYOUT', `${at}: hardware.va: the sign bit ${va.lo} is above the translated bits (vaBits ${v.vaBits})`);
    }
    vaCheckMask = ((1n << BigInt(va.hi + 1)) - 1n) & ~((1n << BigInt(va.lo)) - 1n);
  }
  return { levels: hw, vaCheckMask, vaSignExtend: va.rule === 'sign-extend', vaCite: va.cite };
}

/** What the MMU makes of an entry at one level. */
export interface HwEntryFlags {
  /** the kernel's empty value (invalid to the MMU) */
  none: boolean;
  /** valid to the MMU (else a translation fault) */
  valid: boolean;
  table: boolean;
  leaf: boolean;
  /** valid, but neither table nor leaf: a reserved-bit / specification fault */
  bad: boolean;
}

/** The core walker's decision at one level, under the hardware image. */
export function decodeHardware(h: HwLevel, e: bigint): HwEntryFlags {
  const none = (e & h.noneMask) === h.empty;
  const valid = !none && matchPred(h.valid, e);
  const leaf = valid && h.leafOk && matchPred(h.leaf, e);
  const table = valid && !h.isLast && !leaf && matchPred(h.table, e);
  return { none, valid, table, leaf, bad: valid && !leaf && !table };
}

/** The MMU's verdict on one entry at level li, for printing beside the kernel's. */
export interface HardwareVerdict {
  /** 'none' (the kernel's empty value), 'invalid' (a translation fault), 'table', 'leaf',
   *  'bad' (valid but neither: a reserved-bit / specification fault) */
  kind: 'none' | 'invalid' | 'table' | 'leaf' | 'bad';
  /** leaf: the output address; table: the next table */
  pa?: bigint;
  /** leaf: bytes mapped */
  size?: bigint;
  /** the manual section the level's rules come from */
  cite: string;
}
export function hardwareVerdict(d: Descriptor, li: number, e: bigint): HardwareVerdict {
  const h = d.hardware.levels[li];
  if (!h) throw new PgtemuError('EINVAL', `hardwareVerdict: level ${li} does not exist (0..${d.levels.length - 1})`);
  const f = decodeHardware(h, e);
  const field = (x: Field) => ((e & x.mask) >> BigInt(x.shift)) << BigInt(x.paShift);
  if (f.leaf) return { kind: 'leaf', pa: field(h.leafAddr), size: 1n << BigInt(d.levels[li].shift), cite: h.cite };
  if (f.table) return { kind: 'table', pa: field(h.tableAddr), cite: h.cite };
  return { kind: f.none ? 'none' : !f.valid ? 'invalid' : 'bad', cite: h.cite };
}

/** The descriptor image the core walks for the hardware view: only present/table/leaf
 *  and the address fields mean anything; quick pairs never match, templates are unused. */
export function hardwareImage(d: Descriptor): Descriptor {
  const never = { mask: 0n, value: 1n };
  const levels = d.hardware.levels.map((h, i): LevelDescriptor => {
    const preds = Object.fromEntries(PRED_NAMES.map((n) => [n, NEVER])) as Record<PredName, RawPred>;
    preds.present = h.valid;
    preds.table = h.table;
    preds.leaf = h.leaf;
    return {
      ...d.levels[i], leafOk: h.leafOk, empty: h.empty, noneMask: h.noneMask, preds,
      tableAddr: h.tableAddr, leafAddr: h.leafAddr, emptyTable: false,
      templates: { ro: 0n, rw: 0n, specialRo: 0n, specialRw: 0n, devmapRo: 0n, devmapRw: 0n },
      fastRead: never, fastWrite: never, fastTable: never, fastLeaf: never, nameRules: [],
    };
  });
  return { ...d, levels, vaCheckMask: d.hardware.vaCheckMask, vaSignExtend: d.hardware.vaSignExtend };
}

/** Is va outside what a root translates, to the MMU? */
export function vaOutsideHardware(d: Descriptor, va: bigint): boolean {
  const m = d.hardware.vaCheckMask;
  const hi = va & m;
  return hi !== 0n && (!d.hardware.vaSignExtend || hi !== m);
}

// ---------------------------------------------------------------- bit names
/**
 * The names of the bits set in an entry at level `li`, outside its address
 * field (the table address for a table entry, else the leaf address), by bit
 * number. A bit several names share prints under the name the level's rules
 * give for this entry's state (types.ts BitNameRule); otherwise under the
 * level's own names for it, else all its names, joined with '/'.
 */
export function entryBitNames(d: Descriptor, li: number, e: bigint): string[] {
  const l = d.levels[li];
  if (!l) throw new PgtemuError('EINVAL', `entryBitNames: level ${li} does not exist (0..${d.levels.length - 1})`);
  const f = decodeEntry(l, e);
  const field = f.table ? l.tableAddr.mask : l.leafAddr.mask;
  const own = new Set(l.bitNames);
  const out: string[] = [];
  for (let b = 0; b < 64; b++) {
    const bit = 1n << BigInt(b);
    if ((e & bit) === 0n || (field & bit) !== 0n) continue;
    const rules = l.nameRules.filter((r) => r.bit === b);
    const hit = rules.find((r) => !r.when || matchPred(r.when, e));
    if (hit) { out.push(hit.name); continue; }
    const failed = new Set(rules.map((r) => r.name));
    const names = Object.entries(d.bits).filter(([n, x]) => x === b && !failed.has(n)).map(([n]) => n);
    const mine = names.filter((n) => own.has(n));
    out.push((mine.length ? mine : names).join('/') || `bit${b}`);
  }
  return out;
}
