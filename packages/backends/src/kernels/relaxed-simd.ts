// Which build of the WebAssembly SIMD kernels runs: the FMA build (relaxed SIMD's f32x4.relaxed_madd, generated from
// the same WAT sources by scripts/build-simd.mjs) where the engine has relaxed SIMD, else the portable build
// (f32x4.mul then f32x4.add). Relaxed SIMD is on by default in Node ≥ 22 and Chromium, and behind
// --experimental-wasm-relaxed-simd in Node 20.

/**
 * Which kernel builds to load: 'auto' (default) the FMA build where relaxed SIMD is available, else the portable
 * one; 'portable' always the portable build, whose results are the same on every machine.
 */
export type KernelBuildPreference = 'auto' | 'portable';
/** The build in use: 'fma' (relaxed SIMD multiply-adds) or 'portable' (plain wasm SIMD). */
export type KernelBuild = 'fma' | 'portable';

/** The preferences {@link setWasmKernelBuild} accepts. */
export const KERNEL_BUILD_PREFERENCES: readonly KernelBuildPreference[] = ['auto', 'portable'];

/**
 * The smallest module using relaxed SIMD:
 * `(module (func (param v128 v128 v128) (result v128) (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2))))`.
 */
export const RELAXED_SIMD_PROBE: Uint8Array<ArrayBuffer> = Uint8Array.from([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 3, 123, 123, 123, 1, 123, 3, 2, 1, 0, 10, 13, 1, 11, 0, 32, 0, 32,
  1, 32, 2, 253, 133, 2, 11,
]);

let relaxed: boolean | undefined;

/** Whether this engine has relaxed SIMD (`WebAssembly.validate` of {@link RELAXED_SIMD_PROBE}, once). */
export function relaxedSimdSupported(): boolean {
  if (relaxed === undefined) {
    try {
      relaxed = typeof WebAssembly === 'object' && WebAssembly.validate(RELAXED_SIMD_PROBE);
    } catch {
      relaxed = false;
    }
  }
  return relaxed;
}

let preference: KernelBuildPreference = 'auto';

/**
 * Chooses the build of the WebAssembly SIMD kernels (conv filter gradient, Winograd conv, BiasLeakyBatchNorm) for
 * every kernel call from now on. Throws on anything but 'auto' or 'portable'.
 */
export function setWasmKernelBuild(build: KernelBuildPreference): void {
  if (!KERNEL_BUILD_PREFERENCES.includes(build)) {
    throw new Error(
      `unknown kernel build ${JSON.stringify(build)}: expected ${KERNEL_BUILD_PREFERENCES.map((b) => `'${b}'`).join(' or ')}`,
    );
  }
  preference = build;
}

/** The build the kernels use now: 'fma' where the preference is 'auto' and relaxed SIMD is available. */
export function wasmKernelBuild(): KernelBuild {
  return preference === 'auto' && relaxedSimdSupported() ? 'fma' : 'portable';
}
