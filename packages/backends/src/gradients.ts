import * as tf from '@tensorflow/tfjs-core';
import { gradConfigs, tfjsCoreVersion } from './vendor/tfjs-gradients.js';

/** tfjs-core's own gradient configs, as bundled at build time (see scripts/bundle-gradients.mjs). */
export const stockGradConfigs: readonly tf.GradConfig[] = gradConfigs;

/** The tfjs-core version the stock gradient configs were taken from. */
export const bundledTfjsCoreVersion: string = tfjsCoreVersion;

/** tfjs-core's stock gradient config for a kernel, or undefined if tfjs-core defines none. */
export function stockGradConfig(kernelName: string): tf.GradConfig | undefined {
  return gradConfigs.find((c) => c.kernelName === kernelName);
}

/** What {@link registerGradients} did: counts of tfjs-core's stock gradient configs. */
export interface RegisterGradientsResult {
  /** Gradients this call registered because none was registered for their kernel. */
  registered: number;
  /** Gradients left untouched because one was already registered (by tfjs, by us or by the user). */
  alreadyPresent: number;
  /** Total number of stock gradient configs. */
  total: number;
}

/**
 * Makes tfjs-core's gradients available, however tfjs-core was loaded (its CommonJS Node bundle registers none).
 * Idempotent: only kernels without a registered gradient get one, so fixes and custom gradients stay in place.
 */
export function registerGradients(): RegisterGradientsResult {
  let registered = 0;
  for (const config of gradConfigs) {
    if (tf.getGradient(config.kernelName) == null) {
      tf.registerGradient(config);
      registered++;
    }
  }
  return { registered, alreadyPresent: gradConfigs.length - registered, total: gradConfigs.length };
}
