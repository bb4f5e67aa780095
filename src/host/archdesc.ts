// From an architecture folder's data to the descriptor the core reads:
// resolve a variant for a kernel and switch set, compile bit names into
// masks, derive leaf templates from the kernel's own transformations,
// and validate the result. One place, every architecture.

import type {
  ArchData, ArchKconfig, Bits, LevelKind, FieldSpec, HardwareSpec, LevelSpec, OpSpec, Ops, PredSpec, SwapFieldSpec, SwapSpec, Switches, VariantSpec,
} from '../arch/types.js';
import { SWAP_TYPE_ERAS } from '../arch/swap.js';
import { MAX_SWAPFILES_SHIFT } from './consts.gen.js';
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
  /** gup-fast asks pXd_none only here (a real pgd level: types.ts LevelKind.gupFastNoneOnly) */
  gupFastNoneOnly: boolean;
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
  /** the walks' quick table test once pXd_none has said no (see assembly/layout.ts LevelDesc) */
  fastLiveTable: { mask: bigint; value: bigint; any: bigint };
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

// Every bit the named predicates read.
function predBits(d: LevelDescriptor, names: readonly PredName[]): bigint {
  return names.reduce((m, n) => m | d.preds[n].m1 | d.preds[n].m2 | d.preds[n].any, 0n);
}

// A table entry is recognised by pXd_none, pXd_present, pXd_leaf and the table
// test; an entry equal to the table template on all the bits they read, and on
// the bits of the none mask where the template differs from the empty value
// (so it is never the empty value), is a table too. Levels whose empty value is
// itself a table pointer (loongarch) get no shortcut, nor do levels whose
// template is not present without an address (s390 region entries: present
// means a non-zero table origin, which no mask and value can say).
function fastTable(d: LevelDescriptor): { mask: bigint; value: bigint } {
  if (d.isLast || d.emptyTable) return { mask: 0n, value: 1n };
  const t = d.tableTemplate;
  const names: PredName[] = ['present', 'table', ...(d.leafOk ? ['leaf' as const] : [])];
  // (bits of the address field that a predicate reads stay in the mask: an entry
  // must then match the template there too, which is never wrong, only slower)
  const mask = tellFromEmpty(d, t, predBits(d, names));
  if (mask === 0n) return { mask: 0n, value: 1n };
  const ok = matchPred(d.preds.present, t) && matchPred(d.preds.table, t) && (!d.leafOk || !matchPred(d.preds.leaf, t));
  if (!ok) return { mask: 0n, value: 1n };
  return { mask, value: t & mask };
}

// Once pXd_none has said no, an entry equal to the table template on the
// bits pXd_present, pXd_leaf and the table test read is a table. Only levels
// the quick table pair leaves out need it (where it has one, that answers
// first), never the last level. Where pXd_present is only "some bit of the
// table address is set" (s390 region entries: the table origin), those bits
// are asked apart (`any`: the entry must have one of them) instead of being
// equal to the template's, which has none.
function fastLiveTable(d: LevelDescriptor): { mask: bigint; value: bigint; any: bigint } {
  const none = { mask: 0n, value: 1n, any: M64n };
  if (d.isLast || d.fastTable.mask !== 0n) return none;
  const t = d.tableTemplate;
  const p = d.preds.present;
  const byAddress = !matchPred(p, t) && p.m1 === 0n && p.v1 !== 0n && p.m2 === 0n && p.v2 !== 0n &&
    p.any !== 0n && (p.any & ~d.tableAddr.mask) === 0n;
  const names: PredName[] = [...(byAddress ? [] : ['present' as const]), 'table', ...(d.leafOk ? ['leaf' as const] : [])];
  const mask = predBits(d, names);
  const ok = (byAddress || matchPred(p, t)) && matchPred(d.preds.table, t) && (!d.leafOk || !matchPred(d.preds.leaf, t));
  return ok && mask !== 0n ? { mask, value: t & mask, any: byAddress ? p.any : M64n } : none;
}

// A quick pair's mask (the bits its predicates read) made to tell the
// template from the empty value: as it is if it does; else with one bit of
// the none mask, outside the address fields, where they differ (an entry
// matching the template there is not pXd_none: s390's segment table entry,
// whose invalid bit no other predicate reads); 0n if there is none.
function tellFromEmpty(d: LevelDescriptor, t: bigint, mask: bigint): bigint {
  if ((t & mask & d.noneMask) !== (d.empty & mask & d.noneMask)) return mask;
  const diff = (t ^ d.empty) & d.noneMask & ~d.tableAddr.mask & ~d.leafAddr.mask;
  return diff === 0n ? 0n : mask | (diff & -diff);
}

// A walk stops at a leaf it can map through when pXd_none is false and
// pXd_present and pXd_leaf hold; an entry equal to a present leaf template on
// all the bits those read (told from the empty value there) answers them as
// the template does. Levels whose empty value is a table pointer get none.
function fastLeaf(d: LevelDescriptor, t: bigint): { mask: bigint; value: bigint } {
  if (!d.leafOk || d.emptyTable) return { mask: 0n, value: 1n };   // (an empty value set later: no shortcut)
  const mask = tellFromEmpty(d, t, predBits(d, ['present', 'leaf']));
  if (mask === 0n) return { mask: 0n, value: 1n };
  const ok = (t & d.noneMask) !== d.empty && matchPred(d.preds.present, t) && matchPred(d.preds.leaf, t);
  return ok ? { mask, value: t & mask } : { mask: 0n, value: 1n };
}

/** gup-fast's per-entry decision before the grab: protnone, access, write, devmap, special. */
export function gupFastAccepts(d: LevelDescriptor, e: bigint, write: boolean): boolean {
  const p = (n: PredName) => matchPred(d.preds[n], e);
  return !p('protnone') && p('access') && (!write || p('write')) && !p('special') && !p('devmap') && !(e !== 0n && p('invert'));
}

// Every bit the gup-fast predicates read: an entry that agrees with an
// accepted template on all of them is accepted too. Where the kernel's own
// entries that gup-fast accepts (the templates, the base protections, an
// mkwrite of the read-only template) differ from the template on such bits,
// those bits are left out if every combination of them, the other bits as in
// the template, is accepted (the predicates read no other bits: sound), so
// that all of those entries match: ppc64's pte_protnone reads _PAGE_RWX, but
// with _PAGE_READ set it is false whatever _PAGE_WRITE says, and a read pin of
// writable memory matches the read pair (_PAGE_EXEC stays in the mask: no
// entry tried sets it); s390's region3 present test asks any of the origin
// and flag bits, one of which suffices.
function fastAccept(d: LevelDescriptor, t: bigint, write: boolean): { mask: bigint; value: bigint } {
  const names: PredName[] = ['protnone', 'access', 'special', 'devmap', 'invert', ...(write ? ['write' as const] : [])];
  let mask = predBits(d, names);
  if (!d.leafOk || (t & mask) === 0n || !gupFastAccepts(d, t, write)) return { mask: 0n, value: 1n };
  const kernels = [d.templates.ro, d.templates.rw, d.prots.readonly, d.prots.copy, d.prots.shared, applyOp(d.ops.mkwrite, d.templates.ro)];
  const differ = kernels.filter((e) => gupFastAccepts(d, e, write)).reduce((a, e) => a | ((e ^ t) & mask), 0n);
  const bits: bigint[] = [];
  for (let b = 0n; b < 64n; b++) if ((differ >> b) & 1n) bits.push(1n << b);
  const all = differ;
  let ok = bits.length <= 12 && (t & mask & ~all) !== 0n;   // (2^12 combinations at most; the value stays non-zero)
  for (let k = 0; ok && k < 1 << bits.length; k++) {
    const set = bits.reduce((a, x, i) => ((k >> i) & 1 ? a | x : a), 0n);
    ok = gupFastAccepts(d, (t & ~all) | set, write);
  }
  if (ok) mask &= ~all;
  return { mask, value: t & mask };
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
  /** the last level's swap entries (swp_entry_to_pte) and this kernel's swap types */
  swap: SwapDescriptor;
  /** what this kernel's Kconfig selects on the arch */
  kconfig: ArchKconfig;
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
// (`kernel` chooses the bits; kconfigKernel, the kernel itself, what its Kconfig selects)
export function buildVariant(data: ArchData, name: string, kernel: string, sw: Switches, kconfigKernel = kernel): VariantSpec {
  const g = data.variants[name];
  if (!g) {
    throw new PgtemuError('EUNKNOWN',
      `unknown ${data.arch} variant '${name}' (variants: ${Object.keys(data.variants).join(', ')})`);
  }
  const bits: Record<string, number> = { ...data.bits };
  let eraSwap: SwapSpec | undefined;
  let prot = data.prot;
  let archOps: Partial<Ops> = data.ops;
  let sectionSizeBits = g.sectionSizeBits;
  const kinds: Record<string, LevelKind> = { ...data.kinds };
  for (const era of data.eras ?? []) {
    if ((era.from === undefined || kernelCmp(kernel, era.from) >= 0) && (era.until === undefined || kernelCmp(kernel, era.until) <= 0)) {
      Object.assign(bits, era.bits);
      if (era.swap) eraSwap = era.swap;
      if (era.prot) prot = era.prot;
      if (era.ops) archOps = { ...archOps, ...era.ops };
      if (era.sectionSizeBits !== undefined) sectionSizeBits = era.sectionSizeBits;
      for (const [k, over] of Object.entries(era.kinds ?? {})) {
        if (!kinds[k]) throw new PgtemuError('ELAYOUT', `${data.arch}: an era (until ${era.until ?? '-'}) names unknown kind '${k}'`);
        // (an era's ops for a kind replace those ops only, not the kind's others)
        kinds[k] = { ...kinds[k], ...over, ops: over.ops ? { ...kinds[k].ops, ...over.ops } : kinds[k].ops };
      }
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
    const kind = kinds[lg.kind];
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
      swap: kind.swap && (eraSwap ?? kind.swap),
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
    sectionSizeBits,
    maxPhysBits: g.maxPhysBits,
    bits,
    levels,
    ops: strip(archOps) as Ops,
    prot,
    switches: sw,
    source: data.source,
    hardware: g.hardware,
    uffdWp: inRange(kernel, data.history.uffdWp ?? null),
    kconfig: archKconfig(data, kconfigKernel),
  };
}

/** What `kernel`'s Kconfig selects on the arch (its history). */
export function archKconfig(data: ArchData, kernel: string): ArchKconfig {
  return {
    thpPud: inRange(kernel, data.history.thpPud ?? null),
    hugePfnmap: inRange(kernel, data.history.hugePfnmap ?? null),
    daxVmemmapOpt: inRange(kernel, data.history.daxVmemmapOpt ?? null),
    memoryFailure: inRange(kernel, data.history.memoryFailure ?? null),
  };
}

// ---------------------------------------------------------------- compile + validate
const field = (f: FieldSpec, where: string): Field => {
  if (f.mask === 0n) throw new PgtemuError('ELAYOUT', `${where}: empty mask`);
  const low = BigInt(f.mask & -f.mask).toString(2).length - 1;
  if (low !== f.shift) throw new PgtemuError('ELAYOUT', `${where}: shift ${f.shift} is not the mask's lowest bit (${low})`);
  const top = f.mask.toString(2).length - 1;
  if (f.mask < 0n || top >= 64 || f.paShift < 0 || top - f.shift + f.paShift > 63) {
    throw new PgtemuError('ELAYOUT', `${where}: mask ${hex(f.mask)} with pa shift ${f.paShift} makes addresses beyond 64 bits`);
  }
  return { mask: f.mask, shift: f.shift, paShift: f.paShift };
};
// A table address field of all 64 bits would leave no bit to tell a table
// entry by, and could name pa 2^64 - 1, which the core's link index cannot
// tell from no link (mem.ts tableLinked).
const tableField = (f: FieldSpec, where: string): Field => {
  const r = field(f, where);
  if (r.mask === M64 && r.paShift === 0) throw new PgtemuError('ELAYOUT', `${where}: a table address field of all 64 bits (no bit left to tell a table entry by)`);
  return r;
};

/**
 * Compile and validate a variant for `kernel`; every problem is an ELAYOUT error
 * naming the field. `devicePrivate`: CONFIG_DEVICE_PRIVATE can be set (it depends
 * on ZONE_DEVICE: the machine's `era.zoneDevice`); without it the kernel reserves
 * no device swap types.
 */
export function compileVariant(v: VariantSpec, kernel: string, o: { devicePrivate?: boolean } = {}): Descriptor {
  const at = `${v.arch}/${v.variant}`;
  const n = v.levels.length;
  if (n < 2 || n > 5) throw new PgtemuError('ELAYOUT', `${at}: levels: ${n} levels (2 to 5 supported)`);
  if (v.pageShift < 12 || v.pageShift > 16) throw new PgtemuError('ELAYOUT', `${at}: pageShift ${v.pageShift} is not 12..16`);
  if (v.userVaBits > v.vaBits) throw new PgtemuError('ELAYOUT', `${at}: userVaBits ${v.userVaBits} exceeds vaBits ${v.vaBits}`);
  // SECTION_SIZE_BITS: a section holds pages (> PAGE_SHIFT) and fits the physical
  // address space (<= MAX_PHYSMEM_BITS, include/linux/mmzone.h SECTIONS_SHIFT)
  if (!Number.isInteger(v.sectionSizeBits) || v.sectionSizeBits <= v.pageShift || v.sectionSizeBits > v.maxPhysBits) {
    throw new PgtemuError('ELAYOUT', `${at}: sectionSizeBits ${v.sectionSizeBits} is not an integer in pageShift + 1 .. maxPhysBits (${v.pageShift + 1}..${v.maxPhysBits})`);
  }
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
      tableAddr: tableField(l.tableAddr, `${w}.tableAddr`),
      leafAddr: field(l.leafAddr, `${w}.leafAddr`),
      tableTemplate: maskOf(v.bits, l.tableBits, `${w}.tableBits`) | (l.tableValue ?? 0n),
      emptyTable: l.emptyIsTable ?? false,
      gupFastNoneOnly: l.gupFastNoneOnly ?? false,
      templates,
      prots: l.leafOk
        ? { none: huge(prot('none')), readonly: huge(prot('readonly')), copy: huge(prot('copy')), shared: huge(prot('shared')) }
        : { none: 0n, readonly: 0n, copy: 0n, shared: 0n },
      ops,
      fastRead: { mask: 0n, value: 1n },
      fastWrite: { mask: 0n, value: 1n },
      fastTable: { mask: 0n, value: 1n },
      fastLiveTable: { mask: 0n, value: 1n, any: M64n },
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
    d.fastLiveTable = fastLiveTable(d);
    d.fastLeaf = fastLeaf(d, templates.rw);
    checkLevel(d, v, w);
    // gup_fast_pgd_range's pgd_none-only test belongs to the top level alone (the levels
    // below are asked pXd_present): elsewhere gup-fast would descend from non-present entries
    if (d.gupFastNoneOnly && i !== 0) throw new PgtemuError('ELAYOUT', `${w}.gupFastNoneOnly: only the top level (a real pgd) is asked pgd_none alone`);
    return d;
  });
  const swap = compileSwap(v, levels, kernel, at, o.devicePrivate ?? true);
  const hardware = compileHardware(v, levels, at);
  checkSwapHardware(swap, hardware, levels.length - 1, at);
  return {
    arch: v.arch, variant: v.variant, kernel, description: v.description,
    pageShift: v.pageShift, vaBits: v.vaBits, userVaBits: v.userVaBits, bigEndian: v.bigEndian,
    hasSpecial: v.switches.special, hasDevmap: v.switches.devmap,
    sectionSizeBits: v.sectionSizeBits, maxPhysBits: v.maxPhysBits,
    bits: { ...v.bits }, levels, source: v.source,
    hardware, swap, kconfig: v.kconfig ?? { thpPud: false, hugePfnmap: false, daxVmemmapOpt: false, memoryFailure: true },
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

// ---------------------------------------------------------------- swap entries
// A non-present pte of the generic swap form (include/linux/swapops.h): the
// arch's __swp_entry(type, offset) made a pte by __swp_entry_to_pte. The
// device-private entries of ZONE_DEVICE (make_writable_device_private_entry,
// make_readable_device_private_entry) are swap entries of two reserved types
// whose offset is the device page's pfn.

export interface SwapField {
  mask: bigint;
  shift: number;
  /** width in bits */
  bits: number;
  /** the field holds the value's complement (x86 L1TF) */
  inverted: boolean;
}

export interface SwapDescriptor {
  type: SwapField;
  offset: SwapField;
  /** bits every swap entry has set (__swp_entry_to_pte) */
  set: bigint;
  /** bits the arch keeps clear in every swap entry */
  clear: bigint;
  /** pte_swp_exclusive / pte_swp_soft_dirty / pte_swp_uffd_wp bits (0n: the arch has none) */
  exclusive: bigint;
  softDirty: bigint;
  uffdWp: bigint;
  /** SWP_PFN_BITS = MAX_PHYSMEM_BITS - PAGE_SHIFT: what swp_offset_pfn keeps of an offset */
  pfnBits: number;
  /** this kernel's SWP_DEVICE_WRITE and SWP_DEVICE_READ; -1 without CONFIG_DEVICE_PRIVATE */
  deviceWrite: number;
  deviceRead: number;
  /** MAX_SWAPFILES: types below it are swap areas */
  maxSwapfiles: number;
  /** the kernel's name of each reserved type, by type number (0 .. 31) */
  typeNames: (string | undefined)[];
  cite: string;
  typesCite: string;
}

/**
 * This kernel's reserved swap types (src/arch/swap.ts): CONFIG_MIGRATION on,
 * MEMORY_FAILURE where the arch supports it (`memoryFailure`), DEVICE_PRIVATE where
 * ZONE_DEVICE can be set (`devicePrivate`; without it SWP_DEVICE_NUM is 0 and
 * deviceWrite / deviceRead are -1).
 */
export function swapTypes(kernel: string, uffdWp: boolean, memoryFailure = true, devicePrivate = true): Pick<SwapDescriptor, 'deviceWrite' | 'deviceRead' | 'maxSwapfiles' | 'typeNames' | 'typesCite'> {
  const era = SWAP_TYPE_ERAS.find((r) => inRange(kernel, { from: r.from ?? 'v0.0', until: r.until }));
  if (!era) throw new PgtemuError('ELAYOUT', `swap types: no era of src/arch/swap.ts covers kernel ${kernel}`);
  const pteMarker = era.pteMarker === 1 || uffdWp ? 1 : 0;
  const hwpoison = memoryFailure ? 1 : 0;
  const reserved = [
    ...(hwpoison ? ['SWP_HWPOISON'] : []),                                       // SWP_HWPOISON_NUM
    'SWP_MIGRATION_READ', 'SWP_MIGRATION_READ_EXCLUSIVE', 'SWP_MIGRATION_WRITE',   // SWP_MIGRATION_NUM 3
    ...(devicePrivate ? ['SWP_DEVICE_WRITE', 'SWP_DEVICE_READ', ...era.deviceExclusive] : []),   // SWP_DEVICE_NUM
    ...(pteMarker ? ['SWP_PTE_MARKER'] : []),
    ...(era.swapinError ? ['SWP_SWAPIN_ERROR'] : []),
  ];
  if (reserved.length !== hwpoison + 3 + (devicePrivate ? era.deviceNum : 0) + pteMarker + era.swapinError) {
    throw new PgtemuError('ELAYOUT', `swap types of ${kernel}: ${era.deviceExclusive.length + 2} device types listed, SWP_DEVICE_NUM is ${era.deviceNum}`);
  }
  const maxSwapfiles = (1 << MAX_SWAPFILES_SHIFT) - reserved.length;
  const typeNames: (string | undefined)[] = Array.from({ length: 1 << MAX_SWAPFILES_SHIFT }, (_, t) => (t < maxSwapfiles ? undefined : reserved[t - maxSwapfiles]));
  return {
    deviceWrite: typeNames.indexOf('SWP_DEVICE_WRITE'), deviceRead: typeNames.indexOf('SWP_DEVICE_READ'),
    maxSwapfiles, typeNames, typesCite: era.cite,
  };
}

const swapField = (f: SwapFieldSpec | undefined, where: string): SwapField => {
  if (!f || typeof f.mask !== 'bigint') throw new PgtemuError('ELAYOUT', `${where}: missing (a { mask, shift } field)`);
  if (f.mask <= 0n || f.mask > M64) throw new PgtemuError('ELAYOUT', `${where}: mask ${hex(f.mask)} is not a non-zero 64-bit mask`);
  const low = (f.mask & -f.mask).toString(2).length - 1;
  if (f.shift !== low) throw new PgtemuError('ELAYOUT', `${where}: shift ${f.shift} is not the mask's lowest bit (${low})`);
  const run = f.mask >> BigInt(low);
  if ((run & (run + 1n)) !== 0n) throw new PgtemuError('ELAYOUT', `${where}: mask ${hex(f.mask)} is not one run of bits`);
  return { mask: f.mask, shift: low, bits: run.toString(2).length, inverted: f.inverted === true };
};

function compileSwap(v: VariantSpec, levels: LevelDescriptor[], kernel: string, at: string, devicePrivate: boolean): SwapDescriptor {
  const n = v.levels.length;
  v.levels.forEach((l, i) => {
    if (i < n - 1 && l.swap) throw new PgtemuError('ELAYOUT', `${at}: ${l.name}.swap: only the last level's swap entries are modelled (no pmd migration or device-private pmd entries)`);
  });
  const last = v.levels[n - 1];
  const w = `${at}: ${last.name}.swap`;
  const s = last.swap;
  if (!s) throw new PgtemuError('ELAYOUT', `${w}: missing (every arch describes its swap entries: __swp_entry, __swp_entry_to_pte)`);
  const type = swapField(s.type, `${w}.type`);
  const offset = swapField(s.offset, `${w}.offset`);
  if (type.bits < MAX_SWAPFILES_SHIFT) {
    throw new PgtemuError('ELAYOUT', `${w}.type: ${type.bits} bits cannot hold MAX_SWAPFILES_SHIFT = ${MAX_SWAPFILES_SHIFT} (MAX_SWAPFILES_CHECK)`);
  }
  const pfnBits = v.maxPhysBits - v.pageShift;
  if (offset.bits < pfnBits) {
    throw new PgtemuError('ELAYOUT', `${w}.offset: ${offset.bits} bits cannot hold a pfn of SWP_PFN_BITS = MAX_PHYSMEM_BITS - PAGE_SHIFT = ${pfnBits} (migration and device-private entries)`);
  }
  const one = (b: string | number | undefined, what: string): bigint => {
    if (b === undefined) return 0n;
    const m = maskOf(v.bits, [b], `${w}.${what}`);
    if (m === 0n) throw new PgtemuError('ELAYOUT', `${w}.${what}: bit '${b}' does not exist in this kernel`);
    return m;
  };
  const parts: [string, bigint][] = [
    ['type', type.mask], ['offset', offset.mask],
    ['set', maskOf(v.bits, s.set ?? [], `${w}.set`)], ['clear', maskOf(v.bits, s.clear ?? [], `${w}.clear`)],
    ['exclusive', one(s.exclusive, 'exclusive')], ['softDirty', one(s.softDirty, 'softDirty')], ['uffdWp', one(s.uffdWp, 'uffdWp')],
  ];
  for (let i = 0; i < parts.length; i++) {
    for (let j = i + 1; j < parts.length; j++) {
      const c = parts[i][1] & parts[j][1];
      if (c !== 0n) throw new PgtemuError('ELAYOUT', `${w}: ${parts[i][0]} and ${parts[j][0]} overlap (${hex(c)})`);
    }
  }
  const m = Object.fromEntries(parts) as Record<string, bigint>;
  const d: SwapDescriptor = {
    type, offset, set: m.set, clear: m.clear, exclusive: m.exclusive, softDirty: m.softDirty, uffdWp: m.uffdWp,
    pfnBits, cite: s.cite ?? '', ...swapTypes(kernel, v.uffdWp ?? false, v.kconfig?.memoryFailure ?? true, devicePrivate),
  };
  checkSwapEntries(d, levels[n - 1], w);
  return d;
}

/** swp_entry_to_pte(swp_entry(type, offset)): the offset truncated to the field, as the kernel's shifts do. */
export function encodeSwapEntry(s: SwapDescriptor, type: number, offset: bigint): bigint {
  const t = (BigInt(type) << BigInt(s.type.shift)) & s.type.mask;
  const o = ((offset << BigInt(s.offset.shift)) & s.offset.mask) ^ (s.offset.inverted ? s.offset.mask : 0n);
  return t | o | s.set;
}
/** __swp_type(__pte_to_swp_entry(pte)) */
export function swapEntryType(s: SwapDescriptor, e: bigint): number {
  return Number((e & s.type.mask) >> BigInt(s.type.shift));
}
/** __swp_offset(__pte_to_swp_entry(pte)) */
export function swapEntryOffset(s: SwapDescriptor, e: bigint): bigint {
  return ((s.offset.inverted ? ~e & M64 : e) & s.offset.mask) >> BigInt(s.offset.shift);
}

// Can some entry with the bits `fixed` set, the bits `free` either way and
// every other bit clear satisfy p? The predicates are linear: an alternative
// (e & m) == v holds for some such entry iff v agrees with `fixed` on the
// bits of m that are not free; an `any` iff one of its bits can be set.
// Returns such an entry (a witness), or undefined.
function predWitness(p: RawPred, fixed: bigint, free: bigint): bigint | undefined {
  for (const [m, val] of [[p.m1, p.v1], [p.m2, p.v2]] as const) {
    if ((val & ~m) !== 0n) continue;                       // an unused alternative
    if (((val ^ fixed) & m & ~free) === 0n) return (fixed & ~(m & free)) | (val & m & free);
  }
  const a = p.any & (fixed | free);
  if (a !== 0n) return fixed | (a & -a);
  return undefined;
}

// Every swap entry the kernel can build, for every type of the 5-bit space,
// every offset and any of the exclusive / soft-dirty / uffd-wp bits, is
// !pte_present; and no entry of a reserved type is pte_none (is_swap_pte).
// Type 0 may meet the empty value (x86: swp_entry(0, 2^50 - 1) is 0); the
// kernel never builds it (max_swapfile_size bounds swap offsets).
function checkSwapEntries(s: SwapDescriptor, l: LevelDescriptor, w: string): void {
  const flags = s.exclusive | s.softDirty | s.uffdWp;
  const types = ((1n << BigInt(MAX_SWAPFILES_SHIFT)) - 1n) << BigInt(s.type.shift);
  const say = (e: bigint) => `swp_entry(${swapEntryType(s, e)}, ${hex(swapEntryOffset(s, e))})${(e & flags) !== 0n ? ' with swp flag bits' : ''} = ${hex(e)}`;
  for (const [pred, name] of [[l.preds.present, 'present'], [l.preds.protnone, 'protnone']] as const) {
    const x = predWitness(pred, s.set, types | s.offset.mask | flags);
    if (x !== undefined) throw new PgtemuError('ELAYOUT', `${w}: ${say(x)} is ${l.name}_${name}(): a swap entry must not be present`);
  }
  const none: RawPred = { m1: l.noneMask, v1: l.empty, m2: 0n, v2: 1n, any: 0n };
  for (let t = s.maxSwapfiles; t < 1 << MAX_SWAPFILES_SHIFT; t++) {
    const fixed = encodeSwapEntry(s, t, 0n) & ~s.offset.mask;
    const x = predWitness(none, fixed, s.offset.mask | flags);
    if (x !== undefined) throw new PgtemuError('ELAYOUT', `${w}: ${say(x)} (${s.typeNames[t]}) is ${l.name}_none(): is_swap_pte would miss it`);
  }
}

// The MMU never translates through a swap entry.
function checkSwapHardware(s: SwapDescriptor, h: HardwareDescriptor, li: number, at: string): void {
  const x = predWitness(h.levels[li].valid, s.set, (((1n << BigInt(MAX_SWAPFILES_SHIFT)) - 1n) << BigInt(s.type.shift)) | s.offset.mask | s.exclusive | s.softDirty | s.uffdWp);
  if (x !== undefined) {
    throw new PgtemuError('ELAYOUT', `${at}: ${h.levels[li].name}.swap: the swap entry ${hex(x)} (type ${swapEntryType(s, x)}, offset ${hex(swapEntryOffset(s, x))}) is valid to the MMU (${h.levels[li].cite})`);
  }
}

/** What pte_to_swp_entry and the swapops.h helpers say of a swap entry. */
export interface SwapEntryInfo {
  /** swp_type */
  type: number;
  /** the kernel's name of a reserved type (SWP_DEVICE_WRITE, ...); undefined: a swap area */
  typeName?: string;
  /** swp_offset */
  offset: bigint;
  /** is_device_private_entry: the device page's pfn (swp_offset_pfn) and is_writable_device_private_entry */
  devicePrivate?: { pfn: bigint; writable: boolean };
  /** pte_swp_exclusive, pte_swp_soft_dirty, pte_swp_uffd_wp */
  exclusive: boolean;
  softDirty: boolean;
  uffdWp: boolean;
  /** offset bits above SWP_PFN_BITS in a pfn entry (the kernel's are zero, or migration A/D bits) */
  offsetHigh: bigint;
  /** bits outside every field (the kernel's swap entries have none) */
  stray: bigint;
  /** the swapops.h helpers and what they say */
  helpers: { name: string; value: boolean }[];
}

/** is_swap_pte at the last level: !pte_none && !pte_present. */
export function isSwapEntry(d: Descriptor, li: number, e: bigint): boolean {
  const l = d.levels[li];
  return l !== undefined && l.isLast && (e & l.noneMask) !== l.empty && !matchPred(l.preds.present, e);
}

/** The swap entry a last-level entry holds (undefined: none, present, or not the last level). */
export function decodeSwapEntry(d: Descriptor, li: number, e: bigint): SwapEntryInfo | undefined {
  if (!isSwapEntry(d, li, e)) return undefined;
  const s = d.swap;
  const type = swapEntryType(s, e);
  const typeName = s.typeNames[type];
  const offset = swapEntryOffset(s, e);
  const pfnMask = (1n << BigInt(s.pfnBits)) - 1n;
  const dp = type === s.deviceWrite || type === s.deviceRead;
  const pfnEntry = typeName !== undefined && /^SWP_(MIGRATION|DEVICE|HWPOISON)/.test(typeName);
  const known = s.type.mask | s.offset.mask | s.set | s.exclusive | s.softDirty | s.uffdWp;
  return {
    type, typeName, offset,
    devicePrivate: dp ? { pfn: offset & pfnMask, writable: type === s.deviceWrite } : undefined,
    exclusive: (e & s.exclusive) !== 0n, softDirty: (e & s.softDirty) !== 0n, uffdWp: (e & s.uffdWp) !== 0n,
    offsetHigh: pfnEntry ? offset & ~pfnMask : 0n,
    stray: e & ~known & M64,
    helpers: [
      { name: 'is_swap_pte', value: true },
      { name: 'is_pfn_swap_entry', value: pfnEntry },
      { name: 'is_device_private_entry', value: dp },
      { name: 'is_writable_device_private_entry', value: type === s.deviceWrite },
      { name: 'is_device_exclusive_entry', value: typeName?.startsWith('SWP_DEVICE_EXCLUSIVE') ?? false },
      { name: 'is_migration_entry', value: typeName?.startsWith('SWP_MIGRATION') ?? false },
      { name: 'is_hwpoison_entry', value: typeName === 'SWP_HWPOISON' },
      { name: 'is_pte_marker_entry', value: typeName === 'SWP_PTE_MARKER' },
    ],
  };
}

/**
 * make_writable_device_private_entry(pfn) / make_readable_device_private_entry(pfn)
 * made a pte (swp_entry_to_pte), refusing a pfn the entry cannot carry: one
 * beyond SWP_PFN_BITS (swp_offset_pfn would drop its high bits) or beyond the
 * arch's offset field.
 */
export function encodeDevicePrivateEntry(d: Descriptor, pfn: bigint, writable: boolean, what = `pfn ${hex(pfn)}`): bigint {
  const s = d.swap;
  if (s.deviceWrite < 0) {
    throw new PgtemuError('EINVAL', `${what}: ${d.kernel} on ${d.arch} has no device-private entries: CONFIG_DEVICE_PRIVATE depends on ZONE_DEVICE, which this machine does not have (it needs a devmap bit until v6.16), so include/linux/swap.h reserves no SWP_DEVICE types`);
  }
  if (typeof pfn !== 'bigint' || pfn < 0n) throw new PgtemuError('EINVAL', `${what} is not a page frame number`);
  if (pfn >> BigInt(s.offset.bits) !== 0n) {
    throw new PgtemuError('EINVAL', `${what} does not fit the ${d.arch}/${d.variant} swap offset field (${s.offset.bits} bits, bits ${s.offset.shift}..${s.offset.shift + s.offset.bits - 1})`);
  }
  if (pfn >> BigInt(s.pfnBits) !== 0n) {
    throw new PgtemuError('EINVAL', `${what} is beyond SWP_PFN_BITS = MAX_PHYSMEM_BITS - PAGE_SHIFT = ${s.pfnBits} (largest pfn ${hex((1n << BigInt(s.pfnBits)) - 1n)}): swp_offset_pfn would drop its high bits`);
  }
  return encodeSwapEntry(s, writable ? s.deviceWrite : s.deviceRead, pfn);
}

/** swp_entry_to_pte(swp_entry(type, offset)), refusing a type or offset the entry cannot carry. */
export function encodeSwapEntryChecked(d: Descriptor, type: number, offset: bigint, what = 'swap entry'): bigint {
  const s = d.swap;
  if (!Number.isInteger(type) || type < 0 || type >= 1 << MAX_SWAPFILES_SHIFT) {
    throw new PgtemuError('EINVAL', `${what}: type ${String(type)} is not a swap type (0..${(1 << MAX_SWAPFILES_SHIFT) - 1}, MAX_SWAPFILES_SHIFT ${MAX_SWAPFILES_SHIFT})`);
  }
  if (typeof offset !== 'bigint' || offset < 0n || offset >> BigInt(s.offset.bits) !== 0n) {
    throw new PgtemuError('EINVAL', `${what}: offset ${typeof offset === 'bigint' ? hex(offset) : String(offset)} does not fit the ${d.arch}/${d.variant} swap offset field (${s.offset.bits} bits)`);
  }
  return encodeSwapEntry(s, type, offset);
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
    const tableAddr = s.tableAddr ? tableField(s.tableAddr, `${w}.tableAddr`) : ld.tableAddr;   // (last level: unused)
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
      fastRead: never, fastWrite: never, fastTable: never, fastLiveTable: { ...never, any: M64n }, fastLeaf: never, nameRules: [],
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
