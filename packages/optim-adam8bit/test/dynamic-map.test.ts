import { describe, expect, it } from 'vitest';
import { codeFromValues, createDynamicMap, DYNAMIC_SIGNED, DYNAMIC_UNSIGNED } from '../src/index.js';

describe('the dynamic maps (bitsandbytes create_dynamic_map)', () => {
  it('signed: 127 negative values, one 0, 127 positive values below 1, and 1', () => {
    const v = Array.from(DYNAMIC_SIGNED.values);
    expect(v).toHaveLength(256);
    expect(v.filter((x) => x < 0)).toHaveLength(127);
    expect(v.filter((x) => x === 0)).toHaveLength(1);
    expect(v[127]).toBe(0);
    expect(v[255]).toBe(1);
    expect(v[254]).toBeLessThan(1);
    // the most negative value is -(mean of the last two points of linspace(0.1, 1, 65)), not -1
    expect(v[0]).toBeCloseTo(-0.99296875, 6);
    // the negative half mirrors the positive half below 1 exactly
    for (let k = 0; k < 127; k++) expect(v[k]).toBe(-v[254 - k]!);
  });

  it('signed: decade i holds 2^i values 10^(i-6)·(mean of neighbouring points of linspace(0.1, 1, 2^i + 1))', () => {
    const positive = Array.from(DYNAMIC_SIGNED.values).filter((x) => x > 0 && x < 1);
    // decade 0: linspace(0.1, 1, 2) = [0.1, 1] → mean 0.55, times 1e-6
    expect(positive[0]! / 0.55e-6).toBeCloseTo(1, 6);
    // decade 1: linspace(0.1, 1, 3) = [0.1, 0.55, 1] → 0.325, 0.775, times 1e-5
    expect(positive[1]! / 0.325e-5).toBeCloseTo(1, 6);
    expect(positive[2]! / 0.775e-5).toBeCloseTo(1, 6);
    // decade 6: 64 values, the last the mean of the last two points of linspace(0.1, 1, 65)
    expect(positive[126]! / (1 - 0.9 / 128)).toBeCloseTo(1, 6);
    for (let i = 0; i < 7; i++) {
      const inDecade = positive.filter((x) => x >= 10 ** (i - 7) && x < 10 ** (i - 6));
      expect(inDecade, `decade ${i}`).toHaveLength(2 ** i);
    }
  });

  it('unsigned: 0, 254 positive values below 1, and 1; decade i holds 2^(i+1) values', () => {
    const v = Array.from(DYNAMIC_UNSIGNED.values);
    expect(v[0]).toBe(0);
    expect(v[255]).toBe(1);
    expect(v.filter((x) => x > 0 && x < 1)).toHaveLength(254);
    expect(v[1]! / 0.325e-6).toBeCloseTo(1, 6);
    expect(v[2]! / 0.775e-6).toBeCloseTo(1, 6);
    for (let i = 0; i < 7; i++) {
      const inDecade = v.filter((x) => x >= 10 ** (i - 7) && x < 10 ** (i - 6));
      expect(inDecade, `decade ${i}`).toHaveLength(2 ** (i + 1));
    }
  });

  it('midpoints lie strictly between neighbouring values and are deterministic', () => {
    for (const code of [DYNAMIC_SIGNED, DYNAMIC_UNSIGNED]) {
      for (let k = 0; k < 255; k++) {
        expect(code.midpoints[k]!).toBeGreaterThan(code.values[k]!);
        expect(code.midpoints[k]!).toBeLessThan(code.values[k + 1]!);
      }
    }
    expect(createDynamicMap(true).values).toEqual(DYNAMIC_SIGNED.values);
  });

  it('codeFromValues rejects tables that are not 256 distinct values in [-1, 1]', () => {
    const linear = Array.from({ length: 256 }, (_, k) => (k - 128) / 128);
    expect(codeFromValues('linear', linear).values[0]).toBe(-1);
    expect(() => codeFromValues('short', linear.slice(1))).toThrow(/256 values/);
    expect(() => codeFromValues('dup', [...linear.slice(1), 0])).toThrow(/distinct/);
    expect(() => codeFromValues('big', [...linear.slice(1), 2])).toThrow(/outside/);
  });
});
