// Turns a drawing into an MNIST-style image: 28×28 grayscale, white on black, the digit scaled to fit a 20×20 box
// (aspect ratio kept) and shifted so that its centre of mass sits at the centre of the field, as LeCun et al.
// prepared MNIST.

export const MNIST_SIZE = 28;
const BOX = 20;

/**
 * `ink` holds `width × height` intensities in 0…1 (1 = ink), row by row. Returns the 784 pixels 0–255, or null
 * when nothing is drawn.
 */
export function toMnist(
  ink: ArrayLike<number>,
  width: number,
  height: number,
  threshold = 0.05,
): Uint8Array | null {
  if (ink.length !== width * height)
    throw new RangeError(`expected ${width * height} values, got ${ink.length}`);
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (ink[y * width + x]! > threshold) {
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
    }
  }
  if (x1 < 0) return null;
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const scale = BOX / Math.max(bw, bh);
  const tw = Math.max(1, Math.round(bw * scale));
  const th = Math.max(1, Math.round(bh * scale));
  const small = resampleArea(ink, width, x0, y0, bw, bh, tw, th);

  let mass = 0;
  let mx = 0;
  let my = 0;
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      const v = small[y * tw + x]!;
      mass += v;
      mx += v * (x + 0.5);
      my += v * (y + 0.5);
    }
  }
  // Place the box so that the centre of mass lands on the field's centre (14, 14), in whole pixels.
  const ox = Math.round(MNIST_SIZE / 2 - mx / mass);
  const oy = Math.round(MNIST_SIZE / 2 - my / mass);
  const out = new Uint8Array(MNIST_SIZE * MNIST_SIZE);
  for (let y = 0; y < th; y++) {
    const ty = y + oy;
    if (ty < 0 || ty >= MNIST_SIZE) continue;
    for (let x = 0; x < tw; x++) {
      const tx = x + ox;
      if (tx < 0 || tx >= MNIST_SIZE) continue;
      out[ty * MNIST_SIZE + tx] = Math.round(Math.min(1, Math.max(0, small[y * tw + x]!)) * 255);
    }
  }
  return out;
}

/** Area-averaging resample of the `bw × bh` region at (x0, y0) of a `width`-wide image to `tw × th`. */
function resampleArea(
  src: ArrayLike<number>,
  width: number,
  x0: number,
  y0: number,
  bw: number,
  bh: number,
  tw: number,
  th: number,
): Float64Array {
  const out = new Float64Array(tw * th);
  const sx = bw / tw;
  const sy = bh / th;
  for (let ty = 0; ty < th; ty++) {
    const ya = ty * sy;
    const yb = ya + sy;
    for (let tx = 0; tx < tw; tx++) {
      const xa = tx * sx;
      const xb = xa + sx;
      let sum = 0;
      for (let y = Math.floor(ya); y < Math.ceil(yb); y++) {
        const wy = Math.min(yb, y + 1) - Math.max(ya, y);
        for (let x = Math.floor(xa); x < Math.ceil(xb); x++) {
          const wx = Math.min(xb, x + 1) - Math.max(xa, x);
          sum += wx * wy * src[(y0 + y) * width + x0 + x]!;
        }
      }
      out[ty * tw + tx] = sum / (sx * sy);
    }
  }
  return out;
}

/** Ink intensities (0…1) from RGBA canvas pixels drawn white on black: the brightest channel. */
export function inkFromRgba(rgba: Uint8ClampedArray): Float32Array {
  const ink = new Float32Array(rgba.length / 4);
  for (let i = 0; i < ink.length; i++) {
    ink[i] = Math.max(rgba[4 * i]!, rgba[4 * i + 1]!, rgba[4 * i + 2]!) / 255;
  }
  return ink;
}
