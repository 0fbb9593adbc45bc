// tfjs-layers fit → save (includeOptimizer) → tf.loadLayersModel → fit, for the optimizers of every package:
// bit-identical to an uninterrupted run.

import { Adam8bit } from '@gradsign/optim-adam8bit';
import { Adam, AdamW, GradSign, SGD } from '@gradsign/optim-core';
import { Lion } from '@gradsign/optim-lion';
import { assert, tf } from './common.mjs';
import { roundTrip } from './layers.mjs';

const cases = [
  ['gradsign.GradSign', () => new GradSign({ learningRate: 0.01, seed: 0 })],
  ['gradsign.Adam', () => new Adam({ learningRate: 0.01 })],
  ['gradsign.AdamW', () => new AdamW({ learningRate: 0.01, weightDecay: 0.05 })],
  ['gradsign.SGD', () => new SGD({ learningRate: 0.02, momentum: 0.9 })],
  ['gradsign.SGD', () => new SGD({ learningRate: 0.02, momentum: 0.9, nesterov: true })],
  ['gradsign.Lion', () => new Lion({ learningRate: 0.003 })],
  ['gradsign.Adam8bit', () => new Adam8bit({ learningRate: 0.01 })],
];
const lines = [];
for (const [className, make] of cases) {
  const { identical, optimizer, stateTensors, artifacts } = await roundTrip(make);
  const saved = artifacts.trainingConfig.optimizer_config.class_name;
  assert.equal(saved, className, `saved class name of ${make().constructor.name}`);
  assert.equal(
    optimizer.constructor,
    make().constructor,
    `${className} loads as ${optimizer.constructor.name}`,
  );
  assert.ok(stateTensors > 0, `${className}: the loaded optimizer holds its state`);
  assert.ok(identical, `${className}: 2 + 2 epochs with a save/load between differ from 4 epochs in one go`);
  lines.push(`${className} (${stateTensors})`);
}
console.log(
  `save/load with the optimizer (tfjs-layers, memory handlers), bit-identical: ${lines.join(', ')}`,
);
tf.disposeVariables();
