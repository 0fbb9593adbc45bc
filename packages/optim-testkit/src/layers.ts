import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tfl from '@tensorflow/tfjs-layers';

/** What a tfjs-layers save → load → fit round trip produced, for `describeOptimizer` to compare. */
export interface RoundTripResult {
  /** Final weights of a model trained `epochs` epochs without interruption. */
  readonly uninterrupted: Float32Array[];
  /** Final weights of the same training, saved with its optimizer halfway, loaded and continued. */
  readonly resumed: Float32Array[];
  /** The loaded model's variable names and those it was saved under (different when TF.js renamed them). */
  readonly loadedNames: string[];
  readonly savedNames: string[];
  /** The optimizer's class name as saved in the model's training config, and that of the loaded optimizer. */
  readonly savedClassName: string;
  readonly loadedClassName: string;
}

const FEATURES = 4;
const HIDDEN = 6;
const OUTPUTS = 2;
const EXAMPLES = 64;

function build(initial: readonly tf.Tensor[]): tfl.LayersModel {
  // Fixed layer names: every model of this function holds variables of the same names, so a loaded model's
  // variables are renamed by TF.js whenever another one is alive.
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({
        inputShape: [FEATURES],
        units: HIDDEN,
        activation: 'tanh',
        name: 'roundtrip_hidden',
      }),
      tfl.layers.dense({ units: OUTPUTS, name: 'roundtrip_out' }),
    ],
  });
  model.setWeights(initial as tf.Tensor[]);
  return model;
}

const wave = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin((i + 1) * k));

/** Where the round trip saves the half-trained model and loads it from: a URL (`indexeddb://…`) or handlers. */
export interface RoundTripStore {
  readonly save: string | tf.io.IOHandler;
  readonly load: string | tf.io.IOHandler;
}

/** An in-memory store (`tf.io.withSaveHandler` / `tf.io.fromMemory`). */
export function memoryStore(): RoundTripStore {
  let saved: tf.io.ModelArtifacts | undefined;
  return {
    save: tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
    load: {
      load: async () => {
        if (!saved) throw new Error('nothing saved yet');
        return saved;
      },
    },
  };
}

/**
 * Trains a small model with tfjs-layers (`compile`, `fit`) for `epochs` epochs in one go, and again with a save
 * (`includeOptimizer: true`) after `epochs / 2`, `tf.loadLayersModel`, and `fit` for the rest, while the first
 * models are still alive. `create` makes the optimizer; `store` is where the model goes (default: memory).
 */
export async function layersRoundTrip(
  create: () => tf.Optimizer,
  options: { readonly epochs?: number; readonly store?: RoundTripStore } = {},
): Promise<RoundTripResult> {
  const epochs = options.epochs ?? 4;
  const store = options.store ?? memoryStore();
  const xs = tf.tensor2d(wave(EXAMPLES * FEATURES, 12.9898), [EXAMPLES, FEATURES]);
  const ys = tf.tensor2d(wave(EXAMPLES * OUTPUTS, 78.233), [EXAMPLES, OUTPUTS]);
  const initial = [
    tf.tensor2d(wave(FEATURES * HIDDEN, 3.7), [FEATURES, HIDDEN]),
    tf.tensor1d(wave(HIDDEN, 5.1).map((v) => v * 0.1)),
    tf.tensor2d(wave(HIDDEN * OUTPUTS, 7.3), [HIDDEN, OUTPUTS]),
    tf.tensor1d(wave(OUTPUTS, 9.7).map((v) => v * 0.1)),
  ];
  const train = (model: tfl.LayersModel, n: number) =>
    model.fit(xs, ys, { epochs: n, batchSize: 16, shuffle: false, verbose: 0 });
  const weightsOf = (model: tfl.LayersModel) =>
    model.getWeights().map((w) => w.dataSync().slice() as Float32Array);

  const whole = build(initial);
  whole.compile({ optimizer: create(), loss: 'meanSquaredError' });
  await train(whole, epochs);

  const first = build(initial);
  first.compile({ optimizer: create(), loss: 'meanSquaredError' });
  await train(first, epochs / 2);
  await first.save(store.save as tf.io.IOHandler, { includeOptimizer: true });
  const loaded = await tfl.loadLayersModel(store.load as tf.io.IOHandler);
  await train(loaded, epochs - epochs / 2);

  const result: RoundTripResult = {
    uninterrupted: weightsOf(whole),
    resumed: weightsOf(loaded),
    loadedNames: loaded.trainableWeights.map((w) => (w.read() as tf.Variable).name),
    savedNames: first.trainableWeights.map((w) => (w.read() as tf.Variable).name),
    savedClassName: first.optimizer.getClassName(),
    loadedClassName: loaded.optimizer.getClassName(),
  };
  for (const model of [whole, first, loaded]) {
    model.optimizer.dispose();
    model.dispose();
  }
  tf.dispose([xs, ys, ...initial]);
  return result;
}
