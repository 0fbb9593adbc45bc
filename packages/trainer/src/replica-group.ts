/**
 * Replicas of one run on several threads (data-parallel training). Each replica holds the whole model and
 * optimizer, computes the gradient of its shard of every batch, and the replicas sum what has to be global:
 * BatchNorm's per-channel sums (so batch statistics are those of the whole batch), the gradients and the loss.
 * Every replica adds the same numbers in the same order, so all of them apply bit-identical updates. The trainer
 * sums the gradients and the loss itself and hands `allReduceSum` to the forward pass (`ForwardOptions.shard.sum`),
 * which passes it on to the BatchNorm kernels as an attribute.
 */
export interface ReplicaGroup {
  /** This replica's position, 0 … count − 1. */
  readonly index: number;
  readonly count: number;
  /**
   * Replaces `values` in place by their element-wise sum over all replicas, added in replica order. Blocks until
   * every replica has called it with an array of the same length. Throws `ReplicaGroupError` once the group is
   * aborted.
   */
  allReduceSum(values: Float32Array | Float64Array): void;
  /** Marks the group failed, waking replicas that wait in `allReduceSum` (they throw). */
  abort(): void;
}

/** Thrown in a replica when its group was aborted (another replica failed) or the others did not arrive in time. */
export class ReplicaGroupError extends Error {
  override readonly name = 'ReplicaGroupError';
}

// Header (Int32): arrivals at the current barrier, barrier generation, aborted flag.
const ARRIVED = 0;
const GENERATION = 1;
const ABORTED = 2;
const HEADER_BYTES = 16;
/** Float64 values per replica per round of an all-reduce; longer arrays go in several rounds. */
const SLOT_VALUES = 1 << 16;
/**
 * Each replica has two slots and rounds alternate between them, so one barrier per round is enough: a replica
 * writes a slot again two rounds later, after the barrier of the round in between, which no replica passes before
 * every replica has finished reading that slot.
 */
const SLOTS_PER_REPLICA = 2;
const groupBytes = (count: number) => HEADER_BYTES + count * SLOTS_PER_REPLICA * SLOT_VALUES * 8;
/** Spins (cheap checks) before a replica sleeps at a barrier: most waits are a few microseconds long. */
const SPINS = 4096;

/**
 * A `ReplicaGroup` over one SharedArrayBuffer, synchronised with Atomics. Create the buffer once with
 * `SharedReplicaGroup.allocate(count)`, send it to every replica thread and open it there with its index. Works in
 * Node's worker_threads and in Web Workers of cross-origin-isolated pages.
 */
export class SharedReplicaGroup implements ReplicaGroup {
  private readonly header: Int32Array;
  /** `slots[parity][replica]`: the values each replica publishes in rounds of that parity. */
  private readonly slots: Float64Array[][];
  /** Rounds this replica has done; every replica does the same rounds, so the counts agree. */
  private rounds = 0;

  /** The shared buffer for a group of `count` replicas (a small header plus 1 MiB per replica). */
  static allocate(count: number): SharedArrayBuffer {
    if (!Number.isInteger(count) || count < 1)
      throw new RangeError(`a replica group needs a positive integer count, got ${count}`);
    return new SharedArrayBuffer(groupBytes(count));
  }

  /** Marks the group in `buffer` failed (for the thread that started the replicas, e.g. when one crashed). */
  static abort(buffer: SharedArrayBuffer): void {
    const header = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    Atomics.store(header, ABORTED, 1);
    Atomics.notify(header, GENERATION);
  }

  constructor(
    buffer: SharedArrayBuffer,
    readonly index: number,
    readonly count: number,
    /** How long a replica waits for the others at one barrier before giving up. */
    private readonly timeoutMs = 600_000,
  ) {
    if (buffer.byteLength !== groupBytes(count))
      throw new RangeError(`the buffer does not hold a group of ${count} replicas`);
    if (!Number.isInteger(index) || index < 0 || index >= count)
      throw new RangeError(`replica index ${index} is not in 0…${count - 1}`);
    this.header = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.slots = Array.from({ length: SLOTS_PER_REPLICA }, (_, parity) =>
      Array.from(
        { length: count },
        (_, r) =>
          new Float64Array(buffer, HEADER_BYTES + (parity * count + r) * SLOT_VALUES * 8, SLOT_VALUES),
      ),
    );
  }

  allReduceSum(values: Float32Array | Float64Array): void {
    if (this.count === 1) return;
    for (let offset = 0; offset < values.length; offset += SLOT_VALUES) {
      const slots = this.slots[this.rounds++ % SLOTS_PER_REPLICA]!;
      const mine = slots[this.index]!;
      const n = Math.min(SLOT_VALUES, values.length - offset);
      for (let i = 0; i < n; i++) mine[i] = values[offset + i]!;
      this.barrier();
      for (let i = 0; i < n; i++) {
        let sum = 0;
        for (let r = 0; r < this.count; r++) sum += slots[r]![i]!;
        values[offset + i] = sum;
      }
    }
  }

  abort(): void {
    Atomics.store(this.header, ABORTED, 1);
    Atomics.notify(this.header, GENERATION);
  }

  private checkAborted(): void {
    if (Atomics.load(this.header, ABORTED) !== 0)
      throw new ReplicaGroupError('another replica of this run failed; the step was not completed');
  }

  private barrier(): void {
    const h = this.header;
    this.checkAborted();
    const generation = Atomics.load(h, GENERATION);
    if (Atomics.add(h, ARRIVED, 1) === this.count - 1) {
      Atomics.store(h, ARRIVED, 0);
      Atomics.add(h, GENERATION, 1);
      Atomics.notify(h, GENERATION);
      return;
    }
    for (let i = 0; i < SPINS && Atomics.load(h, GENERATION) === generation; i++);
    const deadline = Date.now() + this.timeoutMs;
    while (Atomics.load(h, GENERATION) === generation) {
      this.checkAborted();
      const left = deadline - Date.now();
      if (left <= 0) {
        this.abort();
        throw new ReplicaGroupError(
          `replica ${this.index} waited ${this.timeoutMs / 1000} s for the other replicas; giving up`,
        );
      }
      Atomics.wait(h, GENERATION, generation, Math.min(left, 1000));
    }
    this.checkAborted();
  }
}
