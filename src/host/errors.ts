// Errors pgtemu raises. Each names the input or operation and what is wrong.
import { NAMES } from './consts.gen.js';

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
  | 'EBUSY'         // raw access to memory a live page table uses; a pgmap still draining
  | 'EOPNOTSUPP'    // not supported on this mapping (FOLL_LONGTERM on FS-DAX)
  | 'ESIGBUS'       // a fault the mapping cannot satisfy (VM_FAULT_SIGBUS)
  | 'EREMOTEIO'     // a P2PDMA page without FOLL_PCI_P2PDMA (try_grab_folio)
  | 'ELAYOUT'       // an invalid architecture layout
  | 'EUNKNOWN'      // unknown arch, variant or kernel preset
  | 'ETRAP';        // the core trapped

/** The codes of the core's statuses (assembly/layout.ts E_*): each must be an ErrorCode. */
type CoreErrorCode = (typeof NAMES.E)[keyof typeof NAMES.E]['name'];
// a compile-time check: a new E_* in the core needs its ErrorCode here
const coreCodesAreErrorCodes: CoreErrorCode extends ErrorCode ? true : never = true;
void coreCodesAreErrorCodes;

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

/** The core's status codes (assembly/layout.ts E_*, the kernel's errno where there is one) and what each means. */
const CORE_CODES: Readonly<Record<number, { readonly name: CoreErrorCode; readonly doc: string }>> = NAMES.E;
/** The ErrorCode of each core status. */
export const STATUS: Readonly<Record<number, ErrorCode>> =
  Object.fromEntries(Object.entries(CORE_CODES).map(([v, c]) => [v, c.name]));
/** What each code means, for messages: the core's from its JSDoc, then the host's own. */
export const STATUS_TEXT: Readonly<Record<ErrorCode, string>> = {
  ...Object.fromEntries(Object.values(CORE_CODES).map((c) => [c.name, c.doc])) as Record<CoreErrorCode, string>,
  ELAYOUT: 'invalid layout',
  EUNKNOWN: 'unknown name',
  ETRAP: 'the core trapped',
};

/**
 * An invariant check by its id (Violation.invariant, assembly/layout.ts
 * INV_*): id = 10 x DESIGN.md's invariant number (`design`) + the check
 * under it. Its name and meaning are the constant's and its JSDoc.
 */
export function invariantOf(id: number): { id: number; design: number; name: string; doc: string } {
  const c = (NAMES.INV as Readonly<Record<number, { name: string; doc: string }>>)[id];
  return { id, design: Math.floor(id / 10), name: c?.name ?? 'unknown', doc: c?.doc ?? 'unknown invariant' };
}
