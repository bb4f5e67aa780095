// ppc64 Book3S-64 radix (64K and 4K pages): entries built with the kernel's
// own macros (v6.12 arch/powerpc/include/asm/book3s/64/pgtable.h, radix.h,
// radix-64k.h, radix-4k.h, pgalloc.h, asm/pgtable-masks.h,
// arch/powerpc/mm/book3s64/pgtable.c) decoded by pgtemu as the kernel's
// helpers judge them; a hand-built big-endian table tree walked; and a map /
// pin / unpin / zap round trip for base pages, a 2 MiB leaf and a 1 GiB leaf.
import { describe, expect, it } from 'vitest';
import { Machine, type EntryFlags } from '../../src/index.js';
import { applyOp } from '../../src/host/archdesc.js';
import { leafCycle, leafCycleWant } from '../helpers/pin-cycle.js';
import { devmapByKernel } from '../helpers/machines.js';

const MiB = 1n << 20n;
const GiB = 1n << 30n;

// ---------------------------------------------------------------- the kernel's macros
// book3s/64/pgtable.h
const _PAGE_EXEC = 0x00001n;
const _PAGE_WRITE = 0x00002n;
const _PAGE_READ = 0x00004n;
const _PAGE_PRIVILEGED = 0x00008n;
const _PAGE_DIRTY = 0x00080n;
const _PAGE_ACCESSED = 0x00100n;
const _RPAGE_RSV1 = 0x00040n;
const _PAGE_SOFT_DIRTY = 0x00200n;               // _RPAGE_SW3
const _PAGE_SPECIAL = 0x00400n;                  // _RPAGE_SW2
const _PAGE_DEVMAP = 0x00800n;                   // _RPAGE_SW1
const _PAGE_INVALID = 0x2000000000000000n;       // _RPAGE_SW0
const _PAGE_PTE = 0x4000000000000000n;
const _PAGE_PRESENT = 0x8000000000000000n;
const _PAGE_PA_MAX = 53n;
const _PAGE_RW = _PAGE_READ | _PAGE_WRITE;       // pgtable-masks.h
const _PAGE_BASE = _PAGE_PRESENT | _PAGE_ACCESSED;
// pgtable-masks.h (_PAGE_NA = 0, _PAGE_RO = _PAGE_READ)
const PAGE_NONE = _PAGE_BASE;
const PAGE_READONLY = _PAGE_BASE | _PAGE_READ;
const PAGE_COPY = _PAGE_BASE | _PAGE_READ;
const PAGE_SHARED = _PAGE_BASE | _PAGE_RW;
// pgtable.h: PAGE_KERNEL = _PAGE_BASE | _PAGE_KERNEL_RW (_PAGE_PRIVILEGED | _PAGE_RW | _PAGE_DIRTY)
const PAGE_KERNEL = _PAGE_BASE | _PAGE_PRIVILEGED | _PAGE_RW | _PAGE_DIRTY;
// radix.h
const RADIX_PMD_BAD_BITS = 0x60000000000000e0n;
// pgtable.h: PMD_MASKED_BITS = PUD_MASKED_BITS = P4D_MASKED_BITS
const TABLE_ADDR = ~0xc0000000000000ffn & ((1n << 64n) - 1n);

/** The macros that depend on PAGE_SHIFT and RADIX_PTE_INDEX_SIZE. */
function kernel(pageShift: bigint, pteIndexSize: bigint) {
  const PTE_RPN_MASK = ((1n << _PAGE_PA_MAX) - 1n) & ~((1n << pageShift) - 1n);
  return {
    PTE_RPN_MASK,
    // pfn_pte (book3s/64/pgtable.h): (pfn << PAGE_SHIFT) | pgprot | _PAGE_PTE
    pfn_pte: (pfn: bigint, prot: bigint) => (pfn << pageShift) | prot | _PAGE_PTE,
    // pfn_pmd / pfn_pud (mm/book3s64/pgtable.c): ((pfn << PAGE_SHIFT) & PTE_RPN_MASK) | pgprot,
    // then __pmd_mkhuge / __pud_mkhuge = radix__pmd_mkhuge: | _PAGE_PTE
    pfn_pmd: (pfn: bigint, prot: bigint) => ((pfn << pageShift) & PTE_RPN_MASK) | prot | _PAGE_PTE,
    // __swp_entry(type, offset) = type | ((offset << PAGE_SHIFT) & PTE_RPN_MASK); __swp_entry_to_pte: | _PAGE_PTE
    swp_pte: (type: bigint, offset: bigint) => type | ((offset << pageShift) & PTE_RPN_MASK) | _PAGE_PTE,
    // radix.h RADIX_PMD_VAL_BITS (NLS = RADIX_PTE_INDEX_SIZE), RADIX_PUD_VAL_BITS, RADIX_PGD_VAL_BITS (NLS 9)
    RADIX_PMD_VAL_BITS: 0x8000000000000000n | pteIndexSize,
    RADIX_PUD_VAL_BITS: 0x8000000000000000n | 9n,
    RADIX_PGD_VAL_BITS: 0x8000000000000000n | 9n,
  };
}
const pte_mkwrite_novma = (e: bigint) => e | _PAGE_RW;                 // "write implies read"
const pte_wrprotect = (e: bigint) => e & ~_PAGE_WRITE;
const pte_mkdirty = (e: bigint) => e | _PAGE_DIRTY | _PAGE_SOFT_DIRTY;
const pte_mkclean = (e: bigint) => e & ~_PAGE_DIRTY;
const pte_mkold = (e: bigint) => e & ~_PAGE_ACCESSED;
const pte_mkspecial = (e: bigint) => e | _PAGE_SPECIAL;
const pte_mkdevmap = (e: bigint) => e | _PAGE_SPECIAL | _PAGE_DEVMAP;
const radix__pmd_mkdevmap = (e: bigint) => e | _PAGE_PTE | _PAGE_DEVMAP;   // pud the same
// pmdp_invalidate / pudp_invalidate (mm/book3s64/pgtable.c), ptep_modify_prot_start,
// radix__ptep_set_access_flags: clear _PAGE_PRESENT, set _PAGE_INVALID
const invalidate = (e: bigint) => (e & ~_PAGE_PRESENT) | _PAGE_INVALID;

const VARIANTS = [
  { variant: 'radix-64k', pageShift: 16n, pteIndexSize: 5n },   // radix-64k.h
  { variant: 'radix-4k', pageShift: 12n, pteIndexSize: 9n },    // radix-4k.h
] as const;
const PGD = 0, PUD = 1, PMD = 2, PTE = 3;

type Flags = Partial<EntryFlags>;
const LEAF_RO: Flags = {
  present: true, leaf: true, table: false, write: false, dirty: false, young: true, user: true,
  special: false, devmap: false, protnone: false,
};
const TABLE: Flags = { present: true, table: true, leaf: false, devmap: false };
const ABSENT: Flags = { present: false, table: false, leaf: false };

function machine(variant: string, kernelVersion = 'v6.12', ramMiB = 64): Machine {
  return Machine.createSync({ arch: 'ppc64', variant, kernel: kernelVersion, ramMiB, tablePoolMiB: 4 });
}
/** pte_val(): entries are __be64 in memory (asm/pgtable-be-types.h). */
function readBE(m: Machine, pa: bigint): bigint {
  return new DataView(m.readPhys(pa, 8).buffer).getBigUint64(0, false);
}

describe.each(VARIANTS)('ppc64 $variant', ({ variant, pageShift, pteIndexSize }) => {
  const k = kernel(pageShift, pteIndexSize);
  const PA = 0x1234_0000n;                 // any page (64K and 4K aligned)
  const PA_2M = 0x2460_0000n;              // PMD_SIZE aligned
  const PA_1G = 3n * GiB;                  // PUD_SIZE aligned
  const pfn = (pa: bigint) => pa >> pageShift;

  it('has the geometry of radix-64k.h / radix-4k.h', () => {
    const m = machine(variant);
    const d = m.desc;
    expect({
      pageShift: d.pageShift, vaBits: d.vaBits, userVaBits: d.userVaBits, bigEndian: d.bigEndian,
      maxPhysBits: d.maxPhysBits, sectionSizeBits: d.sectionSizeBits,
      levels: d.levels.map((l) => [l.name, l.shift, l.indexBits, l.tableBytes, l.leafOk, l.tableTemplate]),
      pfnMask: d.levels[PTE].leafAddr.mask,
    }).toEqual({
      pageShift: Number(pageShift),
      vaBits: 52,                                         // RADIX_PGTABLE_EADDR_SIZE
      userVaBits: pageShift === 16n ? 52 : 46,            // TASK_SIZE_USER64: 4 PB / 64 TB (task_size_64.h)
      bigEndian: true,
      maxPhysBits: 51,                                    // R_MAX_PHYSMEM_BITS (SPARSEMEM_VMEMMAP + _EXTREME)
      sectionSizeBits: 24,                                // sparsemem.h
      levels: [
        ['pgd', 39, 13, 65536, false, k.RADIX_PGD_VAL_BITS],          // RADIX_PGD_TABLE_SIZE 64 KB
        ['pud', 30, 9, 4096, true, k.RADIX_PUD_VAL_BITS],
        ['pmd', 21, 9, 4096, true, k.RADIX_PMD_VAL_BITS],
        ['pte', Number(pageShift), Number(pteIndexSize), 8 << Number(pteIndexSize), true, _PAGE_PRESENT],
      ],
      pfnMask: k.PTE_RPN_MASK,
    });
  });

  it('decodes entries built by the kernel macros as the kernel helpers do', () => {
    const m = machine(variant);
    const rw = pte_mkwrite_novma(pte_mkdirty(k.pfn_pte(pfn(PA), PAGE_COPY)));
    const thp = k.pfn_pmd(pfn(PA_2M), PAGE_READONLY);
    const cases: [string, number, bigint, Flags][] = [
      // ---- pte level (pgtable.h pte_present, pte_user, pte_write, pte_dirty, pte_young,
      // pte_special, pte_devmap, pte_protnone; radix.h radix__pte_none)
      ['present user read-only: pfn_pte(pfn, PAGE_READONLY)', PTE, k.pfn_pte(pfn(PA), PAGE_READONLY), LEAF_RO],
      ['do_anonymous_page: pte_mkwrite_novma(pte_mkdirty(pfn_pte(pfn, PAGE_COPY)))', PTE, rw, { ...LEAF_RO, write: true, dirty: true }],
      ['pte_wrprotect keeps dirty', PTE, pte_wrprotect(rw), { ...LEAF_RO, dirty: true }],
      ['pte_mkold(pte_mkclean(..)): SOFT_DIRTY is not pte_dirty', PTE, pte_mkold(pte_mkclean(rw)), { ...LEAF_RO, write: true, young: false }],
      ['pfn_pte(pfn, PAGE_SHARED)', PTE, k.pfn_pte(pfn(PA), PAGE_SHARED), { ...LEAF_RO, write: true }],
      // PAGE_NONE has no R/W/X: (val & (PRESENT|PTE|RWX)) == (PRESENT|PTE)
      ['PROT_NONE: pfn_pte(pfn, PAGE_NONE)', PTE, k.pfn_pte(pfn(PA), PAGE_NONE), { ...LEAF_RO, protnone: true }],
      ['exec-only: pfn_pte(pfn, PAGE_BASE | _PAGE_EXEC) is not protnone', PTE, k.pfn_pte(pfn(PA), _PAGE_BASE | _PAGE_EXEC), { ...LEAF_RO, protnone: false }],
      ['kernel mapping: pfn_pte(pfn, PAGE_KERNEL): PRIVILEGED, not user', PTE, k.pfn_pte(pfn(PA), PAGE_KERNEL), { ...LEAF_RO, user: false, write: true, dirty: true }],
      ['zero page: pte_mkspecial(pfn_pte(zero_pfn, PAGE_READONLY))', PTE, pte_mkspecial(k.pfn_pte(pfn(PA), PAGE_READONLY)), { ...LEAF_RO, special: true }],
      // pte_mkdevmap sets _PAGE_SPECIAL | _PAGE_DEVMAP
      ['pte_mkdevmap(pfn_pte(pfn, PAGE_SHARED))', PTE, pte_mkdevmap(k.pfn_pte(pfn(PA), PAGE_SHARED)), { ...LEAF_RO, write: true, special: true, devmap: true }],
      // pte_present: _PAGE_INVALID | _PAGE_PTE is present (ptep_modify_prot_start)
      ['invalidated pte: PRESENT clear, INVALID set', PTE, invalidate(k.pfn_pte(pfn(PA), PAGE_READONLY)), { ...LEAF_RO, present: true }],
      ['swap pte: __swp_entry_to_pte(__swp_entry(3, 0x1234))', PTE, k.swp_pte(3n, 0x1234n), { present: false, protnone: false, devmap: false }],
      ['pte_none: 0', PTE, 0n, ABSENT],
      ['pte_none: R and C written back into an empty pte (RADIX_PTE_NONE_MASK)', PTE, _PAGE_DIRTY | _PAGE_ACCESSED, ABSENT],
      // ---- pmd level (pmd_present, pmd_leaf, radix__pmd_bad, pmd_devmap = pte_devmap(pmd_pte))
      ['pmd_populate: __pa(pte frag) | RADIX_PMD_VAL_BITS', PMD, 0x0011_2000n | k.RADIX_PMD_VAL_BITS, TABLE],
      ['THP: pfn_pmd(pfn, PAGE_READONLY) (__pmd_mkhuge sets _PAGE_PTE)', PMD, thp, LEAF_RO],
      ['THP write fault: pmd_mkwrite_novma(pmd_mkdirty(pfn_pmd(pfn, PAGE_COPY)))', PMD,
        pte_mkwrite_novma(pte_mkdirty(k.pfn_pmd(pfn(PA_2M), PAGE_COPY))), { ...LEAF_RO, write: true, dirty: true }],
      ['NUMA hint: pfn_pmd(pfn, PAGE_NONE)', PMD, k.pfn_pmd(pfn(PA_2M), PAGE_NONE), { ...LEAF_RO, protnone: true }],
      // pmd_present: PRESENT or INVALID (a THP being split)
      ['pmdp_invalidate(THP)', PMD, invalidate(thp), { present: true, leaf: true, table: false }],
      // radix__pmd_mkdevmap sets _PAGE_PTE | _PAGE_DEVMAP, not _PAGE_SPECIAL; pmd_special is the generic false
      ['pmd_mkdevmap(pfn_pmd(pfn, PAGE_SHARED))', PMD, radix__pmd_mkdevmap(k.pfn_pmd(pfn(PA_2M), PAGE_SHARED)), { ...LEAF_RO, write: true, devmap: true, special: false }],
      ['_PAGE_SPECIAL in a pmd: pmd_special() is the generic false', PMD, pte_mkspecial(thp), { ...LEAF_RO, special: false }],
      ['pmd_bad: a directory entry with _RPAGE_RSV1 (RADIX_PMD_BAD_BITS)', PMD, 0x0011_2000n | k.RADIX_PMD_VAL_BITS | _RPAGE_RSV1, { present: true, table: false, leaf: false }],
      ['pmd_none: 0', PMD, 0n, ABSENT],
      // ---- pud level (pud_present = PRESENT only, pud_leaf = _PAGE_PTE)
      ['pud_populate: __pa(pmd) | RADIX_PUD_VAL_BITS', PUD, 0x0011_1000n | k.RADIX_PUD_VAL_BITS, TABLE],
      ['hugetlb 1 GiB: pfn_pud(pfn, PAGE_READONLY)', PUD, k.pfn_pmd(pfn(PA_1G), PAGE_READONLY), LEAF_RO],
      ['pud_mkdevmap(pfn_pud(pfn, PAGE_SHARED))', PUD, radix__pmd_mkdevmap(k.pfn_pmd(pfn(PA_1G), PAGE_SHARED)), { ...LEAF_RO, write: true, devmap: true }],
      ['pudp_invalidate: pud_present looks at _PAGE_PRESENT only', PUD, invalidate(k.pfn_pmd(pfn(PA_1G), PAGE_READONLY)), { present: false, leaf: false }],
      ['pud_none: 0', PUD, 0n, ABSENT],
      // ---- pgd level, folded p4d (p4d_present, radix__p4d_bad; p4d_leaf and pgd_devmap are false)
      ['p4d_populate: __pa(pud) | RADIX_PGD_VAL_BITS', PGD, 0x0011_0000n | k.RADIX_PGD_VAL_BITS, TABLE],
      ['pgd: _PAGE_PTE makes no p4d leaf', PGD, k.pfn_pmd(pfn(PA_1G), PAGE_READONLY), { present: true, leaf: false, table: false }],
      ['pgd: 0', PGD, 0n, ABSENT],
    ];
    if (pageShift === 16n) {
      // A 256-byte pte fragment at offset 0x800 of its page: the pmd entry carries
      // 0x800 = _PAGE_DEVMAP as an address bit, which is why pte_devmap() also
      // demands _PAGE_PTE (comment at pte_devmap, book3s/64/pgtable.h).
      cases.push(['pmd_populate of a pte fragment at offset 0x800: not devmap', PMD, 0x0011_2800n | k.RADIX_PMD_VAL_BITS, TABLE]);
    }
    const got = cases.map(([what, l, v, want]) => {
      const d = m.decode(v, l) as unknown as Record<string, boolean>;
      return [what, Object.fromEntries(Object.keys(want).map((key) => [key, d[key]]))];
    });
    expect(got).toEqual(cases.map(([what, , , want]) => [what, want]));
    // the raw values, spelled out once (book3s/64/pgtable.h masks)
    expect([k.pfn_pte(pfn(PA), PAGE_READONLY), rw, k.pfn_pte(pfn(PA), PAGE_NONE), radix__pmd_mkdevmap(thp)]).toEqual([
      0xc000_0000_1234_0104n, 0xc000_0000_1234_0386n, 0xc000_0000_1234_0100n, 0xc000_0000_2460_0904n,
    ]);
    expect(RADIX_PMD_BAD_BITS & k.RADIX_PMD_VAL_BITS).toBe(0n);
  });

  it('has the devmap bit in v4.13..v6.16 only: v6.12 yes, v6.17 no', () => {
    const pte = pte_mkdevmap(k.pfn_pte(pfn(PA), PAGE_SHARED));
    const pmd = radix__pmd_mkdevmap(k.pfn_pmd(pfn(PA_2M), PAGE_SHARED));
    const pud = radix__pmd_mkdevmap(k.pfn_pmd(pfn(PA_1G), PAGE_SHARED));
    const got = devmapByKernel((kv) => machine(variant, kv), (m) => {
      const t = m.desc.levels[PTE].templates;
      return {
        pte: m.decode(pte, PTE).devmap, pmd: m.decode(pmd, PMD).devmap, pud: m.decode(pud, PUD).devmap,
        special: m.decode(pte, PTE).special,
        // the core's pte_mkdevmap(pfn_pte(0, PAGE_READONLY)) template
        devmapRo: t.devmapRo,
      };
    });
    const ro = _PAGE_PTE | PAGE_READONLY;
    expect(got).toEqual([
      // 6.1.y: pud_devmap() returns 0 (book3s/64/pgtable.h), no pud_mkdevmap
      { kernel: 'v6.0', bit: 11, pte: true, pmd: true, pud: false, special: true, devmapRo: ro | _PAGE_SPECIAL | _PAGE_DEVMAP },
      { kernel: 'v6.1', bit: 11, pte: true, pmd: true, pud: false, special: true, devmapRo: ro | _PAGE_SPECIAL | _PAGE_DEVMAP },
      { kernel: 'v6.12', bit: 11, pte: true, pmd: true, pud: true, special: true, devmapRo: ro | _PAGE_SPECIAL | _PAGE_DEVMAP },
      { kernel: 'v6.15', bit: 11, pte: true, pmd: true, pud: true, special: true, devmapRo: ro | _PAGE_SPECIAL | _PAGE_DEVMAP },
      // v6.17: no _PAGE_DEVMAP; the pte's _PAGE_SPECIAL still reads as special
      { kernel: 'v6.17', bit: -1, pte: false, pmd: false, pud: false, special: true, devmapRo: ro },
    ]);
  });

  it('walks a hand-built big-endian table tree', () => {
    const m = machine(variant);
    const lv = m.desc.levels;
    const pgd = 0x10_0000n;                        // 64 KB table, 64 KB aligned
    const pud = 0x11_0000n;                        // 4 KB
    const pmd = 0x11_1000n;                        // 4 KB
    // 64K pages: a 256-byte fragment at offset 0x800 of its page (pte_fragment_alloc hands
    // out RADIX_PTE_FRAG_NR = 256 of them per 64K page); 4K pages: a whole 4 KB page
    const pte = pageShift === 16n ? 0x11_2800n : 0x11_2000n;
    for (const [pa, l] of [[pgd, PGD], [pud, PUD], [pmd, PMD], [pte, PTE]] as const) {
      m.writePhys(pa, new Uint8Array(lv[l].tableBytes));
    }
    const idx = (l: number, va: bigint) => (va >> BigInt(lv[l].shift)) & ((1n << BigInt(lv[l].indexBits)) - 1n);
    const slot = (table: bigint, l: number, va: bigint) => table + idx(l, va) * 8n;
    const put = (table: bigint, l: number, va: bigint, e: bigint) => m.writePhys(slot(table, l, va), m.entryBytes([e]));
    const va = (3n << 39n) + (5n << 30n) + (7n << 21n) + (2n << pageShift);
    put(pgd, PGD, va, pud | k.RADIX_PGD_VAL_BITS);     // p4d_populate
    put(pud, PUD, va, pmd | k.RADIX_PUD_VAL_BITS);     // pud_populate
    put(pmd, PMD, va, pte | k.RADIX_PMD_VAL_BITS);     // pmd_populate
    const leaf = pte_mkwrite_novma(pte_mkdirty(k.pfn_pte(pfn(PA), PAGE_COPY)));
    put(pte, PTE, va, leaf);
    const vaThp = va + (1n << 21n);                    // next pmd entry: a THP
    put(pmd, PMD, vaThp, k.pfn_pmd(pfn(PA_2M), PAGE_READONLY));
    const vaPud = va + GiB;                            // next pud entry: a 1 GiB leaf
    put(pud, PUD, vaPud, k.pfn_pmd(pfn(PA_1G), PAGE_READONLY));
    const vaBad = va + (2n << 21n);                    // a pmd entry with RADIX_PMD_BAD_BITS
    put(pmd, PMD, vaBad, pte | k.RADIX_PMD_VAL_BITS | _RPAGE_RSV1);
    const vaNone = va + (1n << pageShift);             // the next pte: empty
    const w = (a: bigint) => {
      const r = m.walkRaw(pgd, a);
      return { level: r.levelName, status: r.status, pa: r.pa, size: r.size, entry: r.entry, entryPa: r.entryPa };
    };
    const be = (v: bigint) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, v, false); return b; };
    expect({
      walks: [w(va + 0x123n), w(vaThp + 0x4567n), w(vaPud + 0x89abcn), w(vaBad), w(vaNone)],
      // the bytes in memory are big-endian: _PAGE_PRESENT | _PAGE_PTE (0xc0) first
      rawLeaf: m.readPhys(slot(pte, PTE, va), 8),
      rawPmd: m.readPhys(slot(pmd, PMD, va), 8),
      entryBytes: m.entryBytes([leaf]),
    }).toEqual({
      walks: [
        { level: 'pte', status: 'ok', pa: PA + 0x123n, size: 1n << pageShift, entry: leaf, entryPa: slot(pte, PTE, va) },
        { level: 'pmd', status: 'ok', pa: PA_2M + (2n << pageShift) + 0x4567n, size: 2n * MiB, entry: k.pfn_pmd(pfn(PA_2M), PAGE_READONLY), entryPa: slot(pmd, PMD, vaThp) },
        { level: 'pud', status: 'ok', pa: PA_1G + (7n << 21n) + (2n << pageShift) + 0x89abcn, size: GiB, entry: k.pfn_pmd(pfn(PA_1G), PAGE_READONLY), entryPa: slot(pud, PUD, vaPud) },
        { level: 'pmd', status: 'bad', pa: undefined, size: undefined, entry: pte | k.RADIX_PMD_VAL_BITS | _RPAGE_RSV1, entryPa: slot(pmd, PMD, vaBad) },
        { level: 'pte', status: 'none', pa: undefined, size: undefined, entry: 0n, entryPa: slot(pte, PTE, vaNone) },
      ],
      rawLeaf: be(leaf),
      rawPmd: be(pte | k.RADIX_PMD_VAL_BITS),
      entryBytes: be(leaf),
    });
    expect(m.readPhys(slot(pte, PTE, va), 1)[0]).toBe(0xc0);
  });

  it('reads a huge leaf\'s pfn as pte_pfn does: PTE_RPN_MASK, not narrowed to the leaf size', () => {
    // pmd_pfn(pmd) = pud_pfn = pte_pfn(pXd_pte()) = (val & PTE_RPN_MASK) >> PAGE_SHIFT (v6.12 and
    // 6.1.y book3s/64/pgtable.h); gup_fast_pmd_leaf takes pmd_page(orig) + the subpage index.
    // The MMU (radix) takes the RPN above the leaf size only.
    const m = machine(variant);
    const lv = m.desc.levels;
    const [pgd, pud, pmd] = [0x10_0000n, 0x11_0000n, 0x11_1000n];
    for (const [pa, l] of [[pgd, PGD], [pud, PUD], [pmd, PMD]] as const) m.writePhys(pa, new Uint8Array(lv[l].tableBytes));
    const idx = (l: number, va: bigint) => (va >> BigInt(lv[l].shift)) & ((1n << BigInt(lv[l].indexBits)) - 1n);
    const put = (table: bigint, l: number, va: bigint, e: bigint) => m.writePhys(table + idx(l, va) * 8n, m.entryBytes([e]));
    const va = (3n << 39n) + (5n << 30n) + (7n << 21n);
    put(pgd, PGD, va, pud | k.RADIX_PGD_VAL_BITS);
    put(pud, PUD, va, pmd | k.RADIX_PUD_VAL_BITS);
    const off = 3n;                                          // pages past the 2 MiB boundary
    put(pmd, PMD, va, k.pfn_pmd(pfn(PA_2M) + off, PAGE_READONLY));
    const vaPud = va + GiB;
    put(pud, PUD, vaPud, k.pfn_pmd(pfn(PA_1G) + off, PAGE_READONLY));
    const at = 0x5n << pageShift;
    const inPmd = (va + at) & (2n * MiB - 1n), inPud = (vaPud + at) & (GiB - 1n);
    expect([m.walkRaw(pgd, va + at).pa, m.walkRaw(pgd, vaPud + at).pa]).toEqual([
      PA_2M + (off << pageShift) + inPmd, PA_1G + (off << pageShift) + inPud,
    ]);
    expect([m.walkRaw(pgd, va + at, { view: 'hardware' }).pa, m.walkRaw(pgd, vaPud + at, { view: 'hardware' }).pa]).toEqual([
      PA_2M + inPmd, PA_1G + inPud,
    ]);
  });

  describe.each([
    { leaf: 'base page', shift: 0n, kind: 'anon' as const, ramMiB: 64 },
    { leaf: '2 MiB THP', shift: 21n, kind: 'anon' as const, ramMiB: 64 },
    { leaf: '1 GiB hugetlb', shift: 30n, kind: 'hugetlb' as const, ramMiB: 2048 + 64 },
  ])('$leaf leaves', ({ shift, kind, ramMiB }) => {
    it('maps, pins, counts, unpins and zaps back to where it started', () => {
      const order = shift === 0n ? 0 : Number(shift - pageShift);
      const m = machine(variant, 'v6.12', ramMiB);
      const free0 = m.stats().freePages;
      const mm = m.createMm();
      const start = 4n * GiB;
      const nr = order === 0 ? 64 : 1 << order;
      const length = BigInt(nr) << pageShift;
      mm.mmap({ start, length, kind, hugeOrder: order, populate: true });
      const walk = m.walk(mm, start);
      const pfn0 = walk.pfn!;
      // the directory entries the core wrote are __pa(next table) | RADIX_Pxx_VAL_BITS
      // (pgalloc.h p4d_populate, pud_populate, pmd_populate), read big-endian; the
      // table address is val & ~Pxx_MASKED_BITS (0xc0000000000000ff)
      const pgdE = readBE(m, mm.rootPa + ((start >> 39n) & 8191n) * 8n);
      const pudPa = pgdE & TABLE_ADDR;     // p4d_pgtable: ~P4D_MASKED_BITS
      const pudE = readBE(m, pudPa + ((start >> 30n) & 511n) * 8n);
      const tables = {
        pgd: pgdE & ~TABLE_ADDR,
        pud: walk.levelName === 'pud' ? 'leaf' : pudE & ~TABLE_ADDR,
        pmd: walk.levelName === 'pte'
          ? readBE(m, (pudE & TABLE_ADDR) + ((start >> 21n) & 511n) * 8n) & ~TABLE_ADDR
          : 'leaf',
        // pgd 64 KB + pud 4 KB (+ pmd 4 KB + pte tables of 8 << RADIX_PTE_INDEX_SIZE bytes)
        bytes: mm.counters().pgtablesBytes,
      };
      const own = {
        // do_anonymous_page / do_huge_pmd_anonymous_page / hugetlb on a write fault
        entry: walk.entry === pte_mkwrite_novma(pte_mkdirty(k.pfn_pte(pfn0, PAGE_COPY))),
        raw: readBE(m, walk.entryPa) === walk.entry,
      };
      const seen = leafCycle(m, mm, walk, { start, length, nr, order, free0 });
      mm.munmap(start, length);
      const unmapped = { bytes: mm.counters().pgtablesBytes, invariants: m.checkInvariants() };
      const pteTable = 8n << pteIndexSize;
      const want = leafCycleWant({
        nr, order, level: order === 0 ? 'pte' : shift === 21n ? 'pmd' : 'pud', size: order === 0 ? 1n << pageShift : 1n << shift,
      });
      expect({ tables, ...seen, pinned: { ...own, ...seen.pinned }, unmapped }).toEqual({
        tables: {
          pgd: k.RADIX_PGD_VAL_BITS,
          pud: order === 0 || shift === 21n ? k.RADIX_PUD_VAL_BITS : 'leaf',
          pmd: order === 0 ? k.RADIX_PMD_VAL_BITS : 'leaf',
          // 64 base pages: 4 MiB with 64K pages (two 2 MiB pte tables), 256 KiB with 4K pages (one)
          bytes: 65536n + 4096n + (shift === 30n ? 0n : 4096n) + (order === 0 ? pteTable * BigInt(Math.ceil(nr / (1 << Number(pteIndexSize)))) : 0n),
        },
        ...want,
        pinned: { entry: true, raw: true, ...want.pinned },
        unmapped: { bytes: 65536n, invariants: [] },            // only the pgd is left
      });
    });
  });
});

// 6.1.y book3s/64/pgtable.h with CONFIG_NUMA_BALANCING: PAGE_NONE carries
// _PAGE_PRIVILEGED (:146); a protnone pte without it is a "savedwrite" one,
// which pte_write calls writable (:384-407) and pte_wrprotect makes
// privileged rather than clearing _PAGE_WRITE (:616-620).
describe('ppc64 under 6.1.y: PAGE_NONE and the NUMA savedwrite ptes', () => {
  const PAGE_NONE_61 = _PAGE_BASE | _PAGE_PRIVILEGED;
  const savedwrite = (v: bigint) => (v & (_PAGE_READ | _PAGE_WRITE | _PAGE_EXEC | _PAGE_PRIVILEGED)) === 0n;
  it.each(['v6.1', 'v6.12'])('%s', (kernel) => {
    const m = machine('radix-64k', kernel);
    const pte = m.desc.levels[m.desc.levels.length - 1];
    const pmd = m.desc.levels[m.desc.levels.length - 2];
    const old = kernel === 'v6.1';
    expect(pte.prots.none).toBe((old ? PAGE_NONE_61 : PAGE_NONE) | _PAGE_PTE);
    const none = 0xc000_0000_1234_0108n;                 // pfn_pte(pfn, PAGE_NONE) of 6.1.y
    const saved = none & ~_PAGE_PRIVILEGED;               // pte_mk_savedwrite(none)
    expect(savedwrite(saved)).toBe(true);
    for (const l of [pte.name, pmd.name]) {
      expect(m.decode(none, l)).toMatchObject({ protnone: true, write: false });
      expect(m.decode(saved, l)).toMatchObject({ protnone: true, write: old });
    }
    // pte_wrprotect: a savedwrite pte gets _PAGE_PRIVILEGED back (6.1.y); otherwise _PAGE_WRITE goes
    expect(applyOp(pte.ops.wrprotect, saved)).toBe(old ? none : saved);
    expect(applyOp(pte.ops.wrprotect, 0xc000_0000_1234_0386n)).toBe(0xc000_0000_1234_0384n);
    expect(m.checkInvariants()).toEqual([]);
  });
});
