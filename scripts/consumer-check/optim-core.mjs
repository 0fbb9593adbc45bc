import { Adam, createOptimizer, GradSign, listOptimizers } from '@gradsign/optim-core';
import { assert, runSteps, tf } from './common.mjs';

for (const name of ['gradsign', 'adam', 'adamw', 'sgd'])
  assert.ok(listOptimizers().some((o) => o.name === name));
const g = runSteps(createOptimizer('gradsign', { learningRate: 0.01 }), { name: 'g' });
assert.ok(createOptimizer('gradsign') instanceof GradSign);
assert.equal(g.bytes, 64 * 128); // one int8 counter per parameter, four to a word
const a = runSteps(new Adam({ learningRate: 0.05 }), { name: 'a' });
assert.equal(a.bytes, 8 * 64 * 128);
console.log(
  `optim-core: gradsign ${g.first.toFixed(3)} → ${g.last.toFixed(3)} (${g.bytes} B), adam ${a.first.toFixed(3)} → ${a.last.toFixed(3)} (${a.bytes} B)`,
);
tf.disposeVariables();
