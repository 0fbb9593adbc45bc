import type { SweepStatus } from '@gradsign/sweep-queue';
import cliProgress from 'cli-progress';
import { formatDuration } from '../progress.js';

/** Progress of a queued sweep on stderr: a bar with queued/running/done/failed and an ETA, or a line per change. */
export class SweepProgress {
  private bar: cliProgress.SingleBar | undefined;
  private last = '';
  private readonly started = performance.now();
  private doneAtStart: number | undefined;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly mode: 'bar' | 'lines' | 'none',
  ) {}

  update(status: SweepStatus): void {
    this.doneAtStart ??= status.done;
    const settled = status.done + status.failed;
    const rate = (status.done - this.doneAtStart) / ((performance.now() - this.started) / 1000);
    const eta = rate > 0 ? formatDuration((status.queued + status.running) / rate) : '?';
    const counts = {
      queued: status.queued,
      running: status.running,
      done: status.done,
      failed: status.failed,
      etaText: eta,
    };
    if (this.mode === 'bar') {
      if (!this.bar) {
        this.bar = new cliProgress.SingleBar(
          {
            stream: this.stream,
            format:
              '{bar} {value}/{total} runs | queued {queued} | running {running} | done {done} | failed {failed} | ETA {etaText}',
            barsize: 24,
            hideCursor: true,
            fps: 2,
          },
          cliProgress.Presets.shades_classic,
        );
        this.bar.start(status.total, settled, counts);
      }
      this.bar.update(settled, counts);
    } else if (this.mode === 'lines') {
      const line = `${settled}/${status.total} runs: queued ${status.queued}, running ${status.running}, done ${status.done}, failed ${status.failed}`;
      if (line !== this.last)
        this.stream.write(`${line}${status.done > this.doneAtStart ? `, ETA ${eta}` : ''}\n`);
      this.last = line;
    }
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
