import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  BackendSelectionError,
  defaultBackendOrder,
  detectEnvironment,
  type LogLevel,
  resolveBackendOrder,
  selectBackend,
} from '../src/index.js';

function recorder() {
  const lines: Array<{ level: LogLevel; message: string }> = [];
  return { lines, onLog: (level: LogLevel, message: string) => lines.push({ level, message }) };
}

describe('backend order', () => {
  it('detects Node here and uses tensorflow, wasm, cpu for auto', () => {
    expect(detectEnvironment()).toBe('node');
    expect(defaultBackendOrder('node')).toEqual(['tensorflow', 'wasm', 'cpu']);
    expect(defaultBackendOrder('browser')).toEqual(['webgl', 'wasm', 'cpu']);
  });

  it('puts a single preference first and falls back to the rest of auto', () => {
    expect(resolveBackendOrder('auto', 'node')).toEqual(['tensorflow', 'wasm', 'cpu']);
    expect(resolveBackendOrder('cpu', 'node')).toEqual(['cpu', 'tensorflow', 'wasm']);
    expect(resolveBackendOrder('wasm', 'browser')).toEqual(['wasm', 'webgl', 'cpu']);
    expect(resolveBackendOrder('webgpu', 'browser')).toEqual(['webgpu', 'webgl', 'wasm', 'cpu']);
  });

  it('tries a list exactly, expanding auto in place', () => {
    expect(resolveBackendOrder(['wasm', 'cpu'], 'node')).toEqual(['wasm', 'cpu']);
    expect(resolveBackendOrder(['cpu', 'auto'], 'node')).toEqual(['cpu', 'tensorflow', 'wasm']);
    expect(resolveBackendOrder(['auto', 'cpu'], 'browser')).toEqual(['webgl', 'wasm', 'cpu']);
  });
});

describe('selectBackend in Node', () => {
  it('falls back from an unmet tensorflow preference, says why, and training continues', async () => {
    const log = recorder();
    const s = await selectBackend('tensorflow', { onLog: log.onLog });
    expect(s.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(s.attempts.map((a) => [a.backend, a.ok])).toEqual([
      ['tensorflow', false],
      ['wasm', true],
    ]);
    expect(s.attempts[0]!.reason).toMatch(/@tensorflow\/tfjs-node is not installed/);
    expect(log.lines[0]).toEqual({
      level: 'warn',
      message: expect.stringMatching(/tensorflow not used: .*tfjs-node.*trying wasm/),
    });
    expect(log.lines.at(-1)).toEqual({
      level: 'info',
      message: expect.stringMatching(/using wasm \(SIMD|using wasm \(no SIMD/),
    });

    // The run continues: a few optimizer steps on a conv net work on the fallback backend.
    const w = tf.variable(tf.randomNormal([3, 3, 1, 4], 0, 0.3, 'float32', 1));
    const x = tf.randomNormal([2, 6, 6, 1], 0, 1, 'float32', 2);
    const loss = () =>
      tf.mean(
        tf.square(
          tf.maxPool(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor as tf.Tensor4D, 1, 'same'), 2, 2, 'valid'),
        ),
      ) as tf.Scalar;
    const opt = tf.train.sgd(0.05);
    const before = loss().dataSync()[0]!;
    for (let i = 0; i < 5; i++) opt.minimize(loss);
    expect(loss().dataSync()[0]!).toBeLessThan(before);
  });

  it('reports wasm capabilities, fixes and where the binaries came from', async () => {
    const s = await selectBackend('wasm', { onLog: () => {} });
    expect(s.backend).toBe('wasm');
    expect(s.environment).toBe('node');
    expect(s.fixes).toEqual(['conv2d-grad', 'maxpool-grad', 'conv2d-winograd']);
    expect(s.capabilities.simd).toBe(Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')));
    expect(s.capabilities.threads).toBeGreaterThanOrEqual(1);
    expect(s.capabilities.floatPrecision).toBe(32);
    expect(s.capabilities.int32Exact).toBe(true);
    expect(s.capabilities.int32ExactBelow).toBe(2 ** 31);
    expect(s.capabilities.webglVersion).toBeNull();
    expect(String(s.wasmPaths)).toMatch(/tfjs-backend-wasm[\\/]dist[\\/]$/);
    expect(s.gradients.total).toBeGreaterThan(90);
  });

  it('selects cpu on request, with the conv fix only', async () => {
    const s = await selectBackend('cpu', { onLog: () => {} });
    expect(s.backend).toBe('cpu');
    expect(s.attempts).toHaveLength(1);
    expect(s.fixes).toEqual(['conv2d-grad']);
    expect(s.capabilities).toMatchObject({ simd: null, threads: 1, floatPrecision: 32, int32Exact: true });
  });

  it('rejects wasm without its fixes (the training check fails) and falls back to cpu', async () => {
    const log = recorder();
    const s = await selectBackend(['wasm', 'cpu'], { fixes: false, onLog: log.onLog });
    expect(s.backend).toBe('cpu');
    expect(s.fixes).toEqual([]);
    expect(s.attempts[0]!.reason).toMatch(/check failed: .*Conv2DBackpropFilter/);
    const partial = await selectBackend(['wasm', 'cpu'], { fixes: ['conv2d-grad'], onLog: log.onLog });
    expect(partial.backend).toBe('cpu');
    expect(partial.attempts[0]!.reason).toMatch(
      /maxPool gradient is wrong: [34] of 4 windows of negative values got no gradient/,
    );
    // With the basic check only, wasm without fixes is accepted (e.g. for inference).
    const basic = await selectBackend(['wasm'], { fixes: false, check: 'basic', onLog: log.onLog });
    expect(basic.backend).toBe('wasm');
  });

  it('explains backends that do not exist here, and throws when nothing in a strict list works', async () => {
    const log = recorder();
    const err = await selectBackend(['webgl', 'webgpu'], { onLog: log.onLog }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendSelectionError);
    const attempts = (err as BackendSelectionError).attempts;
    expect(attempts.map((a) => a.backend)).toEqual(['webgl', 'webgpu']);
    expect(attempts[0]!.reason).toMatch(/WebGL needs a browser/);
    expect(attempts[1]!.reason).toMatch(/no backend named 'webgpu' is registered/);
    expect(log.lines.filter((l) => l.level === 'warn')).toHaveLength(3);
  });

  it('does not offer tfjs-node outside Node', async () => {
    const s = await selectBackend(['tensorflow', 'cpu'], { environment: 'browser', onLog: () => {} });
    expect(s.backend).toBe('cpu');
    expect(s.attempts[0]!.reason).toMatch(/only runs in Node/);
  });

  it('logs to the console by default', async () => {
    const info: string[] = [];
    const original = console.info;
    console.info = (m: string) => info.push(m);
    try {
      await selectBackend('cpu');
    } finally {
      console.info = original;
    }
    expect(info).toEqual([expect.stringMatching(/^\[gradsign\/backends\] using cpu/)]);
  });
});
