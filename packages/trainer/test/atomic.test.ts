import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '@gradsign/optim-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadCheckpoint } from '../src/node.js';

const writer = fileURLToPath(new URL('./fixtures/checkpoint-writer.mjs', import.meta.url));
const dist = fileURLToPath(new URL('../dist/node.js', import.meta.url));

let dir: string;
beforeAll(async () => {
  if (!existsSync(dist)) throw new Error('build the package first (pnpm --filter @gradsign/trainer build)');
  dir = await mkdtemp(join(tmpdir(), 'gradsign-atomic-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Starts the writer and resolves with the child once it has reported `writes` complete checkpoints. */
function startWriter(path: string, first: number, writes: number) {
  const child = spawn(process.execPath, [writer, path, '1000000', String(first)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let reported = first - 1;
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) if (line) reported = Number(line);
      if (reported >= first - 1 + writes) resolve();
    });
    child.on('exit', (code) => reject(new Error(`writer exited early (${code}): ${stderr}`)));
  });
  return { child, ready, reported: () => reported };
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.on('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

test('SIGKILL during checkpoint writes leaves the old or the new checkpoint, never a torn one', async () => {
  const path = join(dir, 'run.ckpt');
  const random = mulberry32(12345);
  let next = 1;
  const seen = new Set<string>();
  for (let round = 0; round < 8; round++) {
    const w = startWriter(path, next, 1 + (random() % 3));
    await w.ready;
    // Kill at a random moment within the next write (a write of 4 MB takes a few to a few tens of ms).
    await new Promise((r) => setTimeout(r, random() % 40));
    await killed(w.child);
    const last = w.reported();
    const ckpt = await loadCheckpoint(path);
    // The file holds the last reported checkpoint or the one being written when the kill came (its rename
    // may have happened before the report was printed), and is internally consistent.
    expect([last, last + 1]).toContain(ckpt.step);
    expect(ckpt.rng.dropout).toBe(ckpt.step);
    const values = ckpt.model[0]!.values;
    expect(values.length).toBe(1_000_000);
    expect(values[0]).toBe(ckpt.step);
    expect(values[values.length - 1]).toBe(ckpt.step);
    seen.add(ckpt.step === last ? 'old' : 'new');
    next = Math.max(last, ckpt.step) + 1;
  }
  // Writers killed mid-write leave temp files behind; the next successful write removes them.
  const w = startWriter(path, next, 1);
  await w.ready;
  await killed(w.child);
  const leftovers = (await readdir(dir)).filter((n) => n !== 'run.ckpt' && n.includes('.tmp'));
  const finalWriter = startWriter(path, next + 10, 1);
  await finalWriter.ready;
  await killed(finalWriter.child);
  const after = (await readdir(dir)).filter((n) => n.includes('.tmp'));
  for (const name of leftovers) expect(after).not.toContain(name);
  expect(seen.size).toBeGreaterThan(0);
}, 120_000);
