// One conformance suite, generated from the layout data (src/host/conformance.ts)
// and run over every architecture variant and kernel preset, plus a property
// test over random mk/clear sequences.
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KERNELS, applyOp, matchPred, resolve, encodeLeafEntry, decodeLeafPa, gupFastAccepts, Machine } from '../../src/index.js';
import { identityChecks, walkChecks, endToEndChecks } from '../../src/host/conformance.js';
import { VARIANTS } from '../helpers/machines.js';

let cases = 0;
afterAll(() => {
  // the case count grows with every variant added
  console.log(`conformance: ${cases} checks over ${VARIANTS.length} variants x ${Object.keys(KERNELS).length} kernel presets`);
});

describe.each(VARIANTS)('$arch/$variant', ({ arch, variant }) => {
  describe.each(Object.keys(KERNELS))('kernel %s', (kernel) => {
    const { desc } = resolve({ arch, variant, kernel });

    it('debug_vm_pgtable identities, PROT_NONE, round trips, leaf/table recognition', () => {
      const r = identityChecks(desc);
      cases += r.checks;
      expect(r.failures).toEqual([]);
    });

    it('property: an entry that matches a quick-accept pair answers the predicates as that pair says', () => {
      // the pairs the hot loops test instead of the predicates (assembly/layout.ts LevelDesc.fast*):
      // every entry equal to the pair's value on its mask, whatever its other bits
      const none = (l: typeof desc.levels[number], e: bigint) => (e & l.noneMask) === l.empty;
      const is = (l: typeof desc.levels[number], p: 'present' | 'leaf' | 'table', e: bigint) => matchPred(l.preds[p], e);
      const pairs = desc.levels.flatMap((l) => [
        { l, name: 'table', pair: l.fastTable, holds: (e: bigint) => !none(l, e) && is(l, 'present', e) && is(l, 'table', e) && !(l.leafOk && is(l, 'leaf', e)) },
        { l, name: 'leaf', pair: l.fastLeaf, holds: (e: bigint) => !none(l, e) && is(l, 'present', e) && l.leafOk && is(l, 'leaf', e) },
        // asked once pXd_none has said no: an empty entry may match it
        { l, name: 'live table', pair: l.fastLiveTable, holds: (e: bigint) => none(l, e) || (e & l.fastLiveTable.any) === 0n || (is(l, 'present', e) && is(l, 'table', e) && !(l.leafOk && is(l, 'leaf', e))) },
        { l, name: 'read', pair: l.fastRead, holds: (e: bigint) => gupFastAccepts(l, e, false) },
        { l, name: 'write', pair: l.fastWrite, holds: (e: bigint) => gupFastAccepts(l, e, true) },
      ]).filter((x) => x.pair.mask !== 0n);
      expect(pairs.some((x) => x.name === 'leaf')).toBe(true);
      expect(pairs.some((x) => x.name === 'read')).toBe(true);
      fc.assert(fc.property(fc.constantFrom(...pairs), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (x, bits) => {
        const e = (bits & ~x.pair.mask) | x.pair.value;
        cases++;
        if (!x.holds(e)) throw new Error(`${x.l.name}: ${x.name} pair accepts 0x${e.toString(16)}, the predicates do not`);
      }), { numRuns: 300 });
    });

    it('the read pair takes the entries the kernel makes for readable memory, writable or executable too', () => {
      // The pair is left without the bits no predicate's answer depends on once the
      // others are as in the template (archdesc.ts fastAccept): ppc64's pte_protnone
      // reads _PAGE_RWX, but an entry with _PAGE_READ is not protnone whatever
      // _PAGE_WRITE and _PAGE_EXEC hold, so a writable pte must not miss the read pair
      // (a read pin of writable memory would take the per-entry path for every page).
      for (const l of desc.levels.filter((x) => x.leafOk && x.fastRead.mask !== 0n)) {
        for (const t of [l.templates.ro, l.templates.rw, l.prots.copy, l.prots.shared, applyOp(l.ops.mkwrite, l.templates.ro)]) {
          if (!gupFastAccepts(l, t, false)) continue;
          cases++;
          expect((t & l.fastRead.mask) === l.fastRead.value, `${l.name}: read pair misses 0x${t.toString(16)}`).toBe(true);
        }
        if (l.fastWrite.mask !== 0n) {
          cases++;
          expect((l.templates.rw & l.fastWrite.mask) === l.fastWrite.value, `${l.name}: write pair misses the rw template`).toBe(true);
        }
      }
    });

    it('property: any sequence of mk/clear operations keeps the pfn and leaves what it last set', () => {
      const maxPa = (1n << BigInt(desc.maxPhysBits)) - 1n;
      const ops = ['mkwrite', 'wrprotect', 'mkdirty', 'mkclean', 'mkyoung', 'mkold'] as const;
      fc.assert(fc.property(
        fc.constantFrom(...desc.levels.filter((l) => l.leafOk)),
        fc.bigInt({ min: 0n, max: maxPa }),
        fc.array(fc.constantFrom(...ops), { minLength: 1, maxLength: 12 }),
        (l, rawPa, seq) => {
          // a leaf maps a non-zero frame (physical 0 is never a user page: s390's
          // pud_present reads the origin bits, so a leaf at 0 is not present there)
          const pa = (rawPa & ~((1n << BigInt(l.shift)) - 1n)) || 1n << BigInt(l.shift);
          let e = encodeLeafEntry(l, pa, l.prots.copy);
          for (const o of seq) e = applyOp(l.ops[o], e);
          cases++;
          const is = (p: 'young' | 'write' | 'dirty' | 'present') => matchPred(l.preds[p], e);
          const last = (a: string, b: string) => seq.lastIndexOf(a as never) > seq.lastIndexOf(b as never);
          if (decodeLeafPa(l, e) !== pa || !is('present')) return false;
          if ((seq.includes('mkyoung') || seq.includes('mkold')) && is('young') !== last('mkyoung', 'mkold')) return false;
          if ((seq.includes('mkwrite') || seq.includes('wrprotect')) && is('write') !== last('mkwrite', 'wrprotect')) return false;
          // wrprotect keeps dirty (identity 10): only mkclean clears it
          if ((seq.includes('mkdirty') || seq.includes('mkclean')) && is('dirty') !== last('mkdirty', 'mkclean')) return false;
          return true;
        }), { numRuns: 150 });
    });
  });

  it('the core walks entries built from the same data (walkRaw at every leaf level)', () => {
    const m = Machine.createSync({ arch, variant, ramMiB: 64, tablePoolMiB: 4 });
    const r = walkChecks(m);
    cases += r.checks;
    expect(r.failures).toEqual([]);
    expect(r.checks).toBe(3 * m.desc.levels.filter((l) => l.leafOk).length);   // every leaf level walked
  });

  it('end to end: map, walk, gup-fast, zap, invariants, at every leaf size up to 2 GiB', () => {
    const r = endToEndChecks(arch, variant, 'v6.12');
    cases += r.checks;
    expect(r.failures).toEqual([]);
    // every leaf size that fits the default 4200 MiB ran (its 6 checks)
    const { desc } = resolve({ arch, variant, kernel: 'v6.12' });
    const fits = desc.levels.filter((l) => l.leafOk && Number((2n << BigInt(l.shift)) >> 20n) + 64 <= 4200).length;
    expect(fits).toBeGreaterThan(0);
    expect(r.checks).toBe(6 * fits);
  });
});
