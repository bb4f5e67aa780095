// The two views of a walk: the kernel's (pXd_present & co) and the MMU's (the
// architecture manual's walk), over hand-built raw tables. Each case cites the
// manual section it checks; each asserts the hardware verdict, that the linux
// view is what it always was (the default walk), and that the result reports
// the difference. Then a property: whatever the kernel installs for a valid
// mapping walks identically in both views.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  KERNELS, Machine, archs, encodeLeafEntry, encodeTableEntry, hardwareVerdict, type WalkResult,
} from '../../src/index.js';
import { VARIANTS } from '../helpers/machines.js';

type Status = WalkResult['status'];

// Raw tables well above anything an address space allocates, one 128 KiB slot
// per level (every table here is at most 64 KiB).
const RAW = 0x10_0000n;
const SLOT = 0x2_0000n;
const tableAt = (i: number) => RAW + BigInt(i) * SLOT;

interface Ctx {
  m: Machine;
  n: number;
  /** a kernel table entry at level i pointing at raw table i + 1 */
  table(i: number): bigint;
  /** a kernel leaf at level i: template (or the level's PAGE_NONE) at pa */
  leaf(i: number, pa: bigint, t?: 'ro' | 'rw' | 'none'): bigint;
  /** a bit mask from the variant's bit names */
  bits(...names: (string | number)[]): bigint;
}

interface Case {
  name: string;
  /** the manual section the hardware verdict comes from */
  cite: string;
  /** level of the probed entry (negative: from the bottom) */
  level: number;
  entry(c: Ctx): bigint;
  va?: bigint | ((c: Ctx) => bigint);
  linux: { status: Status; level?: number; size?: bigint };
  hw: { status: Status; level?: number; size?: bigint };
}

const PA = 1n << 32n;   // aligned for every leaf size below 4 GiB

function context(m: Machine): Ctx {
  const d = m.desc;
  return {
    m, n: d.levels.length,
    table: (i) => encodeTableEntry(d.levels[i], tableAt(i + 1)),
    leaf: (i, pa, t = 'rw') => {
      const l = d.levels[i];
      return encodeLeafEntry(l, pa, t === 'none' ? l.prots.none : l.templates[t]);
    },
    bits: (...names) => names.reduce<bigint>((a, x) => a | (1n << BigInt(typeof x === 'number' ? x : d.bits[x])), 0n),
  };
}

// Write a kernel chain for va (tables down to a pte leaf at PA), then the probe.
function build(c: Ctx, va: bigint, level: number, entry: bigint): void {
  const d = c.m.desc;
  const put = (i: number, e: bigint) => {
    const l = d.levels[i];
    const idx = (va >> BigInt(l.shift)) & ((1n << BigInt(l.indexBits)) - 1n);
    c.m.writePhys(tableAt(i) + idx * 8n, c.m.entryBytes([e]));
  };
  for (let i = 0; i < c.n - 1; i++) put(i, c.table(i));
  put(c.n - 1, c.leaf(c.n - 1, PA));
  put(level, entry);
}

const VA = 0x1234_5678n << 12n & ((1n << 38n) - 1n);   // inside every user range

const x86: Case[] = [
  {
    name: 'PAGE_NONE pte: P = 0 with the PROTNONE (= G) bit', level: -1,
    cite: 'Intel SDM vol. 3A §4.5.4, format of a PTE: P = 0 is not present, whatever else is set',
    entry: (c) => c.leaf(c.n - 1, PA, 'none'),
    linux: { status: 'ok' }, hw: { status: 'not-present' },
  },
  {
    name: 'pmd with P = 0 but G and PS set (pmd_present: PSE)', level: -2,
    cite: 'Intel SDM vol. 3A §4.5.4, format of a PDE: P = 0 is not present',
    entry: (c) => (c.leaf(c.n - 2, PA) & ~c.bits('PRESENT')) | c.bits('GLOBAL'),
    linux: { status: 'ok' }, hw: { status: 'not-present' },
  },
  {
    name: 'PS at the top level (PML4 / PML5): a reserved bit, and p4d_bad / pgd_bad to Linux', level: 0,
    cite: 'Intel SDM vol. 3A §4.5.4, format of a PML4E / PML5E: PS is reserved (§4.7: #PF with RSVD); v6.12 pgtable.h p4d_bad, pgd_bad: a flag outside _KERNPG_TABLE | _PAGE_USER (| _PAGE_NX)',
    entry: (c) => c.table(0) | c.bits('PSE'),
    linux: { status: 'bad', level: 0 }, hw: { status: 'bad', level: 0 },
  },
  {
    name: '2 MiB leaf with a reserved bit (13) set', level: -2,
    cite: 'Intel SDM vol. 3A §4.5.4, format of a PDE that maps a 2-MByte page: bits 20:13 reserved',
    entry: (c) => c.leaf(c.n - 2, PA) | c.bits(13),
    linux: { status: 'ok' }, hw: { status: 'bad' },
  },
  {
    name: '1 GiB leaf with PAT (bit 12): not an address bit, the views agree', level: -3,
    cite: 'Intel SDM vol. 3A §4.5.4, format of a PDPTE that maps a 1-GByte page: bit 12 is PAT',
    entry: (c) => c.leaf(c.n - 3, PA) | c.bits('PAT_LARGE'),
    linux: { status: 'ok', size: 1n << 30n }, hw: { status: 'ok', size: 1n << 30n },
  },
  {
    name: 'non-canonical address (bit N-1 set, bits above clear)', level: -1,
    cite: 'Intel SDM vol. 1 §3.3.7.1: bits 63:N-1 must equal bit N-1',
    entry: (c) => c.leaf(c.n - 1, PA),
    va: (c) => VA | (1n << BigInt(c.m.desc.vaBits - 1)),
    linux: { status: 'ok' }, hw: { status: 'bad-va', level: 0 },
  },
  {
    name: 'canonical upper half: the same root translates it', level: -1,
    cite: 'Intel SDM vol. 3A §4.5: both halves index the same PML4/PML5',
    entry: (c) => c.leaf(c.n - 1, PA),
    va: (c) => VA | (((1n << 64n) - 1n) & ~((1n << BigInt(c.m.desc.vaBits - 1)) - 1n)),
    linux: { status: 'ok' }, hw: { status: 'ok' },
  },
];

const arm64: Case[] = [
  {
    name: 'PAGE_NONE pte: VALID clear, PRESENT_INVALID set', level: -1,
    cite: 'Arm ARM D8.3.1: bit 0 clear is an invalid descriptor',
    entry: (c) => c.leaf(c.n - 1, PA, 'none'),
    linux: { status: 'ok' }, hw: { status: 'not-present' },
  },
  {
    name: 'level 3 descriptor 0b01: reserved', level: -1,
    cite: 'Arm ARM D8.3.1: at level 3, bits[1:0] = 0b01 is reserved, treated as invalid',
    entry: (c) => c.leaf(c.n - 1, PA) & ~c.bits('TABLE'),
    linux: { status: 'ok' }, hw: { status: 'not-present' },
  },
  {
    name: 'non-zero bit above VA_BITS (TTBR0 range)', level: -1,
    cite: 'Arm ARM D8.2: TTBR0 translates VA bits 55:VA_BITS zero',
    entry: (c) => c.leaf(c.n - 1, PA),
    va: (c) => VA | (1n << BigInt(c.m.desc.vaBits)),
    linux: { status: 'ok' }, hw: { status: 'bad-va', level: 0 },
  },
  {
    name: 'a tag in the top byte (TBI0): ignored, the views agree', level: -1,
    cite: 'Arm ARM D8.8: with TCR_EL1.TBI0 bits 63:56 are ignored',
    entry: (c) => c.leaf(c.n - 1, PA),
    va: VA | (0x5an << 56n),
    linux: { status: 'ok' }, hw: { status: 'ok' },
  },
];
const arm64Top: Record<string, Case> = {
  '4k-48': {
    name: 'a block descriptor at level 0 (4K granule)', level: 0,
    cite: 'Arm ARM D8.3.1: no level 0 block with the 4KB granule (DS = 0): invalid',
    entry: (c) => c.bits('VALID', 'AF', 'USER') | (1n << 39n),
    linux: { status: 'bad', level: 0 }, hw: { status: 'not-present', level: 0 },
  },
  '64k-48': {
    name: 'a block descriptor at level 1 (64K granule, no FEAT_LPA)', level: 0,
    cite: 'Arm ARM D8.3.1: no level 1 block with the 64KB granule without FEAT_LPA: invalid; v6.12 pgtable.h pud_bad: type bits not 0b11',
    entry: (c) => c.table(0) & ~c.bits('TABLE'),
    linux: { status: 'bad', level: 0 }, hw: { status: 'not-present', level: 0 },
  },
  '4k-39': {
    name: 'a 1 GiB block at level 1 (4K granule): the views agree', level: 0,
    cite: 'Arm ARM D8.3.1: a level 1 block descriptor maps 1GB with the 4KB granule',
    entry: (c) => c.leaf(0, PA),
    linux: { status: 'ok', level: 0, size: 1n << 30n }, hw: { status: 'ok', level: 0, size: 1n << 30n },
  },
};

const ppc64: Case[] = [
  {
    name: 'pte with V clear, _PAGE_INVALID set (ptep_modify_prot_start)', level: -1,
    cite: 'Power ISA v3.0B Book III §5.7.10.2: V = 0 is invalid',
    entry: (c) => (c.leaf(c.n - 1, PA) & ~c.bits('PRESENT')) | c.bits('INVALID'),
    linux: { status: 'ok' }, hw: { status: 'not-present' },
  },
  {
    name: 'EA bit 52 set (beyond the 52-bit radix tree)', level: -1,
    cite: 'Power ISA v3.0B Book III §5.7.10.2: EA bits 61:52 must be zero',
    entry: (c) => c.leaf(c.n - 1, PA),
    va: VA | (1n << 52n),
    linux: { status: 'ok' }, hw: { status: 'bad-va', level: 0 },
  },
  {
    name: 'EA bit 61 set', level: -1,
    cite: 'Power ISA v3.0B Book III §5.7.10.2: EA bits 61:52 must be zero',
    entry: (c) => c.leaf(c.n - 1, PA),
    va: VA | (1n << 61n),
    linux: { status: 'ok' }, hw: { status: 'bad-va', level: 0 },
  },
  {
    name: 'a pmd directory entry whose NLS is not the pte table size', level: -2,
    cite: 'Power ISA v3.0B Book III §5.7.10.2: NLS sizes the next table',
    entry: (c) => (c.table(c.n - 2) & ~0x1fn) | 13n,
    linux: { status: 'ok' }, hw: { status: 'bad' },
  },
];

const riscvLeafAt = (i: number): Case => ({
  name: `a leaf at level ${i} (R = 1)`, level: i,
  cite: 'RISC-V privileged spec §4.3.2 step 4: R or X set is a leaf at any level',
  entry: (c) => c.bits('PRESENT', 'READ', 'USER', 'ACCESSED') | ((PA_FOR(c, i) >> 12n) << 10n),
  linux: { status: 'ok' }, hw: { status: 'ok', level: i },
});
// a pa aligned to the level's size (512 GiB and 256 TiB leaves need their own)
const PA_FOR = (c: Ctx, i: number) => 1n << BigInt(Math.max(32, c.m.desc.levels[i].shift));
const riscv: Case[] = [
  {
    name: 'PAGE_NONE pte: V clear, PROT_NONE and R set', level: -1,
    cite: 'RISC-V privileged spec §4.3.2 step 3: V = 0 is a page fault whatever R/W/X/G say',
    entry: (c) => c.leaf(c.n - 1, PA, 'none'),
    linux: { status: 'ok' }, hw: { status: 'not-present' },
  },
  {
    name: 'pmd with V clear and R/W/X set (pmd_present: _PAGE_LEAF)', level: -2,
    cite: 'RISC-V privileged spec §4.3.2 step 3',
    entry: (c) => c.leaf(c.n - 2, PA) & ~c.bits('PRESENT') | c.bits('WRITE', 'EXEC'),
    linux: { status: 'ok' }, hw: { status: 'not-present' },
  },
  {
    name: 'W = 1, R = 0: reserved', level: -1,
    cite: 'RISC-V privileged spec §4.3.2 step 3: R = 0 with W = 1 is a page fault',
    entry: (c) => c.bits('PRESENT', 'WRITE', 'USER', 'ACCESSED', 'DIRTY') | ((PA >> 12n) << 10n),
    linux: { status: 'ok' }, hw: { status: 'bad' },
  },
  {
    name: 'misaligned 2 MiB superpage (a low PPN bit set)', level: -2,
    cite: 'RISC-V privileged spec §4.3.2 step 6: a misaligned superpage is a page fault',
    entry: (c) => c.bits('PRESENT', 'READ', 'USER', 'ACCESSED') | (((PA + 0x1000n) >> 12n) << 10n),
    linux: { status: 'ok' }, hw: { status: 'bad' },
  },
  {
    name: 'V = 1, R = W = X = 0 at the last level', level: -1,
    cite: 'RISC-V privileged spec §4.3.2 step 4: a pointer at level 0 is a page fault',
    entry: (c) => c.bits('PRESENT', 'USER', 'ACCESSED') | ((PA >> 12n) << 10n),
    linux: { status: 'ok' }, hw: { status: 'bad' },
  },
  {
    name: 'non-canonical address', level: -1,
    cite: 'RISC-V privileged spec §4.4.1 (Sv39; §4.5.1, §4.6.1): bits 63:VA_BITS must equal bit VA_BITS-1',
    entry: (c) => c.leaf(c.n - 1, PA),
    va: (c) => VA | (1n << BigInt(c.m.desc.vaBits - 1)),
    linux: { status: 'ok' }, hw: { status: 'bad-va', level: 0 },
  },
  {
    name: 'canonical upper half: the same root translates it', level: -1,
    cite: 'RISC-V privileged spec §4.4.1, §4.5.1, §4.6.1',
    entry: (c) => c.leaf(c.n - 1, PA),
    va: (c) => VA | (((1n << 64n) - 1n) & ~((1n << BigInt(c.m.desc.vaBits - 1)) - 1n)),
    linux: { status: 'ok' }, hw: { status: 'ok' },
  },
];
// Leaves the kernel never makes (512 GiB at Sv48's top, 256 TiB / 512 GiB at Sv57's):
// to Linux p4d/pgd entries are tables, and the "next table" is far outside the pool.
const riscvTop: Record<string, Case[]> = {
  sv39: [riscvLeafAt(0), riscvLeafAt(1), riscvLeafAt(2)],
  sv48: [
    { ...riscvLeafAt(0), name: 'a 512 GiB leaf at the top (Sv48)', linux: { status: 'bad-table', level: 1 } },
    riscvLeafAt(1), riscvLeafAt(2), riscvLeafAt(3),
  ],
  sv57: [
    { ...riscvLeafAt(0), name: 'a 256 TiB leaf at the top (Sv57)', linux: { status: 'bad-table', level: 1 } },
    { ...riscvLeafAt(1), name: 'a 512 GiB leaf (Sv57 level 3)', linux: { status: 'bad-table', level: 2 } },
    riscvLeafAt(2), riscvLeafAt(3), riscvLeafAt(4),
  ],
};

const s390: Case[] = [
  {
    name: 'PAGE_NONE pte: _PAGE_PRESENT with the I bit (0x400)', level: -1,
    cite: 'z/Architecture PoP ch. 3, Page-Table Entries: I = 1 is a page-translation exception',
    entry: (c) => c.leaf(c.n - 1, PA, 'none'),
    linux: { status: 'ok' }, hw: { status: 'not-present' },
  },
  {
    name: 'a large segment entry with its I bit (pmd_mkold)', level: -2,
    cite: 'z/Architecture PoP ch. 3, Segment-Table Entries: I = 1 is a segment-translation exception',
    entry: (c) => c.leaf(c.n - 2, PA) | c.bits('SEG_INVALID'),
    linux: { status: 'ok' }, hw: { status: 'not-present' },
  },
];
const s390Va: Record<string, Case> = {
  '3level': {
    name: 'an address beyond 4 TiB with a region-third ASCE', level: -1,
    cite: 'z/Architecture PoP ch. 3, ASCE-type exception',
    entry: (c) => c.leaf(c.n - 1, PA), va: VA | (1n << 42n),
    linux: { status: 'ok' }, hw: { status: 'bad-va', level: 0 },
  },
  '4level': {
    name: 'an address beyond 8 PiB with a region-second ASCE', level: -1,
    cite: 'z/Architecture PoP ch. 3, ASCE-type exception',
    entry: (c) => c.leaf(c.n - 1, PA), va: VA | (1n << 53n),
    linux: { status: 'ok' }, hw: { status: 'bad-va', level: 0 },
  },
  '5level': {
    name: 'a region-first ASCE translates every address', level: -1,
    cite: 'z/Architecture PoP ch. 3 (region-first table: 64 bits)',
    entry: (c) => c.leaf(c.n - 1, PA), va: VA | (1n << 63n),
    linux: { status: 'ok' }, hw: { status: 'ok' },
  },
};

const loongarch: Case[] = [
  {
    name: 'PAGE_NONE pte: PROTNONE without V', level: -1,
    cite: 'LoongArch Reference Manual vol. 1 §5.4 / TLBELO: V = 0 is a page-invalid exception',
    entry: (c) => c.leaf(c.n - 1, PA, 'none'),
    linux: { status: 'ok' }, hw: { status: 'not-present' },
  },
  {
    name: 'a pte with V set and _PAGE_PRESENT clear: the TLB maps it', level: -1,
    cite: 'LoongArch Reference Manual vol. 1 §5.4 (LDPTE loads the entry as it is)',
    entry: (c) => c.leaf(c.n - 1, PA) & ~c.bits('PRESENT'),
    linux: { status: 'not-present' }, hw: { status: 'ok' },
  },
  {
    name: 'the huge bit at the top directory: LDDIR returns a huge page', level: 0,
    cite: 'LoongArch Reference Manual vol. 1 §5.4 (LDDIR: bit 6 marks a huge page; above the pmd UNVERIFIED)',
    entry: (c) => c.bits('HUGE', 'VALID', 'PRESENT', 'PLV0', 'PLV1') | (PA_FOR(c, 0)),
    linux: { status: 'bad', level: 0 }, hw: { status: 'ok', level: 0 },
  },
  {
    name: 'VA bit 47 set: PGDH, not this root', level: -1,
    cite: 'LoongArch Reference Manual vol. 1 §5.2 (PGDL/PGDH by bit VALEN-1)',
    entry: (c) => c.leaf(c.n - 1, PA), va: VA | (1n << 47n),
    linux: { status: 'ok' }, hw: { status: 'bad-va', level: 0 },
  },
];

function casesFor(arch: string, variant: string): Case[] {
  switch (arch) {
    case 'x86_64': return x86;
    case 'arm64': return [...arm64, arm64Top[variant]];
    case 'ppc64': return ppc64;
    case 'riscv': return [...riscv, ...riscvTop[variant]];
    case 's390': return [...s390, s390Va[variant]];
    case 'loongarch': return loongarch;
    default: throw new Error(`no hardware-view cases for ${arch}`);
  }
}

describe.each(VARIANTS)('hardware view $arch/$variant', ({ arch, variant }) => {
  const m = Machine.createSync({ arch, variant, ramMiB: 16, tablePoolMiB: 4 });
  const c = context(m);
  const root = tableAt(0);
  const cases = casesFor(arch, variant);

  it.each(cases.map((k) => [k.name, k] as const))('%s', (_name, k) => {
    const level = k.level < 0 ? c.n + k.level : k.level;
    const va = typeof k.va === 'function' ? k.va(c) : k.va ?? VA;
    const entry = k.entry(c);
    build(c, va, level, entry);
    const def = m.walkRaw(root, va);
    const lx = m.walkRaw(root, va, { view: 'linux' });
    const hw = m.walkRaw(root, va, { view: 'hardware' });
    expect(lx).toEqual(def);                               // the default is the linux view
    expect(lx.view).toBe('linux');
    expect(hw.view).toBe('hardware');
    // status, and level / size where the case names them ('bad-va' stops at level 0)
    const verdict = (r: WalkResult, want: Case['hw']) => ({
      status: r.status,
      level: want.level !== undefined || want.status === 'bad-va' ? r.level : undefined,
      size: want.size !== undefined ? r.size : undefined,
    });
    const expected = (want: Case['hw']) => ({
      status: want.status, level: want.level ?? (want.status === 'bad-va' ? 0 : undefined), size: want.size,
    });
    expect(verdict(lx, k.linux), k.cite).toEqual(expected(k.linux));
    expect(verdict(hw, k.hw), k.cite).toEqual(expected(k.hw));
    if (k.hw.level === undefined && k.hw.status !== 'bad-va') expect(hw.level, 'stops at the probed entry').toBe(level);
    const same = lx.status === hw.status && lx.level === hw.level && lx.pa === hw.pa;
    expect(lx.differs).toBe(!same);
    expect(hw.differs).toBe(!same);
    if (!same) {
      // each view names the other's verdict, and a note says how they differ
      expect(lx.hardware).toMatchObject({ status: hw.status, level: hw.level });
      expect(hw.linux).toMatchObject({ status: lx.status, level: lx.level });
      expect(lx.note).toMatch(/Linux/);
      expect(lx.note).toMatch(/MMU/);
    } else {
      expect(lx.hardware).toBeUndefined();
      expect(hw.pa).toBe(lx.pa);
    }
  });

  it('decode() under the hardware view agrees with the hardware walk at each probed entry', () => {
    for (const k of cases) {
      const level = k.level < 0 ? c.n + k.level : k.level;
      const e = k.entry(c);
      const f = m.decode(e, level, { view: 'hardware' });
      const want = k.hw.status === 'bad-va' || (k.hw.level !== undefined && k.hw.level !== level) ? undefined : k.hw.status;
      if (want === 'ok') expect(f.leaf, k.name).toBe(true);
      if (want === 'not-present') expect(f.valid, k.name).toBe(false);
      if (want === 'bad') expect(f.bad, k.name).toBe(true);
      // the CLI's one-entry verdict says the same, and a leaf's address is the walk's
      const v = hardwareVerdict(m.desc, level, e);
      expect(v.kind, k.name).toBe(f.none ? 'none' : !f.valid ? 'invalid' : f.leaf ? 'leaf' : f.table ? 'table' : 'bad');
      expect(v.cite).toMatch(/§|ch\. 3|D8\./);
      if (want === 'ok' && k.va === undefined) {
        build(c, VA, level, e);
        const w = m.walkRaw(tableAt(0), VA, { view: 'hardware' });
        expect(v.pa! + (VA & (v.size! - 1n)), k.name).toBe(w.pa);
      }
    }
  });

  it('what the fault paths install walks alike in both views (anon write, zero-page read, pfnmap)', () => {
    const mm = m.createMm();
    const P = 1n << BigInt(m.desc.pageShift);
    const base = 1n << 30n;
    mm.mmap({ start: base, length: 4n * P });
    mm.fault(base, { write: true });                       // anon page, writable and dirty
    mm.fault(base + P);                                    // read: the shared zero page (special)
    mm.mmap({ start: base + 8n * P, length: 2n * P, kind: 'pfnmap', pfn: 0x123n, shared: true });
    for (const a of [base, base + P, base + 8n * P, base + 9n * P]) {
      const l = m.walk(mm, a + 5n), h = m.walk(mm, a + 5n, { view: 'hardware' });
      expect(l.status).toBe('ok');
      expect([h.status, h.level, h.pa, h.differs, l.differs]).toEqual(['ok', l.level, l.pa, false, false]);
    }
    mm.destroy();
  });

  it("rejects an unknown view", () => {
    expect(() => m.walkRaw(root, VA, { view: 'mmu' as never })).toThrow(/view 'mmu'/);
    expect(() => m.decode(0n, 0, { view: 'mmu' as never })).toThrow(/view 'mmu'/);
  });
});

describe('the note says what each side makes of the entry', () => {
  it('x86 PROT_NONE: present to Linux, a fault to the MMU', () => {
    const m = Machine.createSync({ arch: 'x86_64', ramMiB: 16, tablePoolMiB: 4 });
    const c = context(m);
    build(c, VA, c.n - 1, c.leaf(c.n - 1, PA, 'none'));
    const r = m.walkRaw(tableAt(0), VA);
    expect(r.status).toBe('ok');
    expect(r.flags.protnone).toBe(true);
    expect(r.hardware?.status).toBe('not-present');
    expect(r.note).toMatch(/^pte 0x[0-9a-f]+: a 4 KiB leaf mapping 0x[0-9a-f]+ to Linux, not valid \(a translation fault\) to the MMU \(Intel SDM/);
  });

  it('walk(mm) takes the view too: a populated mapping agrees, PAGE_NONE does not exist to the MMU', () => {
    const m = Machine.createSync({ arch: 'x86_64', ramMiB: 32, tablePoolMiB: 4 });
    const mm = m.createMm();
    mm.mmap({ start: 0x4000_0000n, length: 1n << 21n, populate: true });
    const a = m.walk(mm, 0x4000_1000n), b = m.walk(mm, 0x4000_1000n, { view: 'hardware' });
    expect([a.status, a.differs, b.status, b.differs, b.pa]).toEqual(['ok', false, 'ok', false, a.pa]);
    const far = m.walk(mm, 1n << 47n, { view: 'hardware' });
    expect([far.status, far.linux?.status]).toEqual(['bad-va', 'none']);
  });
});

// What the kernel installs for a valid mapping (its table entries and present leaf
// templates, at every level that holds leaves) walks identically in both views, in
// every variant and kernel preset: the two descriptions cannot drift apart.
describe.each(VARIANTS)('kernel entries walk alike in both views: $arch/$variant', ({ arch, variant }) => {
  it.each(Object.keys(KERNELS))('%s', (kernel) => {
    const m = Machine.createSync({ arch, variant, kernel, ramMiB: 16, tablePoolMiB: 4 });
    const c = context(m);
    const d = m.desc;
    const leafLevels = d.levels.map((l, i) => (l.leafOk ? i : -1)).filter((i) => i >= 0);
    const physTop = BigInt(Math.min(d.maxPhysBits, 48));
    fc.assert(fc.property(
      fc.constantFrom(...leafLevels),
      fc.constantFrom('ro', 'rw', 'specialRo', 'specialRw', 'devmapRo', 'devmapRw'),
      fc.bigInt({ min: 0n, max: (1n << physTop) - 1n }),
      fc.bigInt({ min: 0n, max: (1n << BigInt(d.userVaBits)) - 1n }),
      (level, t, pa0, va) => {
        const l = d.levels[level];
        const pa = pa0 & ~((1n << BigInt(l.shift)) - 1n);
        build(c, va, level, encodeLeafEntry(l, pa, l.templates[t as keyof typeof l.templates]));
        const a = m.walkRaw(tableAt(0), va), b = m.walkRaw(tableAt(0), va, { view: 'hardware' });
        expect([b.status, b.level, b.pa, b.size, b.differs]).toEqual([a.status, a.level, a.pa, a.size, false]);
        expect(a.status).toBe('ok');
        expect(a.level).toBe(level);
      },
    ), { numRuns: 40 });
  });
});

describe('bit names per level and state', () => {
  const x = Machine.createSync({ arch: 'x86_64', ramMiB: 16, tablePoolMiB: 4 });
  const a = Machine.createSync({ arch: 'arm64', ramMiB: 16, tablePoolMiB: 4 });
  const names = (m: Machine, level: number, e: bigint) => m.bitNames(e, level);

  it('x86: bit 7 is PAT in a pte, PSE in a pmd; bit 8 GLOBAL unless PROTNONE; protection keys', () => {
    const pte = x.desc.levels.length - 1;
    expect(names(x, pte, 0x1000n | 0x81n | (0x5n << 59n))).toEqual(['PRESENT', 'PAT', 'PKEY_BIT0', 'PKEY_BIT2']);
    expect(names(x, pte - 1, 0x20_0000n | 0x181n)).toEqual(['PRESENT', 'PSE', 'GLOBAL']);
    expect(names(x, pte, 0x1000n | 0x120n)).toEqual(['ACCESSED', 'PROTNONE']);
    expect(names(x, pte - 1, 0x20_0000n | 0x1081n)).toEqual(['PRESENT', 'PSE', 'PAT_LARGE']);
  });

  it('arm64: a valid user page names nG, UXN and the page type; PRESENT_INVALID only with VALID clear', () => {
    const pte = a.desc.levels.length - 1;
    const ro = a.desc.levels[pte].templates.ro;
    const n = names(a, pte, ro);
    expect(n).toContain('NG');
    expect(n).toContain('UXN');
    expect(n).toContain('PAGE');
    expect(n.join('|')).not.toMatch(/PRESENT_INVALID|PROTNONE|TABLE/);
    const none = names(a, pte, a.desc.levels[pte].prots.none);
    expect(none).toContain('PRESENT_INVALID');
    expect(none).not.toContain('NG');
    const t = names(a, pte - 1, encodeTableEntry(a.desc.levels[pte - 1], 0x10_0000n));
    expect(t).toEqual(['VALID', 'TABLE', 'PXN_TABLE']);
  });

  it('arm64 v6.1: PTE_PROT_NONE (bit 58) named only with VALID clear', () => {
    const o = Machine.createSync({ arch: 'arm64', kernel: 'v6.1', ramMiB: 16, tablePoolMiB: 4 });
    const pte = o.desc.levels.length - 1;
    expect(names(o, pte, o.desc.levels[pte].prots.none)).toContain('PRESENT_INVALID');
    expect(names(o, pte, o.desc.levels[pte].templates.ro | (1n << 58n))).toContain('bit58');
  });

  it('every arch compiles its name rules', () => {
    for (const ad of Object.values(archs)) {
      const m = Machine.createSync({ arch: ad.arch, ramMiB: 16, tablePoolMiB: 4 });
      for (let i = 0; i < m.desc.levels.length; i++) {
        const l = m.desc.levels[i];
        if (l.leafOk) expect(names(m, i, l.templates.rw).length).toBeGreaterThan(0);
      }
    }
  });
});

describe('what counts as a difference', () => {
  it.each(VARIANTS)('$arch/$variant: an unmapped address is a fault to both, never a difference', ({ arch, variant }) => {
    // loongarch's refill follows an empty directory entry into the shared
    // invalid table and faults at its pte; Linux stops at the empty entry:
    // the same answer, a fault, at different levels
    const m = Machine.createSync({ arch, variant, ramMiB: 64, tablePoolMiB: 4 });
    const mm = m.createMm();
    const a = 1n << 30n;
    mm.mmap({ start: a, length: 1n << BigInt(m.desc.pageShift) });
    for (const va of [a, a + (1n << 29n)]) {
      const w = m.walk(mm, va);
      expect(['none', 'not-present']).toContain(w.status);
      expect(w.differs, `${arch}/${variant} ${va.toString(16)}: ${w.note}`).toBe(false);
      expect(m.walk(mm, va, { view: 'hardware' }).differs).toBe(false);
    }
    // and a mapped page is a difference nowhere either
    mm.fault(a, { write: true });
    expect(m.walk(mm, a).differs).toBe(false);
  });
});
