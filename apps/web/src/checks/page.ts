// The self-check page: gradient parity (webgl vs cpu), the optimizers' golden vectors on webgl, and a
// save/load round trip of every optimizer through IndexedDB on wasm. Small
// tensors are kept on the GPU (WEBGL_CPU_FORWARD off), or tfjs would quietly compute them on the CPU.
import { type BackendCapabilities, selectBackend } from '@gradsign/backends';
import * as tf from '@tensorflow/tfjs-core';
import '../style.css';
import { makeTable } from '../ui/table';
import { wasmPaths } from '../wasm-paths';
import { flushesSubnormals, type GoldenReport, goldenCheck, loadGoldenRuns } from './golden';
import { type GradientComparison, gradientParity } from './parity';
import { type SaveLoadReport, saveLoadCheck } from './save-load';

/** The parity bound: max |webgl − cpu| ≤ 1e-4 · max |cpu|, per gradient tensor. */
export const PARITY_TOLERANCE = 1e-4;

let ready: Promise<BackendCapabilities> | undefined;

/** cpu with tfjs's stock gradients as the reference, then webgl as the app trains on it. */
function setup(): Promise<BackendCapabilities> {
  ready ??= (async () => {
    await selectBackend('cpu', { fixes: false, onLog: () => {} });
    const webgl = await selectBackend(['webgl'], { onLog: () => {} });
    tf.env().set('WEBGL_CPU_FORWARD', false);
    return webgl.capabilities;
  })();
  return ready;
}

async function parity(): Promise<GradientComparison[]> {
  await setup();
  try {
    return await gradientParity('webgl');
  } finally {
    await tf.setBackend('webgl');
  }
}

async function golden(): Promise<{ flushesSubnormals: boolean; reports: GoldenReport[] }> {
  await setup();
  await tf.setBackend('webgl');
  const runs = await loadGoldenRuns(new URL('golden/', document.baseURI).href);
  return { flushesSubnormals: await flushesSubnormals(), reports: await goldenCheck(runs) };
}

/** tfjs-layers save → IndexedDB → load → fit on wasm, for every optimizer, against an uninterrupted run. */
async function saveLoad(): Promise<SaveLoadReport[]> {
  await setup();
  // Single-threaded wasm: this page's bundle is minified, and the threaded build starts its pthreads from the
  // source text of its factory (the app's worker bundle keeps it intact; see vite.config.ts).
  await import('@tensorflow/tfjs-backend-wasm'); // registers the flag
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  await selectBackend(['wasm'], { wasmPaths: wasmPaths(), onLog: () => {} });
  try {
    return await saveLoadCheck('wasm');
  } finally {
    await tf.setBackend('webgl');
  }
}

const $ = (id: string) => document.getElementById(id)!;

function subnormalSummary(r: GoldenReport): string {
  const m = r.subnormalGradient;
  if (m.length === 0) return 'none';
  const steps = new Set(m.map((x) => x.step)).size;
  return `${m.length} elements over ${steps} steps, e.g. step ${m[0]!.step} ${m[0]!.what}[${m[0]!.index}] with g = ${m[0]!.grad.toPrecision(3)}`;
}

async function runAll(): Promise<void> {
  const status = $('status');
  const report = $('report');
  report.replaceChildren();
  try {
    status.textContent = 'starting webgl';
    const caps = await setup();
    const info = document.createElement('p');
    info.textContent = `webgl: WebGL ${caps.webglVersion}, ${caps.webglRenderer}, float${caps.floatPrecision}, int32 exact below 2^${Math.log2(caps.int32ExactBelow)}; small tensors kept on the GPU.`;
    report.append(info);
    status.textContent = 'gradient parity';
    const p = await parity();
    report.append(
      makeTable(
        `Gradients, webgl vs cpu: pass when max |Δ| ≤ ${PARITY_TOLERANCE} · max |cpu|`,
        ['Case', 'Gradient', 'Relative error', 'Result'],
        p.map((r) => [
          r.case,
          `d/d${r.gradient} [${r.shape.join('×')}]`,
          r.relative.toExponential(2),
          r.relative <= PARITY_TOLERANCE ? 'pass' : 'FAIL',
        ]),
      ),
    );
    status.textContent = 'golden vectors';
    const g = await golden();
    report.append(
      makeTable(
        `Golden vectors on webgl (this backend ${g.flushesSubnormals ? 'flushes' : 'keeps'} float32 subnormals)`,
        ['Run', 'Steps', 'Elements', 'Failures', 'Mismatches where the gradient was subnormal'],
        g.reports.map((r) => [
          r.run,
          String(r.steps),
          String(r.checked),
          String(r.failures.length),
          subnormalSummary(r),
        ]),
      ),
    );
    status.textContent = 'save and load';
    const s = await saveLoad();
    report.append(
      makeTable(
        'tfjs-layers save → IndexedDB → load → fit, on wasm: pass when bit-identical to an uninterrupted run',
        ['Optimizer', 'Saved as', 'Differing weights', 'Result'],
        s.map((r) => [
          r.optimizer,
          r.className,
          `${r.differing} of ${r.elements}`,
          r.differing === 0 ? 'pass' : 'FAIL',
        ]),
      ),
    );
    status.textContent = 'done';
  } catch (error) {
    status.textContent = 'error';
    const p = document.createElement('p');
    p.className = 'error';
    p.textContent = error instanceof Error ? error.message : String(error);
    report.append(p);
  }
}

$('run').addEventListener('click', () => void runAll());

/** For tests: the checks as functions returning plain data. */
Object.defineProperty(window, 'gradsignChecks', {
  value: Object.freeze({ setup, parity, golden, saveLoad, tolerance: PARITY_TOLERANCE }),
});
