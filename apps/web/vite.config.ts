import { defineConfig } from 'vite';

// Cross-origin isolation (COOP same-origin + COEP require-corp) gives the page SharedArrayBuffer, which the
// threaded wasm build of TF.js needs. Every asset is served from the app itself, so require-corp blocks nothing.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  base: './',
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
