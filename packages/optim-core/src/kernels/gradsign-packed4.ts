import * as tf from '@tensorflow/tfjs-core';

/**
 * A fused GradSign step over counters packed 4 to an int32 word (the `int8` format's 4-lane planar layout), for
 * backends whose tensors JavaScript can read in place: cpu (typed arrays) and wasm (views on the wasm heap). It
 * does in one pass what the op-composed rule does in about thirty, with the same float32 arithmetic, so results are
 * bit-identical; tests hold it to the composed rule.
 */
export const GRADSIGN_PACKED4_KERNEL = 'GradSignPacked4Update';

/** The integer constants of the rule the kernel applies (`GradSignCounters` of the optimizer, as kernel attrs). */
export interface Packed4Counters {
  readonly timescale: number;
  readonly increment: number;
  readonly scale: number;
  readonly zeroGradient: 'negative' | 'zero';
}

const REFERENCE: Packed4Counters = { timescale: 8, increment: 8, scale: 1 / 64, zeroGradient: 'negative' };

/** The GradSign rule element by element on raw arrays. Padding lanes (index ≥ param.length) stay zero. */
export function gradSignPacked4Step(
  param: Float32Array,
  grad: Float32Array,
  words: Int32Array,
  learningRate: number,
  outParam: Float32Array,
  outWords: Int32Array,
  counters: Packed4Counters = REFERENCE,
): void {
  const n = param.length;
  const m = words.length;
  const lr = Math.fround(learningRate);
  const shift = Math.log2(counters.timescale); // T is a power of two: >> shift is floor division by T
  const half = counters.timescale >> 1;
  const k = counters.increment;
  const zeroPushes = counters.zeroGradient === 'negative';
  const scale = counters.scale;
  for (let w = 0; w < m; w++) {
    const word = words[w]!;
    let packed = 0;
    for (let lane = 0; lane < 4; lane++) {
      const i = lane * m + w;
      if (i >= n) break;
      let c = (word << (24 - 8 * lane)) >> 24; // sign-extend the lane's byte
      // +(g > 0) keeps the sign test branchless (NaN > 0 and NaN < 0 are false, as required)
      const g = grad[i]!;
      const push = zeroPushes ? (+(g > 0) << 1) * k - k : (+(g > 0) - +(g < 0)) * k;
      c = c - ((c + half) >> shift) + push;
      outParam[i] = param[i]! - Math.fround(Math.fround(c * scale) * lr);
      packed |= (c & 255) << (8 * lane);
    }
    outWords[w] = packed;
  }
}

const countersOf = (attrs: tf.NamedAttrMap | undefined): Packed4Counters => ({
  timescale: attrs!.timescale as number,
  increment: attrs!.increment as number,
  scale: attrs!.scale as number,
  zeroGradient: attrs!.zeroGradient as Packed4Counters['zeroGradient'],
});

interface CpuBackend {
  readSync(dataId: tf.DataId): unknown;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array | Int32Array): tf.TensorInfo;
}

interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array;
}

function registerOnce(config: tf.KernelConfig): void {
  if (!tf.getKernel(config.kernelName, config.backendName)) tf.registerKernel(config);
}

registerOnce({
  kernelName: GRADSIGN_PACKED4_KERNEL,
  backendName: 'cpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const cpu = backend as unknown as CpuBackend;
    const { param, grad, words } = inputs as Record<string, tf.TensorInfo>;
    const outParam = new Float32Array(param!.shape.reduce((a, b) => a * b, 1));
    const outWords = new Int32Array(words!.shape[0]!);
    const read = (t: tf.TensorInfo) => cpu.readSync(t.dataId);
    gradSignPacked4Step(
      read(param!) as Float32Array,
      read(grad!) as Float32Array,
      read(words!) as Int32Array,
      attrs!.learningRate as number,
      outParam,
      outWords,
      countersOf(attrs),
    );
    return [
      cpu.makeTensorInfo(param!.shape, 'float32', outParam),
      cpu.makeTensorInfo(words!.shape, 'int32', outWords),
    ];
  },
});

registerOnce({
  kernelName: GRADSIGN_PACKED4_KERNEL,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const wasm = backend as unknown as WasmBackend;
    const { param, grad, words } = inputs as Record<string, tf.TensorInfo>;
    // Allocate first: allocation may grow the heap, which detaches views taken earlier.
    const outParam = wasm.makeOutput(param!.shape, 'float32');
    const outWords = wasm.makeOutput(words!.shape, 'int32');
    const view = (t: tf.TensorInfo) => wasm.typedArrayFromHeap(t);
    gradSignPacked4Step(
      view(param!) as Float32Array,
      view(grad!) as Float32Array,
      view(words!) as Int32Array,
      attrs!.learningRate as number,
      view(outParam) as Float32Array,
      view(outWords) as Int32Array,
      countersOf(attrs),
    );
    return [outParam, outWords];
  },
});

/** Whether the active backend has the fused kernel. */
export function hasGradSignPacked4Kernel(): boolean {
  return tf.getKernel(GRADSIGN_PACKED4_KERNEL, tf.getBackend()) !== undefined;
}

/** Runs the fused step: returns the new parameter (shaped like `param`) and the new packed words. */
export function runGradSignPacked4(
  param: tf.Tensor,
  grad: tf.Tensor,
  words: tf.Tensor,
  learningRate: number,
  counters: Packed4Counters = REFERENCE,
) {
  const { timescale, increment, scale, zeroGradient } = counters;
  const [nextParam, nextWords] = tf
    .engine()
    .runKernel(GRADSIGN_PACKED4_KERNEL, { param, grad, words } as unknown as tf.NamedTensorMap, {
      learningRate,
      timescale,
      increment,
      scale,
      zeroGradient,
    }) as tf.Tensor[];
  return { param: nextParam!, words: nextWords! };
}
