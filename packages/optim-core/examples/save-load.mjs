// Trains a tiny tfjs-layers model with GradSign, saves it with its optimizer state (the int8 counters) to a folder,
// loads it back with tf.loadLayersModel and trains on: the weights equal an uninterrupted run's, bit for bit.
// Needs: npm install @gradsign/optim-core @tensorflow/tfjs-core @tensorflow/tfjs-layers @tensorflow/tfjs-backend-cpu
// (or @tensorflow/tfjs, which bundles them). Run: node examples/save-load.mjs
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GradSign } from '@gradsign/optim-core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';

await tf.setBackend('cpu');
const xs = tf.randomNormal([64, 4], 0, 1, 'float32', 1);
const ys = tf.sum(tf.mul(xs, [0.5, -1, 2, 0.25]), 1, true);

function makeModel() {
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [4], units: 8, activation: 'relu', kernelInitializer: 'glorotUniform' }),
      tfl.layers.dense({ units: 1 }),
    ],
  });
  model.compile({ optimizer: new GradSign({ learningRate: 0.01, seed: 0 }), loss: 'meanSquaredError' });
  return model;
}
const trainFor = (model, epochs) => model.fit(xs, ys, { epochs, batchSize: 16, shuffle: false, verbose: 0 });

// A folder as an IO handler: model.json (topology, training config, weight specs) beside weights.bin. (In the
// browser use 'indexeddb://name' or 'localstorage://name'; with @tensorflow/tfjs-node, 'file://dir'.)
const toFolder = (dir) =>
  tf.io.withSaveHandler(async ({ weightData, ...json }) => {
    await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify(json));
    await fs.writeFile(
      path.join(dir, 'weights.bin'),
      new Uint8Array(tf.io.CompositeArrayBuffer.join(weightData)),
    );
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  });
const fromFolder = (dir) => ({
  load: async () => {
    const json = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8'));
    const bin = await fs.readFile(path.join(dir, 'weights.bin'));
    return { ...json, weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) };
  },
});

// The same initial weights for both runs: the second model starts from a copy of the first's.
const straight = makeModel();
const initial = straight.getWeights().map((w) => w.clone());
await trainFor(straight, 4);

const first = makeModel();
first.setWeights(initial);
await trainFor(first, 2);
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gradsign-save-load-'));
await first.save(toFolder(dir), { includeOptimizer: true });

// `first` is still alive, so the loaded model's variables get renamed (dense_Dense1/kernel_1): the optimizer
// state is matched to them by position, as tfjs's own optimizers do.
const resumed = await tfl.loadLayersModel(fromFolder(dir));
console.log(
  `loaded: ${resumed.optimizer.getClassName()}, ${(await resumed.optimizer.getWeights()).length} state tensors`,
);
await trainFor(resumed, 2);

const bytes = (model) => model.getWeights().map((w) => Buffer.from(w.dataSync().buffer).toString('hex'));
const same = bytes(resumed).every((hex, i) => hex === bytes(straight)[i]);
console.log(
  `2 + 2 epochs through ${dir} ${same ? 'equal' : 'DIFFER FROM'} 4 uninterrupted epochs, bit for bit`,
);
await fs.rm(dir, { recursive: true });
if (!same) process.exit(1);
