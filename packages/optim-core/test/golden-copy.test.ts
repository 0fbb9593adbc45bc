import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GOLDEN_DIR } from './golden.js';

// The golden vectors are vendored so that a clone tests on its own; when the shared originals sit beside the
// repository (as in CI), the copies must be identical to them.
const shared = fileURLToPath(new URL('../../../../shared/golden/', import.meta.url));

describe('vendored golden vectors', () => {
  it.skipIf(!existsSync(shared))('are byte-identical to ../shared/golden', () => {
    for (const file of ['gradsign.json', 'adam.json', 'sgd.json']) {
      expect(readFileSync(`${GOLDEN_DIR}${file}`).equals(readFileSync(`${shared}${file}`)), file).toBe(true);
    }
  });
});
