// The results view's figures: finished runs grouped by protocol, each summarised as in the write-up, with the
// learning-rate curves, flat ranges and paired differences that the CLI's sweep reports too.
import {
  displayName,
  flatRange,
  formatAccuracy,
  formatFlatRange,
  pairedDifferences,
  pairedHeader,
  pairedRow,
  summarize,
  type TrainResult,
} from '@gradsign/trainer';
import type { ResultsTable } from './protocol';

const orNull = (v: number) => (Number.isFinite(v) ? v : null);

/** Finished runs grouped by protocol, newest protocol first. */
export function resultsTables(results: readonly TrainResult[]): ResultsTable[] {
  const groups = new Map<string, TrainResult[]>();
  for (const r of results) {
    const c = r.config;
    const key = `${c.model}, ${c.steps} steps × ${c.batchSize}, ${r.backend}, accuracy on ${r.testCount.toLocaleString('en-US')} test images`;
    const earlier = groups.get(key) ?? [];
    groups.delete(key); // re-inserted last: the most recent protocol comes first
    groups.set(key, [...earlier, r]);
  }
  return [...groups].reverse().map(([protocol, runs]) => {
    const summaries = summarize(runs);
    return {
      protocol,
      rows: summaries.map((s) => ({
        optimizer: displayName(s.optimizer),
        bestLearningRate: s.best.learningRate,
        // 'diverged at step 2' for a diverged run: never an accuracy.
        accuracy: formatAccuracy(s.best),
        seeds: [...s.best.seeds, ...s.best.diverged.map((d) => d.seed)],
        bytesPerParam: s.best.stateBytes / runs[0]!.params,
        flatRange: formatFlatRange(flatRange(s)),
        rates: s.grid.length,
      })),
      curves: summaries.map((s) => ({
        optimizer: displayName(s.optimizer),
        points: s.grid.map((g) => ({
          learningRate: g.learningRate,
          mean: orNull(g.mean),
          sd: orNull(g.sd),
          n: g.accuracies.length,
          diverged: g.diverged.length,
        })),
      })),
      pairedHeader: pairedHeader(),
      paired: pairedDifferences(summaries).map((p) => {
        const [pair, learningRates, difference, interval, , resolved] = pairedRow(p);
        return {
          pair: pair!,
          learningRates: learningRates!,
          difference: difference!,
          interval: interval!,
          n: p.n,
          resolved: resolved!,
        };
      }),
    };
  });
}
