import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { runId, SweepQueueError, validateRunPayload } from '../src/index.js';
import { payload } from './fixtures.js';

function refusal(data: unknown): string {
  try {
    validateRunPayload(data);
  } catch (error) {
    expect(error).toBeInstanceOf(SweepQueueError);
    expect((error as SweepQueueError).code).toBe('invalid-job');
    return (error as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(data)}`);
}

describe('job payloads', () => {
  test('the run id hashes everything that determines the result, in any key order, but not the checkpoint interval', () => {
    const p = payload();
    const reverse = (o: object) => Object.fromEntries(Object.entries(o).reverse());
    const reordered = reverse({ ...p, config: reverse(p.config) });
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(p));
    expect(runId(validateRunPayload(reordered))).toBe(runId(p));
    expect(runId(payload({ checkpointEvery: 100 }))).toBe(runId(p));
    for (const other of [
      payload({ workers: 2 }),
      payload({ backend: 'wasm' }),
      payload({ trainLimit: null }),
      payload({ testLimit: 100 }),
      payload({ evalBatch: 100 }),
      payload({ config: { ...p.config, seed: 1 } }),
      payload({ config: { ...p.config, learningRate: 0.001 } }),
    ]) {
      expect(runId(other)).not.toBe(runId(p));
    }
    expect(runId(payload({ onNonFinite: { policy: 'skip' } }))).not.toBe(runId(p));
    expect(runId(p)).toMatch(/^run-[0-9a-f]{32}$/);
  });

  test("kernels: 'portable' is kept and changes the run id; any other value is refused", () => {
    const p = payload();
    const portable = validateRunPayload({ ...p, kernels: 'portable' });
    expect(portable.kernels).toBe('portable');
    expect(runId(portable)).not.toBe(runId(p));
    expect(validateRunPayload(p).kernels).toBeUndefined();
    expect(refusal({ ...p, kernels: 'fma' })).toMatch(/kernels must be 'portable' when present, got "fma"/);
  });

  test('malformed or hostile payloads are refused before anything runs', () => {
    const p = payload();
    expect(refusal(null)).toMatch(/not an object/);
    expect(refusal({ ...p, onNonFinite: { policy: 'ignore' } })).toMatch(/onNonFinite.policy must be/);
    expect(
      validateRunPayload({ ...p, onNonFinite: { policy: 'skip', maxConsecutive: 3 } }).onNonFinite,
    ).toEqual({
      policy: 'skip',
      maxConsecutive: 3,
    });
    expect(refusal({ ...p, v: 2 })).toMatch(/version 2/);
    expect(refusal({ ...p, extra: 1 })).toMatch(/unexpected field 'extra'/);
    expect(refusal({ ...p, backend: 'node:child_process' })).toMatch(/backend must be one of/);
    expect(refusal({ ...p, workers: 1e6 })).toMatch(/workers must be an integer in 1…256/);
    expect(refusal({ ...p, config: { ...p.config, optimizer: '../../../tmp/evil' } })).toMatch(
      /lower-case name/,
    );
    expect(refusal({ ...p, config: { ...p.config, steps: 1e12 } })).toMatch(/config.steps/);
    expect(refusal({ ...p, config: { ...p.config, learningRate: -1 } })).toMatch(
      /learningRate must be a positive finite number/,
    );
    expect(refusal({ ...p, config: { ...p.config, __proto__: { x: 1 }, extra: 'y' } })).toMatch(
      /config.extra/,
    );
    expect(refusal({ ...p, config: { ...p.config, optimizerConfig: { beta1: { $gt: 1 } } } })).toMatch(
      /optimizerConfig.beta1 must be/,
    );
    expect(refusal({ ...p, config: { ...p.config, model: 'resnet' } })).toMatch(/unknown model 'resnet'/);
    const unresolved = {
      ...p,
      config: { optimizer: 'adam', model: 'mlp', steps: 5, batchSize: 32, seed: 0 },
    };
    expect(refusal(unresolved)).toMatch(/not in resolved form/);
  });

  test('any JSON value, or a valid payload with one field replaced by any JSON value, is refused or accepted, never crashes', () => {
    const p = payload();
    const fields = [...Object.keys(p), ...Object.keys(p.config).map((k) => `config.${k}`)];
    const mutated = fc.tuple(fc.constantFrom(...fields), fc.jsonValue()).map(([field, value]) => {
      const copy = JSON.parse(JSON.stringify(p)) as Record<string, Record<string, unknown>>;
      const [head, tail] = field.split('.') as [string, string | undefined];
      if (tail) copy[head]![tail] = value;
      else (copy as Record<string, unknown>)[head] = value;
      return copy;
    });
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), mutated), (data) => {
        try {
          const accepted = validateRunPayload(data);
          // Whatever is accepted is complete, bounded and resolves to the same run id however it is written.
          expect(runId(validateRunPayload(JSON.parse(JSON.stringify(accepted))))).toBe(runId(accepted));
          expect(accepted.config.steps).toBeLessThanOrEqual(10_000_000);
        } catch (error) {
          expect(error).toBeInstanceOf(SweepQueueError);
          expect((error as SweepQueueError).code).toBe('invalid-job');
        }
      }),
      { numRuns: 500 },
    );
  });
});
