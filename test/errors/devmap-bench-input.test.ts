// devmapVsUnified's options: every bad value is refused by name before a machine is made.
import { describe, expect, it } from 'vitest';
import { devmapVsUnified, type DevmapOptions } from '../../src/host/bench.js';
import { expectError } from '../helpers/snapshot.js';

describe('devmapVsUnified refuses bad options', () => {
  it.each([0, -1, 2.5, NaN, Infinity, 10_001, 2 ** 53, '3', null, undefined])('rounds %s', (rounds) => {
    expectError(() => devmapVsUnified('x86_64', undefined, { rounds } as unknown as DevmapOptions), 'EINVAL', /devmap bench: rounds .* is not an integer in 1\.\.10000/);
  });
  it.each([-1, NaN, Infinity, 60_001, '5', null])('warmUpMs %s', (warmUpMs) => {
    expectError(() => devmapVsUnified('x86_64', undefined, { rounds: 3, warmUpMs } as unknown as DevmapOptions), 'EINVAL', /devmap bench: warmUpMs .* is not in 0\.\.60000/);
  });
  it.each([0, -0.5, NaN, Infinity, 1001, '1', null])('batchMs %s', (batchMs) => {
    expectError(() => devmapVsUnified('x86_64', undefined, { rounds: 3, batchMs } as unknown as DevmapOptions), 'EINVAL', /devmap bench: batchMs .* is not in \(0, 1000\]/);
  });
  it('no options at all', () => {
    expectError(() => devmapVsUnified('x86_64', undefined, undefined as unknown as DevmapOptions), 'EINVAL', /rounds undefined/);
  });
  it('an unknown arch or variant', () => {
    expectError(() => devmapVsUnified('mips', undefined, { rounds: 3 }), 'EUNKNOWN', /unknown arch 'mips'/);
    expectError(() => devmapVsUnified('x86_64', 'nope', { rounds: 3 }), 'EUNKNOWN', /unknown x86_64 variant 'nope'/);
    expect(() => devmapVsUnified('x86_64', '__proto__', { rounds: 3 })).toThrow(/unknown x86_64 variant/);
  });
});
