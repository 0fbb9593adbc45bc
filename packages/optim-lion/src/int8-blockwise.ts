import { type Blockwise8Format, blockwise8, type Int8Lanes, linearCode } from '@gradsign/optim-core';

/** Options of the {@link int8Blockwise} format. */
export interface Int8BlockwiseOptions {
  /** Elements per absmax block (default 256). */
  blockSize?: number;
  /** Tensors with fewer elements keep float32 state (default 4096, as bitsandbytes' `min_8bit_size`). */
  minSize?: number;
  /** Bytes per int32 word; 'auto' picks 4 on exact-int32 backends and 3 on WebGL, at allocation. */
  lanes?: Int8Lanes | 'auto';
}

/**
 * Lion's `'int8-blockwise'` momentum: optim-core's `blockwise8` format with the linear code of 127 levels, per
 * block of `blockSize` elements one float32 absmax and per element q = floor(127 · m/absmax + 0.5) in [-127, 127],
 * decoded as (q/127) · absmax. Bytes for n elements: 4·ceil(n/4) + 4·ceil(n/blockSize), about 1.016 per element at
 * block size 256; tensors under `minSize` elements take 4 bytes per element in float32. The id ('int8-blockwise')
 * and the portable parts are those of earlier versions: `q` (int32 in [-127, 127], stored as int8) and `absmax`.
 */
export function int8Blockwise(options: Int8BlockwiseOptions = {}): Blockwise8Format {
  return blockwise8({ ...options, code: linearCode(127), id: 'int8-blockwise', codesPart: 'q' });
}
