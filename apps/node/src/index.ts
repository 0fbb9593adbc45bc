export { EXIT_DIVERGED, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError } from './errors.js';
export { lossChartSvg, type RunOutput, runJson, smooth, summaryJson, writeOutputs } from './output.js';
export { buildProgram, type Io, main } from './program.js';
export { flatRangeJson, LR_CURVES_FILE, lrCurvesSvg, pairedJson } from './sweep-curves.js';
