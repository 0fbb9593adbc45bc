// Types only: this package does not depend on optim-core or optim-lion at run time; the kernels' attrs carry
// everything (the step's float32 constants and the codecs as plain data).
import type { AdamBlockwise8Attrs, Blockwise8Codec } from '@gradsign/optim-core';
import type { LionBlockwise8Attrs } from '@gradsign/optim-lion';
import type * as tf from '@tensorflow/tfjs-core';
import { BLOCKWISE8_SHARED_WASM_BASE64, BLOCKWISE8_WASM_BASE64 } from './generated/blockwise8-wasm.js';
import { heapScratch, isWasmBackend, moduleOnWasmHeap, type WasmBackendLike } from './wasm-heap.js';

/**
 * The names of the fused steps on block-wise 8-bit state: optim-core's Adam (`ADAM_BLOCKWISE8_KERNEL`, used by
 * Adam8bit) and optim-lion's Lion (`LION_BLOCKWISE8_KERNEL`, int8 momentum). Both packages register them with
 * JavaScript loops on cpu and wasm; on wasm the `blockwise8-simd` fix replaces those loops by blockwise8.wat. A test
 * holds the names equal.
 */
export const ADAM_BLOCKWISE8 = 'AdamBlockwise8Update';
/** The name of optim-lion's fused Lion step on int8 block-wise momentum (`LION_BLOCKWISE8_KERNEL`); see `ADAM_BLOCKWISE8`. */
export const LION_BLOCKWISE8 = 'LionBlockwise8Update';

interface Blockwise8Exports {
  adamBlockwise8(...args: number[]): void;
  lionBlockwise8(...args: number[]): void;
}

const kernel = moduleOnWasmHeap<Blockwise8Exports>({
  ordinary: BLOCKWISE8_WASM_BASE64,
  shared: BLOCKWISE8_SHARED_WASM_BASE64,
});

/** The module bound to this backend's memory, or null where it cannot run (see `moduleOnWasmHeap`). */
export const blockwise8SimdFor = kernel.bind;

// The codec image's layout (blockwise8.wat): kind, levels, offset, decode table, midpoints, buckets.
const DECODE = 16;
const MIDPOINTS = 1040;
const BUCKETS = 2080;
const FAST = BUCKETS + 4 * 65536;

/** A linear code's image ends after its split reciprocal (hi, lo) and the flag that it reproduces the table. */
const LINEAR_END = MIDPOINTS + 12;

/**
 * 1 / levels as hi + lo, where hi keeps 16 significant bits (so q · hi is exact for every byte's |q| ≤ 128) and
 * lo = fround(1 / levels − hi): fround(q · hi + fround(q · lo)) is then fround(q / levels). Returned only where that
 * reproduces `decode` for every byte (0 where |q| > levels); the kernel otherwise looks the values up.
 */
export function linearSplit(levels: number, decode: Float32Array): { hi: number; lo: number } | null {
  const hiBits = new Float32Array([1 / levels]);
  const bits = new Uint32Array(hiBits.buffer);
  bits[0] = bits[0]! & 0xffffff00;
  const hi = hiBits[0]!;
  const lo = Math.fround(1 / levels - hi);
  for (let byte = 0; byte < 256; byte++) {
    const q = (byte << 24) >> 24;
    const value = Math.abs(q) > levels ? 0 : Math.fround(Math.fround(q * hi) + Math.fround(q * lo));
    if (!Object.is(value, decode[byte])) return null;
  }
  return { hi, lo };
}

/** Per backend, each codec's image on its heap (written once, kept for the backend's life). */
const images = new WeakMap<object, Map<Blockwise8Codec, number>>();

function codecImage(backend: WasmBackendLike, codec: Blockwise8Codec, memory: { malloc(b: number): number }) {
  const perBackend = images.get(backend) ?? new Map<Blockwise8Codec, number>();
  images.set(backend, perBackend);
  const cached = perBackend.get(codec);
  if (cached !== undefined) return cached;
  const form = codec.form;
  const fast = form.kind === 'lookup' ? fastEntries(form.midpoints, form.offset) : null;
  const bytes = form.kind === 'lookup' ? FAST + 4 * 65536 : LINEAR_END;
  const ptr = memory.malloc(bytes);
  const heap = heapBuffer(backend);
  const ints = new Int32Array(heap, ptr, bytes / 4);
  const floats = new Float32Array(heap, ptr, bytes / 4);
  ints[0] = form.kind === 'lookup' ? 1 : 0;
  floats[1] = form.kind === 'linear' ? form.levels : 0;
  ints[2] = form.kind === 'lookup' ? form.offset : 0;
  ints[3] = form.kind === 'linear' || fast != null ? 1 : 0;
  floats.set(codec.decode, DECODE / 4);
  if (form.kind === 'linear') {
    const split = linearSplit(form.levels, codec.decode);
    floats[MIDPOINTS / 4] = split?.hi ?? 0;
    floats[MIDPOINTS / 4 + 1] = split?.lo ?? 0;
    ints[MIDPOINTS / 4 + 2] = split != null ? 1 : 0;
  }
  if (form.kind === 'lookup') {
    const midpoints = new Float32Array(257).fill(Number.POSITIVE_INFINITY);
    midpoints.set(form.midpoints);
    floats.set(midpoints, MIDPOINTS / 4);
    new Uint32Array(heap, ptr + BUCKETS, 65536).set(bucketEntries(form.buckets, form.midpoints));
    if (fast != null) new Uint32Array(heap, ptr + FAST, 65536).set(fast);
  }
  perBackend.set(codec, ptr);
  return ptr;
}

/**
 * Each bucket's entry for blockwise8.wat: lo | span << 8 | t << 16, where for span 1, t is the low 16 bits of
 * midpoint lo (which then has the bucket's top 16 bits, so comparing low bits compares the floats).
 */
function bucketEntries(buckets: Uint16Array, midpoints: Float32Array): Uint32Array {
  const bits = new Uint32Array(Float32Array.from(midpoints).buffer);
  return Uint32Array.from(buckets, (entry, key) => {
    const lo = entry & 255;
    const span = entry >> 8;
    if (span !== 1) return entry;
    // never otherwise; a span of 2 takes the module's binary search
    if (bits[lo]! >>> 16 !== key) return lo | (2 << 8);
    return (lo | (1 << 8) | ((bits[lo]! & 0xffff) << 16)) >>> 0;
  });
}

/**
 * The fast table of blockwise8.wat for a lookup code, or null where it would not give `lowerBound`'s count: where
 * a bucket holds two midpoints, or a midpoint is NaN or −0 (the signed order puts −0 just below +0, so +0 would
 * count as above it; a +0 midpoint is fine: nothing counts as above it but x > 0). Keys are the top 16 bits of
 * t(x): x's float32 pattern with its magnitude bits flipped where the sign is set, so that t is a signed number in
 * the floats' order. For each key: (the number of midpoints below the bucket − offset) & 255 | (the low 16 bits of
 * t(its one midpoint), 0xffff where it has none) << 16.
 */
function fastEntries(midpoints: Float32Array, offset: number): Uint32Array | null {
  const bits = new Int32Array(Float32Array.from(midpoints).buffer);
  const t = Int32Array.from(bits, (b) => (b < 0 ? b ^ 0x7fffffff : b));
  for (let i = 0; i < t.length; i++) {
    if (Number.isNaN(midpoints[i]!) || Object.is(midpoints[i], -0)) return null;
    if (i > 0 && t[i]! <= t[i - 1]!) return null;
  }
  const below = (key: number) => {
    let lo = 0;
    let hi = t.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (t[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const out = new Uint32Array(65536);
  for (let key = 0; key < 65536; key++) {
    const first = (key << 16) | 0; // the bucket's lowest t, as a signed number
    const lo = below(first);
    const inside = below(first + 0x10000) - lo;
    if (inside > 1) return null;
    const low = inside === 1 ? t[lo]! & 0xffff : 0xffff;
    out[key] = (((lo - offset) & 255) | (low << 16)) >>> 0;
  }
  return out;
}

function heapBuffer(backend: WasmBackendLike): ArrayBuffer {
  const m = backend.wasm;
  const memory = (m?.asm?.memory ?? m?.wasmMemory) as WebAssembly.Memory;
  return memory.buffer as ArrayBuffer;
}

/** Whether the module computes this step exactly: float32 tensors, four bytes to a word, whole blocks. */
const fits = (param: tf.TensorInfo, grad: tf.TensorInfo, words: tf.TensorInfo, blockSize: number) =>
  param.dtype === 'float32' &&
  grad.dtype === 'float32' &&
  Number.isInteger(blockSize) &&
  blockSize > 0 &&
  (words.shape[0] ?? 0) * 4 >= param.shape.reduce((a, b) => a * b, 1);

/**
 * Runs `body` with the module, scratch memory of `scratchBytes`, the codec images and pointers to the inputs and to
 * the outputs `outputsOf` allocates, or calls `fallback` where the module cannot run.
 */
function runOnHeap(
  args: Parameters<tf.KernelFunc>[0],
  fallback: tf.KernelFunc | undefined,
  ok: boolean,
  scratchBytes: number,
  outputsOf: (wasm: WasmBackendLike) => tf.TensorInfo[],
  body: (
    simd: Blockwise8Exports,
    ptr: (t: tf.TensorInfo) => number,
    outputs: tf.TensorInfo[],
    scratch: number,
    image: (c: Blockwise8Codec) => number,
  ) => void,
) {
  const backend = args.backend as unknown;
  const simd = isWasmBackend(backend) ? blockwise8SimdFor(backend) : null;
  const memory = isWasmBackend(backend) ? heapScratch(backend) : null;
  if (simd == null || memory == null || !ok) {
    if (fallback == null) throw new Error('blockwise8-simd fix: the JavaScript kernel is missing');
    return fallback(args);
  }
  const wasm = backend as WasmBackendLike;
  // Allocate first: allocation may grow the heap, which moves nothing but detaches views taken earlier.
  const outputs = outputsOf(wasm);
  const scratch = memory.malloc(scratchBytes);
  const image = (c: Blockwise8Codec) => codecImage(wasm, c, memory);
  try {
    body(simd, (t) => wasm.typedArrayFromHeap(t).byteOffset, outputs, scratch, image);
  } finally {
    memory.free(scratch);
  }
  return outputs;
}

const sizeOf = (t: tf.TensorInfo) => t.shape.reduce((a, b) => a * b, 1);

/**
 * Replacement for optim-core's wasm Adam kernel on block-wise 8-bit moments (a JavaScript loop on the wasm heap):
 * the same step as WebAssembly, bit-identical (see blockwise8.wat). Where the module cannot run, it calls the kernel
 * it replaced.
 */
export function wasmAdamBlockwise8Kernel(fallback: tf.KernelFunc | undefined): tf.KernelFunc {
  return (args) => {
    const i = args.inputs as Record<
      'param' | 'grad' | 'mWords' | 'mAbsmax' | 'vWords' | 'vAbsmax',
      tf.TensorInfo
    >;
    const attrs = args.attrs as unknown as AdamBlockwise8Attrs;
    const ok = fits(i.param, i.grad, i.mWords, attrs.blockSize) && i.mWords.shape[0] === i.vWords.shape[0];
    const outputsOf = (wasm: WasmBackendLike) => [
      wasm.makeOutput(i.param.shape, 'float32'),
      wasm.makeOutput(i.mWords.shape, 'int32'),
      wasm.makeOutput(i.mAbsmax.shape, 'float32'),
      wasm.makeOutput(i.vWords.shape, 'int32'),
      wasm.makeOutput(i.vAbsmax.shape, 'float32'),
    ];
    return runOnHeap(args, fallback, ok, 8 * attrs.blockSize, outputsOf, (simd, ptr, out, scratch, image) => {
      const k = attrs.constants;
      simd.adamBlockwise8(
        ptr(i.param),
        ptr(i.grad),
        ptr(i.mWords),
        ptr(i.mAbsmax),
        ptr(i.vWords),
        ptr(i.vAbsmax),
        ...out.map(ptr),
        sizeOf(i.param),
        i.mWords.shape[0] ?? 0,
        attrs.blockSize,
        scratch,
        image(attrs.mCodec),
        image(attrs.vCodec),
        k.beta1,
        k.oneMinusBeta1,
        k.beta2,
        k.oneMinusBeta2,
        k.stepSize,
        k.correction2,
        k.epsilon,
        k.decays ? 1 : 0,
        k.decay,
        k.l2s ? 1 : 0,
        k.l2,
      );
    });
  };
}

/**
 * Replacement for optim-lion's wasm Lion kernel on block-wise int8 momentum (a JavaScript loop on the wasm heap):
 * the same step as WebAssembly, bit-identical (see blockwise8.wat). Where the module cannot run, it calls the kernel
 * it replaced.
 */
export function wasmLionBlockwise8Kernel(fallback: tf.KernelFunc | undefined): tf.KernelFunc {
  return (args) => {
    const i = args.inputs as Record<'param' | 'grad' | 'words' | 'absmax', tf.TensorInfo>;
    const attrs = args.attrs as unknown as LionBlockwise8Attrs;
    const ok = fits(i.param, i.grad, i.words, attrs.blockSize);
    const outputsOf = (wasm: WasmBackendLike) => [
      wasm.makeOutput(i.param.shape, 'float32'),
      wasm.makeOutput(i.words.shape, 'int32'),
      wasm.makeOutput(i.absmax.shape, 'float32'),
    ];
    return runOnHeap(args, fallback, ok, 4 * attrs.blockSize, outputsOf, (simd, ptr, out, scratch, image) => {
      const k = attrs.constants;
      simd.lionBlockwise8(
        ptr(i.param),
        ptr(i.grad),
        ptr(i.words),
        ptr(i.absmax),
        ...out.map(ptr),
        sizeOf(i.param),
        i.words.shape[0] ?? 0,
        attrs.blockSize,
        scratch,
        image(attrs.codec),
        k.beta1,
        k.oneMinusBeta1,
        k.beta2,
        k.oneMinusBeta2,
        k.lr,
        k.decays ? 1 : 0,
        k.decay,
      );
    });
  };
}
