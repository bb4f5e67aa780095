// s390: entries built with the kernel's own macros and helpers, decoded by
// pgtemu and checked against what the kernel's helpers say; the entry
// transformations and leaf templates compared with the kernel's functions;
// a hand-built (big-endian) table tree walked with walkRaw; and an end-to-end
// map / pin / unpin / zap per leaf size.
//
// The macros and helpers below are transcribed from v6.12 (Debian
// 6.12.117) independently of src/arch/s390:
//   arch/s390/include/asm/pgtable.h, pgalloc.h, hugetlb.h, sparsemem.h,
//   arch/s390/mm/hugetlbpage.c (__pte_to_rste, __rste_to_pte,
//   __set_huge_pte_at), arch/s390/mm/mmap.c (protection_map),
//   include/linux/huge_mm.h (mk_huge_pmd), mm/hugetlb.c (make_huge_pte),
//   mm/huge_memory.c (__do_huge_pmd_anonymous_page), mm/memory.c
//   (do_anonymous_page).
// The modelled machine has the NX facility (MACHINE_HAS_NX: mk_pte_phys and
// set_pmd_at keep _PAGE_NOEXEC), CONFIG_MEM_SOFT_DIRTY and
// CONFIG_NUMA_BALANCING.
//
// A new mm on s390 starts as a 3-level task (init_new_context: asce_limit =
// _REGION2_SIZE) and crst_table_upgrade adds a region-second and then a
// region-first table when an mmap reaches past 4 TiB / 8 PiB. pgtemu's
// variants have a fixed depth: '3level', '4level' and '5level' are those three
// shapes, each for the whole life of the mm; the upgrade is not modelled.
import { describe, expect, it } from 'vitest';
import { Machine, type EntryFlags } from '../../src/index.js';
import { S390_END_TO_END, s390EndToEnd, opsDiffering, upperRegionCases, type OpsByLevel } from '../helpers/s390.js';

const GiB = 1n << 30n;
const MiB = 1n << 20n;

// ---------------------------------------------------------------- pgtable.h
// pte: hardware bits
const _PAGE_NOEXEC = 0x100n;
const _PAGE_PROTECT = 0x200n;
const _PAGE_INVALID = 0x400n;
const _PAGE_LARGE = 0x800n;
// pte: software bits
const _PAGE_PRESENT = 0x001n;
const _PAGE_YOUNG = 0x004n;
const _PAGE_DIRTY = 0x008n;
const _PAGE_READ = 0x010n;
const _PAGE_WRITE = 0x020n;
const _PAGE_SPECIAL = 0x040n;
const _PAGE_SOFT_DIRTY = 0x002n;       // CONFIG_MEM_SOFT_DIRTY
const PAGE_MASK = ~0xfffn & ((1n << 64n) - 1n);
// region entries
const _REGION_ENTRY_ORIGIN = ~0xfffn & ((1n << 64n) - 1n);
const _REGION_ENTRY_PROTECT = 0x200n;
const _REGION_ENTRY_NOEXEC = 0x100n;
const _REGION_ENTRY_INVALID = 0x20n;
const _REGION_ENTRY_TYPE_MASK = 0x0cn;
const _REGION_ENTRY_TYPE_R1 = 0x0cn;
const _REGION_ENTRY_TYPE_R2 = 0x08n;
const _REGION_ENTRY_TYPE_R3 = 0x04n;
const _REGION_ENTRY_LENGTH = 0x03n;
const _REGION1_ENTRY = _REGION_ENTRY_TYPE_R1 | _REGION_ENTRY_LENGTH;
const _REGION1_ENTRY_EMPTY = _REGION_ENTRY_TYPE_R1 | _REGION_ENTRY_INVALID;
const _REGION2_ENTRY = _REGION_ENTRY_TYPE_R2 | _REGION_ENTRY_LENGTH;
const _REGION2_ENTRY_EMPTY = _REGION_ENTRY_TYPE_R2 | _REGION_ENTRY_INVALID;
const _REGION3_ENTRY = _REGION_ENTRY_TYPE_R3 | _REGION_ENTRY_LENGTH;
const _REGION3_ENTRY_EMPTY = _REGION_ENTRY_TYPE_R3 | _REGION_ENTRY_INVALID;
const _REGION3_ENTRY_DIRTY = 0x2000n;
const _REGION3_ENTRY_YOUNG = 0x1000n;
const _REGION3_ENTRY_LARGE = 0x0400n;
const _REGION3_ENTRY_WRITE = 0x0002n;
const _REGION3_ENTRY_SOFT_DIRTY = 0x4000n;
// segment entries
const _SEGMENT_ENTRY_ORIGIN_LARGE = ~0xfffffn & ((1n << 64n) - 1n);
const _SEGMENT_ENTRY_PROTECT = 0x200n;
const _SEGMENT_ENTRY_NOEXEC = 0x100n;
const _SEGMENT_ENTRY_INVALID = 0x20n;
const _SEGMENT_ENTRY = 0n;
const _SEGMENT_ENTRY_EMPTY = _SEGMENT_ENTRY_INVALID;
const _SEGMENT_ENTRY_DIRTY = 0x2000n;
const _SEGMENT_ENTRY_YOUNG = 0x1000n;
const _SEGMENT_ENTRY_LARGE = 0x0400n;
const _SEGMENT_ENTRY_WRITE = 0x0002n;
const _SEGMENT_ENTRY_READ = 0x0001n;
const _SEGMENT_ENTRY_SOFT_DIRTY = 0x4000n;
// protections
const PAGE_NONE = _PAGE_PRESENT | _PAGE_INVALID | _PAGE_PROTECT;
const PAGE_RO = _PAGE_PRESENT | _PAGE_READ | _PAGE_NOEXEC | _PAGE_INVALID | _PAGE_PROTECT;
const PAGE_RX = _PAGE_PRESENT | _PAGE_READ | _PAGE_INVALID | _PAGE_PROTECT;
const PAGE_RW = _PAGE_PRESENT | _PAGE_READ | _PAGE_WRITE | _PAGE_NOEXEC | _PAGE_INVALID | _PAGE_PROTECT;
const SEGMENT_NONE = _SEGMENT_ENTRY_INVALID | _SEGMENT_ENTRY_PROTECT;
const SEGMENT_RO = _SEGMENT_ENTRY_PROTECT | _SEGMENT_ENTRY_READ | _SEGMENT_ENTRY_NOEXEC;
const SEGMENT_RX = _SEGMENT_ENTRY_PROTECT | _SEGMENT_ENTRY_READ;
const SEGMENT_RW = _SEGMENT_ENTRY_READ | _SEGMENT_ENTRY_WRITE | _SEGMENT_ENTRY_NOEXEC;
const SEGMENT_RWX = _SEGMENT_ENTRY_READ | _SEGMENT_ENTRY_WRITE;
// arch/s390/mm/mmap.c protection_map: VM_READ and VM_READ|VM_WRITE (private) -> PAGE_RO,
// VM_SHARED|VM_READ|VM_WRITE -> PAGE_RW, VM_NONE -> PAGE_NONE

// ---- pte helpers
const pte_present = (p: bigint) => (p & _PAGE_PRESENT) !== 0n;
const pte_none = (p: bigint) => p === _PAGE_INVALID;
const pte_write = (p: bigint) => (p & _PAGE_WRITE) !== 0n;
const pte_dirty = (p: bigint) => (p & _PAGE_DIRTY) !== 0n;
const pte_young = (p: bigint) => (p & _PAGE_YOUNG) !== 0n;
const pte_special = (p: bigint) => (p & _PAGE_SPECIAL) !== 0n;
const pte_protnone = (p: bigint) => pte_present(p) && (p & _PAGE_READ) === 0n;
function pte_wrprotect(p: bigint): bigint { return (p & ~_PAGE_WRITE) | _PAGE_PROTECT; }
function pte_mkwrite_novma(p: bigint): bigint {
  p |= _PAGE_WRITE;
  if (p & _PAGE_DIRTY) p &= ~_PAGE_PROTECT;
  return p;
}
function pte_mkclean(p: bigint): bigint { return (p & ~_PAGE_DIRTY) | _PAGE_PROTECT; }
function pte_mkdirty(p: bigint): bigint {
  p |= _PAGE_DIRTY | _PAGE_SOFT_DIRTY;
  if (p & _PAGE_WRITE) p &= ~_PAGE_PROTECT;
  return p;
}
function pte_mkold(p: bigint): bigint { return (p & ~_PAGE_YOUNG) | _PAGE_INVALID; }
function pte_mkyoung(p: bigint): bigint {
  p |= _PAGE_YOUNG;
  if (p & _PAGE_READ) p &= ~_PAGE_INVALID;
  return p;
}
const pte_mkspecial = (p: bigint) => p | _PAGE_SPECIAL;
// mk_pte_phys: physpage | prot, then pte_mkyoung (MACHINE_HAS_NX: NOEXEC kept)
const mk_pte_phys = (pa: bigint, prot: bigint) => pte_mkyoung(pa | prot);
const pfn_pte = (pfn: bigint, prot: bigint) => mk_pte_phys(pfn << 12n, prot);
const mk_pte = pfn_pte;            // PageDirty(page) false: no pte_mkdirty
// mk_swap_pte: _PAGE_INVALID | _PAGE_PROTECT | offset << 12 | type << 2
const mk_swap_pte = (type: bigint, offset: bigint) => _PAGE_INVALID | _PAGE_PROTECT | (offset << 12n) | (type << 2n);

// ---- pmd (segment) helpers
const pmd_present = (p: bigint) => p !== _SEGMENT_ENTRY_EMPTY;
const pmd_leaf = (p: bigint) => (p & _SEGMENT_ENTRY_LARGE) !== 0n;
function pmd_wrprotect(p: bigint): bigint { return (p & ~_SEGMENT_ENTRY_WRITE) | _SEGMENT_ENTRY_PROTECT; }
function pmd_mkwrite_novma(p: bigint): bigint {
  p |= _SEGMENT_ENTRY_WRITE;
  if (p & _SEGMENT_ENTRY_DIRTY) p &= ~_SEGMENT_ENTRY_PROTECT;
  return p;
}
function pmd_mkclean(p: bigint): bigint { return (p & ~_SEGMENT_ENTRY_DIRTY) | _SEGMENT_ENTRY_PROTECT; }
function pmd_mkdirty(p: bigint): bigint {
  p |= _SEGMENT_ENTRY_DIRTY | _SEGMENT_ENTRY_SOFT_DIRTY;
  if (p & _SEGMENT_ENTRY_WRITE) p &= ~_SEGMENT_ENTRY_PROTECT;
  return p;
}
function pmd_mkyoung(p: bigint): bigint {
  p |= _SEGMENT_ENTRY_YOUNG;
  if (p & _SEGMENT_ENTRY_READ) p &= ~_SEGMENT_ENTRY_INVALID;
  return p;
}
function pmd_mkold(p: bigint): bigint { return (p & ~_SEGMENT_ENTRY_YOUNG) | _SEGMENT_ENTRY_INVALID; }
const pmd_mkhuge = (p: bigint) => p | _SEGMENT_ENTRY_LARGE | _SEGMENT_ENTRY_YOUNG | _SEGMENT_ENTRY_PROTECT;
function massage_pgprot_pmd(prot: bigint): bigint {
  if (prot === PAGE_NONE) return SEGMENT_NONE;
  if (prot === PAGE_RO) return SEGMENT_RO;
  if (prot === PAGE_RX) return SEGMENT_RX;
  if (prot === PAGE_RW) return SEGMENT_RW;
  return SEGMENT_RWX;
}
const pfn_pmd = (pfn: bigint, prot: bigint) => (pfn << 12n) + massage_pgprot_pmd(prot);   // mk_pmd_phys
const mk_huge_pmd = (pfn: bigint, prot: bigint) => pmd_mkhuge(pfn_pmd(pfn, prot));      // huge_mm.h
const pmdp_invalidate = (p: bigint) => p | _SEGMENT_ENTRY_INVALID;
// mm/huge_memory.c __do_huge_pmd_anonymous_page: maybe_pmd_mkwrite(pmd_mkdirty(mk_huge_pmd(page, prot)))
const thpAnon = (pfn: bigint) => pmd_mkwrite_novma(pmd_mkdirty(mk_huge_pmd(pfn, PAGE_RO)));

// ---- pud (region-third) helpers
const pud_present = (p: bigint) => (p & _REGION_ENTRY_ORIGIN) !== 0n;   // type R3: not folded
function pud_wrprotect(p: bigint): bigint { return (p & ~_REGION3_ENTRY_WRITE) | _REGION_ENTRY_PROTECT; }
function pud_mkwrite(p: bigint): bigint {
  p |= _REGION3_ENTRY_WRITE;
  if (p & _REGION3_ENTRY_DIRTY) p &= ~_REGION_ENTRY_PROTECT;
  return p;
}
function pud_mkclean(p: bigint): bigint { return (p & ~_REGION3_ENTRY_DIRTY) | _REGION_ENTRY_PROTECT; }
function pud_mkdirty(p: bigint): bigint {
  p |= _REGION3_ENTRY_DIRTY | _REGION3_ENTRY_SOFT_DIRTY;
  if (p & _REGION3_ENTRY_WRITE) p &= ~_REGION_ENTRY_PROTECT;
  return p;
}

// ---- pgalloc.h
const pgd_populate = (pa: bigint) => _REGION1_ENTRY | pa;
const p4d_populate = (pa: bigint) => _REGION2_ENTRY | pa;
const pud_populate = (pa: bigint) => _REGION3_ENTRY | pa;
const pmd_populate = (pa: bigint) => _SEGMENT_ENTRY | pa;

// ---- mm/hugetlbpage.c and the generic hugetlb path
const moveSetBit = (x: bigint, a: bigint, b: bigint) => ((x & a) !== 0n ? b : 0n);   // move_set_bit
const PTE_TO_RSTE: [bigint, bigint][] = [
  [_PAGE_READ, _SEGMENT_ENTRY_READ], [_PAGE_WRITE, _SEGMENT_ENTRY_WRITE],
  [_PAGE_INVALID, _SEGMENT_ENTRY_INVALID], [_PAGE_PROTECT, _SEGMENT_ENTRY_PROTECT],
  [_PAGE_DIRTY, _SEGMENT_ENTRY_DIRTY], [_PAGE_YOUNG, _SEGMENT_ENTRY_YOUNG],
  [_PAGE_SOFT_DIRTY, _SEGMENT_ENTRY_SOFT_DIRTY], [_PAGE_NOEXEC, _SEGMENT_ENTRY_NOEXEC],
];
function __pte_to_rste(pte: bigint): bigint {
  if (!pte_present(pte)) return _SEGMENT_ENTRY_EMPTY;
  let rste = pte & PAGE_MASK;
  for (const [a, b] of PTE_TO_RSTE) rste |= moveSetBit(pte, a, b);
  return rste;
}
function __rste_to_pte(rste: bigint): bigint {
  const present = (rste & _REGION_ENTRY_TYPE_MASK) === _REGION_ENTRY_TYPE_R3 ? pud_present(rste) : pmd_present(rste);
  if (!present) return _PAGE_INVALID;
  let pte = (rste & _SEGMENT_ENTRY_ORIGIN_LARGE) | _PAGE_LARGE | _PAGE_PRESENT;
  for (const [a, b] of PTE_TO_RSTE) pte |= moveSetBit(rste, b, a);
  return pte;
}
// __set_huge_pte_at: the table type of the entry being replaced decides the format
function set_huge_pte_at(r3: boolean, pte: bigint): bigint {
  let rste = __pte_to_rste(pte);
  if (r3) {
    if (pte_present(pte)) rste |= _REGION3_ENTRY_LARGE;
    rste |= _REGION_ENTRY_TYPE_R3;
  } else if (pte_present(pte)) rste |= _SEGMENT_ENTRY_LARGE;
  return rste;
}
const pte_mkhuge = (p: bigint) => p | _PAGE_LARGE;       // arch_make_huge_pte (generic)
// mm/hugetlb.c make_huge_pte
function make_huge_pte(pfn: bigint, prot: bigint, writable: boolean): bigint {
  let e = writable ? pte_mkwrite_novma(pte_mkdirty(mk_pte(pfn, prot))) : pte_wrprotect(mk_pte(pfn, prot));
  e = pte_mkyoung(e);
  return pte_mkhuge(e);
}
const hugetlb = (r3: boolean, pfn: bigint, prot: bigint, writable: boolean) => set_huge_pte_at(r3, make_huge_pte(pfn, prot, writable));
// a hugetlb pte-level helper applied to a region-third entry: huge_ptep_get, helper, set_huge_pte_at
const viaPte = (f: (p: bigint) => bigint) => (rste: bigint) => set_huge_pte_at(true, f(__rste_to_pte(rste)));

// ---------------------------------------------------------------- flags
const FLAG_NAMES = ['present', 'table', 'leaf', 'write', 'user', 'young', 'dirty', 'special', 'devmap', 'protnone'] as const;
function flags(list: string): EntryFlags {
  const on = new Set(list.split(/\s+/).filter(Boolean));
  for (const n of on) if (!(FLAG_NAMES as readonly string[]).includes(n)) throw new Error(`bad flag ${n}`);
  return Object.fromEntries(FLAG_NAMES.map((n) => [n, on.has(n)])) as unknown as EntryFlags;
}

// ---------------------------------------------------------------- per variant
const VARIANTS = [
  { variant: '3level', levels: ['region3', 'segment', 'pte'], shifts: [31, 20, 12], vaBits: 42, userVaBits: 42 },
  { variant: '4level', levels: ['region2', 'region3', 'segment', 'pte'], shifts: [42, 31, 20, 12], vaBits: 53, userVaBits: 53 },
  // TASK_SIZE_MAX is -PAGE_SIZE (processor.h); pgtemu's user space is [0, 1 << userVaBits), capped at 2^63
  { variant: '5level', levels: ['region1', 'region2', 'region3', 'segment', 'pte'], shifts: [53, 42, 31, 20, 12], vaBits: 64, userVaBits: 63 },
] as const;

const machine = (variant: string, ramMiB = 64) => Machine.createSync({ arch: 's390', variant, ramMiB, tablePoolMiB: 4 });

describe.each(VARIANTS)('s390/$variant', ({ variant, levels, shifts, vaBits, userVaBits }) => {
  const n = levels.length;
  const PTE = n - 1, SEG = n - 2, R3 = n - 3;
  const R2 = levels.indexOf('region2' as never), R1 = levels.indexOf('region1' as never);
  const pfn = 0x1234n;                          // any frame
  const segPfn = 0x57n << 8n;                   // a 1 MiB-aligned frame
  const r3Pfn = 3n << 19n;                      // a 2 GiB-aligned frame (6 GiB)
  const tablePa = 0x0012_3450_0000n;            // a 16 KiB-aligned table origin

  it('has the geometry of pgtable.h, pgalloc.h, mmu_context.h and sparsemem.h', () => {
    const d = machine(variant).desc;
    expect(d.levels.map((l) => l.name)).toEqual(levels);
    // _REGION1_SHIFT 53, _REGION2_SHIFT 42, _REGION3_SHIFT 31, _SEGMENT_SHIFT 20, PAGE_SHIFT 12
    expect(d.levels.map((l) => l.shift)).toEqual(shifts);
    // _CRST_ENTRIES 2048 (16 KiB, CRST_ALLOC_ORDER 2), _PAGE_ENTRIES 256 (2 KiB)
    expect(d.levels.map((l) => l.indexBits)).toEqual(levels.map((_, i) => (i === PTE ? 8 : 11)));
    expect(d.levels.map((l) => l.tableBytes)).toEqual(levels.map((_, i) => (i === PTE ? 2048 : 16384)));
    expect(d.levels.map((l) => l.leafOk)).toEqual(levels.map((_, i) => i >= R3));
    expect([d.vaBits, d.userVaBits]).toEqual([vaBits, userVaBits]);
    expect(d.bigEndian).toBe(true);
    expect(d.sectionSizeBits).toBe(28);       // SECTION_SIZE_BITS
    expect(d.maxPhysBits).toBe(46);           // CONFIG_MAX_PHYSMEM_BITS default
    expect(d.hasSpecial).toBe(true);          // select ARCH_HAS_PTE_SPECIAL
    expect(d.hasDevmap).toBe(false);          // never ARCH_HAS_PTE_DEVMAP
    // what new tables hold (crst_table_init, page_table_alloc) and what *_populate writes
    const empties: bigint[] = [], tmpl: bigint[] = [];
    for (const name of levels) {
      empties.push({ region1: _REGION1_ENTRY_EMPTY, region2: _REGION2_ENTRY_EMPTY, region3: _REGION3_ENTRY_EMPTY, segment: _SEGMENT_ENTRY_EMPTY, pte: _PAGE_INVALID }[name]);
      tmpl.push({ region1: _REGION1_ENTRY, region2: _REGION2_ENTRY, region3: _REGION3_ENTRY, segment: _SEGMENT_ENTRY, pte: 0n }[name]);
    }
    expect(d.levels.map((l) => l.empty)).toEqual(empties);
    expect(d.levels.slice(0, PTE).map((l) => l.tableTemplate)).toEqual(tmpl.slice(0, PTE));
  });

  it('decodes ptes built from the kernel macros', () => {
    const m = machine(variant);
    const ro = mk_pte(pfn, PAGE_RO);                                  // .01.xx0101.1: read-only, clean, young
    const cases: [string, bigint][] = [
      // pte_clear / page_table_alloc: _PAGE_INVALID
      ['pte_none (_PAGE_INVALID)', _PAGE_INVALID],
      // mk_pte(page, PAGE_RO): mk_pte_phys ends with pte_mkyoung
      ['mk_pte(PAGE_RO)', ro],
      // do_anonymous_page: pte_mkwrite(pte_mkdirty(mk_pte(page, vma->vm_page_prot))): .00.xx1111.1
      ['pte_mkwrite(pte_mkdirty(mk_pte(PAGE_RO)))', pte_mkwrite_novma(pte_mkdirty(ro))],
      // pte_mkwrite on a clean pte keeps PROTECT: .01.xx1101.1, read-write, clean, young
      ['pte_mkwrite(mk_pte(PAGE_RO))', pte_mkwrite_novma(ro)],
      // shared writable: protection_map[VM_SHARED|VM_READ|VM_WRITE] = PAGE_RW
      ['mk_pte(PAGE_RW)', mk_pte(pfn, PAGE_RW)],
      ['pte_mkold(mk_pte(PAGE_RO))', pte_mkold(ro)],
      // PROT_NONE: pfn_pte(pfn, PAGE_NONE) (young, INVALID stays: READ clear) and the bare PAGE_NONE
      ['pfn_pte(PAGE_NONE)', pfn_pte(pfn, PAGE_NONE)],
      ['PAGE_NONE, old', (pfn << 12n) | PAGE_NONE],
      // do_anonymous_page read fault: pte_mkspecial(pfn_pte(my_zero_pfn(addr), vma->vm_page_prot))
      ['zero page', pte_mkspecial(pfn_pte(pfn, PAGE_RO))],
      // remap_pfn_range on a shared mapping: pte_mkspecial(pfn_pte(pfn, PAGE_RW))
      ['remap_pfn_range (PAGE_RW)', pte_mkspecial(pfn_pte(pfn, PAGE_RW))],
      // pte_swap: (pte & 0x201) == 0x200, not present, not none
      ['mk_swap_pte(0, 0x1234)', mk_swap_pte(0n, 0x1234n)],
    ];
    // the kernel's answer, from the helpers above
    const kernel = (v: bigint): EntryFlags => {
      const present = !pte_none(v) && pte_present(v);
      return {
        present, table: false, leaf: present, write: pte_write(v), user: false, young: pte_young(v),
        dirty: pte_dirty(v), special: pte_special(v), devmap: false, protnone: pte_protnone(v),
      };
    };
    // (the swap entry's reading, EntryFlags.swap, is checked below and in swap-entries.test.ts)
    const got = Object.fromEntries(cases.map(([name, v]) => {
      const { swap: _swap, ...f } = m.decode(v, PTE);
      return [name, f];
    }));
    expect(got).toEqual(Object.fromEntries(cases.map(([name, v]) => [name, kernel(v)])));
    // pte_swap's entry is is_swap_pte: __swp_type 0, __swp_offset 0x1234
    expect(m.decode(mk_swap_pte(0n, 0x1234n), PTE).swap).toMatchObject({ type: 0, offset: 0x1234n, stray: 0n });
    expect(cases.filter(([, v]) => m.decode(v, PTE).swap !== undefined).map(([n]) => n)).toEqual(['mk_swap_pte(0, 0x1234)']);
    // and spelled out, so a wrong helper above cannot hide a wrong answer
    expect(got).toEqual({
      'pte_none (_PAGE_INVALID)': flags(''),
      'mk_pte(PAGE_RO)': flags('present leaf young'),
      'pte_mkwrite(pte_mkdirty(mk_pte(PAGE_RO)))': flags('present leaf write young dirty'),
      'pte_mkwrite(mk_pte(PAGE_RO))': flags('present leaf write young'),
      'mk_pte(PAGE_RW)': flags('present leaf write young'),
      'pte_mkold(mk_pte(PAGE_RO))': flags('present leaf'),
      'pfn_pte(PAGE_NONE)': flags('present leaf young protnone'),
      'PAGE_NONE, old': flags('present leaf protnone'),
      'zero page': flags('present leaf young special'),
      'remap_pfn_range (PAGE_RW)': flags('present leaf write young special'),
      'mk_swap_pte(0, 0x1234)': flags(''),
    });
    // the values themselves, against the bit table in pgtable.h
    expect(ro & 0xfffn).toBe(0x315n);
    expect(pte_mkwrite_novma(pte_mkdirty(ro)) & 0xfffn).toBe(0x13fn);
  });

  it('decodes segment entries: tables, 1 MiB leaves, PROT_NONE, invalidated, bad', () => {
    const m = machine(variant);
    const ro = mk_huge_pmd(segPfn, PAGE_RO);
    const cases: Record<string, [bigint, EntryFlags]> = {
      // pmd_none: _SEGMENT_ENTRY_EMPTY
      empty: [_SEGMENT_ENTRY_EMPTY, flags('')],
      // pmd_populate: _SEGMENT_ENTRY | __pa(pte). pmd_young / pmd_dirty read bits 0x1000 /
      // 0x2000, origin bits in a table entry: this origin has them clear
      table: [pmd_populate(tablePa), flags('present table')],
      // mk_huge_pmd(page, PAGE_RO) = pmd_mkhuge(mk_pmd()): read-only, clean, young
      'mk_huge_pmd(PAGE_RO)': [ro, flags('present leaf young')],
      // __do_huge_pmd_anonymous_page: maybe_pmd_mkwrite(pmd_mkdirty(mk_huge_pmd()))
      'THP anon': [thpAnon(segPfn), flags('present leaf write young dirty')],
      // hugetlb 1 MiB: set_huge_pte_at(make_huge_pte(writable))
      'hugetlb 1 MiB': [hugetlb(false, segPfn, PAGE_RO, true), flags('present leaf write young dirty')],
      // NUMA hinting / PROT_NONE: pmd_protnone = pmd_leaf && !_SEGMENT_ENTRY_READ
      'mk_huge_pmd(PAGE_NONE)': [mk_huge_pmd(segPfn, PAGE_NONE), flags('present leaf young protnone')],
      // pmdp_invalidate sets INVALID on a leaf: still pmd_present, pmd_leaf
      pmdp_invalidate: [pmdp_invalidate(thpAnon(segPfn)), flags('present leaf write young dirty')],
      'pmd_mkold(THP)': [pmd_mkold(thpAnon(segPfn)), flags('present leaf write dirty')],
      // pmd_bad: a type other than 00 (here R3's) in a segment entry
      'pmd_bad (type R3)': [pmd_populate(tablePa) | _REGION_ENTRY_TYPE_R3, flags('present')],
    };
    expect(Object.fromEntries(Object.entries(cases).map(([k, [v]]) => [k, m.decode(v, SEG)])))
      .toEqual(Object.fromEntries(Object.entries(cases).map(([k, [, f]]) => [k, f])));
    // the two kernel paths to a read-write 1 MiB leaf build the same entry
    expect(thpAnon(segPfn)).toBe(hugetlb(false, segPfn, PAGE_RO, true));
    expect(thpAnon(segPfn) & 0xfffffn).toBe(0x7503n);
    expect(ro & 0xfffffn).toBe(0x1701n);
    expect(pmd_present(ro) && pmd_leaf(ro)).toBe(true);
  });

  it('decodes region entries: region-third tables and 2 GiB leaves, region-second, region-first', () => {
    const m = machine(variant);
    const rw = hugetlb(true, r3Pfn, PAGE_RO, true);
    const cases: [string, number, bigint, EntryFlags][] = [
      // pud_none: _REGION3_ENTRY_EMPTY
      ['region3 empty', R3, _REGION3_ENTRY_EMPTY, flags('')],
      // pud_populate: _REGION3_ENTRY | __pa(pmd). pud_write reads 0x2, which in a table
      // entry is part of _REGION_ENTRY_LENGTH (0x3): the helper says "write"
      ['region3 table', R3, pud_populate(tablePa), flags('present table write')],
      // hugetlb 2 GiB, write fault: set_huge_pte_at(make_huge_pte(writable)) into a region-third entry
      ['region3 2 GiB rw', R3, rw, flags('present leaf write young dirty')],
      ['region3 2 GiB ro', R3, hugetlb(true, r3Pfn, PAGE_RO, false), flags('present leaf young')],
      // PROT_NONE hugetlb: no pud_protnone, gup_fast_pud_leaf does not ask
      ['region3 2 GiB PAGE_NONE', R3, hugetlb(true, r3Pfn, PAGE_NONE, false), flags('present leaf young')],
      // pud_present is "origin != 0": an old, clean 2 GiB leaf of frame 0 is not present
      ['region3 2 GiB at pa 0, old', R3, viaPte(pte_mkold)(hugetlb(true, 0n, PAGE_RO, false)), flags('')],
      // pud_bad: a bit outside _REGION_ENTRY_BITS (0x100) in a table entry
      ['region3 bad', R3, pud_populate(tablePa) | 0x100n, flags('present write')],
    ];
    for (const [k, l, v, f] of upperRegionCases(R1, R2, tablePa)) cases.push([k, l, v, flags(f)]);
    const got = Object.fromEntries(cases.map(([k, l, v]) => [k, m.decode(v, l)]));
    expect(got).toEqual(Object.fromEntries(cases.map(([k, , , f]) => [k, f])));
    expect(rw & 0x7fff_ffffn).toBe(0x7507n);
  });

  it('compiles the entry transformations exactly as the kernel helpers do them', () => {
    const d = machine(variant).desc;
    const ro = mk_pte(pfn, PAGE_RO);
    const thp = thpAnon(segPfn);
    const r3 = hugetlb(true, r3Pfn, PAGE_RO, true);
    const id = (p: bigint) => p;
    const perLevel: OpsByLevel = {
      [PTE]: {
        inputs: [ro, pte_mkwrite_novma(ro), pte_mkdirty(ro), pte_mkwrite_novma(pte_mkdirty(ro)), mk_pte(pfn, PAGE_RW),
          pfn_pte(pfn, PAGE_NONE), pte_mkold(ro), (pfn << 12n) | PAGE_RO],
        fns: {
          mkwrite: pte_mkwrite_novma, wrprotect: pte_wrprotect, mkdirty: pte_mkdirty, mkclean: pte_mkclean,
          mkyoung: pte_mkyoung, mkold: pte_mkold, mkspecial: pte_mkspecial, mkdevmap: id,
        },
      },
      [SEG]: {
        inputs: [mk_huge_pmd(segPfn, PAGE_RO), thp, pmd_wrprotect(thp), pmd_mkold(thp), mk_huge_pmd(segPfn, PAGE_NONE),
          mk_huge_pmd(segPfn, PAGE_RW), pmdp_invalidate(thp), pmd_mkclean(thp)],
        fns: {
          mkwrite: pmd_mkwrite_novma, wrprotect: pmd_wrprotect, mkdirty: pmd_mkdirty, mkclean: pmd_mkclean,
          mkyoung: pmd_mkyoung, mkold: pmd_mkold,
          mkspecial: id,        // pmd_mkspecial: identity without ARCH_SUPPORTS_PMD_PFNMAP (include/linux/mm.h)
          mkdevmap: id,
          mkhuge: pmd_mkhuge,   // on a segment entry
        },
      },
      [R3]: {
        inputs: [hugetlb(true, r3Pfn, PAGE_RO, false), r3, pud_wrprotect(r3), viaPte(pte_mkold)(r3), pud_mkclean(r3),
          hugetlb(true, r3Pfn, PAGE_NONE, false), set_huge_pte_at(true, mk_pte(r3Pfn, PAGE_RW))],
        fns: {
          mkwrite: pud_mkwrite, wrprotect: pud_wrprotect, mkdirty: pud_mkdirty, mkclean: pud_mkclean,
          // no pud_mkyoung / pud_mkold: hugetlb goes through huge_ptep_get and set_huge_pte_at
          mkyoung: viaPte(pte_mkyoung), mkold: viaPte(pte_mkold),
          mkspecial: id,        // pud_mkspecial: identity without ARCH_SUPPORTS_PUD_PFNMAP
          mkdevmap: id,
          // (no pud_mkhuge on s390: mkhuge is checked through the templates below)
        },
      },
    };
    expect(opsDiffering(d, perLevel)).toEqual([]);
  });

  it('derives the leaf templates and prots the kernel builds', () => {
    const d = machine(variant).desc;
    const t = (i: number) => d.levels[i].templates;
    const p = (i: number) => d.levels[i].prots;
    expect({
      pte: { ro: t(PTE).ro, rw: t(PTE).rw, specialRo: t(PTE).specialRo, specialRw: t(PTE).specialRw },
      pteProts: p(PTE),
      seg: { ro: t(SEG).ro, rw: t(SEG).rw, specialRo: t(SEG).specialRo },
      segProts: p(SEG),
      r3: { ro: t(R3).ro, rw: t(R3).rw, specialRo: t(R3).specialRo },
      r3Prots: p(R3),
    }).toEqual({
      pte: {
        ro: mk_pte(0n, PAGE_RO),                                       // mk_pte(page, vma->vm_page_prot)
        rw: pte_mkwrite_novma(pte_mkdirty(mk_pte(0n, PAGE_RO))),       // do_anonymous_page
        specialRo: pte_mkspecial(pfn_pte(0n, PAGE_RO)),                // zero page
        specialRw: pte_mkspecial(pfn_pte(0n, PAGE_RW)),                // remap_pfn_range, shared
      },
      pteProts: { none: pfn_pte(0n, PAGE_NONE), readonly: pfn_pte(0n, PAGE_RO), copy: pfn_pte(0n, PAGE_RO), shared: pfn_pte(0n, PAGE_RW) },
      seg: {
        ro: mk_huge_pmd(0n, PAGE_RO),
        rw: thpAnon(0n),
        specialRo: mk_huge_pmd(0n, PAGE_RO),                           // no pmd_mkspecial: the plain leaf
      },
      segProts: { none: mk_huge_pmd(0n, PAGE_NONE), readonly: mk_huge_pmd(0n, PAGE_RO), copy: mk_huge_pmd(0n, PAGE_RO), shared: mk_huge_pmd(0n, PAGE_RW) },
      r3: {
        ro: hugetlb(true, 0n, PAGE_RO, false),                         // hugetlb_no_page, read fault
        rw: hugetlb(true, 0n, PAGE_RO, true),                          // hugetlb_no_page / hugetlb_wp, write
        specialRo: hugetlb(true, 0n, PAGE_RO, false),
      },
      r3Prots: {
        none: set_huge_pte_at(true, mk_pte(0n, PAGE_NONE)), readonly: set_huge_pte_at(true, mk_pte(0n, PAGE_RO)),
        copy: set_huge_pte_at(true, mk_pte(0n, PAGE_RO)), shared: set_huge_pte_at(true, mk_pte(0n, PAGE_RW)),
      },
    });
    // the 1 MiB templates are also what the hugetlb path writes into a segment entry
    expect(t(SEG).ro).toBe(hugetlb(false, 0n, PAGE_RO, false));
    expect(t(SEG).rw).toBe(hugetlb(false, 0n, PAGE_RO, true));
  });

  it('walks a hand-built big-endian table tree (walkRaw)', () => {
    const m = machine(variant);
    const d = m.desc;
    const base = 0x10_0000n;                                          // inside the 4 MiB pool
    const tableAt = (i: number) => base + BigInt(i) * 0x4000n;         // 16 KiB apart: CRSTs 16 KiB-, the pte table 2 KiB-aligned
    const idx = (va: bigint, i: number) => Number((va >> BigInt(d.levels[i].shift)) & ((1n << BigInt(d.levels[i].indexBits)) - 1n));
    const tables = d.levels.map((l) => new Array<bigint>(1 << l.indexBits).fill(l.empty));
    // every index 1 and up, so a byte-order mistake cannot land on entry 0
    let vaPage = 0x123n;
    d.levels.forEach((l, i) => { vaPage += BigInt(i + 1) << BigInt(l.shift); });
    const populate = [pgd_populate, p4d_populate, pud_populate, pmd_populate].slice(4 - (n - 1));
    for (let i = 0; i < n - 1; i++) tables[i][idx(vaPage, i)] = populate[i](tableAt(i + 1));
    const vaNone = vaPage + 0x1000n, vaEmpty = vaPage + 0x2000n;
    const vaSeg = vaPage + MiB, vaSegEmpty = vaPage + 2n * MiB, vaSegBad = vaPage + 3n * MiB;
    const vaR3 = vaPage + 2n * GiB;
    tables[PTE][idx(vaPage, PTE)] = mk_pte(pfn, PAGE_RO);
    tables[PTE][idx(vaNone, PTE)] = pfn_pte(pfn + 1n, PAGE_NONE);
    tables[SEG][idx(vaSeg, SEG)] = thpAnon(segPfn);
    tables[SEG][idx(vaSegBad, SEG)] = pmd_populate(tableAt(PTE)) | _REGION_ENTRY_TYPE_R3;   // pmd_bad
    tables[R3][idx(vaR3, R3)] = hugetlb(true, r3Pfn, PAGE_RO, true);
    tables.forEach((t, i) => m.writePhys(tableAt(i), m.entryBytes(t)));
    // entryBytes is big-endian: the low byte of an entry is its last byte in memory
    expect([...m.readPhys(tableAt(PTE) + BigInt(idx(vaEmpty, PTE)) * 8n, 8)]).toEqual([0, 0, 0, 0, 0, 0, 4, 0]);

    const summary = (va: bigint) => {
      const r = m.walkRaw(tableAt(0), va);
      return { level: r.levelName, status: r.status, pa: r.pa, size: r.size, write: r.flags.write, protnone: r.flags.protnone };
    };
    const off = (va: bigint, s: bigint) => va & (s - 1n);
    expect({
      page: summary(vaPage), protnone: summary(vaNone), empty: summary(vaEmpty),
      seg: summary(vaSeg + 0x4567n), segEmpty: summary(vaSegEmpty), segBad: summary(vaSegBad), r3: summary(vaR3 + 0x1234_5678n),
    }).toEqual({
      page: { level: 'pte', status: 'ok', pa: (pfn << 12n) + off(vaPage, 4096n), size: 4096n, write: false, protnone: false },
      // a PROT_NONE pte is present and a leaf (pte_present, pte_protnone)
      protnone: { level: 'pte', status: 'ok', pa: ((pfn + 1n) << 12n) + off(vaNone, 4096n), size: 4096n, write: false, protnone: true },
      empty: { level: 'pte', status: 'none', pa: undefined, size: undefined, write: false, protnone: false },
      seg: { level: 'segment', status: 'ok', pa: (segPfn << 12n) + off(vaSeg + 0x4567n, MiB), size: MiB, write: true, protnone: false },
      segEmpty: { level: 'segment', status: 'none', pa: undefined, size: undefined, write: false, protnone: false },
      segBad: { level: 'segment', status: 'bad', pa: undefined, size: undefined, write: false, protnone: false },
      r3: { level: 'region3', status: 'ok', pa: (r3Pfn << 12n) + off(vaR3 + 0x1234_5678n, 2n * GiB), size: 2n * GiB, write: true, protnone: false },
    });
  });
});

// ---------------------------------------------------------------- end to end
describe.each(S390_END_TO_END)('s390/$variant end to end: $leaf', (c) => {
  it('maps kernel-shaped entries, pins, unpins, zaps, and leaves nothing behind', () => {
    // what the kernel writes: populate faults for write
    s390EndToEnd(c, undefined, (pfn) => {
      if (c.order === 0) return pte_mkwrite_novma(pte_mkdirty(mk_pte(pfn, PAGE_RO)));   // do_anonymous_page
      if (c.kind === 'anon') return thpAnon(pfn);                                        // __do_huge_pmd_anonymous_page
      return hugetlb(c.order === 19, pfn, PAGE_RO, true);                                // hugetlb_no_page, write fault
    }, flags('present leaf write young dirty'));
  });
});
