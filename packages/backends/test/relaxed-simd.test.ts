// Relaxed SIMD detection and the choice of kernel build: the probe module is what it says, it validates exactly where
// the engine has relaxed SIMD, the FMA builds differ from the portable ones only by their multiply-adds, the
// `kernels` option picks the build (and refuses unknown values), and the startup line says which build runs.
// vitest.config.ts runs this file in both projects ('portable', and 'fma' with relaxed SIMD switched on).
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import wabtInit from 'wabt';
import {
  RELAXED_SIMD_PROBE,
  relaxedSimdSupported,
  selectBackend,
  setWasmKernelBuild,
  wasmKernelBuild,
} from '../src/index.js';
import { compileBiasLeakyBatchNorm } from '../src/kernels/bias-leaky-batch-norm-simd.js';
import { compileConvFilterGrad } from '../src/kernels/conv-filter-grad-simd.js';
import { compileConv3x3Winograd } from '../src/kernels/conv3x3-winograd.js';
import * as generated from '../src/kernels/generated/conv-filter-grad-wasm.js';
import { KERNELS_UNDER_TEST } from './helpers.js';

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const bytes = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
/** Occurrences of f32x4.relaxed_madd's opcode (0xfd 0x85 0x02) in a module's bytes (an upper bound: raw bytes). */
function madds(b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i + 2 < b.length; i++) if (b[i] === 0xfd && b[i + 1] === 0x85 && b[i + 2] === 0x02) n++;
  return n;
}

describe('the relaxed SIMD probe', () => {
  it('is the assembled one-instruction module of its comment', async () => {
    const wabt = await wabtInit();
    const text =
      '(module (func (param v128 v128 v128) (result v128) (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2))))';
    const m = wabt.parseWat('probe.wat', text, { simd: true, relaxed_simd: true });
    const { buffer } = m.toBinary({});
    m.destroy();
    expect([...RELAXED_SIMD_PROBE]).toEqual([...buffer]);
  });

  it('validates with --experimental-wasm-relaxed-simd, and without it only from Node 22 on', () => {
    const check = (flags: string[]) =>
      spawnSync(process.execPath, [
        ...flags,
        '-e',
        `process.exit(WebAssembly.validate(new Uint8Array(${JSON.stringify([...RELAXED_SIMD_PROBE])})) ? 0 : 3)`,
      ]).status;
    expect(check(NODE_MAJOR < 22 ? ['--experimental-wasm-relaxed-simd'] : [])).toBe(0);
    expect(check([])).toBe(NODE_MAJOR < 22 ? 3 : 0);
  });

  it(`is ${KERNELS_UNDER_TEST.build === 'fma' ? 'on' : 'as the engine has it'} in this test process`, () => {
    expect(relaxedSimdSupported()).toBe(WebAssembly.validate(RELAXED_SIMD_PROBE));
    if (KERNELS_UNDER_TEST.build === 'portable' && NODE_MAJOR < 22)
      expect(relaxedSimdSupported()).toBe(false);
  });

  it.skipIf(relaxedSimdSupported() || KERNELS_UNDER_TEST.build === 'portable')(
    `FMA kernels NOT TESTED: this engine (Node ${process.versions.node}) has no relaxed SIMD, even with --experimental-wasm-relaxed-simd`,
    () => {},
  );
});

describe('the FMA builds', () => {
  it('replace f32x4.mul + f32x4.add by f32x4.relaxed_madd and nothing else', () => {
    const portable = bytes(generated.CONV_FILTER_GRAD_WASM_BASE64);
    const fma = bytes(generated.CONV_FILTER_GRAD_FMA_WASM_BASE64);
    expect(madds(portable)).toBe(0);
    expect(madds(fma)).toBeGreaterThanOrEqual(21);
    // Same exports, same signatures.
    const exportsOf = (b: Uint8Array) =>
      WebAssembly.Module.exports(new WebAssembly.Module(b.buffer as ArrayBuffer));
    if (relaxedSimdSupported()) expect(exportsOf(fma)).toEqual(exportsOf(portable));
  });

  it.runIf(relaxedSimdSupported())('compile where relaxed SIMD is on, for both kinds of memory', () => {
    for (const compile of [compileConvFilterGrad, compileConv3x3Winograd, compileBiasLeakyBatchNorm])
      for (const shared of [false, true]) expect(compile(shared, 'fma'), `shared=${shared}`).not.toBeNull();
  });

  it.runIf(!relaxedSimdSupported())(
    'do not compile without relaxed SIMD (the portable build is used)',
    () => {
      expect(compileConvFilterGrad(false, 'fma')).toBeNull();
      expect(compileConvFilterGrad(false, 'portable')).not.toBeNull();
    },
  );
});

describe('the kernels option', () => {
  it('refuses anything but auto or portable, naming the value, before trying a backend', async () => {
    const tried: string[] = [];
    const bad = selectBackend(['cpu'], { kernels: 'fast' as 'auto', onLog: (_l, m) => tried.push(m) });
    await expect(bad).rejects.toThrow(`unknown kernel build "fast": expected 'auto' or 'portable'`);
    expect(tried).toEqual([]);
    expect(() => setWasmKernelBuild('FMA' as 'auto')).toThrow(/"FMA"/);
  });

  it('portable forces the portable build, auto takes FMA where relaxed SIMD is on; the startup line says which', async () => {
    const lines: string[] = [];
    const onLog = (_level: string, m: string) => lines.push(m);
    try {
      const portable = await selectBackend(['wasm'], { kernels: 'portable', onLog });
      expect(portable.kernels).toBe('portable');
      expect(wasmKernelBuild()).toBe('portable');
      const auto = await selectBackend(['wasm'], { kernels: 'auto', onLog });
      const want = relaxedSimdSupported() ? 'fma' : 'portable';
      expect(auto.kernels).toBe(want);
      // Without the option, the build chosen before stays.
      expect((await selectBackend(['wasm'], { onLog })).kernels).toBe(want);
    } finally {
      setWasmKernelBuild(KERNELS_UNDER_TEST.kernels);
      await tf.setBackend('wasm');
    }
    const used = lines.filter((l) => l.includes('using wasm'));
    expect(used[0]).toContain(
      relaxedSimdSupported() ? 'portable kernels (forced)' : 'portable kernels (no relaxed SIMD)',
    );
    expect(used[1]).toContain(
      relaxedSimdSupported() ? 'FMA kernels (relaxed SIMD)' : 'portable kernels (no relaxed SIMD)',
    );
  });
});
