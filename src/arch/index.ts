// The architectures pgtemu knows, each a folder of data.
import type { ArchData } from './types.js';
import { x86_64 } from './x86_64/index.js';

export const archs: Readonly<Record<string, ArchData>> = { x86_64 };
export type { ArchData } from './types.js';
