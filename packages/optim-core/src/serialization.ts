import * as tf from '@tensorflow/tfjs-core';
import { fail } from './errors.js';

/**
 * Every gradsign optimizer class is registered with TF.js under `gradsign.<Name>`, so none can replace one of
 * tfjs's own classes (`Adam`, `SGD`, `RMSProp`, …) in the serialization registry that `tf.loadLayersModel` uses.
 */
export const CLASS_NAME_PREFIX = 'gradsign.';

const OURS = Symbol.for('gradsign.optimizer-class');

type OptimizerClass = tf.serialization.SerializableConstructor<tf.Optimizer> & { [OURS]?: true };

/**
 * Registers an optimizer class for TF.js serialization under its `className`, which must start with
 * `gradsign.`. `aliases` are older names a saved model may carry (`GradSign`, `Lion`): they load as this class,
 * which then saves under its current name. Refuses any name that would replace a class that is not ours.
 */
export function registerOptimizerClass(
  cls: tf.serialization.SerializableConstructor<tf.Optimizer>,
  options: { readonly aliases?: readonly string[] } = {},
): void {
  const ours = cls as OptimizerClass;
  if (!ours.className.startsWith(CLASS_NAME_PREFIX)) {
    fail('invalid-config', `optimizer className '${ours.className}' must start with '${CLASS_NAME_PREFIX}'`);
  }
  const map = tf.serialization.SerializationMap.getMap().classNameMap;
  for (const name of [ours.className, ...(options.aliases ?? [])]) {
    const existing = map[name]?.[0] as OptimizerClass | undefined;
    if (existing && existing !== cls && !existing[OURS]) {
      fail('duplicate-optimizer', `className '${name}' is taken by another TF.js class; choose another name`);
    }
  }
  Object.defineProperty(ours, OURS, { value: true });
  tf.serialization.registerClass(ours);
  for (const alias of options.aliases ?? []) {
    // biome-ignore lint/suspicious/noExplicitAny: a subclass of whatever optimizer class is registered
    const entry = class extends (ours as unknown as new (...args: any[]) => any) {
      static readonly className = alias;
      static fromConfig(_cls: unknown, config: tf.serialization.ConfigDict): tf.Optimizer {
        return ours.fromConfig(ours, config);
      }
    } as unknown as OptimizerClass;
    Object.defineProperty(entry, OURS, { value: true });
    tf.serialization.registerClass(entry);
  }
}

/**
 * The config TF.js passes to `fromConfig`, without the keys tfjs-layers adds for its own use (`customObjects`,
 * when a model is loaded with `tf.loadLayersModel`).
 */
export function ownConfig(config: tf.serialization.ConfigDict): tf.serialization.ConfigDict {
  const { customObjects: _ignored, ...own } = config;
  return own;
}
