import { mulberry32 } from '@gradsign/optim-core';
import type { QuantizationCode } from '../src/index.js';

const f = Math.fround;

/** Plain-JS block-wise quantization, the definition the tfjs implementation must match exactly. */
export function quantizeRef(values: Float32Array, code: QuantizationCode, blockSize = 256) {
  const n = values.length;
  const blocks = Math.ceil(n / blockSize);
  const codes = new Uint8Array(n);
  const absmax = new Float32Array(blocks);
  for (let b = 0; b < blocks; b++) {
    const end = Math.min(n, (b + 1) * blockSize);
    let max = 0;
    for (let i = b * blockSize; i < end; i++) max = Math.max(max, Math.abs(values[i]!));
    absmax[b] = max;
    const divisor = max > 0 ? max : 1;
    for (let i = b * blockSize; i < end; i++) {
      const x = f(values[i]! / divisor);
      let below = 0; // the number of midpoints strictly below x
      while (below < 255 && code.midpoints[below]! < x) below++;
      codes[i] = below;
    }
  }
  return { codes, absmax };
}

export function dequantizeRef(
  codes: ArrayLike<number>,
  absmax: Float32Array,
  code: QuantizationCode,
  blockSize = 256,
) {
  return Float32Array.from({ length: codes.length }, (_, i) =>
    f(code.values[codes[i]!]! * absmax[Math.floor(i / blockSize)]!),
  );
}

/** Seeded standard normal samples (Box–Muller over mulberry32). */
export function randn(seed: number, n: number, scale = 1): Float32Array {
  const next = mulberry32(seed);
  const random = () => next() / 4294967296; // [0, 1)
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - random();
    const v = random();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = scale * r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = scale * r * Math.sin(2 * Math.PI * v);
  }
  return out;
}
