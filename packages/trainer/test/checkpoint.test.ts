import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  type Checkpoint,
  CheckpointError,
  crc32,
  decodeCheckpoint,
  encodeCheckpoint,
  Trainer,
} from '../src/index.js';
import { loadCheckpoint, saveCheckpoint } from '../src/node.js';
import { smallMnist } from './data.js';
import { useBackend } from './helpers.js';

let dir: string;
beforeAll(async () => {
  await useBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'gradsign-ckpt-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function checkpointAfter(optimizer: string, steps = 2): Promise<Checkpoint> {
  const trainer = Trainer.create({
    config: { model: 'mlp', optimizer, steps, batchSize: 8, seed: 4 },
    data: await smallMnist(),
  });
  try {
    for await (const _ of trainer.run()) {
      // drain
    }
    return await trainer.checkpoint({ note: 'test' });
  } finally {
    trainer.dispose();
  }
}

function expectError(fn: () => unknown, code: string, message: RegExp): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as CheckpointError).code).toBe(code);
    expect((error as Error).message).toMatch(message);
    return;
  }
  throw new Error('expected a CheckpointError');
}

test('crc32 matches the standard check value', () => {
  expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
});

describe('checkpoint format', () => {
  test('round-trips every field and tensor bit-exactly', async () => {
    const ckpt = await checkpointAfter('adam');
    const back = decodeCheckpoint(encodeCheckpoint(ckpt));
    expect(back.config).toEqual(ckpt.config);
    expect(back.step).toBe(2);
    expect(back.dataCursor).toEqual(ckpt.dataCursor);
    expect(back.rng).toEqual(ckpt.rng);
    expect(back.meta).toEqual({ note: 'test' });
    expect(back.model.map((t) => t.name)).toEqual(['lin1.weight', 'lin1.bias', 'lin2.weight', 'lin2.bias']);
    for (const [a, b] of [
      [ckpt.model, back.model],
      [ckpt.optimizer, back.optimizer],
    ] as const) {
      expect(b.length).toBe(a.length);
      a.forEach((t, i) => {
        expect(b[i]!.name).toBe(t.name);
        expect(b[i]!.shape).toEqual(t.shape);
        expect(b[i]!.values).toEqual(t.values);
      });
    }
    // Optimizer state names refer to the model, not to this process's variable names.
    expect(ckpt.optimizer.map((t) => t.name)).toContain('@model/lin1.weight/m');
  });

  test("GradSign's counters are stored as int8: about one byte per parameter", async () => {
    const ckpt = await checkpointAfter('gradsign');
    const params = ckpt.model.reduce((n, t) => n + t.values.length, 0);
    const counters = ckpt.optimizer.filter((t) => t.name.endsWith('/counts'));
    expect(counters).toHaveLength(4);
    expect(counters.every((t) => t.storeAs === 'int8')).toBe(true);
    const values = counters.flatMap((t) => Array.from(t.values));
    expect(Math.min(...values)).toBeGreaterThanOrEqual(-64);
    expect(Math.max(...values)).toBeLessThanOrEqual(63);
    const gradsign = encodeCheckpoint(ckpt).length;
    const adam = encodeCheckpoint(await checkpointAfter('adam')).length;
    const sgd = encodeCheckpoint(await checkpointAfter('sgd')).length;
    // Weights take 4 bytes/param in every file; the optimizer adds ~1 (GradSign), 8 (Adam) or 0 (SGD).
    expect((gradsign - sgd) / params).toBeGreaterThan(0.99);
    expect((gradsign - sgd) / params).toBeLessThan(1.02);
    expect((adam - sgd) / params).toBeGreaterThan(7.99);
    const back = decodeCheckpoint(encodeCheckpoint(ckpt));
    back.optimizer.forEach((t, i) => {
      expect(t.values).toEqual(ckpt.optimizer[i]!.values);
    });
  });

  test('truncated files fail with a clear error, at any length', async () => {
    const bytes = encodeCheckpoint(await checkpointAfter('gradsign'));
    expectError(
      () => decodeCheckpoint(bytes.subarray(0, 0), 'a.ckpt'),
      'truncated',
      /a\.ckpt: checkpoint file is empty/,
    );
    for (const length of [5, 23, 100, bytes.length >> 1, bytes.length - 1]) {
      expectError(
        () => decodeCheckpoint(bytes.subarray(0, length), 'a.ckpt'),
        'truncated',
        /a\.ckpt: .*truncated/,
      );
    }
    expectError(
      () => decodeCheckpoint(bytes.subarray(0, bytes.length - 10)),
      'truncated',
      new RegExp(`${bytes.length - 10} of ${bytes.length} bytes`),
    );
  });

  test('foreign files are recognised as such', () => {
    const foreign = [
      new TextEncoder().encode('{"config": {}}'),
      Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), // PNG
      Uint8Array.from([0x50, 0x4b, 0x03, 0x04]), // zip
    ];
    for (const bytes of foreign) {
      expectError(
        () => decodeCheckpoint(bytes, 'x.bin'),
        'not-a-checkpoint',
        /x\.bin: not a gradsign checkpoint/,
      );
    }
  });

  test('damaged bytes fail the checksum; other versions and trailing data are refused', async () => {
    const bytes = encodeCheckpoint(await checkpointAfter('gradsign'));
    for (const at of [30, bytes.length >> 1, bytes.length - 20]) {
      const damaged = bytes.slice();
      damaged[at]! ^= 0x10;
      expectError(() => decodeCheckpoint(damaged), 'corrupt', /damaged: CRC-32/);
    }
    const future = bytes.slice();
    new DataView(future.buffer).setUint32(8, 2, true);
    expectError(() => decodeCheckpoint(future), 'unsupported-version', /version 2 is not supported/);
    const longer = new Uint8Array(bytes.length + 3);
    longer.set(bytes);
    expectError(() => decodeCheckpoint(longer), 'corrupt', /trailing/);
  });

  test('refuses to store values that do not fit their declared type', async () => {
    const ckpt = await checkpointAfter('gradsign');
    const counters = ckpt.optimizer.find((t) => t.storeAs === 'int8')!;
    const values = counters.values.slice();
    values[3] = 200;
    const bad = { ...ckpt, optimizer: [{ ...counters, values }] };
    expect(() => encodeCheckpoint(bad)).toThrow(/value 200 at 3 does not fit int8/);
  });

  test('stores uint16 parts (bf16 patterns) in two bytes each, and round-trips them', async () => {
    const ckpt = await checkpointAfter('gradsign');
    const patterns = Int32Array.from([0, 1, 0x3f80, 0x7f7f, 0xffff, 0x8000, 12345]);
    const part = {
      name: 'lin/kernel/m',
      shape: [7],
      dtype: 'int32' as const,
      storeAs: 'uint16' as const,
      values: patterns,
    };
    const withPart = { ...ckpt, optimizer: [...ckpt.optimizer, part] };
    const bytes = encodeCheckpoint(withPart);
    const asInt32 = encodeCheckpoint({
      ...ckpt,
      optimizer: [...ckpt.optimizer, { ...part, storeAs: 'int32' as const }],
    });
    expect(asInt32.length - bytes.length).toBeGreaterThanOrEqual(7 * 2 - 8); // 2 bytes a value saved, up to 8-byte alignment
    const back = decodeCheckpoint(bytes).optimizer.find((t) => t.name === part.name)!;
    expect(back.storeAs).toBe('uint16');
    expect(Array.from(back.values)).toEqual(Array.from(patterns));
    const tooBig = { ...ckpt, optimizer: [{ ...part, shape: [1], values: Int32Array.from([65536]) }] };
    expect(() => encodeCheckpoint(tooBig)).toThrow(/value 65536 at 0 does not fit uint16/);
  });
});

describe('checkpoint files', () => {
  test('save and load through the file system', async () => {
    const ckpt = await checkpointAfter('sgd');
    const path = join(dir, 'run.ckpt');
    const size = await saveCheckpoint(path, ckpt);
    expect((await readFile(path)).length).toBe(size);
    const back = await loadCheckpoint(path);
    expect(back.step).toBe(ckpt.step);
    await expect(loadCheckpoint(join(dir, 'missing.ckpt'))).rejects.toThrow(
      /missing\.ckpt: cannot read checkpoint: no such file/,
    );
    await writeFile(join(dir, 'half.ckpt'), (await readFile(path)).subarray(0, 1000));
    await expect(loadCheckpoint(join(dir, 'half.ckpt'))).rejects.toThrow(
      /half\.ckpt: checkpoint is truncated: 1000 of/,
    );
  });

  test('a checkpoint of another model does not load', async () => {
    const ckpt = await checkpointAfter('gradsign');
    const other = { ...ckpt, config: { ...ckpt.config, modelOptions: { hidden: 64 } } };
    const data = await smallMnist();
    await expect(Trainer.restore(other, { data })).rejects.toThrow(
      /does not fit this mlp: 'lin1.weight' is float32\[784,128\]/,
    );
    const renamed = { ...ckpt, model: ckpt.model.map((t, i) => (i === 0 ? { ...t, name: 'fc.weight' } : t)) };
    await expect(Trainer.restore(renamed, { data })).rejects.toThrow(/it has no tensor 'lin1.weight'/);
  });
});
