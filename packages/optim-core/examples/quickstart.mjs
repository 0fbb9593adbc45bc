// Fits y = 3x - 1 with GradSign, using a closed-form gradient so it needs nothing but tfjs-core and a backend.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createOptimizer } from '@gradsign/optim-core';

await tf.setBackend('cpu');
const xs = tf.linspace(-1, 1, 64);
const ys = tf.sub(tf.mul(xs, 3), 1);
const w = tf.variable(tf.zeros([2]), true, 'w');

const opt = createOptimizer('gradsign', { learningRate: 0.02, seed: 0 });
for (let step = 1; step <= 300; step++) {
  const grad = tf.tidy(() => {
    const [a, b] = tf.split(w, 2);
    const err = tf.sub(tf.add(tf.mul(xs, a), b), ys); // d/da mean(err²) = 2·mean(err·x), d/db = 2·mean(err)
    return tf.concat([tf.mul(2, tf.mean(tf.mul(err, xs), 0, true)), tf.mul(2, tf.mean(err, 0, true))]);
  });
  opt.applyGradients({ w: grad });
  grad.dispose();
  if (step % 100 === 0) console.log(`step ${step}: w = [${Array.from(w.dataSync(), (v) => v.toFixed(3))}]`);
}
console.log(`state: ${opt.stateBytes()} bytes for ${w.size} parameters`);
