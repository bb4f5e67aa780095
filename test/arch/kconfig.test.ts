// What each kernel preset's Kconfig selects on each arch (ArchData.history:
// thpPud, hugePfnmap, daxVmemmapOpt), against a table written from the
// Kconfig files themselves (6.1.y and v6.12 arch/*/Kconfig,
// arch/powerpc/platforms/Kconfig.cputype, mm/Kconfig; riscv's
// ARCH_SUPPORTS_HUGE_PFNMAP from v6.15: "riscv: Support huge pfnmaps" is in the
// 6.15 merge window's RISC-V pull, and v7.2 arch/riscv/Kconfig selects it; riscv's
// HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD from v6.17: a fix to "riscv: Add support for PUD
// THP" went to 6.17-stable, and v7.2 selects it), and what the machine hands the
// core from it.
import { describe, expect, it } from 'vitest';
import { Machine, archs } from '../../src/index.js';
import { KERNELS } from '../../src/host/presets.js';
import { kernelCmp } from '../../src/host/archdesc.js';

type K = { thpPud: boolean; hugePfnmap: boolean; daxVmemmapOpt: boolean; memoryFailure: boolean };
const none: K = { thpPud: false, hugePfnmap: false, daxVmemmapOpt: false, memoryFailure: false };

function expected(arch: string, kernel: string): K {
  const since612 = kernelCmp(kernel, 'v6.12') >= 0;
  switch (arch) {
    // HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD if X86_64; ARCH_SUPPORTS_HUGE_PFNMAP (v6.12);
    // ARCH_WANT_OPTIMIZE_DAX_VMEMMAP (v6.12) / ARCH_WANT_HUGETLB_PAGE_OPTIMIZE_VMEMMAP (6.1.y)
    // ARCH_SUPPORTS_MEMORY_FAILURE (via X86_MCE); arm64 and ppc64 (PPC64_SUPPORTS_MEMORY_FAILURE)
    // select it too, s390, riscv and loongarch do not (v6.12 and v7.2 Kconfig)
    case 'x86_64': return { thpPud: true, hugePfnmap: since612, daxVmemmapOpt: true, memoryFailure: true };
    // ARCH_SUPPORTS_HUGE_PFNMAP if TRANSPARENT_HUGEPAGE (v6.12); no THP-PUD, no DAX vmemmap reuse
    case 'arm64': return { ...none, hugePfnmap: since612, memoryFailure: true };
    // PPC_THP selects HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD, and ARCH_WANT_OPTIMIZE_DAX_VMEMMAP
    // if PPC_RADIX_MMU (v6.12); neither in 6.1.y
    case 'ppc64': return { thpPud: since612, hugePfnmap: false, daxVmemmapOpt: since612, memoryFailure: true };
    // ARCH_WANT_OPTIMIZE_DAX_VMEMMAP (v6.12, not 6.1.y); ARCH_SUPPORTS_HUGE_PFNMAP from v6.15;
    // HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD if 64BIT && MMU from v6.17
    case 'riscv': return { thpPud: kernelCmp(kernel, 'v6.17') >= 0, hugePfnmap: kernelCmp(kernel, 'v6.15') >= 0, daxVmemmapOpt: since612, memoryFailure: false };
    default: return none;
  }
}

describe('arch Kconfig selections per kernel preset', () => {
  for (const a of Object.values(archs)) {
    for (const kernel of Object.keys(KERNELS)) {
      it(`${a.arch} ${kernel}`, () => {
        const want = expected(a.arch, kernel);
        for (const variant of Object.keys(a.variants)) {
          const m = Machine.createSync({ arch: a.arch, variant, kernel, ramMiB: 16, tablePoolMiB: 2 });
          expect(m.desc.kconfig, variant).toEqual(want);
          // what the core reads: THP-PUD, and the levels where pXd_mkspecial exists
          const n = m.desc.levels.length;
          expect(m.rd(m.headerPtr, 'Header', 'thpPud'), variant).toBe(want.thpPud ? 1 : 0);
          expect(m.rd(m.headerPtr, 'Header', 'daxVmemmapOpt'), variant).toBe(want.daxVmemmapOpt ? 1 : 0);
          const levels = want.hugePfnmap ? (1 << (n - 2)) | (want.thpPud ? 1 << (n - 3) : 0) : 0;
          expect(m.rd(m.headerPtr, 'Header', 'pfnmapLevels'), variant).toBe(levels);
        }
      });
    }
  }
});
