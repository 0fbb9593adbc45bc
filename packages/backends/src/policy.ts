import * as tf from '@tensorflow/tfjs-core';
import { registerGradients, stockGradConfig } from './gradients.js';
import { ADAM_FLOAT32, wasmAdamFloat32Kernel } from './kernels/adam-float32-simd.js';
import {
  ADAM_BLOCKWISE8,
  LION_BLOCKWISE8,
  wasmAdamBlockwise8Kernel,
  wasmLionBlockwise8Kernel,
} from './kernels/blockwise8-simd.js';
import { setConvFilterGradWinograd } from './kernels/conv-filter-grad-simd.js';
import {
  conv2DBackpropInputGradConfig,
  conv2DGradConfig,
  convGradMethod,
  type InputGradMethod,
  setConvFilterGradMatMul,
  setConvFilterGradSimd,
  setConvGradBackend,
} from './kernels/conv2d-grad.js';
import { wasmConv2DKernel } from './kernels/conv3x3-winograd.js';
import { GRADSIGN_PACKED4, wasmGradSignPacked4Kernel } from './kernels/gradsign-packed4-simd.js';
import { installWasmIdentityAlias, removeWasmIdentityAlias } from './kernels/identity-alias.js';
import { LION_BF16, wasmLionBf16Kernel } from './kernels/lion-bf16-simd.js';
import { wasmMaxPoolGradKernel } from './kernels/maxpool-grad.js';

/** The training fixes this package knows. */
export type FixName =
  | 'conv2d-grad'
  | 'maxpool-grad'
  | 'conv2d-winograd'
  | 'gradsign-simd'
  | 'lion-simd'
  | 'blockwise8-simd'
  | 'adam-simd';

/** Description of one training fix: its name, where it applies and what it changes. */
export interface FixInfo {
  name: FixName;
  /** Backends the fix is installed on by default. */
  defaultBackends: readonly string[];
  /** Backends the fix can be installed on at all. */
  supportedBackends: readonly string[] | 'all';
  summary: string;
}

/** Every training fix this package can install, with the backends it applies to and why it exists. */
export const FIXES: readonly FixInfo[] = [
  {
    name: 'conv2d-grad',
    defaultBackends: ['wasm', 'cpu'],
    supportedBackends: 'all',
    summary:
      'Conv2D gradients as conv2d calls: wasm has no Conv2DBackpropFilter kernel (tfjs issue 8474), and ' +
      "cpu's stock Conv2DBackpropFilter is far slower than a convolution. On wasm the filter gradient of " +
      'stride-1 convs comes from a WebAssembly SIMD kernel instead.',
  },
  {
    name: 'maxpool-grad',
    defaultBackends: ['wasm'],
    supportedBackends: ['wasm'],
    summary:
      "wasm's MaxPoolGrad drops the gradient of windows whose values are all <= 0 and breaks ties on the last " +
      'maximum; replaced by a kernel with the cpu semantics (first maximum, running max from -Infinity).',
  },
  {
    name: 'conv2d-winograd',
    defaultBackends: ['wasm'],
    supportedBackends: ['wasm'],
    summary:
      "Conv2D with 3x3 filters and stride 1 (channels multiples of 4) and its filter gradient by Winograd's " +
      'F(4x4, 3x3) (outputs of 6x6 and more) or F(2x2, 3x3) as a WebAssembly SIMD kernel: a reference-CNN ' +
      'training step about 2x faster than with XNNPACK (other convs keep the stock kernel). It rounds differently ' +
      'from XNNPACK (F(4x4, 3x3) at about 6e-6 of the largest output).',
  },
  {
    name: 'gradsign-simd',
    defaultBackends: ['wasm'],
    supportedBackends: ['wasm'],
    summary:
      "optim-core's fused GradSign step (packed int8 counters) as a WebAssembly SIMD kernel instead of its " +
      'JavaScript loop on the wasm heap, bit-identical to it. Installed only where @gradsign/optim-core has ' +
      'registered that kernel (import it before installing the fixes).',
  },
  {
    name: 'lion-simd',
    defaultBackends: ['wasm'],
    supportedBackends: ['wasm'],
    summary:
      "optim-lion's fused Lion step with bf16 momentum as a WebAssembly SIMD kernel instead of its JavaScript loop " +
      'on the wasm heap, bit-identical to it. Installed only where @gradsign/optim-lion has registered that kernel.',
  },
  {
    name: 'blockwise8-simd',
    defaultBackends: ['wasm'],
    supportedBackends: ['wasm'],
    summary:
      "The fused steps on block-wise 8-bit state (optim-core's Adam, used by Adam8bit, and optim-lion's Lion with " +
      'int8 momentum) as a WebAssembly kernel with SIMD arithmetic instead of their JavaScript loops on the wasm ' +
      'heap, bit-identical to them. Replaces each kernel whose package has registered it.',
  },
  {
    name: 'adam-simd',
    defaultBackends: ['wasm'],
    supportedBackends: ['wasm'],
    summary:
      "optim-core's fused Adam step on float32 moments (Adam, AdamW) as a WebAssembly SIMD kernel instead of its " +
      'JavaScript loop on the wasm heap, bit-identical to it. Installed only where @gradsign/optim-core has ' +
      'registered that kernel.',
  },
];

/**
 * How each backend computes conv2d's input gradient under the fix. On wasm the stock Conv2DBackpropInput
 * kernel is ~10x slower than a conv2d (measured, see bench/conv-grad.mjs); on cpu they are about even, so the
 * stock kernel stays.
 */
const INPUT_GRAD_METHOD: Record<string, InputGradMethod> = { wasm: 'conv2d', cpu: 'stock' };

/**
 * Per backend, the largest input-channel count whose conv filter gradient is one matMul of im2col(x)ᵀ and dy
 * instead of a conv2d. On wasm the matMul form is about 5x faster for one input channel (the reference CNN's first
 * layer) and slower from a few dozen channels on; on cpu the conv2d form stays. On wasm both only serve where the
 * SIMD kernel below does not apply or cannot run.
 */
const MATMUL_FILTER_GRAD_MAX_CHANNELS: Record<string, number> = { wasm: 1 };

/**
 * Backends whose conv filter gradients use the WebAssembly SIMD kernel (stride 1, output channels a multiple of
 * 4) by default. On wasm it is about 2x faster than the conv2d form on the reference CNN's 32-channel layers and
 * about 3x faster than the matMul form on its first layer (see bench/conv-grad.mjs); where it does not apply or
 * cannot run (no SIMD), the matMul and conv2d forms above are used.
 */
const SIMD_FILTER_GRAD: Record<string, boolean> = { wasm: true };

/** Options of {@link installTrainingFixes}: which fixes to install and how the conv gradient fix computes. */
export interface InstallTrainingFixesOptions {
  /** Which fixes to install; defaults to the fixes whose `defaultBackends` include the backend. */
  fixes?: readonly FixName[];
  /** Override the conv2d input-gradient method for this backend. */
  convInputGrad?: InputGradMethod;
  /**
   * Convs with at most this many input channels (stride 1) get their filter gradient from one matMul instead of
   * a conv2d. Defaults to 1 on wasm and 0 (never) elsewhere.
   */
  convFilterGradMatMulMaxChannels?: number;
  /**
   * On wasm, whether Identity (the engine's clone of every tensor saved for a gradient) shares the input's data
   * instead of copying it (default true). The values are the same either way; false restores the stock kernel.
   */
  wasmIdentityAlias?: boolean;
  /**
   * Whether conv filter gradients use the WebAssembly SIMD kernel where it applies (stride 1, output channels a
   * multiple of 4, wasm backend with SIMD). Defaults to true on wasm; false selects the matMul/conv2d forms (for
   * benchmarks). It has no effect on other backends.
   */
  convFilterGradSimd?: boolean;
}

/** The fixes installed per backend. */
const installed = new Map<string, Set<FixName>>();
/** Stock wasm kernels that a fix replaced, kept so the fix can be removed, and their replacements. */
const stockWasmKernels = new Map<string, tf.KernelConfig>();
const fixedWasmKernels = new Map<string, tf.KernelConfig>();

/** Fixes that apply to a backend by default. */
export function defaultFixes(backendName: string): FixName[] {
  return FIXES.filter((f) => f.defaultBackends.includes(backendName)).map((f) => f.name);
}

function ensureConvGradRegistered(): void {
  if (tf.getGradient(tf.Conv2D) !== conv2DGradConfig) tf.registerGradient(conv2DGradConfig);
  if (tf.getGradient(tf.Conv2DBackpropInput) !== conv2DBackpropInputGradConfig) {
    tf.registerGradient(conv2DBackpropInputGradConfig);
  }
}

/**
 * Replaces the wasm backend's kernel `kernelName` by `wrap(stock kernel)`, keeping the stock kernel's setup and
 * dispose functions (which bind its wasm functions when a backend initialises). Idempotent.
 */
function replaceWasmKernel(
  fix: FixName,
  kernelName: string,
  wrap: (stock: tf.KernelFunc) => tf.KernelFunc,
): void {
  const current = tf.getKernel(kernelName, 'wasm');
  if (current == null) {
    throw new Error(
      `${fix} fix: the wasm backend's kernels are not registered yet; import ` +
        "'@tensorflow/tfjs-backend-wasm' (or call selectBackend) before installTrainingFixes('wasm')",
    );
  }
  if (current === fixedWasmKernels.get(kernelName)) return;
  const fixed: tf.KernelConfig = { ...current, kernelFunc: wrap(current.kernelFunc) };
  stockWasmKernels.set(kernelName, current);
  fixedWasmKernels.set(kernelName, fixed);
  tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel(fixed);
}

function restoreWasmKernel(kernelName: string): void {
  const stock = stockWasmKernels.get(kernelName);
  if (stock == null || tf.getKernel(kernelName, 'wasm') !== fixedWasmKernels.get(kernelName)) return;
  tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel(stock);
  // The stock kernel binds its wasm function in setupFunc, which tfjs runs when the backend initialises. If the
  // backend was initialised while the fix was in place, that never happened for this kernel.
  const backend = tf.findBackend('wasm');
  if (backend != null) stock.setupFunc?.(backend);
}

function isWasmKernelFixed(kernelName: string): boolean {
  const fixed = fixedWasmKernels.get(kernelName);
  return fixed != null && tf.getKernel(kernelName, 'wasm') === fixed;
}

/**
 * Installs the training fixes for a backend (all default fixes for it unless `options.fixes` says otherwise)
 * and returns the fixes now active on it. Also registers tfjs-core's stock gradients if they are missing.
 * Idempotent; calling it again re-installs a fix that something else has overwritten (for example a later
 * import of tfjs's own `register_all_gradients`).
 */
export function installTrainingFixes(
  backendName: string,
  options: InstallTrainingFixesOptions = {},
): FixName[] {
  registerGradients();
  const wanted = options.fixes ?? defaultFixes(backendName);
  const set = installed.get(backendName) ?? new Set<FixName>();
  if (backendName === 'wasm') {
    if (options.wasmIdentityAlias ?? true) installWasmIdentityAlias();
    else removeWasmIdentityAlias();
  }
  for (const fix of wanted) {
    if (fix === 'conv2d-grad') {
      setConvGradBackend(backendName, options.convInputGrad ?? INPUT_GRAD_METHOD[backendName] ?? 'conv2d');
      setConvFilterGradMatMul(
        backendName,
        options.convFilterGradMatMulMaxChannels ?? MATMUL_FILTER_GRAD_MAX_CHANNELS[backendName] ?? 0,
      );
      setConvFilterGradSimd(
        backendName,
        options.convFilterGradSimd ?? SIMD_FILTER_GRAD[backendName] ?? false,
      );
      ensureConvGradRegistered();
    } else if (fix === 'maxpool-grad') {
      if (backendName !== 'wasm')
        throw new Error(`maxpool-grad fix only applies to wasm, not ${backendName}`);
      replaceWasmKernel(fix, tf.MaxPoolGrad, wasmMaxPoolGradKernel);
    } else if (fix === 'conv2d-winograd') {
      if (backendName !== 'wasm')
        throw new Error(`conv2d-winograd fix only applies to wasm, not ${backendName}`);
      replaceWasmKernel(fix, tf.Conv2D, wasmConv2DKernel);
      setConvFilterGradWinograd(backendName, true);
    } else if (fix === 'gradsign-simd') {
      if (backendName !== 'wasm')
        throw new Error(`gradsign-simd fix only applies to wasm, not ${backendName}`);
      // Nothing to replace until optim-core is imported: the fix is then simply not active.
      if (tf.getKernel(GRADSIGN_PACKED4, 'wasm') == null) continue;
      replaceWasmKernel(fix, GRADSIGN_PACKED4, wasmGradSignPacked4Kernel);
    } else if (fix === 'lion-simd') {
      if (backendName !== 'wasm') throw new Error(`lion-simd fix only applies to wasm, not ${backendName}`);
      if (tf.getKernel(LION_BF16, 'wasm') == null) continue;
      replaceWasmKernel(fix, LION_BF16, wasmLionBf16Kernel);
    } else if (fix === 'blockwise8-simd') {
      if (backendName !== 'wasm')
        throw new Error(`blockwise8-simd fix only applies to wasm, not ${backendName}`);
      const adam = tf.getKernel(ADAM_BLOCKWISE8, 'wasm') != null;
      const lion = tf.getKernel(LION_BLOCKWISE8, 'wasm') != null;
      if (adam) replaceWasmKernel(fix, ADAM_BLOCKWISE8, wasmAdamBlockwise8Kernel);
      if (lion) replaceWasmKernel(fix, LION_BLOCKWISE8, wasmLionBlockwise8Kernel);
      if (!adam && !lion) continue;
    } else if (fix === 'adam-simd') {
      if (backendName !== 'wasm') throw new Error(`adam-simd fix only applies to wasm, not ${backendName}`);
      if (tf.getKernel(ADAM_FLOAT32, 'wasm') == null) continue;
      replaceWasmKernel(fix, ADAM_FLOAT32, wasmAdamFloat32Kernel);
    } else {
      throw new Error(`unknown fix ${String(fix)}`);
    }
    set.add(fix);
  }
  installed.set(backendName, set);
  return [...set];
}

/**
 * Removes fixes from a backend (all of them by default), restoring tfjs's stock behaviour there. Meant for
 * tests and benchmarks that compare against stock tfjs.
 */
export function uninstallTrainingFixes(backendName: string, fixes?: readonly FixName[]): void {
  const set = installed.get(backendName);
  for (const fix of fixes ?? FIXES.map((f) => f.name)) {
    if (fix === 'conv2d-grad') setConvGradBackend(backendName, null);
    if (fix === 'maxpool-grad' && backendName === 'wasm') restoreWasmKernel(tf.MaxPoolGrad);
    if (fix === 'conv2d-winograd' && backendName === 'wasm') {
      restoreWasmKernel(tf.Conv2D);
      setConvFilterGradWinograd(backendName, false);
    }
    if (fix === 'gradsign-simd' && backendName === 'wasm') restoreWasmKernel(GRADSIGN_PACKED4);
    if (fix === 'lion-simd' && backendName === 'wasm') restoreWasmKernel(LION_BF16);
    if (fix === 'blockwise8-simd' && backendName === 'wasm') {
      restoreWasmKernel(ADAM_BLOCKWISE8);
      restoreWasmKernel(LION_BLOCKWISE8);
    }
    if (fix === 'adam-simd' && backendName === 'wasm') restoreWasmKernel(ADAM_FLOAT32);
    set?.delete(fix);
  }
  if (backendName === 'wasm' && fixes == null) removeWasmIdentityAlias();
  if (![...installed.keys()].some((b) => convGradMethod(b) != null)) {
    // No backend uses the conv fix any more: put tfjs's own configs back.
    for (const k of [tf.Conv2D, tf.Conv2DBackpropInput]) {
      const stock = stockGradConfig(k);
      if (stock != null && tf.getGradient(k) !== stock) tf.registerGradient(stock);
    }
  }
}

/** The fixes currently active on a backend (checks that they have not been overwritten since). */
export function activeFixes(backendName: string): FixName[] {
  const out: FixName[] = [];
  const set = installed.get(backendName);
  if (set?.has('conv2d-grad') && convGradMethod(backendName) != null) {
    if (tf.getGradient(tf.Conv2D) === conv2DGradConfig) out.push('conv2d-grad');
  }
  if (set?.has('maxpool-grad') && isWasmKernelFixed(tf.MaxPoolGrad)) out.push('maxpool-grad');
  if (set?.has('conv2d-winograd') && isWasmKernelFixed(tf.Conv2D)) out.push('conv2d-winograd');
  if (set?.has('gradsign-simd') && isWasmKernelFixed(GRADSIGN_PACKED4)) out.push('gradsign-simd');
  if (set?.has('lion-simd') && isWasmKernelFixed(LION_BF16)) out.push('lion-simd');
  if (set?.has('blockwise8-simd') && [ADAM_BLOCKWISE8, LION_BLOCKWISE8].some(isWasmKernelFixed))
    out.push('blockwise8-simd');
  if (set?.has('adam-simd') && isWasmKernelFixed(ADAM_FLOAT32)) out.push('adam-simd');
  return out;
}
