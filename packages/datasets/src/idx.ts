import { DatasetError } from './errors.js';

/** IDX element types, named as in the IDX format description. */
export type IdxType = 'ubyte' | 'sbyte' | 'short' | 'int' | 'float' | 'double';

/** The typed array that holds the elements of each IDX type. */
export interface IdxArrayByType {
  ubyte: Uint8Array;
  sbyte: Int8Array;
  short: Int16Array;
  int: Int32Array;
  float: Float32Array;
  double: Float64Array;
}

/** The typed array of any IDX type's elements. */
export type IdxArray = IdxArrayByType[IdxType];

/** A decoded IDX file: element type, dimensions (outermost first) and the elements in row-major order. */
export interface IdxData<T extends IdxType = IdxType> {
  readonly type: T;
  readonly dims: readonly number[];
  readonly data: IdxArrayByType[T];
}

interface TypeInfo {
  readonly code: number;
  readonly size: number;
}

/** Type byte (third byte of the magic) and element size of each IDX type. */
export const IDX_TYPES: Readonly<Record<IdxType, TypeInfo>> = {
  ubyte: { code: 0x08, size: 1 },
  sbyte: { code: 0x09, size: 1 },
  short: { code: 0x0b, size: 2 },
  int: { code: 0x0c, size: 4 },
  float: { code: 0x0d, size: 4 },
  double: { code: 0x0e, size: 8 },
};

const TYPE_BY_CODE = new Map<number, IdxType>(
  (Object.keys(IDX_TYPES) as IdxType[]).map((type) => [IDX_TYPES[type].code, type]),
);

const MAX_DIM = 0xffffffff;

/** The 32-bit magic number of an IDX file with the given type and rank (e.g. 2051 for ubyte rank 3). */
export function idxMagic(type: IdxType, rank: number): number {
  return IDX_TYPES[type].code * 256 + rank;
}

/** Describes a magic number for messages, e.g. `2051 (ubyte, rank 3)`. */
export function describeMagic(magic: number): string {
  const type = TYPE_BY_CODE.get((magic >>> 8) & 0xff);
  const hex = `0x${(magic >>> 0).toString(16).padStart(8, '0')}`;
  if (magic >>> 16 !== 0 || type === undefined) return `${hex} (not an IDX magic)`;
  return `${magic} (${type}, rank ${magic & 0xff})`;
}

function toBytes(input: Uint8Array | ArrayBuffer): Uint8Array {
  return input instanceof Uint8Array ? input : new Uint8Array(input);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Options of {@link parseIdx} and {@link encodeIdx}. */
export interface ParseIdxOptions {
  /** Name used in error messages (a file name or URL). */
  readonly file?: string;
}

/** What an IDX header declares. `byteLength` (header plus data) may exceed what any file could hold. */
export interface IdxHeader {
  readonly type: IdxType;
  readonly dims: readonly number[];
  /** Number of elements (0 when a dimension is 0; may be huge or Infinity for absurd headers). */
  readonly count: number;
  readonly headerLength: number;
  readonly byteLength: number;
}

/** Describes what a header declares for messages, e.g. `12×28×28 ubyte (9408 data bytes)`. */
export function describeIdxHeader(header: IdxHeader): string {
  const shape = header.dims.length === 0 ? 'a scalar' : header.dims.join('×');
  return `${shape} ${header.type} (${header.byteLength - header.headerLength} data bytes)`;
}

/**
 * Reads the header at the start of `bytes`; `undefined` when the bytes end before the header does. Throws
 * {@link DatasetError} (`BAD_MAGIC`) as soon as the first four bytes are not an IDX magic. Never allocates more
 * than the dimension list, so it is safe on the first bytes of a stream.
 */
export function readIdxHeader(bytes: Uint8Array, file = '<idx>'): IdxHeader | undefined {
  if (bytes.length < 4) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = TYPE_BY_CODE.get(bytes[2]!);
  if (bytes[0] !== 0 || bytes[1] !== 0 || type === undefined) {
    const magic = describeMagic(view.getUint32(0, false));
    throw new DatasetError('BAD_MAGIC', file, `bad magic ${magic}: this is not an IDX file`);
  }
  const rank = bytes[3]!;
  const headerLength = 4 + 4 * rank;
  if (bytes.length < headerLength) return undefined;
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  // An empty dimension makes the data empty whatever the other sizes; otherwise a huge product becomes Infinity,
  // which no file length can match.
  const count = dims.includes(0) ? 0 : dims.reduce((a, b) => a * b, 1);
  return { type, dims, count, headerLength, byteLength: headerLength + count * IDX_TYPES[type].size };
}

/**
 * Decodes an IDX file (big-endian header and data).
 *
 * Validates the magic (two zero bytes, a known type byte, the rank), that the header is complete and that the byte
 * length is exactly what the header announces. `ubyte` and `sbyte` data are views on the input (zero-copy); wider
 * types are decoded into a new array in host order. Throws {@link DatasetError} on any problem.
 */
export function parseIdx(input: Uint8Array | ArrayBuffer, options: ParseIdxOptions = {}): IdxData {
  const file = options.file ?? '<idx>';
  const bytes = toBytes(input);
  if (bytes.length === 0) throw new DatasetError('EMPTY', file, 'is empty (0 bytes)');
  if (bytes.length < 4) {
    throw new DatasetError(
      'TRUNCATED',
      file,
      `truncated: ${plural(bytes.length, 'byte')}, too short for an IDX magic number`,
    );
  }
  const header = readIdxHeader(bytes, file);
  if (header === undefined) {
    const needed = 4 + 4 * bytes[3]!;
    throw new DatasetError(
      'TRUNCATED',
      file,
      `truncated: the header of a rank-${bytes[3]} IDX file needs ${needed} bytes, the file has ${bytes.length}`,
    );
  }
  const { type, dims, count, headerLength } = header;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const expected = header.byteLength - headerLength;
  const actual = bytes.length - headerLength;
  if (actual !== expected) {
    const what = `header says ${describeIdxHeader(header)} but ${plural(actual, 'data byte')} follow`;
    if (actual < expected) throw new DatasetError('TRUNCATED', file, `truncated: ${what}`);
    throw new DatasetError('TRAILING_DATA', file, `length mismatch: ${what}`);
  }
  const offset = bytes.byteOffset + headerLength;
  switch (type) {
    case 'ubyte':
      return { type, dims, data: new Uint8Array(bytes.buffer, offset, count) };
    case 'sbyte':
      return { type, dims, data: new Int8Array(bytes.buffer, offset, count) };
    case 'short': {
      const data = new Int16Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt16(headerLength + 2 * i, false);
      return { type, dims, data };
    }
    case 'int': {
      const data = new Int32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt32(headerLength + 4 * i, false);
      return { type, dims, data };
    }
    case 'float': {
      const data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(headerLength + 4 * i, false);
      return { type, dims, data };
    }
    case 'double': {
      const data = new Float64Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat64(headerLength + 8 * i, false);
      return { type, dims, data };
    }
  }
}

/** Input of {@link encodeIdx}. `type` defaults to the type matching the typed array of `data`. */
export interface EncodeIdxInput {
  readonly type?: IdxType;
  readonly dims: readonly number[];
  readonly data: ArrayLike<number>;
}

function typeOfArray(data: ArrayLike<number>): IdxType | undefined {
  if (data instanceof Uint8Array || data instanceof Uint8ClampedArray) return 'ubyte';
  if (data instanceof Int8Array) return 'sbyte';
  if (data instanceof Int16Array) return 'short';
  if (data instanceof Int32Array) return 'int';
  if (data instanceof Float32Array) return 'float';
  if (data instanceof Float64Array) return 'double';
  return undefined;
}

/**
 * Encodes data as an IDX file (big-endian). Values are stored as the IDX type would store them: integer types
 * wrap like the matching typed array, `float` rounds to float32. Throws {@link DatasetError} (`BAD_DATA`) when the
 * dimensions are invalid or do not match the number of elements.
 */
export function encodeIdx(input: EncodeIdxInput, options: ParseIdxOptions = {}): Uint8Array {
  const file = options.file ?? '<idx>';
  const { dims, data } = input;
  const type = input.type ?? typeOfArray(data);
  if (type === undefined || !(type in IDX_TYPES)) {
    throw new DatasetError(
      'BAD_DATA',
      file,
      'cannot encode: no IDX type given and the data is not a typed array',
    );
  }
  if (dims.length > 255) {
    throw new DatasetError(
      'BAD_DATA',
      file,
      `cannot encode: rank ${dims.length} exceeds the IDX maximum of 255`,
    );
  }
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0 || d > MAX_DIM) {
      throw new DatasetError(
        'BAD_DATA',
        file,
        `cannot encode: dimension ${d} is not an integer in 0..${MAX_DIM}`,
      );
    }
  }
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new DatasetError(
      'BAD_DATA',
      file,
      `cannot encode: dims ${dims.join('×') || '(scalar)'} hold ${count} elements but data has ${data.length}`,
    );
  }
  const { code, size } = IDX_TYPES[type];
  const headerLength = 4 + 4 * dims.length;
  const out = new Uint8Array(headerLength + count * size);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = dims.length;
  dims.forEach((d, i) => {
    view.setUint32(4 + 4 * i, d, false);
  });
  switch (type) {
    case 'ubyte':
      out.set(data instanceof Uint8Array ? data : Uint8Array.from(data), headerLength);
      break;
    case 'sbyte':
      for (let i = 0; i < count; i++) view.setInt8(headerLength + i, data[i]!);
      break;
    case 'short':
      for (let i = 0; i < count; i++) view.setInt16(headerLength + 2 * i, data[i]!, false);
      break;
    case 'int':
      for (let i = 0; i < count; i++) view.setInt32(headerLength + 4 * i, data[i]!, false);
      break;
    case 'float':
      for (let i = 0; i < count; i++) view.setFloat32(headerLength + 4 * i, data[i]!, false);
      break;
    case 'double':
      for (let i = 0; i < count; i++) view.setFloat64(headerLength + 8 * i, data[i]!, false);
      break;
  }
  return out;
}
