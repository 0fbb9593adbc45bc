// What every command of a run, sweep or compare shares: its IO, progress display, Ctrl-C handling, backend, data
// and trainers.
import { availableParallelism } from 'node:os';
import { BackendSelectionError, selectBackend } from '@gradsign/backends';
import { type ImageSplit, loadMnist, subset } from '@gradsign/datasets';
import type { TrainerData } from '@gradsign/trainer';
import * as tf from '@tensorflow/tfjs-core';
import type { CommonOptions } from './common-options.js';
import { createTrainer, type RunStart } from './create-trainer.js';
import { nonFiniteOptions } from './divergence.js';
import { CliFailure, EXIT_INTERRUPTED, UsageError } from './errors.js';
import { importedModules } from './optimizer-packages.js';
import { RunProgress } from './progress.js';

export interface Io {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WriteStream;
}

export class Context {
  readonly progress: RunProgress;
  private readonly controller = new AbortController();
  private interrupts = 0;
  private readonly onSignal = () => {
    this.interrupts += 1;
    if (this.interrupts > 1) process.exit(EXIT_INTERRUPTED);
    this.progress.note('interrupted: stopping after the current step (press Ctrl-C again to quit now)');
    this.controller.abort();
  };

  constructor(
    readonly io: Io,
    readonly options: CommonOptions,
  ) {
    const tty = Boolean(io.stderr.isTTY);
    this.progress = new RunProgress({
      bar: tty && !options.json && !options.quiet,
      lines: !tty && !options.json && !options.quiet,
      stream: io.stderr,
    });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  info(message: string): void {
    if (!this.options.quiet && !this.options.json) this.io.stderr.write(`${message}\n`);
  }

  listen(): void {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  unlisten(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    this.progress.stop();
  }

  async backend(): Promise<string> {
    tf.env().set('PROD', true); // silences tfjs's "install tfjs-node" banner
    const preference = this.options.backend;
    // 'auto' falls back in order; a named backend is that backend or a failure (a list of one does not fall back).
    try {
      const selection = await selectBackend(preference === 'auto' ? 'auto' : [preference], {
        kernels: this.kernels,
        onLog: (level, message) => {
          if (level === 'warn' && preference === 'auto') this.io.stderr.write(`${message}\n`);
          else this.info(message);
        },
      });
      return selection.backend;
    } catch (error) {
      if (!(error instanceof BackendSelectionError) || preference === 'auto') throw error;
      const reason = error.attempts[0]?.reason ?? 'failed';
      throw new CliFailure(
        `--backend ${preference} cannot run here: ${reason} (--backend auto uses the first backend that works)`,
      );
    }
  }

  /** The build of the wasm SIMD kernels: `--portable-kernels`, else FMA where relaxed SIMD is available. */
  get kernels(): 'auto' | 'portable' {
    return this.options.portableKernels ? 'portable' : 'auto';
  }

  /** Replica threads for the runs: `--workers`, with auto resolved for `backend`. */
  replicaThreads(backend: string): number {
    const w = this.options.workers;
    if (w !== 'auto') return w;
    // Backends that already compute on several threads (tensorflow) gain nothing from replicas.
    return backend === 'wasm' || backend === 'cpu' ? Math.min(availableParallelism(), this.options.batch) : 1;
  }

  /** A trainer for a fresh run (data-parallel with `--workers` above 1), or one resumed from a checkpoint. */
  trainer(backend: string, data: TrainerData, run: RunStart) {
    return createTrainer(
      {
        data,
        backend,
        workers: this.replicaThreads(backend),
        modules: importedModules,
        onNonFinite: nonFiniteOptions(this.options),
        kernels: this.kernels,
      },
      run,
    );
  }

  async data(
    overrides: { dataDir?: string; trainLimit?: number; testLimit?: number } = {},
  ): Promise<TrainerData> {
    const dataDir = overrides.dataDir ?? this.options.dataDir;
    const mnist = await loadMnist(dataDir ? { dir: dataDir } : {});
    const limit = (split: ImageSplit, n: number | undefined, flag: string, name: string) => {
      if (n === undefined) return split;
      if (n > split.count) {
        throw new UsageError(`${flag} ${n} is more than the ${split.count} images of the ${name} split`);
      }
      return n < split.count ? subset(split, n) : split;
    };
    return {
      train: limit(mnist.train, overrides.trainLimit ?? this.options.trainLimit, '--train-limit', 'training'),
      test: limit(mnist.test, overrides.testLimit ?? this.options.testLimit, '--test-limit', 'test'),
    };
  }

  /** A batch must fit in the training split (a larger one would repeat images within a step). */
  checkBatch(batch: number, data: TrainerData): void {
    if (batch > data.train.count) {
      throw new UsageError(
        `--batch ${batch} is larger than the training split (${data.train.count} images); ` +
          `use --batch ${data.train.count} or less`,
      );
    }
  }

  evalProgress(label: string): (done: number, total: number) => void {
    let started = false;
    return (_done, total) => {
      if (!started) {
        started = true;
        this.progress.stop();
        this.info(`${label}: evaluating on ${total} test images`);
      }
    };
  }

  emit(line: object): void {
    this.io.stdout.write(`${JSON.stringify(line)}\n`);
  }

  print(text: string): void {
    this.io.stdout.write(`${text}\n`);
  }
}
