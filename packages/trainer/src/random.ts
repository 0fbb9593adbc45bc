import { Mulberry32 } from '@gradsign/optim-core';

/**
 * Independent uint32 seeds for the streams of one run (initialisation, dropout), derived from the run's seed with
 * the murmur3 finaliser so that neighbouring run seeds give unrelated streams.
 */
export function deriveSeed(seed: number, stream: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca77)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Stream numbers passed to {@link deriveSeed}. */
export const STREAM_INIT = 1;
export const STREAM_DROPOUT = 2;

/** Float32 values uniform in [−bound, bound), drawn in order from `rng`. */
export function uniformArray(rng: Mulberry32, size: number, bound: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (rng.nextFloat() * 2 - 1) * bound;
  return out;
}

/**
 * An inverted-dropout mask: each value is 0 with probability `rate`, else 1/(1 − rate) (PyTorch's scaling).
 * Draws exactly `size` values from `rng`.
 */
export function dropoutMask(rng: Mulberry32, size: number, rate: number): Float32Array {
  const out = new Float32Array(size);
  const scale = 1 / (1 - rate);
  for (let i = 0; i < size; i++) out[i] = rng.nextFloat() < rate ? 0 : scale;
  return out;
}

export { Mulberry32 };
