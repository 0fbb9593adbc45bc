import { registerOptimizer } from '@gradsign/optim-core';
import { Lion } from './lion.js';

export {
  dequantizeInt8Blockwise,
  INT8_LEVELS,
  type Int8BlockwiseOptions,
  int8Blockwise,
  quantizeInt8Blockwise,
} from './int8-blockwise.js';
export {
  Lion,
  type LionConfig,
  type LionHyperparameters,
  type LionStateFormat,
  lionRule,
  lionStateFormat,
} from './lion.js';

registerOptimizer({
  name: 'lion',
  description: 'Lion (sign of an interpolated momentum), int8 block-wise momentum: about 1.02 bytes/param',
  defaults: { learningRate: 1e-4 },
  source: '@gradsign/optim-lion',
  create: (config) => new Lion(config),
});
