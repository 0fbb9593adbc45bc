export { NODE_BACKENDS, useBackend } from './backends.js';
export {
  describeFailures,
  type GoldenRun,
  type GoldenStepFailure,
  type GradSignGoldenFile,
  gradSignGoldenRun,
  replayGolden,
  type VariantGoldenFile,
  variantGoldenRuns,
} from './golden.js';
export { layersRoundTrip, memoryStore, type RoundTripResult, type RoundTripStore } from './layers.js';
export { optimize, type Problem, quadratic, rosenbrock } from './problems.js';
export { type ConformanceOptions, describeOptimizer, zerosVariable } from './suite.js';
export {
  bitsEqual,
  exactMismatches,
  GOLDEN_TOLERANCE,
  type Mismatch,
  mismatches,
  type Tolerance,
} from './tolerance.js';
export type { TestableOptimizer } from './types.js';
