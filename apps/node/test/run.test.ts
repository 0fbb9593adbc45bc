import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint } from '@gradsign/trainer/node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkBuilt, runCli } from './run-cli.js';

let dir: string;
beforeAll(async () => {
  checkBuilt();
  dir = await mkdtemp(join(tmpdir(), 'gradsign-cli-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const tiny = ['--model', 'mlp', '--train-limit', '2000', '--test-limit', '300', '--batch', '16'];

function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('gradsign run', () => {
  test('finds contributed optimizers by name in @gradsign/optim-<name>, or through --optimizer-package', async () => {
    const lion = await runCli([
      'run',
      ...tiny,
      '--steps',
      '5',
      '--optimizer',
      'lion',
      '--lr',
      '0.0003',
      '--backend',
      'cpu',
      '--json',
    ]);
    expect(lion.code).toBe(0);
    expect(jsonLines(lion.stdout)[0]).toMatchObject({ optimizer: 'lion', steps: 5 });
    const plugin = join(dir, 'my-optimizer.mjs');
    const core = import.meta.resolve('@gradsign/optim-core');
    await writeFile(
      plugin,
      `import { registerOptimizer, SGD } from '${core}';\n` +
        `registerOptimizer({ name: 'mysgd', description: 'test', defaults: { learningRate: 0.01 }, create: (c) => new SGD(c) });\n`,
    );
    const custom = await runCli([
      'run',
      ...tiny,
      '--steps',
      '3',
      '--optimizer',
      'mysgd',
      '--optimizer-package',
      plugin,
      '--backend',
      'cpu',
      '--json',
    ]);
    expect(custom.code).toBe(0);
    expect(jsonLines(custom.stdout)[0]).toMatchObject({ optimizer: 'mysgd', stateBytes: 0 });
  });

  test('--workers 2 trains data-parallel, with contributed optimizers, and its checkpoints resume on one thread', async () => {
    const lion = await runCli([
      'run',
      ...tiny,
      '--steps',
      '5',
      '--optimizer',
      'lion',
      '--lr',
      '0.0003',
      '--backend',
      'cpu',
      '--workers',
      '2',
      '--json',
    ]);
    expect(lion.code).toBe(0);
    expect(jsonLines(lion.stdout)[0]).toMatchObject({ optimizer: 'lion', workers: 2, steps: 5 });

    const ckpt = join(dir, 'parallel.ckpt');
    const common = ['--train-limit', '2000', '--test-limit', '300', '--backend', 'wasm'];
    const first = await runCli([
      'run',
      ...common,
      '--steps',
      '40',
      '--workers',
      '2',
      '--checkpoint',
      ckpt,
      '--json',
    ]);
    expect(first.code).toBe(0);
    const line = jsonLines(first.stdout)[0]!;
    expect(line).toMatchObject({
      model: 'blog-cnn',
      workers: 2,
      steps: 40,
      stateBytes: 66_956,
      params: 66_954,
    });
    expect(line.testAccuracy).toBeGreaterThan(0.3);
    const resumed = await runCli(['run', '--resume', ckpt, '--steps', '45', '--backend', 'wasm', '--json']);
    expect(resumed.code).toBe(0);
    expect(jsonLines(resumed.stdout)[0]).toMatchObject({ workers: 1, steps: 45, resumedFrom: 40 });
  });

  test('--backend tensorflow, which cannot load here, fails saying why; --backend auto falls back and completes', async () => {
    const named = await runCli(['run', ...tiny, '--steps', '5', '--backend', 'tensorflow', '--json']);
    expect(named.code).toBe(1);
    expect(named.stderr).toMatch(/error: --backend tensorflow cannot run here: .*tfjs-node.*--backend auto/);
    expect(named.stdout).toBe('');
    const auto = await runCli(['run', ...tiny, '--steps', '5', '--backend', 'auto', '--json']);
    expect(auto.code).toBe(0);
    expect(auto.stderr).toMatch(/tensorflow not used: .*tfjs-node.*; trying wasm/);
    const [line] = jsonLines(auto.stdout);
    expect(['wasm', 'cpu']).toContain(line!.backend);
    expect(line!.steps).toBe(5);
  });

  test('--json prints one line with the run, and nothing else on stdout', async () => {
    const r = await runCli([
      'run',
      ...tiny,
      '--steps',
      '40',
      '--lr',
      '0.01',
      '--seed',
      '3',
      '--backend',
      'cpu',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(lines).toHaveLength(1);
    const run = lines[0]!;
    expect(run).toMatchObject({
      type: 'run',
      optimizer: 'gradsign',
      lr: 0.01,
      seed: 3,
      steps: 40,
      batch: 16,
      backend: 'cpu',
      model: 'mlp',
      params: 101_770,
      testExamples: 300,
      stopped: false,
    });
    for (const key of [
      'testAccuracy',
      'testLoss',
      'trainSeconds',
      'msPerStep',
      'stateBytes',
      'peakRssBytes',
    ]) {
      expect(typeof run[key]).toBe('number');
    }
    expect(run.testAccuracy as number).toBeGreaterThan(0.3);
    expect(run.testAccuracy as number).toBeLessThanOrEqual(1);
    expect(run.stateBytes).toBe(101_772);
    // No progress bar or progress lines with --json.
    expect(r.stderr).not.toMatch(/steps\/s/);
  });

  test('--out writes CSV and JSON of every step and SVG loss plots', async () => {
    const out = join(dir, 'out');
    const r = await runCli([
      'run',
      ...tiny,
      '--steps',
      '25',
      '--backend',
      'wasm',
      '--optimizer',
      'adam',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Adam lr=0\.003 seed=0 \(mlp, wasm\): test accuracy \d+\.\d\d %/);
    // Not a TTY: plain progress lines instead of a bar.
    expect(r.stderr).toMatch(/step 25\/25 {2}loss \d\.\d{4} {2}[\d.]+ steps\/s {2}ETA 0s/);
    const csv = (await readFile(join(out, 'steps.csv'), 'utf8')).trim().split('\n');
    expect(csv[0]).toBe('optimizer,lr,seed,step,loss,ms_per_step,epoch');
    expect(csv).toHaveLength(26);
    expect(csv[25]).toMatch(/^adam,0\.003,0,25,\d+\.\d+,\d+\.\d+,0$/);
    const steps = JSON.parse(await readFile(join(out, 'steps.json'), 'utf8')) as {
      step: number;
      loss: number;
    }[];
    expect(steps.map((s) => s.step)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(steps[0]!.loss).toBe(Number(csv[1]!.split(',')[4]));
    const results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8'));
    expect(results.runs[0].optimizer).toBe('adam');
    expect(results.table).toMatch(/\| Adam +\| 0\.003 +\|/);
    for (const name of ['loss-adam.svg', 'loss.svg']) {
      const svg = await readFile(join(out, name), 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain('training loss');
      expect(svg).toMatch(/<path[^>]+d="M/);
    }
  });

  test('Ctrl-C saves a checkpoint; --resume continues it; bad resumes are refused', async () => {
    const ckpt = join(dir, 'run.ckpt');
    let sent = false;
    const r = await runCli(
      [
        'run',
        ...tiny,
        '--steps',
        '100000',
        '--backend',
        'cpu',
        '--checkpoint',
        ckpt,
        '--checkpoint-every',
        '1000000',
      ],
      {
        onStderr: (text, child) => {
          if (!sent && /0\/100000 steps/.test(text)) {
            sent = true;
            setTimeout(() => child.kill('SIGINT'), 700);
          }
        },
      },
    );
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/stopped at step \d+\/100000; continue with: gradsign run --resume /);
    const saved = await loadCheckpoint(ckpt);
    expect(saved.step).toBeGreaterThan(0);
    expect(saved.step).toBeLessThan(100_000);
    expect(saved.meta).toMatchObject({ data: { trainLimit: 2000, testLimit: 300 } });

    const target = saved.step + 5;
    const resumed = await runCli([
      'run',
      '--resume',
      ckpt,
      '--steps',
      String(target),
      '--backend',
      'cpu',
      '--json',
    ]);
    expect(resumed.code).toBe(0);
    const line = jsonLines(resumed.stdout)[0]!;
    expect(line).toMatchObject({ steps: target, resumedFrom: saved.step, testExamples: 300, model: 'mlp' });
    expect((await loadCheckpoint(ckpt)).step).toBe(target);

    const conflict = await runCli(['run', '--resume', ckpt, '--lr', '0.1', '--backend', 'cpu']);
    expect(conflict.code).toBe(2);
    expect(conflict.stderr).toMatch(
      /--lr 0\.1 does not match the checkpoint \(0\.003\); omit it when resuming/,
    );
    const shorter = await runCli(['run', '--resume', ckpt, '--steps', '1', '--backend', 'cpu']);
    expect(shorter.code).toBe(2);
    expect(shorter.stderr).toMatch(/--steps 1 is less than the \d+ steps the checkpoint has already done/);

    const foreign = join(dir, 'notes.txt');
    await writeFile(foreign, 'hello, world');
    const bad = await runCli(['run', '--resume', foreign, '--backend', 'cpu']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/notes\.txt: not a gradsign checkpoint/);
    await writeFile(join(dir, 'half.ckpt'), (await readFile(ckpt)).subarray(0, 500));
    const half = await runCli(['run', '--resume', join(dir, 'half.ckpt'), '--backend', 'cpu']);
    expect(half.code).toBe(1);
    expect(half.stderr).toMatch(/half\.ckpt: checkpoint is truncated: 500 of \d+ bytes/);
  });
});

describe('gradsign compare and sweep', () => {
  test('compare: the three optimizers at their published learning rates, JSON lines and a summary', async () => {
    const r = await runCli([
      'compare',
      ...tiny,
      '--steps',
      '15',
      '--seeds',
      '2',
      '--backend',
      'wasm',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const lines = jsonLines(r.stdout);
    const runs = lines.filter((l) => l.type === 'run');
    expect(runs.map((l) => [l.optimizer, l.lr, l.seed])).toEqual([
      ['gradsign', 0.003, 0],
      ['gradsign', 0.003, 1],
      ['adam', 0.003, 0],
      ['adam', 0.003, 1],
      ['sgd', 0.03, 0],
      ['sgd', 0.03, 1],
    ]);
    const summaries = lines.filter((l) => l.type === 'summary');
    expect(summaries.map((s) => [s.optimizer, s.bestLr])).toEqual([
      ['gradsign', 0.003],
      ['adam', 0.003],
      ['sgd', 0.03],
    ]);
    const g = summaries[0]!;
    const accuracies = runs.slice(0, 2).map((l) => l.testAccuracy as number);
    expect(g.accuracies).toEqual(accuracies);
    expect(g.accuracyMean).toBeCloseTo((accuracies[0]! + accuracies[1]!) / 2, 12);
    expect(lines.at(-1)).toMatchObject({ type: 'done', kind: 'compare', runs: 6, planned: 6 });
  });

  test('sweep prints the grid and the best learning rate per optimizer', async () => {
    const r = await runCli([
      'sweep',
      ...tiny,
      '--steps',
      '10',
      '--backend',
      'cpu',
      '--optimizers',
      'gradsign,sgd',
      '--lrs',
      '0.001,0.01',
      '--lrs',
      'sgd=0.05',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\| Optimizer +\| LR +\| Accuracy +\| Per seed +\| Test loss +\|/);
    expect(r.stdout).toMatch(/\| GradSign \*? *\| 0\.001 /);
    expect(r.stdout).toMatch(/\| GradSign \*? *\| 0\.01 /);
    expect(r.stdout).toMatch(/\| SGD \* +\| 0\.05 /);
    expect(r.stdout).toMatch(/\| Optimizer +\| Best LR +\| Accuracy +\| Seeds +\| State +\| ms\/step +\|/);
    expect(r.stdout).toMatch(/3 runs of 10 × 16 \(mlp, cpu, 300 test images\); wall time/);
  });
});
