// State bytes (tf.memory()) and step time of Lion with float32, bf16 and block-wise int8 momentum, and of Adam,
// side by side in one process, on cpu and wasm; state bytes also for the reference CNN's shapes.
//
//   node bench/state-and-step.mjs [--quick]
import { Adam } from '@gradsign/optim-core';
import { Lion } from '@gradsign/optim-lion';
import { benchStateAndStep } from '@gradsign/optim-testkit/bench';

await benchStateAndStep(
  {
    adam: () => new Adam(),
    'lion (float32)': () => new Lion({ stateFormat: 'float32' }),
    'lion (bf16)': () => new Lion({ stateFormat: 'bf16' }),
    'lion (int8-blockwise)': () => new Lion(),
  },
  process.argv.includes('--quick'),
);
