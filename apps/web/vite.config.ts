import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { defineConfig } from 'vite';

// Cross-origin isolation (COOP same-origin + COEP require-corp) gives the page SharedArrayBuffer, which the
// threaded wasm build of TF.js needs. Every asset is served from the app itself, so require-corp blocks nothing.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

// The golden-vector replay of @gradsign/optim-testkit is platform-free, but the package's entry also holds the
// vitest suite; the self-check page imports only that module.
const testkitDir = dirname(createRequire(import.meta.url).resolve('@gradsign/optim-testkit/package.json'));

export default defineConfig({
  base: './',
  resolve: {
    alias: { '@gradsign/optim-testkit/golden': join(testkitDir, 'dist', 'golden.js') },
  },
  server: { headers: isolation },
  preview: { headers: isolation },
  worker: {
    format: 'es',
    // Whitespace-only minification: the threaded wasm build of TF.js starts its pthreads from the source text of
    // its factory function (Function.prototype.toString), which must keep its names and its typeof guards.
    rolldownOptions: {
      output: { minify: { compress: false, mangle: false, codegen: { removeWhitespace: true } } },
    },
  },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 4000,
    rolldownOptions: {
      input: { main: 'index.html', checks: 'checks.html' },
    },
  },
});
