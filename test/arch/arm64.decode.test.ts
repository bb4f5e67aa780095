// arm64: entries built with the kernel's own macros, decoded by pgtemu and
// checked against what the kernel's helpers say; hand-built table trees
// walked with walkRaw; and an end-to-end pin/unpin/zap per leaf size.
//
// The macros below are transcribed from the kernel, independently of
// src/arch/arm64 (v6.12 = Debian 6.12.117, v6.1 = Debian 6.1.192):
//   arch/arm64/include/asm/pgtable-hwdef.h, pgtable-prot.h, pgtable.h, pgalloc.h
import { describe, expect, it } from 'vitest';
import { Machine, applyOp, type EntryFlags } from '../../src/index.js';
import { pinCycle } from '../helpers/pin-cycle.js';
import { decodeTablePa } from '../../src/host/archdesc.js';

const BIT = (n: number): bigint => 1n << BigInt(n);

// ---- pgtable-hwdef.h (v6.12)
const PTE_VALID = BIT(0);
const PTE_TYPE_PAGE = 3n;
const PTE_TABLE_BIT = BIT(1);
const PTE_USER = BIT(6);             // AP[1]
const PTE_RDONLY = BIT(7);           // AP[2]
const PTE_SHARED = 3n << 8n;         // SH[1:0], inner shareable
const PTE_AF = BIT(10);
const PTE_NG = BIT(11);
const PTE_DBM = BIT(51);
const PTE_PXN = BIT(53);
const PTE_UXN = BIT(54);
const PTE_ATTRINDX = (t: bigint): bigint => t << 2n;
const PMD_TYPE_TABLE = 3n;
const PMD_TYPE_SECT = 1n;
const PMD_TABLE_BIT = BIT(1);
const PMD_TABLE_PXN = BIT(59);
const PUD_TYPE_TABLE = 3n;
const PUD_TABLE_BIT = BIT(1);
const PUD_TABLE_PXN = BIT(59);
const P4D_TYPE_TABLE = 3n;
const P4D_TABLE_PXN = BIT(59);
// ---- memory.h
const MT_NORMAL = 0n;
// ---- pgtable-prot.h (v6.12)
const PTE_WRITE = PTE_DBM;
const PTE_DIRTY = BIT(55);
const PTE_SPECIAL = BIT(56);
const PTE_DEVMAP = BIT(57);
const PTE_PRESENT_INVALID = PTE_NG;
const _PROT_DEFAULT = PTE_TYPE_PAGE | PTE_AF | PTE_SHARED;
const _PAGE_DEFAULT = _PROT_DEFAULT | PTE_ATTRINDX(MT_NORMAL);
const _PAGE_READONLY = _PAGE_DEFAULT | PTE_USER | PTE_RDONLY | PTE_NG | PTE_PXN | PTE_UXN;
const _PAGE_SHARED = _PAGE_DEFAULT | PTE_USER | PTE_RDONLY | PTE_NG | PTE_PXN | PTE_UXN | PTE_WRITE;
const PAGE_READONLY = _PAGE_READONLY;
const PAGE_SHARED = _PAGE_SHARED;
const PAGE_NONE = (_PAGE_DEFAULT & ~PTE_VALID) | PTE_PRESENT_INVALID | PTE_RDONLY | PTE_NG | PTE_PXN | PTE_UXN;
// ---- v6.1 pgtable-prot.h / pgtable-hwdef.h
const PTE_PROT_NONE_V61 = BIT(58);          // "only when !PTE_VALID"
const PMD_PRESENT_INVALID_V61 = BIT(59);    // "only when !PMD_SECT_VALID"
const PMD_SECT_VALID_V61 = BIT(0);
const PAGE_NONE_V61 = (_PAGE_DEFAULT & ~PTE_VALID) | PTE_PROT_NONE_V61 | PTE_RDONLY | PTE_NG | PTE_PXN | PTE_UXN;

// ---- pgtable.h (v6.12), transcribed as C does it
const pfn_pte = (pfn: bigint, prot: bigint, pageShift: number): bigint => (pfn << BigInt(pageShift)) | prot;
const pte_sw_dirty = (p: bigint): boolean => (p & PTE_DIRTY) !== 0n;
const pte_write = (p: bigint): boolean => (p & PTE_WRITE) !== 0n;
const pte_rdonly = (p: bigint): boolean => (p & PTE_RDONLY) !== 0n;
const pte_hw_dirty = (p: bigint): boolean => pte_write(p) && !pte_rdonly(p);
// 6.12.117 (stable, with 143937ca51cc backported); upstream v6.12 cleared PTE_RDONLY unconditionally
function pte_mkwrite_novma(p: bigint): bigint {
  p |= PTE_WRITE;
  if (pte_sw_dirty(p)) p &= ~PTE_RDONLY;
  return p;
}
function pte_mkclean(p: bigint): bigint {
  p &= ~PTE_DIRTY;
  return p | PTE_RDONLY;
}
function pte_mkdirty(p: bigint): bigint {
  p |= PTE_DIRTY;
  if (pte_write(p)) p &= ~PTE_RDONLY;
  return p;
}
function pte_wrprotect(p: bigint): bigint {
  if (pte_hw_dirty(p)) p |= PTE_DIRTY;
  p &= ~PTE_WRITE;
  return p | PTE_RDONLY;
}
const pte_mkold = (p: bigint): bigint => p & ~PTE_AF;
const pte_mkyoung = (p: bigint): bigint => p | PTE_AF;
const pte_mkspecial = (p: bigint): bigint => p | PTE_SPECIAL;
const pte_mkdevmap = (p: bigint): bigint => p | PTE_DEVMAP | PTE_SPECIAL;
const pmd_mkdevmap = (p: bigint): bigint => p | PTE_DEVMAP;
const pte_mkinvalid = (p: bigint): bigint => (p | PTE_PRESENT_INVALID) & ~PTE_VALID;
const pmd_mkinvalid = pte_mkinvalid;                                  // pte_pmd(pte_mkinvalid(pmd_pte(pmd)))
const pmd_mkinvalid_v61 = (p: bigint): bigint => (p | PMD_PRESENT_INVALID_V61) & ~PMD_SECT_VALID_V61;
const pmd_mkhuge = (p: bigint): bigint => p & ~PMD_TABLE_BIT;
const pud_mkhuge = (p: bigint): bigint => p & ~PUD_TABLE_BIT;
const pte_mkhuge = (p: bigint): bigint => p & ~PTE_TABLE_BIT;        // hugetlb arch_make_huge_pte
// pfn_pmd / pfn_pud are pfn_pte with the PA placed the same way (48-bit PA)
const pfn_pmd = pfn_pte;
const pfn_pud = pfn_pte;
// ---- pgalloc.h, user tables
const pmd_populate = (pa: bigint): bigint => pa | PMD_TYPE_TABLE | PMD_TABLE_PXN;
const pud_populate = (pa: bigint): bigint => pa | PUD_TYPE_TABLE | PUD_TABLE_PXN;
const p4d_populate = (pa: bigint): bigint => pa | P4D_TYPE_TABLE | P4D_TABLE_PXN;

/** EntryFlags with the listed helpers true and every other one false. */
const FLAG_NAMES = ['present', 'table', 'leaf', 'write', 'user', 'young', 'dirty', 'special', 'devmap', 'protnone'] as const;
function flags(list: string): EntryFlags {
  const on = new Set(list.split(/\s+/).filter(Boolean));
  for (const n of on) if (!(FLAG_NAMES as readonly string[]).includes(n)) throw new Error(`bad flag ${n}`);
  return Object.fromEntries(FLAG_NAMES.map((n) => [n, on.has(n)])) as unknown as EntryFlags;
}

const VARIANTS = [
  { variant: '4k-39', pageShift: 12, levels: ['pgd', 'pmd', 'pte'], pudLeaf: 0, pmd: 1 },
  { variant: '4k-48', pageShift: 12, levels: ['pgd', 'pud', 'pmd', 'pte'], pudLeaf: 1, pmd: 2 },
  { variant: '64k-48', pageShift: 16, levels: ['pgd', 'pmd', 'pte'], pudLeaf: -1, pmd: 1 },
] as const;

const machine = (variant: string, kernel = 'v6.12', ramMiB = 64) =>
  Machine.createSync({ arch: 'arm64', variant, kernel, ramMiB, tablePoolMiB: 4 });

describe.each(VARIANTS)('arm64/$variant', ({ variant, pageShift, levels, pudLeaf, pmd }) => {
  const PS = pageShift;
  const pte = levels.length - 1;
  const pmdShift = PS + (PS - 3);          // ARM64_HW_PGTABLE_LEVEL_SHIFT(2)
  const pfn = 0x1234n;                     // any pfn, base page
  const pmdPfn = 5n << BigInt(pmdShift - PS);   // a PMD_SIZE-aligned pfn
  const tablePa = 0x0012_3400_0000n & ~((1n << BigInt(PS)) - 1n);

  it('has the geometry of pgtable-hwdef.h and Kconfig', () => {
    const m = machine(variant);
    const d = m.desc;
    expect(d.levels.map((l) => l.name)).toEqual(levels);
    // ARM64_HW_PGTABLE_LEVEL_SHIFT(n) = (PAGE_SHIFT - 3) * (4 - n) + 3; the last level is n = 3
    const n0 = 4 - levels.length;
    expect(d.levels.map((l) => l.shift)).toEqual(levels.map((_, i) => (PS - 3) * (4 - (n0 + i)) + 3));
    expect(d.levels.map((l) => l.leafOk)).toEqual(levels.map((_, i) => i === pte || i === pmd || i === pudLeaf));
    expect(d.sectionSizeBits).toBe(PS === 16 ? 29 : 27);    // sparsemem.h
    expect(d.maxPhysBits).toBe(48);                          // PHYS_MASK_SHIFT = CONFIG_ARM64_PA_BITS
    expect(d.bigEndian).toBe(false);
    // 64K: PTRS_PER_PGD = 1 << (VA_BITS - PGDIR_SHIFT) = 64 entries, a 512-byte table
    expect(d.levels[0].tableBytes).toBe(8 << (d.vaBits - d.levels[0].shift));
  });

  it('decodes ptes built from the kernel macros (v6.12)', () => {
    const m = machine(variant, 'v6.12');
    const ro = pfn_pte(pfn, PAGE_READONLY, PS);
    const wclean = pte_mkwrite_novma(ro);                  // PTE_WRITE | PTE_RDONLY: writable, clean
    const hwdirty = wclean & ~PTE_RDONLY;                   // the CPU's DBM update clears AP[2]
    const cases: [string, bigint, EntryFlags][] = [
      // pgtable-prot.h PAGE_READONLY, pgtable.h pfn_pte
      ['PAGE_READONLY', ro, flags('present leaf user young')],
      // pte_mkwrite_novma on a clean pte keeps PTE_RDONLY: "0 1 | 1 1 0" in the DBM table
      ['writable clean (DBM | RDONLY)', wclean, flags('present leaf write user young')],
      // PAGE_SHARED = _PAGE_SHARED: "shared+writable pages are clean by default"
      ['PAGE_SHARED', pfn_pte(pfn, PAGE_SHARED, PS), flags('present leaf write user young')],
      // pte_hw_dirty: PTE_WRITE && !PTE_RDONLY
      ['hardware dirty', hwdirty, flags('present leaf write user young dirty')],
      // pte_wrprotect moves hardware dirtiness into PTE_DIRTY
      ['pte_wrprotect(hw dirty)', pte_wrprotect(hwdirty), flags('present leaf user young dirty')],
      // pte_mkclean: clear PTE_DIRTY, set PTE_RDONLY
      ['pte_mkclean(hw dirty)', pte_mkclean(hwdirty), flags('present leaf write user young')],
      // do_anonymous_page: pte_mkwrite(pte_mkdirty(entry))
      ['pte_mkwrite(pte_mkdirty(PAGE_READONLY))', pte_mkwrite_novma(pte_mkdirty(ro)), flags('present leaf write user young dirty')],
      ['pte_mkold', pte_mkold(ro), flags('present leaf user')],
      // do_anonymous_page read fault: pte_mkspecial(pfn_pte(my_zero_pfn(), vma->vm_page_prot))
      ['zero page (pte_mkspecial)', pte_mkspecial(ro), flags('present leaf user young special')],
      // pte_mkdevmap sets PTE_DEVMAP | PTE_SPECIAL
      ['pte_mkdevmap', pte_mkdevmap(ro), flags('present leaf user young special devmap')],
      // PAGE_NONE: present-invalid, !pte_user, !pte_user_exec (UXN set) => pte_protnone
      ['PAGE_NONE', pfn_pte(pfn, PAGE_NONE, PS), flags('present leaf young protnone')],
      // pte_mkinvalid of a user pte: present (present-invalid) but not PROT_NONE (pte_user)
      ['pte_mkinvalid(PAGE_READONLY)', pte_mkinvalid(ro), flags('present leaf user young')],
      // v6.1's PAGE_NONE read by v6.12: bit 58 is PTE_UFFD_WP, PTE_NG makes it present-invalid
      ['v6.1 PAGE_NONE read by v6.12', pfn_pte(pfn, PAGE_NONE_V61, PS), flags('present leaf young protnone')],
      ['pte_none', 0n, flags('')],
    ];
    const got = cases.map(([name, v]) => [name, m.decode(v, pte)]);
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(cases.map(([name, , f]) => [name, f])));
  });

  it('PROT_NONE moved from PTE_PROT_NONE (bit 58, v6.1) to PTE_PRESENT_INVALID (bit 11, v6.12)', () => {
    const m61 = machine(variant, 'v6.1');
    const m612 = machine(variant, 'v6.12');
    const none61 = pfn_pte(pfn, PAGE_NONE_V61, PS);
    const none612 = pfn_pte(pfn, PAGE_NONE, PS);
    const blk = pmd_mkhuge(pfn_pmd(pmdPfn, PAGE_READONLY, PS));
    // v6.12's PROT_NONE pte is a swap-shaped entry to v6.1 (not present, not none):
    // its EntryFlags.swap reading is swap-entries.test.ts's; here the helpers alone
    expect(m61.decode(none612, pte).swap).toBeDefined();
    const flagsOf = (f: EntryFlags): EntryFlags => { const { swap: _swap, ...rest } = f; return rest; };
    const got = {
      // v6.1 pte_protnone: (val & (PTE_VALID | PTE_PROT_NONE)) == PTE_PROT_NONE
      v61_none61: m61.decode(none61, pte),
      // v6.1 pte_present = !!(val & (PTE_VALID | PTE_PROT_NONE)): bit 11 alone is not present
      v61_none612: flagsOf(m61.decode(none612, pte)),
      v612_none612: m612.decode(none612, pte),
      // the PROT_NONE huge pmd: pfn_pmd(pfn, PAGE_NONE), pmd_mkhuge
      v61_pmdnone: m61.decode(pmd_mkhuge(pfn_pmd(pmdPfn, PAGE_NONE_V61, PS)), pmd),
      v612_pmdnone: m612.decode(pmd_mkhuge(pfn_pmd(pmdPfn, PAGE_NONE, PS)), pmd),
      // v6.1 pmd_mkinvalid sets PMD_PRESENT_INVALID (59): pmd_present via pmd_present_invalid()
      v61_pmdinvalid: m61.decode(pmd_mkinvalid_v61(blk), pmd),
      // v6.12's pmd_mkinvalid (bit 11) means nothing to v6.1's pmd_present
      v61_pmdinvalid612: m61.decode(pmd_mkinvalid(blk), pmd),
      v612_pmdinvalid: m612.decode(pmd_mkinvalid(blk), pmd),
      // a v6.1 user pmd table carries PMD_TABLE_PXN, bit 59 = PMD_PRESENT_INVALID: still a table
      v61_table: m61.decode(pmd_populate(tablePa), pmd),
    };
    expect(got).toEqual({
      v61_none61: flags('present leaf young protnone'),
      v61_none612: flags('young'),
      v612_none612: flags('present leaf young protnone'),
      v61_pmdnone: flags('present leaf young protnone'),
      v612_pmdnone: flags('present leaf young protnone'),
      v61_pmdinvalid: flags('present leaf user young'),
      v61_pmdinvalid612: flags('user young'),
      v612_pmdinvalid: flags('present leaf user young'),
      v61_table: flags('present table'),
    });
    expect(m61.desc.bits.UFFD_WP).toBe(-1);               // absent: no uffd-wp on arm64 before v6.10
    expect(m612.desc.bits.UFFD_WP).toBe(58);
  });

  it('decodes pmd entries: blocks, tables, devmap, special', () => {
    const m = machine(variant, 'v6.12');
    const m17 = machine(variant, 'v6.17');
    const blk = pmd_mkhuge(pfn_pmd(pmdPfn, PAGE_READONLY, PS));
    const thp = pmd_mkhuge(pte_mkwrite_novma(pte_mkdirty(pfn_pmd(pmdPfn, PAGE_READONLY, PS))));
    const got = {
      // mk_huge_pmd = pmd_mkhuge(mk_pmd(page, prot)): type 1, a block
      block: m.decode(blk, pmd),
      // do_huge_pmd_anonymous_page: maybe_pmd_mkwrite(pmd_mkdirty(entry))
      thp: m.decode(thp, pmd),
      // pmd_populate: PMD_TYPE_TABLE | PMD_TABLE_PXN
      table: m.decode(pmd_populate(tablePa), pmd),
      // pmd_mkdevmap sets PTE_DEVMAP only
      devmap: m.decode(pmd_mkdevmap(blk), pmd),
      // pmd_special (CONFIG_ARCH_SUPPORTS_PMD_PFNMAP, v6.12): PTE_SPECIAL
      special: m.decode(blk | PTE_SPECIAL, pmd),
      // v6.17: no ARCH_HAS_PTE_DEVMAP, pmd_devmap gone
      devmapV617: m17.decode(pmd_mkdevmap(blk), pmd),
    };
    expect(got).toEqual({
      block: flags('present leaf user young'),
      thp: flags('present leaf write user young dirty'),
      table: flags('present table'),
      devmap: flags('present leaf user young devmap'),
      special: flags('present leaf user young special'),
      devmapV617: flags('present leaf user young'),
    });
    // the v6.17 machine has no DEVMAP bit at all; pte_mkdevmap's PTE_SPECIAL stays
    expect(m17.desc.bits.DEVMAP).toBe(-1);               // absent
    expect(m17.decode(pte_mkdevmap(pfn_pte(pfn, PAGE_READONLY, PS)), pte)).toEqual(flags('present leaf user young special'));
  });

  it('decodes the top level and the pud level', () => {
    const m = machine(variant, 'v6.12');
    const got: Record<string, EntryFlags> = {};
    const want: Record<string, EntryFlags> = {};
    if (variant === '4k-48') {
      // p4d folded into the pgd: p4d_present = !p4d_none, p4d_bad = !(val & 2)
      got.p4dTable = m.decode(p4d_populate(tablePa), 0);
      want.p4dTable = flags('present table');
      got.p4dBad = m.decode(tablePa | PTE_VALID, 0);
      want.p4dBad = flags('present');
      // v6.12 reads bit 1 only: type 2 (VALID clear) is a table to p4d_bad
      got.p4dType2 = m.decode(tablePa | PMD_TABLE_BIT, 0);
      want.p4dType2 = flags('present table');
      // from v6.15 p4d_bad is (val & P4D_TYPE_MASK) != P4D_TYPE_TABLE
      // ("arm64/mm: Check PXD_TYPE_TABLE in [p4d|pgd]_bad()"): type 2 is bad
      for (const kernel of ['v6.15', 'v6.17']) {
        const k = machine(variant, kernel);
        got[`p4dType2 ${kernel}`] = k.decode(tablePa | PMD_TABLE_BIT, 0);
        want[`p4dType2 ${kernel}`] = flags('present');
        got[`p4dTable ${kernel}`] = k.decode(k.desc.levels[0].tableTemplate | tablePa, 0);
        want[`p4dTable ${kernel}`] = flags('present table');
      }
    }
    if (pudLeaf >= 0) {
      // pud_populate, and a 1 GiB block: pud_mkhuge(pfn_pud(pfn, prot)) (hugetlb: pte_mkhuge)
      const gPfn = 3n << BigInt(30 - PS);
      got.pudTable = m.decode(pud_populate(tablePa), pudLeaf);
      want.pudTable = flags('present table');
      got.pudBlock = m.decode(pud_mkhuge(pfn_pud(gPfn, PAGE_READONLY, PS)), pudLeaf);
      want.pudBlock = flags('present leaf user young');
      got.pudHugetlb = m.decode(pte_mkhuge(pte_mkwrite_novma(pte_mkdirty(pfn_pud(gPfn, PAGE_READONLY, PS)))), pudLeaf);
      want.pudHugetlb = flags('present leaf write user young dirty');
    } else {
      // 64K: pud_table() is "return true" and pud_sect() false (no pud leaf), but
      // pud_bad is still (val & PUD_TYPE_MASK) != PUD_TYPE_TABLE: a type-1 entry is
      // no table to the walkers (pud_none_or_clear_bad)
      got.pudTable = m.decode(pud_populate(tablePa), 0);
      want.pudTable = flags('present table');
      got.pudType1 = m.decode(tablePa | PMD_TYPE_SECT, 0);
      want.pudType1 = flags('present');
    }
    expect(got).toEqual(want);
  });

  // pXd_populate, user variants: pXD_TYPE_TABLE | pXD_TABLE_PXN in v6.12 and 6.1.y
  // (pgalloc.h); v7.2 adds pXD_TABLE_AF (bit 10, "Ignored if no FEAT_HAFT"), set
  // whether or not CONFIG_ARM64_HAFT is, since FEAT_HAFT support (linux-next for v6.13)
  it('writes table entries as pXd_populate does: pXD_TABLE_AF (bit 10) from v6.13, not before', () => {
    const TABLE_AF = BIT(10);
    for (const kernel of ['v6.0', 'v6.1', 'v6.12', 'v6.15', 'v6.17']) {
      const m = machine(variant, kernel);
      const af = kernel === 'v6.15' || kernel === 'v6.17' ? TABLE_AF : 0n;
      for (const l of m.desc.levels.slice(0, -1)) {
        expect(l.tableTemplate, `${kernel} ${l.name}`).toBe(PMD_TYPE_TABLE | af | PMD_TABLE_PXN);
      }
      // what a fault writes: every table entry on the way down to a pte
      const mm = m.createMm();
      mm.mmap({ start: 1n << 30n, length: 1n << BigInt(PS) });
      mm.fault(1n << 30n, { write: true });
      const flagsOf: bigint[] = [];
      let table = mm.rootPa;
      for (const l of m.desc.levels.slice(0, -1)) {
        const idx = ((1n << 30n) >> BigInt(l.shift)) & ((1n << BigInt(l.indexBits)) - 1n);
        const e = new DataView(m.readPhys(table + idx * 8n, 8).buffer).getBigUint64(0, true);
        flagsOf.push(e & ~l.tableAddr.mask);
        table = decodeTablePa(l, e);
      }
      expect(flagsOf, kernel).toEqual(flagsOf.map(() => PMD_TYPE_TABLE | af | PMD_TABLE_PXN));
      expect(m.checkInvariants()).toEqual([]);
    }
  });

  if (pudLeaf >= 0) {
    // The kernel has no pud_special() on arm64 (the mm.h fallback says false)
    // and pud_devmap() is 0: the layout says so at this level (predicates
    // that never hold), so a pud block with those bits set decodes without them.
    it('pud_special() and pud_devmap() are always false on arm64', () => {
      const m = machine(variant, 'v6.12');
      const blk = pud_mkhuge(pfn_pud(3n << BigInt(30 - PS), PAGE_READONLY, PS));
      expect(m.decode(blk | PTE_SPECIAL | PTE_DEVMAP, pudLeaf)).toEqual(flags('present leaf user young'));
    });
  }

  it('compiles the entry transformations exactly as pgtable.h does them', () => {
    const m = machine(variant, 'v6.12');
    const ro = pfn_pte(pfn, PAGE_READONLY, PS);
    const inputs = [
      ro, pte_mkwrite_novma(ro), pte_mkwrite_novma(ro) & ~PTE_RDONLY, pte_mkdirty(ro), pte_wrprotect(pte_mkdirty(ro)),
      pfn_pte(pfn, PAGE_SHARED, PS), pfn_pte(pfn, PAGE_NONE, PS), pte_mkold(ro) | PTE_DIRTY,
    ];
    const kernel: Record<string, (p: bigint, level: number) => bigint> = {
      mkwrite: pte_mkwrite_novma,
      wrprotect: pte_wrprotect,
      mkdirty: pte_mkdirty,
      mkclean: pte_mkclean,
      mkyoung: pte_mkyoung,
      mkold: pte_mkold,
      mkspecial: pte_mkspecial,
      mkdevmap: (p, l) => (l === pte ? pte_mkdevmap(p) : pmd_mkdevmap(p)),
      mkhuge: pmd_mkhuge,
    };
    const wrong: string[] = [];
    m.desc.levels.forEach((l, i) => {
      if (!l.leafOk) return;
      for (const [op, f] of Object.entries(kernel)) {
        if (op === 'mkhuge' && i === pte) continue;
        // no pud_mkdevmap on arm64, and the generic pud_mkspecial() returns its argument
        const noPudHelper = (op === 'mkdevmap' || op === 'mkspecial') && i === pudLeaf;
        for (const v of inputs) {
          const got = applyOp(l.ops[op as keyof typeof l.ops], v);
          const exp = noPudHelper ? v : f(v, i);
          if (got !== exp) wrong.push(`${l.name} ${op}(${v.toString(16)}) = ${got.toString(16)}, kernel ${exp.toString(16)}`);
        }
      }
    });
    expect(wrong).toEqual([]);
  });

  it('walks a hand-built table tree (walkRaw)', () => {
    const m = machine(variant, 'v6.12');
    const d = m.desc;
    const n = d.levels.length;
    const root = 0x10_0000n;                                 // inside the 4 MiB pool, 64K-aligned
    const tableAt = (i: number) => root + BigInt(i) * 0x1_0000n;   // one 64K slot per level
    const idx = (va: bigint, i: number) => Number((va >> BigInt(d.levels[i].shift)) & ((1n << BigInt(d.levels[i].indexBits)) - 1n));
    const tables = d.levels.map((l) => new Array<bigint>(1 << l.indexBits).fill(0n));
    // a base page, its neighbour PROT_NONE, a PMD block and (4K) a 1 GiB block
    const vaPage = (0x15n << BigInt(d.levels[0].shift)) | (0x6n << BigInt(d.levels[1].shift)) | 0x3n << BigInt(PS) | 0x123n;
    const vaNone = vaPage + (1n << BigInt(PS));
    const vaZero = vaPage + (2n << BigInt(PS));
    const vaBlk = vaPage + (1n << BigInt(d.levels[pmd].shift));   // the next pmd entry
    for (let i = 0; i < n - 1; i++) {
      const next = tableAt(i + 1);
      tables[i][idx(vaPage, i)] = i === 0 && variant === '4k-48' ? p4d_populate(next)
        : i === pmd ? pmd_populate(next) : pud_populate(next);
    }
    tables[n - 1][idx(vaPage, n - 1)] = pfn_pte(pfn, PAGE_READONLY, PS);
    tables[n - 1][idx(vaNone, n - 1)] = pfn_pte(pfn + 1n, PAGE_NONE, PS);
    tables[pmd][idx(vaBlk, pmd)] = pmd_mkhuge(pte_mkwrite_novma(pte_mkdirty(pfn_pmd(pmdPfn, PAGE_READONLY, PS))));
    const vaGig = vaPage + (1n << 30n);                         // the next 1 GiB entry
    const gPfn = 7n << BigInt(30 - PS);
    if (pudLeaf >= 0) tables[pudLeaf][idx(vaGig, pudLeaf)] = pud_mkhuge(pfn_pud(gPfn, PAGE_READONLY, PS));
    tables.forEach((t, i) => m.writePhys(tableAt(i), m.entryBytes(t)));

    const mask = (s: number) => (1n << BigInt(s)) - 1n;
    const summary = (va: bigint) => {
      const r = m.walkRaw(root, va);
      return { level: r.levelName, status: r.status, pa: r.pa, size: r.size, present: r.flags.present, write: r.flags.write, protnone: r.flags.protnone };
    };
    const got: Record<string, unknown> = {
      page: summary(vaPage),
      protnone: summary(vaNone),
      empty: summary(vaZero),
      block: summary(vaBlk + 0x4567n),
    };
    const want: Record<string, unknown> = {
      page: { level: 'pte', status: 'ok', pa: (pfn << BigInt(PS)) | (vaPage & mask(PS)), size: 1n << BigInt(PS), present: true, write: false, protnone: false },
      // a PROT_NONE pte is present, and a leaf: pte_present / pte_protnone
      protnone: { level: 'pte', status: 'ok', pa: ((pfn + 1n) << BigInt(PS)) | (vaNone & mask(PS)), size: 1n << BigInt(PS), present: true, write: false, protnone: true },
      empty: { level: 'pte', status: 'none', pa: undefined, size: undefined, present: false, write: false, protnone: false },
      block: {
        level: 'pmd', status: 'ok', pa: (pmdPfn << BigInt(PS)) + ((vaBlk + 0x4567n) & mask(d.levels[pmd].shift)),
        size: 1n << BigInt(d.levels[pmd].shift), present: true, write: true, protnone: false,
      },
    };
    if (pudLeaf >= 0) {
      got.gig = summary(vaGig + 0x1234_5678n);
      want.gig = {
        level: d.levels[pudLeaf].name, status: 'ok', pa: (gPfn << BigInt(PS)) + ((vaGig + 0x1234_5678n) & mask(30)),
        size: 1n << 30n, present: true, write: false, protnone: false,
      };
    }
    expect(got).toEqual(want);
  });

  it('reads entry bits PAGE_SHIFT..49 as the address (PTE_ADDR_LOW), ..47 in 6.1.y and in the MMU', () => {
    // v6.12 pgtable-hwdef.h: PTE_ADDR_LOW = ((1 << (50 - PAGE_SHIFT)) - 1) << PAGE_SHIFT, and
    // __pte_to_phys = pte_val & PTE_ADDR_LOW without CONFIG_ARM64_PA_BITS_52; 6.1.y: (48 - PAGE_SHIFT).
    // The MMU's output address is 48 bits (no FEAT_LPA): bits 49:48 are not part of it.
    const PTE_ADDR_LOW = (v: number) => ((1n << BigInt(v - PS)) - 1n) << BigInt(PS);
    const hi = (1n << 49n) | (1n << 48n);
    const root = 0x10_0000n;
    const va = 0x5n << BigInt(PS);
    const run = (kernel: string) => {
      const m = machine(variant, kernel);
      const d = m.desc;
      const tableAt = (i: number) => root + BigInt(i) * 0x1_0000n;
      for (let i = 0; i < d.levels.length; i++) {
        const t = new Array<bigint>(1 << d.levels[i].indexBits).fill(0n);
        const last = i === d.levels.length - 1;
        t[Number((va >> BigInt(d.levels[i].shift)) & ((1n << BigInt(d.levels[i].indexBits)) - 1n))] = last
          ? pfn_pte(pfn, PAGE_READONLY, PS) | hi
          : i === 0 && variant === '4k-48' ? p4d_populate(tableAt(1)) : i === pmd ? pmd_populate(tableAt(i + 1)) : pud_populate(tableAt(i + 1));
        m.writePhys(tableAt(i), m.entryBytes(t));
      }
      return { linux: m.walkRaw(root, va).pa, hardware: m.walkRaw(root, va, { view: 'hardware' }).pa };
    };
    const entry = pfn_pte(pfn, PAGE_READONLY, PS) | hi;
    expect(run('v6.12')).toEqual({ linux: entry & PTE_ADDR_LOW(50), hardware: entry & PTE_ADDR_LOW(48) });
    expect(run('v6.1')).toEqual({ linux: entry & PTE_ADDR_LOW(48), hardware: entry & PTE_ADDR_LOW(48) });
    expect(entry & PTE_ADDR_LOW(50)).toBe((pfn << BigInt(PS)) | hi);
  });
});

// ---------------------------------------------------------------- end to end
const GiB = 1n << 30n;

interface E2E { variant: string; leaf: string; kind: 'anon' | 'hugetlb'; order: number; leaves: number; ramMiB: number }
const E2E_CASES: E2E[] = [
  { variant: '4k-39', leaf: 'base pages', kind: 'anon', order: 0, leaves: 96, ramMiB: 64 },
  { variant: '4k-39', leaf: '2 MiB pmd blocks (THP)', kind: 'anon', order: 9, leaves: 3, ramMiB: 64 },
  { variant: '4k-39', leaf: '1 GiB top-level blocks (hugetlb)', kind: 'hugetlb', order: 18, leaves: 1, ramMiB: 2048 + 64 },
  { variant: '4k-48', leaf: 'base pages', kind: 'anon', order: 0, leaves: 96, ramMiB: 64 },
  { variant: '4k-48', leaf: '2 MiB pmd blocks (THP)', kind: 'anon', order: 9, leaves: 3, ramMiB: 64 },
  { variant: '4k-48', leaf: '2 MiB pmd blocks (hugetlb)', kind: 'hugetlb', order: 9, leaves: 2, ramMiB: 64 },
  { variant: '4k-48', leaf: '1 GiB pud blocks (hugetlb)', kind: 'hugetlb', order: 18, leaves: 1, ramMiB: 2048 + 64 },
  { variant: '64k-48', leaf: 'base pages', kind: 'anon', order: 0, leaves: 96, ramMiB: 64 },
  { variant: '64k-48', leaf: '512 MiB pmd blocks (THP)', kind: 'anon', order: 13, leaves: 1, ramMiB: 1024 + 64 },
  { variant: '64k-48', leaf: '512 MiB pmd blocks (hugetlb)', kind: 'hugetlb', order: 13, leaves: 1, ramMiB: 1024 + 64 },
];

describe.each(E2E_CASES)('arm64/$variant end to end: $leaf', ({ variant, kind, order, leaves, ramMiB }) => {
  it('maps kernel-shaped entries, pins, unpins, zaps, and leaves nothing behind', () => {
    const m = Machine.createSync({ arch: 'arm64', variant, kernel: 'v6.12', ramMiB, tablePoolMiB: 4 });
    const PS = m.desc.pageShift;
    const free0 = m.stats().freePages;
    const mm = m.createMm();
    const pgd0 = mm.counters().pgtablesBytes;
    const folioPages = 1 << order;
    const nrPages = leaves * folioPages;
    const length = BigInt(nrPages) << BigInt(PS);
    const start = 4n * GiB;
    mm.mmap({ start, length, kind, hugeOrder: order, populate: true });
    expect(m.stats().freePages).toBe(free0 - BigInt(nrPages));

    // Every leaf is what the kernel writes: do_anonymous_page /
    // do_huge_pmd_anonymous_page / make_huge_pte all build
    // pte_mkwrite(pte_mkdirty(mk_pte(page, PAGE_READONLY))), made a block
    // (pXd_mkhuge / pte_mkhuge) above the pte level.
    const bad: string[] = [];
    const leafLevel = m.desc.levels.findIndex((l) => l.leafOk && l.shift === PS + order);
    for (let i = 0; i < leaves; i++) {
      const va = start + (BigInt(i * folioPages) << BigInt(PS));
      const w = m.walk(mm, va);
      const expEntry = (() => {
        const e = pte_mkwrite_novma(pte_mkdirty(pfn_pte(w.pfn ?? 0n, PAGE_READONLY, PS)));
        return order === 0 ? e : pmd_mkhuge(e);
      })();
      if (w.status !== 'ok' || w.level !== leafLevel || w.entry !== expEntry || w.size !== BigInt(folioPages) << BigInt(PS) ||
          !w.flags.present || !w.flags.leaf || !w.flags.write || !w.flags.dirty || !w.flags.young || !w.flags.user ||
          w.flags.special || w.flags.devmap || w.flags.protnone) {
        bad.push(`${va.toString(16)}: level ${w.level} status ${w.status} entry ${w.entry.toString(16)} (kernel ${expEntry.toString(16)})`);
      }
    }
    expect(bad).toEqual([]);

    // pin_user_pages_fast over the whole range, in calls of at most maxPagesPerCall
    pinCycle(m, mm, { start, length, order, free0, tablesLeft: pgd0 });
  });
});
