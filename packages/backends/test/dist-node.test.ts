// Runs the BUILT package under plain `node` (no vitest, no bundler): the setting where tfjs-core is its
// CommonJS bundle without gradients and the wasm binaries must be found inside node_modules.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const pkg = fileURLToPath(new URL('..', import.meta.url));
const script = fileURLToPath(new URL('./fixtures/train-dist.mjs', import.meta.url));

interface Out {
  preference: string;
  backend?: string;
  fixes?: string[];
  attempts?: Array<{ backend: string; ok: boolean; reason?: string }>;
  gradNorms?: Record<string, number>;
  losses?: number[];
  error?: string;
}

async function node(...args: string[]): Promise<{ outs: Out[]; stderr: string }> {
  const { stdout, stderr } = await run(process.execPath, [script, ...args], { cwd: pkg, timeout: 120_000 });
  return {
    outs: stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Out),
    stderr,
  };
}

beforeAll(() => {
  if (!existsSync(new URL('../dist/index.js', import.meta.url))) {
    throw new Error('dist/ is missing: run `pnpm --filter @gradsign/backends build` before this test');
  }
});

describe('built package under plain node', () => {
  it('trains a conv net (variableGrads and optimizer.minimize) on cpu and wasm, identically', async () => {
    const { outs, stderr } = await node('cpu', 'wasm');
    expect(stderr).not.toMatch(/gradient function not found|No backend found in registry|not registered/);
    const [cpu, wasm] = outs as [Out, Out];
    expect(cpu.error).toBeUndefined();
    expect(wasm.error).toBeUndefined();
    expect([cpu.backend, wasm.backend]).toEqual(['cpu', 'wasm']);
    expect(wasm.fixes).toEqual(['conv2d-grad', 'maxpool-grad', 'conv2d-winograd']);
    for (const o of [cpu, wasm]) {
      for (const [k, v] of Object.entries(o.gradNorms!)) {
        expect(Number.isFinite(v) && v > 0, `${o.backend} gradient of ${k}`).toBe(true);
      }
      expect(o.losses).toHaveLength(8);
      expect(o.losses!.at(-1)!).toBeLessThan(o.losses![0]! * 0.8);
    }
    for (const [k, v] of Object.entries(cpu.gradNorms!)) expect(wasm.gradNorms![k]).toBeCloseTo(v, 4);
    for (const [i, l] of cpu.losses!.entries()) expect(wasm.losses![i]).toBeCloseTo(l, 4);
  });

  it('falls back to cpu with the reason when the wasm binaries are not where wasmPaths says', async () => {
    const { outs } = await node('--wasm-paths=/nonexistent/', 'wasm,cpu');
    const [o] = outs as [Out];
    expect(o.backend).toBe('cpu');
    expect(o.attempts![0]).toMatchObject({ backend: 'wasm', ok: false });
    expect(o.attempts![0]!.reason).toMatch(/initialisation failed: .*\/nonexistent\/tfjs-backend-wasm/);
    expect(o.losses!.at(-1)!).toBeLessThan(o.losses![0]!);
  });

  it('runs the README quick-start example (examples/quickstart.mjs)', async () => {
    const example = fileURLToPath(new URL('../examples/quickstart.mjs', import.meta.url));
    const { stdout } = await run(process.execPath, [example, 'tensorflow'], { cwd: pkg, timeout: 120_000 });
    expect(stdout).toMatch(/^wasm \{/m);
    expect(stdout).toMatch(/tried tensorflow: @tensorflow\/tfjs-node is not installed/);
    const losses = [...stdout.matchAll(/step \d: loss ([\d.]+)/g)].map((m) => Number(m[1]));
    expect(losses).toHaveLength(5);
    expect(losses[4]!).toBeLessThan(losses[0]!);
  });

  it('falls back from tensorflow (tfjs-node is not installed) to wasm', async () => {
    const { outs } = await node('tensorflow');
    const [o] = outs as [Out];
    expect(o.backend).toBe('wasm');
    expect(o.attempts![0]!.reason).toMatch(/@tensorflow\/tfjs-node is not installed/);
    expect(o.error).toBeUndefined();
  });
});
