// Property tests of the checkpoint decoder: every byte string either decodes to a well-formed checkpoint or is
// refused with CheckpointError, never another error, and decoding never allocates more than the file holds.
import fc from 'fast-check';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  CHECKPOINT_MAGIC,
  type Checkpoint,
  CheckpointError,
  crc32,
  decodeCheckpoint,
  encodeCheckpoint,
  Trainer,
} from '../src/index.js';
import { smallMnist } from './data.js';
import { useBackend } from './helpers.js';

const STORED_BYTES = { float32: 4, int32: 4, int8: 1, uint8: 1, uint16: 2 } as const;

/** Bytes 0–19: magic, version, total length, header length; then the JSON header. */
const FIXED = 20;

let real: Uint8Array;
beforeAll(async () => {
  await useBackend('cpu');
  const trainer = Trainer.create({
    config: { model: 'mlp', optimizer: 'gradsign', steps: 2, batchSize: 8, seed: 1 },
    data: await smallMnist(),
  });
  try {
    for await (const _ of trainer.run()) {
      // drain
    }
    real = encodeCheckpoint(await trainer.checkpoint({ note: 'fuzz' }));
  } finally {
    trainer.dispose();
  }
});

type Outcome = { decoded: Checkpoint } | { refused: CheckpointError };

/** Decodes, and checks that what comes back is either a well-formed checkpoint or a CheckpointError. */
function decodeOrRefuse(bytes: Uint8Array): Outcome {
  let checkpoint: Checkpoint;
  try {
    checkpoint = decodeCheckpoint(bytes, 'fuzz.ckpt');
  } catch (error) {
    if (!(error instanceof CheckpointError)) throw error; // anything else fails the property
    expect(error.message.startsWith('fuzz.ckpt: ')).toBe(true);
    return { refused: error };
  }
  expect(Number.isSafeInteger(checkpoint.step) && checkpoint.step >= 0).toBe(true);
  let stored = 0;
  for (const t of [...checkpoint.model, ...checkpoint.optimizer]) {
    expect(t.values).toBeInstanceOf(t.dtype === 'float32' ? Float32Array : Int32Array);
    expect(t.values.length).toBe(t.shape.reduce((a, b) => a * b, 1));
    stored += t.values.length * STORED_BYTES[t.storeAs];
  }
  // Tensors occupy distinct bytes of the file, so no header can make the decoder allocate more than the file
  // holds (at most 4 bytes per stored byte, for int8 values decoded into an Int32Array).
  expect(stored).toBeLessThanOrEqual(bytes.length);
  return { decoded: checkpoint };
}

/** Rewrites the total length and the CRC so that only the structure, not the checksum, decides. */
function reseal(bytes: Uint8Array): Uint8Array {
  if (bytes.length < FIXED + 4) return bytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(12, bytes.length, true);
  view.setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
  return bytes;
}

function headerOf(bytes: Uint8Array): { json: Record<string, unknown>; length: number } {
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(16, true);
  const text = new TextDecoder().decode(bytes.subarray(FIXED, FIXED + length));
  return { json: JSON.parse(text) as Record<string, unknown>, length };
}

/** `header` with every tensor and history offset moved by `delta` bytes (where they are numbers). */
function shiftOffsets(header: unknown, delta: number): unknown {
  if (typeof header !== 'object' || header === null || delta === 0) return header;
  const h = structuredClone(header) as Record<string, unknown>;
  const move = (entry: unknown) => {
    const e = entry as { offset?: unknown } | null;
    if (typeof e === 'object' && e !== null && typeof e.offset === 'number') e.offset += delta;
  };
  for (const group of ['model', 'optimizer'])
    if (Array.isArray(h[group])) (h[group] as unknown[]).forEach(move);
  move(h.history);
  return h;
}

/**
 * The file with `header` in place of its header, padded with spaces. When it needs more room than the old one,
 * the payload moves and the offsets in `header` move with it, so that only the change itself is tested.
 */
function withHeader(bytes: Uint8Array, header: unknown): Uint8Array {
  const { length } = headerOf(bytes);
  let room = length;
  let json = new TextEncoder().encode(JSON.stringify(header));
  while (json.length > room) {
    room = json.length + 64;
    json = new TextEncoder().encode(JSON.stringify(shiftOffsets(header, room - length)));
  }
  const out = new Uint8Array(bytes.length - length + room);
  out.set(bytes.subarray(0, FIXED));
  out.fill(0x20, FIXED, FIXED + room);
  out.set(json, FIXED);
  out.set(bytes.subarray(FIXED + length), FIXED + room);
  new DataView(out.buffer).setUint32(16, room, true);
  return reseal(out);
}

/** Every path to a value in `value` (arrays: their first two and last entries). */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [prefix];
  const keys = Array.isArray(value)
    ? [...new Set([0, 1, value.length - 1].filter((i) => i >= 0 && i < value.length))]
    : Object.keys(value);
  const inner = keys.flatMap((k) => paths((value as Record<string | number, unknown>)[k], [...prefix, k]));
  return prefix.length > 0 ? [prefix, ...inner] : inner;
}

function setPath(root: unknown, path: (string | number)[], value: unknown, remove: boolean): unknown {
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (remove) delete node[last];
  else node[last] = value;
  return copy;
}

describe('decodeCheckpoint on hostile bytes', () => {
  test('the real checkpoint decodes (the properties start from a valid file)', () => {
    expect('decoded' in decodeOrRefuse(real)).toBe(true);
  });

  test('arbitrary bytes, with or without the magic and a valid checksum', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.boolean(), (tail, sealed) => {
        decodeOrRefuse(tail);
        const framed = new Uint8Array(CHECKPOINT_MAGIC.length + 4 + tail.length);
        framed.set(CHECKPOINT_MAGIC);
        new DataView(framed.buffer).setUint32(8, 1, true);
        framed.set(tail, CHECKPOINT_MAGIC.length + 4);
        decodeOrRefuse(sealed ? reseal(framed) : framed);
      }),
      { numRuns: 500 },
    );
  });

  test('byte mutations and truncations of a real checkpoint', () => {
    const edit = fc.record({
      index: fc.nat({ max: real.length - 1 }),
      value: fc.integer({ min: 0, max: 255 }),
    });
    fc.assert(
      fc.property(
        fc.array(edit, { minLength: 1, maxLength: 8 }),
        fc.nat({ max: real.length }),
        fc.boolean(),
        fc.boolean(),
        (edits, cut, truncate, sealed) => {
          let bytes = real.slice();
          for (const { index, value } of edits) bytes[index] = value;
          if (truncate) bytes = bytes.slice(0, cut);
          const outcome = decodeOrRefuse(sealed ? reseal(bytes) : bytes);
          // Without a fresh checksum, a damaged file is never accepted.
          if (!sealed && edits.some(({ index, value }) => real[index] !== value)) {
            expect('refused' in outcome).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  test('header fields replaced by any JSON value, or removed (checksum valid)', () => {
    const header = headerOf(real).json;
    const all = paths(header);
    fc.assert(
      fc.property(
        fc.constantFrom(...all),
        fc.jsonValue({ maxDepth: 2 }),
        fc.boolean(),
        (path, value, remove) => {
          decodeOrRefuse(withHeader(real, setPath(header, path, value, remove)));
        },
      ),
      {
        numRuns: 400,
        // Objects whose `toString` is not a function cannot be turned into text: messages must not try.
        examples: [
          ['optimizer', 0, 'dtype'],
          ['optimizer', 0, 'storeAs'],
          ['optimizer', 0, 'length'],
          ['model', 0, 'dtype'],
          ['step'],
        ].map((path) => [path, { toString: 0 }, false] as [(string | number)[], fc.JsonValue, boolean]),
      },
    );
  });

  test('the header cannot make the decoder read the same bytes many times over', () => {
    const header = headerOf(real).json as { model: unknown[] };
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 40 }), (copies) => {
        const repeated = { ...header, model: Array.from({ length: copies }, () => header.model).flat() };
        const outcome = decodeOrRefuse(withHeader(real, repeated));
        expect('refused' in outcome && outcome.refused.message).toMatch(/overlap/);
      }),
      { numRuns: 20 },
    );
  });
});
