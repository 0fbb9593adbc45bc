import type { MemoryInfo } from './protocol';

/** The state-bytes readout: what the optimizer's state measures per parameter, and why. */
export function describeMemory(
  optimizer: string,
  backend: string,
  memory: MemoryInfo,
): { value: string; note: string } {
  const perParam = memory.params > 0 ? memory.stateBytes / memory.params : Number.NaN;
  const value =
    `${perParam.toFixed(3)} B/param ` +
    `(${memory.stateBytes.toLocaleString('en-US')} B for ${memory.params.toLocaleString('en-US')} parameters)`;
  if (optimizer !== 'gradsign') {
    return { value, note: `Measured from the optimizer's state tensors on ${backend}.` };
  }
  const note =
    memory.counterLanes === 3
      ? `GradSign keeps one int8 counter per parameter, but TF.js has no int8 type, so counters are packed into ` +
        `int32 words. On ${backend}, int32 values live in float textures and are exact only below 2^24, so only 3 ` +
        `counters fit in a word: 4/3 ≈ 1.33 bytes per parameter.`
      : `GradSign keeps one int8 counter per parameter, packed ${memory.counterLanes} to an int32 word ` +
        `(int32 is exact on ${backend}): about 1 byte per parameter.`;
  return { value, note };
}
