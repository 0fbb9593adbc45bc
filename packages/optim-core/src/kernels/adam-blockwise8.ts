import type * as tf from '@tensorflow/tfjs-core';
import type { AdamHyperparameters } from '../optimizers/adam.js';
import { Blockwise8Storage } from '../state/blockwise8.js';
import type { SlotStorage } from '../state/format.js';
import { bytesOf, hasKernel, registerArrayKernel, runArrayKernel } from './array-kernel.js';
import { type Blockwise8Codec, blockwise8Codec, planarPositions } from './blockwise8-codec.js';

/**
 * A fused Adam step on moments in block-wise 8-bit state (optim-adam8bit's `Adam8bit`/`AdamW8bit`, or any Adam
 * whose `m` and `v` are `blockwise8` slots with a `linearCode` or `lookupCode`, four bytes to a word): dequantize,
 * `adamRule`, absmax per block and requantize, in one pass on cpu and wasm. Every step is the float32 operation
 * the op-composed path performs, in the same order, so results are bit-identical; tests hold it to that path.
 */
export const ADAM_BLOCKWISE8_KERNEL = 'AdamBlockwise8Update';

const f = Math.fround;

/** Adam's float32 constants at one step ({@link adamConstants}). */
export type AdamConstants = ReturnType<typeof adamConstants>;

/** What the blockwise 8-bit Adam loop needs besides the arrays: the step's constants, block size, codecs. */
export interface AdamBlockwise8Attrs {
  readonly constants: AdamConstants;
  readonly blockSize: number;
  readonly mCodec: Blockwise8Codec;
  readonly vCodec: Blockwise8Codec;
}

/**
 * Adam's float32 constants at step `step`, as tfjs makes its scalars (Math.fround of the JavaScript values).
 * `decays` says whether decoupled weight decay applies (p · decay first), `l2s` whether L2 weight decay does
 * (g + p · l2): as in `adamRule`, whenever weightDecay is not 0, even where its float32 value is (adding p · 0 still
 * turns a −0 gradient into +0).
 */
export function adamConstants(h: AdamHyperparameters, step: number) {
  return {
    beta1: f(h.beta1),
    oneMinusBeta1: f(1 - h.beta1),
    beta2: f(h.beta2),
    oneMinusBeta2: f(1 - h.beta2),
    stepSize: f(h.learningRate / (1 - h.beta1 ** step)),
    correction2: f(Math.sqrt(1 - h.beta2 ** step)),
    epsilon: f(h.epsilon),
    decays: h.weightDecay !== 0 && h.decoupledWeightDecay,
    decay: f(1 - h.learningRate * h.weightDecay),
    l2s: h.weightDecay !== 0 && !h.decoupledWeightDecay,
    l2: f(h.weightDecay),
  };
}

/** The Adam step over whole blocks; `outParam` gets the parameter, the other outputs the packed state. */
export function adamBlockwise8Step(
  [param, grad, mWords, mAbsmax, vWords, vAbsmax]: readonly (Float32Array | Int32Array)[],
  [outParam, outMWords, outMAbsmax, outVWords, outVAbsmax]: readonly (Float32Array | Int32Array)[],
  { constants, blockSize, mCodec, vCodec }: AdamBlockwise8Attrs,
): void {
  const n = param!.length;
  const words = mWords!.length;
  const [mIn, vIn, mOut, vOut] = [mWords!, vWords!, outMWords!, outVWords!].map(bytesOf) as Uint8Array[];
  const mTable = mCodec.decode;
  const vTable = vCodec.decode;
  const {
    beta1,
    oneMinusBeta1,
    beta2,
    oneMinusBeta2,
    stepSize,
    correction2,
    epsilon,
    decays,
    decay,
    l2s,
    l2,
  } = constants;
  const positions = new Int32Array(blockSize);
  const mBlock = new Float32Array(blockSize);
  const vBlock = new Float32Array(blockSize);
  const mBits = new Uint32Array(mBlock.buffer);
  const vBits = new Uint32Array(vBlock.buffer);
  for (let b = 0, start = 0; start < n; b++, start += blockSize) {
    const count = Math.min(blockSize, n - start);
    planarPositions(start, count, words, 4, positions);
    const mScale = mAbsmax![b]!;
    const vScale = vAbsmax![b]!;
    let mMax = 0;
    let vMax = 0;
    for (let k = 0; k < count; k++) {
      const i = start + k;
      const pos = positions[k]!;
      let p = param![i]!;
      let g = grad![i]!;
      if (decays) p = f(p * decay);
      if (l2s) g = f(g + f(p * l2));
      const m = f(f(f(mTable[mIn![pos]!]! * mScale) * beta1) + f(g * oneMinusBeta1));
      const v = f(f(f(vTable[vIn![pos]!]! * vScale) * beta2) + f(f(g * g) * oneMinusBeta2));
      const denom = f(f(f(Math.sqrt(v)) / correction2) + epsilon);
      outParam![i] = f(p - f(f(m / denom) * stepSize));
      mBlock[k] = m;
      vBlock[k] = v;
      mMax = Math.max(mMax, Math.abs(m));
      vMax = Math.max(vMax, Math.abs(v));
    }
    outMAbsmax![b] = mMax;
    outVAbsmax![b] = vMax;
    mCodec.encodeBlock(mBlock, mBits, count, mMax > 0 ? mMax : 1, positions, mOut!);
    vCodec.encodeBlock(vBlock, vBits, count, vMax > 0 ? vMax : 1, positions, vOut!);
  }
  clearPadding(n, words, 4, mOut!);
  clearPadding(n, words, 4, vOut!);
}

/** Zeroes the lanes past the last element, as `packInt8` leaves them. */
export function clearPadding(n: number, words: number, lanes: number, bytes: Uint8Array | Uint16Array): void {
  for (let i = n; i < words * lanes; i++) bytes[lanes * (i % words) + Math.floor(i / words)] = 0;
}

registerArrayKernel(
  ADAM_BLOCKWISE8_KERNEL,
  ['param', 'grad', 'mWords', 'mAbsmax', 'vWords', 'vAbsmax'],
  ([param, , mWords, mAbsmax, vWords, vAbsmax]) => [
    { shape: param!.shape, dtype: 'float32' },
    { shape: mWords!.shape, dtype: 'int32' },
    { shape: mAbsmax!.shape, dtype: 'float32' },
    { shape: vWords!.shape, dtype: 'int32' },
    { shape: vAbsmax!.shape, dtype: 'float32' },
  ],
  (inputs, outputs, attrs) => adamBlockwise8Step(inputs, outputs, attrs as unknown as AdamBlockwise8Attrs),
);

/**
 * One fused Adam step of `param` with `m` and `v` in block-wise 8-bit state, where the active backend has the
 * kernel (cpu, wasm) and both slots are fusable (four bytes to a word, the same block size, codes from
 * `linearCode` or `lookupCode`). Updates the parameter and both slots and returns true; otherwise changes nothing
 * and returns false, and the caller takes the op-composed path.
 */
export function fusedAdamBlockwise8(
  param: tf.Variable,
  grad: tf.Tensor,
  m: SlotStorage | undefined,
  v: SlotStorage | undefined,
  step: number,
  hyper: AdamHyperparameters,
): boolean {
  if (!(m instanceof Blockwise8Storage) || !(v instanceof Blockwise8Storage)) return false;
  if (m.lanes !== 4 || v.lanes !== 4 || m.blockSize !== v.blockSize || !hasKernel(ADAM_BLOCKWISE8_KERNEL))
    return false;
  const mCodec = blockwise8Codec(m.code);
  const vCodec = blockwise8Codec(v.code);
  if (mCodec === null || vCodec === null) return false;
  const attrs: AdamBlockwise8Attrs = {
    constants: adamConstants(hyper, step),
    blockSize: m.blockSize,
    mCodec,
    vCodec,
  };
  const outs = runArrayKernel(
    ADAM_BLOCKWISE8_KERNEL,
    { param, grad, mWords: m.words, mAbsmax: m.absmax, vWords: v.words, vAbsmax: v.absmax },
    attrs as unknown as tf.NamedAttrMap,
  );
  const [nextParam, mWords, mAbsmax, vWords, vAbsmax] = outs;
  param.assign(nextParam!);
  m.words.assign(mWords!);
  m.absmax.assign(mAbsmax!);
  v.words.assign(vWords!);
  v.absmax.assign(vAbsmax!);
  for (const t of outs) t.dispose();
  return true;
}
