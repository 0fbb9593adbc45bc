// The kernel wing ('@gradsign/backends/kernels'): every custom TF.js kernel of the project and its gradient, on
// tfjs-core alone. Which of them a backend gets installed is the policy of '../policy.ts'; the BiasLeakyBatchNorm
// ops register their kernels on first use.

export { ADAM_FLOAT32 } from './adam-float32-simd.js';
export {
  BIAS_LEAKY_AFFINE,
  BIAS_LEAKY_BATCH_NORM,
  BIAS_LEAKY_BATCH_NORM_BACKENDS,
  BIAS_LEAKY_BATCH_NORM_GRAD,
  biasLeakyAffine,
  biasLeakyBatchNorm,
  biasLeakyBatchNormAvailable,
  registerBiasLeakyBatchNorm,
  setBiasLeakyBatchNormSimd,
} from './bias-leaky-batch-norm.js';
export { ADAM_BLOCKWISE8, LION_BLOCKWISE8 } from './blockwise8-simd.js';
export {
  CONV2D_FILTER_GRAD_SIMD,
  CONV2D_FILTER_GRAD_WINOGRAD,
  conv2dFilterGradViaSimd,
} from './conv-filter-grad-simd.js';
export {
  conv2dFilterGradViaConv,
  conv2dFilterGradViaMatMul,
  conv2dInputGradViaConv,
  type InputGradMethod,
} from './conv2d-grad.js';
export { setWinogradMaxTile, winogradTile } from './conv3x3-winograd.js';
export { GRADSIGN_PACKED4 } from './gradsign-packed4-simd.js';
export { LION_BF16 } from './lion-bf16-simd.js';
export { maxPoolBackprop, maxPoolGradUsesSimd, setMaxPoolGradSimd } from './maxpool-grad.js';
export {
  KERNEL_BUILD_PREFERENCES,
  type KernelBuild,
  type KernelBuildPreference,
  RELAXED_SIMD_PROBE,
  relaxedSimdSupported,
  setWasmKernelBuild,
  wasmKernelBuild,
} from './relaxed-simd.js';
export type { ReplicaSum } from './replica-sum.js';
export { ROTATE_FILTER } from './rotate-filter.js';
