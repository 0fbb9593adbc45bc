import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DatasetError,
  IDX_TYPES,
  type IdxType,
  idxMagic,
  MNIST_FILE_KEYS,
  type MnistFileKey,
  maxInflatedLength,
  maybeGunzip,
  mnistFromBuffers,
  parseIdx,
  readIdxHeader,
} from '../src/index.js';
import { idxSinkFor } from '../src/inflate.js';
import { inflateInto as inflateWithStream } from '../src/load-browser.js';
import { gunzipIdx, inflateInto as inflateWithZlib } from '../src/load-node.js';
import { fixtureFiles } from './helpers.js';

const TYPES = Object.keys(IDX_TYPES) as IdxType[];
const FILE = 'fuzz-idx.gz';

/** An IDX header with any type and dimensions (small, zero, or absurd), followed by a data length near the declared one. */
const idxLike = fc
  .record({
    type: fc.constantFrom(...TYPES),
    dims: fc.array(
      fc.oneof(
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.constant(0xffffffff),
      ),
      { maxLength: 4 },
    ),
    delta: fc.integer({ min: -9, max: 9 }),
    fill: fc.integer({ min: 0, max: 255 }),
  })
  .map(({ type, dims, delta, fill }) => {
    const count = dims.includes(0) ? 0 : dims.reduce((a, b) => a * b, 1);
    const declared = Math.min(count * IDX_TYPES[type].size, 4096);
    const header = new Uint8Array(4 + 4 * dims.length);
    const view = new DataView(header.buffer);
    view.setUint32(0, idxMagic(type, dims.length), false);
    for (const [i, d] of dims.entries()) view.setUint32(4 + 4 * i, d, false);
    const bytes = new Uint8Array(header.length + Math.max(0, declared + delta)).fill(fill);
    bytes.set(header);
    return bytes;
  });

/** Damage to a byte string: cut it, overwrite a byte, or append bytes. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('append' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 12 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(bytes: Uint8Array, mutations: readonly Mutation[], headerOnly = false): Uint8Array {
  let out = bytes.slice();
  for (const m of mutations) {
    if (m.kind === 'truncate') out = out.slice(0, m.at % (out.length + 1));
    else if (m.kind === 'set' && out.length > 0)
      out[m.at % (headerOnly ? Math.min(out.length, 24) : out.length)] = m.value;
    else if (m.kind === 'append') out = Uint8Array.from([...out, ...m.extra]);
  }
  return out;
}

/** Rethrows anything that is not a DatasetError naming `file`. */
function expectDatasetError(error: unknown, file: string): void {
  if (!(error instanceof DatasetError)) throw error;
  expect(error.file).toBe(file);
}

describe('parseIdx: every input decodes to consistent data or throws DatasetError', () => {
  it('headers with any type and dimensions, and data of about the declared length', () => {
    fc.assert(
      fc.property(idxLike, fc.array(mutation, { maxLength: 2 }), (input, mutations) => {
        const bytes = mutate(input, mutations, true);
        try {
          const { type, dims, data } = parseIdx(bytes, { file: 'f' });
          const header = readIdxHeader(bytes)!;
          expect(header.byteLength).toBe(bytes.length);
          expect(data.length * IDX_TYPES[type].size).toBe(bytes.length - 4 - 4 * dims.length);
        } catch (error) {
          expectDatasetError(error, 'f');
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('the gzip path: decoded IDX bytes or DatasetError, never more memory than the gzip can decode to', () => {
  const decoders = { zlib: inflateWithZlib, DecompressionStream: inflateWithStream };
  for (const [name, inflateInto] of Object.entries(decoders)) {
    it(`${name}: gzipped IDX-like data, intact or damaged`, async () => {
      await fc.assert(
        fc.asyncProperty(idxLike, fc.array(mutation, { maxLength: 2 }), async (input, mutations) => {
          const gz = mutate(gzipSync(input, { level: 1 }), mutations);
          const sink = idxSinkFor(FILE, gz.length);
          try {
            const bytes = await inflateInto(sink, gz, FILE);
            parseIdx(bytes, { file: FILE });
            expect(sink.allocated).toBe(bytes.length); // valid data: allocated exactly once, exactly its size
            if (mutations.length === 0) expect(bytes).toEqual(input);
          } catch (error) {
            expectDatasetError(error, FILE);
          }
          expect(sink.allocated).toBeLessThanOrEqual(maxInflatedLength(gz.length));
          // Damaged gzip can decode to another header (the gzip CRC is checked only at the end), so only intact
          // data has a known allocation: exactly what its header declares.
          if (sink.allocated > 0 && mutations.length === 0) {
            expect(sink.allocated).toBe(readIdxHeader(input)?.byteLength ?? -1);
          }
        }),
        { numRuns: 250 },
      );
    });
  }

  it('zlib: a real MNIST-shaped file, damaged, through maybeGunzip as loadMnist uses it', async () => {
    const gz = gzipSync(fixtureFiles(4, 3).trainImages);
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (mutations) => {
        const bytes = mutate(gz, mutations);
        try {
          parseIdx(await maybeGunzip(bytes, FILE, (b) => gunzipIdx(b, FILE)), { file: FILE });
        } catch (error) {
          expectDatasetError(error, FILE);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('mnistFromBuffers: damaged files end in DatasetError naming that file, or a valid dataset', () => {
  const base = fixtureFiles(4, 3);
  it('one of the four files damaged', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...MNIST_FILE_KEYS),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        async (key, mutations) => {
          const files = Object.fromEntries(
            MNIST_FILE_KEYS.map((k) => [
              k,
              { name: k, bytes: k === key ? mutate(base[k], mutations, true) : base[k] },
            ]),
          ) as Record<MnistFileKey, { name: string; bytes: Uint8Array }>;
          try {
            const mnist = await mnistFromBuffers(files, { verifyChecksums: false });
            expect(mnist.train.labels.length).toBe(mnist.train.count);
            expect(mnist.train.images.length).toBe(mnist.train.count * 784);
          } catch (error) {
            if (!(error instanceof DatasetError)) throw error;
            // A count mismatch is reported on the labels file, naming the images file in the message.
            expect([key, key.replace('Images', 'Labels')]).toContain(error.file);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
