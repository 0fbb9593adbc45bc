// Replica-thread setup for two-threads.mjs --breakdown: the backend as kernel-setup.mjs sets it, then timers around
// each replica's steps and barriers. After `steps` timed steps (following `warmup`), the replica prints one JSON line:
// its step time, the mean time it waited at each barrier of a step (by position), and the time between its steps.
import { SharedReplicaGroup, Trainer } from '@gradsign/trainer';
import setUpBackend from './kernel-setup.mjs';

export default async function setUp({ backend, kernels, warmup, steps }) {
  await setUpBackend({ backend, kernels });
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? 0;
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / (xs.length || 1);
  let step = -1;
  let index = -1;
  let barrierInStep = 0;
  let lastEnd = null;
  const waits = []; // waits[b][s]: ms waited at barrier b of timed step s
  const stepMs = [];
  const between = [];
  const barrier = SharedReplicaGroup.prototype.barrier;
  SharedReplicaGroup.prototype.barrier = function timedBarrier() {
    index = this.index;
    const t0 = performance.now();
    barrier.call(this);
    if (step >= warmup) {
      waits[barrierInStep] ??= [];
      waits[barrierInStep].push(performance.now() - t0);
    }
    barrierInStep++;
  };
  const trainStep = Trainer.prototype.trainStep;
  Trainer.prototype.trainStep = async function timedStep() {
    step++;
    barrierInStep = 0;
    const t0 = performance.now();
    if (lastEnd != null && step >= warmup) between.push(t0 - lastEnd);
    const record = await trainStep.call(this);
    lastEnd = performance.now();
    if (step >= warmup) stepMs.push(lastEnd - t0);
    if (step === warmup + steps - 1) {
      const byBarrier = waits.map((w) => Number(mean(w).toFixed(3)));
      console.log(
        JSON.stringify({
          replica: index,
          stepMs: median(stepMs),
          barrierWaitMs: byBarrier.reduce((a, b) => a + b, 0),
          byBarrier,
          betweenStepsMs: median(between),
        }),
      );
    }
    return record;
  };
}
