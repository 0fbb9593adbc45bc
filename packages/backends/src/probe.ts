import * as tf from '@tensorflow/tfjs-core';

/** What a backend can do, measured or read from tfjs once it is active. */
export interface BackendCapabilities {
  backend: string;
  /** wasm: whether the SIMD binary is in use. null where it does not apply. */
  simd: boolean | null;
  /** wasm: XNNPACK thread count; cpu: 1 (plain JS). null where tfjs does not tell (webgl, tensorflow). */
  threads: number | null;
  /** webgl: WEBGL_VERSION (1 or 2). */
  webglVersion: number | null;
  /** webgl: the unmasked renderer string when the browser exposes it, else the masked one. */
  webglRenderer: string | null;
  /** 32 or 16: the float precision the backend computes in (measured, see measureFloatPrecision). */
  floatPrecision: 16 | 32;
  /** Whether int32 arithmetic is exact over the whole int32 range (probed with 2^24 + 1). */
  int32Exact: boolean;
  /** Magnitude below which int32 values are exact: 2^31 when `int32Exact`, else 2^24 (float-backed int32). */
  int32ExactBelow: number;
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number): boolean {
  if (a.length !== b.length) return false;
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
  }
  return Number.isFinite(diff) && diff <= tol * Math.max(scale, 1e-12);
}

/** Tiny deterministic generator (an LCG) so the probe data do not depend on tfjs's RNG. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * Inputs of the training probe: a 3x3 'same' conv (2 -> 3 channels) on a 2x4x4 batch, then a 2x2/2 max-pool.
 * x is positive and the filter negative, so every pooling window is all-negative, which is what the stock
 * wasm MaxPoolGrad gets wrong.
 */
export function trainingProbeData(): { x: Float32Array; w: Float32Array; c: Float32Array } {
  const rand = lcg(12345);
  const x = Float32Array.from({ length: 2 * 4 * 4 * 2 }, () => 0.1 + 0.9 * rand());
  const w = Float32Array.from({ length: 3 * 3 * 2 * 3 }, () => -0.1 - 0.9 * rand());
  const c = Float32Array.from({ length: 2 * 2 * 2 * 3 }, () => 0.5 + rand());
  return { x, w, c };
}

/** Plain-JS gradients of sum(c · maxPool2x2(conv2d_same_3x3(x, w))) w.r.t. x and w (first-max routing). */
export function trainingProbeReference(
  x: Float32Array,
  w: Float32Array,
  c: Float32Array,
): { dx: Float64Array; dw: Float64Array; minGap: number } {
  const [N, H, W, CI, CO, K] = [2, 4, 4, 2, 3, 3];
  const xi = (n: number, i: number, j: number, ci: number) => ((n * H + i) * W + j) * CI + ci;
  const wi = (a: number, b: number, ci: number, co: number) => ((a * K + b) * CI + ci) * CO + co;
  const yi = (n: number, i: number, j: number, co: number) => ((n * H + i) * W + j) * CO + co;
  const y = new Float64Array(N * H * W * CO);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++)
        for (let co = 0; co < CO; co++) {
          let s = 0;
          for (let a = 0; a < K; a++)
            for (let b = 0; b < K; b++) {
              const p = i + a - 1;
              const q = j + b - 1;
              if (p < 0 || p >= H || q < 0 || q >= W) continue;
              for (let ci = 0; ci < CI; ci++) s += x[xi(n, p, q, ci)]! * w[wi(a, b, ci, co)]!;
            }
          y[yi(n, i, j, co)] = s;
        }
  const dy = new Float64Array(y.length);
  let minGap = Number.POSITIVE_INFINITY;
  for (let n = 0; n < N; n++)
    for (let r = 0; r < 2; r++)
      for (let q = 0; q < 2; q++)
        for (let co = 0; co < CO; co++) {
          const vals: Array<[number, number]> = [];
          for (let a = 0; a < 2; a++)
            for (let b = 0; b < 2; b++) {
              const k = yi(n, 2 * r + a, 2 * q + b, co);
              vals.push([y[k]!, k]);
            }
          let best = vals[0]!;
          for (const v of vals) if (v[0] > best[0]) best = v;
          const sorted = vals.map((v) => v[0]).sort((u, v) => v - u);
          minGap = Math.min(minGap, sorted[0]! - sorted[1]!);
          dy[best[1]] = c[((n * 2 + r) * 2 + q) * CO + co]!;
        }
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++)
        for (let co = 0; co < CO; co++) {
          const g = dy[yi(n, i, j, co)]!;
          if (g === 0) continue;
          for (let a = 0; a < K; a++)
            for (let b = 0; b < K; b++) {
              const p = i + a - 1;
              const q = j + b - 1;
              if (p < 0 || p >= H || q < 0 || q >= W) continue;
              for (let ci = 0; ci < CI; ci++) {
                dw[wi(a, b, ci, co)]! += x[xi(n, p, q, ci)]! * g;
                dx[xi(n, p, q, ci)]! += w[wi(a, b, ci, co)]! * g;
              }
            }
        }
  return { dx, dw, minGap };
}

/**
 * Checks that the active backend computes: a tiny op, a gradient, and (unless `training` is false) the
 * gradients of a small conv + max-pool against a plain-JS reference. Returns null when everything holds, or
 * the reason it does not.
 */
export async function verifyActiveBackend(options: { training?: boolean } = {}): Promise<string | null> {
  const tol = (await measureFloatPrecision()) === 32 ? 1e-3 : 3e-2;
  const basic = await guarded(() => checkBasics(tol));
  if (basic != null || options.training === false) return basic;
  // Both training checks run, so every problem is reported.
  const problems = [await guarded(() => checkMaxPoolGradient(tol)), await guarded(() => checkConvPool(tol))];
  const found = problems.filter((p): p is string => p != null);
  return found.length > 0 ? found.join('; ') : null;
}

async function guarded(check: () => Promise<string | null>): Promise<string | null> {
  try {
    return await check();
  } catch (e) {
    return `check threw: ${firstLine(e)}`;
  }
}

async function checkBasics(tol: number): Promise<string | null> {
  const sum = tf.tidy(() => tf.add(tf.tensor1d([1, 2, 3]), tf.tensor1d([10, 20, 30])));
  const sumValues = await sum.data();
  sum.dispose();
  if (!close(sumValues, [11, 22, 33], tol)) return `tiny op gave [${[...sumValues]}], expected [11,22,33]`;
  const g = tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(v, v)))(tf.tensor1d([1, -2, 3])));
  const gValues = await g.data();
  g.dispose();
  if (!close(gValues, [2, -4, 6], tol))
    return `gradient of sum(v²) gave [${[...gValues]}], expected [2,-4,6]`;
  return null;
}

async function checkConvPool(tol: number): Promise<string | null> {
  const { x, w, c } = trainingProbeData();
  const ref = trainingProbeReference(x, w, c);
  const [dx, dw] = tf.tidy(() => {
    const xt = tf.tensor4d(x, [2, 4, 4, 2]);
    const wt = tf.tensor4d(w, [3, 3, 2, 3]);
    const ct = tf.tensor4d(c, [2, 2, 2, 3]);
    const f = (a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(ct, tf.maxPool(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), 2, 2, 'valid')));
    return tf.grads(f)([xt, wt]);
  }) as [tf.Tensor, tf.Tensor];
  const [dxv, dwv] = [await dx.data(), await dw.data()];
  dx.dispose();
  dw.dispose();
  if (!close(dwv, ref.dw, tol)) return 'conv2d + maxPool probe: filter gradient differs from reference';
  if (!close(dxv, ref.dx, tol)) return 'conv2d + maxPool probe: input gradient differs from reference';
  return null;
}

/** maxPool 2x2/2 gradient on an all-negative 4x4 input without ties, against a plain-JS reference. */
async function checkMaxPoolGradient(tol: number): Promise<string | null> {
  const order = [5, 12, 0, 9, 14, 3, 7, 10, 1, 15, 6, 11, 4, 8, 13, 2];
  const x = Float32Array.from(order, (v) => -1 - v);
  const c = [1, 2, 3, 4];
  const expected = new Float32Array(16);
  for (let r = 0; r < 2; r++)
    for (let q = 0; q < 2; q++) {
      let best = -1;
      for (let a = 0; a < 2; a++)
        for (let b = 0; b < 2; b++) {
          const k = (2 * r + a) * 4 + 2 * q + b;
          if (best < 0 || x[k]! > x[best]!) best = k;
        }
      expected[best] = c[r * 2 + q]!;
    }
  const g = tf.tidy(() => {
    const ct = tf.tensor4d(c, [1, 2, 2, 1]);
    const f = (v: tf.Tensor) => tf.sum(tf.mul(ct, tf.maxPool(v as tf.Tensor4D, 2, 2, 'valid')));
    return tf.grad(f)(tf.tensor4d(x, [1, 4, 4, 1]));
  });
  const v = await g.data();
  g.dispose();
  if (close(v, expected, tol)) return null;
  let lost = 0;
  for (let i = 0; i < 16; i++) if (expected[i] !== 0 && v[i] === 0) lost++;
  return lost > 0
    ? `maxPool gradient is wrong: ${lost} of 4 windows of negative values got no gradient`
    : 'maxPool gradient is wrong';
}

export function firstLine(e: unknown): string {
  const msg =
    e instanceof Error
      ? e.message
      : typeof e === 'object' && e != null && 'message' in e
        ? String((e as { message: unknown }).message)
        : String(e);
  return msg.split('\n')[0] ?? msg;
}

/**
 * Float precision of the active backend, measured: 1 + 2^-13 survives in float32 but rounds to 1 in float16.
 * (tfjs's own backend.floatPrecision() is not used: the 4.22 WebGL backend returns 16 whenever float32
 * rendering IS enabled.)
 */
export async function measureFloatPrecision(): Promise<16 | 32> {
  const t = tf.tidy(() => tf.add(tf.fill([1024], 1), tf.fill([1024], 2 ** -13)));
  const v = await t.data();
  t.dispose();
  return v.every((e) => e > 1) ? 32 : 16;
}

async function int32ExactProbe(): Promise<boolean> {
  // 1024 elements: enough to keep WebGL from handing the op to the CPU (WEBGL_CPU_FORWARD).
  const t = tf.tidy(() => tf.add(tf.fill([1024], 2 ** 24, 'int32'), tf.ones([1024], 'int32')));
  const v = await t.data();
  t.dispose();
  return v.every((e) => e === 2 ** 24 + 1);
}

interface WebGLBackendLike {
  gpgpu?: { gl?: WebGLRenderingContext };
}

function webglRenderer(): string | null {
  const gl = (tf.backend() as unknown as WebGLBackendLike).gpgpu?.gl;
  if (gl == null) return null;
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  const r = ext != null ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
  return typeof r === 'string' ? r : null;
}

/**
 * Capabilities of the active backend. `wasmThreads` is the wasm module's getThreadsCount, passed in so this
 * module does not import the wasm backend.
 */
export async function probeCapabilities(wasmThreads?: () => number): Promise<BackendCapabilities> {
  const backend = tf.getBackend();
  const int32Exact = await int32ExactProbe();
  const caps: BackendCapabilities = {
    backend,
    simd: null,
    threads: null,
    webglVersion: null,
    webglRenderer: null,
    floatPrecision: await measureFloatPrecision(),
    int32Exact,
    int32ExactBelow: int32Exact ? 2 ** 31 : 2 ** 24,
  };
  if (backend === 'wasm') {
    caps.simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    try {
      caps.threads = wasmThreads?.() ?? null;
    } catch {
      caps.threads = null;
    }
  } else if (backend === 'cpu') {
    caps.threads = 1;
  } else if (backend === 'webgl') {
    caps.webglVersion = tf.env().getNumber('WEBGL_VERSION');
    caps.webglRenderer = webglRenderer();
  }
  return caps;
}
