// The digit pad: draw a digit or take an MNIST test image, and see what the trained model makes of it.
import { DigitPad } from '../ui/digit-pad';
import { percent } from './view';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

export class DigitPanel {
  private readonly pad: DigitPad;

  /**
   * `predict` asks the worker for the model's probabilities, or returns false when no model is trained yet;
   * `sample` asks it for MNIST test image `index`.
   */
  constructor(
    private readonly predict: (pixels: Uint8Array) => boolean,
    sample: (index: number) => void,
  ) {
    this.pad = new DigitPad(
      $<HTMLCanvasElement>('digit-canvas'),
      $<HTMLCanvasElement>('digit-preview'),
      (pixels) => this.ask(pixels),
    );
    $('clear-digit').addEventListener('click', () => {
      this.pad.clear();
      $('prediction').textContent = '–';
      $('probabilities').replaceChildren();
      $('sample-label').textContent = '';
    });
    $('sample-digit').addEventListener('click', () => sample(Math.floor(Math.random() * 10000)));
  }

  private ask(pixels: Uint8Array): void {
    if (!this.predict(pixels)) $('prediction').textContent = 'train a model first';
  }

  /** An MNIST test image from the worker: drawn on the pad, then classified. */
  showSample(index: number, label: number, pixels: Uint8Array): void {
    this.pad.show(pixels);
    $('sample-label').textContent = `MNIST test image ${index}, labelled ${label}.`;
    this.ask(pixels);
  }

  showPrediction(probabilities: number[]): void {
    let best = 0;
    for (let k = 1; k < probabilities.length; k++) if (probabilities[k]! > probabilities[best]!) best = k;
    $('prediction').textContent = `${best} (${percent(probabilities[best]!)})`;
    $('probabilities').replaceChildren(
      ...probabilities.map((p, k) => {
        const li = document.createElement('li');
        li.className = k === best ? 'best' : '';
        li.innerHTML = `<span class="digit">${k}</span><span class="bar"><span style="width:${(p * 100).toFixed(1)}%"></span></span><span class="p">${percent(p)}</span>`;
        return li;
      }),
    );
  }
}
