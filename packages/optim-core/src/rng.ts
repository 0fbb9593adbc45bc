/**
 * The one PRNG of every `@gradsign` package: GradSign's counter initialisation, the trainer's initialisation and
 * dropout, the data order (`@gradsign/datasets`) and the tests' random inputs. It is platform-free and uses only
 * 32-bit integer arithmetic and exact double operations, so Node and browsers produce the same sequence bit for bit.
 * It imports nothing, and packages that want only the PRNG import it as `@gradsign/optim-core/rng`.
 *
 * mulberry32 (Tommy Ettinger), state one uint32. One step:
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

/** The stream of `new Mulberry32(seed)` as a function yielding its uint32 outputs. */
export function mulberry32(seed: number): () => number {
  const rng = new Mulberry32(seed);
  return () => rng.nextUint32();
}

/** Fills `out` with integers uniform in [low, high] (inclusive); the range must be a power of two in size. */
export function fillUniformInt(next: () => number, out: Int32Array, low: number, high: number): Int32Array {
  const span = high - low + 1;
  if (span <= 0 || (span & (span - 1)) !== 0)
    throw new RangeError(`range size ${span} is not a power of two`);
  for (let i = 0; i < out.length; i++) out[i] = low + (next() % span);
  return out;
}
