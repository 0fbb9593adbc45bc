// The three binaries of @tensorflow/tfjs-backend-wasm, emitted by Vite as assets of this app, so the wasm backend
// never reaches for a CDN. Which one loads depends on the browser: SIMD, and threads when the page is
// cross-origin isolated (SharedArrayBuffer).

import type { WasmBinaryName } from '@gradsign/backends';
import plain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import simd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import threadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

/** Absolute URLs: the wasm loader fetches them from inside a worker and, for threads, from a blob worker. */
export function wasmPaths(): Record<WasmBinaryName, string> {
  const abs = (url: string) => new URL(url, import.meta.url).href;
  return {
    'tfjs-backend-wasm.wasm': abs(plain),
    'tfjs-backend-wasm-simd.wasm': abs(simd),
    'tfjs-backend-wasm-threaded-simd.wasm': abs(threadedSimd),
  };
}
