// Reading the architecture descriptor (assembly/arch.ts): the same compiled
// descriptor the core reads, its predicates and address fields, through the
// host's one definition of each (src/host/archdesc.ts).
import {
  decodeLeafPa, decodeTablePa, encodeLeafEntry, encodeTableEntry, matchPred,
  type LevelDescriptor, type PredName, type RawPred, type TemplateName,
} from '../../src/host/archdesc.js';

/** matchPred for one predicate, without the alternatives it does not use. */
function compilePred(p: RawPred): (e: bigint) => boolean {
  const never = (m: bigint, v: bigint) => (v & ~m) !== 0n;   // (e & m) === v cannot hold
  const alts = [[p.m1, p.v1], [p.m2, p.v2]].filter(([m, v]) => !never(m, v));
  if (alts.some(([m, v]) => m === 0n && v === 0n)) return () => true;
  const any = p.any;
  if (alts.length === 0) return any === 0n ? () => false : (e) => (e & any) !== 0n;
  if (alts.length === 1) {
    const [m, v] = alts[0];
    return any === 0n ? (e) => (e & m) === v : (e) => (e & m) === v || (e & any) !== 0n;
  }
  return (e) => matchPred(p, e);
}

/** One level of the descriptor, with its numbers precomputed. */
export class Lvl {
  readonly shift: number;
  readonly sizeB: bigint;
  readonly entries: number;
  readonly tableBytes: number;
  readonly leafOk: boolean;
  readonly isLast: boolean;
  /** the empty entry (a machine's levels with a shared invalid table hold its link: Machine.desc has it) */
  readonly empty: bigint;
  private readonly shiftB: bigint;
  private readonly idxMask: bigint;
  private readonly noneMask: bigint;
  private readonly f: Record<PredName, (e: bigint) => boolean>;
  constructor(readonly d: LevelDescriptor) {
    this.shift = d.shift;
    this.shiftB = BigInt(d.shift);
    this.sizeB = 1n << this.shiftB;
    this.idxMask = (1n << BigInt(d.indexBits)) - 1n;
    this.entries = 1 << d.indexBits;
    this.tableBytes = d.tableBytes;
    this.leafOk = d.leafOk;
    this.isLast = d.isLast;
    this.empty = d.empty;
    this.noneMask = d.noneMask;
    this.f = Object.fromEntries(Object.entries(d.preds).map(([k, v]) => [k, compilePred(v)])) as Record<PredName, (e: bigint) => boolean>;
  }
  pred(n: PredName, e: bigint): boolean { return this.f[n](e); }
  // (the empty value has no bits outside noneMask: archdesc.ts checks it)
  isNone(e: bigint): boolean { return e === this.empty || (e & this.noneMask) === this.empty; }
  isPresent(e: bigint): boolean { return !this.isNone(e) && this.pred('present', e); }
  isTable(e: bigint): boolean { return this.pred('table', e); }
  isLeaf(e: bigint): boolean { return this.leafOk && this.pred('leaf', e); }
  tablePa(e: bigint): number { return Number(decodeTablePa(this.d, e)); }
  leafPa(e: bigint): bigint { return decodeLeafPa(this.d, e); }
  mkTable(pa: number): bigint { return encodeTableEntry(this.d, BigInt(pa)); }
  mkLeaf(pa: bigint, t: TemplateName): bigint { return encodeLeafEntry(this.d, pa, this.d.templates[t]); }
  index(va: bigint): number { return Number((va >> this.shiftB) & this.idxMask); }
  /** pXd_addr_end: the end of this level's block holding addr, or end if sooner */
  addrEnd(addr: bigint, end: bigint): bigint {
    const next = (addr + this.sizeB) & ~(this.sizeB - 1n);
    return next === 0n || next > end ? end : next;
  }
}
