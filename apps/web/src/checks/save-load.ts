// Save → load → fit with the optimizer state, as a TF.js user does it in the browser: tfjs-layers saving to
// IndexedDB, on the wasm backend, for every optimizer of ours. Each must continue bit-identically.
import { createOptimizer } from '@gradsign/optim-core';
import { layersRoundTrip } from '@gradsign/optim-testkit/layers';
import * as tf from '@tensorflow/tfjs-core';
import '../optimizers';

export interface SaveLoadReport {
  readonly optimizer: string;
  readonly className: string;
  readonly backend: string;
  readonly store: string;
  /** Elements of the final weights that differ from an uninterrupted run (0: bit-identical). */
  readonly differing: number;
  readonly elements: number;
  /** The loaded model's variables had other names than the saved ones (TF.js renamed them). */
  readonly renamed: boolean;
}

/** The optimizers checked, with the config each is created with. */
export const SAVE_LOAD_CASES: readonly { label: string; name: string; config: Record<string, unknown> }[] = [
  { label: 'GradSign', name: 'gradsign', config: { learningRate: 0.01, seed: 3 } },
  { label: 'Adam', name: 'adam', config: { learningRate: 0.01 } },
  { label: 'AdamW', name: 'adamw', config: { learningRate: 0.01 } },
  { label: 'SGD momentum', name: 'sgd', config: { learningRate: 0.01, momentum: 0.9 } },
  { label: 'SGD Nesterov', name: 'sgd', config: { learningRate: 0.01, momentum: 0.9, nesterov: true } },
  { label: 'Lion', name: 'lion', config: { learningRate: 0.001 } },
  { label: 'Adam8bit', name: 'adam8bit', config: { learningRate: 0.01, minQuantizedSize: 8 } },
];

/** Runs every case on `backend`, saving to and loading from IndexedDB. */
export async function saveLoadCheck(backend: string): Promise<SaveLoadReport[]> {
  await tf.setBackend(backend);
  const reports: SaveLoadReport[] = [];
  for (const c of SAVE_LOAD_CASES) {
    const url = `indexeddb://gradsign-check-${c.label.replace(/\W+/g, '-').toLowerCase()}`;
    const result = await layersRoundTrip(() => createOptimizer(c.name, c.config), {
      store: { save: url, load: url },
    });
    await tf.io.removeModel(url);
    let differing = 0;
    let elements = 0;
    result.resumed.forEach((w, i) => {
      const u = new Uint32Array(result.uninterrupted[i]!.buffer);
      const r = new Uint32Array(w.buffer);
      elements += r.length;
      for (let k = 0; k < r.length; k++) if (r[k] !== u[k]) differing++;
    });
    reports.push({
      optimizer: c.label,
      className: result.savedClassName,
      backend,
      store: 'IndexedDB',
      differing,
      elements,
      renamed: result.loadedNames.some((n, i) => n !== result.savedNames[i]),
    });
  }
  return reports;
}
