// s390 from the 6.13 merge window on: segment (pmd) and region-third (pud)
// entries with a software PRESENT bit. Entries built with the kernel's macros
// and helpers, decoded by pgtemu and checked against what the kernel's helpers
// say; the entry transformations and leaf templates compared with the kernel's
// functions; an end-to-end map / pin / unpin / zap per leaf size; and v6.12
// checked to keep the old layout (the era boundary).
//
// The macros and helpers below are transcribed from v7.2 (Debian
// linux-source-7.2) independently of src/arch/s390:
//   arch/s390/include/asm/pgtable.h, pgalloc.h, hugetlb.h,
//   arch/s390/mm/hugetlbpage.c (__pte_to_rste, __rste_to_pte, __set_huge_pte_at),
//   arch/s390/mm/mmap.c (setup_protection_map), include/linux/mm.h
//   (folio_mk_pmd, formerly mk_huge_pmd in huge_mm.h), include/asm-generic/hugetlb.h,
//   mm/huge_memory.c (map_anon_folio_pmd_nopf), mm/hugetlb.c (make_huge_pte,
//   hugetlb_no_page, hugetlb_wp, set_huge_ptep_writable).
// pgtemu's kernel presets v6.15 and v6.17 are assumed to have v7.2's layout
// for these entries: the rework landed in the 6.13 merge window, and no
// v6.13..v6.17 tree was available to check. pte entries did not change (see
// s390.decode.test.ts). The modelled machine has the NX facility (the
// *_noexec_mask are all ones), CONFIG_MEM_SOFT_DIRTY and CONFIG_NUMA_BALANCING,
// not CONFIG_PAGE_TABLE_CHECK.
import { describe, expect, it } from 'vitest';
import { Machine, matchPred, type EntryFlags } from '../../src/index.js';
import { S390_END_TO_END, s390EndToEnd, opsDiffering, upperRegionCases, type OpsByLevel } from '../helpers/s390.js';

const GiB = 1n << 30n;
const M64 = (1n << 64n) - 1n;

// ---------------------------------------------------------------- pgtable.h (v7.2)
// pte bits (pgtable.h:184-199), unchanged since v6.12
const _PAGE_NOEXEC = 0x100n, _PAGE_PROTECT = 0x200n, _PAGE_INVALID = 0x400n, _PAGE_LARGE = 0x800n;
const _PAGE_PRESENT = 0x001n, _PAGE_YOUNG = 0x004n, _PAGE_DIRTY = 0x008n, _PAGE_READ = 0x010n;
const _PAGE_WRITE = 0x020n, _PAGE_SPECIAL = 0x040n, _PAGE_SOFT_DIRTY = 0x002n;
const PAGE_MASK = ~0xfffn & M64;
// region entries (pgtable.h:269-312)
const _REGION_ENTRY_PROTECT = 0x200n, _REGION_ENTRY_INVALID = 0x20n;
const _REGION_ENTRY_TYPE_MASK = 0x0cn, _REGION_ENTRY_TYPE_R1 = 0x0cn, _REGION_ENTRY_TYPE_R2 = 0x08n, _REGION_ENTRY_TYPE_R3 = 0x04n;
const _REGION_ENTRY_LENGTH = 0x03n;
const _REGION_ENTRY_BITS = 0xfffffffffffff22fn;
const _REGION3_ENTRY_PRESENT = 0x0001n;                 // new: bit 63, shared with the table length
const _REGION1_ENTRY = _REGION_ENTRY_TYPE_R1 | _REGION_ENTRY_LENGTH;
const _REGION1_ENTRY_EMPTY = _REGION_ENTRY_TYPE_R1 | _REGION_ENTRY_INVALID;
const _REGION2_ENTRY = _REGION_ENTRY_TYPE_R2 | _REGION_ENTRY_LENGTH;
const _REGION2_ENTRY_EMPTY = _REGION_ENTRY_TYPE_R2 | _REGION_ENTRY_INVALID;
const _REGION3_ENTRY = _REGION_ENTRY_TYPE_R3 | _REGION_ENTRY_LENGTH | _REGION3_ENTRY_PRESENT;
const _REGION3_ENTRY_EMPTY = _REGION_ENTRY_TYPE_R3 | _REGION_ENTRY_INVALID;
const _REGION3_ENTRY_DIRTY = 0x2000n, _REGION3_ENTRY_LARGE = 0x0400n;
const _REGION3_ENTRY_WRITE = 0x8000n;                   // was 0x0002
const _REGION3_ENTRY_SOFT_DIRTY = 0x0002n;              // was 0x4000
// segment entries (pgtable.h:315-342)
const _SEGMENT_ENTRY_BITS = 0xfffffffffffffe3fn;
const _SEGMENT_ENTRY_ORIGIN_LARGE = ~0xfffffn & M64;
const _SEGMENT_ENTRY_PROTECT = 0x200n, _SEGMENT_ENTRY_NOEXEC = 0x100n, _SEGMENT_ENTRY_INVALID = 0x20n;
const _SEGMENT_ENTRY_TYPE_MASK = 0x0cn;
const _SEGMENT_ENTRY_PRESENT = 0x0001n;                 // new
const _SEGMENT_ENTRY = _SEGMENT_ENTRY_PRESENT;          // was 0
const _SEGMENT_ENTRY_EMPTY = _SEGMENT_ENTRY_INVALID;
const _SEGMENT_ENTRY_DIRTY = 0x2000n, _SEGMENT_ENTRY_YOUNG = 0x1000n, _SEGMENT_ENTRY_LARGE = 0x0400n;
const _SEGMENT_ENTRY_WRITE = 0x8000n;                   // was 0x0002
const _SEGMENT_ENTRY_READ = 0x4000n;                    // was 0x0001
const _SEGMENT_ENTRY_SOFT_DIRTY = 0x0002n;              // was 0x4000
// protections (pgtable.h:434-500; page_/segment_noexec_mask all ones with NX)
const PAGE_NONE = _PAGE_PRESENT | _PAGE_INVALID | _PAGE_PROTECT;
const PAGE_RO = _PAGE_PRESENT | _PAGE_READ | _PAGE_NOEXEC | _PAGE_INVALID | _PAGE_PROTECT;
const PAGE_RX = _PAGE_PRESENT | _PAGE_READ | _PAGE_INVALID | _PAGE_PROTECT;
const PAGE_RW = _PAGE_PRESENT | _PAGE_READ | _PAGE_WRITE | _PAGE_NOEXEC | _PAGE_INVALID | _PAGE_PROTECT;
const SEGMENT_NONE = _SEGMENT_ENTRY_PRESENT | _SEGMENT_ENTRY_INVALID | _SEGMENT_ENTRY_PROTECT;
const SEGMENT_RO = _SEGMENT_ENTRY_PRESENT | _SEGMENT_ENTRY_PROTECT | _SEGMENT_ENTRY_READ | _SEGMENT_ENTRY_NOEXEC;
const SEGMENT_RX = _SEGMENT_ENTRY_PRESENT | _SEGMENT_ENTRY_PROTECT | _SEGMENT_ENTRY_READ;
const SEGMENT_RW = _SEGMENT_ENTRY_PRESENT | _SEGMENT_ENTRY_READ | _SEGMENT_ENTRY_WRITE | _SEGMENT_ENTRY_NOEXEC;
const SEGMENT_RWX = _SEGMENT_ENTRY_PRESENT | _SEGMENT_ENTRY_READ | _SEGMENT_ENTRY_WRITE;
// mmap.c setup_protection_map: VM_NONE -> PAGE_NONE, VM_READ and private VM_READ|VM_WRITE -> PAGE_RO,
// VM_SHARED|VM_READ|VM_WRITE -> PAGE_RW

// ---- pte helpers (unchanged)
const pte_present = (p: bigint) => (p & _PAGE_PRESENT) !== 0n;
const pte_young = (p: bigint) => (p & _PAGE_YOUNG) !== 0n;
const pte_dirty = (p: bigint) => (p & _PAGE_DIRTY) !== 0n;
const pte_wrprotect = (p: bigint) => (p & ~_PAGE_WRITE) | _PAGE_PROTECT;
const pte_mkwrite_novma = (p: bigint) => { p |= _PAGE_WRITE; return p & _PAGE_DIRTY ? p & ~_PAGE_PROTECT : p; };
const pte_mkclean = (p: bigint) => (p & ~_PAGE_DIRTY) | _PAGE_PROTECT;
const pte_mkdirty = (p: bigint) => { p |= _PAGE_DIRTY | _PAGE_SOFT_DIRTY; return p & _PAGE_WRITE ? p & ~_PAGE_PROTECT : p; };
const pte_mkold = (p: bigint) => (p & ~_PAGE_YOUNG) | _PAGE_INVALID;
const pte_mkyoung = (p: bigint) => { p |= _PAGE_YOUNG; return p & _PAGE_READ ? p & ~_PAGE_INVALID : p; };
const pte_mkspecial = (p: bigint) => p | _PAGE_SPECIAL;
const pte_mkhuge = (p: bigint) => p | _PAGE_LARGE;       // arch_make_huge_pte (generic)
const pfn_pte = (pfn: bigint, prot: bigint) => pte_mkyoung((pfn << 12n) | prot);   // mk_pte_phys
const mk_pte = pfn_pte;                                  // mm.h mk_pte / folio_mk_pte

// ---- pmd (segment) helpers
const pmd_none = (p: bigint) => p === _SEGMENT_ENTRY_EMPTY;
const pmd_present = (p: bigint) => (p & _SEGMENT_ENTRY_PRESENT) !== 0n;                    // pgtable.h:746
const pmd_leaf = (p: bigint) => pmd_present(p) && (p & _SEGMENT_ENTRY_LARGE) !== 0n;      // pgtable.h:752
const pmd_bad = (p: bigint) => (p & _SEGMENT_ENTRY_TYPE_MASK) > 0n || pmd_leaf(p) || (p & ~_SEGMENT_ENTRY_BITS & M64) !== 0n;
const pmd_write = (p: bigint) => (p & _SEGMENT_ENTRY_WRITE) !== 0n;
const pmd_dirty = (p: bigint) => (p & _SEGMENT_ENTRY_DIRTY) !== 0n;
const pmd_young = (p: bigint) => (p & _SEGMENT_ENTRY_YOUNG) !== 0n;
const pmd_protnone = (p: bigint) => pmd_leaf(p) && (p & _SEGMENT_ENTRY_READ) === 0n;      // pgtable.h:851
const pmd_wrprotect = (p: bigint) => (p & ~_SEGMENT_ENTRY_WRITE) | _SEGMENT_ENTRY_PROTECT;
const pmd_mkwrite_novma = (p: bigint) => { p |= _SEGMENT_ENTRY_WRITE; return p & _SEGMENT_ENTRY_DIRTY ? p & ~_SEGMENT_ENTRY_PROTECT : p; };
const pmd_mkclean = (p: bigint) => (p & ~_SEGMENT_ENTRY_DIRTY) | _SEGMENT_ENTRY_PROTECT;
const pmd_mkdirty = (p: bigint) => {
  p |= _SEGMENT_ENTRY_DIRTY | _SEGMENT_ENTRY_SOFT_DIRTY;
  return p & _SEGMENT_ENTRY_WRITE ? p & ~_SEGMENT_ENTRY_PROTECT : p;
};
const pmd_mkyoung = (p: bigint) => { p |= _SEGMENT_ENTRY_YOUNG; return p & _SEGMENT_ENTRY_READ ? p & ~_SEGMENT_ENTRY_INVALID : p; };
const pmd_mkold = (p: bigint) => (p & ~_SEGMENT_ENTRY_YOUNG) | _SEGMENT_ENTRY_INVALID;
const pmd_mkhuge = (p: bigint) => p | _SEGMENT_ENTRY_LARGE | _SEGMENT_ENTRY_YOUNG | _SEGMENT_ENTRY_PROTECT;   // pgtable.h:1745
const massage_pgprot_pmd = (prot: bigint) =>
  prot === PAGE_NONE ? SEGMENT_NONE : prot === PAGE_RO ? SEGMENT_RO : prot === PAGE_RX ? SEGMENT_RX : prot === PAGE_RW ? SEGMENT_RW : SEGMENT_RWX;
const pfn_pmd = (pfn: bigint, prot: bigint) => (pfn << 12n) + massage_pgprot_pmd(prot);  // mk_pmd_phys
const folio_mk_pmd = (pfn: bigint, prot: bigint) => pmd_mkhuge(pfn_pmd(pfn, prot));
// pmdp_invalidate (pgtable.h:1789): sets INVALID; clears READ only under CONFIG_PAGE_TABLE_CHECK (not here)
const pmdp_invalidate = (p: bigint) => p | _SEGMENT_ENTRY_INVALID;
// map_anon_folio_pmd_nopf: maybe_pmd_mkwrite(pmd_mkdirty(folio_mk_pmd(folio, vm_page_prot))), VM_WRITE
const thpAnon = (pfn: bigint) => pmd_mkwrite_novma(pmd_mkdirty(folio_mk_pmd(pfn, PAGE_RO)));

// ---- pud (region-third) helpers
const pud_none = (p: bigint) => (p & _REGION_ENTRY_TYPE_MASK) >= _REGION_ENTRY_TYPE_R3 && p === _REGION3_ENTRY_EMPTY;
const pud_present = (p: bigint) => (p & _REGION_ENTRY_TYPE_MASK) < _REGION_ENTRY_TYPE_R3 || (p & _REGION3_ENTRY_PRESENT) !== 0n;  // :724
const pud_leaf = (p: bigint) => (p & _REGION_ENTRY_TYPE_MASK) === _REGION_ENTRY_TYPE_R3 && pud_present(p) && (p & _REGION3_ENTRY_LARGE) !== 0n;
function pud_bad(p: bigint): boolean {
  const type = p & _REGION_ENTRY_TYPE_MASK;
  if (type > _REGION_ENTRY_TYPE_R3 || pud_leaf(p)) return true;
  if (type < _REGION_ENTRY_TYPE_R3) return false;
  return (p & ~_REGION_ENTRY_BITS & M64) !== 0n;
}
const pud_write = (p: bigint) => (p & _REGION3_ENTRY_WRITE) !== 0n;                         // pgtable.h:798
const pud_wrprotect = (p: bigint) => (p & ~_REGION3_ENTRY_WRITE) | _REGION_ENTRY_PROTECT;
const pud_mkwrite = (p: bigint) => { p |= _REGION3_ENTRY_WRITE; return p & _REGION3_ENTRY_DIRTY ? p & ~_REGION_ENTRY_PROTECT : p; };
const pud_mkclean = (p: bigint) => (p & ~_REGION3_ENTRY_DIRTY) | _REGION_ENTRY_PROTECT;
const pud_mkdirty = (p: bigint) => {
  p |= _REGION3_ENTRY_DIRTY | _REGION3_ENTRY_SOFT_DIRTY;
  return p & _REGION3_ENTRY_WRITE ? p & ~_REGION_ENTRY_PROTECT : p;
};

// ---- pgalloc.h:118-154
const pud_populate = (pa: bigint) => _REGION3_ENTRY | pa;
const pmd_populate = (pa: bigint) => _SEGMENT_ENTRY | pa;

// ---- hugetlbpage.c: the pte <-> rste bit moves (swap entries are not exercised here)
const PTE_TO_RSTE: [bigint, bigint][] = [
  [_PAGE_READ, _SEGMENT_ENTRY_READ], [_PAGE_WRITE, _SEGMENT_ENTRY_WRITE], [_PAGE_INVALID, _SEGMENT_ENTRY_INVALID],
  [_PAGE_PROTECT, _SEGMENT_ENTRY_PROTECT], [_PAGE_DIRTY, _SEGMENT_ENTRY_DIRTY], [_PAGE_YOUNG, _SEGMENT_ENTRY_YOUNG],
  [_PAGE_SOFT_DIRTY, _SEGMENT_ENTRY_SOFT_DIRTY], [_PAGE_NOEXEC, _SEGMENT_ENTRY_NOEXEC],
];
function __pte_to_rste(pte: bigint): bigint {                                              // hugetlbpage.c:25
  if (!pte_present(pte)) { if (pte === _PAGE_INVALID) return _SEGMENT_ENTRY_EMPTY; throw new Error('swap pte'); }
  let rste = (pte & PAGE_MASK) | _SEGMENT_ENTRY_PRESENT;
  for (const [a, b] of PTE_TO_RSTE) if (pte & a) rste |= b;                                // move_set_bit
  return rste;
}
function __rste_to_pte(rste: bigint): bigint {                                             // hugetlbpage.c:80
  const r3 = (rste & _REGION_ENTRY_TYPE_MASK) === _REGION_ENTRY_TYPE_R3;
  if (r3 ? pud_present(rste) : pmd_present(rste)) {
    let pte = (rste & _SEGMENT_ENTRY_ORIGIN_LARGE) | _PAGE_LARGE | _PAGE_PRESENT;
    for (const [a, b] of PTE_TO_RSTE) if (rste & b) pte |= a;
    return pte;
  }
  if (r3 ? pud_none(rste) : pmd_none(rste)) return _PAGE_INVALID;
  throw new Error('swap rste');
}
// __set_huge_pte_at: the table type of the entry being replaced decides the format
function set_huge_pte_at(r3: boolean, pte: bigint): bigint {
  let rste = __pte_to_rste(pte);
  if (r3) rste |= (pte_present(pte) ? _REGION3_ENTRY_LARGE : 0n) | _REGION_ENTRY_TYPE_R3;
  else if (pte_present(pte)) rste |= _SEGMENT_ENTRY_LARGE;
  return rste;
}
// mm/hugetlb.c make_huge_pte(vma, folio, try_mkwrite) (VM_WRITE)
function make_huge_pte(pfn: bigint, prot: bigint, writable: boolean): bigint {
  const e = mk_pte(pfn, prot);
  return pte_mkhuge(pte_mkyoung(writable ? pte_mkwrite_novma(pte_mkdirty(e)) : pte_wrprotect(e)));
}
const hugetlb = (r3: boolean, pfn: bigint, prot: bigint, writable: boolean) => set_huge_pte_at(r3, make_huge_pte(pfn, prot, writable));
// a hugetlb pte-level helper applied to a leaf: huge_ptep_get, helper, set_huge_pte_at
const viaPte = (r3: boolean, f: (p: bigint) => bigint) => (rste: bigint) => set_huge_pte_at(r3, f(__rste_to_pte(rste)));
// a private write fault: hugetlb_no_page writes make_huge_pte(vma, folio, VM_SHARED = false), then
// hugetlb_wp reuses the exclusive anon folio: set_huge_ptep_writable =
// huge_ptep_set_access_flags(huge_pte_mkwrite(huge_pte_mkdirty(huge_ptep_get())))
const hugetlbWriteFault = (r3: boolean, pfn: bigint) =>
  viaPte(r3, (p) => pte_mkwrite_novma(pte_mkdirty(p)))(hugetlb(r3, pfn, PAGE_RO, false));

// ---------------------------------------------------------------- flags
const FLAG_NAMES = ['present', 'table', 'leaf', 'write', 'user', 'young', 'dirty', 'special', 'devmap', 'protnone'] as const;
function flags(list: string): EntryFlags {
  const on = new Set(list.split(/\s+/).filter(Boolean));
  for (const n of on) if (!(FLAG_NAMES as readonly string[]).includes(n)) throw new Error(`bad flag ${n}`);
  return Object.fromEntries(FLAG_NAMES.map((n) => [n, on.has(n)])) as unknown as EntryFlags;
}
const hex = (v: bigint) => `0x${v.toString(16)}`;
// The kernel's answers: what each helper says of the entry (as Machine.decode documents it);
// pmd_write / pmd_young / pmd_dirty read their bit whether or not the entry is present.
function pmdKernel(v: bigint): EntryFlags {
  const present = !pmd_none(v) && pmd_present(v), leaf = pmd_leaf(v);
  return {
    present, table: present && !leaf && !pmd_bad(v), leaf, write: pmd_write(v), user: false,
    young: pmd_young(v), dirty: pmd_dirty(v), special: false, devmap: false, protnone: pmd_protnone(v),
  };
}
function pudKernel(v: bigint): EntryFlags {
  // no pud_young / pud_dirty / pud_protnone on s390: hugetlb reads huge_pte_young / huge_pte_dirty of huge_ptep_get
  const present = !pud_none(v) && pud_present(v), leaf = pud_leaf(v);
  const pte = present ? __rste_to_pte(v) : _PAGE_INVALID;
  return {
    present, table: present && !leaf && !pud_bad(v), leaf, write: pud_write(v), user: false,
    young: present && pte_young(pte), dirty: present && pte_dirty(pte), special: false, devmap: false, protnone: false,
  };
}

// ---------------------------------------------------------------- per kernel and variant
const VARIANTS = [
  { variant: '3level', levels: ['region3', 'segment', 'pte'] },
  { variant: '4level', levels: ['region2', 'region3', 'segment', 'pte'] },
  { variant: '5level', levels: ['region1', 'region2', 'region3', 'segment', 'pte'] },
] as const;
const KERNELS = ['v6.15', 'v6.17'] as const;
const CASES = KERNELS.flatMap((kernel) => VARIANTS.map((v) => ({ kernel, ...v })));
const machine = (kernel: string, variant: string, ramMiB = 64) => Machine.createSync({ arch: 's390', variant, kernel, ramMiB, tablePoolMiB: 4 });

describe.each(CASES)('s390/$variant at $kernel (v6.13+ segment and region-third layout)', ({ kernel, variant, levels }) => {
  const n = levels.length;
  const PTE = n - 1, SEG = n - 2, R3 = n - 3;
  const R2 = levels.indexOf('region2' as never), R1 = levels.indexOf('region1' as never);
  const pfn = 0x1234n;
  const segPfn = 0x57n << 8n;                   // a 1 MiB-aligned frame
  const r3Pfn = 3n << 19n;                      // a 2 GiB-aligned frame (6 GiB)
  // a 16 KiB-aligned table origin; its bits 0x1000, 0x2000 and 0x8000 (YOUNG, DIRTY, WRITE in a leaf) are clear
  const tablePa = 0x0012_3450_0000n;

  it('writes the table entries of pgalloc.h and the empties of crst_table_init', () => {
    const d = machine(kernel, variant).desc;
    expect(d.levels.map((l) => l.name)).toEqual(levels);
    const by = <T>(o: Record<string, T>) => levels.map((name) => o[name]);
    expect(d.levels.map((l) => l.empty)).toEqual(by({
      region1: _REGION1_ENTRY_EMPTY, region2: _REGION2_ENTRY_EMPTY, region3: _REGION3_ENTRY_EMPTY, segment: _SEGMENT_ENTRY_EMPTY, pte: _PAGE_INVALID,
    }));
    expect(d.levels.slice(0, PTE).map((l) => l.tableTemplate))
      .toEqual(by({ region1: _REGION1_ENTRY, region2: _REGION2_ENTRY, region3: _REGION3_ENTRY, segment: _SEGMENT_ENTRY }).slice(0, PTE));
    // spelled out: pmd_populate now writes PRESENT | pa, pud_populate R3 | LENGTH | PRESENT
    expect([d.levels[SEG].tableTemplate, d.levels[R3].tableTemplate, d.levels[SEG].empty, d.levels[R3].empty]).toEqual([0x1n, 0x7n, 0x20n, 0x24n]);
    // sparsemem.h SECTION_SIZE_BITS 27 (128 MiB sections; 28 in v6.12)
    expect(d.sectionSizeBits).toBe(27);
  });

  it('decodes segment entries: tables, 1 MiB leaves, PROT_NONE, invalidated, old, bad, not present', () => {
    const m = machine(kernel, variant);
    const ro = folio_mk_pmd(segPfn, PAGE_RO);
    const thp = thpAnon(segPfn);
    const cases: Record<string, [bigint, EntryFlags]> = {
      empty: [_SEGMENT_ENTRY_EMPTY, flags('')],                                  // pmd_none
      table: [pmd_populate(tablePa), flags('present table')],                    // pmd_populate
      'folio_mk_pmd(PAGE_RO)': [ro, flags('present leaf young')],
      'THP anon': [thp, flags('present leaf write young dirty')],
      'hugetlb 1 MiB': [hugetlbWriteFault(false, segPfn), flags('present leaf write young dirty')],
      // PROT_NONE / NUMA hinting: pmd_protnone = pmd_leaf && !READ
      'folio_mk_pmd(PAGE_NONE)': [folio_mk_pmd(segPfn, PAGE_NONE), flags('present leaf young protnone')],
      // pmdp_invalidate keeps PRESENT (and READ: no CONFIG_PAGE_TABLE_CHECK): still present, a leaf, not protnone
      pmdp_invalidate: [pmdp_invalidate(thp), flags('present leaf write young dirty')],
      'pmd_mkold(THP)': [pmd_mkold(thp), flags('present leaf write dirty')],
      // pmd_bad: type bits (here R3's) in a segment entry
      'pmd_bad (type R3)': [pmd_populate(tablePa) | _REGION_ENTRY_TYPE_R3, flags('present')],
      // LARGE without PRESENT: pmd_present false, so pmd_leaf (and pmd_protnone) false ...
      'LARGE, not PRESENT, old': [pmd_mkold(ro) & ~_SEGMENT_ENTRY_PRESENT, flags('')],
      // ... while pmd_young still reads its bit (0x1000) of a non-present entry
      'LARGE, not PRESENT, young': [ro & ~_SEGMENT_ENTRY_PRESENT, flags('young')],
      // LARGE and the frame alone: no NOEXEC (outside _SEGMENT_ENTRY_BITS), not present, so
      // not pmd_leaf and not pmd_bad either (v6.12's pmd_bad took any LARGE for a leaf)
      'LARGE alone, not PRESENT': [(segPfn << 12n) | _SEGMENT_ENTRY_LARGE, flags('')],
    };
    const got = Object.fromEntries(Object.entries(cases).map(([k, [v]]) => [k, m.decode(v, SEG)]));
    expect(got).toEqual(Object.fromEntries(Object.entries(cases).map(([k, [v]]) => [k, pmdKernel(v)])));
    // each predicate alone, on every case (decode only asks pmd_bad of present entries):
    // !pmd_bad of a non-present entry with LARGE is true now, pmd_leaf needing PRESENT
    const p = m.desc.levels[SEG].preds;
    const preds = (v: bigint) => ({ present: matchPred(p.present, v), leaf: matchPred(p.leaf, v), notBad: matchPred(p.table, v), protnone: matchPred(p.protnone, v) });
    expect(Object.fromEntries(Object.entries(cases).map(([k, [v]]) => [k, preds(v)])))
      .toEqual(Object.fromEntries(Object.entries(cases).map(([k, [v]]) => [k, { present: pmd_present(v), leaf: pmd_leaf(v), notBad: !pmd_bad(v), protnone: pmd_protnone(v) }])));
    expect(got).toEqual(Object.fromEntries(Object.entries(cases).map(([k, [, f]]) => [k, f])));
    // the values, against the bit table: PRESENT 0x1, READ 0x4000, WRITE 0x8000, SOFT_DIRTY 0x2
    expect([ro & 0xfffffn, thp & 0xfffffn, pmdp_invalidate(thp) & 0xfffffn]).toEqual([0x5701n, 0xf503n, 0xf523n]);
    // the THP and the hugetlb paths to a read-write 1 MiB leaf build the same entry
    expect(hugetlbWriteFault(false, segPfn)).toBe(thp);
    expect(hugetlb(false, segPfn, PAGE_RO, true)).toBe(thp);
  });

  it('decodes region entries: region-third tables and 2 GiB leaves, region-second, region-first', () => {
    const m = machine(kernel, variant);
    const rw = hugetlbWriteFault(true, r3Pfn);
    const cases: [string, number, bigint, EntryFlags][] = [
      ['region3 empty', R3, _REGION3_ENTRY_EMPTY, flags('')],
      // pud_populate: pud_write now reads 0x8000, an origin bit of a table entry (clear here), not LENGTH
      ['region3 table', R3, pud_populate(tablePa), flags('present table')],
      ['region3 2 GiB rw', R3, rw, flags('present leaf write young dirty')],
      ['region3 2 GiB ro', R3, hugetlb(true, r3Pfn, PAGE_RO, false), flags('present leaf young')],
      // no pud_protnone: gup_fast_pud_leaf does not ask
      ['region3 2 GiB PAGE_NONE', R3, hugetlb(true, r3Pfn, PAGE_NONE, false), flags('present leaf young')],
      // pud_present is the PRESENT bit now: an old, clean 2 GiB leaf of frame 0 is present
      ['region3 2 GiB at pa 0, old', R3, viaPte(true, pte_mkold)(hugetlb(true, 0n, PAGE_RO, false)), flags('present leaf')],
      // pud_bad: a bit outside _REGION_ENTRY_BITS (0x100) in a table entry
      ['region3 bad', R3, pud_populate(tablePa) | 0x100n, flags('present')],
    ];
    for (const [k, l, v, f] of upperRegionCases(R1, R2, tablePa)) cases.push([k, l, v, flags(f)]);
    const got = Object.fromEntries(cases.map(([k, l, v]) => [k, m.decode(v, l)]));
    expect(got).toEqual(Object.fromEntries(cases.map(([k, , , f]) => [k, f])));
    // the region-third ones also from the helpers
    const r3 = cases.filter(([, l]) => l === R3);
    expect(Object.fromEntries(r3.map(([k]) => [k, got[k]]))).toEqual(Object.fromEntries(r3.map(([k, , v]) => [k, pudKernel(v)])));
    // and each region-third predicate alone, also on a LARGE entry without PRESENT
    const p = m.desc.levels[R3].preds;
    const r3Entries = [...r3.map(([, , v]) => v), hugetlb(true, r3Pfn, PAGE_RO, false) & ~_REGION3_ENTRY_PRESENT];
    expect(r3Entries.map((v) => ({ present: matchPred(p.present, v), leaf: matchPred(p.leaf, v), notBad: matchPred(p.table, v) })))
      .toEqual(r3Entries.map((v) => ({ present: pud_present(v), leaf: pud_leaf(v), notBad: !pud_bad(v) })));
    expect([rw & 0x7fff_ffffn, hugetlb(true, r3Pfn, PAGE_RO, false) & 0x7fff_ffffn]).toEqual([0xf507n, 0x5705n]);
  });

  it('compiles the entry transformations exactly as the kernel helpers do them', () => {
    const d = machine(kernel, variant).desc;
    const ro = mk_pte(pfn, PAGE_RO);
    const thp = thpAnon(segPfn);
    const r3 = hugetlbWriteFault(true, r3Pfn);
    const id = (p: bigint) => p;
    const perLevel: OpsByLevel = {
      [PTE]: {
        inputs: [ro, pte_mkwrite_novma(pte_mkdirty(ro)), mk_pte(pfn, PAGE_RW), pfn_pte(pfn, PAGE_NONE), pte_mkold(ro)],
        fns: {
          mkwrite: pte_mkwrite_novma, wrprotect: pte_wrprotect, mkdirty: pte_mkdirty, mkclean: pte_mkclean,
          mkyoung: pte_mkyoung, mkold: pte_mkold, mkspecial: pte_mkspecial, mkdevmap: id,
        },
      },
      [SEG]: {
        inputs: [folio_mk_pmd(segPfn, PAGE_RO), thp, pmd_wrprotect(thp), pmd_mkold(thp), folio_mk_pmd(segPfn, PAGE_NONE),
          folio_mk_pmd(segPfn, PAGE_RW), pmdp_invalidate(thp), pmd_mkclean(thp), pmd_mkold(folio_mk_pmd(segPfn, PAGE_RO))],
        fns: {
          mkwrite: pmd_mkwrite_novma, wrprotect: pmd_wrprotect, mkdirty: pmd_mkdirty, mkclean: pmd_mkclean,
          mkyoung: pmd_mkyoung, mkold: pmd_mkold,
          mkspecial: id, mkdevmap: id,   // pmd_mkspecial: identity without ARCH_SUPPORTS_PMD_PFNMAP (mm.h)
          mkhuge: pmd_mkhuge,
        },
      },
      [R3]: {
        inputs: [hugetlb(true, r3Pfn, PAGE_RO, false), r3, pud_wrprotect(r3), viaPte(true, pte_mkold)(r3), pud_mkclean(r3),
          hugetlb(true, r3Pfn, PAGE_NONE, false), set_huge_pte_at(true, mk_pte(r3Pfn, PAGE_RW))],
        fns: {
          mkwrite: pud_mkwrite, wrprotect: pud_wrprotect, mkdirty: pud_mkdirty, mkclean: pud_mkclean,
          // no pud_mkyoung / pud_mkold: hugetlb goes through huge_ptep_get and set_huge_pte_at
          mkyoung: viaPte(true, pte_mkyoung), mkold: viaPte(true, pte_mkold),
          mkspecial: id, mkdevmap: id,   // pud_mkspecial: identity without ARCH_SUPPORTS_PUD_PFNMAP
        },
      },
    };
    expect(opsDiffering(d, perLevel)).toEqual([]);
  });

  it('derives the leaf templates and prots the kernel builds', () => {
    const d = machine(kernel, variant).desc;
    const t = (i: number) => d.levels[i].templates;
    const p = (i: number) => d.levels[i].prots;
    expect({
      seg: { ro: t(SEG).ro, rw: t(SEG).rw, specialRo: t(SEG).specialRo }, segProts: p(SEG),
      r3: { ro: t(R3).ro, rw: t(R3).rw, specialRo: t(R3).specialRo }, r3Prots: p(R3),
      pte: { ro: t(PTE).ro, rw: t(PTE).rw, specialRo: t(PTE).specialRo, specialRw: t(PTE).specialRw }, pteProts: p(PTE),
    }).toEqual({
      seg: {
        ro: folio_mk_pmd(0n, PAGE_RO),
        rw: thpAnon(0n),
        specialRo: folio_mk_pmd(0n, PAGE_RO),                         // no pmd_mkspecial: the plain leaf
      },
      segProts: { none: folio_mk_pmd(0n, PAGE_NONE), readonly: folio_mk_pmd(0n, PAGE_RO), copy: folio_mk_pmd(0n, PAGE_RO), shared: folio_mk_pmd(0n, PAGE_RW) },
      r3: {
        ro: hugetlb(true, 0n, PAGE_RO, false),                         // hugetlb_no_page, read fault
        rw: hugetlbWriteFault(true, 0n),                               // hugetlb_no_page + hugetlb_wp, write fault
        specialRo: hugetlb(true, 0n, PAGE_RO, false),
      },
      r3Prots: {
        none: set_huge_pte_at(true, mk_pte(0n, PAGE_NONE)), readonly: set_huge_pte_at(true, mk_pte(0n, PAGE_RO)),
        copy: set_huge_pte_at(true, mk_pte(0n, PAGE_RO)), shared: set_huge_pte_at(true, mk_pte(0n, PAGE_RW)),
      },
      pte: {   // unchanged since v6.12
        ro: mk_pte(0n, PAGE_RO), rw: pte_mkwrite_novma(pte_mkdirty(mk_pte(0n, PAGE_RO))),
        specialRo: pte_mkspecial(pfn_pte(0n, PAGE_RO)), specialRw: pte_mkspecial(pfn_pte(0n, PAGE_RW)),
      },
      pteProts: { none: pfn_pte(0n, PAGE_NONE), readonly: pfn_pte(0n, PAGE_RO), copy: pfn_pte(0n, PAGE_RO), shared: pfn_pte(0n, PAGE_RW) },
    });
    // the 1 MiB templates are also what the hugetlb path writes into a segment entry
    expect([t(SEG).ro, t(SEG).rw]).toEqual([hugetlb(false, 0n, PAGE_RO, false), hugetlbWriteFault(false, 0n)]);
    // and the values themselves
    expect({ segRo: hex(folio_mk_pmd(0n, PAGE_RO)), segRw: hex(thpAnon(0n)), segNone: hex(folio_mk_pmd(0n, PAGE_NONE)), segShared: hex(folio_mk_pmd(0n, PAGE_RW)) })
      .toEqual({ segRo: '0x5701', segRw: '0xf503', segNone: '0x1621', segShared: '0xd701' });
    expect({ r3Ro: hex(hugetlb(true, 0n, PAGE_RO, false)), r3Rw: hex(hugetlbWriteFault(true, 0n)), r3None: hex(set_huge_pte_at(true, mk_pte(0n, PAGE_NONE))), r3Shared: hex(set_huge_pte_at(true, mk_pte(0n, PAGE_RW))) })
      .toEqual({ r3Ro: '0x5705', r3Rw: '0xf507', r3None: '0x1625', r3Shared: '0xd705' });
  });
});

// ---------------------------------------------------------------- end to end
const E2E_CASES = KERNELS.flatMap((kernel) => S390_END_TO_END.map((c) => ({ kernel, ...c })));
describe.each(E2E_CASES)('s390/$variant at $kernel end to end: $leaf', ({ kernel, ...c }) => {
  it('maps kernel-shaped entries, pins, unpins, zaps, and leaves nothing behind', () => {
    // what the kernel writes: populate faults for write
    s390EndToEnd(c, kernel, (pfn) => {
      if (c.order === 0) return pte_mkwrite_novma(pte_mkdirty(mk_pte(pfn, PAGE_RO)));   // do_anonymous_page
      if (c.kind === 'anon') return thpAnon(pfn);                                        // map_anon_folio_pmd_nopf
      return hugetlbWriteFault(c.order === 19, pfn);                                     // hugetlb_no_page + hugetlb_wp
    }, flags('present leaf write young dirty'));
  });
});

// ---------------------------------------------------------------- the era boundary
describe('s390 at v6.12 keeps the old segment layout', () => {
  it.each(VARIANTS)('$variant: _SEGMENT_ENTRY 0, segment ro leaf 0x1701', ({ variant }) => {
    const d = machine('v6.12', variant).desc;
    const n = d.levels.length;
    // v6.12 pgtable.h: _SEGMENT_ENTRY (0); _SEGMENT_ENTRY_READ 0x1, WRITE 0x2, SOFT_DIRTY 0x4000:
    // mk_huge_pmd(PAGE_RO) = SEGMENT_RO (PROTECT | READ | NOEXEC) | LARGE | YOUNG = 0x1701.
    // (_REGION3_ENTRY is 0x7 in both: the new PRESENT bit is one of the LENGTH bits.)
    expect([d.levels[n - 2].tableTemplate, d.levels[n - 2].templates.ro, d.levels[n - 3].tableTemplate]).toEqual([0n, 0x1701n, 0x7n]);
    expect(d.sectionSizeBits).toBe(28);   // v6.12 sparsemem.h
  });
});
