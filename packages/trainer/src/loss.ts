import * as tf from '@tensorflow/tfjs-core';

/** Per-example cross-entropy of `logits` [B, C] against int32 class `labels` [B] (natural log). */
export function crossEntropyPerExample(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const logProbs = tf.logSoftmax(logits);
    const oneHot = tf.cast(tf.oneHot(labels, logits.shape[1]), 'float32');
    return tf.neg(tf.sum(tf.mul(logProbs, oneHot), 1)) as tf.Tensor1D;
  });
}

/** Cross-entropy averaged over the batch, as PyTorch's `nn.CrossEntropyLoss()`. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const logProbs = tf.logSoftmax(logits);
  const oneHot = tf.cast(tf.oneHot(labels, logits.shape[1]), 'float32');
  return tf.neg(tf.mean(tf.sum(tf.mul(logProbs, oneHot), 1))) as tf.Scalar;
}
