// Bounded decompression of IDX files: platform-free, fed chunk by chunk by zlib (Node) or DecompressionStream.
import { DatasetError } from './errors.js';
import { describeIdxHeader, type IdxHeader, readIdxHeader } from './idx.js';

/**
 * Deflate never expands more than 1032:1 (a 258-byte match costs at least two bits), so gzip data of `n` bytes
 * cannot decode to more than about `1032 n` bytes; a header that declares more describes a truncated file.
 */
export const MAX_DEFLATE_RATIO = 1032;

/** The most bytes that `compressedLength` bytes of gzip can decode to (with room for a tiny stored header). */
export function maxInflatedLength(compressedLength: number): number {
  return compressedLength * MAX_DEFLATE_RATIO + 1024;
}

/** The longest IDX header: magic plus 255 dimensions. */
const MAX_HEADER = 4 + 4 * 255;

/**
 * Collects the decoded bytes of one IDX file and refuses to hold more than its header declares. The output is
 * allocated once, from the header, as soon as the header is complete; a chunk that would go past it stops the
 * decoding with `TRAILING_DATA`. Peak memory is the declared size plus one chunk, whatever the stream holds.
 */
export class IdxInflateSink {
  private readonly pending: Uint8Array[] = [];
  private pendingLength = 0;
  private header: IdxHeader | undefined;
  private out: Uint8Array | undefined;
  private written = 0;

  /**
   * @param file name used in errors
   * @param limit the most bytes the compressed input could decode to (see {@link maxInflatedLength})
   * @param describeLimit the reason for `limit`, for messages
   */
  constructor(
    private readonly file: string,
    private readonly limit: number,
    private readonly describeLimit: string,
  ) {}

  /** Bytes allocated for the output so far (0 until the header is complete). */
  get allocated(): number {
    return this.out?.length ?? 0;
  }

  /** Adds decoded bytes; throws {@link DatasetError} once the data cannot be a valid IDX file of this header. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.out) {
      this.write(chunk);
      return;
    }
    this.pending.push(chunk);
    this.pendingLength += chunk.length;
    const head = concat(this.pending, Math.min(this.pendingLength, MAX_HEADER));
    this.header = readIdxHeader(head, this.file);
    if (this.header === undefined) return;
    this.out = this.allocate(this.header);
    const pending = this.pending.splice(0);
    for (const part of pending) this.write(part);
  }

  /** The decoded bytes (a view on the one allocation); parse them with `parseIdx` for the exact verdict. */
  finish(): Uint8Array {
    if (this.out) return this.out.subarray(0, this.written);
    return concat(this.pending, this.pendingLength); // at most a partial header: parseIdx reports it
  }

  private allocate(header: IdxHeader): Uint8Array {
    if (header.byteLength > this.limit) {
      throw new DatasetError(
        'TRUNCATED',
        this.file,
        `truncated: header says ${describeIdxHeader(header)}, more than ${this.describeLimit} can hold ` +
          `(at most ${this.limit} bytes)`,
      );
    }
    try {
      return new Uint8Array(header.byteLength);
    } catch (cause) {
      throw new DatasetError(
        'READ_FAILED',
        this.file,
        `cannot allocate the ${header.byteLength} bytes its header declares (${String(cause)})`,
        { cause },
      );
    }
  }

  private write(chunk: Uint8Array): void {
    const out = this.out!;
    if (this.written + chunk.length > out.length) {
      throw new DatasetError(
        'TRAILING_DATA',
        this.file,
        `length mismatch: header says ${describeIdxHeader(this.header!)} but the gzip data decodes to more ` +
          `than its ${out.length} bytes (decoding stopped after ${this.written + chunk.length} bytes)`,
      );
    }
    out.set(chunk, this.written);
    this.written += chunk.length;
  }
}

/** The first `length` bytes of the concatenated parts. */
function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1 && parts[0]!.length >= length) return parts[0]!.subarray(0, length);
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    if (at >= length) break;
    const take = part.subarray(0, length - at);
    out.set(take, at);
    at += take.length;
  }
  return out;
}

/** Wraps a decoder failure (not a {@link DatasetError}) as `BAD_GZIP`. */
export function gzipError(file: string, cause: unknown): DatasetError {
  if (cause instanceof DatasetError) return cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new DatasetError('BAD_GZIP', file, `corrupt gzip data (${reason})`, { cause });
}

/** Creates the sink for `compressedLength` bytes of gzip read from `file`. */
export function idxSinkFor(file: string, compressedLength: number): IdxInflateSink {
  return new IdxInflateSink(
    file,
    maxInflatedLength(compressedLength),
    `${compressedLength} bytes of gzip data`,
  );
}

/** True when `bytes` start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Options of {@link maybeGunzip}. */
export interface MaybeGunzipOptions {
  /**
   * Accept raw IDX under a `.gz` name. Only for HTTP bodies, which `fetch` has already decoded when the server sent
   * `Content-Encoding: gzip`; a `.gz` file on disk must be gzip.
   */
  readonly acceptDecoded?: boolean;
}

/**
 * Decodes `bytes` with `gunzip` when they start with the gzip magic, and passes other bytes through. Empty input is
 * `EMPTY`; a name ending in `.gz` whose bytes are not gzip is `BAD_GZIP` (unless `acceptDecoded` and the bytes look
 * like IDX). A failure of `gunzip` that is not already a {@link DatasetError} becomes `BAD_GZIP`.
 */
export async function maybeGunzip(
  bytes: Uint8Array,
  name: string,
  gunzip: (bytes: Uint8Array) => Promise<Uint8Array>,
  options: MaybeGunzipOptions = {},
): Promise<Uint8Array> {
  if (bytes.length === 0) throw new DatasetError('EMPTY', name, 'is empty (0 bytes)');
  if (isGzip(bytes)) {
    try {
      return await gunzip(bytes);
    } catch (cause) {
      throw gzipError(name, cause);
    }
  }
  if (!name.toLowerCase().endsWith('.gz')) return bytes;
  const looksLikeIdx = bytes.length >= 2 && bytes[0] === 0 && bytes[1] === 0;
  if (looksLikeIdx && options.acceptDecoded) return bytes;
  const head = Array.from(bytes.subarray(0, 2), (b) => b.toString(16).padStart(2, '0')).join(' ');
  const hint = looksLikeIdx ? '; it looks like uncompressed IDX: drop the .gz from its name' : '';
  throw new DatasetError(
    'BAD_GZIP',
    name,
    `is named .gz but is not gzip (expected magic 1f 8b, found ${head})${hint}`,
  );
}
