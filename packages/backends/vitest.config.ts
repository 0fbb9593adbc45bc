import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// src/gradients.ts imports the gradient bundle that the build writes to dist/vendor/ (see
// scripts/bundle-gradients.mjs); test/global-setup.ts generates it when it is missing.
const vendorBundle = fileURLToPath(new URL('./dist/vendor/tfjs-gradients.js', import.meta.url));

// Two projects. 'portable' runs every test on the portable kernel builds (plain wasm SIMD); 'fma' runs the tests of
// the SIMD kernels again on their FMA builds (relaxed SIMD), with Node 20's --experimental-wasm-relaxed-simd (Node
// ≥ 22 has relaxed SIMD by default). Where the engine has no relaxed SIMD even so, 'fma' runs relaxed-simd.test.ts
// alone, which says that the FMA kernels were not tested.
const relaxedFlag =
  Number(process.versions.node.split('.')[0]) < 22 ? ['--experimental-wasm-relaxed-simd'] : [];
// The probe module of src/kernels/relaxed-simd.ts, as the test processes will see it.
const relaxed =
  spawnSync(process.execPath, [
    ...relaxedFlag,
    '-e',
    `process.exit(WebAssembly.validate(new Uint8Array(${JSON.stringify([
      0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 3, 123, 123, 123, 1, 123, 3, 2, 1, 0, 10, 13, 1, 11, 0, 32, 0,
      32, 1, 32, 2, 253, 133, 2, 11,
    ])})) ? 0 : 1)`,
  ]).status === 0;
const FMA_TESTS = [
  'test/relaxed-simd.test.ts',
  'test/conv-filter-grad-simd.test.ts',
  'test/conv3x3-winograd.test.ts',
  'test/bias-leaky-batch-norm.test.ts',
  'test/bias-leaky-batch-norm-reference.test.ts',
];

export default defineConfig({
  resolve: { alias: [{ find: /^\.\/vendor\/tfjs-gradients\.js$/, replacement: vendorBundle }] },
  test: {
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'portable',
          include: ['test/**/*.test.ts'],
          env: { GRADSIGN_TEST_KERNELS: 'portable' },
        },
      },
      {
        extends: true,
        test: {
          name: 'fma',
          include: relaxed ? FMA_TESTS : ['test/relaxed-simd.test.ts'],
          execArgv: relaxedFlag,
          env: { GRADSIGN_TEST_KERNELS: 'fma' },
        },
      },
    ],
  },
});
