import { createOptimizer, getOptimizerEntry } from '@gradsign/optim-core';
import { Lion } from '@gradsign/optim-lion';
import { assert, runSteps, tf } from './common.mjs';

assert.equal(getOptimizerEntry('lion')?.source, '@gradsign/optim-lion');
const opt = createOptimizer('lion', { learningRate: 0.01 });
assert.ok(opt instanceof Lion);
const q = runSteps(opt, { name: 'q' });
assert.equal(q.bytes, 4 * 2048 + 4 * 32); // int8 block-wise: 8192 codes + 32 absmax
const f = runSteps(new Lion({ learningRate: 0.01, stateFormat: 'float32' }), { name: 'f' });
assert.equal(f.bytes, 4 * 8192);
const h = runSteps(new Lion({ learningRate: 0.01, stateFormat: 'bf16' }), { name: 'h' });
assert.equal(h.bytes, 2 * 8192);
// a checkpoint round trip keeps the raw state
const weights = await opt.getWeights();
const copy = new Lion({ learningRate: 0.01 });
await copy.setWeights(weights);
assert.deepEqual(
  (await copy.getWeights()).map((w) => w.name),
  weights.map((w) => w.name),
);
console.log(
  `optim-lion: int8 ${q.first.toFixed(3)} → ${q.last.toFixed(3)} (${q.bytes} B = ${(q.bytes / 8192).toFixed(3)}/param), bf16 ${h.bytes} B, float32 ${f.bytes} B`,
);
tf.disposeVariables();
