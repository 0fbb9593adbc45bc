import { beforeAll, describe, expect, test } from 'vitest';
import {
  formatAccuracy,
  formatGridTable,
  formatResultsTable,
  meanSd,
  resolveConfig,
  summarize,
  sweep,
  sweepPlan,
  type TrainResult,
} from '../src/index.js';
import { smallMnist } from './data.js';
import { useBackend } from './helpers.js';

beforeAll(() => useBackend('cpu'));

function fake(
  optimizer: string,
  learningRate: number,
  seed: number,
  accuracy: number,
  loss = 0.1,
): TrainResult {
  return {
    config: resolveConfig({ optimizer, learningRate, seed }),
    backend: 'cpu',
    params: 66_954,
    stateBytes: optimizer === 'gradsign' ? 67_000 : 535_632,
    steps: 1000,
    stopped: false,
    testAccuracy: accuracy,
    testLoss: loss,
    testCount: 10_000,
    trainSeconds: 300,
    msPerStep: 300,
    msPerStepMedian: 290,
    evalSeconds: 20,
    losses: [],
    finalTrainLoss: 0.05,
  };
}

describe('summaries', () => {
  test('mean ± sample standard deviation, as in the reference table', () => {
    const { mean, sd } = meanSd([0.9758, 0.9696, 0.9824, 0.9748, 0.975]);
    expect(mean).toBeCloseTo(0.97552, 6);
    expect(sd).toBeCloseTo(0.00456, 5);
    expect(meanSd([0.5]).sd).toBeNaN();
    expect(formatAccuracy({ mean, sd })).toBe('97.55 ± 0.46 %');
    expect(formatAccuracy({ mean: 0.98, sd: Number.NaN })).toBe('98.00 %');
  });

  test('the best learning rate per optimizer is the best mean over seeds', () => {
    const results = [
      fake('gradsign', 0.001, 0, 0.95),
      fake('gradsign', 0.001, 1, 0.97),
      fake('gradsign', 0.003, 0, 0.98),
      fake('gradsign', 0.003, 1, 0.97),
      fake('gradsign', 0.01, 0, 0.99),
      fake('gradsign', 0.01, 1, 0.9),
      fake('sgd', 0.03, 0, 0.985, 0.2),
      fake('sgd', 0.1, 0, 0.985, 0.1),
    ];
    const [g, s] = summarize(results);
    expect(g!.optimizer).toBe('gradsign');
    expect(g!.best.learningRate).toBe(0.003);
    expect(g!.best.accuracies).toEqual([0.98, 0.97]);
    expect(g!.grid.map((x) => x.learningRate)).toEqual([0.001, 0.003, 0.01]);
    // A tie in accuracy goes to the lower test loss.
    expect(s!.best.learningRate).toBe(0.1);
    const table = formatResultsTable([g!, s!]);
    expect(table.split('\n')[0]).toMatch(/^\| Optimizer +\| Best LR +\| Accuracy +\|/);
    expect(table).toContain('| GradSign  | 0.003   | 97.50 ± 0.71 %');
    expect(table).toContain('| SGD       | 0.1     | 98.50 %');
    expect(formatGridTable([g!])).toMatch(/GradSign \* \| 0\.003/);
  });
});

describe('summaries of diverged runs', () => {
  const diverged = (optimizer: string, lr: number, seed: number, step: number): TrainResult => ({
    ...fake(optimizer, lr, seed, Number.NaN, Number.NaN),
    steps: step - 1,
    testCount: 0,
    diverged: { step, quantity: 'loss', message: `diverged at step ${step}: the loss is NaN` },
  });

  test('are never averaged into a mean, never the best, and shown as diverged', () => {
    const [g] = summarize([
      diverged('gradsign', 1e308, 0, 2),
      diverged('gradsign', 1e308, 1, 2),
      fake('gradsign', 0.01, 0, 0.99),
      diverged('gradsign', 0.01, 1, 7),
      fake('gradsign', 0.003, 0, 0.9),
      fake('gradsign', 0.003, 1, 0.92),
    ]);
    const [lowest, middle, top] = g!.grid;
    expect(top!.learningRate).toBe(1e308);
    expect(top!.accuracies).toEqual([]);
    expect(top!.mean).toBeNaN();
    expect(top!.diverged.map((d) => [d.seed, d.step])).toEqual([
      [0, 2],
      [1, 2],
    ]);
    expect(formatAccuracy(top!)).toBe('diverged (2 of 2 seeds, at steps 2, 2)');
    // 0.01 has the higher mean of its finished runs, but one of its seeds diverged.
    expect(middle!.accuracies).toEqual([0.99]);
    expect(middle!.mean).toBe(0.99);
    expect(formatAccuracy(middle!)).toBe('99.00 % (1 of 2 seeds diverged)');
    expect(g!.best).toBe(lowest);
    const grid = formatGridTable([g!]);
    expect(grid).toMatch(
      /\| GradSign +\| 1e\+308 +\| diverged \(2 of 2 seeds, at steps 2, 2\) +\| seed 0 diverged at step 2, seed 1 diverged at step 2 +\| – +\|/,
    );
    expect(grid).not.toMatch(/NaN/);
  });

  test('a lone diverged run reads "diverged at step N" in the results table', () => {
    const [s] = summarize([diverged('sgd', 1e308, 0, 2)]);
    expect(formatResultsTable([s!])).toMatch(/\| SGD +\| 1e\+308 +\| diverged at step 2 +\| 1 +\|/);
  });
});

describe('sweep', () => {
  test('plans optimizer × learning rate × seed and validates up front', () => {
    const plan = sweepPlan({ optimizers: ['gradsign', 'sgd'], seeds: [0, 1] });
    expect(plan).toHaveLength(12);
    expect(plan.slice(0, 3).map((r) => [r.optimizer, r.learningRate, r.seed])).toEqual([
      ['gradsign', 0.001, 0],
      ['gradsign', 0.001, 1],
      ['gradsign', 0.003, 0],
    ]);
    expect(plan.at(-1)).toMatchObject({ optimizer: 'sgd', learningRate: 0.1, seed: 1, index: 11, total: 12 });
    expect(() => sweepPlan({ optimizers: ['nosuchopt'], seeds: [0], learningRates: [0.1] })).toThrow(
      /unknown optimizer/,
    );
    expect(() => sweepPlan({ optimizers: ['adamw'], seeds: [0] })).toThrow(
      /no learning rates given for optimizer 'adamw'/,
    );
  });

  test('runs every setting and reports each result', async () => {
    const data = await smallMnist();
    const started: number[] = [];
    const results = [];
    for await (const r of sweep({
      optimizers: ['gradsign', 'adam'],
      learningRates: { gradsign: [0.003, 0.01], adam: [0.003] },
      seeds: [3],
      base: { model: 'mlp', steps: 20, batchSize: 16 },
      data,
      evalBatchSize: 500,
      onRunStart: (run) => {
        started.push(run.index);
      },
    })) {
      results.push(r);
    }
    expect(started).toEqual([0, 1, 2]);
    expect(results.map((r) => [r.config.optimizer, r.config.learningRate, r.config.seed, r.steps])).toEqual([
      ['gradsign', 0.003, 3, 20],
      ['gradsign', 0.01, 3, 20],
      ['adam', 0.003, 3, 20],
    ]);
    for (const r of results) {
      expect(r.testCount).toBe(1000);
      expect(r.testAccuracy).toBeGreaterThan(0.3);
    }
    const summaries = summarize(results);
    expect(summaries.map((s) => s.optimizer)).toEqual(['gradsign', 'adam']);
    expect(summaries[1]!.best.stateBytes).toBe(101_770 * 8);
  });

  test('a diverged run is reported, and the sweep goes on with the next run', async () => {
    const data = await smallMnist();
    const results = [];
    for await (const r of sweep({
      optimizers: ['sgd'],
      learningRates: [1e308, 0.03],
      seeds: [0],
      base: { model: 'mlp', steps: 5, batchSize: 16 },
      data,
    })) {
      results.push(r);
    }
    expect(results.map((r) => [r.config.learningRate, r.diverged?.step, r.stopped])).toEqual([
      [1e308, 2, false],
      [0.03, undefined, false],
    ]);
    expect(results[1]!.testAccuracy).toBeGreaterThan(0.1);
    const [s] = summarize(results);
    expect(s!.best.learningRate).toBe(0.03);
    expect(s!.grid[1]!.diverged).toHaveLength(1);
  });
});
