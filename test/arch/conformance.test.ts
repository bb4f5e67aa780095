// One conformance suite, generated from the layout data (src/host/conformance.ts)
// and run over every architecture variant and kernel preset, plus a property
// test over random mk/clear sequences.
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KERNELS, applyOp, matchPred, resolve, encodeLeafEntry, decodeLeafPa, Machine } from '../../src/index.js';
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
    const r = walkChecks(Machine.createSync({ arch, variant, ramMiB: 64, tablePoolMiB: 4 }));
    cases += r.checks;
    expect(r.failures).toEqual([]);
  });

  it('end to end: map, walk, gup-fast, zap, invariants, at every leaf size up to 2 GiB', () => {
    const r = endToEndChecks(arch, variant, 'v6.12');
    cases += r.checks;
    expect(r.failures).toEqual([]);
  });
});
