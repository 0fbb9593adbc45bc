// State bytes (tf.memory()) and step time of Lion with float32, bf16 and block-wise int8 momentum, and of Adam,
// side by side in one process, on cpu and wasm; state bytes also for the reference CNN's shapes.
//
//   node bench/state-and-step.mjs [--quick]
//
// Lion's fused kernels are JavaScript loops; on wasm they run as WebAssembly where @gradsign/backends is built.
import { Adam } from '@gradsign/optim-core';
import { Lion } from '@gradsign/optim-lion';
import { benchStateAndStep } from '@gradsign/optim-testkit/bench';

// On wasm, @gradsign/backends' lion-simd and blockwise8-simd fixes run the bf16 and int8 steps as WebAssembly (when
// backends is built).
try {
  const { installTrainingFixes } = await import('../../backends/dist/index.js');
  installTrainingFixes('wasm', { fixes: ['lion-simd', 'blockwise8-simd'] });
  console.log(
    "On wasm, lion (bf16) and lion (int8-blockwise) run @gradsign/backends' WebAssembly kernels (the lion-simd and blockwise8-simd fixes).\n",
  );
} catch {
  console.log('@gradsign/backends is not built: lion runs its JavaScript loops on wasm.\n');
}

await benchStateAndStep(
  {
    adam: () => new Adam(),
    'lion (float32)': () => new Lion({ stateFormat: 'float32' }),
    'lion (bf16)': () => new Lion({ stateFormat: 'bf16' }),
    'lion (int8-blockwise)': () => new Lion(),
  },
  process.argv.includes('--quick'),
);
