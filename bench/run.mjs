// The benchmark harness: runs every workspace package's `bench` script in turn (never in parallel: they measure
// time) and writes their reports, with the command, the machine and the date, to BENCHMARKS.md.
//
//   pnpm bench            full run, rewrites BENCHMARKS.md
//   pnpm bench --quick    few iterations (what CI runs so the harness cannot rot); writes BENCHMARKS.quick.md
//   pnpm bench --only=@gradsign/optim-core   one package; prints, writes no file
//
// It builds first (`pnpm build`: turbo, cached), so that every bench measures the code in the tree, never a stale
// dist/ left by an experiment.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const quick = process.argv.includes('--quick');
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');

process.stderr.write('[bench] pnpm build\n');
const build = spawnSync('pnpm', ['build'], {
  cwd: root,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'pipe'],
  maxBuffer: 64 * 1024 * 1024,
});
if (build.status !== 0) {
  process.stderr.write(`${build.stdout ?? ''}${build.stderr ?? ''}`);
  process.stderr.write(`[bench] pnpm build failed with exit code ${build.status}: nothing was measured\n`);
  process.exit(1);
}

const packages = ['packages', 'apps']
  .flatMap((dir) =>
    existsSync(join(root, dir)) ? readdirSync(join(root, dir)).map((d) => join(root, dir, d)) : [],
  )
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => ({ dir, pkg: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
  .filter(({ pkg }) => pkg.scripts?.bench && (!only || only.includes(pkg.name)));

const sections = [];
let failed = 0;
for (const { dir, pkg } of packages) {
  const args = quick ? ['--quick'] : [];
  const command = `pnpm --filter ${pkg.name} bench${quick ? ' --quick' : ''}`;
  process.stderr.write(`\n[bench] ${command}\n`);
  const started = Date.now();
  const run = spawnSync('pnpm', ['run', '--silent', 'bench', ...args], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  if (run.status !== 0) {
    failed++;
    process.stderr.write(`[bench] ${pkg.name} failed with exit code ${run.status}\n`);
  }
  process.stdout.write(run.stdout);
  sections.push(
    `## ${pkg.name}\n\nCommand: \`${command}\` (${seconds} s${run.status === 0 ? '' : `, FAILED with exit code ${run.status}`})\n\n${run.stdout.trim()}\n`,
  );
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const tfjs = JSON.parse(
  readFileSync(join(root, 'packages/optim-core/node_modules/@tensorflow/tfjs-core/package.json'), 'utf8'),
).version;
const header = `# Benchmarks

Produced by \`pnpm bench${quick ? ' --quick' : ''}\` on ${new Date().toISOString().slice(0, 10)}, on ${cpu} (${os.cpus().length} cores,
${Math.round(os.totalmem() / 2 ** 30)} GiB), Node ${process.versions.node}, tfjs ${tfjs}. The machine is shared and noisy: every figure
is a median over several runs, and comparisons are ratios measured side by side in the same run. Benchmarks are
never part of the tests.
`;
const file = quick ? 'BENCHMARKS.quick.md' : 'BENCHMARKS.md';
const notes = existsSync(join(root, 'bench/NOTES.md'))
  ? `\n${readFileSync(join(root, 'bench/NOTES.md'), 'utf8').trim()}\n`
  : '';
if (only) {
  process.stderr.write('\n[bench] --only given: no report file written\n');
} else {
  writeFileSync(join(root, file), `${header}${notes}\n${sections.join('\n')}`);
  process.stderr.write(`\n[bench] wrote ${file}\n`);
}
process.exit(failed ? 1 : 0);
