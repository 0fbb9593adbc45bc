/**
 * mulberry32: a small, fast, seedable 32-bit PRNG. The same seed gives the same stream on every platform.
 * Returns a function yielding uint32 values.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Fills `out` with integers uniform in [low, high] (inclusive); the range must be a power of two in size. */
export function fillUniformInt(next: () => number, out: Int32Array, low: number, high: number): Int32Array {
  const span = high - low + 1;
  if (span <= 0 || (span & (span - 1)) !== 0)
    throw new RangeError(`range size ${span} is not a power of two`);
  for (let i = 0; i < out.length; i++) out[i] = low + (next() % span);
  return out;
}
