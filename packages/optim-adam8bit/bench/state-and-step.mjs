// State bytes (tf.memory()) and step time of 8-bit Adam against float32 Adam, side by side in one process, on cpu
// and wasm; state bytes also for the reference CNN's shapes.
//
//   node bench/state-and-step.mjs [--quick]
//
// The fused 8-bit step is a JavaScript loop; on wasm it runs as WebAssembly where @gradsign/backends is built.
import { Adam8bit } from '@gradsign/optim-adam8bit';
import { Adam } from '@gradsign/optim-core';
import { benchStateAndStep } from '@gradsign/optim-testkit/bench';

// On wasm, @gradsign/backends' blockwise8-simd fix runs the fused 8-bit step as WebAssembly (when backends is built).
try {
  const { installTrainingFixes } = await import('../../backends/dist/index.js');
  installTrainingFixes('wasm', { fixes: ['blockwise8-simd'] });
  console.log("On wasm, adam8bit runs @gradsign/backends' WebAssembly kernel (the blockwise8-simd fix).\n");
} catch {
  console.log('@gradsign/backends is not built: adam8bit runs its JavaScript loop on wasm.\n');
}

await benchStateAndStep(
  { adam: () => new Adam(), adam8bit: () => new Adam8bit() },
  process.argv.includes('--quick'),
);
