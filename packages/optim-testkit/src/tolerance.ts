/** The golden-vector tolerance: |actual - expected| <= rel·|expected| + abs·max|expected|. */
export interface Tolerance {
  rel: number;
  /** Relative to the largest magnitude in the expected tensor. */
  absOfMax: number;
}

/** The default golden tolerance: relative 1e-5, plus 1e-6 of the largest expected magnitude. */
export const GOLDEN_TOLERANCE: Tolerance = { rel: 1e-5, absOfMax: 1e-6 };

/** One element out of tolerance: its index, both values and the absolute difference allowed there. */
export interface Mismatch {
  index: number;
  actual: number;
  expected: number;
  allowed: number;
}

/** Elements outside tolerance (NaN anywhere counts as a mismatch). */
export function mismatches(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
): Mismatch[] {
  if (actual.length !== expected.length)
    throw new Error(`length ${actual.length} != expected ${expected.length}`);
  let maxAbs = 0;
  for (let i = 0; i < expected.length; i++) maxAbs = Math.max(maxAbs, Math.abs(expected[i]!));
  const out: Mismatch[] = [];
  for (let i = 0; i < expected.length; i++) {
    const allowed = tol.rel * Math.abs(expected[i]!) + tol.absOfMax * maxAbs;
    const diff = Math.abs(actual[i]! - expected[i]!);
    if (!(diff <= allowed)) out.push({ index: i, actual: actual[i]!, expected: expected[i]!, allowed });
  }
  return out;
}

/** Indices where two integer arrays differ. */
export function exactMismatches(actual: ArrayLike<number>, expected: ArrayLike<number>): Mismatch[] {
  if (actual.length !== expected.length)
    throw new Error(`length ${actual.length} != expected ${expected.length}`);
  const out: Mismatch[] = [];
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i])
      out.push({ index: i, actual: actual[i]!, expected: expected[i]!, allowed: 0 });
  }
  return out;
}

/** Bitwise equality of float arrays (distinguishes -0 and +0, equal NaN payloads). */
export function bitsEqual(a: Float32Array | Int32Array, b: Float32Array | Int32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.every((v, i) => v === y[i]);
}
