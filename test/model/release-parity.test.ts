// The reference model refuses the same plain release lists as the core
// (assembly/unpin.ts unpin) and frees the same tables on munmap (free_pgtables'
// floor and ceiling), so the differential runs stay comparable. Each side gets
// the list of its own pages: the same pages by what maps or holds them.
import { describe, expect, it } from 'vitest';
import { Machine, PgtemuError } from '../../src/index.js';
import { RefMachine } from '../reference/index.js';

const MiB = 1n << 20n;
const A = 1n << 32n;

function outcome(f: () => unknown): string {
  try { f(); return 'ok'; } catch (e) { if (e instanceof PgtemuError) return e.code; throw e; }
}

describe('the reference model checks releases and frees tables as the core does', () => {
  it('plain lists', () => {
    const m = Machine.createSync({ arch: 'x86_64', ramMiB: 64, tablePoolMiB: 4 });
    const r = RefMachine.of(m);
    const mm = m.createMm(), rm = r.createMm();
    for (const x of [mm, rm]) {
      x.mmap({ start: A, length: 4n * MiB, populate: true });
      x.mmap({ start: A + 8n * MiB, length: 2n * MiB, hugeOrder: 9, populate: true });
    }
    const ps = BigInt(m.desc.pageShift);
    const gm = mm.gupFast(A + MiB, 4), gr = rm.gupFast(A + MiB, 4);
    const pm = mm.gupFast(A + 8n * MiB, 2, { pin: true }), pr = rm.gupFast(A + 8n * MiB, 2, { pin: true });
    type Side = { small: bigint; head: bigint; zero: bigint; root: bigint; got: readonly bigint[] };
    const lists = ({ small, head, zero, root, got }: Side): { pfns: bigint[]; pin: boolean; want: string }[] => [
      { pfns: [small], pin: false, want: 'EINVAL' },                 // the mapping's reference
      { pfns: [small], pin: true, want: 'EINVAL' },                  // no pins
      { pfns: [head + 5n], pin: false, want: 'EINVAL' },             // a THP holding pins only
      { pfns: [head + 5n, head + 6n, head + 7n], pin: true, want: 'EINVAL' },   // three pins asked of two
      { pfns: [root], pin: false, want: 'EINVAL' },                  // a table-pool frame
      { pfns: [zero], pin: false, want: 'EINVAL' },                  // the zero page's own reference
      { pfns: [zero, zero], pin: true, want: 'ok' },                 // zero-page pins are not counted
      { pfns: [...got, got[0]], pin: false, want: 'EINVAL' },        // one get more than taken
      { pfns: [...got], pin: false, want: 'ok' },
      { pfns: [head + 1n, head + 9n], pin: true, want: 'ok' },
    ];
    const lm = lists({
      small: m.walk(mm, A).pfn!, head: m.walk(mm, A + 8n * MiB).pfn!, zero: m.stats().zoneStartPfn - 1n, root: mm.rootPa >> ps, got: Array.from(gm.pfns),
    });
    const lr = lists({
      small: r.walk(rm, A).pfn!, head: r.walk(rm, A + 8n * MiB).pfn!, zero: BigInt(r.zeroPfn), root: rm.rootPa >> ps, got: gr.pfns,
    });
    for (const [i, l] of lm.entries()) {
      const a = outcome(() => m.unpin({ pfns: l.pfns, pin: l.pin }));
      const b = outcome(() => r.unpin({ pfns: lr[i].pfns, pin: l.pin }));
      expect([a, b]).toEqual([l.want, l.want]);
      expect(r.stats()).toMatchObject({ gupOutstanding: m.stats().gupOutstanding, pinOutstanding: m.stats().pinOutstanding, freePages: m.stats().freePages });
    }
    expect(outcome(() => m.unpin(pm))).toBe('EINVAL');              // its pins went back as a plain list
    expect(outcome(() => r.unpin(pr))).toBe('EINVAL');
    expect(gr.nr).toBe(4);
    expect(m.checkInvariants()).toEqual([]);
  });

  it('munmap next to a live neighbour', () => {
    const m = Machine.createSync({ arch: 'x86_64', ramMiB: 64, tablePoolMiB: 4 });
    const r = RefMachine.of(m);
    const mm = m.createMm(), rm = r.createMm();
    for (const x of [mm, rm]) {
      x.mmap({ start: A, length: 4096n });
      x.mmap({ start: A + 4096n, length: 4096n, populate: true });
      x.munmap(A + 4096n, 4096n);
    }
    expect(r.stats().poolFreeBytes).toBe(m.stats().poolFreeBytes);
    expect(mm.counters().pgtablesBytes).toBe(rm.counters().pgtablesBytes);
    for (const x of [mm, rm]) x.munmap(A, 4096n);
    expect(r.stats().poolFreeBytes).toBe(m.stats().poolFreeBytes);
  });
});
