import type { StepRecord } from '@gradsign/trainer';
import cliProgress from 'cli-progress';

export interface ProgressOptions {
  /** Live bar (stderr is a TTY and output is not --json). */
  readonly bar: boolean;
  /** Plain lines every ~10 % instead (stderr is not a TTY, not --json, not --quiet). */
  readonly lines: boolean;
  readonly stream: NodeJS.WriteStream;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return h > 0
    ? `${h}h${String(m).padStart(2, '0')}m`
    : m > 0
      ? `${m}m${String(rest).padStart(2, '0')}s`
      : `${rest}s`;
}

/** A loss this many times the first step's draws a warning: the run is probably diverging. */
export const EXPLOSION_FACTOR = 1e6;

/**
 * Progress of one run on stderr: a cli-progress bar with loss, steps/s and ETA, or periodic plain lines. Warnings
 * (a non-finite loss, a skipped update, a loss that exploded) are written whatever the mode, --json and --quiet
 * included: they are never silent.
 */
export class RunProgress {
  private bar: cliProgress.SingleBar | undefined;
  private recent: number[] = [];
  private total = 0;
  private label = '';
  private nextLine = 0;
  private firstLoss: number | undefined;
  private warnedExplosion = false;

  constructor(private readonly options: ProgressOptions) {}

  start(label: string, total: number, done: number): void {
    this.label = label;
    this.total = total;
    this.recent = [];
    this.firstLoss = undefined;
    this.warnedExplosion = false;
    this.nextLine = done + Math.max(1, Math.ceil(total / 10));
    if (this.options.bar) {
      this.bar = new cliProgress.SingleBar(
        {
          stream: this.options.stream,
          format: '{label} {bar} {value}/{total} | loss {loss} | {rate} steps/s | ETA {etaText}',
          barsize: 24,
          hideCursor: true,
          clearOnComplete: false,
          fps: 5,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, done, { label, loss: '-', rate: '-', etaText: '?' });
    } else if (this.options.lines) {
      this.options.stream.write(`${label}: ${done}/${total} steps\n`);
    }
  }

  step(record: StepRecord): void {
    this.checkLoss(record);
    this.recent.push(record.msPerStep);
    if (this.recent.length > 50) this.recent.shift();
    const ms = this.recent.reduce((a, b) => a + b, 0) / this.recent.length;
    const rate = 1000 / ms;
    const eta = ((this.total - record.step) * ms) / 1000;
    if (this.bar) {
      this.bar.update(record.step, {
        loss: record.loss.toFixed(4),
        rate: rate.toFixed(2),
        etaText: formatDuration(eta),
      });
    } else if (this.options.lines && (record.step >= this.nextLine || record.step === this.total)) {
      this.nextLine = record.step + Math.max(1, Math.ceil(this.total / 10));
      this.options.stream.write(
        `${this.label}: step ${record.step}/${this.total}  loss ${record.loss.toFixed(4)}  ` +
          `${rate.toFixed(2)} steps/s  ETA ${formatDuration(eta)}\n`,
      );
    }
  }

  private checkLoss(record: StepRecord): void {
    const { loss, step } = record;
    if (!Number.isFinite(loss) || record.skipped) {
      const what = Number.isFinite(loss) ? 'a gradient is not finite' : `the loss is ${loss}`;
      this.warn(
        `warning: ${this.label}: step ${step}: ${what}; ${record.skipped ? 'update skipped' : 'diverging'}`,
      );
      return;
    }
    if (this.firstLoss === undefined) this.firstLoss = loss;
    else if (!this.warnedExplosion && loss > EXPLOSION_FACTOR * this.firstLoss) {
      this.warnedExplosion = true;
      this.warn(
        `warning: ${this.label}: step ${step}: the loss ${loss.toPrecision(3)} is over ${EXPLOSION_FACTOR.toExponential()} ` +
          `times the first step's (${this.firstLoss.toFixed(4)}); the run looks like it is diverging (learning rate too high?)`,
      );
    }
  }

  /** A warning on its own line; a live bar is drawn again below it. */
  private warn(message: string): void {
    const bar = this.bar;
    if (!bar) {
      this.options.stream.write(`${message}\n`);
      return;
    }
    const value = bar.getProgress() * this.total;
    bar.stop();
    this.options.stream.write(`${message}\n`);
    bar.start(this.total, Math.round(value), { label: this.label, loss: '-', rate: '-', etaText: '?' });
  }

  /** A message that does not break the bar. */
  note(message: string): void {
    if (this.bar) this.bar.stop();
    this.bar = undefined;
    this.options.stream.write(`${message}\n`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

export { formatDuration };
