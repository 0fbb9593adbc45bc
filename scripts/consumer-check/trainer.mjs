import { selectBackend } from '@gradsign/backends';
import '@gradsign/optim-lion';
import '@gradsign/optim-adam8bit';
import { train } from '@gradsign/trainer';
import { assert } from './common.mjs';
import { syntheticSplit } from './datasets.mjs';

await selectBackend('cpu', { onLog: () => {} }); // registers tfjs gradients for Node
const data = { train: syntheticSplit('train', 640), test: syntheticSplit('test', 200, 9) };
const lines = [];
for (const [optimizer, learningRate] of [
  ['lion', 3e-4],
  ['adam8bit', 3e-3],
  ['gradsign', 3e-3],
]) {
  const losses = [];
  const config = { model: 'mlp', optimizer, learningRate, steps: 20, batchSize: 32, seed: 0 };
  const result = await train({ config, data, onStep: (r) => losses.push(r.loss) });
  assert.equal(losses.length, 20);
  assert.ok(losses.every(Number.isFinite));
  lines.push(
    `${optimizer} loss ${losses[0].toFixed(3)} → ${losses[19].toFixed(3)}, state ${result.stateBytes} B`,
  );
}
console.log(`trainer (mlp, 20 steps): ${lines.join('; ')}`);
