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
  | 'EBADTABLE'     // a table address outside the pool
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

export const hex = (v: bigint | number): string => '0x' + BigInt(v).toString(16);
