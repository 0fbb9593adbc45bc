import { createHash } from 'node:crypto';
import { Mulberry32 as SharedMulberry32 } from '@gradsign/optim-core/rng';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Mulberry32, md5, permutation, shuffleInPlace } from '../src/core.js';

const nodeMd5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');

describe('md5', () => {
  it('matches the RFC 1321 test suite', () => {
    const text = (s: string) => md5(new TextEncoder().encode(s));
    expect(text('')).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(text('a')).toBe('0cc175b9c0f1b6a831c399e269772661');
    expect(text('abc')).toBe('900150983cd24fb0d6963f7d28e17f72');
    expect(text('message digest')).toBe('f96b697d7cb7938d525a2f31aaf161d0');
    expect(text('12345678901234567890123456789012345678901234567890123456789012345678901234567890')).toBe(
      '57edf4a22be3c955ac49da2e2107b67a',
    );
  });

  it('agrees with node:crypto at every padding boundary and on random data', () => {
    for (const n of [55, 56, 57, 63, 64, 65, 119, 120, 128, 1000]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 131 + 7) & 0xff);
      expect(md5(bytes)).toBe(nodeMd5(bytes));
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(md5(bytes)).toBe(nodeMd5(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it('hashes a view with an offset by its own bytes only', () => {
    const backing = Uint8Array.from({ length: 200 }, (_, i) => i);
    expect(md5(backing.subarray(10, 150))).toBe(nodeMd5(backing.subarray(10, 150)));
  });
});

describe('Mulberry32', () => {
  it("is optim-core's, the one PRNG of the packages (its stream is tested there)", () => {
    expect(Mulberry32).toBe(SharedMulberry32);
  });
});

describe('Fisher–Yates', () => {
  it('gives a permutation and consumes exactly n − 1 outputs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer(), (n, seed) => {
        const rng = new Mulberry32(seed);
        const order = permutation(n, rng);
        expect(Array.from(order).sort((x, y) => x - y)).toEqual(Array.from({ length: n }, (_, i) => i));
        const counter = new Mulberry32(seed);
        for (let i = 0; i < Math.max(0, n - 1); i++) counter.nextUint32();
        expect(rng.state).toBe(counter.state);
      }),
      { numRuns: 100 },
    );
  });

  it('follows the documented algorithm step by step', () => {
    const a = [10, 11, 12, 13, 14];
    const rng = new Mulberry32(3);
    const expected = a.slice();
    const reference = new Mulberry32(3);
    for (let i = expected.length - 1; i > 0; i--) {
      const j = Math.floor(reference.nextFloat() * (i + 1));
      [expected[i], expected[j]] = [expected[j]!, expected[i]!];
    }
    shuffleInPlace(a, rng);
    expect(a).toEqual(expected);
  });
});
