;; The GradSign step over int8 counters packed 4 to an int32 word, as WebAssembly SIMD, run in place on the tfjs
;; wasm backend's memory (imported). All pointers are byte offsets. It computes exactly what optim-core's
;; `gradSignPacked4Step` (the JavaScript kernel, kept as the fallback) computes, lane by lane:
;;
;;   c' = c - ((c + half) >> shift) + push        (half = T/2, shift = log2 T: the decay, rounded half up)
;;   push = +k where g > 0; -k where g < 0; where g is 0, -0 or NaN: -k, or 0 when `zeroPushes` is 0
;;   p' = p - (f32(c') * scale) * lr             (three float32 operations, as the JS loop's Math.fround)
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
    (param $shift i32) (param $half i32) (param $k i32) (param $zeroPushes i32)
    (local $w i32) (local $simdEnd i32) (local $lane i32) (local $i i32) (local $at i32)
    (local $word v128) (local $packed v128) (local $c v128) (local $g v128) (local $gt v128) (local $neg v128)
    (local $kv v128) (local $halfv v128) (local $lrv v128) (local $scalev v128) (local $zeroMask v128)
    (local $cs i32) (local $gs f32) (local $packedS i32)
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
    (local.set $w (i32.const 0))
    (block $simdDone
      (loop $words4
        (br_if $simdDone (i32.ge_u (local.get $w) (local.get $simdEnd)))
        (local.set $word (v128.load (i32.add (local.get $words) (i32.shl (local.get $w) (i32.const 2)))))
        (local.set $packed (v128.const i32x4 0 0 0 0))
        (local.set $lane (i32.const 0))
        (loop $lanes4
          ;; byte offset of elements lane·m + w … + 3
          (local.set $at (i32.shl (i32.add (i32.mul (local.get $lane) (local.get $m)) (local.get $w)) (i32.const 2)))
          ;; the lane's counters, sign-extended: (word << (24 - 8·lane)) >> 24
          (local.set $c
            (i32x4.shr_s
              (i32x4.shl (local.get $word) (i32.sub (i32.const 24) (i32.shl (local.get $lane) (i32.const 3))))
              (i32.const 24)))
          (local.set $g (v128.load (i32.add (local.get $grad) (local.get $at))))
          (local.set $gt (f32x4.gt (local.get $g) (v128.const f32x4 0 0 0 0)))
          ;; where the push is -k: g < 0, or (reference) every lane that is not g > 0
          (local.set $neg
            (v128.bitselect
              (v128.not (local.get $gt))
              (f32x4.lt (local.get $g) (v128.const f32x4 0 0 0 0))
              (local.get $zeroMask)))
          (local.set $c
            (i32x4.add
              (i32x4.sub
                (local.get $c)
                (i32x4.shr_s (i32x4.add (local.get $c) (local.get $halfv)) (local.get $shift)))
              (i32x4.sub (v128.and (local.get $gt) (local.get $kv)) (v128.and (local.get $neg) (local.get $kv)))))
          (v128.store (i32.add (local.get $outParam) (local.get $at))
            (f32x4.sub
              (v128.load (i32.add (local.get $param) (local.get $at)))
              (f32x4.mul
                (f32x4.mul (f32x4.convert_i32x4_s (local.get $c)) (local.get $scalev))
                (local.get $lrv))))
          (local.set $packed
            (v128.or (local.get $packed)
              (i32x4.shl
                (v128.and (local.get $c) (v128.const i32x4 255 255 255 255))
                (i32.shl (local.get $lane) (i32.const 3)))))
          (local.set $lane (i32.add (local.get $lane) (i32.const 1)))
          (br_if $lanes4 (i32.lt_u (local.get $lane) (i32.const 4))))
        (v128.store (i32.add (local.get $outWords) (i32.shl (local.get $w) (i32.const 2))) (local.get $packed))
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
