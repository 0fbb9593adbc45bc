/**
 * The PRNG and shuffle behind every data order. Both are platform-free and use only 32-bit integer arithmetic and
 * exact double operations, so Node and browsers produce the same sequence bit for bit.
 *
 * PRNG: mulberry32 (Tommy Ettinger), state one uint32. One step:
 *
 *     state = (state + 0x6D2B79F5) mod 2^32
 *     t = imul(state ^ (state >>> 15), state | 1)
 *     t = (t + imul(t ^ (t >>> 7), t | 61)) ^ t
 *     output = (t ^ (t >>> 14)) >>> 0          // uint32
 */
export class Mulberry32 {
  private s: number;

  /** `seed` is reduced to a uint32 (`seed >>> 0`). */
  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** The current state (a uint32); `new Mulberry32(rng.state)` continues the same sequence. */
  get state(): number {
    return this.s;
  }

  /** The next output as a uint32. */
  nextUint32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(this.s ^ (this.s >>> 15), this.s | 1);
    t = (t + Math.imul(t ^ (t >>> 7), t | 61)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** The next output as a double in [0, 1): `nextUint32() / 2^32`. */
  nextFloat(): number {
    return this.nextUint32() / 0x100000000;
  }
}

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
