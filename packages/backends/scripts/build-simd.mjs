// Assembles the hand-written WebAssembly SIMD kernels in src/fixes with wabt: conv-filter-grad.wat into
// conv-filter-grad-wasm.ts, conv3x3-winograd.wat into conv3x3-winograd-wasm.ts and maxpool-grad.wat into maxpool-grad-wasm.ts (each module's bytes, base64, for an
// ordinary and a shared memory; see scripts/wat-to-ts.mjs at the repository root). `--check` exits non-zero when a
// committed file is out of date instead of writing it (the tests run it, so the committed bytes cannot go stale).
//
//   node scripts/build-simd.mjs [--check]
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';
import { assembleWatModules } from '../../../scripts/wat-to-ts.mjs';

await assembleWatModules({
  wabtInit,
  dir: join(dirname(fileURLToPath(import.meta.url)), '../src/fixes'),
  label: 'src/fixes',
  check: process.argv.includes('--check'),
  modules: [
    {
      wat: 'conv-filter-grad.wat',
      ts: 'conv-filter-grad-wasm.ts',
      name: 'CONV_FILTER_GRAD',
      doc: 'The assembled conv-filter-grad.wat (WebAssembly with SIMD), base64.',
    },
    {
      wat: 'conv3x3-winograd.wat',
      ts: 'conv3x3-winograd-wasm.ts',
      name: 'CONV3X3_WINOGRAD',
      doc: 'The assembled conv3x3-winograd.wat (WebAssembly with SIMD), base64.',
    },
    {
      wat: 'maxpool-grad.wat',
      ts: 'maxpool-grad-wasm.ts',
      name: 'MAXPOOL_GRAD',
      doc: 'The assembled maxpool-grad.wat (WebAssembly with SIMD), base64.',
    },
  ],
});
