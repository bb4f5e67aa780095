// Loading the core: one compiled WebAssembly.Module per process, one
// instance per thread, all on the machine's shared memory. The layout of
// every shared structure is read from the instance's exports (generated
// from assembly/layout.ts), never typed here.

import { readFileSync } from 'node:fs';
import { FIELDS, RECORDS } from './fields.gen.js';
import { OPS, opPlans, type OpName, type OpPlan, type OpRecords } from './abi.gen.js';
import { CTX_HEAD, CTX_IN, CTX_OUT, CTX_REC_SIZE } from './consts.gen.js';

export type { OpName, OpRecords } from './abi.gen.js';
export type * from './abi.gen.js';

export type FieldType = 'u8' | 'u16' | 'u32' | 'u64' | 'i32' | 'i64';
type Classes = typeof FIELDS;
export type ClassName = keyof Classes;
/** A field of a shared structure, by its name in assembly/layout.ts, and what reading it gives (u64 and i64 as bigint). */
export type FieldName<C extends ClassName> = keyof Classes[C] & string;
export type FieldValue<C extends ClassName, F extends FieldName<C>> = Classes[C][F] extends 'u64' | 'i64' ? bigint : number;

export interface Layout {
  /** offsets[Class][field] */
  readonly off: { readonly [C in ClassName]: { readonly [F in keyof Classes[C]]: number } };
  readonly size: { readonly [C in ClassName]: number };
  readonly type: { readonly [C in ClassName]: { readonly [F in keyof Classes[C]]: FieldType } };
  /** any exported constant (RESERVE, P_PRESENT, FOLL_PIN, ...) */
  k(name: string): number;
}

export interface CoreExports {
  attach(header: number): void;
  heapBase(): number;
  machineInit(ctx: number): number;
  mmCreate(ctx: number): number;
  mmDestroy(ctx: number): number;
  mmap(ctx: number): number;
  munmap(ctx: number): number;
  zap(ctx: number): number;
  fault(ctx: number): number;
  populate(ctx: number): number;
  gup(ctx: number): number;
  unpin(ctx: number): number;
  gupUnpinLoop(ctx: number): number;
  gupSweepLoop(ctx: number): number;
  gupGetPhase(ctx: number): number;
  walk(ctx: number): number;
  walkRaw(ctx: number): number;
  check(ctx: number): number;
  pagePtr(ctx: number): number;
  inject(ctx: number): number;
  walkMany(ctx: number): number;
  recover(ctx: number): number;
  claimRaw(ctx: number): number;
}

const wasmUrl = new URL('../../build/core.wasm', import.meta.url);
let cached: WebAssembly.Module | undefined;

/** The compiled core (compiled once per process). */
export function coreModule(): WebAssembly.Module {
  if (!cached) {
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = new Uint8Array(readFileSync(wasmUrl));
    } catch (e) {
      throw new Error(`pgtemu: the core is not built (${wasmUrl.pathname}); run 'npm run build'`, { cause: e });
    }
    cached = new WebAssembly.Module(bytes);
  }
  return cached;
}

export function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): { exports: CoreExports; layout: Layout } {
  const words = new Int32Array(memory.buffer);
  const codes: Record<string, number> = { ok: 0, 'not-equal': 1, 'timed-out': 2 };
  // assembly/base.ts futexWait: the core's waits go through Atomics.wait (see there why)
  const futexWait = (p: number, expected: number, timeoutUs: number): number =>
    codes[Atomics.wait(words, p >>> 2, expected, timeoutUs / 1000)];
  const instance = new WebAssembly.Instance(module, { env: { memory, futexWait } });
  const ex = instance.exports as unknown as Record<string, unknown>;
  return { exports: ex as unknown as CoreExports, layout: readLayout(ex) };
}

function readLayout(ex: Record<string, unknown>): Layout {
  const k = (name: string): number => {
    const g = ex[name];
    if (!(g instanceof WebAssembly.Global)) throw new Error(`pgtemu core: no exported constant '${name}'`);
    return g.value as number;
  };
  const off: Record<string, Record<string, number>> = {};
  const size: Record<string, number> = {};
  for (const [c, fields] of Object.entries(FIELDS)) {
    off[c] = {};
    for (const f of Object.keys(fields)) off[c][f] = k(`${c}_${f}`);
    size[c] = k(`${c}__size`);
  }
  // the constants this host was built with are the module's (consts.gen.ts comes from it)
  const want = { CTX_IN, CTX_OUT, CTX_REC_SIZE, CTX_HEAD };
  for (const [n, v] of Object.entries(want)) if (k(n) !== v) throw new Error(`pgtemu core: ${n} is ${k(n)} in build/core.wasm but ${v} in consts.gen.ts; rebuild ('npm run build')`);
  for (const r of RECORDS) {
    if (size[r] > CTX_REC_SIZE) throw new Error(`pgtemu core: record ${r} is ${size[r]} bytes, more than CTX_REC_SIZE (${CTX_REC_SIZE})`);
  }
  if (CTX_IN < size.Ctx) throw new Error(`pgtemu core: CTX_IN ${CTX_IN} overlaps Ctx (${size.Ctx} bytes)`);
  return { off, size, type: FIELDS, k } as unknown as Layout;
}

/** An operation's input as Core.call takes it: none for an operation without an input record. */
export type OpIn<K extends OpName> = OpRecords[K]['in'];
/** An operation's output: its record's fields (read from the context when read) and its status. */
export type OpOut<K extends OpName> = OpRecords[K]['out'];

/**
 * One thread's calls into the core: `call('gup', { mm, start, nr, flags })`
 * writes the input record into the context's CTX_IN area, calls the export
 * and returns the operation's output view (its status, and getters that read
 * the record at CTX_OUT). The view is the same object on every call of that
 * operation on this context: read what you need before the next call.
 * Nothing is allocated per call; a trap propagates (the caller recovers).
 */
interface Plan {
  readonly fn: (ctx: number) => number;
  readonly write: NonNullable<OpPlan['write']> | null;
  readonly inOff: never;
  readonly out: { status: number };
}

export class Core {
  private readonly plans: { readonly [K in OpName]: Plan };
  private readonly dv: DataView;
  private readonly inAt: number;

  constructor(readonly exports: CoreExports, readonly layout: Layout, memory: WebAssembly.Memory, readonly ctx: number) {
    this.dv = new DataView(memory.buffer);
    this.inAt = ctx + CTX_IN;
    const off = layout.off as unknown as Record<string, Record<string, number>>;
    const made = opPlans(this.dv, this.inAt, ctx + CTX_OUT, off);
    const ex = exports as unknown as Record<string, unknown>;
    const plans: Record<string, Plan> = {};
    for (const op of Object.keys(OPS) as OpName[]) {
      const fn = ex[op];
      if (typeof fn !== 'function') throw new Error(`pgtemu core: no exported operation '${op}' (assembly/abi.ts names it)`);
      const p = made[op];
      // one shape for every plan, so call() reads them all alike
      plans[op] = { fn: fn as Plan['fn'], write: p.write ?? null, inOff: (p.inRec ? off[p.inRec] : null) as never, out: p.out };
    }
    this.plans = plans as Core['plans'];
  }

  call<K extends OpName>(op: K, ...input: OpIn<K> extends void ? [] : [OpIn<K>]): OpOut<K>;
  call<K extends OpName>(op: K, input?: OpIn<K>): OpOut<K> {
    return this.invoke(op, input as OpIn<K>);
  }

  /** call() for a caller that is generic in the operation (an operation without input takes undefined). */
  invoke<K extends OpName>(op: K, input: OpIn<K>): OpOut<K> {
    const p = this.plans[op];
    if (p.write !== null) p.write(this.dv, this.inAt, p.inOff, input as never);
    p.out.status = p.fn(this.ctx);
    return p.out as OpOut<K>;
  }
}
