// Loading the core: one compiled WebAssembly.Module per process, one
// instance per thread, all on the machine's shared memory. The layout of
// every shared structure is read from the instance's exports (generated
// from assembly/layout.ts), never typed here.

import { readFileSync } from 'node:fs';
import { FIELDS } from './fields.gen.js';

export type FieldType = 'u8' | 'u16' | 'u32' | 'u64' | 'i32' | 'i64';
type Classes = typeof FIELDS;
export type ClassName = keyof Classes;

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
  return { off, size, type: FIELDS, k } as unknown as Layout;
}
