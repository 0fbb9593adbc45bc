// node examples/quickstart.mjs [preference]      (after `pnpm build`; e.g. preference = auto | wasm | cpu | tensorflow)

import { selectBackend } from '@gradsign/backends';
import * as tf from '@tensorflow/tfjs-core';

const selection = await selectBackend(process.argv[2] ?? 'auto');
console.log(selection.backend, selection.capabilities);
for (const a of selection.attempts) console.log(`  tried ${a.backend}: ${a.ok ? 'ok' : a.reason}`);

// Train a tiny conv net: conv gradients and max-pool gradients now work (and are correct) on wasm too.
const w = tf.variable(tf.randomNormal([3, 3, 1, 8], 0, 0.3, 'float32', 1));
const x = tf.randomNormal([4, 28, 28, 1], 0, 1, 'float32', 2);
const loss = () => tf.mean(tf.square(tf.maxPool(tf.conv2d(x, w, 1, 'same'), 2, 2, 'valid')));
const optimizer = tf.train.sgd(0.05);
for (let step = 0; step < 5; step++) {
  const value = optimizer.minimize(loss, true);
  console.log(`step ${step}: loss ${value.dataSync()[0].toFixed(4)}`);
  value.dispose();
}
