import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bitsEqual, layersRoundTrip, useBackend } from '@gradsign/optim-testkit';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GradSign, OptimizerError, SGD } from '../src/index.js';

const TFJS_OPTIMIZERS = ['Adam', 'SGD', 'Momentum', 'RMSProp', 'Adagrad', 'Adadelta', 'Adamax'];

/** A `file://` save and load route, as tfjs-node provides one: model.json plus weights.bin in a directory. */
function fileRoutes(): void {
  const handler = (dir: string): tf.io.IOHandler => ({
    async save(artifacts) {
      const { weightData, ...json } = artifacts;
      writeFileSync(join(dir, 'weights.bin'), Buffer.from(weightData as ArrayBuffer));
      writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    },
    async load() {
      const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as tf.io.ModelArtifacts;
      const bytes = readFileSync(join(dir, 'weights.bin'));
      return { ...json, weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) };
    },
  });
  const route = ((url: string | string[]) =>
    typeof url === 'string' && url.startsWith('file://')
      ? handler(url.slice('file://'.length))
      : null) as unknown as Parameters<typeof tf.io.registerSaveRouter>[0];
  tf.io.registerSaveRouter(route);
  tf.io.registerLoadRouter(route);
}

function smallModel(): tfl.LayersModel {
  return tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [3], units: 4, activation: 'relu' }),
      tfl.layers.dense({ units: 1 }),
    ],
  });
}

const xs = () =>
  tf.tensor2d(
    Float32Array.from({ length: 48 }, (_, i) => Math.sin(i)),
    [16, 3],
  );
const ys = () =>
  tf.tensor2d(
    Float32Array.from({ length: 16 }, (_, i) => Math.cos(i)),
    [16, 1],
  );

for (const backend of ['cpu', 'wasm']) {
  describe(`tfjs interop on ${backend}`, () => {
    beforeAll(() => useBackend(backend));

    it('round-trips SGD with Nesterov momentum through save → load → fit bit-identically', async () => {
      const result = await layersRoundTrip(
        () => new SGD({ learningRate: 0.01, momentum: 0.9, nesterov: true }),
      );
      expect(result.savedClassName).toBe('gradsign.SGD');
      for (const [i, w] of result.resumed.entries())
        expect(bitsEqual(w, result.uninterrupted[i]!)).toBe(true);
    });

    it("leaves tfjs's own optimizer classes in the registry, and models saved with them load and train", async () => {
      const map = tf.serialization.SerializationMap.getMap().classNameMap;
      const builtins: Record<string, unknown> = {
        Adam: tf.AdamOptimizer,
        SGD: tf.SGDOptimizer,
        Momentum: tf.MomentumOptimizer,
        RMSProp: tf.RMSPropOptimizer,
        Adagrad: tf.AdagradOptimizer,
        Adadelta: tf.AdadeltaOptimizer,
        Adamax: tf.AdamaxOptimizer,
      };
      for (const name of TFJS_OPTIMIZERS) expect(map[name]?.[0], name).toBe(builtins[name]);
      for (const [make, cls] of [
        [() => tf.train.adam(0.01), tf.AdamOptimizer],
        [() => tf.train.sgd(0.01), tf.SGDOptimizer],
        [() => tf.train.rmsprop(0.01), tf.RMSPropOptimizer],
      ] as const) {
        const [x, y] = [xs(), ys()];
        const model = smallModel();
        model.compile({ optimizer: make(), loss: 'meanSquaredError' });
        await model.fit(x, y, { epochs: 2, verbose: 0 });
        let saved: tf.io.ModelArtifacts | undefined;
        await model.save(
          tf.io.withSaveHandler(async (a) => {
            saved = a;
            return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
          }),
          {
            includeOptimizer: true,
          },
        );
        const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved!));
        expect(loaded.optimizer).toBeInstanceOf(cls);
        const history = await loaded.fit(x, y, { epochs: 1, verbose: 0 });
        expect(Number.isFinite(history.history.loss![0] as number)).toBe(true);
        for (const m of [model, loaded]) {
          m.optimizer.dispose();
          m.dispose();
        }
        tf.dispose([x, y]);
      }
    });
  });
}

describe('tfjs interop (cpu)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gradsign-interop-'));
  beforeAll(async () => {
    await useBackend('cpu');
    fileRoutes();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('saves to and loads from a file:// route, keeping GradSign int8 counters exactly', async () => {
    const [x, y] = [xs(), ys()];
    const model = smallModel();
    const optimizer = new GradSign({ learningRate: 0.01, seed: 3 });
    model.compile({ optimizer, loss: 'meanSquaredError' });
    await model.fit(x, y, { epochs: 2, verbose: 0 });
    const counters = model.trainableWeights.map((w) =>
      optimizer.readState(w.read() as tf.Variable, 'counts'),
    );
    await model.save(`file://${dir}`, { includeOptimizer: true });
    const loaded = await tfl.loadLayersModel(`file://${dir}`);
    const restored = loaded.optimizer as GradSign;
    expect(restored).toBeInstanceOf(GradSign);
    expect(restored.getConfig()).toEqual(optimizer.getConfig());
    restored.allocateState(loaded.trainableWeights.map((w) => w.read() as tf.Variable));
    loaded.trainableWeights.forEach((w, i) => {
      const again = restored.readState(w.read() as tf.Variable, 'counts');
      expect(Array.from(again.dataSync())).toEqual(Array.from(counters[i]!.dataSync()));
      again.dispose();
    });
    tf.dispose([x, y, ...counters]);
    for (const m of [model, loaded]) {
      m.optimizer.dispose();
      m.dispose();
    }
  });

  it('loads models saved by 0.1.0 builds, which named the class GradSign', () => {
    const [cls, fromConfig] = tf.serialization.SerializationMap.getMap().classNameMap.GradSign!;
    const opt = fromConfig(cls, { learningRate: 0.02, seed: 4, customObjects: {} }) as GradSign;
    expect(opt).toBeInstanceOf(GradSign);
    expect(opt.getClassName()).toBe('gradsign.GradSign');
    expect(opt.config.seed).toBe(4);
  });

  it('refuses restored state that fits the updated variables neither by name nor by position', async () => {
    const a = tf.variable(tf.zeros([3]), true, 'interop/a');
    const b = tf.variable(tf.zeros([2]), true, 'interop/b');
    const source = new GradSign({ seed: 1 });
    source.applyGradients({ [a.name]: tf.ones([3]), [b.name]: tf.ones([2]) });
    const weights = await source.getWeights();
    const c = tf.variable(tf.zeros([3]), true, 'interop/c');
    const target = new GradSign({ seed: 1 });
    await target.setWeights(weights);
    let error: unknown;
    try {
      target.applyGradients({ [c.name]: tf.ones([3]) });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OptimizerError);
    expect((error as OptimizerError).code).toBe('state-mismatch');
    expect((error as Error).message).toMatch(/interop\/a, interop\/b.*interop\/c/);
    expect(Array.from(c.dataSync())).toEqual([0, 0, 0]);
    // Same count, wrong shapes by position: refused too, naming both.
    const d = tf.variable(tf.zeros([5]), true, 'interop/d');
    const e = tf.variable(tf.zeros([7]), true, 'interop/e');
    expect(() => target.applyGradients({ [d.name]: tf.ones([5]), [e.name]: tf.ones([7]) })).toThrow(
      /'interop\/a\/counts' \(restored into 'interop\/d' by position\)/,
    );
    tf.dispose([a, b, c, d, e, ...weights.map((w) => w.tensor)]);
    source.dispose();
    target.dispose();
  });
});
