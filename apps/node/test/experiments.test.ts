// `gradsign thesis` and `gradsign spiky`, tiny: their files, their numbers in range, their errors before any work.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SpikyStream } from '../src/experiments/spiky-problem.js';
import { checkBuilt, runCli } from './run-cli.js';

let dir: string;
beforeAll(async () => {
  checkBuilt();
  dir = await mkdtemp(join(tmpdir(), 'gradsign-experiments-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('gradsign thesis', () => {
  test('records an Adam run and writes the per-layer tables and the plot', async () => {
    const out = join(dir, 'thesis');
    const args = ['thesis', '--model', 'mlp', '--steps', '6', '--batch', '8', '--train-limit', '100'];
    const res = await runCli([
      ...args,
      ...['--test-limit', '50', '--backend', 'cpu', '--beta1', '0.99', '--beta2', '0.99'],
      ...['--window', '3', '--sample', '200', '--out', out, '--json'],
    ]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const line = JSON.parse(res.stdout) as {
      overall: { layer: string; correlation: number }[];
      files: string[];
    };
    expect(line.overall.map((r) => r.layer)).toEqual(['lin1', 'lin2', 'all']);
    const stem = join(out, 'sign-confidence-b0.99-0.99');
    expect(line.files).toEqual([`${stem}.md`, `${stem}.json`, `${stem}.svg`]);
    const json = JSON.parse(await readFile(`${stem}.json`, 'utf8'));
    expect(json.run.config).toMatchObject({
      optimizer: 'adam',
      optimizerConfig: { beta1: 0.99, beta2: 0.99 },
    });
    expect(json.report.steps).toBe(6);
    expect(
      json.report.windows.map(
        (w: { from: number; to: number; layer: string }) => `${w.layer}:${w.from}-${w.to}`,
      ),
    ).toEqual(['lin1:1-3', 'lin2:1-3', 'all:1-3', 'lin1:4-6', 'lin2:4-6', 'all:4-6']);
    for (const r of json.report.overall) {
      expect(Math.abs(r.correlation)).toBeLessThanOrEqual(1);
      expect(r.weightedAgreement).toBeGreaterThanOrEqual(0);
      expect(r.weightedAgreement).toBeLessThanOrEqual(1);
    }
    const md = await readFile(`${stem}.md`, 'utf8');
    expect(md).toContain('gradsign thesis --beta1 0.99 --beta2 0.99');
    expect(md).toMatch(/\| all +\| 200 +\| -?0\.\d{3} +\| 0\.\d{3}/);
    const svg = await readFile(`${stem}.svg`, 'utf8');
    for (const label of [
      'step (end of window)',
      'correlation of u with c/64',
      'sign agreement weighted by |u|',
      'lin1',
      'lin2',
    ])
      expect(svg).toContain(label);
  });

  test('refuses bad input before any work, naming it', async () => {
    const beta = await runCli(['thesis', '--beta2', '1', '--out', join(dir, 'x')]);
    expect(beta.code).toBe(2);
    expect(beta.stderr).toContain("'1' is not in [0, 1)");
    const noOut = await runCli(['thesis', '--steps', '2']);
    expect(noOut.code).toBe(2);
    expect(noOut.stderr).toContain('--out');
    const limit = await runCli([
      'thesis',
      '--train-limit',
      '70000',
      '--backend',
      'cpu',
      '--out',
      join(dir, 'y'),
    ]);
    expect(limit.code).toBe(2);
    expect(limit.stderr).toContain('--train-limit 70000');
  });
});

describe('gradsign spiky', () => {
  test('the stream is seeded, independent of w in its draws, and spikes at the given rate', () => {
    const problem = { dim: 50, spikeProbability: 0.1, spikeScale: 10, spikeNoise: 0, denseNoise: 0.5 };
    const a = new SpikyStream(problem, 4);
    const b = new SpikyStream(problem, 4);
    expect(b.optimum).toEqual(a.optimum);
    expect(new SpikyStream(problem, 5).optimum).not.toEqual(a.optimum);
    let spikes = 0;
    for (let t = 0; t < 200; t++) {
      const w = new Float64Array(100).fill(t % 2); // different w, same draws
      const ga = a.gradient(w);
      const gb = b.gradient(a.optimum);
      for (let i = 50; i < 100; i++) {
        if (ga[i] !== 0) spikes++;
        expect(gb[i]).toBe(0); // at the optimum, without noise, a spiky gradient is 0
        expect(ga[i] === 0 || Math.abs(ga[i]! - 10 * ((t % 2) - a.optimum[i]!)) < 1e-5).toBe(true);
      }
    }
    expect(spikes / (200 * 50)).toBeGreaterThan(0.08);
    expect(spikes / (200 * 50)).toBeLessThan(0.12);
  });

  test('compares the three optimizers on the same stream and writes the table and the plot', async () => {
    const out = join(dir, 'spiky');
    const res = await runCli([
      ...['spiky', '--seeds', '2', '--steps', '300', '--dim', '16', '--spike-prob', '0.05'],
      ...['--spike-scale', '20', '--every', '50', '--out', out, '--json'],
    ]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const { summary } = JSON.parse(res.stdout) as {
      summary: { optimizer: string; dense: { mean: number }; spiky: { mean: number } }[];
    };
    expect(summary.map((s) => s.optimizer)).toEqual(['Adam β2=0.999', 'Adam β2=β1=0.9', 'GradSign']);
    for (const s of summary) expect(s.dense.mean).toBeLessThan(0.2); // every one learns the dense group
    const [adam, , gradsign] = summary;
    expect(adam!.spiky.mean).toBeLessThan(gradsign!.spiky.mean);
    const json = JSON.parse(await readFile(join(out, 'spiky.json'), 'utf8'));
    expect(json.curves[0].curves[0].map((p: { step: number }) => p.step)).toEqual([
      0, 50, 100, 150, 200, 250, 300,
    ]);
    const md = await readFile(join(out, 'spiky.md'), 'utf8');
    expect(md).toMatch(/\| GradSign +\| \d\.\d+ ± \d\.\d+ +\| \d\.\d+ ± \d\.\d+ +\|/);
    const svg = await readFile(join(out, 'spiky.svg'), 'utf8');
    for (const label of [
      'step',
      'spiky group: distance to optimum',
      'dense group: distance to optimum',
      'GradSign',
    ])
      expect(svg).toContain(label);
  });

  test('refuses a bad spike probability, naming it', async () => {
    const res = await runCli(['spiky', '--spike-prob', '1.5', '--out', join(dir, 'z')]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("'1.5' is not in (0, 1]");
  });
});
