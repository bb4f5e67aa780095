// pgtemu's public interface.
export { Machine, Mm, GupBuffer } from './host/machine.js';
export type {
  MachineOptions, MmapOptions, GupOptions, GupResult, GupRuns, WalkResult, EntryFlags, CoreSwapReading, Violation, PageInfo, MachineStats,
  OpRecord, SharedMachine, VmaKind, MmCounters, WalkView, WalkVerdict, WalkOptions, DecodeOptions, PageArrays,
} from './host/machine.js';
export { PgtemuError } from './host/errors.js';
export type { ErrorCode } from './host/errors.js';
export { archs } from './arch/index.js';
export type * from './arch/types.js';
export { KERNELS, DEFAULT_KERNEL, WHAT_IFS, resolve } from './host/presets.js';
export type { Model, KernelPreset, MachineChoice, EraSwitches, Era, WhatIf } from './host/presets.js';
export { Pgmap, PGMAP_TYPES } from './host/pgmap.js';
export { DaxFile, DaxWait } from './host/daxfs.js';
export type { DaxFileOptions, DaxExtentOptions, DaxBreakResult, DaxEntry } from './host/daxfs.js';
export type { PgmapType, MemremapOptions, PgmapState, PgmapStats, UnmapResult } from './host/pgmap.js';
export {
  compileVariant, buildVariant, applyOp, matchPred, decodeEntry, encodeLeafEntry, decodeLeafPa, encodeTableEntry, decodeTablePa, gupFastAccepts,
  decodeHardware, hardwareVerdict, entryBitNames, hardwareImage, compileHardware, vaOutsideHardware,
  encodeSwapEntry, decodeSwapEntry, encodeDevicePrivateEntry, isSwapEntry,
} from './host/archdesc.js';
export type {
  Descriptor, LevelDescriptor, RawPred, HwLevel, HwEntryFlags, HardwareDescriptor, HardwareVerdict, SwapDescriptor, SwapEntryInfo,
} from './host/archdesc.js';
export { WorkerPool } from './host/workers.js';
export type { GupLoop, LoopResult, GupTest, GupTestResult, PhaseTimes } from './host/workers.js';
