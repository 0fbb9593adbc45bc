// Fits a 64×128 weight to a target with Lion (int8 block-wise momentum), using a closed-form gradient so it needs
// nothing but tfjs-core and a backend. Run: node examples/quickstart.mjs
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createOptimizer } from '@gradsign/optim-core';
import '@gradsign/optim-lion'; // registers 'lion'

await tf.setBackend('cpu');
const target = tf.randomNormal([64, 128], 0, 1, 'float32', 1);
const w = tf.variable(tf.zeros([64, 128]), true, 'w');
const loss = () => tf.tidy(() => tf.mean(tf.square(tf.sub(w, target))).dataSync()[0]);

const opt = createOptimizer('lion', { learningRate: 0.03 });
const first = loss();
const steps = 500;
for (let step = 1; step <= steps; step++) {
  opt.learningRate = 0.03 * (1 - (step - 1) / steps); // sign updates move by lr: decay it to settle
  const grad = tf.tidy(() => tf.mul(tf.sub(w, target), 2 / w.size)); // d/dw of mean((w - target)²)
  opt.applyGradients({ w: grad });
  grad.dispose();
}
const bytes = opt.stateBytes();
console.log(
  `loss ${first.toFixed(3)} → ${loss().toExponential(2)}; ${bytes} bytes of state = ${(bytes / w.size).toFixed(3)} per parameter`,
);
