export {
  type ApplyIfFiniteOptions,
  allFinite,
  applyIfFinite,
  type FiniteGuard,
  type FiniteGuardCounts,
  NonFiniteError,
} from './apply-if-finite.js';
export { fail, OptimizerError, type OptimizerErrorCode } from './errors.js';
export {
  ADAM_BLOCKWISE8_KERNEL,
  type AdamBlockwise8Attrs,
  type AdamConstants,
  adamBlockwise8Step,
  adamConstants,
  clearPadding,
  fusedAdamBlockwise8,
} from './kernels/adam-blockwise8.js';
export {
  ADAM_FLOAT32_KERNEL,
  type AdamFloat32Attrs,
  adamFloat32Step,
  fusedAdamFloat32,
} from './kernels/adam-float32.js';
export {
  type ArrayKernelBody,
  bytesOf,
  hasKernel,
  type OutputSpec,
  registerArrayKernel,
  runArrayKernel,
} from './kernels/array-kernel.js';
export {
  type Blockwise8Codec,
  type Blockwise8CodecForm,
  blockwise8Codec,
  planarPositions,
} from './kernels/blockwise8-codec.js';
export {
  GRADSIGN_PACKED4_KERNEL,
  gradSignPacked4Step,
  hasGradSignPacked4Kernel,
  type Packed4Counters,
  runGradSignPacked4,
} from './kernels/gradsign-packed4.js';
export {
  Adam,
  type AdamConfig,
  type AdamHyperparameters,
  type AdamStateFormats,
  AdamW,
  adamRule,
} from './optimizers/adam.js';
export {
  COUNTER_SCALE,
  GRADSIGN_TIMESCALES,
  GradSign,
  type GradSignConfig,
  type GradSignCounters,
  type GradSignTimescale,
  gradSignCounters,
  gradSignRule,
  REFERENCE_COUNTERS,
  type ZeroGradient,
} from './optimizers/gradsign.js';
export { SGD, type SgdConfig, type SgdHyperparameters, sgdRule } from './optimizers/sgd.js';
export { fromPyTorch, type PyTorchOptimizer } from './pytorch.js';
export {
  createOptimizer,
  type DescribedOptimizerClass,
  fromClass,
  GRADSIGN_ABLATIONS,
  getOptimizerEntry,
  listOptimizers,
  type OptimizerConfig,
  type OptimizerEntry,
  type RegisteredOptimizer,
  registerOptimizer,
} from './registry.js';
export type { NamedTensor } from './restored-state.js';
export { fillUniformInt, Mulberry32, mulberry32 } from './rng.js';
export { CLASS_NAME_PREFIX, ownConfig, registerOptimizerClass } from './serialization.js';
export type { SlotSpec, SlotValues, UpdateInput, UpdateResult } from './slots.js';
export {
  type Blockwise8Format,
  type Blockwise8Options,
  Blockwise8Storage,
  type BlockwiseCode,
  blockwise8,
  dequantizeBlockwise,
  type LookupCode,
  linearCode,
  lookupCode,
  quantizeBlockwise,
  type ScalarCodeForm,
  scalarFormOf,
} from './state/blockwise8.js';
export { float32 } from './state/float32.js';
export {
  type PartSpec,
  type SlotFormat,
  type SlotStorage,
  tensorBytes,
  variableFrom,
} from './state/format.js';
export {
  exactLanesForBackend,
  type Int8FormatOptions,
  type Int8Lanes,
  int8,
  packInt8,
  unpackInt8,
} from './state/packed-int8.js';
export { type StateEntry, StatefulOptimizer } from './stateful-optimizer.js';
export {
  boolean,
  type Check,
  checkConfig,
  integer,
  nonNegativeFinite,
  nonNegativeInteger,
  type OptionChecks,
  oneOf,
  positiveFinite,
  unitInterval,
} from './validate.js';
