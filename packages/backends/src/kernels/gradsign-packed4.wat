;; The GradSign step over int8 counters packed 4 to an int32 word, as WebAssembly SIMD, run in place on the tfjs
;; wasm backend's memory (imported). All pointers are byte offsets. It computes exactly what optim-core's
;; `gradSignPacked4Step` (the JavaScript kernel, kept as the fallback) computes, lane by lane:
;;
;;   c' = c - ((c + half) >> shift) + push        (half = T/2, shift = log2 T: the decay, rounded half up)
;;   push = +k where g > 0; -k where g < 0; where g is 0, -0 or NaN: -k, or 0 when `zeroPushes` is 0
;;   p' = p - (f32(c') * scale) * lr             (three float32 operations, as the JS loop's Math.fround)
;;
;; With `bytewise` set, the SIMD loop runs the counter rule on 16 counters at once, in 8-bit lanes, straight on the
;; packed words: the decayed counters in 16-bit lanes (c - ((c + half) >> shift), narrowed back to bytes), and the
;; push from the 4 lanes' sign masks narrowed to bytes, added in 8 bits; the parameter as p - f32(c') * (scale * lr),
;; one product. That is exact only when every int8 counter steps to an int8 counter and scale * lr is a float32
;; (then c' * (scale * lr) and (c' * scale) * lr round the same real number); the caller sets `bytewise` only then
;; (`bytewiseExact` in gradsign-packed4-simd.ts). Otherwise each lane's counters are widened to 32 bits.
;;
;; The layout is planar: element i sits in byte lane floor(i / m) of word i mod m, so for 4 consecutive words the 4
;; elements of one lane are consecutive floats, and one v128 load reads them. The SIMD loop covers the words whose 4
;; lanes all hold elements; a scalar loop does the rest, leaving padding lanes (index >= n) zero.
;;
;; `scale` and `lr` must be float32 values (the JS kernel rounds lr to float32; scale is 1/(kT), a power of two).
;; Then f32(c') * scale is exact, and every product and difference below is the float32 operation the JS loop
;; rounds with Math.fround: bit-identical results.
;;
;; Regenerate generated/gradsign-packed4-wasm.ts after editing: `node scripts/build-simd.mjs`.
(module
  (import "env" "memory" (memory 1))

  (func (export "gradSignPacked4")
    (param $param i32) (param $grad i32) (param $words i32) (param $outParam i32) (param $outWords i32)
    (param $n i32) (param $m i32) (param $lr f32) (param $scale f32)
    (param $shift i32) (param $half i32) (param $k i32) (param $zeroPushes i32) (param $bytewise i32)
    (local $w i32) (local $w4 i32) (local $lane1 i32) (local $lane2 i32) (local $lane3 i32) (local $simdEnd i32) (local $lane i32) (local $i i32) (local $at i32)
    (local $word v128) (local $packed v128) (local $c v128) (local $g v128) (local $gt v128) (local $neg v128)
    (local $kv v128) (local $halfv v128) (local $lrv v128) (local $scalev v128) (local $zeroMask v128)
    (local $cs i32) (local $gs f32) (local $packedS i32)
    (local $c8 v128) (local $gt8 v128) (local $push8 v128) (local $k8 v128) (local $k2x8 v128) (local $factorv v128) (local $half16 v128) (local $lo16 v128)
    (local $hi16 v128)
    (local $g0 v128) (local $g1 v128) (local $g2 v128) (local $g3 v128)
    (local.set $kv (i32x4.splat (local.get $k)))
    (local.set $halfv (i32x4.splat (local.get $half)))
    (local.set $lrv (f32x4.splat (local.get $lr)))
    (local.set $scalev (f32x4.splat (local.get $scale)))
    ;; all ones where a zero gradient pushes by -k (the reference), all zeros where it does not push
    (local.set $zeroMask (i32x4.splat (i32.sub (i32.const 0) (i32.ne (local.get $zeroPushes) (i32.const 0)))))
    ;; words 0 … simdEnd-1 in groups of 4: lane 3 of word w holds element 3m + w, valid while 3m + w < n
    (local.set $simdEnd (i32.sub (local.get $n) (i32.mul (local.get $m) (i32.const 3))))
    (if (i32.gt_s (local.get $simdEnd) (local.get $m)) (then (local.set $simdEnd (local.get $m))))
    (if (i32.lt_s (local.get $simdEnd) (i32.const 0)) (then (local.set $simdEnd (i32.const 0))))
    (local.set $simdEnd (i32.and (local.get $simdEnd) (i32.const -4)))
    ;; byte distance between the lanes' elements of one word: lane L of word w holds element L·m + w
    (local.set $lane1 (i32.shl (local.get $m) (i32.const 2)))
    (local.set $lane2 (i32.shl (local.get $m) (i32.const 3)))
    (local.set $lane3 (i32.mul (local.get $m) (i32.const 12)))
    (local.set $w (i32.const 0))
    (if (local.get $bytewise) (then
    (local.set $k8 (i8x16.splat (local.get $k)))
    (local.set $k2x8 (i8x16.splat (i32.shl (local.get $k) (i32.const 1))))
    (local.set $factorv (f32x4.splat (f32.mul (local.get $scale) (local.get $lr))))
    (local.set $half16 (i16x8.splat (local.get $half)))
    (block $bytesDone
      (loop $bytes16
        (br_if $bytesDone (i32.ge_u (local.get $w) (local.get $simdEnd)))
        (local.set $w4 (i32.shl (local.get $w) (i32.const 2)))
        ;; 16 counters: byte 4j + L is lane L of word w + j
        (local.set $word (v128.load (i32.add (local.get $words) (local.get $w4))))
        (local.set $g0 (v128.load (i32.add (local.get $grad) (local.get $w4))))
        (local.set $g1 (v128.load (i32.add (local.get $grad) (i32.add (local.get $w4) (local.get $lane1)))))
        (local.set $g2 (v128.load (i32.add (local.get $grad) (i32.add (local.get $w4) (local.get $lane2)))))
        (local.set $g3 (v128.load (i32.add (local.get $grad) (i32.add (local.get $w4) (local.get $lane3)))))
        ;; g > 0 for the 4 lanes, narrowed to bytes lane-major (4L + j), then moved to the words' order (4j + L)
        (local.set $gt8
          (i8x16.shuffle 0 4 8 12 1 5 9 13 2 6 10 14 3 7 11 15
            (i8x16.narrow_i16x8_s
              (i16x8.narrow_i32x4_s
                (f32x4.gt (local.get $g0) (v128.const f32x4 0 0 0 0))
                (f32x4.gt (local.get $g1) (v128.const f32x4 0 0 0 0)))
              (i16x8.narrow_i32x4_s
                (f32x4.gt (local.get $g2) (v128.const f32x4 0 0 0 0))
                (f32x4.gt (local.get $g3) (v128.const f32x4 0 0 0 0))))
            (local.get $gt8)))
        ;; the push: +k where g > 0, else -k (the reference: (gt & 2k) - k), or -k only where g < 0
        (local.set $push8
          (if (result v128) (local.get $zeroPushes)
            (then (i8x16.sub (v128.and (local.get $gt8) (local.get $k2x8)) (local.get $k8)))
            (else
              (i8x16.sub (v128.and (local.get $gt8) (local.get $k8))
                (v128.and (local.get $k8)
                  (i8x16.shuffle 0 4 8 12 1 5 9 13 2 6 10 14 3 7 11 15
                    (i8x16.narrow_i16x8_s
                      (i16x8.narrow_i32x4_s
                        (f32x4.lt (local.get $g0) (v128.const f32x4 0 0 0 0))
                        (f32x4.lt (local.get $g1) (v128.const f32x4 0 0 0 0)))
                      (i16x8.narrow_i32x4_s
                        (f32x4.lt (local.get $g2) (v128.const f32x4 0 0 0 0))
                        (f32x4.lt (local.get $g3) (v128.const f32x4 0 0 0 0))))
                    (local.get $gt8)))))))
        ;; c' = c - floor((c + half) / T) + push, every step within 8 bits
        (local.set $lo16 (i16x8.extend_low_i8x16_s (local.get $word)))
        (local.set $hi16 (i16x8.extend_high_i8x16_s (local.get $word)))
        (local.set $c8
          (i8x16.add
            (i8x16.narrow_i16x8_s
              (i16x8.sub (local.get $lo16)
                (i16x8.shr_s (i16x8.add (local.get $lo16) (local.get $half16)) (local.get $shift)))
              (i16x8.sub (local.get $hi16)
                (i16x8.shr_s (i16x8.add (local.get $hi16) (local.get $half16)) (local.get $shift))))
            (local.get $push8)))
        (v128.store (i32.add (local.get $outWords) (local.get $w4)) (local.get $c8))
        ;; the parameters, lane by lane: the lane's new counters sign-extended to 32 bits
        (local.set $at (local.get $w4))
        (v128.store (i32.add (local.get $outParam) (local.get $at))
          (f32x4.sub (v128.load (i32.add (local.get $param) (local.get $at)))
            (f32x4.mul (f32x4.convert_i32x4_s
              (i32x4.shr_s (i32x4.shl (local.get $c8) (i32.const 24)) (i32.const 24)))
              (local.get $factorv))))
        (local.set $at (i32.add (local.get $w4) (local.get $lane1)))
        (v128.store (i32.add (local.get $outParam) (local.get $at))
          (f32x4.sub (v128.load (i32.add (local.get $param) (local.get $at)))
            (f32x4.mul (f32x4.convert_i32x4_s
              (i32x4.shr_s (i32x4.shl (local.get $c8) (i32.const 16)) (i32.const 24)))
              (local.get $factorv))))
        (local.set $at (i32.add (local.get $w4) (local.get $lane2)))
        (v128.store (i32.add (local.get $outParam) (local.get $at))
          (f32x4.sub (v128.load (i32.add (local.get $param) (local.get $at)))
            (f32x4.mul (f32x4.convert_i32x4_s
              (i32x4.shr_s (i32x4.shl (local.get $c8) (i32.const 8)) (i32.const 24)))
              (local.get $factorv))))
        (local.set $at (i32.add (local.get $w4) (local.get $lane3)))
        (v128.store (i32.add (local.get $outParam) (local.get $at))
          (f32x4.sub (v128.load (i32.add (local.get $param) (local.get $at)))
            (f32x4.mul (f32x4.convert_i32x4_s (i32x4.shr_s (local.get $c8) (i32.const 24)))
              (local.get $factorv))))
        (local.set $w (i32.add (local.get $w) (i32.const 4)))
        (br $bytes16)))))
    (block $simdDone
      (loop $words4
        (br_if $simdDone (i32.ge_u (local.get $w) (local.get $simdEnd)))
        (local.set $w4 (i32.shl (local.get $w) (i32.const 2)))
        (local.set $word (v128.load (i32.add (local.get $words) (local.get $w4))))
        ;; the four lanes, unrolled so every shift is a constant; each: the lane's counters sign-extended
        ;; ((word << (24 - 8·lane)) >> 24), the rule, the parameters, and the new byte packed back in place
        ;; lane 0: elements 0m + w … + 3
        (local.set $at (local.get $w4))
        (local.set $c (i32x4.shr_s (i32x4.shl (local.get $word) (i32.const 24)) (i32.const 24)))
        (local.set $g (v128.load (i32.add (local.get $grad) (local.get $at))))
        (local.set $gt (f32x4.gt (local.get $g) (v128.const f32x4 0 0 0 0)))
        (local.set $neg
          (v128.bitselect (v128.not (local.get $gt)) (f32x4.lt (local.get $g) (v128.const f32x4 0 0 0 0))
            (local.get $zeroMask)))
        (local.set $c
          (i32x4.add
            (i32x4.sub (local.get $c) (i32x4.shr_s (i32x4.add (local.get $c) (local.get $halfv)) (local.get $shift)))
            (i32x4.sub (v128.and (local.get $gt) (local.get $kv)) (v128.and (local.get $neg) (local.get $kv)))))
        (v128.store (i32.add (local.get $outParam) (local.get $at))
          (f32x4.sub
            (v128.load (i32.add (local.get $param) (local.get $at)))
            (f32x4.mul (f32x4.mul (f32x4.convert_i32x4_s (local.get $c)) (local.get $scalev)) (local.get $lrv))))
        (local.set $packed (v128.and (local.get $c) (v128.const i32x4 255 255 255 255)))
        ;; lane 1: elements 1m + w … + 3
        (local.set $at (i32.add (local.get $w4) (local.get $lane1)))
        (local.set $c (i32x4.shr_s (i32x4.shl (local.get $word) (i32.const 16)) (i32.const 24)))
        (local.set $g (v128.load (i32.add (local.get $grad) (local.get $at))))
        (local.set $gt (f32x4.gt (local.get $g) (v128.const f32x4 0 0 0 0)))
        (local.set $neg
          (v128.bitselect (v128.not (local.get $gt)) (f32x4.lt (local.get $g) (v128.const f32x4 0 0 0 0))
            (local.get $zeroMask)))
        (local.set $c
          (i32x4.add
            (i32x4.sub (local.get $c) (i32x4.shr_s (i32x4.add (local.get $c) (local.get $halfv)) (local.get $shift)))
            (i32x4.sub (v128.and (local.get $gt) (local.get $kv)) (v128.and (local.get $neg) (local.get $kv)))))
        (v128.store (i32.add (local.get $outParam) (local.get $at))
          (f32x4.sub
            (v128.load (i32.add (local.get $param) (local.get $at)))
            (f32x4.mul (f32x4.mul (f32x4.convert_i32x4_s (local.get $c)) (local.get $scalev)) (local.get $lrv))))
        (local.set $packed (v128.or (local.get $packed) (i32x4.shl (v128.and (local.get $c) (v128.const i32x4 255 255 255 255)) (i32.const 8))))
        ;; lane 2: elements 2m + w … + 3
        (local.set $at (i32.add (local.get $w4) (local.get $lane2)))
        (local.set $c (i32x4.shr_s (i32x4.shl (local.get $word) (i32.const 8)) (i32.const 24)))
        (local.set $g (v128.load (i32.add (local.get $grad) (local.get $at))))
        (local.set $gt (f32x4.gt (local.get $g) (v128.const f32x4 0 0 0 0)))
        (local.set $neg
          (v128.bitselect (v128.not (local.get $gt)) (f32x4.lt (local.get $g) (v128.const f32x4 0 0 0 0))
            (local.get $zeroMask)))
        (local.set $c
          (i32x4.add
            (i32x4.sub (local.get $c) (i32x4.shr_s (i32x4.add (local.get $c) (local.get $halfv)) (local.get $shift)))
            (i32x4.sub (v128.and (local.get $gt) (local.get $kv)) (v128.and (local.get $neg) (local.get $kv)))))
        (v128.store (i32.add (local.get $outParam) (local.get $at))
          (f32x4.sub
            (v128.load (i32.add (local.get $param) (local.get $at)))
            (f32x4.mul (f32x4.mul (f32x4.convert_i32x4_s (local.get $c)) (local.get $scalev)) (local.get $lrv))))
        (local.set $packed (v128.or (local.get $packed) (i32x4.shl (v128.and (local.get $c) (v128.const i32x4 255 255 255 255)) (i32.const 16))))
        ;; lane 3: elements 3m + w … + 3
        (local.set $at (i32.add (local.get $w4) (local.get $lane3)))
        (local.set $c (i32x4.shr_s (local.get $word) (i32.const 24)))
        (local.set $g (v128.load (i32.add (local.get $grad) (local.get $at))))
        (local.set $gt (f32x4.gt (local.get $g) (v128.const f32x4 0 0 0 0)))
        (local.set $neg
          (v128.bitselect (v128.not (local.get $gt)) (f32x4.lt (local.get $g) (v128.const f32x4 0 0 0 0))
            (local.get $zeroMask)))
        (local.set $c
          (i32x4.add
            (i32x4.sub (local.get $c) (i32x4.shr_s (i32x4.add (local.get $c) (local.get $halfv)) (local.get $shift)))
            (i32x4.sub (v128.and (local.get $gt) (local.get $kv)) (v128.and (local.get $neg) (local.get $kv)))))
        (v128.store (i32.add (local.get $outParam) (local.get $at))
          (f32x4.sub
            (v128.load (i32.add (local.get $param) (local.get $at)))
            (f32x4.mul (f32x4.mul (f32x4.convert_i32x4_s (local.get $c)) (local.get $scalev)) (local.get $lrv))))
        (local.set $packed (v128.or (local.get $packed) (i32x4.shl (v128.and (local.get $c) (v128.const i32x4 255 255 255 255)) (i32.const 24))))
        (v128.store (i32.add (local.get $outWords) (local.get $w4)) (local.get $packed))
        (local.set $w (i32.add (local.get $w) (i32.const 4)))
        (br $words4)))
    ;; the remaining words one at a time, skipping lanes past the last element
    (block $done
      (loop $word1
        (br_if $done (i32.ge_u (local.get $w) (local.get $m)))
        (local.set $packedS (i32.const 0))
        (local.set $lane (i32.const 0))
        (block $lanesDone
          (loop $lane1
            (br_if $lanesDone (i32.ge_u (local.get $lane) (i32.const 4)))
            (local.set $i (i32.add (i32.mul (local.get $lane) (local.get $m)) (local.get $w)))
            (br_if $lanesDone (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $at (i32.shl (local.get $i) (i32.const 2)))
            (local.set $cs
              (i32.shr_s
                (i32.shl
                  (i32.load (i32.add (local.get $words) (i32.shl (local.get $w) (i32.const 2))))
                  (i32.sub (i32.const 24) (i32.shl (local.get $lane) (i32.const 3))))
                (i32.const 24)))
            (local.set $gs (f32.load (i32.add (local.get $grad) (local.get $at))))
            (local.set $cs
              (i32.add
                (i32.sub
                  (local.get $cs)
                  (i32.shr_s (i32.add (local.get $cs) (local.get $half)) (local.get $shift)))
                (if (result i32) (f32.gt (local.get $gs) (f32.const 0))
                  (then (local.get $k))
                  (else
                    (if (result i32)
                      (i32.or (f32.lt (local.get $gs) (f32.const 0)) (i32.ne (local.get $zeroPushes) (i32.const 0)))
                      (then (i32.sub (i32.const 0) (local.get $k)))
                      (else (i32.const 0)))))))
            (f32.store (i32.add (local.get $outParam) (local.get $at))
              (f32.sub
                (f32.load (i32.add (local.get $param) (local.get $at)))
                (f32.mul (f32.mul (f32.convert_i32_s (local.get $cs)) (local.get $scale)) (local.get $lr))))
            (local.set $packedS
              (i32.or (local.get $packedS)
                (i32.shl (i32.and (local.get $cs) (i32.const 255)) (i32.shl (local.get $lane) (i32.const 3)))))
            (local.set $lane (i32.add (local.get $lane) (i32.const 1)))
            (br $lane1)))
        (i32.store (i32.add (local.get $outWords) (i32.shl (local.get $w) (i32.const 2))) (local.get $packedS))
        (local.set $w (i32.add (local.get $w) (i32.const 1)))
        (br $word1)))
  )
)
