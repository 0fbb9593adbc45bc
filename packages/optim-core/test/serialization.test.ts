import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { Adam, AdamW, GradSign, SGD } from '../src/index.js';

describe('tfjs-core serialization conventions', () => {
  beforeAll(() => tf.setBackend('cpu'));

  it('registers every optimizer class and rebuilds it from its config', () => {
    for (const opt of [
      new GradSign({ learningRate: 0.02, seed: 5 }),
      new Adam({ beta1: 0.8 }),
      new AdamW(),
      new SGD({ momentum: 0.5 }),
    ]) {
      const cls = opt.constructor as tf.serialization.SerializableConstructor<tf.Optimizer>;
      const registered = tf.serialization.SerializationMap.getMap().classNameMap[opt.getClassName()];
      expect(registered?.[0]).toBe(cls);
      const [registeredClass, fromConfig] = registered!;
      const rebuilt = fromConfig(registeredClass, opt.getConfig()) as tf.Optimizer;
      expect(rebuilt).toBeInstanceOf(cls);
      expect(rebuilt.getClassName()).toBe(opt.getClassName());
      expect(rebuilt.getConfig()).toEqual(opt.getConfig());
    }
  });

  it('names weights iter, <variable>/step and <variable>/<slot>', async () => {
    const opt = new GradSign();
    const x = tf.variable(tf.zeros([3]), true, 'layer/kernel');
    opt.applyGradients({ [x.name]: tf.ones([3]) });
    const weights = await opt.getWeights();
    expect(weights.map((w) => [w.name, w.tensor.dtype, w.tensor.shape])).toEqual([
      ['iter', 'int32', []],
      ['layer/kernel/step', 'int32', []],
      ['layer/kernel/counts', 'int32', [3]],
    ]);
    expect(opt.describeState()).toEqual([
      {
        variable: 'layer/kernel',
        slot: 'counts',
        format: 'int8',
        parts: [{ suffix: '', shape: [3], dtype: 'int32', storeAs: 'int8' }],
      },
    ]);
    opt.dispose();
    x.dispose();
  });

  it('keys state by variable, whatever the order of the gradients', () => {
    const run = (order: 'ab' | 'ba') => {
      const opt = new Adam({ learningRate: 0.1 });
      const a = tf.variable(tf.tensor1d([1, 2]));
      const b = tf.variable(tf.tensor1d([3]));
      for (let i = 0; i < 3; i++) {
        const ga = tf.tensor1d([0.5 * i, -1]);
        const gb = tf.tensor1d([2]);
        opt.applyGradients(
          order === 'ab'
            ? [
                { name: a.name, tensor: ga },
                { name: b.name, tensor: gb },
              ]
            : { [b.name]: gb, [a.name]: ga },
        );
      }
      const out = [...a.dataSync(), ...b.dataSync()];
      opt.dispose();
      tf.dispose([a, b]);
      return out;
    };
    expect(run('ba')).toEqual(run('ab'));
  });

  it('refuses to write state of the wrong shape, dtype or range', () => {
    const opt = new GradSign();
    const x = tf.variable(tf.zeros([4]));
    expect(() => opt.writeState(x, 'counts', tf.zeros([5], 'int32'))).toThrow(/expected shape \[4\]/);
    expect(() => opt.writeState(x, 'counts', tf.zeros([4]))).toThrow(/int32/);
    expect(() => opt.writeState(x, 'counts', tf.fill([4], 200, 'int32'))).toThrow(/\[-128, 127\]/);
    expect(() => opt.writeState(x, 'moments', tf.zeros([4]))).toThrow(
      /no state slot 'moments'; its slots: 'counts'/,
    );
    expect(() => opt.readState(x, 'counts')).toThrow(/has no state yet/);
    expect(opt.stateBytes()).toBe(0);
    opt.dispose();
    x.dispose();
  });
});
