import { subset } from '@gradsign/datasets';
import { CheckpointError, DivergenceError, TrainerError } from '../errors.js';
import { SharedReplicaGroup } from '../replica-group.js';
import { Trainer } from '../trainer.js';
import type { ReplicaReply, ReplicaRequest, ReplicaResult } from './protocol.js';

/**
 * The replica side of a data-parallel run, independent of the thread API: feed it each request and post the
 * reply it returns. Requests are handled one at a time, in order. Set up the tfjs backend before the first one.
 */
export function createReplica(): (request: ReplicaRequest) => Promise<ReplicaReply> {
  let trainer: Trainer | null = null;
  const started = (): Trainer => {
    if (!trainer) throw new TrainerError('disposed', 'this replica has not been started');
    return trainer;
  };
  const handle = async (request: ReplicaRequest): Promise<ReplicaResult> => {
    switch (request.kind) {
      case 'start': {
        const group = new SharedReplicaGroup(request.group, request.index, request.count);
        const data = { train: request.train };
        trainer = request.checkpoint
          ? await Trainer.restore(request.checkpoint, {
              data,
              replica: group,
              ...(request.steps !== undefined ? { steps: request.steps } : {}),
              ...(request.onNonFinite ? { onNonFinite: request.onNonFinite } : {}),
            })
          : Trainer.create({
              config: request.config ?? {},
              data,
              replica: group,
              ...(request.onNonFinite ? { onNonFinite: request.onNonFinite } : {}),
            });
        return {
          config: trainer.config,
          step: trainer.step,
          trainSeconds: trainer.trainSeconds,
          backend: trainer.backend,
          params: trainer.paramCount(),
          stateBytes: trainer.stateBytes(),
        };
      }
      case 'step': {
        const record = await started().trainStep();
        return { record, stateBytes: started().stateBytes(), skippedSteps: started().skippedSteps };
      }
      case 'evaluate': {
        const part = subset(request.split, request.count, request.start);
        const result = await started().evaluate({ split: part, batchSize: request.batchSize });
        return { correct: result.correct, lossSum: result.loss * result.count, count: result.count };
      }
      case 'checkpoint':
        return started().checkpoint(request.meta);
    }
  };
  let queue: Promise<unknown> = Promise.resolve();
  return (request) => {
    const reply = queue.then(async (): Promise<ReplicaReply> => {
      try {
        return { id: request.id, ok: await handle(request) };
      } catch (error) {
        const e = error as Error & { code?: string };
        const code =
          e instanceof TrainerError || e instanceof CheckpointError || e instanceof DivergenceError
            ? e.code
            : undefined;
        const divergence =
          e instanceof DivergenceError
            ? {
                step: e.step,
                quantity: e.quantity,
                value: e.value,
                what: e.message.replace(/^diverged at step \d+: /, ''),
              }
            : undefined;
        return {
          id: request.id,
          error: {
            name: e.name ?? 'Error',
            message: e.message ?? String(error),
            ...(code ? { code } : {}),
            ...(divergence ? { divergence } : {}),
          },
        };
      }
    });
    queue = reply;
    return reply;
  };
}
