// The random-walk benchmark's loop (the core's walkMany: the walk to one
// address inlined, once per byte order) walks as the public walk does: the
// same xorshift64 addresses, walked one at a time through Machine.walk, end
// on a leaf as often and on the same entries. The region is populated in
// part, so walks also end on empty entries at two levels.
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/index.js';
import { VARIANTS } from '../helpers/machines.js';

const M64 = (1n << 64n) - 1n;

describe.each(VARIANTS)('walkMany on $arch/$variant', ({ arch, variant }) => {
  it('ends on the leaves the public walk ends on', () => {
    const m = Machine.createSync({ arch, variant, ramMiB: 64, tablePoolMiB: 4 });
    const mm = m.createMm();
    const ps = BigInt(m.desc.pageShift);
    const lv = m.desc.levels;
    const span = 1n << BigInt(lv[lv.length - 2].shift);       // one last-level table's reach
    const start = 1n << 32n;
    mm.mmap({ start, length: 4n * span });
    // the first table in part, the third a few pages; the second and fourth never made
    mm.populate(start, 24n << ps, { write: true });
    mm.populate(start + 2n * span + (5n << ps), 3n << ps, { write: false });
    const count = 600, seed = 0x9e3779b97f4a7c15n;
    const ends = new Set<string>();
    let hitsSeen = 0n;
    // a window of 48 pages (half populated), and all four tables' reach
    for (const len of [48n << ps, 4n * span]) {
      const o = m.call('walkMany', { mm: mm.ptr, start, len, count, seed });
      const got = { hits: o.hits, acc: o.acc };        // (a view of the context: read before the next call)
      let x = seed | 1n, hits = 0n, acc = 0n;
      for (let i = 0; i < count; i++) {
        x ^= (x << 13n) & M64; x ^= x >> 7n; x ^= (x << 17n) & M64;
        const w = m.walk(mm, start + ((x % len) & ~((1n << ps) - 1n)));
        ends.add(`${w.status}@${w.level}`);
        if (w.status === 'ok') { hits++; acc ^= w.entry; }
      }
      expect(got).toEqual({ hits, acc });
      hitsSeen += hits;
    }
    expect(ends.size, [...ends].join(' ')).toBeGreaterThanOrEqual(3);   // leaves, and empty entries at two levels
    expect(hitsSeen).toBeGreaterThan(100n);
  });
});
