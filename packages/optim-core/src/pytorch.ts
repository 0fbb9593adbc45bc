import { fail } from './errors.js';
import { Adam, type AdamConfig, AdamW } from './optimizers/adam.js';
import { SGD } from './optimizers/sgd.js';

/** The PyTorch optimizer classes with a gradsign equivalent. */
export type PyTorchOptimizer = 'Adam' | 'AdamW' | 'SGD';

// Options that choose PyTorch's implementation, not the mathematics.
const IMPLEMENTATION = new Set(['foreach', 'capturable', 'differentiable', 'fused']);

/**
 * Creates the gradsign optimizer that `torch.optim.<name>(params, **config)` describes, mapping PyTorch's names
 * (`lr`, `betas`, `eps`, `weight_decay`, `momentum`, `nesterov`) to ours. Options without an equivalent here
 * (`amsgrad`, `maximize`, a non-zero `dampening`) are refused rather than ignored.
 */
export function fromPyTorch(name: PyTorchOptimizer, config: Record<string, unknown>): Adam | AdamW | SGD {
  const where = `fromPyTorch('${name}')`;
  const rest = Object.fromEntries(Object.entries(config).filter(([key]) => !IMPLEMENTATION.has(key)));
  const take = (key: string) => {
    const value = rest[key];
    delete rest[key];
    return value;
  };
  const refuse = (key: string, allowed: unknown) => {
    const value = take(key);
    if (value !== undefined && value !== allowed)
      fail('invalid-config', `${where}: ${key}=${String(value)} is not supported`);
  };
  const lr = take('lr') as number | undefined;
  const weightDecay = take('weight_decay') as number | undefined;
  const common = {
    ...(lr !== undefined ? { learningRate: lr } : {}),
    ...(weightDecay !== undefined ? { weightDecay } : {}),
  };
  let optimizer: Adam | AdamW | SGD;
  if (name === 'SGD') {
    refuse('dampening', 0);
    refuse('maximize', false);
    const momentum = take('momentum') as number | undefined;
    const nesterov = take('nesterov') as boolean | undefined;
    optimizer = new SGD({
      ...common,
      ...(momentum !== undefined ? { momentum } : {}),
      ...(nesterov !== undefined ? { nesterov } : {}),
    });
  } else if (name === 'Adam' || name === 'AdamW') {
    refuse('amsgrad', false);
    refuse('maximize', false);
    const betas = take('betas') as [number, number] | undefined;
    const eps = take('eps') as number | undefined;
    const adam: AdamConfig = {
      ...common,
      ...(betas ? { beta1: betas[0], beta2: betas[1] } : {}),
      ...(eps !== undefined ? { epsilon: eps } : {}),
    };
    optimizer = name === 'AdamW' ? new AdamW(adam) : new Adam(adam);
  } else {
    return fail('invalid-config', `${where}: no gradsign equivalent; known: Adam, AdamW, SGD`);
  }
  const unknown = Object.keys(rest);
  if (unknown.length) fail('invalid-config', `${where}: unknown option(s) ${unknown.join(', ')}`);
  return optimizer;
}
