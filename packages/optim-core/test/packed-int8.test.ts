import { NODE_BACKENDS, useBackend } from '@gradsign/optim-testkit';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { int8, packInt8, unpackInt8 } from '../src/state/packed-int8.js';

const roundTrip = (values: number[], shape: number[], lanes: 3 | 4) =>
  tf.tidy(() => {
    const words = packInt8(tf.tensor(values, shape, 'int32'), lanes);
    return { words: words.size, out: Array.from(unpackInt8(words, shape, lanes).dataSync()) };
  });

for (const backend of NODE_BACKENDS) {
  describe(`packed int8 on ${backend}`, () => {
    it('round-trips every int8 value in every lane, with 4 and 3 lanes', async () => {
      await useBackend(backend);
      const all = Array.from({ length: 256 * 4 }, (_, i) => (i % 256) - 128);
      for (const lanes of [4, 3] as const) {
        const values = all.slice(0, 256 * lanes);
        const { words, out } = roundTrip(values, [values.length], lanes);
        expect(out).toEqual(values);
        expect(words).toBe(256);
      }
      // the 4-lane words themselves: byte k of word i is lane k's value in two's complement
      const mixed = all.map((_, i) => ((i * 37 + (i >> 8) * 91) % 256) - 128);
      const words = tf.tidy(() => Array.from(packInt8(tf.tensor1d(mixed, 'int32'), 4).dataSync()));
      expect(words).toEqual(
        Array.from(
          { length: 256 },
          (_, i) =>
            (mixed[i]! & 255) |
            ((mixed[256 + i]! & 255) << 8) |
            ((mixed[512 + i]! & 255) << 16) |
            (mixed[768 + i]! << 24),
        ),
      );
    });

    it('round-trips random values of any shape and size (property)', async () => {
      await useBackend(backend);
      fc.assert(
        fc.property(
          fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 0, maxLength: 3 }),
          fc.constantFrom<3 | 4>(3, 4),
          fc.integer(),
          (shape, lanes, seed) => {
            const size = shape.reduce((a, b) => a * b, 1);
            const values = Array.from(
              { length: size },
              (_, i) => (((seed + i * 2654435761) >>> 0) % 256) - 128,
            );
            const { words, out } = roundTrip(values, shape, lanes);
            expect(out).toEqual(values);
            expect(words).toBe(Math.ceil(size / lanes));
          },
        ),
        { numRuns: 60 },
      );
    });

    it('keeps 3-lane words below 2^24, where float-backed int32 is still exact', async () => {
      await useBackend(backend);
      const extremes = [127, 127, 127, -128, -128, -128];
      const max = tf.tidy(() => tf.max(packInt8(tf.tensor1d(extremes, 'int32'), 3)).dataSync()[0]!);
      expect(max).toBeLessThan(2 ** 24);
    });

    it('stores N counters in 4·ceil(N/4) bytes and rejects values outside int8', async () => {
      await useBackend(backend);
      const format = int8({ scale: 1 / 64, lanes: 4 });
      const initial = tf.zeros([1001], 'int32');
      const storage = format.create(initial);
      expect(storage.tensors.reduce((b, t) => b + t.size * 4, 0)).toBe(1004);
      const webglLayout = int8({ scale: 1 / 64, lanes: 3 }).create(initial);
      expect(webglLayout.tensors[0]!.size * 4).toBe(4 * 334); // 4/3·N + 4 at most, as on WebGL
      webglLayout.dispose();
      expect(() => format.validate(tf.tensor1d([128], 'int32'), 'x')).toThrow(/\[-128, 127\]/);
      expect(() => format.validate(tf.tensor1d([1.5]), 'x')).toThrow(/int32/);
      tf.dispose(initial);
      storage.dispose();
    });
  });
}
