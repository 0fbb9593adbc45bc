import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { registerGradients, stockGradConfigs } from '../src/index.js';

const require = createRequire(import.meta.url);
const coreDist = join(dirname(require.resolve('@tensorflow/tfjs-core/package.json')), 'dist');
const bundle = fileURLToPath(new URL('../dist/vendor/tfjs-gradients.js', import.meta.url));

describe('registerGradients', () => {
  it('registers every stock gradient once, and is idempotent', () => {
    // Under vitest, tfjs-core is its CommonJS Node bundle, which registers no gradients.
    expect(tf.getGradient('RealDiv')).toBeUndefined();
    const first = registerGradients();
    expect(first.total).toBe(stockGradConfigs.length);
    expect(first.registered).toBe(first.total);
    for (const c of stockGradConfigs) expect(tf.getGradient(c.kernelName), c.kernelName).toBe(c);
    const second = registerGradients();
    expect(second).toEqual({ registered: 0, alreadyPresent: first.total, total: first.total });
  });

  it('leaves a gradient that is already registered alone', () => {
    const custom: tf.GradConfig = { kernelName: 'Sin', gradFunc: (dy) => ({ x: () => dy as tf.Tensor }) };
    tf.registerGradient(custom);
    registerGradients();
    expect(tf.getGradient('Sin')).toBe(custom);
  });

  it('covers exactly the configs of tfjs-core register_all_gradients', () => {
    const src = readFileSync(join(coreDist, 'register_all_gradients.js'), 'utf8');
    const list = src.match(/const gradConfigs = \[([\s\S]*?)\];/)![1]!;
    // The list names a few configs twice (Max, PadV2, SpaceToBatchND, SplitV).
    const count = new Set(
      list
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    ).size;
    expect(count).toBeGreaterThan(90);
    expect(stockGradConfigs.length).toBe(count);
    expect(new Set(stockGradConfigs.map((c) => c.kernelName)).size).toBe(count);
    for (const c of stockGradConfigs) {
      expect(typeof c.kernelName).toBe('string');
      expect(typeof c.gradFunc).toBe('function');
    }
  });

  it('ships a bundle whose only import is the public @tensorflow/tfjs-core entry', () => {
    const code = readFileSync(bundle, 'utf8');
    const specifiers = new Set(
      [...code.matchAll(/^\s*import\s[^'"]*from\s*["']([^"']+)["']/gm)].map((m) => m[1]),
    );
    expect([...specifiers]).toEqual(['@tensorflow/tfjs-core']);
    expect(code).not.toMatch(/\bimport\(|require\(/);
    // No second engine, tensor class or registry inside the bundle.
    expect(code).not.toMatch(
      /class Engine\b|class Tensor\b|new Map\(\)\s*;?\s*\/\/\s*kernelRegistry|_tfGlobals/,
    );
  });

  it('computes gradients with the bundled configs', async () => {
    await import('@tensorflow/tfjs-backend-cpu');
    await tf.setBackend('cpu');
    registerGradients();
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.div(tf.exp(x), tf.scalar(2))))(tf.tensor1d([0, 1]));
    const v = g.dataSync();
    expect(v[0]).toBeCloseTo(0.5, 6);
    expect(v[1]).toBeCloseTo(Math.E / 2, 5);
  });
});
