// The bandwidth floor of an optimizer step: the time to move the bytes the step must read and write, measured as a
// memory copy of half that many bytes (a copy reads and writes each byte once), in the same process as the steps.
// On wasm the copy is WebAssembly's memory.copy in a module of its own; on cpu it is a typed-array copy.

/** (module (memory (export "m") 1) (func (export "copy") (param i32 i32 i32) memory.copy dst src len)) */
const COPY_MODULE = new Uint8Array(
  [
    [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // magic, version
    [0x01, 0x07, 0x01, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x00], // type: (i32, i32, i32) -> ()
    [0x03, 0x02, 0x01, 0x00], // function 0 has type 0
    [0x05, 0x03, 0x01, 0x00, 0x01], // one memory, 1 page to start
    [0x07, 0x0c, 0x02, 0x01, 0x6d, 0x02, 0x00, 0x04, 0x63, 0x6f, 0x70, 0x79, 0x00, 0x00], // exports m, copy
    [0x0a, 0x0e, 0x01, 0x0c, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfc, 0x0a, 0x00, 0x00, 0x0b], // code
  ].flat(),
);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Median milliseconds to copy `bytes` bytes on `backend` ('wasm': memory.copy; otherwise a typed-array copy). */
export function copyMs(backend, bytes, rounds) {
  const size = Math.ceil(bytes);
  let copy;
  if (backend === 'wasm') {
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(COPY_MODULE));
    const pages = Math.ceil((2 * size) / 65536);
    exports.m.grow(pages);
    new Uint8Array(exports.m.buffer).fill(1, 0, size); // touch the pages
    copy = () => exports.copy(size, 0, size);
  } else {
    const src = new Uint8Array(size).fill(1);
    const dst = new Uint8Array(size);
    copy = () => dst.set(src);
  }
  copy(); // warm-up: first-touch page faults are not bandwidth
  const times = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    copy();
    times.push(performance.now() - t0);
  }
  return median(times);
}
