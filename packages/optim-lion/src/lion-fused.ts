import {
  type Blockwise8Codec,
  Blockwise8Storage,
  blockwise8Codec,
  bytesOf,
  clearPadding,
  hasKernel,
  planarPositions,
  registerArrayKernel,
  runArrayKernel,
  type SlotStorage,
} from '@gradsign/optim-core';
import type * as tf from '@tensorflow/tfjs-core';
import { Bf16Storage } from './bf16.js';
import type { LionHyperparameters } from './lion.js';

/**
 * Fused Lion steps on cpu and wasm, one pass over the parameter, the gradient and the packed momentum (JavaScript
 * loops on the backends' memory in place), for momentum in block-wise int8 (any `linearCode`/`lookupCode`) or in
 * bf16. Each step is the float32 operation of `lionRule` and of the format's encode and decode, in the same order,
 * so results are bit-identical to the op-composed path; tests hold them to it.
 */
export const LION_BLOCKWISE8_KERNEL = 'LionBlockwise8Update';
/** The fused Lion kernel for bf16 momentum (inputs `param`, `grad`, `words`; attr `hyper`). */
export const LION_BF16_KERNEL = 'LionBf16Update';

const f = Math.fround;

/** A fused kernel's inputs or outputs: the tensors' memory, float32 or int32. */
export type LionArrays = readonly (Float32Array | Int32Array)[];

/** Lion's float32 constants, as tfjs makes its scalars (`decay` is 1 without weight decay). */
export function lionConstants(h: LionHyperparameters) {
  return {
    beta1: f(h.beta1),
    oneMinusBeta1: f(1 - h.beta1),
    beta2: f(h.beta2),
    oneMinusBeta2: f(1 - h.beta2),
    decay: h.weightDecay !== 0 ? f(1 - h.learningRate * h.weightDecay) : 1,
    decays: h.weightDecay !== 0,
    lr: f(h.learningRate),
  };
}

/** Lion's float32 constants ({@link lionConstants}). */
export type LionConstants = ReturnType<typeof lionConstants>;

/** What the block-wise 8-bit Lion loop needs besides the arrays: the rule's constants, block size, codec. */
export interface LionBlockwise8Attrs {
  readonly constants: LionConstants;
  readonly blockSize: number;
  readonly codec: Blockwise8Codec;
}

/** Lion over whole blocks of block-wise 8-bit momentum (four bytes to a word). */
export function lionBlockwise8Step(
  [param, grad, words, absmax]: LionArrays,
  [outParam, outWords, outAbsmax]: LionArrays,
  { constants: k, blockSize, codec }: LionBlockwise8Attrs,
): void {
  const n = param!.length;
  const wordCount = words!.length;
  const bytesIn = bytesOf(words!);
  const bytesOut = bytesOf(outWords!);
  const table = codec.decode;
  const positions = new Int32Array(blockSize);
  const block = new Float32Array(blockSize);
  const blockBits = new Uint32Array(block.buffer);
  for (let b = 0, start = 0; start < n; b++, start += blockSize) {
    const count = Math.min(blockSize, n - start);
    planarPositions(start, count, wordCount, 4, positions);
    const scale = absmax![b]!;
    let max = 0;
    for (let j = 0; j < count; j++) {
      const i = start + j;
      const m = f(table[bytesIn[positions[j]!]!]! * scale);
      const g = grad![i]!;
      const c = f(f(m * k.beta1) + f(g * k.oneMinusBeta1));
      const p = k.decays ? f(param![i]! * k.decay) : param![i]!;
      outParam![i] = f(p - f((c < 0 ? -1 : c > 0 ? 1 : 0) * k.lr));
      const next = f(f(m * k.beta2) + f(g * k.oneMinusBeta2));
      block[j] = next;
      max = Math.max(max, Math.abs(next));
    }
    outAbsmax![b] = max;
    codec.encodeBlock(block, blockBits, count, max > 0 ? max : 1, positions, bytesOut);
  }
  clearPadding(n, wordCount, 4, bytesOut);
}

/** Lion over bf16 momentum, two patterns to a word (planar), rounding to nearest even as `toBf16Bits` does. */
export function lionBf16Step(
  [param, grad, words]: LionArrays,
  [outParam, outWords]: LionArrays,
  hyper: LionHyperparameters,
) {
  const k = lionConstants(hyper);
  const n = param!.length;
  const wordCount = words!.length;
  const halvesIn = new Uint16Array(words!.buffer, words!.byteOffset, 2 * wordCount);
  const halvesOut = new Uint16Array(outWords!.buffer, outWords!.byteOffset, 2 * wordCount);
  const bits = new Uint32Array(1);
  const float = new Float32Array(bits.buffer);
  for (let i = 0, lane = 0, word = 0; i < n; i++) {
    const pos = 2 * word + lane;
    if (++word === wordCount) {
      word = 0;
      lane++;
    }
    bits[0] = halvesIn[pos]! << 16;
    const m = float[0]!;
    const g = grad![i]!;
    const c = f(f(m * k.beta1) + f(g * k.oneMinusBeta1));
    const p = k.decays ? f(param![i]! * k.decay) : param![i]!;
    outParam![i] = f(p - f((c < 0 ? -1 : c > 0 ? 1 : 0) * k.lr));
    float[0] = f(f(m * k.beta2) + f(g * k.oneMinusBeta2));
    const b = bits[0]!;
    // round to nearest even on the low 16 bits; −0 is stored as +0, as toBf16Bits stores it
    halvesOut[pos] = b === 0x80000000 ? 0 : (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  clearPadding(n, wordCount, 2, halvesOut);
}

registerArrayKernel(
  LION_BLOCKWISE8_KERNEL,
  ['param', 'grad', 'words', 'absmax'],
  ([param, , words, absmax]) => [
    { shape: param!.shape, dtype: 'float32' },
    { shape: words!.shape, dtype: 'int32' },
    { shape: absmax!.shape, dtype: 'float32' },
  ],
  (inputs, outputs, attrs) => lionBlockwise8Step(inputs, outputs, attrs as unknown as LionBlockwise8Attrs),
);

registerArrayKernel(
  LION_BF16_KERNEL,
  ['param', 'grad', 'words'],
  ([param, , words]) => [
    { shape: param!.shape, dtype: 'float32' },
    { shape: words!.shape, dtype: 'int32' },
  ],
  (inputs, outputs, attrs) => lionBf16Step(inputs, outputs, attrs.hyper as unknown as LionHyperparameters),
);

/**
 * One fused Lion step of `param` with momentum `m`, where the active backend has the kernel (cpu, wasm) and `m` is
 * block-wise 8-bit with four bytes to a word (a `linearCode` or `lookupCode`) or bf16 with two patterns to a word.
 * Updates both and returns true; otherwise changes nothing and returns false (take the op-composed path).
 */
export function fusedLion(
  param: tf.Variable,
  grad: tf.Tensor,
  m: SlotStorage | undefined,
  hyper: LionHyperparameters,
): boolean {
  if (m instanceof Blockwise8Storage) {
    const codec = blockwise8Codec(m.code);
    if (m.lanes !== 4 || codec === null || !hasKernel(LION_BLOCKWISE8_KERNEL)) return false;
    const attrs = {
      constants: lionConstants(hyper),
      blockSize: m.blockSize,
      codec,
    } as unknown as tf.NamedAttrMap;
    const outs = runArrayKernel(
      LION_BLOCKWISE8_KERNEL,
      { param, grad, words: m.words, absmax: m.absmax },
      attrs,
    );
    param.assign(outs[0]!);
    m.words.assign(outs[1]!);
    m.absmax.assign(outs[2]!);
    for (const t of outs) t.dispose();
    return true;
  }
  if (m instanceof Bf16Storage) {
    if (m.lanes !== 2 || !hasKernel(LION_BF16_KERNEL)) return false;
    const attrs = { hyper } as unknown as tf.NamedAttrMap;
    const outs = runArrayKernel(LION_BF16_KERNEL, { param, grad, words: m.words }, attrs);
    param.assign(outs[0]!);
    m.words.assign(outs[1]!);
    for (const t of outs) t.dispose();
    return true;
  }
  return false;
}
