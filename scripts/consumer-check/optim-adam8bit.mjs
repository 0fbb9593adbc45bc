import { Adam8bit, DYNAMIC_SIGNED } from '@gradsign/optim-adam8bit';
import { createOptimizer, getOptimizerEntry } from '@gradsign/optim-core';
import { assert, runSteps, tf } from './common.mjs';

assert.equal(getOptimizerEntry('adam8bit')?.source, '@gradsign/optim-adam8bit');
assert.equal(DYNAMIC_SIGNED.values.length, 256);
const opt = createOptimizer('adam8bit', { learningRate: 0.05 });
assert.ok(opt instanceof Adam8bit);
const r = runSteps(opt, { name: 'w8' });
assert.equal(r.bytes, 2 * (8192 + 4 * 32)); // two moments: codes + absmax each
const weights = await opt.getWeights();
const copy = new Adam8bit({ learningRate: 0.05 });
await copy.setWeights(weights);
const again = await copy.getWeights();
for (const [i, w] of weights.entries()) {
  assert.deepEqual(Array.from(again[i].tensor.dataSync()), Array.from(w.tensor.dataSync()));
}
console.log(
  `optim-adam8bit: ${r.first.toFixed(3)} → ${r.last.toFixed(3)} (${r.bytes} B = ${(r.bytes / 8192).toFixed(3)}/param), checkpoint round trip exact`,
);
tf.disposeVariables();
