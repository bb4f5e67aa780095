// The reference model of pgtemu's core: the same operations over the same
// compiled architecture description, in plain TypeScript (Maps, objects,
// bigint), with no shared memory and no Wasm. It checks the core
// (test/model/differential.test.ts, release-parity.test.ts) and is the
// baseline of the benchmarks (bench/run.js); it is not part of the package.
//
// Its files follow assembly/ file for file (arch, mem, walk, refcount, folio,
// mm, gup_fast, gup, unpin, zap; machine for index.ts and the host's checks),
// and every number the core defines comes from the generated constants
// (src/host/consts.gen.ts). It keeps its state in its own terms: a record per
// struct page in use, a folio's counts in the folio, tables as Maps of
// entries, its own pfns and table offsets. Where the core departs from the
// kernel on purpose, it follows the core, and says so ("core:" / "as the core").
//
// Limits: one thread (no lockless races, no write_protect_seq writers, no
// table-freeing IPIs); no op log, no invariant checker, no raw table access
// (writePhys / walkRaw); no ZONE_DEVICE pgmaps (as in the core: a devmap
// entry cannot be followed). RefMachine.of() wants a fresh Machine.
export { RefMachine, type RefMachineParams, type RefStats, type RefWalkResult } from './machine.js';
export { RefMm, type RefGupResult, type RefVma } from './mm.js';
export type { RefFolio, RefPage } from './mem.js';
