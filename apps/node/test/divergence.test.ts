// Divergence (exit code 3, diverged marking, the last good checkpoint) and resumed runs reporting the same run.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from '@gradsign/trainer';
import { loadCheckpoint } from '@gradsign/trainer/node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkBuilt, runCli } from './run-cli.js';

let dir: string;
beforeAll(async () => {
  checkBuilt();
  dir = await mkdtemp(join(tmpdir(), 'gradsign-diverge-cli-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

// The issue's Q, on cpu (deterministic, so resumed runs can be compared exactly).
const Q = [
  '--model',
  'mlp',
  '--steps',
  '5',
  '--train-limit',
  '1000',
  '--test-limit',
  '200',
  '--backend',
  'cpu',
];

function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('gradsign run: divergence', () => {
  test('--lr 1e308 exits 3 with "diverged at step 2", and the JSON marks the run as diverged', async () => {
    const r = await runCli(['run', ...Q, '--lr', '1e308', '--json']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^diverged at step 2: the loss is NaN$/m);
    const [line] = jsonLines(r.stdout);
    expect(line).toMatchObject({
      diverged: { step: 2, quantity: 'loss', message: 'diverged at step 2: the loss is NaN' },
      testAccuracy: null,
      testExamples: 0,
      stopped: false,
    });
  });

  test('the progress warns of a skipped non-finite step and of an exploding loss', async () => {
    const skip = await runCli([
      'run',
      ...Q,
      '--lr',
      '1e308',
      '--on-nonfinite',
      'skip',
      '--max-nonfinite',
      '2',
    ]);
    expect(skip.code).toBe(3);
    expect(skip.stderr).toMatch(
      /warning: GradSign lr=1e\+308 seed=0: step 2: the loss is NaN; update skipped/,
    );
    expect(skip.stderr).toMatch(
      /diverged at step 3: the loss is NaN; 2 updates in a row skipped \(the limit is 2\)/,
    );

    const exploding = await runCli([
      'run',
      ...Q,
      '--optimizer',
      'sgd',
      '--lr',
      '1e6',
      '--steps',
      '3',
      '--json',
    ]);
    expect(exploding.code).toBe(0);
    expect(exploding.stderr).toMatch(
      /warning: SGD lr=1000000 seed=0: step 2: the loss [\d.e+]+ is over 1e\+6 times the first step's \(2\.\d{4}\)/,
    );

    const bad = await runCli(['run', ...Q, '--max-nonfinite', '3']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--max-nonfinite 3 needs --on-nonfinite skip/);
  });

  test('the last good checkpoint stays on disk and resumes; a checkpoint of NaN weights is refused', async () => {
    const ckpt = join(dir, 'diverging.ckpt');
    const args = [
      '--optimizer',
      'sgd',
      '--lr',
      '1e8',
      '--batch',
      '16',
      '--steps',
      '20',
      '--checkpoint',
      ckpt,
    ];
    const r = await runCli(['run', ...Q, ...args, '--checkpoint-every', '2', '--json']);
    expect(r.code).toBe(3);
    const diverged = jsonLines(r.stdout)[0]!.diverged as { step: number };
    const kept = await loadCheckpoint(ckpt);
    expect(kept.step).toBeLessThanOrEqual(diverged.step);
    expect(kept.step).toBeGreaterThan(0);
    expect(r.stderr).toContain(`the last good checkpoint, ${ckpt}, holds step ${kept.step}`);
    // It resumes, and the run diverges again at the same step.
    const again = await runCli(['run', '--resume', ckpt, '--backend', 'cpu', '--json']);
    expect(again.code).toBe(3);
    expect(jsonLines(again.stdout)[0]).toMatchObject({ diverged, resumedFrom: kept.step });

    // The same checkpoint with one NaN weight (and a valid CRC) is refused, naming the file.
    const bytes = await readFile(ckpt);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const header = JSON.parse(bytes.subarray(20, 20 + view.getUint32(16, true)).toString('utf8'));
    view.setFloat32(header.model[0].offset + 8, Number.NaN, true);
    view.setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
    const poisoned = join(dir, 'nan.ckpt');
    await writeFile(poisoned, bytes);
    const refused = await runCli(['run', '--resume', poisoned, '--backend', 'cpu']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /nan\.ckpt: refusing a checkpoint of a diverged run: weight 'lin1\.weight' holds NaN at index 2/,
    );
  });
});

describe('gradsign sweep and compare: divergence', () => {
  test('a diverged run is marked in the table, the JSON and --out; the other runs finish; exit code 3', async () => {
    const out = join(dir, 'sweep-out');
    const args = ['sweep', ...Q, '--optimizers', 'sgd', '--lrs', '1e308,0.03'];
    const json = await runCli([...args, '--json', '--out', out]);
    expect(json.code).toBe(3);
    const lines = jsonLines(json.stdout);
    const runs = lines.filter((l) => l.type === 'run');
    expect(runs.map((l) => [l.lr, (l.diverged as { step: number } | undefined)?.step])).toEqual([
      [1e308, 2],
      [0.03, undefined],
    ]);
    expect(runs[1]!.testAccuracy as number).toBeGreaterThan(0);
    const [summary] = lines.filter((l) => l.type === 'summary');
    expect(summary).toMatchObject({ bestLr: 0.03 });
    const grid = summary!.grid as { lr: number; accuracyMean: number | null; diverged: unknown[] }[];
    expect(grid.find((g) => g.lr === 1e308)).toMatchObject({
      accuracyMean: null,
      diverged: [{ step: 2, seed: 0 }],
    });
    expect(lines.at(-1)).toMatchObject({ type: 'done', runs: 2, diverged: 1 });
    const results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8'));
    expect(results.runs[0].diverged).toMatchObject({ step: 2, quantity: 'loss' });
    expect(results.grid).toMatch(/\| SGD +\| 1e\+308 \| diverged at step 2 +\|/);

    const table = await runCli(args);
    expect(table.code).toBe(3);
    expect(table.stdout).toMatch(
      /\| SGD +\| 1e\+308 \| diverged at step 2 +\| seed 0 diverged at step 2 +\| – +\|/,
    );
    expect(table.stdout).not.toMatch(/NaN/);
    expect(table.stderr).toMatch(/\[1\/2\] SGD lr=1e\+308 seed=0: diverged at step 2: the loss is NaN/);
    expect(table.stderr).toMatch(/1 of 2 runs diverged \(exit code 3\)/);
  });
});

describe('gradsign run --resume reports the same run', () => {
  test('finalTrainLoss, steps.csv and steps.json of 20 + 20 steps equal those of 40 straight', async () => {
    const common = [...Q, '--batch', '16', '--optimizer', 'adam', '--json'];
    const straightOut = join(dir, 'straight');
    const straight = await runCli(['run', ...common, '--steps', '40', '--out', straightOut]);
    expect(straight.code).toBe(0);
    const ckpt = join(dir, 'half.ckpt');
    const first = await runCli(['run', ...common, '--steps', '20', '--checkpoint', ckpt]);
    expect(first.code).toBe(0);
    const resumedOut = join(dir, 'resumed');
    const resumed = await runCli([
      'run',
      '--resume',
      ckpt,
      '--steps',
      '40',
      '--backend',
      'cpu',
      '--json',
      '--out',
      resumedOut,
    ]);
    expect(resumed.code).toBe(0);
    const [a] = jsonLines(straight.stdout);
    const [b] = jsonLines(resumed.stdout);
    expect(b).toMatchObject({ resumedFrom: 20, steps: 40 });
    expect(b!.historyFrom).toBeUndefined();
    expect(b!.finalTrainLoss).toBe(a!.finalTrainLoss);
    const losses = async (d: string) =>
      (await readFile(join(d, 'steps.csv'), 'utf8'))
        .trim()
        .split('\n')
        .slice(1)
        .map((row) => row.split(',').filter((_, i) => i !== 5)); // all but ms_per_step
    const rows = await losses(resumedOut);
    expect(rows).toHaveLength(40);
    expect(rows).toEqual(await losses(straightOut));
    const stepsJson = async (d: string) =>
      (JSON.parse(await readFile(join(d, 'steps.json'), 'utf8')) as { step: number; loss: number }[]).map(
        (s) => [s.step, s.loss],
      );
    expect(await stepsJson(resumedOut)).toEqual(await stepsJson(straightOut));
    const svg = await readFile(join(resumedOut, 'loss-adam.svg'), 'utf8');
    expect(svg).toMatch(/<path[^>]+d="M/);
  });
});
