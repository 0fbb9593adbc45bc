import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DatasetError, encodeIdx, IDX_TYPES, type IdxType, idxMagic, parseIdx } from '../src/core.js';

const TYPES = Object.keys(IDX_TYPES) as IdxType[];

function expectDatasetError(fn: () => unknown, code: string, ...fragments: string[]): DatasetError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(DatasetError);
  const error = caught as DatasetError;
  expect(error.code).toBe(code);
  for (const fragment of fragments) expect(error.message).toContain(fragment);
  return error;
}

describe('parseIdx / encodeIdx examples', () => {
  it('writes big-endian headers and data', () => {
    const bytes = encodeIdx({ dims: [1], data: Int32Array.of(0x01020304) });
    expect(Array.from(bytes)).toEqual([0, 0, 0x0c, 1, 0, 0, 0, 1, 1, 2, 3, 4]);
    const shorts = encodeIdx({ dims: [2], data: Int16Array.of(-2, 258) });
    expect(Array.from(shorts)).toEqual([0, 0, 0x0b, 1, 0, 0, 0, 2, 0xff, 0xfe, 1, 2]);
    expect(parseIdx(shorts)).toEqual({ type: 'short', dims: [2], data: Int16Array.of(-2, 258) });
  });

  it('uses the MNIST magic numbers', () => {
    expect(idxMagic('ubyte', 3)).toBe(2051);
    expect(idxMagic('ubyte', 1)).toBe(2049);
    const labels = encodeIdx({ dims: [3], data: Uint8Array.of(1, 2, 3) });
    expect(new DataView(labels.buffer).getUint32(0, false)).toBe(2049);
  });

  it('decodes every element type with the right typed array', () => {
    const cases: Array<[IdxType, ArrayLike<number>, unknown]> = [
      ['ubyte', [0, 255, 7], Uint8Array],
      ['sbyte', [-128, 127, -1], Int8Array],
      ['short', [-32768, 32767, 5], Int16Array],
      ['int', [-2147483648, 2147483647, 9], Int32Array],
      ['float', [1.5, -0, Number.POSITIVE_INFINITY], Float32Array],
      ['double', [Math.PI, -1e300, 5e-324], Float64Array],
    ];
    for (const [type, values, ctor] of cases) {
      const parsed = parseIdx(encodeIdx({ type, dims: [3], data: values }));
      expect(parsed.type).toBe(type);
      expect(parsed.data).toBeInstanceOf(ctor);
      expect(Array.from(parsed.data)).toEqual(Array.from(values));
    }
  });

  it('handles rank 0 (one element) and the maximum rank 255', () => {
    expect(parseIdx(encodeIdx({ type: 'double', dims: [], data: [2.5] }))).toEqual({
      type: 'double',
      dims: [],
      data: Float64Array.of(2.5),
    });
    const dims = new Array<number>(255).fill(1);
    dims[254] = 2;
    const parsed = parseIdx(encodeIdx({ type: 'sbyte', dims, data: [-3, 4] }));
    expect(parsed.dims).toEqual(dims);
    expect(Array.from(parsed.data)).toEqual([-3, 4]);
  });

  it('reads ubyte and sbyte zero-copy, from a view with an offset', () => {
    const encoded = encodeIdx({ dims: [2, 2], data: Uint8Array.of(1, 2, 3, 4) });
    const backing = new Uint8Array(encoded.length + 5);
    backing.set(encoded, 5);
    const view = backing.subarray(5);
    const parsed = parseIdx(view);
    expect(parsed.data.buffer).toBe(backing.buffer);
    expect(Array.from(parsed.data)).toEqual([1, 2, 3, 4]);
    backing[backing.length - 1] = 99;
    expect(parsed.data[3]).toBe(99);

    const signed = parseIdx(encodeIdx({ dims: [2], data: Int8Array.of(-1, 1) }));
    expect(signed.data).toBeInstanceOf(Int8Array);
    expect(Array.from(signed.data)).toEqual([-1, 1]);
  });

  it('accepts an ArrayBuffer', () => {
    const encoded = encodeIdx({ dims: [2], data: Float32Array.of(0.25, -8) });
    expect(Array.from(parseIdx(encoded.buffer as ArrayBuffer).data)).toEqual([0.25, -8]);
  });
});

describe('parseIdx rejects bad input with the file name and the problem', () => {
  const file = 'fixture-idx';
  const good = encodeIdx({ dims: [2, 3], data: Uint8Array.of(1, 2, 3, 4, 5, 6) });

  it('too short for a magic', () => {
    expectDatasetError(() => parseIdx(good.subarray(0, 3), { file }), 'TRUNCATED', 'fixture-idx: truncated');
  });

  it('wrong magic: non-zero leading bytes or an unknown type byte', () => {
    const bad = good.slice();
    bad[0] = 0x1f;
    expectDatasetError(() => parseIdx(bad, { file }), 'BAD_MAGIC', 'fixture-idx:', 'not an IDX file');
    const unknown = good.slice();
    unknown[2] = 0x0a;
    expectDatasetError(() => parseIdx(unknown, { file }), 'BAD_MAGIC', 'fixture-idx:', '0x00000a02');
  });

  it('header shorter than the rank needs', () => {
    expectDatasetError(() => parseIdx(good.subarray(0, 10), { file }), 'TRUNCATED', 'header', '12 bytes');
  });

  it('data shorter than the header says', () => {
    const error = expectDatasetError(
      () => parseIdx(good.subarray(0, good.length - 1), { file }),
      'TRUNCATED',
      'fixture-idx: truncated: header says 2×3 ubyte (6 data bytes) but 5 data bytes follow',
    );
    expect(error.file).toBe('fixture-idx');
  });

  it('data longer than the header says', () => {
    const long = new Uint8Array(good.length + 2);
    long.set(good);
    expectDatasetError(() => parseIdx(long, { file }), 'TRAILING_DATA', '8 data bytes follow');
  });

  it('absurd dimensions are caught as truncation, not allocated', () => {
    const header = new Uint8Array(16);
    const view = new DataView(header.buffer);
    view.setUint32(0, idxMagic('double', 3), false);
    for (let i = 0; i < 3; i++) view.setUint32(4 + 4 * i, 0xffffffff, false);
    expectDatasetError(() => parseIdx(header, { file }), 'TRUNCATED', '4294967295×4294967295×4294967295');
    // With an empty dimension the file is empty whatever the others say.
    view.setUint32(8, 0, false);
    expect(parseIdx(header, { file }).data.length).toBe(0);
  });
});

describe('encodeIdx validates its input', () => {
  it('rejects a data length that does not match the dims', () => {
    expectDatasetError(
      () => encodeIdx({ dims: [2, 2], data: Uint8Array.of(1, 2, 3) }),
      'BAD_DATA',
      '4 elements',
    );
  });
  it('rejects bad dims and untyped data without a type', () => {
    expectDatasetError(
      () => encodeIdx({ dims: [-1], data: [] as number[], type: 'int' }),
      'BAD_DATA',
      'dimension',
    );
    expectDatasetError(() => encodeIdx({ dims: [1], data: [1] }), 'BAD_DATA', 'no IDX type');
  });
});

/** An arbitrary IDX value set: type, dims (rank 0–4, at most ~200 elements) and matching data. */
const idxArbitrary = fc
  .record({
    type: fc.constantFrom(...TYPES),
    dims: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 0, maxLength: 4 }),
  })
  .chain(({ type, dims }) => {
    const count = dims.reduce((a, b) => a * b, 1);
    const element: fc.Arbitrary<number> = {
      ubyte: fc.integer({ min: 0, max: 255 }),
      sbyte: fc.integer({ min: -128, max: 127 }),
      short: fc.integer({ min: -32768, max: 32767 }),
      int: fc.integer({ min: -2147483648, max: 2147483647 }),
      float: fc.float(),
      double: fc.double(),
    }[type];
    return fc.record({
      type: fc.constant(type),
      dims: fc.constant(dims),
      data: fc.array(element, { minLength: count, maxLength: count }),
    });
  });

describe('properties', () => {
  it('encode → parse round-trips every type and rank exactly', () => {
    fc.assert(
      fc.property(idxArbitrary, ({ type, dims, data }) => {
        const parsed = parseIdx(encodeIdx({ type, dims, data }));
        expect(parsed.type).toBe(type);
        expect(parsed.dims).toEqual(dims);
        expect(parsed.data.length).toBe(data.length);
        for (let i = 0; i < data.length; i++) expect(Object.is(parsed.data[i], data[i])).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  /** Parsing either succeeds with a consistent result or throws DatasetError; anything else fails the property. */
  function parsesOrRejects(bytes: Uint8Array): void {
    try {
      const parsed = parseIdx(bytes, { file: 'mutated' });
      const count = parsed.dims.includes(0) ? 0 : parsed.dims.reduce((a, b) => a * b, 1);
      expect(parsed.data.length).toBe(count);
      expect(4 + 4 * parsed.dims.length + count * IDX_TYPES[parsed.type].size).toBe(bytes.length);
    } catch (error) {
      if (!(error instanceof DatasetError)) throw error;
      expect(error.message.startsWith('mutated: ')).toBe(true);
    }
  }

  it('truncation and header byte flips end in DatasetError or a consistent parse', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({
        kind: fc.constant('flip' as const),
        at: fc.nat(),
        value: fc.integer({ min: 0, max: 255 }),
      }),
      fc.record({ kind: fc.constant('append' as const), extra: fc.uint8Array({ maxLength: 9 }) }),
    );
    fc.assert(
      fc.property(idxArbitrary, fc.array(mutation, { minLength: 1, maxLength: 4 }), (input, mutations) => {
        let bytes = encodeIdx(input);
        const headerLength = 4 + 4 * input.dims.length;
        for (const m of mutations) {
          if (m.kind === 'truncate') bytes = bytes.slice(0, m.at % (bytes.length + 1));
          else if (m.kind === 'flip' && bytes.length > 0) {
            bytes = bytes.slice();
            bytes[m.at % Math.min(bytes.length, headerLength)] = m.value;
          } else if (m.kind === 'append') {
            const longer = new Uint8Array(bytes.length + m.extra.length);
            longer.set(bytes);
            longer.set(m.extra, bytes.length);
            bytes = longer;
          }
        }
        parsesOrRejects(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it('random bytes end in DatasetError or a consistent parse', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), parsesOrRejects), { numRuns: 500 });
  });
});
