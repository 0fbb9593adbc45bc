import { fromClass, registerOptimizer } from '@gradsign/optim-core';
import { Adam8bit, AdamW8bit } from './adam8bit.js';

export {
  Adam8bit,
  type Adam8bitConfig,
  AdamW8bit,
  adam8bitFormats,
  BLOCK_SIZE,
  MIN_QUANTIZED_SIZE,
} from './adam8bit.js';
export {
  codeFromValues,
  createDynamicMap,
  DYNAMIC_SIGNED,
  DYNAMIC_UNSIGNED,
  type QuantizationCode,
} from './dynamic-map.js';

const source = '@gradsign/optim-adam8bit';
registerOptimizer(
  fromClass(Adam8bit, {
    name: 'adam8bit',
    description: '8-bit Adam (bitsandbytes-style block-wise dynamic quantization), about 2.03 bytes/param',
    source,
  }),
);
registerOptimizer(
  fromClass(AdamW8bit, {
    name: 'adamw8bit',
    description: '8-bit AdamW (decoupled weight decay 0.01), about 2.03 bytes/param',
    source,
  }),
);
