/**
 * Adds `values`, in place and element-wise, over every replica of a data-parallel step (an all-reduce): each
 * replica calls it with an array of the same length and gets the same sums back. Kernels that couple the rows of a
 * batch (BatchNorm's statistics) take it as an attribute, so that a replica's rows are normalised with the whole
 * batch's statistics. Without it, a kernel sees only its own rows, which are then the whole batch.
 */
export type ReplicaSum = (values: Float64Array) => void;

/**
 * Per-channel sums over the whole batch: `parts` are this replica's sums, one array after the other, over `count`
 * values each. With `sum`, they and the count are summed over the replicas; without, they come back as they are.
 */
export function wholeBatchSums(
  parts: readonly ArrayLike<number>[],
  count: number,
  sum: ReplicaSum | undefined,
): { sums: Float64Array; count: number } {
  const length = parts.reduce((n, p) => n + p.length, 0);
  const values = new Float64Array(length + 1);
  let offset = 0;
  for (const p of parts) {
    for (let i = 0; i < p.length; i++) values[offset + i] = p[i]!;
    offset += p.length;
  }
  values[length] = count;
  sum?.(values);
  return { sums: values.subarray(0, length), count: values[length]! };
}
