// gup_test's two phases in the core (v6.12 mm/gup_test.c __gup_test_ioctl):
// gupGetPhase keeps every call's pfns after the previous call's in the
// context's output array and holds all their references when it returns;
// the put phase (unpin over that array) gives them all back. The phase ends
// after a call that came up short, as gup_test's loop does, and refuses what
// the array cannot hold.
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/index.js';
import { E_INVAL, FOLL_GET, FOLL_PIN, FOLL_WRITE, GUP_OUT_RUNS, GUP_PIN_COUNTING_BIAS, GUP_RELEASE_OWN } from '../../src/host/consts.gen.js';

const A = 0x1000_0000n;
const MiB = 1n << 20n;

function machine() {
  const m = Machine.createSync({ arch: 'x86_64', ramMiB: 64, tablePoolMiB: 2, threads: 1 });
  const mm = m.createMm();
  mm.mmap({ start: A, length: 2n * MiB, populate: true });
  return { m, mm };
}

describe('gupGetPhase (gup_test\'s get phase) and the put phase', () => {
  it.each([
    ['pin', FOLL_PIN, GUP_PIN_COUNTING_BIAS],
    ['get', FOLL_GET, 1],
  ] as const)('%s: every call\'s pfns in order, every reference held until the put phase', (_, foll, unit) => {
    const { m, mm } = machine();
    const free = m.stats().freePages;
    const flags = foll | FOLL_WRITE;
    // 512 pages in calls of 24: 21 whole calls and a last one of 8
    const o = m.calls.call('gupGetPhase', { mm: mm.ptr, nr: 24, start: A, flags, rounds: 0, span: 512 });
    expect([o.status, Number(o.pages), Number(o.short), o.rounds]).toEqual([0, 512, 0, 22]);
    expect(m.stats().gupOutstanding).toBe(BigInt(512 * unit));
    const out = new BigUint64Array(m.memory.buffer, m.outPtr, 512);
    const pfns = Array.from({ length: 512 }, (_, i) => m.walk(mm, A + (BigInt(i) << 12n)).pfn);
    expect([...out]).toEqual(pfns);                                   // gup_test's pages + i
    for (const i of [0, 23, 24, 511]) expect(m.page(pfns[i]!).refcount).toBe(1 + unit);
    const u = m.calls.call('unpin', { n: 512, flags: flags | GUP_RELEASE_OWN });
    expect([u.status, u.released]).toEqual([0, 512]);
    expect(m.stats().gupOutstanding).toBe(0n);
    for (const i of [0, 23, 24, 511]) expect(m.page(pfns[i]!).refcount).toBe(1);
    expect(m.stats().freePages).toBe(free);
    expect(m.checkInvariants()).toEqual([]);
  });

  it('ends after a call that came up short, holding what it took', () => {
    const { m, mm } = machine();
    // 2 MiB mapped, then nothing: the 33rd call of 16 finds no vma
    const o = m.calls.call('gupGetPhase', { mm: mm.ptr, nr: 16, start: A, flags: FOLL_PIN, rounds: 0, span: 1024 });
    expect([o.status, Number(o.pages), Number(o.short), o.rounds]).toEqual([0, 512, 1, 33]);
    expect(m.stats().gupOutstanding).toBe(512n * BigInt(GUP_PIN_COUNTING_BIAS));
    expect(m.calls.call('unpin', { n: 512, flags: FOLL_PIN | GUP_RELEASE_OWN }).status).toBe(0);
    expect(m.stats().gupOutstanding).toBe(0n);
    expect(m.checkInvariants()).toEqual([]);
  });

  it('refuses what the output array cannot hold, and the runs form, taking nothing', () => {
    const { m, mm } = machine();
    const cap = m.maxPagesPerCall;
    const ok = { mm: mm.ptr, nr: 16, start: A, flags: FOLL_PIN, rounds: 0, span: 512 };
    for (const bad of [
      { ...ok, span: 0 }, { ...ok, span: cap + 1 }, { ...ok, nr: 0 }, { ...ok, nr: cap + 1 }, { ...ok, flags: FOLL_PIN | GUP_OUT_RUNS },
    ]) {
      const o = m.calls.call('gupGetPhase', bad);
      expect([o.status, Number(o.pages), o.rounds], `nr ${bad.nr} span ${bad.span} flags ${bad.flags}`).toEqual([E_INVAL, 0, 0]);
    }
    expect(m.stats().gupOutstanding).toBe(0n);
    // the array is as it was: a whole-array phase still fits after the refusals
    const o = m.calls.call('gupGetPhase', { ...ok, nr: 512, span: 512 });
    expect([o.status, Number(o.pages)]).toEqual([0, 512]);
    expect(m.calls.call('unpin', { n: 512, flags: FOLL_PIN | GUP_RELEASE_OWN }).status).toBe(0);
    expect(m.checkInvariants()).toEqual([]);
  });
});
