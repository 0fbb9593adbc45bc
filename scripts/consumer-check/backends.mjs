import { selectBackend } from '@gradsign/backends';
import { createOptimizer } from '@gradsign/optim-core';
import { assert, tf } from './common.mjs';

// Plain Node's tfjs-core has no gradients; selectBackend registers them, so minimize() works.
const selection = await selectBackend('cpu', { onLog: () => {} });
assert.equal(tf.getBackend(), 'cpu');
const w = tf.variable(tf.zeros([4]), true, 'wb');
const target = tf.tensor1d([1, -2, 3, 0.5]);
const opt = createOptimizer('adam', { learningRate: 0.1 });
const loss = () => tf.mean(tf.square(tf.sub(w, target)));
const first = loss().dataSync()[0];
for (let step = 0; step < 20; step++) opt.minimize(loss);
const last = loss().dataSync()[0];
assert.ok(last < first / 2, `${first} → ${last}`);
console.log(
  `backends: ${JSON.stringify(selection.backend ?? selection)} — minimize() with registered gradients, loss ${first.toFixed(3)} → ${last.toFixed(3)}`,
);
