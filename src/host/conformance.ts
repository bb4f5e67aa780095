// The conformance checks, generated from the layout data: the
// debug_vm_pgtable identities (mm/debug_vm_pgtable.c) for every leaf level
// and base protection, PROT_NONE, pfn and table-address round trips up to
// the largest physical address, leaf/table recognition, the core's walk of
// entries built from the same data, and map/gup/zap/invariants end to end.
// Used by the test suite (test/arch) and by `pgtemu conformance` / `npm start`.

import {
  applyOp, matchPred, predIsNever, encodeLeafEntry, decodeLeafPa, encodeTableEntry, decodeTablePa,
  type Descriptor, type LevelDescriptor, type OpName, type PredName,
} from './archdesc.js';
import { resolve } from './presets.js';
import { Machine } from './machine.js';
import { GUP_PIN_COUNTING_BIAS } from './consts.gen.js';

export interface ConformanceResult {
  arch: string;
  variant: string;
  kernel: string;
  checks: number;
  failures: string[];
}

const op = (l: LevelDescriptor, name: OpName, e: bigint) => applyOp(l.ops[name], e);
const is = (l: LevelDescriptor, p: PredName, e: bigint) => matchPred(l.preds[p], e);

/** The debug_vm_pgtable identities and recognition rules, on the compiled data alone. */
export function identityChecks(desc: Descriptor): { checks: number; failures: string[] } {
  const failures: string[] = [];
  let checks = 0;
  const maxPa = (1n << BigInt(desc.maxPhysBits)) - 1n;
  const check = (ok: boolean, what: string) => { checks++; if (!ok) failures.push(what); };
  desc.levels.forEach((l, i) => {
    if (l.leafOk) {
      const size = 1n << BigInt(l.shift);
      for (const pa of [size, maxPa & ~(size - 1n), (maxPa >> 1n) & ~(size - 1n)]) {
        for (const name of ['readonly', 'copy', 'shared'] as const) {
          const x = encodeLeafEntry(l, pa, l.prots[name]);   // pfn_pte(pfn, prot), pmd_mkhuge'd above the pte level
          const at = `${l.name} ${name} pa 0x${pa.toString(16)}`;
          check(!is(l, 'dirty', op(l, 'wrprotect', x)), `${at}: !dirty(wrprotect(x))`);
          check(is(l, 'young', op(l, 'mkyoung', op(l, 'mkold', x))), `${at}: young(mkyoung(mkold(x)))`);
          check(!is(l, 'young', op(l, 'mkold', op(l, 'mkyoung', x))), `${at}: !young(mkold(mkyoung(x)))`);
          check(is(l, 'dirty', op(l, 'mkdirty', op(l, 'mkclean', x))), `${at}: dirty(mkdirty(mkclean(x)))`);
          check(!is(l, 'dirty', op(l, 'mkclean', op(l, 'mkdirty', x))), `${at}: !dirty(mkclean(mkdirty(x)))`);
          check(is(l, 'write', op(l, 'mkwrite', op(l, 'wrprotect', x))), `${at}: write(mkwrite(wrprotect(x)))`);
          check(!is(l, 'write', op(l, 'wrprotect', op(l, 'mkwrite', x))), `${at}: !write(wrprotect(mkwrite(x)))`);
          check(!is(l, 'dirty', op(l, 'wrprotect', op(l, 'mkclean', x))), `${at}: !dirty(wrprotect(mkclean(x)))`);
          check(is(l, 'dirty', op(l, 'wrprotect', op(l, 'mkdirty', x))), `${at}: dirty(wrprotect(mkdirty(x)))`);
          check(is(l, 'present', x) && !is(l, 'protnone', x), `${at}: present(x) && !protnone(x)`);
          check(decodeLeafPa(l, x) === pa, `${at}: pfn round trip`);
          check(decodeLeafPa(l, op(l, 'mkdirty', op(l, 'mkwrite', op(l, 'mkyoung', x)))) === pa, `${at}: pfn kept by mk*`);
          if (!l.isLast) check(is(l, 'leaf', op(l, 'mkhuge', x)), `${at}: leaf(mkhuge(x))`);
          if (desc.hasSpecial && predIsNever(l.preds.special)) check(!is(l, 'special', op(l, 'mkspecial', x)), `${at}: no ${l.name}_special(): it reports false`);
          else if (desc.hasSpecial) check(is(l, 'special', op(l, 'mkspecial', x)) && !is(l, 'special', x), `${at}: special(mkspecial(x)), !special(x)`);
          else check(!is(l, 'special', op(l, 'mkspecial', x)) && op(l, 'mkspecial', x) === x, `${at}: no special bit: special() false, mkspecial a no-op`);
          if (desc.hasDevmap && predIsNever(l.preds.devmap)) check(!is(l, 'devmap', op(l, 'mkdevmap', x)), `${at}: no ${l.name}_devmap(): it reports false`);
          else if (desc.hasDevmap) check(is(l, 'devmap', op(l, 'mkdevmap', x)) && !is(l, 'devmap', x), `${at}: devmap(mkdevmap(x)), !devmap(x)`);
          else check(!is(l, 'devmap', op(l, 'mkdevmap', x)) && op(l, 'mkdevmap', x) === x, `${at}: no devmap bit: devmap() false, mkdevmap a no-op`);
        }
      }
      if (l.prots.none !== 0n && !predIsNever(l.preds.protnone)) {   // pte_protnone / pmd_protnone exist at this level
        const pa = 1n << BigInt(l.shift + 1);
        const x = encodeLeafEntry(l, pa, l.prots.none);         // pfn_pte(pfn, PAGE_NONE): NUMA hinting
        check(is(l, 'protnone', x) && is(l, 'present', x), `${l.name}: protnone(x) && present(x) for PAGE_NONE`);
        check(decodeLeafPa(l, x) === pa, `${l.name}: PAGE_NONE pfn round trip`);
      }
    }
    check((l.empty & l.noneMask) === l.empty, `${l.name}: the empty value is none`);
    check(l.emptyTable || !is(l, 'access', l.empty), `${l.name}: an empty entry fails access`);
    if (!l.isLast) {
      const next = desc.levels[i + 1];
      for (const pa of [BigInt(next.tableBytes), (maxPa >> 1n) & ~BigInt(next.tableBytes - 1)]) {
        const t = encodeTableEntry(l, pa);
        check(is(l, 'present', t) && is(l, 'table', t), `${l.name}: a table entry is present and a table`);
        check(!l.leafOk || !is(l, 'leaf', t), `${l.name}: a table entry is not a leaf`);
        check(decodeTablePa(l, t) === pa, `${l.name}: table address 0x${pa.toString(16)} round trip`);
      }
      if (l.leafOk) check(is(l, 'leaf', encodeLeafEntry(l, 1n << BigInt(l.shift), l.templates.rw)), `${l.name}: a leaf is a leaf`);
    }
  });
  return { checks, failures };
}

/** The core's walk of a hand-built table chain ending in a leaf at each leaf level. */
export function walkChecks(m: Machine): { checks: number; failures: string[] } {
  const d = m.desc;
  const failures: string[] = [];
  let checks = 0;
  d.levels.forEach((leaf, li) => {
    if (!leaf.leafOk) return;
    const tables: bigint[] = [];
    let next = 0x100000n;
    for (let i = 0; i <= li; i++) {
      const bytes = BigInt(d.levels[i].tableBytes);
      next = (next + bytes - 1n) & ~(bytes - 1n);
      tables.push(next);
      m.writePhys(next, m.entryBytes(Array(d.levels[i].tableBytes / 8).fill(d.levels[i].empty)));
      next += bytes;
    }
    const va = (1n << BigInt(leaf.shift)) * 3n + (1n << BigInt(d.pageShift)) * 5n + 0x10n;
    const idx = (i: number) => (va >> BigInt(d.levels[i].shift)) & ((1n << BigInt(d.levels[i].indexBits)) - 1n);
    for (let i = 0; i < li; i++) m.writePhys(tables[i] + idx(i) * 8n, m.entryBytes([encodeTableEntry(d.levels[i], tables[i + 1])]));
    const pa = (1n << BigInt(leaf.shift)) * 7n;
    m.writePhys(tables[li] + idx(li) * 8n, m.entryBytes([encodeLeafEntry(leaf, pa, leaf.templates.rw)]));
    const w = m.walkRaw(tables[0], va);
    const want = pa + (va & ((1n << BigInt(leaf.shift)) - 1n));
    checks += 3;
    if (w.status !== 'ok' || w.level !== li) failures.push(`walkRaw ${leaf.name}: stopped at ${w.levelName} (${w.status})`);
    if (w.pa !== want) failures.push(`walkRaw ${leaf.name}: pa 0x${w.pa?.toString(16)} != 0x${want.toString(16)}`);
    if (!w.flags.write || !w.flags.dirty || !w.flags.leaf) failures.push(`walkRaw ${leaf.name}: flags ${JSON.stringify(w.flags)}`);
  });
  return { checks, failures };
}

/** Map, walk, pin with gup-fast, unpin, unmap at every leaf size that fits in maxRamMiB. */
export function endToEndChecks(arch: string, variant: string, kernel: string, maxRamMiB = 4200): { checks: number; failures: string[] } {
  const { desc } = resolve({ arch, variant, kernel });
  const ps = desc.pageShift;
  const failures: string[] = [];
  let checks = 0;
  for (const l of desc.levels.filter((x) => x.leafOk)) {
    const order = l.shift - ps;
    const size = 1n << BigInt(l.shift);
    const needMiB = Number((2n * size) >> 20n) + 64;
    if (needMiB > maxRamMiB) continue;
    const m = Machine.createSync({ arch, variant, kernel, ramMiB: Math.max(64, needMiB), tablePoolMiB: 4 });
    const free0 = m.stats().freePages;
    const mm = m.createMm();
    const start = size * 4n > 1n << 32n ? size * 4n : 1n << 32n;
    const len = order === 0 ? 64n << BigInt(ps) : size;
    mm.mmap({ start, length: len, kind: order === 0 ? 'anon' : 'hugetlb', hugeOrder: order, populate: true });
    const w = m.walk(mm, start);
    const nr = Math.min(Number(len >> BigInt(ps)), m.maxPagesPerCall);
    const r = mm.gupFast(start, nr, { pin: true, write: true });
    const head = m.page(r.pfns[0]);
    checks += 6;
    if (w.status !== 'ok' || w.size !== (order === 0 ? 1n << BigInt(ps) : size)) failures.push(`e2e order ${order}: walk ${w.levelName} ${w.status} size ${w.size}`);
    if (r.nr !== nr || r.fast !== nr) failures.push(`e2e order ${order}: gup took ${r.nr} (${r.fast} lockless) of ${nr}`);
    if (order > 0 && (head.refcount !== 1 + nr || head.pincount !== nr)) failures.push(`e2e order ${order}: head refcount ${head.refcount} pincount ${head.pincount}`);
    if (order === 0 && head.refcount !== 1 + GUP_PIN_COUNTING_BIAS) failures.push(`e2e order 0: refcount ${head.refcount}, want 1 + GUP_PIN_COUNTING_BIAS`);
    m.unpin(r);
    mm.munmap(start, len);
    const v = m.checkInvariants();
    if (v.length) failures.push(`e2e order ${order}: ${v[0].message}`);
    if (m.stats().freePages !== free0) failures.push(`e2e order ${order}: ${free0 - m.stats().freePages} pages not returned`);
  }
  return { checks, failures };
}

/** Everything above for one variant and kernel preset. */
export function runConformance(arch: string, variant: string, kernel: string, o: { maxRamMiB?: number } = {}): ConformanceResult {
  const { desc } = resolve({ arch, variant, kernel });
  const a = identityChecks(desc);
  const m = Machine.createSync({ arch, variant, kernel, ramMiB: 64, tablePoolMiB: 4 });
  const b = walkChecks(m);
  const c = endToEndChecks(arch, variant, kernel, o.maxRamMiB);
  return { arch, variant, kernel, checks: a.checks + b.checks + c.checks, failures: [...a.failures, ...b.failures, ...c.failures] };
}
