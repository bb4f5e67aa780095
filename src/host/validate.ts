// Argument checks shared by the Machine and the reference model, so both
// refuse the same input with the same error.
import type { Descriptor } from './archdesc.js';
import { PgtemuError, hex } from './errors.js';

export type VmaKind = 'anon' | 'hugetlb' | 'pfnmap' | 'devdax' | 'fsdax' | 'p2pdma';

export const toBig = (v: bigint | number, what: string): bigint => {
  if (typeof v === 'bigint') return v;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new PgtemuError('EINVAL', `${what}: ${String(v)} is not an integer`);
  return BigInt(v);
};

/** A 64-bit value (an address or a pfn): bigint or safe integer in [0, 2^64). */
export function u64Arg(v: bigint | number, what: string): bigint {
  const b = toBig(v, what);
  if (b < 0n || b >= 1n << 64n) throw new PgtemuError('EINVAL', `${what}: ${hex(b)} is not a 64-bit value (0 .. 2^64 - 1)`);
  return b;
}

type OptType = 'boolean' | 'string' | 'number' | 'integer' | 'bigint|number' | 'object';

/**
 * The keys an options object may carry and their types, compiled once per
 * operation: a table without a prototype (one lookup per key of a call's
 * object) and the list of keys for the message. `forms` are keys that
 * choose the result's form (listed apart in the message).
 */
export interface OptionSpec {
  readonly types: Readonly<Record<string, OptType>>;
  readonly keys: string;
}
export function optionSpec(spec: Readonly<Record<string, OptType>>, forms?: Readonly<Record<string, OptType>>): OptionSpec {
  const types = Object.freeze(Object.assign(Object.create(null) as Record<string, OptType>, spec, forms));
  const keys = `(options: ${Object.keys(spec).join(', ')})${forms ? ` (result forms: ${Object.keys(forms).join(', ')})` : ''}`;
  return { types, keys };
}

/**
 * An options object: undefined stands for {}; anything but a plain object,
 * a key not in `spec`, or a value of the wrong type is refused, naming it.
 */
export function options<T extends object>(o: T | undefined | null, op: string, spec: OptionSpec, required = false): T {
  if (o === undefined && !required) return {} as T;
  if (o === null || typeof o !== 'object' || Array.isArray(o)) {
    throw new PgtemuError('EINVAL', `${op}: options must be an object, not ${o === null ? 'null' : Array.isArray(o) ? 'an array' : typeof o}`);
  }
  const types = spec.types;
  // for..in rather than Object.entries: nothing allocated per call (gupFast is a hot path)
  for (const k in o) {
    const v = (o as Record<string, unknown>)[k];
    const t = types[k];
    if (t === undefined) throw new PgtemuError('EINVAL', `${op}: unknown option '${k}' ${spec.keys}`);
    if (v === undefined) continue;
    const ok = t === 'boolean' ? typeof v === 'boolean'
      : t === 'integer' ? Number.isInteger(v)
        : t === 'number' ? typeof v === 'number' && !Number.isNaN(v)
          : t === 'bigint|number' ? typeof v === 'bigint' || typeof v === 'number'
            : typeof v === t && v !== null;
    if (!ok) throw new PgtemuError('EINVAL', `${op}: option '${k}' is ${describe(v)}, not ${t === 'bigint|number' ? 'a bigint or number' : `a${/^[aeiou]/.test(t) ? 'n' : ''} ${t}`}`);
  }
  return o;
}

/** A value, for messages. */
export function describe(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'bigint') return `${v}n`;
  if (v === null || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? 'an array' : `an object (${Object.prototype.toString.call(v).slice(8, -1)})`;
}

/** A user address of this variant: [0, 1 << userVaBits). */
export function checkUser(d: Descriptor, v: bigint, what: string, op: string): bigint {
  const top = 1n << BigInt(d.userVaBits);
  if (v < 0n || v >= top) {
    throw new PgtemuError('EINVAL', `${op}: ${what} ${hex(v)} is not a canonical user address on ${d.arch}/${d.variant} (user space is [0, ${hex(top)}))`, { op, address: v });
  }
  return v;
}

export function pageAligned(d: Descriptor, v: bigint, what: string, op: string): void {
  const mask = (1n << BigInt(d.pageShift)) - 1n;
  if ((v & mask) !== 0n) throw new PgtemuError('EINVAL', `${op}: ${what} ${hex(v)} is not aligned to the ${1 << d.pageShift}-byte page`, { op, address: v });
}

/** [start, start + length): page aligned, non-empty, inside user space. */
export function userRange(d: Descriptor, op: string, start: bigint | number, length: bigint | number): [bigint, bigint] {
  const s = toBig(start, `${op}: start`), len = toBig(length, `${op}: length`);
  checkUser(d, s, 'start', op);
  if (len <= 0n) throw new PgtemuError('EINVAL', `${op}: length ${len} must be positive`, { op, address: s });
  checkUser(d, s + len - 1n, 'end', op);
  pageAligned(d, s, 'start', op);
  pageAligned(d, len, 'length', op);
  return [s, len];
}

export interface MmapArgs {
  start: bigint | number; length: bigint | number; kind?: VmaKind; hugeOrder?: number;
  read?: boolean; write?: boolean; shared?: boolean; pfn?: bigint | number; pgmap?: unknown; offset?: bigint | number; file?: unknown;
}

/** mmap's checks; returns what the core needs. */
export function mmapArgs(d: Descriptor, leafOrders: readonly number[], o: MmapArgs, s: bigint, len: bigint) {
  const kind = o.kind ?? 'anon';
  if (kind !== 'anon' && kind !== 'hugetlb' && kind !== 'pfnmap' && kind !== 'devdax' && kind !== 'fsdax' && kind !== 'p2pdma') throw new PgtemuError('EINVAL', `mmap: unknown kind '${String(kind)}' (anon, hugetlb, pfnmap, devdax, fsdax, p2pdma)`);
  if (kind === 'devdax' && o.hugeOrder !== undefined) throw new PgtemuError('EINVAL', 'mmap: a devdax mapping faults at its pgmap\'s folioOrder (the device\'s align); hugeOrder does not apply');
  if (kind === 'p2pdma' && (o.hugeOrder ?? 0) !== 0) throw new PgtemuError('EINVAL', 'mmap: p2pmem is mapped by base pages (vm_insert_page)');
  if (kind === 'p2pdma' && o.pfn !== undefined) throw new PgtemuError('EINVAL', 'mmap: a p2pdma mapping names its pages by pgmap and offset, not pfn');
  if (kind === 'devdax' && o.pfn !== undefined) throw new PgtemuError('EINVAL', 'mmap: a devdax mapping names its pfns by pgmap and offset, not pfn');
  if (kind !== 'devdax' && kind !== 'p2pdma' && o.pgmap !== undefined) throw new PgtemuError('EINVAL', `mmap: pgmap is for a devdax or p2pdma mapping, not ${kind}`);
  if (kind !== 'devdax' && kind !== 'fsdax' && kind !== 'p2pdma' && o.offset !== undefined) throw new PgtemuError('EINVAL', `mmap: offset is for a devdax, fsdax or p2pdma mapping, not ${kind}`);
  if (kind !== 'fsdax' && o.file !== undefined) throw new PgtemuError('EINVAL', `mmap: file is for an fsdax mapping, not ${kind}`);
  if (kind === 'fsdax' && o.pfn !== undefined) throw new PgtemuError('EINVAL', 'mmap: an fsdax mapping names its pages by file and offset, not pfn');
  const order = o.hugeOrder ?? (kind === 'fsdax' ? Math.min(...leafOrders.filter((x) => x > 0)) : 0);
  const orders = leafOrders.filter((x) => x >= 0).sort((a, b) => a - b);
  if (!orders.includes(order)) {
    throw new PgtemuError('EINVAL', `mmap: hugeOrder ${order} has no leaf level on ${d.arch}/${d.variant} (orders: ${orders.join(', ')})`);
  }
  if (kind === 'hugetlb') {
    if (order === 0) throw new PgtemuError('EINVAL', 'mmap: a hugetlb mapping needs hugeOrder > 0');
    const size = 1n << BigInt(d.pageShift + order);
    if (s % size !== 0n || len % size !== 0n) throw new PgtemuError('EINVAL', `mmap: hugetlb start ${hex(s)} and length ${hex(len)} must be multiples of ${hex(size)}`, { op: 'mmap', address: s });
  }
  if (kind === 'pfnmap' && order !== 0) throw new PgtemuError('EINVAL', 'mmap: pfnmap mappings are base pages (hugeOrder 0)');
  if (kind === 'fsdax' && order !== 0 && order !== Math.min(...leafOrders.filter((x) => x > 0))) {
    throw new PgtemuError('EINVAL', `mmap: an fsdax mapping faults PMD-sized (hugeOrder ${Math.min(...leafOrders.filter((x) => x > 0))}, the default) or base pages only (hugeOrder 0: VM_NOHUGEPAGE); dax_iomap_fault has no other size`);
  }
  if (kind === 'pfnmap' && o.pfn === undefined) throw new PgtemuError('EINVAL', 'mmap: a pfnmap needs pfn');
  const pfn = o.pfn === undefined ? 0n : toBig(o.pfn, 'mmap: pfn');
  if (pfn < 0n || pfn + (len >> BigInt(d.pageShift)) > 1n << BigInt(d.maxPhysBits - d.pageShift)) {
    throw new PgtemuError('EINVAL', `mmap: pfn range starting at ${hex(pfn)} exceeds the ${d.maxPhysBits}-bit physical address space`);
  }
  return { kind, order, read: o.read ?? true, write: o.write ?? true, shared: o.shared ?? (kind === 'pfnmap' || kind === 'devdax' || kind === 'fsdax' || kind === 'p2pdma'), pfn };
}

/**
 * MAP_POPULATE after an mmap: fault it all in, or, if that cannot complete,
 * unmap the whole new VMA (its pages, and its tables but those a neighbouring
 * VMA's span still shares and that the populate did not build) and rethrow
 * (nothing half-applied).
 */
export function populateOrUnmap(
  mm: { populate(s: bigint, len: bigint, o: { write?: boolean }): unknown; unmap(s: bigint, len: bigint, gen: number): void },
  lastOp: () => number, s: bigint, len: bigint, write: boolean,
): void {
  try {
    mm.populate(s, len, { write });
  } catch (e) {
    if (!(e instanceof PgtemuError)) throw e;
    mm.unmap(s, len, lastOp());
    const why = e.message.replace(/^populate: /, '').replace(' (the pages before stay populated)', '');
    throw new PgtemuError(e.code, `mmap: populating [${hex(s)}, ${hex(s + len)}) failed, so the mapping was removed again (none of it stays populated): ${why}`,
      { op: 'mmap', address: e.address, cause: e });
  }
}

/** Keys a raw release list may carry: { pfns, nr, pin }, and the rest of a GupResult copied with it. */
const RELEASE_KEYS = optionSpec({ pfns: 'object', nr: 'integer', pin: 'boolean', ret: 'integer', errno: 'string', fast: 'integer', flags: 'integer', runs: 'object' });

/** unpin / put: `n` pages of `pfns`, and whether they are pins (unpin, default) or references (put). */
export function releaseArgs(pages: { pfns: ArrayLike<bigint>; nr?: number; pin?: boolean }, put: boolean): { n: number; pin: boolean; op: string } {
  const op0 = put ? 'put' : 'unpin';
  const { pfns } = options(pages, op0, RELEASE_KEYS, true);
  if (!(Array.isArray(pfns) || pfns instanceof BigUint64Array || pfns instanceof BigInt64Array)) {
    throw new PgtemuError('EINVAL', `${op0}: pfns is ${describe(pfns)}, not an array or BigUint64Array of pfns`);
  }
  const pin = !put && (pages.pin ?? true);
  const n = pages.nr ?? pages.pfns.length;
  const op = pin ? 'unpin' : 'put';
  if (!Number.isInteger(n) || n < 0 || n > pages.pfns.length) throw new PgtemuError('EINVAL', `${op}: ${n} pages but ${pages.pfns.length} pfns given`);
  return { n, pin, op };
}
