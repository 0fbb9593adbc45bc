// Loop unrolling for the WAT kernels, at build time. V8 (Node 20) neither unrolls a WebAssembly loop nor hoists
// anything out of one, so a loop over one 16-byte vector pays its overhead (pointer steps, the bound, V8's stack
// check) per vector; written twice, the body shares it. Between the comment lines
//
//   ;; unroll N BYTES $a $b …
//   ;; end unroll
//
// the body is written N times. Copy k adds k · BYTES to the static offset of every load and store whose address
// is one of the named locals itself, `(v128.load (local.get $a))` or `(i32.load8_u offset=4 (local.get $a))`; the
// loop steps those pointers by N · BYTES after the block. A named pointer may appear only there: any other use
// would not be offset, and is refused. Comments are kept in the first copy only.

const ACCESS =
  /\(((?:v128|i32|i64|f32|f64)\.(?:load|store)(?:\d+(?:_[su]|x\d+_[su]|_zero|_splat)?)?)(?: offset=(\d+))? \(local\.get (\$[\w.]+)\)/g;

/** The WAT text with every marked body written out; `unrolled` counts the bodies. Throws on a malformed marker. */
export function unrollLoops(text) {
  const lines = text.split('\n');
  const out = [];
  let unrolled = 0;
  for (let i = 0; i < lines.length; i++) {
    const head = /^\s*;; unroll (\d+) (\d+)((?: \$[\w.]+)+)\s*$/.exec(lines[i]);
    if (head == null) {
      if (/^\s*;; (end )?unroll\b/.test(lines[i]))
        throw new Error(`line ${i + 1}: unexpected "${lines[i].trim()}"`);
      out.push(lines[i]);
      continue;
    }
    const [times, bytes] = [Number(head[1]), Number(head[2])];
    const pointers = new Set(head[3].trim().split(' '));
    if (times < 2) throw new Error(`line ${i + 1}: unroll needs 2 or more copies`);
    const end = lines.findIndex((l, j) => j > i && /^\s*;; end unroll\s*$/.test(l));
    if (end < 0) throw new Error(`line ${i + 1}: no "end unroll" after this "unroll"`);
    const body = lines.slice(i + 1, end);
    for (const p of pointers) {
      if (body.some((l) => l.includes(`(local.set ${p} `) || l.includes(`(local.tee ${p} `)))
        throw new Error(`line ${i + 1}: the body sets ${p}, which the copies address by offset`);
      // any other use (an address computed from it, a lane load) would not be offset: refuse it
      if (body.some((l) => !/^\s*;;/.test(l) && l.replace(ACCESS, '').includes(`(local.get ${p})`)))
        throw new Error(`line ${i + 1}: the body uses ${p} other than as a load's or store's address`);
    }
    for (let k = 0; k < times; k++)
      for (const line of body) {
        if (k > 0 && /^\s*;;/.test(line)) continue;
        out.push(
          line.replace(ACCESS, (all, op, offset, local) =>
            k === 0 || !pointers.has(local)
              ? all
              : `(${op} offset=${Number(offset ?? 0) + k * bytes} (local.get ${local})`,
          ),
        );
      }
    unrolled++;
    i = end;
  }
  return { text: out.join('\n'), unrolled };
}
