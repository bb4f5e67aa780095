// Helpers that 6.1.y defines differently from v6.12, read from the 6.1 tree
// (arch/*/include/asm/pgtable*.h, mm/memory.c): the same raw entry decoded
// under both presets. (s390's region-third softbits and ppc64's PAGE_NONE and
// savedwrite ptes have their own tests: test/model/gup-semantics,
// test/arch/ppc64.decode.)
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/index.js';
import { applyOp } from '../../src/host/archdesc.js';

const machine = (arch: string, variant: string, kernel: string) => Machine.createSync({ arch, variant, kernel, ramMiB: 16, tablePoolMiB: 2 });

describe('6.1.y against v6.12, one helper at a time', () => {
  it('x86_64: no pmd_special/pud_special in 6.1.y (mm/memory.c: "There is no pmd_special()"); _PAGE_SPECIAL is read there from v6.12', () => {
    // a present, user, huge pmd / pud with _PAGE_SPECIAL (bit 9): 0x200 | PSE 0x80 | USER 4 | RW 2 | PRESENT 1
    const pmd = 0x4000_0000n | 0x287n, pud = 0x4000_0000n | 0x287n;
    for (const [kernel, want] of [['v6.1', false], ['v6.12', true]] as const) {
      const m = machine('x86_64', '4level', kernel);
      expect(m.decode(pmd, 'pmd').special, kernel).toBe(want);
      expect(m.decode(pud, 'pud').special, kernel).toBe(want);
      expect(m.decode(0x1000n | 0x207n, 'pte').special, kernel).toBe(true);      // pte_special in both
      // the era replaces pmd_mkspecial only: pmd_mkdevmap (DEVMAP: bit 58 in 6.1.y, 57 in v6.12) stays
      const pmdLevel = m.desc.levels[2];
      expect(applyOp(pmdLevel.ops.mkspecial, 0n), kernel).toBe(want ? 1n << 9n : 0n);
      expect(applyOp(pmdLevel.ops.mkdevmap, 0n), kernel).toBe(1n << (want ? 57n : 58n));
    }
  });

  it('arm64: no pmd_special in 6.1.y; PTE_SPECIAL (bit 56) is read in a pmd from v6.12', () => {
    // a block descriptor: VALID (bit 0), not a table (bit 1 clear), AF (bit 10), user (bit 6), PTE_SPECIAL bit 56
    const pmd = (1n << 56n) | 0x4000_0000n | (1n << 10n) | (1n << 6n) | 1n;
    for (const [kernel, want] of [['v6.1', false], ['v6.12', true]] as const) {
      expect(machine('arm64', '4k-48', kernel).decode(pmd, 'pmd').special, kernel).toBe(want);
    }
  });

  it('ppc64: pud_devmap() returns 0 in 6.1.y; pte_devmap(pud_pte()) from v6.12', () => {
    // a radix pud leaf: PRESENT | PTE | _PAGE_DEVMAP 0x800 | ACCESSED | READ
    const pud = 0xc000_0000_4000_0904n;
    for (const [kernel, want] of [['v6.1', false], ['v6.12', true]] as const) {
      const m = machine('ppc64', 'radix-64k', kernel);
      expect(m.decode(pud, 'pud').devmap, kernel).toBe(want);
      expect(m.decode(0xc000_0000_0040_0904n, 'pmd').devmap, kernel).toBe(true);   // pmd_devmap in both
    }
  });

  it('loongarch: pte_dirty and pmd_dirty read _PAGE_MODIFIED only in 6.1.y; _PAGE_DIRTY too from v6.12', () => {
    // VALID (0) | DIRTY (1) | PRESENT (7) | WRITE (8), MODIFIED (9) clear; and the same with MODIFIED
    const dirtyOnly = 0x4000n | 0x183n, modified = dirtyOnly | 0x200n;
    for (const [kernel, want] of [['v6.1', false], ['v6.12', true]] as const) {
      const m = machine('loongarch', '16k-3level', kernel);
      expect(m.decode(dirtyOnly, 'pte').dirty, kernel).toBe(want);
      expect(m.decode(modified, 'pte').dirty, kernel).toBe(true);
    }
  });
});
