// The experiment form: the backend, model and optimizer pickers, the run settings, and their validation.
import type { BackendChoice, EvalSpec, OptimizerInfo, RunSpec } from '../protocol';
import type { PageState } from './state';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

function integer(input: HTMLInputElement): number {
  return Number.parseInt(input.value, 10);
}

/** At most this many learning rates, and runs in all, per sweep: it runs in this tab. */
export const MAX_SWEEP_RATES = 12;
export const MAX_SWEEP_RUNS = 200;

/** 'a, b,c' → ['a', 'b', 'c']. */
const splitList = (text: string) =>
  text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');

function fillSelect(select: HTMLSelectElement, items: { value: string; text: string }[]): void {
  const previous = select.value;
  select.replaceChildren(...items.map((i) => new Option(i.text, i.value)));
  if (items.some((i) => i.value === previous)) select.value = previous;
}

export class ExperimentForm {
  readonly form = $<HTMLFormElement>('form');
  readonly backend = $<HTMLSelectElement>('backend');
  readonly model = $<HTMLSelectElement>('model');
  readonly optimizer = $<HTMLSelectElement>('optimizer');
  private readonly nonFinite = $<HTMLSelectElement>('on-nonfinite');
  private readonly inputs = {
    lr: $<HTMLInputElement>('lr'),
    steps: $<HTMLInputElement>('steps'),
    batch: $<HTMLInputElement>('batch'),
    seed: $<HTMLInputElement>('seed'),
    evalEvery: $<HTMLInputElement>('eval-every'),
    evalImages: $<HTMLInputElement>('eval-images'),
    seeds: $<HTMLInputElement>('seeds'),
    threads: $<HTMLInputElement>('threads'),
  };
  private readonly sweepOptimizers = $<HTMLInputElement>('sweep-optimizers');
  private readonly sweepLrs = $<HTMLInputElement>('sweep-lrs');

  constructor(private readonly state: PageState) {
    this.optimizer.addEventListener('change', () => {
      this.inputs.lr.value = String(state.defaultLearningRate(this.optimizer.value));
      this.describeOptimizer();
    });
  }

  get backendChoice(): BackendChoice {
    return this.backend.value as BackendChoice;
  }

  /** Fills the pickers with what the worker offers; the first time, picks GradSign at its learning rate. */
  offer(models: { name: string; description: string }[], optimizers: OptimizerInfo[]): void {
    fillSelect(
      this.model,
      models.map((m) => ({ value: m.name, text: m.name })),
    );
    this.model.title = models.find((m) => m.name === this.model.value)?.description ?? '';
    const before = this.optimizer.value;
    fillSelect(
      this.optimizer,
      optimizers.map((o) => ({ value: o.name, text: o.label })),
    );
    if (!before) {
      this.optimizer.value = 'gradsign';
      this.inputs.lr.value = String(this.state.defaultLearningRate('gradsign'));
    }
    this.describeOptimizer();
  }

  private describeOptimizer(): void {
    const o = this.state.optimizers.find((x) => x.name === this.optimizer.value);
    $('optimizer-info').textContent = o
      ? `${o.description}${o.source && o.source !== '@gradsign/optim-core' ? ` (from ${o.source})` : ''}`
      : '';
  }

  /** Validates the form with the browser's own messages; returns the run settings or undefined. */
  readSpec(): RunSpec | undefined {
    const inputs = this.inputs;
    // The sweep's fields are checked by readSweep; an earlier complaint must not block this form.
    this.sweepOptimizers.setCustomValidity('');
    this.sweepLrs.setCustomValidity('');
    for (const input of Object.values(inputs)) {
      input.setCustomValidity('');
      if (
        input.type === 'number' &&
        input.value !== '' &&
        input.step === '1' &&
        !/^-?\d+$/.test(input.value)
      ) {
        input.setCustomValidity('Enter a whole number.');
      }
    }
    if (!(Number(inputs.lr.value) > 0)) inputs.lr.setCustomValidity('Enter a learning rate above 0.');
    if (integer(inputs.threads) > integer(inputs.batch))
      inputs.threads.setCustomValidity('At most one thread per example of the batch.');
    if (!this.form.reportValidity()) return undefined;
    return {
      model: this.model.value,
      optimizer: this.optimizer.value,
      learningRate: Number(inputs.lr.value),
      steps: integer(inputs.steps),
      batchSize: integer(inputs.batch),
      seed: integer(inputs.seed),
    };
  }

  /**
   * The sweep's optimizers and learning rates, checked (known optimizers, positive rates, no repeats, at most
   * MAX_SWEEP_RATES rates and MAX_SWEEP_RUNS runs with the seeds); undefined when not valid, with the browser's
   * message on the field at fault.
   */
  readSweep(): { optimizers: string[]; learningRates: number[] } | undefined {
    const { sweepOptimizers, sweepLrs } = this;
    sweepOptimizers.setCustomValidity('');
    sweepLrs.setCustomValidity('');
    const optimizers = splitList(sweepOptimizers.value).map((o) => o.toLowerCase());
    const known = this.state.optimizers.map((o) => o.name);
    const unknown = optimizers.find((o) => !known.includes(o));
    if (optimizers.length === 0) sweepOptimizers.setCustomValidity('Enter optimizers, e.g. gradsign, adam.');
    else if (unknown)
      sweepOptimizers.setCustomValidity(
        `'${unknown}' is not an optimizer here; choose from ${known.join(', ')}.`,
      );
    else if (new Set(optimizers).size < optimizers.length)
      sweepOptimizers.setCustomValidity('Name each optimizer once.');
    const texts = splitList(sweepLrs.value);
    const bad = texts.find((t) => !(Number(t) > 0 && Number.isFinite(Number(t))));
    const learningRates = texts.map(Number).sort((a, b) => a - b);
    if (texts.length === 0) sweepLrs.setCustomValidity('Enter learning rates, e.g. 0.001, 0.01.');
    else if (bad !== undefined) sweepLrs.setCustomValidity(`'${bad}' is not a learning rate above 0.`);
    else if (new Set(learningRates).size < learningRates.length)
      sweepLrs.setCustomValidity('Give each learning rate once.');
    else if (learningRates.length > MAX_SWEEP_RATES)
      sweepLrs.setCustomValidity(
        `At most ${MAX_SWEEP_RATES} learning rates (${learningRates.length} given).`,
      );
    else if (optimizers.length * learningRates.length * this.seeds > MAX_SWEEP_RUNS)
      sweepLrs.setCustomValidity(
        `That is ${optimizers.length * learningRates.length * this.seeds} runs; at most ${MAX_SWEEP_RUNS} ` +
          '(fewer rates, optimizers or seeds).',
      );
    if (!sweepOptimizers.reportValidity() || !sweepLrs.reportValidity()) return undefined;
    return { optimizers, learningRates };
  }

  /** Replica workers per run (1: the run trains in the training worker itself). */
  get threads(): number {
    return integer(this.inputs.threads);
  }

  /** Seeds per optimizer (and rate) in Compare and Sweep. */
  get seeds(): number {
    return integer(this.inputs.seeds);
  }

  get evalSpec(): EvalSpec {
    return { every: integer(this.inputs.evalEvery), images: integer(this.inputs.evalImages) };
  }

  get onNonFinite(): 'stop' | 'skip' {
    return this.nonFinite.value === 'skip' ? 'skip' : 'stop';
  }
}
