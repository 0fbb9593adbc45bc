import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { GoldenRun, TestableOptimizer } from '@gradsign/optim-testkit';

/** The golden vectors recorded from the reference semantics (PyTorch 1.13, float32, int8 counters). */
export const GOLDEN_DIR = fileURLToPath(new URL('./golden/', import.meta.url));

type Json = Record<string, unknown>;
const load = (file: string): Json => JSON.parse(readFileSync(`${GOLDEN_DIR}${file}`, 'utf8')) as Json;

export function gradSignGolden(create: (lr: number) => TestableOptimizer): GoldenRun {
  const g = load('gradsign.json') as {
    lr: number;
    counts0: number[];
    param0: number[];
    grads: number[][];
    steps: { counts: number[]; param: number[] }[];
  };
  return {
    name: 'gradsign',
    create: () => create(g.lr),
    param0: g.param0,
    grads: g.grads,
    initialState: { counts: g.counts0 },
    steps: g.steps.map((s) => ({ param: s.param, state: { counts: s.counts } })),
    exactSlots: ['counts'],
  };
}

interface Variant {
  config: Json;
  steps: Record<string, number[]>[];
}

/** One run per variant of adam.json / sgd.json; `slots` maps our slot names to the file's keys. */
export function variantGolden(
  file: 'adam.json' | 'sgd.json',
  slots: Record<string, string>,
  create: (variant: string, config: Json) => TestableOptimizer,
): GoldenRun[] {
  const g = load(file) as { param0: number[]; grads: number[][]; variants: Record<string, Variant> };
  return Object.entries(g.variants).map(([name, variant]) => ({
    name,
    create: () => create(name, variant.config),
    param0: g.param0,
    grads: g.grads,
    steps: variant.steps.map((s) => ({
      param: s.param!,
      state: Object.fromEntries(
        Object.entries(slots)
          .filter(([, key]) => key in s)
          .map(([slot, key]) => [slot, s[key]!]),
      ),
    })),
  }));
}
