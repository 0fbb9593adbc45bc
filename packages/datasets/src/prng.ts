/**
 * The shuffle behind every data order. It draws from mulberry32, the one PRNG of the @gradsign packages, which lives
 * in `@gradsign/optim-core/rng` (see there for its definition) and is re-exported here as part of this package's API.
 * Both are platform-free, so Node and browsers produce the same order bit for bit.
 */
import { Mulberry32 } from '@gradsign/optim-core/rng';

export { Mulberry32 };

/**
 * Fisher–Yates shuffle in place, from the last element down:
 * for i = n−1 … 1: j = floor(rng.nextFloat() · (i + 1)); swap a[i], a[j].
 * Consumes exactly n − 1 PRNG outputs (none for n ≤ 1).
 */
export function shuffleInPlace(a: { length: number; [i: number]: number }, rng: Mulberry32): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng.nextFloat() * (i + 1));
    const tmp = a[i]!;
    a[i] = a[j]!;
    a[j] = tmp;
  }
}

/** A seeded permutation of 0 … n−1: Fisher–Yates applied to the identity. */
export function permutation(n: number, rng: Mulberry32): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  shuffleInPlace(order, rng);
  return order;
}
