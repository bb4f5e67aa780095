// The architectures pgtemu knows, each a folder of data.
import type { ArchData } from './types.js';
import { x86_64 } from './x86_64/index.js';
// @arch-import arm64
// @arch-import ppc64
// @arch-import s390
// @arch-import riscv
// @arch-import loongarch

export const archs: Readonly<Record<string, ArchData>> = {
  x86_64,
  // @arch-entry arm64
  // @arch-entry ppc64
  // @arch-entry s390
  // @arch-entry riscv
  // @arch-entry loongarch
};
export type { ArchData } from './types.js';
