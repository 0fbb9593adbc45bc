// The experiment form: the backend, model and optimizer pickers, the run settings, and their validation.
import type { BackendChoice, EvalSpec, OptimizerInfo, RunSpec } from '../protocol';
import type { PageState } from './state';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

function integer(input: HTMLInputElement): number {
  return Number.parseInt(input.value, 10);
}

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
  };

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

  /** Seeds per optimizer in Compare. */
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
