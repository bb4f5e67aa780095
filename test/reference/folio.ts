// Folios beyond their counts (assembly/folio.ts): the zero page and the huge
// zero folio, freeing a folio, and what gup may take of one
// (include/linux/mm.h, mm/gup.c, mm/huge_memory.c, mm/swap.c, v6.12).
import { FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE, PG_anon_exclusive, PG_referenced, PG_reserved, VM_SHARED } from '../../src/host/consts.gen.js';
import type { RefMachine } from './machine.js';
import type { RefVma } from './mm.js';

export function isHugeZeroPfn(m: RefMachine, pfn: bigint): boolean {
  return m.hugeZeroPfn >= 0 && pfn === BigInt(m.hugeZeroPfn);
}

/**
 * mm_get_huge_zero_folio: a PMD-order folio allocated on first use and kept
 * by the machine (not large_rmappable; its mappings hold no reference and no
 * rmap); -1 when no block of that order is free (the fault falls back).
 */
export function getHugeZeroFolio(m: RefMachine, order: number, op: number): number {
  if (m.hugeZeroPfn >= 0) return m.hugeZeroPfn;
  const folio = m.allocPages(order);
  if (folio < 0) return -1;
  m.prepCompound(folio, order);
  m.pg(folio).lastOp = op;
  m.hugeZeroPfn = folio;
  return folio;
}

/** __folio_put: the last reference is gone; the frames go back (never a reserved page's). */
export function freeFolio(m: RefMachine, folio: number): void {
  if (m.testFlag(folio, PG_reserved)) return;
  m.freePages(folio, m.folioOrder(folio));
}

/**
 * gup_fast_folio_allowed: may gup-fast hand out this folio? Every folio the
 * model maps is anon, hugetlb, the zero page or the huge zero folio (no
 * mapping: left to the slow path).
 */
export function gupFastFolioAllowed(m: RefMachine, folio: number, flags: number): boolean {
  const all = FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE;
  const rejectFileBacked = (flags & all) === all;
  const checkSecretmem = !m.large(folio);       // CONFIG_SECRETMEM: only order-0 folios
  if (!rejectFileBacked && !checkSecretmem) return true;
  if (m.large(folio) && m.folio(folio).hugetlb) return true;
  return m.peek(folio).anon !== null;            // PageAnon; no mapping: false
}

/** is_cow_mapping: VM_MAYWRITE is not recorded (every mapping has it), so only VM_SHARED decides. */
export function isCowMapping(vmFlags: number): boolean { return (vmFlags & VM_SHARED) === 0; }

/**
 * gup_must_unshare: a read pin of a read-only mapped page unshares it first
 * when it is anon and not exclusive or, for FOLL_LONGTERM, when it is not
 * anon and the mapping is COW (or unknown: vma null is gup-fast's NULL).
 */
export function gupMustUnshare(m: RefMachine, flags: number, page: number, vma: RefVma | null): boolean {
  if ((flags & (FOLL_WRITE | FOLL_PIN)) !== FOLL_PIN) return false;
  const folio = m.folioOf(page);
  if (m.peek(folio).anon === null) {
    if (!(flags & FOLL_LONGTERM)) return false;
    return vma === null ? true : isCowMapping(vma.flags);
  }
  // HugeTLB keeps PG_anon_exclusive on the head; THP per page.
  const p = m.large(folio) && m.folio(folio).hugetlb ? folio : page;
  return !m.testFlag(p, PG_anon_exclusive);
}

/** folio_mark_accessed, as gup's FOLL_TOUCH does it: PG_referenced */
export function setReferenced(m: RefMachine, folio: number): void { m.pg(folio).flags |= 1 << PG_referenced; }
