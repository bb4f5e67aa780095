// x86_64 helpers with more to them than one bit (v6.12 arch/x86/include/asm/
// pgtable.h, pgtable_types.h, arch/x86/mm/pgtable.c), built with the kernel's
// own macros and compared with pgtemu's ops, predicates and walker.
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/index.js';
import { applyOp, isSwapEntry } from '../../src/host/archdesc.js';

// pgtable_types.h
const _PAGE_PRESENT = 1n << 0n, _PAGE_RW = 1n << 1n, _PAGE_USER = 1n << 2n, _PAGE_ACCESSED = 1n << 5n, _PAGE_DIRTY = 1n << 6n;
const _PAGE_PSE = 1n << 7n, _PAGE_SOFT_DIRTY = 1n << 11n, _PAGE_NX = 1n << 63n;
const _PAGE_SAVED_DIRTY = 1n << 58n;                     // _PAGE_BIT_SOFTW5 (64-bit)
const _PAGE_KNL_ERRATUM_MASK = _PAGE_DIRTY | _PAGE_ACCESSED;

// pgtable.h: mksaveddirty_shift / clear_saveddirty_shift, and the helpers built on them
const mksaveddirty = (v: bigint) => {
  const cond = (~v >> 1n) & 1n;                         // Write=0
  v |= ((v >> 6n) & cond) << 58n;
  return v & ~(cond << 6n);
};
const clearSaveddirty = (v: bigint) => {
  const cond = (v >> 1n) & 1n;                          // Write=1
  v |= ((v >> 58n) & cond) << 6n;
  return v & ~(cond << 58n);
};
const pte_wrprotect = (v: bigint) => mksaveddirty(v & ~_PAGE_RW);
const pte_mkdirty = (v: bigint) => mksaveddirty(v | _PAGE_DIRTY | _PAGE_SOFT_DIRTY);
const pte_mkwrite = (v: bigint) => clearSaveddirty(v | _PAGE_RW);   // arch/x86/mm/pgtable.c, not a shadow-stack VMA

const machine = (kernel = 'v6.12') => Machine.createSync({ arch: 'x86_64', variant: '4level', kernel, ramMiB: 16, tablePoolMiB: 2 });

describe('x86_64: Dirty and SavedDirty (v6.6 on)', () => {
  const pfn = 0x1234n << 12n;
  const rw = pfn | _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_NX;
  const ro = pfn | _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX;

  it('pte_wrprotect moves Dirty to SavedDirty (no Write=0,Dirty=1 shadow-stack pattern); pte_mkwrite moves it back; pte_mkdirty of a read-only pte sets SavedDirty', () => {
    const m = machine();
    for (const li of [1, 2, 3]) {                        // pud, pmd, pte: pXd_wrprotect / _mkdirty / _mkwrite are the same shifts
      const l = m.desc.levels[li];
      const leaf = li < 3 ? _PAGE_PSE : 0n;
      const wp = applyOp(l.ops.wrprotect, rw | leaf);
      expect(wp, l.name).toBe(pte_wrprotect(rw | leaf));
      expect(wp & (_PAGE_DIRTY | _PAGE_SAVED_DIRTY)).toBe(_PAGE_SAVED_DIRTY);
      expect(m.decode(wp, li)).toMatchObject({ write: false, dirty: true });      // pte_dirty: _PAGE_DIRTY_BITS
      expect(applyOp(l.ops.mkwrite, wp)).toBe(pte_mkwrite(wp));
      expect(applyOp(l.ops.mkwrite, wp)).toBe(rw | leaf);
      expect(applyOp(l.ops.mkdirty, ro | leaf)).toBe(pte_mkdirty(ro | leaf));
      expect(applyOp(l.ops.mkdirty, ro | leaf) & (_PAGE_DIRTY | _PAGE_SAVED_DIRTY)).toBe(_PAGE_SAVED_DIRTY);
      expect(applyOp(l.ops.mkdirty, rw | leaf)).toBe(rw | leaf | _PAGE_SOFT_DIRTY);
      expect(applyOp(l.ops.mkclean, wp) & (_PAGE_DIRTY | _PAGE_SAVED_DIRTY)).toBe(0n);   // _PAGE_DIRTY_BITS
    }
  });

  it('before v6.6 there is no SavedDirty: the ops touch only their own bits', () => {
    const m = machine('v6.1');
    const l = m.desc.levels[3];
    expect(applyOp(l.ops.wrprotect, rw)).toBe(rw & ~_PAGE_RW);
    expect(applyOp(l.ops.mkdirty, ro)).toBe(ro | _PAGE_DIRTY | _PAGE_SOFT_DIRTY);
    expect(applyOp(l.ops.mkwrite, ro)).toBe(ro | _PAGE_RW);
  });
});

describe('x86_64: pXd_none ignores _PAGE_KNL_ERRATUM_MASK (Accessed, Dirty) below the pgd', () => {
  it.each([0x20n, 0x40n, 0x60n])('%s is none at pte, pmd, pud and the 4-level top (p4d_none); a whole-value test at the la57 pgd', (v) => {
    expect(v & ~_PAGE_KNL_ERRATUM_MASK).toBe(0n);
    const m = machine();
    for (let li = 0; li < 4; li++) expect(m.coreSwapEntry(v, li).kind, `level ${li}`).toBe('none');
    expect(isSwapEntry(m.desc, 3, v)).toBe(false);       // is_swap_pte = !pte_none && !pte_present
    const la57 = Machine.createSync({ arch: 'x86_64', variant: 'la57', ramMiB: 16, tablePoolMiB: 2 });
    expect(la57.coreSwapEntry(v, 0).kind).toBe('not-present');   // pgd_none: !native_pgd_val(pgd)
    expect(la57.coreSwapEntry(v, 1).kind).toBe('none');          // p4d_none
  });
});

describe('x86_64: a present directory entry that is not a leaf is a table unless pXd_bad', () => {
  // pgtable.h v6.12: pmd_bad: (pmd_flags & ~(_PAGE_USER | _PAGE_ACCESSED)) != (_KERNPG_TABLE & ~_PAGE_ACCESSED);
  // pud_bad: (pud_flags & ~(_KERNPG_TABLE | _PAGE_USER)) != 0; p4d_bad: the same, also ignoring
  // _PAGE_NX with page-table isolation; pgd_bad (la57): (pgd_flags & ~(_PAGE_USER | _PAGE_NX)) != _KERNPG_TABLE
  const _KERNPG_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;
  const _PAGE_GLOBAL = 1n << 8n;
  const FLAGS = ~0x000f_ffff_ffff_f000n & 0xffff_ffff_ffff_ffffn;      // ~PTE_PFN_MASK
  const pmd_bad = (v: bigint) => ((v & FLAGS) & ~(_PAGE_USER | _PAGE_ACCESSED)) !== (_KERNPG_TABLE & ~_PAGE_ACCESSED);
  const pud_bad = (v: bigint) => ((v & FLAGS) & ~(_KERNPG_TABLE | _PAGE_USER)) !== 0n;
  const p4d_bad = (v: bigint) => ((v & FLAGS) & ~(_KERNPG_TABLE | _PAGE_USER | _PAGE_NX)) !== 0n;
  const pgd_bad = (v: bigint) => ((v & FLAGS) & ~(_PAGE_USER | _PAGE_NX)) !== _KERNPG_TABLE;
  const table = 0x0100_0000n;
  const probes = [0x67n, 0x63n, 0x47n, 0x27n, 0x25n, 0x21n, 0x01n, 0x67n | _PAGE_NX, 0x67n | _PAGE_GLOBAL, 0x67n | (1n << 9n), 0x67n | (1n << 52n)]
    .map((f) => table | f);
  const kind = (m: Machine, v: bigint, li: number) => m.coreSwapEntry(v, li).kind;

  it('4-level: the p4d (top), pud and pmd helpers', () => {
    const m = machine();
    for (const v of probes) {
      expect([v, kind(m, v, 0)]).toEqual([v, p4d_bad(v) ? 'bad' : 'table']);
      expect([v, kind(m, v, 1)]).toEqual([v, pud_bad(v) ? 'bad' : 'table']);
      expect([v, kind(m, v, 2)]).toEqual([v, pmd_bad(v) ? 'bad' : 'table']);
    }
    expect(pmd_bad(table | 0x25n) && !pud_bad(table | 0x25n)).toBe(true);   // the helpers differ, and so do the levels
  });

  it('la57: the pgd helper', () => {
    const m = Machine.createSync({ arch: 'x86_64', variant: 'la57', ramMiB: 16, tablePoolMiB: 2 });
    for (const v of probes) expect([v, kind(m, v, 0)]).toEqual([v, pgd_bad(v) ? 'bad' : 'table']);
    expect(pgd_bad(table | 0x01n)).toBe(true);
  });
});
