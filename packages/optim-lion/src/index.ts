import { fromClass, registerOptimizer } from '@gradsign/optim-core';
import { Lion } from './lion.js';

export {
  type Bf16Lanes,
  type Bf16Options,
  bf16,
  bf16LanesForBackend,
  fromBf16Bits,
  packBf16,
  toBf16Bits,
  unpackBf16,
} from './bf16.js';
export { type Int8BlockwiseOptions, int8Blockwise } from './int8-blockwise.js';
export {
  Lion,
  type LionConfig,
  type LionHyperparameters,
  type LionStateFormat,
  lionRule,
  lionStateFormat,
} from './lion.js';
export {
  fusedLion,
  LION_BF16_KERNEL,
  LION_BLOCKWISE8_KERNEL,
  type LionArrays,
  type LionBlockwise8Attrs,
  type LionConstants,
  lionBf16Step,
  lionBlockwise8Step,
  lionConstants,
} from './lion-fused.js';

registerOptimizer(
  fromClass(Lion, {
    name: 'lion',
    description:
      'Lion (sign of an interpolated momentum); momentum in int8 block-wise (1.02 bytes/param), bf16 or float32',
    source: '@gradsign/optim-lion',
  }),
);
