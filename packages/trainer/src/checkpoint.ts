import type { DataCursor } from '@gradsign/datasets';
import type { TrainConfig } from './config.js';
import { crc32 } from './crc32.js';
import { CheckpointError } from './errors.js';
import { checkHistory, decodeHistory, HISTORY_BYTES, type StepHistory, writeHistory } from './history.js';
import { firstNonFinite } from './nonfinite.js';

/** How a tensor's values are stored in the file. Integer values are range-checked when written. */
export type StoreAs = 'float32' | 'int32' | 'int8' | 'uint8' | 'uint16';

/** Whether the file format knows how to store values as `storeAs` (others are written as their dtype). */
export function isStoreAs(value: string): value is StoreAs {
  return value in BYTES;
}

/** One tensor of a checkpoint, with its values in decoded form. */
export interface TensorRecord {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: 'float32' | 'int32';
  /** The file encoding: 'int8' stores one byte per value (GradSign's counters). */
  readonly storeAs: StoreAs;
  readonly values: Float32Array | Int32Array;
}

/** Everything needed to continue a run exactly where it stopped. */
export interface Checkpoint {
  readonly config: TrainConfig;
  /** Optimizer steps done. */
  readonly step: number;
  /** The tfjs backend the run used; resuming elsewhere works but is not bit-identical. */
  readonly backend: string;
  /** Training wall time before the checkpoint, in seconds (informational). */
  readonly trainSeconds?: number;
  readonly dataCursor: DataCursor;
  /** State of the dropout stream (a mulberry32 uint32). */
  readonly rng: { readonly dropout: number };
  /** Model parameters and buffers under their logical names (`conv1.weight`, `bn1.running_var`, …). */
  readonly model: readonly TensorRecord[];
  /** The optimizer's full state (`getWeights`), variable names made logical, quantized slots as int8. */
  readonly optimizer: readonly TensorRecord[];
  /** Free-form JSON (CLI metadata, timestamps). Not interpreted. */
  readonly meta?: Readonly<Record<string, unknown>>;
  /**
   * The loss, time and epoch of every step so far (`history.from` + its length = `step`). Absent in checkpoints
   * written before checkpoints kept it.
   */
  readonly history?: StepHistory;
  /** Under the 'skip' non-finite policy: updates skipped so far, and in a row at the checkpoint. */
  readonly skips?: { readonly skippedSteps: number; readonly consecutiveSkips: number };
}

/**
 * File format, version 1 (all integers little-endian):
 *
 *     offset  size  field
 *     0       8     magic  89 47 53 43 4B 50 54 0A  ("\x89GSCKPT\n")
 *     8       4     format version (uint32) = 1
 *     12      4     total file length in bytes (uint32)
 *     16      4     header length H (uint32)
 *     20      H     header: UTF-8 JSON with every field but the tensor values, and per tensor
 *                   { name, shape, dtype, storeAs, offset, length } (offset from the file start, 8-aligned)
 *     …             tensor values, each at its offset, zero padding between
 *     …             optional step history: n float64 losses, n float64 ms per step, n int32 epochs, where the
 *                   header's `history` is { from, count: n, offset } (older files have none; older readers skip it)
 *     end−4   4     CRC-32 of bytes 0 … end−5
 *
 * A truncated file fails the length check, a damaged one the checksum, a foreign one the magic. Model weights and
 * float optimizer state must be finite: a checkpoint of a diverged run is neither written nor read ('non-finite').
 */
export const CHECKPOINT_MAGIC = Uint8Array.from([0x89, 0x47, 0x53, 0x43, 0x4b, 0x50, 0x54, 0x0a]);
/** The checkpoint format version this build writes, and the only one it reads. */
export const CHECKPOINT_VERSION = 1;
const FIXED = 20;

interface TensorHeader {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  storeAs: StoreAs;
  offset: number;
  length: number;
}

interface Header {
  config: TrainConfig;
  step: number;
  backend: string;
  trainSeconds?: number;
  dataCursor: DataCursor;
  rng: { dropout: number };
  meta?: Record<string, unknown>;
  model: TensorHeader[];
  optimizer: TensorHeader[];
  history?: { from: number; count: number; offset: number };
  skips?: { skippedSteps: number; consecutiveSkips: number };
}

const BYTES: Record<StoreAs, number> = { float32: 4, int32: 4, int8: 1, uint8: 1, uint16: 2 };
const RANGE: Partial<Record<StoreAs, [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  uint16: [0, 65535],
};

const align8 = (n: number) => Math.ceil(n / 8) * 8;

function where(source: string | undefined): string {
  return source ? `${source}: ` : '';
}

function checkRecord(t: TensorRecord, group: string): void {
  const size = t.shape.reduce((a, b) => a * b, 1);
  const bad = (problem: string): never => {
    throw new CheckpointError('incompatible', `cannot write ${group} tensor '${t.name}': ${problem}`);
  };
  if (!t.shape.every((d) => Number.isInteger(d) && d >= 0)) bad(`bad shape [${t.shape.join(', ')}]`);
  if (t.values.length !== size) bad(`${t.values.length} values for shape [${t.shape.join(', ')}]`);
  if (t.dtype === 'float32' ? !(t.values instanceof Float32Array) : !(t.values instanceof Int32Array)) {
    bad(`values are not a ${t.dtype} array`);
  }
  if (t.dtype === 'float32' && t.storeAs !== 'float32')
    bad(`float32 values cannot be stored as ${t.storeAs}`);
  if (t.dtype === 'int32' && t.storeAs === 'float32') bad('int32 values cannot be stored as float32');
  const range = RANGE[t.storeAs];
  if (range) {
    for (let i = 0; i < t.values.length; i++) {
      const v = t.values[i]!;
      if (v < range[0] || v > range[1]) bad(`value ${v} at ${i} does not fit ${t.storeAs}`);
    }
  }
}

/** Serialises a checkpoint to the versioned binary format (platform-free). */
export function encodeCheckpoint(checkpoint: Checkpoint): Uint8Array {
  const groups = { model: checkpoint.model, optimizer: checkpoint.optimizer };
  for (const [group, records] of Object.entries(groups)) for (const t of records) checkRecord(t, group);
  refuseNonFinite(checkpoint, 'cannot write a checkpoint of a diverged run');
  const history = checkpoint.history;
  if (history)
    checkHistory(history, checkpoint.step, (problem) => new CheckpointError('incompatible', problem));
  // Offsets depend on the header's length, which depends on the offsets: lay out with a placeholder width,
  // then fix the header size by padding it with spaces up to an 8-byte boundary.
  const layout = (payloadStart: number) => {
    let offset = payloadStart;
    const place = (t: TensorRecord): TensorHeader => {
      const length = t.values.length * BYTES[t.storeAs];
      const entry = { name: t.name, shape: [...t.shape], dtype: t.dtype, storeAs: t.storeAs, offset, length };
      offset = align8(offset + length);
      return entry;
    };
    const header: Header = {
      config: checkpoint.config,
      step: checkpoint.step,
      backend: checkpoint.backend,
      trainSeconds: checkpoint.trainSeconds ?? 0,
      dataCursor: checkpoint.dataCursor,
      rng: { dropout: checkpoint.rng.dropout },
      ...(checkpoint.meta ? { meta: { ...checkpoint.meta } } : {}),
      model: checkpoint.model.map(place),
      optimizer: checkpoint.optimizer.map(place),
      ...(history ? { history: { from: history.from, count: history.losses.length, offset } } : {}),
      ...(checkpoint.skips ? { skips: { ...checkpoint.skips } } : {}),
    };
    if (history) offset = align8(offset + history.losses.length * HISTORY_BYTES);
    return { header, end: offset };
  };
  const encoder = new TextEncoder();
  let payloadStart = align8(FIXED + 64);
  let json: Uint8Array;
  let plan: ReturnType<typeof layout>;
  for (;;) {
    plan = layout(payloadStart);
    json = encoder.encode(JSON.stringify(plan.header));
    const needed = align8(FIXED + json.length);
    if (needed <= payloadStart) break;
    payloadStart = needed;
  }
  const total = plan.end + 4;
  if (total > 0xffffffff) throw new CheckpointError('incompatible', 'checkpoint larger than 4 GiB');
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  bytes.set(CHECKPOINT_MAGIC, 0);
  view.setUint32(8, CHECKPOINT_VERSION, true);
  view.setUint32(12, total, true);
  const headerLength = payloadStart - FIXED;
  view.setUint32(16, headerLength, true);
  bytes.fill(0x20, FIXED, payloadStart);
  bytes.set(json, FIXED);
  const records = [...checkpoint.model, ...checkpoint.optimizer];
  const entries = [...plan.header.model, ...plan.header.optimizer];
  records.forEach((t, k) => {
    writeValues(view, entries[k]!.offset, t);
  });
  if (history) writeHistory(view, plan.header.history!.offset, history);
  view.setUint32(total - 4, crc32(bytes.subarray(0, total - 4)), true);
  return bytes;
}

/**
 * Throws `CheckpointError` ('non-finite') when a model weight or a float optimizer state value is NaN or infinite.
 * `context` starts the message (a file name and what was being done).
 */
export function refuseNonFinite(
  checkpoint: Pick<Checkpoint, 'model' | 'optimizer' | 'step'>,
  context: string,
): void {
  const floats = (records: readonly TensorRecord[]) => records.filter((t) => t.dtype === 'float32');
  const model = firstNonFinite(checkpoint.model);
  const bad = model
    ? { ...model, what: 'weight' }
    : { ...firstNonFinite(floats(checkpoint.optimizer)), what: 'optimizer state' };
  if (bad.name === undefined) return;
  throw new CheckpointError(
    'non-finite',
    `${context}: ${bad.what} '${bad.name}' holds ${bad.value} at index ${bad.index} (step ${checkpoint.step})`,
  );
}

function writeValues(view: DataView, offset: number, t: TensorRecord): void {
  const v = t.values;
  switch (t.storeAs) {
    case 'float32':
      for (let i = 0; i < v.length; i++) view.setFloat32(offset + 4 * i, v[i]!, true);
      break;
    case 'int32':
      for (let i = 0; i < v.length; i++) view.setInt32(offset + 4 * i, v[i]!, true);
      break;
    case 'int8':
      for (let i = 0; i < v.length; i++) view.setInt8(offset + i, v[i]!);
      break;
    case 'uint8':
      for (let i = 0; i < v.length; i++) view.setUint8(offset + i, v[i]!);
      break;
    case 'uint16':
      for (let i = 0; i < v.length; i++) view.setUint16(offset + 2 * i, v[i]!, true);
      break;
  }
}

function readValues(view: DataView, h: TensorHeader): Float32Array | Int32Array {
  const count = h.length / BYTES[h.storeAs];
  const out = h.dtype === 'float32' ? new Float32Array(count) : new Int32Array(count);
  const o = h.offset;
  switch (h.storeAs) {
    case 'float32':
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(o + 4 * i, true);
      break;
    case 'int32':
      for (let i = 0; i < count; i++) out[i] = view.getInt32(o + 4 * i, true);
      break;
    case 'int8':
      for (let i = 0; i < count; i++) out[i] = view.getInt8(o + i);
      break;
    case 'uint8':
      for (let i = 0; i < count; i++) out[i] = view.getUint8(o + i);
      break;
    case 'uint16':
      for (let i = 0; i < count; i++) out[i] = view.getUint16(o + 2 * i, true);
      break;
  }
  return out;
}

/** A header value as JSON for a message: never throws, whatever a damaged header holds. */
function shown(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** True when `bytes` starts with the checkpoint magic (it may still be truncated or damaged). */
export function isCheckpoint(bytes: Uint8Array): boolean {
  return bytes.length >= CHECKPOINT_MAGIC.length && CHECKPOINT_MAGIC.every((b, i) => bytes[i] === b);
}

function describeStart(bytes: Uint8Array): string {
  const head = bytes.subarray(0, 8);
  const printable = Array.from(head, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  const hex = Array.from(head, (b) => b.toString(16).padStart(2, '0')).join(' ');
  return `${hex} "${printable}"`;
}

/**
 * Parses and verifies a checkpoint (magic, version, length, CRC-32, header and tensor layout). `source` (a file
 * name) prefixes error messages. Throws {@link CheckpointError}.
 */
export function decodeCheckpoint(bytes: Uint8Array, source?: string): Checkpoint {
  const at = where(source);
  if (bytes.length === 0) throw new CheckpointError('truncated', `${at}checkpoint file is empty`);
  const prefix = Math.min(bytes.length, CHECKPOINT_MAGIC.length);
  for (let i = 0; i < prefix; i++) {
    if (bytes[i] !== CHECKPOINT_MAGIC[i]) {
      throw new CheckpointError(
        'not-a-checkpoint',
        `${at}not a gradsign checkpoint (it starts with ${describeStart(bytes)}, expected "\\x89GSCKPT\\n")`,
      );
    }
  }
  if (bytes.length < FIXED + 4) {
    throw new CheckpointError('truncated', `${at}checkpoint is truncated: only ${bytes.length} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(
      'unsupported-version',
      `${at}checkpoint format version ${version} is not supported (this build reads version ${CHECKPOINT_VERSION})`,
    );
  }
  const total = view.getUint32(12, true);
  if (bytes.length < total) {
    throw new CheckpointError(
      'truncated',
      `${at}checkpoint is truncated: ${bytes.length} of ${total} bytes (an interrupted write or copy?)`,
    );
  }
  if (bytes.length > total) {
    throw new CheckpointError(
      'corrupt',
      `${at}checkpoint has ${bytes.length - total} unexpected trailing bytes`,
    );
  }
  const stored = view.getUint32(total - 4, true);
  const actual = crc32(bytes.subarray(0, total - 4));
  if (stored !== actual) {
    throw new CheckpointError(
      'corrupt',
      `${at}checkpoint is damaged: CRC-32 is ${actual.toString(16).padStart(8, '0')}, ` +
        `the file says ${stored.toString(16).padStart(8, '0')}`,
    );
  }
  const corrupt = (problem: string): never => {
    throw new CheckpointError('corrupt', `${at}checkpoint header is malformed: ${problem}`);
  };
  const headerLength = view.getUint32(16, true);
  if (FIXED + headerLength > total - 4) corrupt(`header length ${headerLength} exceeds the file`);
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(FIXED, FIXED + headerLength))) as Header;
  } catch (error) {
    return corrupt(`invalid JSON (${(error as Error).message})`);
  }
  if (typeof header !== 'object' || header === null) corrupt('not an object');
  if (typeof header.config !== 'object' || header.config === null) corrupt('no config');
  if (!Number.isSafeInteger(header.step) || header.step < 0) corrupt(`bad step ${shown(header.step)}`);
  if (typeof header.backend !== 'string') corrupt('no backend');
  if (typeof header.dataCursor !== 'object' || header.dataCursor === null) corrupt('no data cursor');
  if (!Number.isInteger(header.rng?.dropout)) corrupt('no dropout RNG state');
  const payloadStart = FIXED + headerLength;
  const tensors = (list: unknown, group: string): TensorRecord[] => {
    if (!Array.isArray(list)) return corrupt(`no ${group} tensor list`);
    return list.map((h: TensorHeader) => {
      const name = typeof h?.name === 'string' ? h.name : corrupt(`${group} tensor without a name`);
      if (!Array.isArray(h.shape) || !h.shape.every((d) => Number.isInteger(d) && d >= 0)) {
        corrupt(`${group} tensor '${name}' has a bad shape`);
      }
      if (h.dtype !== 'float32' && h.dtype !== 'int32')
        corrupt(`${group} tensor '${name}' has dtype ${shown(h.dtype)}`);
      if (typeof h.storeAs !== 'string' || !Object.hasOwn(BYTES, h.storeAs))
        corrupt(`${group} tensor '${name}' is stored as ${shown(h.storeAs)}`);
      const size = h.shape.reduce((a, b) => a * b, 1);
      if (h.length !== size * BYTES[h.storeAs])
        corrupt(`${group} tensor '${name}' has length ${shown(h.length)}`);
      if (!Number.isInteger(h.offset) || h.offset < payloadStart || h.offset + h.length > total - 4) {
        corrupt(`${group} tensor '${name}' lies outside the payload`);
      }
      return { name, shape: h.shape, dtype: h.dtype, storeAs: h.storeAs, values: readValues(view, h) };
    });
  };
  refuseOverlaps([header.model, header.optimizer], corrupt);
  const checkpoint: Checkpoint = {
    config: header.config,
    step: header.step,
    backend: header.backend,
    trainSeconds: typeof header.trainSeconds === 'number' ? header.trainSeconds : 0,
    dataCursor: header.dataCursor,
    rng: { dropout: header.rng.dropout },
    model: tensors(header.model, 'model'),
    optimizer: tensors(header.optimizer, 'optimizer'),
    ...(header.meta ? { meta: header.meta } : {}),
    ...(header.history !== undefined
      ? { history: decodeHistory(view, header.history, payloadStart, total, corrupt) }
      : {}),
    ...(header.skips !== undefined ? { skips: decodeSkips(header.skips, corrupt) } : {}),
  };
  if (checkpoint.history) checkHistory(checkpoint.history, checkpoint.step, (problem) => corrupt(problem));
  refuseNonFinite(checkpoint, `${at}refusing a checkpoint of a diverged run`);
  return checkpoint;
}

/**
 * Tensors must occupy distinct bytes: a header that points many tensors at the same bytes would make the decoder
 * allocate far more than the file holds. Checked before any values are read (malformed entries are left to the
 * per-tensor checks).
 */
function refuseOverlaps(lists: readonly unknown[], corrupt: (problem: string) => never): void {
  const regions: { start: number; end: number; name: unknown }[] = [];
  for (const list of lists) {
    if (!Array.isArray(list)) continue;
    for (const h of list as Partial<TensorHeader>[]) {
      const { offset, length } = h ?? {};
      if (Number.isSafeInteger(offset) && Number.isSafeInteger(length) && length! > 0) {
        regions.push({ start: offset!, end: offset! + length!, name: h.name });
      }
    }
  }
  regions.sort((a, b) => a.start - b.start);
  for (let i = 1; i < regions.length; i++) {
    if (regions[i]!.start < regions[i - 1]!.end) {
      corrupt(`tensors '${String(regions[i - 1]!.name)}' and '${String(regions[i]!.name)}' overlap`);
    }
  }
}

function decodeSkips(
  s: Header['skips'],
  corrupt: (problem: string) => never,
): NonNullable<Checkpoint['skips']> {
  const ok = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  if (typeof s !== 'object' || s === null || !ok(s.skippedSteps) || !ok(s.consecutiveSkips)) {
    return corrupt('bad skip counts');
  }
  return { skippedSteps: s.skippedSteps, consecutiveSkips: s.consecutiveSkips };
}
