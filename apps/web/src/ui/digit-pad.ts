import { inkFromRgba, MNIST_SIZE, toMnist } from '../preprocess';

/**
 * A canvas to draw a digit on with a mouse, pen or finger: white ink on black, like MNIST. `onDrawn` receives
 * the preprocessed 28×28 pixels after every stroke.
 */
export class DigitPad {
  private readonly ctx: CanvasRenderingContext2D;
  private drawing = false;
  private last: { x: number; y: number } | undefined;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly preview: HTMLCanvasElement,
    private readonly onDrawn: (pixels: Uint8Array) => void,
  ) {
    this.ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    this.clear();
    canvas.addEventListener('pointerdown', (e) => this.down(e));
    canvas.addEventListener('pointermove', (e) => this.move(e));
    canvas.addEventListener('pointerup', (e) => this.up(e));
    canvas.addEventListener('pointercancel', (e) => this.up(e));
  }

  clear(): void {
    this.ctx.fillStyle = '#000';
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    const p = this.preview.getContext('2d')!;
    p.fillStyle = '#000';
    p.fillRect(0, 0, this.preview.width, this.preview.height);
  }

  /** Shows a 28×28 image (an MNIST test digit) on the pad, scaled up, and returns it as the pad's pixels. */
  show(pixels: Uint8Array): void {
    const img = new ImageData(MNIST_SIZE, MNIST_SIZE);
    for (let i = 0; i < pixels.length; i++) {
      img.data.set([pixels[i]!, pixels[i]!, pixels[i]!, 255], 4 * i);
    }
    const tmp = new OffscreenCanvas(MNIST_SIZE, MNIST_SIZE);
    tmp.getContext('2d')!.putImageData(img, 0, 0);
    this.clear();
    this.ctx.imageSmoothingEnabled = false;
    this.ctx.drawImage(tmp, 0, 0, this.canvas.width, this.canvas.height);
    this.showPreview(pixels);
  }

  private point(e: PointerEvent): { x: number; y: number } {
    const rect = this.canvas.getBoundingClientRect();
    return {
      x: ((e.clientX - rect.left) / rect.width) * this.canvas.width,
      y: ((e.clientY - rect.top) / rect.height) * this.canvas.height,
    };
  }

  private down(e: PointerEvent): void {
    e.preventDefault();
    this.canvas.setPointerCapture(e.pointerId);
    this.drawing = true;
    this.last = this.point(e);
    this.stroke(this.last, this.last);
  }

  private move(e: PointerEvent): void {
    if (!this.drawing) return;
    const p = this.point(e);
    this.stroke(this.last ?? p, p);
    this.last = p;
  }

  private up(e: PointerEvent): void {
    if (!this.drawing) return;
    this.drawing = false;
    this.last = undefined;
    if (this.canvas.hasPointerCapture(e.pointerId)) this.canvas.releasePointerCapture(e.pointerId);
    const { width, height } = this.canvas;
    const pixels = toMnist(inkFromRgba(this.ctx.getImageData(0, 0, width, height).data), width, height);
    if (pixels == null) return;
    this.showPreview(pixels);
    this.onDrawn(pixels);
  }

  private stroke(from: { x: number; y: number }, to: { x: number; y: number }): void {
    const c = this.ctx;
    c.strokeStyle = '#fff';
    c.lineWidth = this.canvas.width / 14;
    c.lineCap = 'round';
    c.lineJoin = 'round';
    c.beginPath();
    c.moveTo(from.x, from.y);
    c.lineTo(to.x, to.y);
    c.stroke();
  }

  private showPreview(pixels: Uint8Array): void {
    const p = this.preview.getContext('2d')!;
    const img = p.createImageData(MNIST_SIZE, MNIST_SIZE);
    for (let i = 0; i < pixels.length; i++) img.data.set([pixels[i]!, pixels[i]!, pixels[i]!, 255], 4 * i);
    p.putImageData(img, 0, 0);
  }
}
