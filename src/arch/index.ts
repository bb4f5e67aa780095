// The architectures pgtemu knows, each a folder of data.
import type { ArchData } from './types.js';
import { x86_64 } from './x86_64/index.js';
import { arm64 } from './arm64/index.js';
import { ppc64 } from './ppc64/index.js';
import { s390 } from './s390/index.js';
import { riscv } from './riscv/index.js';
import { loongarch } from './loongarch/index.js';

export const archs: Readonly<Record<string, ArchData>> = {
  x86_64,
  arm64,
  ppc64,
  s390,
  riscv,
  loongarch,
};
export type { ArchData } from './types.js';
