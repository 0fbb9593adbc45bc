import { fail, type LookupCode, lookupCode } from '@gradsign/optim-core';

/**
 * The 8-bit "dynamic" data type of bitsandbytes (`bitsandbytes.functional.create_dynamic_map`, after Dettmers 2015,
 * "8-Bit Approximations for Parallelism in Deep Learning"): 256 sorted values in [-1, 1] (signed) or [0, 1]
 * (unsigned) whose spacing is roughly logarithmic, so small magnitudes keep a few significant digits after a block
 * is normalised by its absolute maximum.
 *
 * With 7 exponent bits, decade i (i = 0..6) covers 10^(i-6)·[0.1, 1] with 2^i (signed) or 2^(i+1) (unsigned)
 * values: the midpoints of `linspace(0.1, 1, n + 1)` scaled by 10^(i-6). Add 0 and 1 and sort:
 * - signed: 127 negative values (the most negative is about -0.9930, not -1), 0, 127 positive values and 1.0;
 * - unsigned: 0, 254 positive values and 1.0.
 *
 * Every value is computed the way bitsandbytes computes it in float32 (torch.linspace's two-sided formula, then the
 * mean of neighbours, then the scale), so a value may differ from bitsandbytes' table in the last bit at most.
 *
 * A map is an optim-core `LookupCode` (256 sorted `values`, the 255 `midpoints` between them), the code of
 * optim-core's `blockwise8` format: x encodes as the number of midpoints below it.
 */
export type QuantizationCode = LookupCode;

const f = Math.fround;

/** torch.linspace(start, end, steps) in float32, as its CPU kernel computes it (both halves anchored at an end). */
function linspace32(start: number, end: number, steps: number): number[] {
  const a = f(start);
  const b = f(end);
  const step = f(f(b - a) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  return Array.from({ length: steps }, (_, i) =>
    i < halfway ? f(a + f(step * i)) : f(b - f(step * (steps - i - 1))),
  );
}

const DECADES = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1];

/** bitsandbytes' `create_dynamic_map(signed, max_exponent_bits=7, total_bits=8)`. */
export function createDynamicMap(signed: boolean): QuantizationCode {
  const data: number[] = [];
  DECADES.forEach((scale, i) => {
    const items = signed ? 2 ** i + 1 : 2 ** (i + 1) + 1;
    const bounds = linspace32(0.1, 1, items);
    const means = bounds.slice(1).map((hi, k) => f(f(bounds[k]! + hi) / 2));
    for (const mean of means) data.push(f(f(scale) * mean));
    if (signed) for (const mean of means) data.push(f(f(-scale) * mean));
  });
  data.push(0, 1);
  if (data.length !== 256) throw new Error(`dynamic map has ${data.length} values, not 256`);
  return codeFromValues(signed ? 'dynamic' : 'udynamic', data);
}

/**
 * A code from 256 values (sorted here), as optim-core's `lookupCode`; throws an `OptimizerError` unless they are
 * 256 distinct finite values within [-1, 1].
 */
export function codeFromValues(name: string, values: ArrayLike<number>): QuantizationCode {
  if (values.length !== 256) fail('invalid-config', `a code needs 256 values, got ${values.length}`);
  return lookupCode(name, values);
}

/** The signed dynamic map, which bitsandbytes uses for Adam's first moment. */
export const DYNAMIC_SIGNED: QuantizationCode = createDynamicMap(true);

/** The unsigned dynamic map, which bitsandbytes uses for Adam's second moment. */
export const DYNAMIC_UNSIGNED: QuantizationCode = createDynamicMap(false);
