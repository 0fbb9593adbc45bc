import { Mulberry32 } from '@gradsign/optim-core/rng';

/** The sampled flat indices of one tensor (sorted, distinct). */
export interface TensorSample {
  readonly name: string;
  readonly indices: Int32Array;
}

/**
 * Splits `total` samples over tensors of the given sizes so that every tensor gets an equal share, capped at its
 * size (what a small tensor cannot take goes to the larger ones), then draws each tensor's indices uniformly
 * without replacement (a partial Fisher–Yates shuffle) from one mulberry32 stream seeded with `seed`, in tensor
 * order. The same sizes, total and seed always give the same sample.
 */
export function sampleIndices(
  tensors: readonly { readonly name: string; readonly size: number }[],
  total: number,
  seed: number,
): TensorSample[] {
  const counts = tensors.map(() => 0);
  let left = Math.min(
    total,
    tensors.reduce((n, t) => n + t.size, 0),
  );
  let open = tensors.map((_, i) => i).filter((i) => tensors[i]!.size > 0);
  while (left > 0 && open.length > 0) {
    const share = Math.max(1, Math.floor(left / open.length));
    for (const i of open) {
      const take = Math.min(share, tensors[i]!.size - counts[i]!, left);
      counts[i]! += take;
      left -= take;
      if (left === 0) break;
    }
    open = open.filter((i) => counts[i]! < tensors[i]!.size);
  }
  const rng = new Mulberry32(seed);
  return tensors.map((t, i) => {
    const pool = new Int32Array(t.size);
    for (let j = 0; j < t.size; j++) pool[j] = j;
    const k = counts[i]!;
    for (let j = 0; j < k; j++) {
      const pick = j + Math.floor(rng.nextFloat() * (t.size - j));
      const swap = pool[j]!;
      pool[j] = pool[pick]!;
      pool[pick] = swap;
    }
    return { name: t.name, indices: pool.slice(0, k).sort() };
  });
}
