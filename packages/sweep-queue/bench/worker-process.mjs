// One bench worker process: trains queued runs on cpu with the default hooks until idle.
//   node worker-process.mjs <redis-url> <prefix>
import { selectBackend } from '@gradsign/backends';
import * as tf from '@tensorflow/tfjs-core';
import { startSweepWorker } from '../dist/index.js';

tf.env().set('PROD', true);
await selectBackend(['cpu'], { onLog: () => {} });
const [url, prefix] = process.argv.slice(2);
const worker = await startSweepWorker({ url, prefix, idleExitSeconds: 5 });
process.stdout.write('ready\n');
await worker.stopped;
