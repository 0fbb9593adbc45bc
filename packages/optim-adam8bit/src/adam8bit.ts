import {
  Adam,
  type AdamConfig,
  type AdamStateFormats,
  AdamW,
  blockwise8,
  integer,
  nonNegativeFinite,
  registerOptimizerClass,
} from '@gradsign/optim-core';
import type * as tf from '@tensorflow/tfjs-core';
import { DYNAMIC_SIGNED, DYNAMIC_UNSIGNED } from './dynamic-map.js';

/** bitsandbytes' 8-bit optimizers quantize in blocks of 256 elements. */
export const BLOCK_SIZE = 256;

/** bitsandbytes' `min_8bit_size`: tensors with fewer elements keep float32 state. */
export const MIN_QUANTIZED_SIZE = 4096;

export interface Adam8bitConfig extends AdamConfig {
  /** Tensors with fewer elements keep float32 moments (default 4096, bitsandbytes' `min_8bit_size`). */
  minQuantizedSize?: number;
}

/**
 * Adam's slot formats in 8 bits: optim-core's `blockwise8` (blocks of 256, a float32 absmax per block) with the
 * first moment in the signed dynamic code and the second moment in the unsigned one. Pass them to optim-core's
 * `Adam` or `AdamW`.
 */
export function adam8bitFormats(minQuantizedSize = MIN_QUANTIZED_SIZE): AdamStateFormats {
  return {
    m: blockwise8({ code: DYNAMIC_SIGNED, blockSize: BLOCK_SIZE, minSize: minQuantizedSize }),
    v: blockwise8({ code: DYNAMIC_UNSIGNED, blockSize: BLOCK_SIZE, minSize: minQuantizedSize }),
  };
}

/** Separates `minQuantizedSize` (an integer >= 0) from Adam's own options. */
function split(where: string, config: Adam8bitConfig): [AdamConfig, number] {
  const { minQuantizedSize = MIN_QUANTIZED_SIZE, ...adam } = config;
  integer(minQuantizedSize, 'minQuantizedSize', where);
  nonNegativeFinite(minQuantizedSize, 'minQuantizedSize', where);
  return [adam, minQuantizedSize];
}

/**
 * 8-bit Adam (classic L2 weight decay), as bitsandbytes' `Adam8bit`: optim-core's Adam rule, unchanged, with both
 * moments in block-wise 8-bit formats. About 2.03 bytes of state per parameter.
 */
export class Adam8bit extends Adam {
  static override readonly className: string = 'gradsign.Adam8bit';
  readonly minQuantizedSize: number;

  constructor(config: Adam8bitConfig = {}) {
    const [adam, minQuantizedSize] = split(new.target.name, config);
    super(adam, adam8bitFormats(minQuantizedSize));
    this.minQuantizedSize = minQuantizedSize;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), minQuantizedSize: this.minQuantizedSize };
  }
}

/**
 * 8-bit AdamW (decoupled weight decay: p *= 1 - lr·wd; default 0.01), as bitsandbytes' `AdamW8bit`: optim-core's
 * AdamW, unchanged, with the formats of `Adam8bit`.
 */
export class AdamW8bit extends AdamW {
  static override readonly className: string = 'gradsign.AdamW8bit';
  readonly minQuantizedSize: number;

  constructor(config: Adam8bitConfig = {}) {
    const [adam, minQuantizedSize] = split(new.target.name, config);
    super(adam, adam8bitFormats(minQuantizedSize));
    this.minQuantizedSize = minQuantizedSize;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), minQuantizedSize: this.minQuantizedSize };
  }
}

registerOptimizerClass(Adam8bit, { aliases: ['Adam8bit'] });
registerOptimizerClass(AdamW8bit, { aliases: ['AdamW8bit'] });
