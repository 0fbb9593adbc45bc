import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// src/gradients.ts imports the gradient bundle that the build writes to dist/vendor/ (see
// scripts/bundle-gradients.mjs); test/global-setup.ts generates it when it is missing.
const vendorBundle = fileURLToPath(new URL('./dist/vendor/tfjs-gradients.js', import.meta.url));

export default defineConfig({
  resolve: { alias: [{ find: /^\.\/vendor\/tfjs-gradients\.js$/, replacement: vendorBundle }] },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
