// Exports one run's exact inputs for bench/pytorch/parity.py, which trains PyTorch from them: the initial
// weights, the optimizer's initial state (GradSign counters), the training-image index of every sample of every
// step and the dropout masks; then (unless --no-train) trains our Trainer on the same config and writes its
// per-step losses, its eval-mode result, its final weights and its test logits. See RESULTS.md, "Paired runs".
//
//   node packages/trainer/bench/pytorch-parity.mjs --out DIR [--optimizer gradsign] [--lr 0.003] [--seed 0]
//     [--steps 1000] [--backend wasm] [--no-train] [--trace]
//
// DIR gets meta.json (config, tensor manifests, our results) and raw little-endian files: weights0.bin and
// weights-final.bin (float32, model tensors in `model.tensors()` order: conv kernels HWIO, linear weights
// [in, out]), opt0.bin (optimizer state as `getWeights()` decodes it: int32 counters, float32 moments),
// indices.bin (int32 [steps, batch]), masks.bin (per step, the mask after pool 1 then after pool 2, NHWC,
// bit-packed MSB first, 1 = kept) and logits.bin (float32 [10000, 10]). --trace also writes trace.bin: after every
// step, the model tensors then the optimizer state (as weights0.bin then opt0.bin), for parity.py --teacher-forced.

import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Dataset, evalBatches, Mulberry32 } from '@gradsign/datasets';
import { dropoutMask } from '@gradsign/trainer';

/** BlogCnn's dropout (rate 0.1) inputs per image, NHWC, in the order it draws them: after pool 1, after pool 2. */
export const DROPOUT_SIZES = [14 * 14 * 32, 7 * 7 * 32];
const RATE = 0.1;

/**
 * The item indices of the next `steps` training batches, from the trainer's data cursor (as `checkpoint()`
 * returns it) through the public Dataset API, the same class and options Trainer batches with.
 */
export function batchIndices(train, batchSize, cursor, steps) {
  const dataset = new Dataset(train, { batchSize, seed: cursor.seed, shuffle: cursor.shuffle, cursor });
  const out = new Int32Array(steps * batchSize);
  for (let s = 0; s < steps; s++) {
    const batch = dataset.nextBatchIndices();
    if (batch.length !== batchSize) throw new Error(`step ${s + 1} has a partial batch of ${batch.length}`);
    out.set(batch, s * batchSize);
  }
  return { indices: out, cursor: dataset.cursor() };
}

/**
 * The dropout masks of `steps` steps, drawn with the trainer's `dropoutMask` from a stream starting at `state`
 * (the trainer's `rng.dropout`), bit-packed MSB first (1 = kept, 0 = dropped), and the stream's final state.
 */
export function dropoutBits(state, batchSize, steps) {
  const rng = new Mulberry32(state);
  const perStep = DROPOUT_SIZES.reduce((a, n) => a + n * batchSize, 0);
  const bits = new Uint8Array((steps * perStep) / 8);
  let bit = 0;
  for (let s = 0; s < steps; s++) {
    for (const n of DROPOUT_SIZES) {
      for (const v of dropoutMask(rng, n * batchSize, RATE)) {
        if (v !== 0) bits[bit >> 3] |= 0x80 >> (bit & 7);
        bit += 1;
      }
    }
  }
  return { bits, state: rng.state };
}

/** Unpacks `dropoutBits` back to 0/1 values. */
export function unpackBits(bits, count) {
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = (bits[i >> 3] >> (7 - (i & 7))) & 1;
  return out;
}

/** Concatenates tensor records into one little-endian buffer and a manifest of {name, shape, dtype, offset}. */
function pack(records) {
  const manifest = [];
  let offset = 0;
  for (const t of records) {
    manifest.push({ name: t.name, shape: t.shape, dtype: t.dtype, offset });
    offset += t.values.byteLength;
  }
  const buf = Buffer.alloc(offset);
  for (let i = 0; i < records.length; i++)
    Buffer.from(records[i].values.buffer, records[i].values.byteOffset, records[i].values.byteLength).copy(
      buf,
      manifest[i].offset,
    );
  return { buf, manifest };
}

const bytes = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

async function main() {
  const { values: o } = parseArgs({
    options: {
      out: { type: 'string' },
      optimizer: { type: 'string', default: 'gradsign' },
      lr: { type: 'string' },
      seed: { type: 'string', default: '0' },
      steps: { type: 'string', default: '1000' },
      backend: { type: 'string', default: 'wasm' },
      'no-train': { type: 'boolean', default: false },
      trace: { type: 'boolean', default: false },
    },
  });
  if (!o.out) throw new Error('--out DIR is required');
  const tf = await import('@tensorflow/tfjs-core');
  const { selectBackend } = await import('@gradsign/backends');
  const { loadMnist } = await import('@gradsign/datasets');
  const { PUBLISHED_LEARNING_RATES, Trainer } = await import('@gradsign/trainer');
  tf.env().set('PROD', true);
  const { backend } = await selectBackend([o.backend], { onLog: () => {} });
  const mnist = await loadMnist();
  const config = {
    model: 'blog-cnn',
    optimizer: o.optimizer,
    learningRate: o.lr ? Number(o.lr) : PUBLISHED_LEARNING_RATES[o.optimizer],
    steps: Number(o.steps),
    batchSize: 32,
    seed: Number(o.seed),
  };
  const trainer = Trainer.create({ config, data: { train: mnist.train, test: mnist.test } });
  // Allocate the optimizer state now, in the order the first step would (trainable variables in model order),
  // so that GradSign's counters exist before the first step; a test checks this equals lazy allocation.
  trainer.optimizer.allocateState(trainer.model.trainableVariables());
  const start = await trainer.checkpoint();
  mkdirSync(o.out, { recursive: true });
  const weights0 = pack(start.model);
  const opt0 = pack(start.optimizer.filter((t) => t.shape.length > 0));
  const { indices, cursor } = batchIndices(mnist.train, config.batchSize, start.dataCursor, config.steps);
  const masks = dropoutBits(start.rng.dropout, config.batchSize, config.steps);
  await writeFile(join(o.out, 'weights0.bin'), weights0.buf);
  await writeFile(join(o.out, 'opt0.bin'), opt0.buf);
  await writeFile(join(o.out, 'indices.bin'), bytes(indices));
  await writeFile(join(o.out, 'masks.bin'), bytes(masks.bits));
  const meta = {
    config,
    backend,
    dropoutSizes: DROPOUT_SIZES,
    weights: weights0.manifest,
    optimizerState: opt0.manifest,
  };
  if (!o['no-train']) {
    const losses = [];
    const trace = o.trace ? openSync(join(o.out, 'trace.bin'), 'w') : undefined;
    for await (const r of trainer.run()) {
      losses.push(r.loss);
      if (trace === undefined) continue;
      const c = await trainer.checkpoint();
      writeSync(trace, pack(c.model).buf);
      writeSync(trace, pack(c.optimizer.filter((t) => t.shape.length > 0)).buf);
    }
    if (trace !== undefined) closeSync(trace);
    const evaluation = await trainer.evaluate();
    const end = await trainer.checkpoint();
    // The exported indices and masks are the ones the trainer used iff its data cursor and dropout stream end
    // where the export's do.
    if (JSON.stringify(end.dataCursor) !== JSON.stringify(cursor) || end.rng.dropout !== masks.state)
      throw new Error('exported batch indices or dropout masks do not match what the trainer consumed');
    await writeFile(join(o.out, 'weights-final.bin'), pack(end.model).buf);
    const logits = [];
    for (const batch of evalBatches(mnist.test, 250)) {
      const out = tf.tidy(() => trainer.model.forward(batch.xs, { training: false }));
      logits.push(await out.data());
      tf.dispose([out, batch.xs, batch.ys]);
    }
    await writeFile(join(o.out, 'logits.bin'), Buffer.concat(logits.map(bytes)));
    meta.ours = {
      losses,
      testAccuracy: evaluation.accuracy,
      testLoss: evaluation.loss,
      correct: evaluation.correct,
    };
    console.log(
      `${config.optimizer} seed ${config.seed}: ${config.steps} steps, test accuracy ${(100 * evaluation.accuracy).toFixed(2)} %, ` +
        `loss ${evaluation.loss.toFixed(6)}`,
    );
  }
  await writeFile(join(o.out, 'meta.json'), `${JSON.stringify(meta)}\n`);
  trainer.dispose();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
