import * as tf from '@tensorflow/tfjs-core';

/**
 * Kernels that run JavaScript loops on their tensors' memory in place: on cpu the backend's typed arrays, on wasm
 * views on the wasm heap (as the packed GradSign kernel does). One pass over typed arrays replaces the dozens of
 * tfjs ops of an op-composed step; the arithmetic is the same float32 arithmetic, written with `Math.fround`.
 */

/** Shape and dtype of one output of an array kernel. */
export interface OutputSpec {
  readonly shape: number[];
  readonly dtype: 'float32' | 'int32';
}

/** The loop of an array kernel: reads `inputs`, writes every element of `outputs` (wasm outputs start dirty). */
export type ArrayKernelBody = (
  inputs: readonly (Float32Array | Int32Array)[],
  outputs: readonly (Float32Array | Int32Array)[],
  attrs: tf.NamedAttrMap,
) => void;

interface CpuBackend {
  readSync(dataId: tf.DataId): unknown;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array | Int32Array): tf.TensorInfo;
}

interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array;
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Registers `body` as kernel `name` on cpu and wasm (once per process), with inputs in the order of `inputNames`
 * and outputs as `outputsOf` says.
 */
export function registerArrayKernel(
  name: string,
  inputNames: readonly string[],
  outputsOf: (inputs: readonly tf.TensorInfo[], attrs: tf.NamedAttrMap) => OutputSpec[],
  body: ArrayKernelBody,
): void {
  const infos = (inputs: tf.NamedTensorInfoMap) => inputNames.map((n) => inputs[n]!);
  if (!tf.getKernel(name, 'cpu')) {
    tf.registerKernel({
      kernelName: name,
      backendName: 'cpu',
      kernelFunc: ({ inputs, backend, attrs }) => {
        const cpu = backend as unknown as CpuBackend;
        const ins = infos(inputs);
        const specs = outputsOf(ins, attrs!);
        const outs = specs.map((s) =>
          s.dtype === 'float32' ? new Float32Array(sizeOf(s.shape)) : new Int32Array(sizeOf(s.shape)),
        );
        body(
          ins.map((t) => cpu.readSync(t.dataId) as Float32Array | Int32Array),
          outs,
          attrs!,
        );
        return specs.map((s, i) => cpu.makeTensorInfo(s.shape, s.dtype, outs[i]!));
      },
    });
  }
  if (!tf.getKernel(name, 'wasm')) {
    tf.registerKernel({
      kernelName: name,
      backendName: 'wasm',
      kernelFunc: ({ inputs, backend, attrs }) => {
        const wasm = backend as unknown as WasmBackend;
        const ins = infos(inputs);
        // Allocate first: allocation may grow the heap, which detaches views taken earlier.
        const outs = outputsOf(ins, attrs!).map((s) => wasm.makeOutput(s.shape, s.dtype));
        const view = (t: tf.TensorInfo) => wasm.typedArrayFromHeap(t);
        body(ins.map(view), outs.map(view), attrs!);
        return outs;
      },
    });
  }
}

/** Whether the active backend has kernel `name`. */
export function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/** Runs kernel `name` on `inputs` (named as registered) and returns its outputs; the caller owns them. */
export function runArrayKernel(name: string, inputs: Record<string, tf.Tensor>, attrs: tf.NamedAttrMap) {
  return tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs) as unknown as tf.Tensor[];
}

/** The bytes of an int32 array (little-endian on every platform tfjs runs on). */
export const bytesOf = (a: Float32Array | Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
