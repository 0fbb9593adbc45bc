// Shared by the tfjs-layers checks: a tiny dense model on fixed data, memory IO handlers and a bitwise comparison.
import * as tfl from '@tensorflow/tfjs-layers';
import { tf } from './common.mjs';

export { tfl };
export const xs = tf.randomNormal([48, 6], 0, 1, 'float32', 11);
export const ys = tf.sum(tf.mul(xs, [0.5, -1, 2, 0.25, 1.5, -0.75]), 1, true);

/** A 6 → 8 → 1 model compiled with `optimizer`, starting from `initial` weights when given. */
export function makeModel(optimizer, initial) {
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [6], units: 8, activation: 'tanh' }),
      tfl.layers.dense({ units: 1 }),
    ],
  });
  if (initial != null) model.setWeights(initial);
  model.compile({ optimizer, loss: 'meanSquaredError' });
  return model;
}

export const trainFor = (model, epochs) =>
  model.fit(xs, ys, { epochs, batchSize: 16, shuffle: false, verbose: 0 });

/** Saves `model` with its optimizer to memory and returns the artifacts. */
export async function saveToMemory(model) {
  let saved;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
    { includeOptimizer: true },
  );
  return saved;
}

/** Each weight's bytes as hex, to compare two models bit for bit. */
export const weightBytes = (model) =>
  model.getWeights().map((w) => Buffer.from(w.dataSync().buffer).toString('hex'));

/**
 * Trains `make()`'s optimizer 2 + 2 epochs with a save → tf.loadLayersModel in between, against 4 epochs in one go.
 * The first model stays alive while the copy loads, so tfjs renames the loaded variables (…/kernel_1).
 */
export async function roundTrip(make) {
  const straight = makeModel(make());
  const initial = straight.getWeights().map((w) => w.clone());
  await trainFor(straight, 4);
  const first = makeModel(make(), initial);
  await trainFor(first, 2);
  const artifacts = await saveToMemory(first);
  const resumed = await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
  await trainFor(resumed, 2);
  const identical = weightBytes(resumed).every((hex, i) => hex === weightBytes(straight)[i]);
  const optimizer = resumed.optimizer;
  return { identical, optimizer, stateTensors: (await optimizer.getWeights()).length, artifacts };
}
