import { describe, expect, it } from 'vitest';
import { describeMemory } from '../src/memory';

describe('describeMemory', () => {
  it('reports bytes per parameter as measured, with the packing explained for GradSign', () => {
    const wasm = describeMemory('gradsign', 'wasm', { stateBytes: 66956, params: 66954, counterLanes: 4 });
    expect(wasm.value).toBe('1.000 B/param (66,956 B for 66,954 parameters)');
    expect(wasm.note).toMatch(/packed 4 to an int32 word/);

    const webgl = describeMemory('gradsign', 'webgl', { stateBytes: 89276, params: 66954, counterLanes: 3 });
    expect(webgl.value).toMatch(/^1\.333 B\/param/);
    expect(webgl.note).toMatch(/exact only below 2\^24/);
    expect(webgl.note).toMatch(/3 counters/);
  });

  it('reports other optimizers without the GradSign note', () => {
    const adam = describeMemory('adam', 'wasm', { stateBytes: 8 * 1000, params: 1000, counterLanes: 4 });
    expect(adam.value).toMatch(/^8\.000 B\/param/);
    expect(adam.note).not.toMatch(/counter/);
  });
});
