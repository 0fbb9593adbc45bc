// Assembles src/models/fused-simd.wat into src/models/fused-simd-wasm.ts (the module's bytes, base64, for an
// ordinary and a shared memory; see scripts/wat-to-ts.mjs at the repository root), with wabt. `--check` exits
// non-zero when the committed file is out of date instead of writing it.
//
//   node scripts/build-simd.mjs [--check]
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';
import { assembleWatModules } from '../../../scripts/wat-to-ts.mjs';

await assembleWatModules({
  wabtInit,
  dir: join(dirname(fileURLToPath(import.meta.url)), '../src/models'),
  label: 'src/models',
  check: process.argv.includes('--check'),
  modules: [
    {
      wat: 'fused-simd.wat',
      ts: 'fused-simd-wasm.ts',
      name: 'FUSED_SIMD',
      doc: 'The assembled fused-simd.wat (WebAssembly with SIMD), base64.',
    },
  ],
});
