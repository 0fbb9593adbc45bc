// What the page knows: the backend and optimizers the worker offers, the phase, and every run's figures as they
// arrive. No DOM here: the view reads this state, the worker's messages change it.
import type { TrainResult } from '@gradsign/trainer';
import type { BackendInfo, MemoryInfo, OptimizerInfo, RunSnapshot, RunSpec } from '../protocol';

export type Phase = 'starting' | 'loading' | 'ready' | 'running' | 'stopped';

/** One run as the page follows it. */
export interface PageRun {
  runId: number;
  spec: RunSpec;
  backend: string;
  params: number;
  threads: number;
  label: string;
  losses: number[];
  msPerStep: number[];
  evals: { step: number; accuracy: number; loss: number; images: number }[];
  memory?: MemoryInfo;
  result?: TrainResult;
  diverged?: { step: number; message: string };
}

export class PageState {
  phase: Phase = 'starting';
  backend: BackendInfo | undefined;
  optimizers: OptimizerInfo[] = [];
  /** The reference experiment's learning rate per optimizer (what Compare runs). */
  referenceLearningRates: Record<string, number> = {};
  readonly runs = new Map<number, PageRun>();
  /** The runs of the last Start or Compare, to tell at the end whether any diverged. */
  batch: PageRun[] = [];
  /** The run the readouts show: the latest started. */
  current: PageRun | undefined;

  displayName(name: string): string {
    return this.optimizers.find((o) => o.name === name)?.label ?? name;
  }

  defaultLearningRate(name: string): number {
    return (
      this.referenceLearningRates[name] ?? this.optimizers.find((o) => o.name === name)?.learningRate ?? 0.001
    );
  }

  /** A run the worker started: it joins the batch and becomes the current one. */
  startRun(runId: number, spec: RunSpec, backend: string, params: number, threads: number): PageRun {
    const run: PageRun = {
      runId,
      spec,
      backend,
      params,
      threads,
      label: `${this.displayName(spec.optimizer)} ${spec.learningRate} s${spec.seed}`,
      losses: [],
      msPerStep: [],
      evals: [],
    };
    this.runs.set(runId, run);
    this.batch.push(run);
    this.current = run;
    return run;
  }

  run(runId: number): PageRun {
    return this.runs.get(runId)!;
  }

  /** How many runs so far trained with `optimizer` (tells their lines apart on the charts). */
  runsOf(optimizer: string): number {
    return [...this.runs.values()].filter((r) => r.spec.optimizer === optimizer).length;
  }

  /** The most steps of any run (the accuracy chart's x span). */
  maxSteps(): number {
    return Math.max(0, ...[...this.runs.values()].map((r) => r.spec.steps));
  }

  /** Every run's settings, losses, evaluations and state bytes, as copies. */
  snapshots(): RunSnapshot[] {
    return [...this.runs.values()].map((r) => ({
      runId: r.runId,
      spec: r.spec,
      backend: r.backend,
      params: r.params,
      threads: r.threads,
      losses: [...r.losses],
      evals: r.evals.map((e) => ({ ...e })),
      memory: r.memory ? { ...r.memory } : undefined,
      result: r.result,
      diverged: r.diverged ? { ...r.diverged } : undefined,
    }));
  }
}
