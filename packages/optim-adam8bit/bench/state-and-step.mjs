// State bytes (tf.memory()) and step time of 8-bit Adam against float32 Adam, side by side in one process, on cpu
// and wasm; state bytes also for the reference CNN's shapes.
//
//   node bench/state-and-step.mjs [--quick]
import { Adam8bit } from '@gradsign/optim-adam8bit';
import { Adam } from '@gradsign/optim-core';
import { benchStateAndStep } from '@gradsign/optim-testkit/bench';

await benchStateAndStep(
  { adam: () => new Adam(), adam8bit: () => new Adam8bit() },
  process.argv.includes('--quick'),
);
