import { describe, expect, it } from 'vitest';
import { inkFromRgba, MNIST_SIZE, toMnist } from '../src/preprocess';

/** A w×h canvas of zeros with the rectangle [x0, x1) × [y0, y1) inked. */
function canvas(w: number, h: number, x0: number, y0: number, x1: number, y1: number): Float32Array {
  const ink = new Float32Array(w * h);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) ink[y * w + x] = 1;
  return ink;
}

function bbox(img: Uint8Array) {
  let x0 = MNIST_SIZE;
  let y0 = MNIST_SIZE;
  let x1 = -1;
  let y1 = -1;
  let mass = 0;
  let mx = 0;
  let my = 0;
  for (let y = 0; y < MNIST_SIZE; y++) {
    for (let x = 0; x < MNIST_SIZE; x++) {
      const v = img[y * MNIST_SIZE + x]!;
      if (v === 0) continue;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
      mass += v;
      mx += v * (x + 0.5);
      my += v * (y + 0.5);
    }
  }
  return { w: x1 - x0 + 1, h: y1 - y0 + 1, cx: mx / mass, cy: my / mass };
}

describe('toMnist', () => {
  it('returns null for an empty drawing', () => {
    expect(toMnist(new Float32Array(100 * 100), 100, 100)).toBeNull();
  });

  it('scales the longer side to 20 pixels, keeps the aspect ratio and centres the mass at (14, 14)', () => {
    // A tall bar in a corner of a 280×280 canvas: 40 wide, 200 high.
    const img = toMnist(canvas(280, 280, 10, 30, 50, 230), 280, 280)!;
    expect(img).toHaveLength(784);
    const b = bbox(img);
    expect(b.h).toBe(20);
    expect(b.w).toBe(4);
    expect(Math.abs(b.cx - 14)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(b.cy - 14)).toBeLessThanOrEqual(0.5);
    expect(Math.max(...img)).toBe(255);
  });

  it('averages areas when shrinking, so thin strokes become grey rather than vanishing', () => {
    // A 2-pixel-wide vertical line, 200 high: shrunk tenfold it covers a fifth of a pixel column.
    const img = toMnist(canvas(280, 280, 139, 40, 141, 240), 280, 280)!;
    const inked = [...img].filter((v) => v > 0);
    expect(inked.length).toBeGreaterThanOrEqual(20);
    expect(Math.max(...inked)).toBe(255);
  });

  it('places the digit by its centre of mass, not its box', () => {
    // An L: a long stem and a short heavy foot; the mass sits low and left of the box centre.
    const ink = canvas(200, 200, 20, 20, 40, 180);
    for (let y = 160; y < 180; y++) for (let x = 40; x < 100; x++) ink[y * 200 + x] = 1;
    const b = bbox(toMnist(ink, 200, 200)!);
    expect(Math.abs(b.cx - 14)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(b.cy - 14)).toBeLessThanOrEqual(0.5);
  });

  it('rejects input of the wrong length', () => {
    expect(() => toMnist(new Float32Array(10), 4, 4)).toThrow(RangeError);
  });
});

describe('inkFromRgba', () => {
  it('reads white-on-black pixels as ink 1 and black as 0', () => {
    const rgba = new Uint8ClampedArray([255, 255, 255, 255, 0, 0, 0, 255, 51, 51, 51, 255]);
    expect(Array.from(inkFromRgba(rgba))).toEqual([1, 0, Math.fround(0.2)]);
  });
});
