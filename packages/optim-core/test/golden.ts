import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type GoldenRun,
  type GradSignGoldenFile,
  gradSignGoldenRun,
  type TestableOptimizer,
  type VariantGoldenFile,
  variantGoldenRuns,
} from '@gradsign/optim-testkit';

/** The golden vectors recorded from the reference semantics (PyTorch 1.13, float32, int8 counters). */
export const GOLDEN_DIR = fileURLToPath(new URL('./golden/', import.meta.url));

const load = <T>(file: string): T => JSON.parse(readFileSync(`${GOLDEN_DIR}${file}`, 'utf8')) as T;

export function gradSignGolden(create: (lr: number) => TestableOptimizer): GoldenRun {
  return gradSignGoldenRun(load<GradSignGoldenFile>('gradsign.json'), create);
}

/** One run per variant of adam.json / sgd.json; `slots` maps our slot names to the file's keys. */
export function variantGolden(
  file: 'adam.json' | 'sgd.json',
  slots: Record<string, string>,
  create: (variant: string, config: Record<string, unknown>) => TestableOptimizer,
): GoldenRun[] {
  return variantGoldenRuns(load<VariantGoldenFile>(file), slots, create);
}
