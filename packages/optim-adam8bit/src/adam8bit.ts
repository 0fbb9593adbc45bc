import {
  Adam,
  type AdamConfig,
  type AdamStateFormats,
  AdamW,
  blockwise8,
  boolean,
  fusedAdamBlockwise8,
  nonNegativeInteger,
  type OptionChecks,
  registerOptimizerClass,
  type SlotStorage,
} from '@gradsign/optim-core';
import type * as tf from '@tensorflow/tfjs-core';
import { DYNAMIC_SIGNED, DYNAMIC_UNSIGNED } from './dynamic-map.js';

/** bitsandbytes' 8-bit optimizers quantize in blocks of 256 elements. */
export const BLOCK_SIZE = 256;

/** bitsandbytes' `min_8bit_size`: tensors with fewer elements keep float32 state. */
export const MIN_QUANTIZED_SIZE = 4096;

/** Options of `Adam8bit` and `AdamW8bit`: optim-core's Adam options plus `minQuantizedSize` and `fused`. */
export interface Adam8bitConfig extends AdamConfig {
  /** Tensors with fewer elements keep float32 moments (default 4096, bitsandbytes' `min_8bit_size`). */
  minQuantizedSize?: number;
  /**
   * Use optim-core's fused block-wise 8-bit Adam kernel where the backend has it (cpu, wasm; default true). It is
   * bit-identical to the op-composed rule, which every other backend (and `fused: false`) takes.
   */
  fused?: boolean;
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

/** An Adam class (optim-core's `Adam` or `AdamW`) with the 8-bit formats and the `minQuantizedSize` option. */
type EightBitAdamClass<Base extends Adam> = Omit<typeof Adam, 'prototype' | 'defaults' | 'options'> & {
  readonly defaults: Readonly<Required<Adam8bitConfig>>;
  readonly options: OptionChecks<Adam8bitConfig>;
} & (new (
    config?: Adam8bitConfig,
  ) => Base & { readonly config: Required<Adam8bitConfig>; readonly minQuantizedSize: number });

/**
 * The one body of `Adam8bit` and `AdamW8bit`: `base`'s rule, unchanged, with both moments in the formats of
 * `adam8bitFormats`, two more options (`minQuantizedSize`, `fused`) and the fused step where the backend has it.
 * optim-core's Adam takes its options, defaults and formats from the class's statics, so declaring them is all it
 * takes.
 */
function eightBit<Base extends Adam>(base: typeof Adam): EightBitAdamClass<Base> {
  return class extends base {
    static override readonly defaults: Readonly<Required<Adam8bitConfig>> = Object.freeze({
      ...base.defaults,
      minQuantizedSize: MIN_QUANTIZED_SIZE,
      fused: true,
    });
    static override readonly options: OptionChecks<Adam8bitConfig> = Object.freeze({
      ...base.options,
      minQuantizedSize: nonNegativeInteger,
      fused: boolean,
    });
    static override stateFormats(config: Required<Adam8bitConfig>): AdamStateFormats {
      return adam8bitFormats(config.minQuantizedSize);
    }

    /** Tensors with fewer elements keep float32 moments. */
    get minQuantizedSize(): number {
      return (this.config as Required<Adam8bitConfig>).minQuantizedSize;
    }

    protected override fusedUpdate(
      param: tf.Variable,
      grad: tf.Tensor,
      slots: ReadonlyMap<string, SlotStorage>,
      step: number,
    ): boolean {
      const config = this.config as Required<Adam8bitConfig>;
      if (!config.fused) return false;
      const hyper = { ...config, learningRate: this.learningRate, decoupledWeightDecay: this.decoupled };
      // block-wise 8-bit moments, else (tensors under minQuantizedSize) float32 ones
      return (
        fusedAdamBlockwise8(param, grad, slots.get('m'), slots.get('v'), step, hyper) ||
        super.fusedUpdate(param, grad, slots, step)
      );
    }
  } as unknown as EightBitAdamClass<Base>;
}

/**
 * 8-bit Adam (classic L2 weight decay), as bitsandbytes' `Adam8bit`: optim-core's Adam rule, unchanged, with both
 * moments in block-wise 8-bit formats. About 2.03 bytes of state per parameter.
 */
export class Adam8bit extends eightBit<Adam>(Adam) {
  static override readonly className: string = 'gradsign.Adam8bit';
}

/**
 * 8-bit AdamW (decoupled weight decay: p *= 1 - lr·wd; default 0.01), as bitsandbytes' `AdamW8bit`: optim-core's
 * AdamW, unchanged, with the formats of `Adam8bit`.
 */
export class AdamW8bit extends eightBit<AdamW>(AdamW) {
  static override readonly className: string = 'gradsign.AdamW8bit';
}

registerOptimizerClass(Adam8bit, { aliases: ['Adam8bit'] });
registerOptimizerClass(AdamW8bit, { aliases: ['AdamW8bit'] });
