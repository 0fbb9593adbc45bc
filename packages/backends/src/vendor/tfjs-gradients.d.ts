// Types of dist/vendor/tfjs-gradients.js, which scripts/bundle-gradients.mjs generates at build time.
import type { GradConfig } from '@tensorflow/tfjs-core';

/** Every gradient config that tfjs-core's `register_all_gradients` registers, in the same order. */
export declare const gradConfigs: readonly GradConfig[];
/** The tfjs-core version the configs were bundled from. */
export declare const tfjsCoreVersion: string;
