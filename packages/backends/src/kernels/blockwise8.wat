;; Optimizer steps on block-wise 8-bit state (optim-core's `AdamBlockwise8Update`, used by Adam8bit, and
;; optim-lion's `LionBlockwise8Update`, Lion's int8 momentum), as WebAssembly, run in place on the tfjs wasm
;; backend's memory (imported). All pointers are byte offsets. Each computes exactly what the JavaScript kernel it
;; replaces computes (`adamBlockwise8Step`, `lionBlockwise8Step`, kept as the fallbacks), in float32, one block of
;; `blockSize` elements at a time:
;;
;;   A  decode   the block's bytes (planar: element i is byte i div words of word i mod words) through the code's
;;               table, times the block's absmax: inside B's loop where the block is regular (it lies in one lane
;;               and holds whole groups of 8: all but a few blocks), else into scratch first (SIMD, table lookups
;;               lane by lane; Lion's regular blocks compute a linear code's q / levels instead, exactly)
;;   B  rule     the optimizer's rule over the parameter, the gradient and the decoded state; the new state goes
;;               back to scratch, with its absolute maximum                                      (SIMD)
;;   C  divide   the new state by that maximum (by 1 when it is 0 or NaN), and
;;   D  encode   each to its byte: a linear code rounds x · levels; a lookup code counts the midpoints below x,
;;               starting from the bucket of x's top 16 bits (which holds at most one midpoint for the dynamic maps:
;;               then one comparison of low bits; else a binary search over the bucket)   (SIMD, bucket lookups lane
;;               by lane). Where the block's absmax is finite, every x is too, and D takes shorter paths: the
;;               linear byte from the pattern of the rounded value plus 1.5 · 2^23, the lookup count from a table
;;               keyed by x's pattern made signed-ordered, with one signed comparison
;;
;; Regular blocks run B (and D where it takes the fast paths) in their own functions ($adamRegular, $lionRegular,
;; $encodeFast), pointer by pointer with every invariant held in a local, eight elements a turn: V8 hoists neither
;; splats nor constants out of a loop, unrolls none, and spills a large function's locals to the stack. Bodies
;; between `;; unroll N BYTES $pointers` and `;; end unroll` are written N times by scripts/unroll.mjs at build.
;;
;; Every product, quotient and sum is one float32 operation, as the JavaScript loops' Math.fround, so results are
;; bit-identical; a NaN absmax is stored as the canonical 0x7fc00000. Bytes past the last element are zeroed. To
;; round every product the module has no FMA build (build-simd.mjs lists it with `fma: false`).
;;
;; A codec is an image on the heap (blockwise8-simd.ts writes it):
;;   0: i32 kind (0 linear, 1 lookup)   4: f32 levels   8: i32 offset (subtracted from a lookup count)
;;   12: i32 1 where D may take its fast paths (every linear code; a lookup code with the fast table)
;;   16: f32[256] decode table   1040: f32[257] midpoints, +Infinity past the last (lookup codes)
;;   1040 (linear codes): f32 hi, f32 lo, i32 1 where q · hi + q · lo gives the decode table's value of every byte
;;           (1 / levels split so that q · hi is exact; blockwise8-simd.ts checks all 256 bytes)
;;   2080: u32[65536] buckets by x's top 16 bits: lo | span << 8 | (low 16 bits of midpoint lo where span is 1) << 16
;;   264224: u32[65536] the fast table, by the top 16 bits of t(x) (x's pattern, its magnitude bits flipped where the
;;           sign is set: a signed number in the floats' order): (lo − offset) & 255 | (low 16 bits of t(the
;;           bucket's one midpoint), 0xffff where it has none) << 16; present where no bucket holds two midpoints
;;           and no midpoint is −0 or NaN
;;
;; Regenerate generated/blockwise8-wasm.ts after editing: `node scripts/build-simd.mjs`.
(module
  (import "env" "memory" (memory 1))

  ;; A: values[k] = decode[byte of element start + k] · scale, for k < count. Four elements at once where they
  ;; share a lane: their bytes are byte `lane` of four consecutive words.
  (func $decode (param $bytes i32) (param $start i32) (param $count i32) (param $words i32) (param $codec i32)
    (param $scale f32) (param $values i32)
    (local $lane i32) (local $word i32) (local $k i32) (local $at i32) (local $d v128)
    (local.set $lane (i32.div_u (local.get $start) (local.get $words)))
    (local.set $word (i32.sub (local.get $start) (i32.mul (local.get $lane) (local.get $words))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $k) (local.get $count)))
        (if (i32.and
              (i32.le_u (i32.add (local.get $k) (i32.const 4)) (local.get $count))
              (i32.le_u (i32.add (local.get $word) (i32.const 4)) (local.get $words)))
          (then
            ;; the four codes' table entries, each loaded straight into its lane
            (local.set $at (i32.add (local.get $bytes) (i32.add (i32.shl (local.get $word) (i32.const 2)) (local.get $lane))))
            (local.set $d
              (v128.load32_zero offset=16
                (i32.add (local.get $codec) (i32.shl (i32.load8_u (local.get $at)) (i32.const 2)))))
            (local.set $d
              (v128.load32_lane offset=16 1
                (i32.add (local.get $codec) (i32.shl (i32.load8_u offset=4 (local.get $at)) (i32.const 2)))
                (local.get $d)))
            (local.set $d
              (v128.load32_lane offset=16 2
                (i32.add (local.get $codec) (i32.shl (i32.load8_u offset=8 (local.get $at)) (i32.const 2)))
                (local.get $d)))
            (local.set $d
              (v128.load32_lane offset=16 3
                (i32.add (local.get $codec) (i32.shl (i32.load8_u offset=12 (local.get $at)) (i32.const 2)))
                (local.get $d)))
            (v128.store (i32.add (local.get $values) (i32.shl (local.get $k) (i32.const 2)))
              (f32x4.mul (local.get $d) (f32x4.splat (local.get $scale))))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (local.set $word (i32.add (local.get $word) (i32.const 4))))
          (else
            (f32.store (i32.add (local.get $values) (i32.shl (local.get $k) (i32.const 2)))
              (f32.mul
                (f32.load offset=16
                  (i32.add (local.get $codec)
                    (i32.shl
                      (i32.load8_u
                        (i32.add (local.get $bytes)
                          (i32.add (i32.shl (local.get $word) (i32.const 2)) (local.get $lane))))
                      (i32.const 2))))
                (local.get $scale)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (local.set $word (i32.add (local.get $word) (i32.const 1)))))
        (if (i32.eq (local.get $word) (local.get $words))
          (then
            (local.set $word (i32.const 0))
            (local.set $lane (i32.add (local.get $lane) (i32.const 1)))))
        (br $next))))

  ;; zeroes the bytes past the last element (element e ≥ n of 4 · words), as the JavaScript loops leave them
  (func $clearPadding (param $bytes i32) (param $n i32) (param $words i32)
    (local $e i32) (local $lane i32)
    (local.set $e (local.get $n))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $e) (i32.shl (local.get $words) (i32.const 2))))
        (local.set $lane (i32.div_u (local.get $e) (local.get $words)))
        (i32.store8
          (i32.add (local.get $bytes)
            (i32.add
              (i32.shl (i32.sub (local.get $e) (i32.mul (local.get $lane) (local.get $words))) (i32.const 2))
              (local.get $lane)))
          (i32.const 0))
        (local.set $e (i32.add (local.get $e) (i32.const 1)))
        (br $next))))

  ;; The block's absmax from the lanes of the running maxima: NaN (canonical) if any value was NaN. The rule loops
  ;; keep those maxima as i32x4.max_u of the absolute values' bits, which orders them as f32x4.max does (every NaN
  ;; above +Infinity) at a fraction of its cost in V8, whose f32x4.max also orders −0 and NaNs.
  (func $absmax (param $max4 v128) (param $max f32) (result f32)
    (local.set $max (f32.max (local.get $max) (f32x4.extract_lane 0 (local.get $max4))))
    (local.set $max (f32.max (local.get $max) (f32x4.extract_lane 1 (local.get $max4))))
    (local.set $max (f32.max (local.get $max) (f32x4.extract_lane 2 (local.get $max4))))
    (local.set $max (f32.max (local.get $max) (f32x4.extract_lane 3 (local.get $max4))))
    (if (result f32) (f32.ne (local.get $max) (local.get $max))
      (then (f32.reinterpret_i32 (i32.const 0x7fc00000)))
      (else (local.get $max))))

  ;; C and D: the byte of element start + k = encode(values[k] / divisor), for k < count, where the divisor is the
  ;; block's absmax `max` (1 where it is 0 or NaN). Four elements at once
  ;; where they share a lane (their bytes are merged into byte `lane` of four consecutive words), and for a lookup
  ;; code where each of their buckets holds at most one midpoint; else one at a time.
  (func $encode (param $values i32) (param $count i32) (param $max f32) (param $codec i32) (param $bytes i32)
    (param $start i32) (param $words i32)
    (local $divisor f32) (local $fast i32) (local $t4 v128)
    (local $k i32) (local $at i32) (local $lane i32) (local $word i32) (local $x f32) (local $y f32)
    (local $levels f32) (local $offset i32) (local $lookup i32) (local $e i32) (local $lo i32) (local $hi i32)
    (local $mid i32) (local $x4 v128) (local $q v128) (local $e4 v128) (local $m0 v128) (local $m1 v128)
    (local $simd i32)
    (local.set $lane (i32.div_u (local.get $start) (local.get $words)))
    (local.set $word (i32.sub (local.get $start) (i32.mul (local.get $lane) (local.get $words))))
    (local.set $lookup (i32.load (local.get $codec)))
    (local.set $levels (f32.load offset=4 (local.get $codec)))
    (local.set $offset (i32.load offset=8 (local.get $codec)))
    (local.set $divisor
      (if (result f32) (f32.gt (local.get $max) (f32.const 0)) (then (local.get $max)) (else (f32.const 1))))
    ;; a finite max bounds every x to [−1, 1] (and a max of 0 leaves only zeros): the fast paths below hold
    (local.set $fast
      (i32.and (i32.load offset=12 (local.get $codec)) (f32.lt (local.get $max) (f32.const inf))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $k) (local.get $count)))
        (local.set $simd
          (i32.and
            (i32.le_u (i32.add (local.get $k) (i32.const 4)) (local.get $count))
            (i32.le_u (i32.add (local.get $word) (i32.const 4)) (local.get $words))))
        (if (local.get $simd)
          (then
            (local.set $x4
              (f32x4.div (v128.load (i32.add (local.get $values) (i32.shl (local.get $k) (i32.const 2))))
                (f32x4.splat (local.get $divisor))))
            (if (local.get $fast)
              (then
                (if (local.get $lookup)
                  (then
                    ;; t: x's pattern as a signed number in the floats' order (magnitude bits flipped below 0);
                    ;; the fast table's entry for t's top 16 bits: (count below − offset) & 255 | low 16 bits
                    ;; of t(the bucket's midpoint), 0xffff where it has none, << 16
                    (local.set $t4
                      (v128.xor (local.get $x4)
                        (v128.and (i32x4.shr_s (local.get $x4) (i32.const 31))
                          (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff))))
                    (local.set $q (i32x4.shl (i32x4.shr_u (local.get $t4) (i32.const 16)) (i32.const 2)))
                    (local.set $e4 (v128.load32_lane offset=264224 0 (i32.add (local.get $codec) (i32x4.extract_lane 0 (local.get $q))) (local.get $e4)))
                    (local.set $e4 (v128.load32_lane offset=264224 1 (i32.add (local.get $codec) (i32x4.extract_lane 1 (local.get $q))) (local.get $e4)))
                    (local.set $e4 (v128.load32_lane offset=264224 2 (i32.add (local.get $codec) (i32x4.extract_lane 2 (local.get $q))) (local.get $e4)))
                    (local.set $e4 (v128.load32_lane offset=264224 3 (i32.add (local.get $codec) (i32x4.extract_lane 3 (local.get $q))) (local.get $e4)))
                    ;; one more where the midpoint lies below x (the comparison gives −1)
                    (local.set $q
                      (i32x4.sub (v128.and (local.get $e4) (v128.const i32x4 0xff 0xff 0xff 0xff))
                        (i32x4.gt_s
                          (v128.and (local.get $t4) (v128.const i32x4 0xffff 0xffff 0xffff 0xffff))
                          (i32x4.shr_u (local.get $e4) (i32.const 16))))))
                  (else
                    ;; linear: floor(x · levels + 0.5) is a whole number within ±128, so adding 1.5 · 2^23 puts
                    ;; it, mod 256, in the low byte of the sum's pattern
                    (local.set $q
                      (f32x4.add
                        (f32x4.floor
                          (f32x4.add (f32x4.mul (local.get $x4) (f32x4.splat (local.get $levels)))
                            (v128.const f32x4 0.5 0.5 0.5 0.5)))
                        (v128.const f32x4 12582912 12582912 12582912 12582912))))))
              (else
            (if (local.get $lookup)
              (then
                ;; each bucket's entry: lo | span << 8 | (the low 16 bits of midpoint lo) << 16
                (local.set $q
                  (i32x4.shl (i32x4.shr_u (local.get $x4) (i32.const 16)) (i32.const 2)))
                (local.set $e4 (v128.load32_lane offset=2080 0 (i32.add (local.get $codec) (i32x4.extract_lane 0 (local.get $q))) (local.get $e4)))
                (local.set $e4 (v128.load32_lane offset=2080 1 (i32.add (local.get $codec) (i32x4.extract_lane 1 (local.get $q))) (local.get $e4)))
                (local.set $e4 (v128.load32_lane offset=2080 2 (i32.add (local.get $codec) (i32x4.extract_lane 2 (local.get $q))) (local.get $e4)))
                (local.set $e4 (v128.load32_lane offset=2080 3 (i32.add (local.get $codec) (i32x4.extract_lane 3 (local.get $q))) (local.get $e4)))
                (local.set $simd
                  (i32x4.all_true
                    (i32x4.le_u (v128.and (local.get $e4) (v128.const i32x4 0xff00 0xff00 0xff00 0xff00))
                      (v128.const i32x4 0x100 0x100 0x100 0x100))))
                (if (local.get $simd)
                  (then
                    ;; In a bucket of span 1, midpoint lo shares x's top 16 bits, so midpoint lo < x compares
                    ;; their low 16 bits: as unsigned numbers where x ≥ +0, reversed where x ≤ −0.
                    (local.set $m0 (i32x4.shr_u (local.get $e4) (i32.const 16)))
                    (local.set $m1 (v128.and (local.get $x4) (v128.const i32x4 0xffff 0xffff 0xffff 0xffff)))
                    (local.set $q
                      (i32x4.sub
                        (i32x4.sub (v128.and (local.get $e4) (v128.const i32x4 0xff 0xff 0xff 0xff))
                          (v128.and
                            (v128.bitselect
                              (i32x4.gt_u (local.get $m0) (local.get $m1))
                              (i32x4.lt_u (local.get $m0) (local.get $m1))
                              (i32x4.shr_s (local.get $x4) (i32.const 31)))
                            (i32x4.eq (v128.and (local.get $e4) (v128.const i32x4 0xff00 0xff00 0xff00 0xff00))
                              (v128.const i32x4 0x100 0x100 0x100 0x100))))
                        (i32x4.splat (local.get $offset)))))))
              (else
                ;; linear: floor(x · levels + 0.5), 0 where JavaScript's ToInt32 gives a multiple of 256
                (local.set $x4
                  (f32x4.floor
                    (f32x4.add (f32x4.mul (local.get $x4) (f32x4.splat (local.get $levels)))
                      (v128.const f32x4 0.5 0.5 0.5 0.5))))
                (local.set $q
                  (v128.and (i32x4.trunc_sat_f32x4_s (local.get $x4))
                    (f32x4.lt (f32x4.abs (local.get $x4)) (v128.const f32x4 2147483648 2147483648 2147483648 2147483648))))))))))
        (if (local.get $simd)
          (then
            ;; merge the four bytes into byte `lane` of words word … word + 3
            (local.set $at (i32.add (local.get $bytes) (i32.shl (local.get $word) (i32.const 2))))
            (v128.store (local.get $at)
              (v128.or
                (v128.andnot (v128.load (local.get $at))
                  (i32x4.shl (v128.const i32x4 0xff 0xff 0xff 0xff) (i32.shl (local.get $lane) (i32.const 3))))
                (i32x4.shl (v128.and (local.get $q) (v128.const i32x4 0xff 0xff 0xff 0xff))
                  (i32.shl (local.get $lane) (i32.const 3)))))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (local.set $word (i32.add (local.get $word) (i32.const 4))))
          (else
            (local.set $x
              (f32.div (f32.load (i32.add (local.get $values) (i32.shl (local.get $k) (i32.const 2))))
                (local.get $divisor)))
            (i32.store8
              (i32.add (local.get $bytes) (i32.add (i32.shl (local.get $word) (i32.const 2)) (local.get $lane)))
              (if (result i32) (local.get $lookup)
                (then
                  ;; the number of midpoints below x, minus the offset
                  (local.set $e
                    (i32.load offset=2080
                      (i32.add (local.get $codec)
                        (i32.shl (i32.shr_u (i32.reinterpret_f32 (local.get $x)) (i32.const 16)) (i32.const 2)))))
                  (local.set $lo (i32.and (local.get $e) (i32.const 255)))
                  (local.set $hi
                    (i32.add (local.get $lo) (i32.and (i32.shr_u (local.get $e) (i32.const 8)) (i32.const 255))))
                  (block $found
                    (loop $search
                      (br_if $found (i32.ge_u (local.get $lo) (local.get $hi)))
                      (local.set $mid (i32.shr_u (i32.add (local.get $lo) (local.get $hi)) (i32.const 1)))
                      (if (f32.lt
                            (f32.load offset=1040
                              (i32.add (local.get $codec) (i32.shl (local.get $mid) (i32.const 2))))
                            (local.get $x))
                        (then (local.set $lo (i32.add (local.get $mid) (i32.const 1))))
                        (else (local.set $hi (local.get $mid))))
                      (br $search)))
                  (i32.sub (local.get $hi) (local.get $offset)))
                (else
                  ;; linear: as above
                  (local.set $y
                    (f32.floor (f32.add (f32.mul (local.get $x) (local.get $levels)) (f32.const 0.5))))
                  (if (result i32) (f32.lt (f32.abs (local.get $y)) (f32.const 2147483648))
                    (then (i32.trunc_f32_s (local.get $y)))
                    (else (i32.const 0))))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (local.set $word (i32.add (local.get $word) (i32.const 1)))))
        (if (i32.eq (local.get $word) (local.get $words))
          (then
            (local.set $word (i32.const 0))
            (local.set $lane (i32.add (local.get $lane) (i32.const 1)))))
        (br $next))))

  ;; C and D for a regular block (see the rule functions below) whose absmax is finite, where the codec may take
  ;; its fast paths (the flag at 12): the same bytes as $encode, from the values at s … end (divided by `divisor`)
  ;; into byte `lane` of the words from `dst`, where shift = 8 · lane. One loop per kind of code, every invariant
  ;; held in a local (V8 hoists none of them out of a loop).
  (func $encodeFast (param $s i32) (param $end i32) (param $dst i32) (param $shift i32) (param $divisor f32)
    (param $codec i32)
    (local $d4 v128) (local $mask v128) (local $x4 v128) (local $t4 v128) (local $q v128) (local $e4 v128)
    (local $magnitude v128) (local $low16 v128) (local $byte v128) (local $levels4 v128) (local $half v128)
    (local $magic v128)
    (local.set $d4 (f32x4.splat (local.get $divisor)))
    (local.set $mask (i32x4.shl (v128.const i32x4 0xff 0xff 0xff 0xff) (local.get $shift)))
    (if (i32.load (local.get $codec))
      (then
        ;; lookup: as $encode's fast path (t, its entry in the fast table, one signed comparison)
        (local.set $magnitude (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff))
        (local.set $low16 (v128.const i32x4 0xffff 0xffff 0xffff 0xffff))
        (local.set $byte (v128.const i32x4 0xff 0xff 0xff 0xff))
        (loop $byLookup
          ;; unroll 2 16 $s $dst
          (local.set $x4 (f32x4.div (v128.load (local.get $s)) (local.get $d4)))
          (local.set $t4
            (v128.xor (local.get $x4)
              (v128.and (i32x4.shr_s (local.get $x4) (i32.const 31)) (local.get $magnitude))))
          (local.set $q (i32x4.shl (i32x4.shr_u (local.get $t4) (i32.const 16)) (i32.const 2)))
          (local.set $e4 (v128.load32_zero offset=264224 (i32.add (local.get $codec) (i32x4.extract_lane 0 (local.get $q)))))
          (local.set $e4 (v128.load32_lane offset=264224 1 (i32.add (local.get $codec) (i32x4.extract_lane 1 (local.get $q))) (local.get $e4)))
          (local.set $e4 (v128.load32_lane offset=264224 2 (i32.add (local.get $codec) (i32x4.extract_lane 2 (local.get $q))) (local.get $e4)))
          (local.set $e4 (v128.load32_lane offset=264224 3 (i32.add (local.get $codec) (i32x4.extract_lane 3 (local.get $q))) (local.get $e4)))
          (local.set $q
            (i32x4.sub (v128.and (local.get $e4) (local.get $byte))
              (i32x4.gt_s (v128.and (local.get $t4) (local.get $low16)) (i32x4.shr_u (local.get $e4) (i32.const 16)))))
          (v128.store (local.get $dst)
            (v128.bitselect (i32x4.shl (local.get $q) (local.get $shift)) (v128.load (local.get $dst)) (local.get $mask)))
          ;; end unroll
          (local.set $s (i32.add (local.get $s) (i32.const 32)))
          (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
          (br_if $byLookup (i32.lt_u (local.get $s) (local.get $end)))))
      (else
        ;; linear: the byte of floor(x · levels + 0.5) + 1.5 · 2^23, as in $encode
        (local.set $levels4 (f32x4.splat (f32.load offset=4 (local.get $codec))))
        (local.set $half (v128.const f32x4 0.5 0.5 0.5 0.5))
        (local.set $magic (v128.const f32x4 12582912 12582912 12582912 12582912))
        (loop $byLevels
          ;; unroll 2 16 $s $dst
          (local.set $x4 (f32x4.div (v128.load (local.get $s)) (local.get $d4)))
          (local.set $q
            (f32x4.add
              (f32x4.floor (f32x4.add (f32x4.mul (local.get $x4) (local.get $levels4)) (local.get $half)))
              (local.get $magic)))
          (v128.store (local.get $dst)
            (v128.bitselect (i32x4.shl (local.get $q) (local.get $shift)) (v128.load (local.get $dst)) (local.get $mask)))
          ;; end unroll
          (local.set $s (i32.add (local.get $s) (i32.const 32)))
          (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
          (br_if $byLevels (i32.lt_u (local.get $s) (local.get $end)))))))

  ;; C and D for any block: $encodeFast where it applies (a regular block, a finite absmax, the codec's fast flag),
  ;; else $encode.
  (func $encodeBlock (param $values i32) (param $count i32) (param $max f32) (param $codec i32) (param $bytes i32)
    (param $start i32) (param $words i32) (param $regular i32) (param $lane i32) (param $word0 i32)
    (if (i32.and (local.get $regular)
          (i32.and (i32.load offset=12 (local.get $codec)) (f32.lt (local.get $max) (f32.const inf))))
      (then
        (call $encodeFast (local.get $values)
          (i32.add (local.get $values) (i32.shl (local.get $count) (i32.const 2)))
          (i32.add (local.get $bytes) (i32.shl (local.get $word0) (i32.const 2)))
          (i32.shl (local.get $lane) (i32.const 3))
          (if (result f32) (f32.gt (local.get $max) (f32.const 0)) (then (local.get $max)) (else (f32.const 1)))
          (local.get $codec)))
      (else
        (call $encode (local.get $values) (local.get $count) (local.get $max) (local.get $codec) (local.get $bytes)
          (local.get $start) (local.get $words)))))

  ;; Adam (adamRule after optim-core's op order): p' = p − (m / (√v / correction2 + ε)) · stepSize, with
  ;; decoupled decay (p · decay first) or L2 (g + p · l2) where asked. `scratch` holds 2 · blockSize floats.
  (func (export "adamBlockwise8")
    (param $param i32) (param $grad i32) (param $mIn i32) (param $mAbsmax i32) (param $vIn i32) (param $vAbsmax i32)
    (param $outParam i32) (param $mOut i32) (param $outMAbsmax i32) (param $vOut i32) (param $outVAbsmax i32)
    (param $n i32) (param $words i32) (param $blockSize i32) (param $scratch i32) (param $mCodec i32) (param $vCodec i32)
    (param $beta1 f32) (param $oneMinusBeta1 f32) (param $beta2 f32) (param $oneMinusBeta2 f32) (param $stepSize f32)
    (param $correction2 f32) (param $epsilon f32) (param $decays i32) (param $decay f32) (param $l2s i32) (param $l2 f32)
    (local $b i32) (local $start i32) (local $count i32) (local $k i32) (local $ms i32) (local $vs i32)
    (local $pa i32) (local $sa i32)
    (local $p v128) (local $g v128) (local $m v128) (local $v v128) (local $mMax4 v128) (local $vMax4 v128)
    (local $ps f32) (local $gs f32) (local $mf f32) (local $vf f32) (local $mMax f32) (local $vMax f32)
    (local $lane i32) (local $word0 i32) (local $regular i32) (local $at i32) (local $mScale f32) (local $vScale f32)
    (local.set $ms (local.get $scratch))
    (local.set $vs (i32.add (local.get $scratch) (i32.shl (local.get $blockSize) (i32.const 2))))
    (block $blocksDone
      (loop $blocks
        (br_if $blocksDone (i32.ge_u (local.get $start) (local.get $n)))
        (local.set $count (i32.sub (local.get $n) (local.get $start)))
        (if (i32.gt_u (local.get $count) (local.get $blockSize)) (then (local.set $count (local.get $blockSize))))
        ;; a block within one lane, of whole groups of 8 (regular), decodes inside the rule loop (no pass through scratch;
        ;; the codes of elements k … k + 3 are byte `lane` of words word0 + k … + 3)
        (local.set $lane (i32.div_u (local.get $start) (local.get $words)))
        (local.set $word0 (i32.sub (local.get $start) (i32.mul (local.get $lane) (local.get $words))))
        (local.set $regular
          (i32.and (i32.le_u (i32.add (local.get $word0) (local.get $count)) (local.get $words))
            (i32.eqz (i32.and (local.get $count) (i32.const 7)))))
        (local.set $mScale (f32.load (i32.add (local.get $mAbsmax) (i32.shl (local.get $b) (i32.const 2)))))
        (local.set $vScale (f32.load (i32.add (local.get $vAbsmax) (i32.shl (local.get $b) (i32.const 2)))))
        (local.set $mMax4 (v128.const i32x4 0 0 0 0))
        (local.set $vMax4 (v128.const i32x4 0 0 0 0))
        (local.set $mMax (f32.const 0))
        (local.set $vMax (f32.const 0))
        (local.set $k (i32.const 0))
        (if (local.get $regular)
          (then
            (local.set $pa (i32.shl (local.get $start) (i32.const 2)))
            (local.set $at (i32.add (i32.shl (local.get $word0) (i32.const 2)) (local.get $lane)))
            (call $adamRegular
              (i32.add (local.get $param) (local.get $pa)) (i32.add (local.get $grad) (local.get $pa))
              (i32.add (local.get $outParam) (local.get $pa)) (local.get $ms)
              (i32.add (local.get $ms) (i32.shl (local.get $count) (i32.const 2))) (local.get $vs)
              (i32.add (local.get $mIn) (local.get $at)) (i32.add (local.get $vIn) (local.get $at))
              (local.get $mCodec) (local.get $vCodec) (local.get $mScale) (local.get $vScale)
              (local.get $beta1) (local.get $oneMinusBeta1) (local.get $beta2) (local.get $oneMinusBeta2)
              (local.get $stepSize) (local.get $correction2) (local.get $epsilon)
              (local.get $decays) (local.get $decay) (local.get $l2s) (local.get $l2))
            (local.set $vMax4)
            (local.set $mMax4)
            (local.set $k (local.get $count)))
          (else
            (call $decode (local.get $mIn) (local.get $start) (local.get $count) (local.get $words) (local.get $mCodec)
              (local.get $mScale) (local.get $ms))
            (call $decode (local.get $vIn) (local.get $start) (local.get $count) (local.get $words) (local.get $vCodec)
              (local.get $vScale) (local.get $vs))))
        (block $done4
          (loop $rule4
            (br_if $done4 (i32.gt_u (i32.add (local.get $k) (i32.const 4)) (local.get $count)))
            (local.set $pa (i32.shl (i32.add (local.get $start) (local.get $k)) (i32.const 2)))
            (local.set $sa (i32.shl (local.get $k) (i32.const 2)))
            (local.set $p (v128.load (i32.add (local.get $param) (local.get $pa))))
            (local.set $g (v128.load (i32.add (local.get $grad) (local.get $pa))))
            (if (local.get $decays) (then (local.set $p (f32x4.mul (local.get $p) (f32x4.splat (local.get $decay))))))
            (if (local.get $l2s)
              (then (local.set $g (f32x4.add (local.get $g) (f32x4.mul (local.get $p) (f32x4.splat (local.get $l2)))))))
            (local.set $m
              (f32x4.add
                (f32x4.mul
                  (v128.load (i32.add (local.get $ms) (local.get $sa)))
                  (f32x4.splat (local.get $beta1)))
                (f32x4.mul (local.get $g) (f32x4.splat (local.get $oneMinusBeta1)))))
            (local.set $v
              (f32x4.add
                (f32x4.mul
                  (v128.load (i32.add (local.get $vs) (local.get $sa)))
                  (f32x4.splat (local.get $beta2)))
                (f32x4.mul (f32x4.mul (local.get $g) (local.get $g)) (f32x4.splat (local.get $oneMinusBeta2)))))
            (v128.store (i32.add (local.get $outParam) (local.get $pa))
              (f32x4.sub (local.get $p)
                (f32x4.mul
                  (f32x4.div (local.get $m)
                    (f32x4.add
                      (f32x4.div (f32x4.sqrt (local.get $v)) (f32x4.splat (local.get $correction2)))
                      (f32x4.splat (local.get $epsilon))))
                  (f32x4.splat (local.get $stepSize)))))
            (v128.store (i32.add (local.get $ms) (local.get $sa)) (local.get $m))
            (v128.store (i32.add (local.get $vs) (local.get $sa)) (local.get $v))
            (local.set $mMax4 (i32x4.max_u (local.get $mMax4) (f32x4.abs (local.get $m))))
            (local.set $vMax4 (i32x4.max_u (local.get $vMax4) (f32x4.abs (local.get $v))))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $rule4)))
        (block $done1
          (loop $rule1
            (br_if $done1 (i32.ge_u (local.get $k) (local.get $count)))
            (local.set $pa (i32.shl (i32.add (local.get $start) (local.get $k)) (i32.const 2)))
            (local.set $sa (i32.shl (local.get $k) (i32.const 2)))
            (local.set $ps (f32.load (i32.add (local.get $param) (local.get $pa))))
            (local.set $gs (f32.load (i32.add (local.get $grad) (local.get $pa))))
            (if (local.get $decays) (then (local.set $ps (f32.mul (local.get $ps) (local.get $decay)))))
            (if (local.get $l2s)
              (then (local.set $gs (f32.add (local.get $gs) (f32.mul (local.get $ps) (local.get $l2))))))
            (local.set $mf
              (f32.add
                (f32.mul (f32.load (i32.add (local.get $ms) (local.get $sa))) (local.get $beta1))
                (f32.mul (local.get $gs) (local.get $oneMinusBeta1))))
            (local.set $vf
              (f32.add
                (f32.mul (f32.load (i32.add (local.get $vs) (local.get $sa))) (local.get $beta2))
                (f32.mul (f32.mul (local.get $gs) (local.get $gs)) (local.get $oneMinusBeta2))))
            (f32.store (i32.add (local.get $outParam) (local.get $pa))
              (f32.sub (local.get $ps)
                (f32.mul
                  (f32.div (local.get $mf)
                    (f32.add (f32.div (f32.sqrt (local.get $vf)) (local.get $correction2)) (local.get $epsilon)))
                  (local.get $stepSize))))
            (f32.store (i32.add (local.get $ms) (local.get $sa)) (local.get $mf))
            (f32.store (i32.add (local.get $vs) (local.get $sa)) (local.get $vf))
            (local.set $mMax (f32.max (local.get $mMax) (f32.abs (local.get $mf))))
            (local.set $vMax (f32.max (local.get $vMax) (f32.abs (local.get $vf))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $rule1)))
        (local.set $mMax (call $absmax (local.get $mMax4) (local.get $mMax)))
        (local.set $vMax (call $absmax (local.get $vMax4) (local.get $vMax)))
        (f32.store (i32.add (local.get $outMAbsmax) (i32.shl (local.get $b) (i32.const 2))) (local.get $mMax))
        (f32.store (i32.add (local.get $outVAbsmax) (i32.shl (local.get $b) (i32.const 2))) (local.get $vMax))
        (call $encodeBlock (local.get $ms) (local.get $count) (local.get $mMax) (local.get $mCodec) (local.get $mOut)
          (local.get $start) (local.get $words) (local.get $regular) (local.get $lane) (local.get $word0))
        (call $encodeBlock (local.get $vs) (local.get $count) (local.get $vMax) (local.get $vCodec) (local.get $vOut)
          (local.get $start) (local.get $words) (local.get $regular) (local.get $lane) (local.get $word0))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (local.set $start (i32.add (local.get $start) (local.get $count)))
        (br $blocks)))
    (call $clearPadding (local.get $mOut) (local.get $n) (local.get $words))
    (call $clearPadding (local.get $vOut) (local.get $n) (local.get $words)))

  ;; B for a regular Adam block, A fused: elements from p, g (parameter, gradient) to out (new parameter) and the
  ;; scratch ms … end and vs (the new m and v); element k's codes are the bytes at mAt + 4k and vAt + 4k. Returns
  ;; the running maxima of |m'| and |v'| (as in the rule loops), every invariant held in a local.
  (func $adamRegular
    (param $p i32) (param $g i32) (param $out i32) (param $ms i32) (param $end i32) (param $vs i32)
    (param $mAt i32) (param $vAt i32) (param $mCodec i32) (param $vCodec i32) (param $mScale f32) (param $vScale f32)
    (param $beta1 f32) (param $oneMinusBeta1 f32) (param $beta2 f32) (param $oneMinusBeta2 f32) (param $stepSize f32)
    (param $correction2 f32) (param $epsilon f32) (param $decays i32) (param $decay f32) (param $l2s i32) (param $l2 f32)
    (result v128 v128)
    (local $mScale4 v128) (local $vScale4 v128) (local $beta14 v128) (local $c14 v128) (local $beta24 v128)
    (local $c24 v128) (local $stepSize4 v128) (local $correction24 v128) (local $epsilon4 v128) (local $decay4 v128)
    (local $l24 v128) (local $magnitude v128)
    (local $p4 v128) (local $g4 v128) (local $m v128) (local $v v128) (local $mMax4 v128) (local $vMax4 v128)
    (local.set $mScale4 (f32x4.splat (local.get $mScale)))
    (local.set $vScale4 (f32x4.splat (local.get $vScale)))
    (local.set $beta14 (f32x4.splat (local.get $beta1)))
    (local.set $c14 (f32x4.splat (local.get $oneMinusBeta1)))
    (local.set $beta24 (f32x4.splat (local.get $beta2)))
    (local.set $c24 (f32x4.splat (local.get $oneMinusBeta2)))
    (local.set $stepSize4 (f32x4.splat (local.get $stepSize)))
    (local.set $correction24 (f32x4.splat (local.get $correction2)))
    (local.set $epsilon4 (f32x4.splat (local.get $epsilon)))
    (local.set $decay4 (f32x4.splat (local.get $decay)))
    (local.set $l24 (f32x4.splat (local.get $l2)))
    (local.set $magnitude (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff))
    (loop $rule
      ;; unroll 2 16 $p $g $out $ms $vs $mAt $vAt
      (local.set $p4 (v128.load (local.get $p)))
      (local.set $g4 (v128.load (local.get $g)))
      (if (local.get $decays) (then (local.set $p4 (f32x4.mul (local.get $p4) (local.get $decay4)))))
      (if (local.get $l2s)
        (then (local.set $g4 (f32x4.add (local.get $g4) (f32x4.mul (local.get $p4) (local.get $l24))))))
      (local.set $m
        (f32x4.add
          (f32x4.mul
            (f32x4.mul
              (v128.load32_lane offset=16 3 (i32.add (local.get $mCodec) (i32.shl (i32.load8_u offset=12 (local.get $mAt)) (i32.const 2)))
                (v128.load32_lane offset=16 2 (i32.add (local.get $mCodec) (i32.shl (i32.load8_u offset=8 (local.get $mAt)) (i32.const 2)))
                  (v128.load32_lane offset=16 1 (i32.add (local.get $mCodec) (i32.shl (i32.load8_u offset=4 (local.get $mAt)) (i32.const 2)))
                    (v128.load32_zero offset=16 (i32.add (local.get $mCodec) (i32.shl (i32.load8_u (local.get $mAt)) (i32.const 2)))))))
              (local.get $mScale4))
            (local.get $beta14))
          (f32x4.mul (local.get $g4) (local.get $c14))))
      (local.set $v
        (f32x4.add
          (f32x4.mul
            (f32x4.mul
              (v128.load32_lane offset=16 3 (i32.add (local.get $vCodec) (i32.shl (i32.load8_u offset=12 (local.get $vAt)) (i32.const 2)))
                (v128.load32_lane offset=16 2 (i32.add (local.get $vCodec) (i32.shl (i32.load8_u offset=8 (local.get $vAt)) (i32.const 2)))
                  (v128.load32_lane offset=16 1 (i32.add (local.get $vCodec) (i32.shl (i32.load8_u offset=4 (local.get $vAt)) (i32.const 2)))
                    (v128.load32_zero offset=16 (i32.add (local.get $vCodec) (i32.shl (i32.load8_u (local.get $vAt)) (i32.const 2)))))))
              (local.get $vScale4))
            (local.get $beta24))
          (f32x4.mul (f32x4.mul (local.get $g4) (local.get $g4)) (local.get $c24))))
      (v128.store (local.get $out)
        (f32x4.sub (local.get $p4)
          (f32x4.mul
            (f32x4.div (local.get $m)
              (f32x4.add (f32x4.div (f32x4.sqrt (local.get $v)) (local.get $correction24)) (local.get $epsilon4)))
            (local.get $stepSize4))))
      (v128.store (local.get $ms) (local.get $m))
      (v128.store (local.get $vs) (local.get $v))
      (local.set $mMax4 (i32x4.max_u (local.get $mMax4) (v128.and (local.get $m) (local.get $magnitude))))
      (local.set $vMax4 (i32x4.max_u (local.get $vMax4) (v128.and (local.get $v) (local.get $magnitude))))
      ;; end unroll
      (local.set $p (i32.add (local.get $p) (i32.const 32)))
      (local.set $g (i32.add (local.get $g) (i32.const 32)))
      (local.set $out (i32.add (local.get $out) (i32.const 32)))
      (local.set $mAt (i32.add (local.get $mAt) (i32.const 32)))
      (local.set $vAt (i32.add (local.get $vAt) (i32.const 32)))
      (local.set $vs (i32.add (local.get $vs) (i32.const 32)))
      (local.set $ms (i32.add (local.get $ms) (i32.const 32)))
      (br_if $rule (i32.lt_u (local.get $ms) (local.get $end))))
    (local.get $mMax4) (local.get $vMax4))

  ;; Lion: c = m · β1 + g · (1 − β1); p' = (decays ? p · decay : p) − sign(c) · lr (sign(NaN) = 0);
  ;; m' = m · β2 + g · (1 − β2). `scratch` holds blockSize floats.
  (func (export "lionBlockwise8")
    (param $param i32) (param $grad i32) (param $wIn i32) (param $absmax i32) (param $outParam i32) (param $wOut i32)
    (param $outAbsmax i32) (param $n i32) (param $words i32) (param $blockSize i32) (param $scratch i32) (param $codec i32)
    (param $beta1 f32) (param $oneMinusBeta1 f32) (param $beta2 f32) (param $oneMinusBeta2 f32) (param $lr f32)
    (param $decays i32) (param $decay f32)
    (local $b i32) (local $start i32) (local $count i32) (local $k i32) (local $pa i32) (local $sa i32)
    (local $p v128) (local $g v128) (local $m v128) (local $c v128) (local $next v128) (local $max4 v128)
    (local $ps f32) (local $gs f32) (local $mf f32) (local $cf f32) (local $nf f32) (local $max f32)
    (local $lane i32) (local $word0 i32) (local $regular i32) (local $scale f32)
    (block $blocksDone
      (loop $blocks
        (br_if $blocksDone (i32.ge_u (local.get $start) (local.get $n)))
        (local.set $count (i32.sub (local.get $n) (local.get $start)))
        (if (i32.gt_u (local.get $count) (local.get $blockSize)) (then (local.set $count (local.get $blockSize))))
        ;; a block within one lane, of whole groups of 8, is regular: $lionRegular decodes inside its rule loop
        ;; (the codes of elements k … k + 3 are byte `lane` of words word0 + k … + 3)
        (local.set $lane (i32.div_u (local.get $start) (local.get $words)))
        (local.set $word0 (i32.sub (local.get $start) (i32.mul (local.get $lane) (local.get $words))))
        (local.set $regular
          (i32.and (i32.le_u (i32.add (local.get $word0) (local.get $count)) (local.get $words))
            (i32.and (i32.eqz (i32.and (local.get $count) (i32.const 7)))
              ;; (and a learning rate that $lionRegular may take as sign(c) · lr ∈ {lr, −lr, +0}: positive, finite)
              (i32.and (i32.gt_s (i32.reinterpret_f32 (local.get $lr)) (i32.const 0))
                (f32.lt (local.get $lr) (f32.const inf))))))
        (local.set $scale (f32.load (i32.add (local.get $absmax) (i32.shl (local.get $b) (i32.const 2)))))
        (local.set $max4 (v128.const i32x4 0 0 0 0))
        (local.set $max (f32.const 0))
        (local.set $k (i32.const 0))
        (if (local.get $regular)
          (then
            (local.set $pa (i32.shl (local.get $start) (i32.const 2)))
            (local.set $max4
              (call $lionRegular
                (i32.add (local.get $param) (local.get $pa)) (i32.add (local.get $grad) (local.get $pa))
                (i32.add (local.get $outParam) (local.get $pa)) (local.get $scratch)
                (i32.add (local.get $scratch) (i32.shl (local.get $count) (i32.const 2)))
                (i32.add (local.get $wIn) (i32.shl (local.get $word0) (i32.const 2))) (local.get $lane)
                (local.get $codec)
                (local.get $scale) (local.get $beta1) (local.get $oneMinusBeta1) (local.get $beta2)
                (local.get $oneMinusBeta2) (local.get $lr) (local.get $decays) (local.get $decay))))
          (else
            (call $decode (local.get $wIn) (local.get $start) (local.get $count) (local.get $words) (local.get $codec)
              (local.get $scale) (local.get $scratch))
            (block $done4
              (loop $rule4
                (br_if $done4 (i32.gt_u (i32.add (local.get $k) (i32.const 4)) (local.get $count)))
                (local.set $pa (i32.shl (i32.add (local.get $start) (local.get $k)) (i32.const 2)))
                (local.set $sa (i32.add (local.get $scratch) (i32.shl (local.get $k) (i32.const 2))))
                (local.set $m (v128.load (local.get $sa)))
                (local.set $g (v128.load (i32.add (local.get $grad) (local.get $pa))))
                (local.set $c
                  (f32x4.add (f32x4.mul (local.get $m) (f32x4.splat (local.get $beta1)))
                    (f32x4.mul (local.get $g) (f32x4.splat (local.get $oneMinusBeta1)))))
                (local.set $p (v128.load (i32.add (local.get $param) (local.get $pa))))
                (if (local.get $decays) (then (local.set $p (f32x4.mul (local.get $p) (f32x4.splat (local.get $decay))))))
                (v128.store (i32.add (local.get $outParam) (local.get $pa))
                  (f32x4.sub (local.get $p)
                    (f32x4.mul
                      (v128.or
                        (v128.and (f32x4.gt (local.get $c) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1))
                        (v128.and (f32x4.lt (local.get $c) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 -1 -1 -1 -1)))
                      (f32x4.splat (local.get $lr)))))
                (local.set $next
                  (f32x4.add (f32x4.mul (local.get $m) (f32x4.splat (local.get $beta2)))
                    (f32x4.mul (local.get $g) (f32x4.splat (local.get $oneMinusBeta2)))))
                (v128.store (local.get $sa) (local.get $next))
                (local.set $max4 (i32x4.max_u (local.get $max4) (f32x4.abs (local.get $next))))
                (local.set $k (i32.add (local.get $k) (i32.const 4)))
                (br $rule4)))
            (block $done1
              (loop $rule1
                (br_if $done1 (i32.ge_u (local.get $k) (local.get $count)))
                (local.set $pa (i32.shl (i32.add (local.get $start) (local.get $k)) (i32.const 2)))
                (local.set $sa (i32.add (local.get $scratch) (i32.shl (local.get $k) (i32.const 2))))
                (local.set $mf (f32.load (local.get $sa)))
                (local.set $gs (f32.load (i32.add (local.get $grad) (local.get $pa))))
                (local.set $cf
                  (f32.add (f32.mul (local.get $mf) (local.get $beta1)) (f32.mul (local.get $gs) (local.get $oneMinusBeta1))))
                (local.set $ps (f32.load (i32.add (local.get $param) (local.get $pa))))
                (if (local.get $decays) (then (local.set $ps (f32.mul (local.get $ps) (local.get $decay)))))
                (f32.store (i32.add (local.get $outParam) (local.get $pa))
                  (f32.sub (local.get $ps)
                    (f32.mul
                      (if (result f32) (f32.lt (local.get $cf) (f32.const 0))
                        (then (f32.const -1))
                        (else
                          (if (result f32) (f32.gt (local.get $cf) (f32.const 0))
                            (then (f32.const 1))
                            (else (f32.const 0)))))
                      (local.get $lr))))
                (local.set $nf
                  (f32.add (f32.mul (local.get $mf) (local.get $beta2)) (f32.mul (local.get $gs) (local.get $oneMinusBeta2))))
                (f32.store (local.get $sa) (local.get $nf))
                (local.set $max (f32.max (local.get $max) (f32.abs (local.get $nf))))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $rule1)))))
        (local.set $max (call $absmax (local.get $max4) (local.get $max)))
        (f32.store (i32.add (local.get $outAbsmax) (i32.shl (local.get $b) (i32.const 2))) (local.get $max))
        (call $encodeBlock (local.get $scratch) (local.get $count) (local.get $max) (local.get $codec) (local.get $wOut)
          (local.get $start) (local.get $words) (local.get $regular) (local.get $lane) (local.get $word0))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (local.set $start (i32.add (local.get $start) (local.get $count)))
        (br $blocks)))
    (call $clearPadding (local.get $wOut) (local.get $n) (local.get $words)))

  ;; B for a regular Lion block, A fused: elements from p, g (parameter, gradient) to out (new parameter) and
  ;; s … end (scratch: the new momentum); element k's code is byte `lane` of the word at w + 4k. The learning rate
  ;; is finite and positive. Returns the running maxima of |m'| (as in the rule loops). Every invariant is held
  ;; in a local, as V8 hoists none out of a loop, and as few as will do, as it spills the rest from the loop.
  (func $lionRegular
    (param $p i32) (param $g i32) (param $out i32) (param $s i32) (param $end i32) (param $w i32) (param $lane i32)
    (param $codec i32)
    (param $scale f32) (param $beta1 f32) (param $oneMinusBeta1 f32) (param $beta2 f32) (param $oneMinusBeta2 f32)
    (param $lr f32) (param $decays i32) (param $decay f32)
    (result v128)
    (local $scale4 v128) (local $beta14 v128) (local $c14 v128) (local $beta24 v128) (local $c24 v128)
    (local $lr4 v128) (local $decay4 v128) (local $magnitude v128)
    (local $m v128) (local $g4 v128) (local $c v128) (local $next v128) (local $max4 v128)
    (local $hi4 v128) (local $lo4 v128) (local $levels4 v128) (local $qf v128) (local $at i32) (local $top i32)
    (local.set $scale4 (f32x4.splat (local.get $scale)))
    (local.set $beta14 (f32x4.splat (local.get $beta1)))
    (local.set $c14 (f32x4.splat (local.get $oneMinusBeta1)))
    (local.set $beta24 (f32x4.splat (local.get $beta2)))
    (local.set $c24 (f32x4.splat (local.get $oneMinusBeta2)))
    (local.set $lr4 (f32x4.splat (local.get $lr)))
    ;; p · 1 is p, bit for bit (a NaN stays itself, and the subtraction after it quiets a signalling one anyway):
    ;; the lookup loop multiplies by 1 where there is no decay
    (local.set $decay4 (f32x4.splat (select (local.get $decay) (f32.const 1) (local.get $decays))))
    (local.set $magnitude (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff))
    ;; one loop per decode (V8 would compute the other's splats inside a shared loop); the rule after it is the same
    (if (if (result i32) (i32.load (local.get $codec)) (then (i32.const 0)) (else (i32.load offset=1048 (local.get $codec))))
      (then
        (local.set $hi4 (f32x4.splat (f32.load offset=1040 (local.get $codec))))
        (local.set $lo4 (f32x4.splat (f32.load offset=1044 (local.get $codec))))
        (local.set $levels4 (f32x4.splat (f32.load offset=4 (local.get $codec))))
        ;; byte `lane` of each word is the top byte of the word loaded from 3 bytes lower
        (local.set $top (i32.sub (i32.add (local.get $w) (local.get $lane)) (i32.const 3)))
        ;; int8 Lion's loop (a linear code), without a decay in its second copy: a multiplication and a register
        ;; fewer made it 0.95× as long (kernel alone, 10M, blocks of 256)
        (if (local.get $decays)
          (then
            (loop $arithmetic
              ;; unroll 2 16 $top $g $p $out $s
              ;; a linear code's q / levels as q · hi + q · lo (q · hi exact): the table's value for every byte, 0
              ;; where |q| > levels
              (local.set $qf (f32x4.convert_i32x4_s (i32x4.shr_s (v128.load (local.get $top)) (i32.const 24))))
              (local.set $m
                (f32x4.mul
                  (v128.andnot
                    (f32x4.add (f32x4.mul (local.get $qf) (local.get $hi4)) (f32x4.mul (local.get $qf) (local.get $lo4)))
                    (f32x4.gt (v128.and (local.get $qf) (local.get $magnitude)) (local.get $levels4)))
                  (local.get $scale4)))
              (local.set $g4 (v128.load (local.get $g)))
              (local.set $c
                (f32x4.add (f32x4.mul (local.get $m) (local.get $beta14)) (f32x4.mul (local.get $g4) (local.get $c14))))
              ;; sign(c) · lr is lr, −lr or 0 · lr = +0: (c > 0 ? lr : 0) − (c < 0 ? lr : 0), exactly (lr > 0, finite)
              (v128.store (local.get $out)
                (f32x4.sub (f32x4.mul (v128.load (local.get $p)) (local.get $decay4))
                  (f32x4.sub
                    (v128.and (f32x4.gt (local.get $c) (v128.const f32x4 0 0 0 0)) (local.get $lr4))
                    (v128.and (f32x4.lt (local.get $c) (v128.const f32x4 0 0 0 0)) (local.get $lr4)))))
              (local.set $next
                (f32x4.add (f32x4.mul (local.get $m) (local.get $beta24)) (f32x4.mul (local.get $g4) (local.get $c24))))
              (v128.store (local.get $s) (local.get $next))
              (local.set $max4 (i32x4.max_u (local.get $max4) (v128.and (local.get $next) (local.get $magnitude))))
              ;; end unroll
              (local.set $p (i32.add (local.get $p) (i32.const 32)))
              (local.set $g (i32.add (local.get $g) (i32.const 32)))
              (local.set $out (i32.add (local.get $out) (i32.const 32)))
              (local.set $top (i32.add (local.get $top) (i32.const 32)))
              (local.set $s (i32.add (local.get $s) (i32.const 32)))
              (br_if $arithmetic (i32.lt_u (local.get $s) (local.get $end)))))
          (else
            (loop $arithmeticNoDecay
              ;; unroll 2 16 $top $g $p $out $s
              ;; a linear code's q / levels as q · hi + q · lo (q · hi exact): the table's value for every byte, 0
              ;; where |q| > levels
              (local.set $qf (f32x4.convert_i32x4_s (i32x4.shr_s (v128.load (local.get $top)) (i32.const 24))))
              (local.set $m
                (f32x4.mul
                  (v128.andnot
                    (f32x4.add (f32x4.mul (local.get $qf) (local.get $hi4)) (f32x4.mul (local.get $qf) (local.get $lo4)))
                    (f32x4.gt (v128.and (local.get $qf) (local.get $magnitude)) (local.get $levels4)))
                  (local.get $scale4)))
              (local.set $g4 (v128.load (local.get $g)))
              (local.set $c
                (f32x4.add (f32x4.mul (local.get $m) (local.get $beta14)) (f32x4.mul (local.get $g4) (local.get $c14))))
              ;; sign(c) · lr is lr, −lr or 0 · lr = +0: (c > 0 ? lr : 0) − (c < 0 ? lr : 0), exactly (lr > 0, finite)
              (v128.store (local.get $out)
                (f32x4.sub (v128.load (local.get $p))
                  (f32x4.sub
                    (v128.and (f32x4.gt (local.get $c) (v128.const f32x4 0 0 0 0)) (local.get $lr4))
                    (v128.and (f32x4.lt (local.get $c) (v128.const f32x4 0 0 0 0)) (local.get $lr4)))))
              (local.set $next
                (f32x4.add (f32x4.mul (local.get $m) (local.get $beta24)) (f32x4.mul (local.get $g4) (local.get $c24))))
              (v128.store (local.get $s) (local.get $next))
              (local.set $max4 (i32x4.max_u (local.get $max4) (v128.and (local.get $next) (local.get $magnitude))))
              ;; end unroll
              (local.set $p (i32.add (local.get $p) (i32.const 32)))
              (local.set $g (i32.add (local.get $g) (i32.const 32)))
              (local.set $out (i32.add (local.get $out) (i32.const 32)))
              (local.set $top (i32.add (local.get $top) (i32.const 32)))
              (local.set $s (i32.add (local.get $s) (i32.const 32)))
              (br_if $arithmeticNoDecay (i32.lt_u (local.get $s) (local.get $end)))))))
      (else
        (local.set $at (i32.add (local.get $w) (local.get $lane)))
        (loop $lookup
          ;; unroll 2 16 $at $g $p $out $s
          ;; the table's entry for byte `lane` of each word
          (local.set $m
            (f32x4.mul
              (v128.load32_lane offset=16 3 (i32.add (local.get $codec) (i32.shl (i32.load8_u offset=12 (local.get $at)) (i32.const 2)))
                (v128.load32_lane offset=16 2 (i32.add (local.get $codec) (i32.shl (i32.load8_u offset=8 (local.get $at)) (i32.const 2)))
                  (v128.load32_lane offset=16 1 (i32.add (local.get $codec) (i32.shl (i32.load8_u offset=4 (local.get $at)) (i32.const 2)))
                    (v128.load32_zero offset=16 (i32.add (local.get $codec) (i32.shl (i32.load8_u (local.get $at)) (i32.const 2)))))))
              (local.get $scale4)))
          (local.set $g4 (v128.load (local.get $g)))
          (local.set $c
            (f32x4.add (f32x4.mul (local.get $m) (local.get $beta14)) (f32x4.mul (local.get $g4) (local.get $c14))))
          ;; sign(c) · lr is lr, −lr or 0 · lr = +0: (c > 0 ? lr : 0) − (c < 0 ? lr : 0), exactly (lr > 0, finite)
          (v128.store (local.get $out)
            (f32x4.sub (f32x4.mul (v128.load (local.get $p)) (local.get $decay4))
              (f32x4.sub
                (v128.and (f32x4.gt (local.get $c) (v128.const f32x4 0 0 0 0)) (local.get $lr4))
                (v128.and (f32x4.lt (local.get $c) (v128.const f32x4 0 0 0 0)) (local.get $lr4)))))
          (local.set $next
            (f32x4.add (f32x4.mul (local.get $m) (local.get $beta24)) (f32x4.mul (local.get $g4) (local.get $c24))))
          (v128.store (local.get $s) (local.get $next))
          (local.set $max4 (i32x4.max_u (local.get $max4) (v128.and (local.get $next) (local.get $magnitude))))
          ;; end unroll
          (local.set $p (i32.add (local.get $p) (i32.const 32)))
          (local.set $g (i32.add (local.get $g) (i32.const 32)))
          (local.set $out (i32.add (local.get $out) (i32.const 32)))
          (local.set $at (i32.add (local.get $at) (i32.const 32)))
          (local.set $s (i32.add (local.get $s) (i32.const 32)))
          (br_if $lookup (i32.lt_u (local.get $s) (local.get $end))))))
    (local.get $max4))
)
