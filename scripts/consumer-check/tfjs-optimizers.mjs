// A model trained and saved with tfjs's own optimizers loads, and trains on, with every package of ours imported
// (our classes must not replace tfjs's in its serialization registry).
import '@gradsign/backends';
import '@gradsign/datasets';
import '@gradsign/optim-adam8bit';
import '@gradsign/optim-core';
import '@gradsign/optim-lion';
import '@gradsign/trainer';
import { assert, tf } from './common.mjs';
import { roundTrip } from './layers.mjs';

const cases = [
  ['Adam', () => tf.train.adam(0.01), tf.AdamOptimizer],
  ['SGD', () => tf.train.sgd(0.05), tf.SGDOptimizer],
  ['RMSProp', () => tf.train.rmsprop(0.01), tf.RMSPropOptimizer],
  ['Momentum', () => tf.train.momentum(0.02, 0.9), tf.MomentumOptimizer],
];
for (const [className, make, type] of cases) {
  const { identical, optimizer, artifacts } = await roundTrip(make);
  assert.equal(artifacts.trainingConfig.optimizer_config.class_name, className);
  assert.ok(
    optimizer instanceof type,
    `${className} loaded as ${optimizer.constructor.name}, not tfjs's own`,
  );
  assert.ok(identical, `${className}: training after the load differs from an uninterrupted run`);
}
console.log(
  `tfjs's own optimizers (${cases.map(([c]) => c).join(', ')}) save, load and train on with ours imported`,
);
tf.disposeVariables();
