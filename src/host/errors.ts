// Errors pgtemu raises. Each names the input or operation and what is wrong.

export type ErrorCode =
  | 'EINVAL'        // bad argument
  | 'EFAULT'        // address not mapped or not permitted
  | 'ENOMEM'        // simulated RAM exhausted
  | 'ENOTABLE'      // table pool exhausted
  | 'EEXIST'        // overlapping mapping
  | 'ENOSPC'        // no free mm / VMA slot
  | 'ESPLIT'        // a partial unmap of a huge leaf (splitting is not modelled)
  | 'ERANGE'        // a physical range outside the table pool
  | 'EBADTABLE'     // a table link the core refuses to follow
  | 'EBUSY'         // raw access to memory a live page table uses
  | 'ELAYOUT'       // an invalid architecture layout
  | 'EUNKNOWN'      // unknown arch, variant or kernel preset
  | 'ETRAP';        // the core trapped

export class PgtemuError extends Error {
  readonly code: ErrorCode;
  readonly op?: string;
  readonly address?: bigint;
  constructor(code: ErrorCode, message: string, details: { op?: string; address?: bigint; cause?: unknown } = {}) {
    super(message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.name = 'PgtemuError';
    this.code = code;
    this.op = details.op;
    this.address = details.address;
  }
}

export const hex = (v: bigint | number): string => { const b = BigInt(v); return (b < 0n ? '-0x' : '0x') + (b < 0n ? -b : b).toString(16); };

/** The core's status codes (assembly/layout.ts E_*, the kernel's errno where there is one). */
export const STATUS: Readonly<Record<number, ErrorCode>> = {
  [-14]: 'EFAULT', [-12]: 'ENOMEM', [-1000]: 'ENOTABLE', [-22]: 'EINVAL', [-17]: 'EEXIST',
  [-28]: 'ENOSPC', [-1002]: 'ESPLIT', [-1001]: 'EBADTABLE', [-34]: 'ERANGE', [-16]: 'EBUSY',
};
/** What each code means, for messages. */
export const STATUS_TEXT: Readonly<Record<ErrorCode, string>> = {
  EFAULT: 'address not mapped or access not permitted',
  ENOMEM: 'simulated RAM exhausted',
  ENOTABLE: 'table pool exhausted',
  EINVAL: 'invalid argument',
  EEXIST: 'overlaps an existing mapping',
  ENOSPC: 'no free slot (address spaces or VMAs)',
  ESPLIT: 'range covers a huge leaf only in part (splitting huge leaves is not modelled)',
  EBADTABLE: 'a table entry names something that is not its table',
  EBUSY: 'in use by a live page table',
  ERANGE: 'physical range outside the table pool',
  ELAYOUT: 'invalid layout',
  EUNKNOWN: 'unknown name',
  ETRAP: 'the core trapped',
};
