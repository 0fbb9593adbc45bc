/**
 * A small dependency-free MD5 (RFC 1321), used to check the canonical MNIST files where no platform digest is
 * available (WebCrypto has no MD5). MD5 is used only to recognise files, not for security.
 */

// Per-round shift amounts and the sine-derived constants K[i] = floor(abs(sin(i + 1)) * 2^32).
const S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
const K = new Int32Array(64);
for (let i = 0; i < 64; i++) K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 0x100000000) | 0;

function compress(state: Int32Array, words: Int32Array): void {
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;
  for (let i = 0; i < 64; i++) {
    let f: number;
    let g: number;
    const round = i >> 4;
    if (round === 0) {
      f = (b & c) | (~b & d);
      g = i;
    } else if (round === 1) {
      f = (d & b) | (~d & c);
      g = (5 * i + 1) & 15;
    } else if (round === 2) {
      f = b ^ c ^ d;
      g = (3 * i + 5) & 15;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) & 15;
    }
    const s = S[(round << 2) | (i & 3)]!;
    const x = (a + f + K[i]! + words[g]!) | 0;
    a = d;
    d = c;
    c = b;
    b = (b + ((x << s) | (x >>> (32 - s)))) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
}

function loadBlock(words: Int32Array, bytes: Uint8Array, offset: number): void {
  for (let j = 0; j < 16; j++) {
    const o = offset + 4 * j;
    words[j] = bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24);
  }
}

/** MD5 of `bytes` as 32 lowercase hex digits. */
export function md5(bytes: Uint8Array): string {
  const state = Int32Array.of(0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476);
  const words = new Int32Array(16);
  const length = bytes.length;
  const full = length - (length % 64);
  for (let offset = 0; offset < full; offset += 64) {
    loadBlock(words, bytes, offset);
    compress(state, words);
  }
  // Tail: remaining bytes, 0x80, zero padding, then the bit length as a 64-bit little-endian integer.
  const tail = new Uint8Array(length % 64 < 56 ? 64 : 128);
  tail.set(bytes.subarray(full));
  tail[length % 64] = 0x80;
  const bitLength = length * 8;
  const view = new DataView(tail.buffer);
  view.setUint32(tail.length - 8, bitLength >>> 0, true);
  view.setUint32(tail.length - 4, Math.floor(bitLength / 0x100000000), true);
  for (let offset = 0; offset < tail.length; offset += 64) {
    loadBlock(words, tail, offset);
    compress(state, words);
  }
  let hex = '';
  for (let i = 0; i < 4; i++) {
    const v = state[i]!;
    for (let j = 0; j < 4; j++) hex += ((v >>> (8 * j)) & 0xff).toString(16).padStart(2, '0');
  }
  return hex;
}
