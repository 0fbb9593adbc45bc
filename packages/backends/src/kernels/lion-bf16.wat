;; The Lion step with bf16 momentum (optim-lion's `LionBf16Update`), as WebAssembly SIMD, run in place on the tfjs
;; wasm backend's memory (imported). All pointers are byte offsets. It computes exactly what optim-lion's
;; `lionBf16Step` (the JavaScript kernel, kept as the fallback) computes, lane by lane, in float32:
;;
;;   m  = the bf16 pattern << 16
;;   c  = m·beta1 + g·(1 − beta1)
;;   p' = (decays ? p·decay : p) − sign(c)·lr        (sign(NaN) = 0, as the JS loop's comparisons give)
;;   m' = bf16(m·beta2 + g·(1 − beta2)), rounded to nearest even; −0 is stored as +0
;;
;; Each product and sum is one float32 operation, as the JS loop's Math.fround: bit-identical results, except in the
;; payload of a NaN momentum, which is a NaN either way: wasm arithmetic keeps a NaN's sign and payload (quieting a
;; signalling one), while V8's JS replaces some NaNs by its canonical 0x7fc00000 and keeps others. To round every
;; product the module has no FMA build (a fused multiply-add rounds once, not twice): build-simd.mjs lists it with `fma: false`.
;;
;; The layout is planar, two patterns to a word: element i is the low (i < m) or high half of word i mod m. The SIMD
;; loop covers groups of 4 words whose both halves hold elements; a scalar loop does the rest and leaves the halves
;; past the last element zero.
;;
;; Regenerate generated/lion-bf16-wasm.ts after editing: `node scripts/build-simd.mjs`.
(module
  (import "env" "memory" (memory 1))

  (func $bf16 (param $b i32) (result i32)
    (if (result i32) (i32.eq (local.get $b) (i32.const 0x80000000))
      (then (i32.const 0))
      (else
        (i32.shr_u
          (i32.add (i32.add (local.get $b) (i32.const 0x7fff))
            (i32.and (i32.shr_u (local.get $b) (i32.const 16)) (i32.const 1)))
          (i32.const 16)))))

  (func (export "lionBf16")
    (param $param i32) (param $grad i32) (param $words i32) (param $outParam i32) (param $outWords i32)
    (param $n i32) (param $m i32) (param $beta1 f32) (param $oneMinusBeta1 f32) (param $beta2 f32)
    (param $oneMinusBeta2 f32) (param $lr f32) (param $decays i32) (param $decay f32)
    (local $w i32) (local $simdEnd i32) (local $half i32) (local $i i32) (local $at i32)
    (local $word v128) (local $mom v128) (local $g v128) (local $c v128) (local $p v128) (local $lo v128)
    (local $b1 v128) (local $nb1 v128) (local $b2 v128) (local $nb2 v128) (local $lrv v128) (local $decayv v128)
    (local $ws i32) (local $ms f32) (local $gs f32) (local $cs f32) (local $ps f32) (local $out i32)
    (local.set $b1 (f32x4.splat (local.get $beta1)))
    (local.set $nb1 (f32x4.splat (local.get $oneMinusBeta1)))
    (local.set $b2 (f32x4.splat (local.get $beta2)))
    (local.set $nb2 (f32x4.splat (local.get $oneMinusBeta2)))
    (local.set $lrv (f32x4.splat (local.get $lr)))
    (local.set $decayv (f32x4.splat (local.get $decay)))
    ;; the high half of word w holds element m + w, valid while m + w < n
    (local.set $simdEnd (i32.sub (local.get $n) (local.get $m)))
    (if (i32.gt_s (local.get $simdEnd) (local.get $m)) (then (local.set $simdEnd (local.get $m))))
    (if (i32.lt_s (local.get $simdEnd) (i32.const 0)) (then (local.set $simdEnd (i32.const 0))))
    (local.set $simdEnd (i32.and (local.get $simdEnd) (i32.const -4)))
    (local.set $w (i32.const 0))
    (block $simdDone
      (loop $words4
        (br_if $simdDone (i32.ge_u (local.get $w) (local.get $simdEnd)))
        (local.set $word (v128.load (i32.add (local.get $words) (i32.shl (local.get $w) (i32.const 2)))))
        ;; both halves written out (no calls, no per-half branches: constant shifts and masks)
        ;; low halves: elements w … w + 3
        (local.set $at (i32.shl (local.get $w) (i32.const 2)))
        (local.set $mom (i32x4.shl (local.get $word) (i32.const 16)))
        (local.set $g (v128.load (i32.add (local.get $grad) (local.get $at))))
        (local.set $c
          (f32x4.add (f32x4.mul (local.get $mom) (local.get $b1)) (f32x4.mul (local.get $g) (local.get $nb1))))
        (local.set $p (v128.load (i32.add (local.get $param) (local.get $at))))
        (if (local.get $decays) (then (local.set $p (f32x4.mul (local.get $p) (local.get $decayv)))))
        ;; p − sign(c)·lr, sign(c) as (c > 0 ? 1 : 0) | (c < 0 ? −1 : 0)
        (v128.store (i32.add (local.get $outParam) (local.get $at))
          (f32x4.sub (local.get $p)
            (f32x4.mul
              (v128.or
                (v128.and (f32x4.gt (local.get $c) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1))
                (v128.and (f32x4.lt (local.get $c) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 -1 -1 -1 -1)))
              (local.get $lrv))))
        ;; the new momentum's bf16 pattern (low 16 bits), rounded to nearest even, −0 as +0
        (local.set $c
          (f32x4.add (f32x4.mul (local.get $mom) (local.get $b2)) (f32x4.mul (local.get $g) (local.get $nb2))))
        (local.set $c
          (v128.andnot
            (i32x4.shr_u
              (i32x4.add
                (i32x4.add (local.get $c) (v128.const i32x4 0x7fff 0x7fff 0x7fff 0x7fff))
                (v128.and (i32x4.shr_u (local.get $c) (i32.const 16)) (v128.const i32x4 1 1 1 1)))
              (i32.const 16))
            (i32x4.eq (local.get $c) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))))
        (local.set $lo (local.get $c))
        ;; high halves: elements m + w … m + w + 3
        (local.set $at (i32.shl (i32.add (local.get $m) (local.get $w)) (i32.const 2)))
        (local.set $mom (v128.and (local.get $word) (v128.const i32x4 0xffff0000 0xffff0000 0xffff0000 0xffff0000)))
        (local.set $g (v128.load (i32.add (local.get $grad) (local.get $at))))
        (local.set $c
          (f32x4.add (f32x4.mul (local.get $mom) (local.get $b1)) (f32x4.mul (local.get $g) (local.get $nb1))))
        (local.set $p (v128.load (i32.add (local.get $param) (local.get $at))))
        (if (local.get $decays) (then (local.set $p (f32x4.mul (local.get $p) (local.get $decayv)))))
        ;; p − sign(c)·lr, sign(c) as (c > 0 ? 1 : 0) | (c < 0 ? −1 : 0)
        (v128.store (i32.add (local.get $outParam) (local.get $at))
          (f32x4.sub (local.get $p)
            (f32x4.mul
              (v128.or
                (v128.and (f32x4.gt (local.get $c) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1))
                (v128.and (f32x4.lt (local.get $c) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 -1 -1 -1 -1)))
              (local.get $lrv))))
        ;; the new momentum's bf16 pattern (low 16 bits), rounded to nearest even, −0 as +0
        (local.set $c
          (f32x4.add (f32x4.mul (local.get $mom) (local.get $b2)) (f32x4.mul (local.get $g) (local.get $nb2))))
        (local.set $c
          (v128.andnot
            (i32x4.shr_u
              (i32x4.add
                (i32x4.add (local.get $c) (v128.const i32x4 0x7fff 0x7fff 0x7fff 0x7fff))
                (v128.and (i32x4.shr_u (local.get $c) (i32.const 16)) (v128.const i32x4 1 1 1 1)))
              (i32.const 16))
            (i32x4.eq (local.get $c) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))))
        (v128.store (i32.add (local.get $outWords) (i32.shl (local.get $w) (i32.const 2)))
          (v128.or (local.get $lo) (i32x4.shl (local.get $c) (i32.const 16))))
        (local.set $w (i32.add (local.get $w) (i32.const 4)))
        (br $words4)))
    ;; the remaining words one at a time; a half past the last element stays zero
    (block $done
      (loop $word1
        (br_if $done (i32.ge_u (local.get $w) (local.get $m)))
        (local.set $ws (i32.load (i32.add (local.get $words) (i32.shl (local.get $w) (i32.const 2)))))
        (local.set $out (i32.const 0))
        (local.set $half (i32.const 0))
        (block $halvesDone
          (loop $half1
            (br_if $halvesDone (i32.ge_u (local.get $half) (i32.const 2)))
            (local.set $i (i32.add (i32.mul (local.get $half) (local.get $m)) (local.get $w)))
            (br_if $halvesDone (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $at (i32.shl (local.get $i) (i32.const 2)))
            (local.set $ms
              (f32.reinterpret_i32
                (if (result i32) (local.get $half)
                  (then (i32.and (local.get $ws) (i32.const 0xffff0000)))
                  (else (i32.shl (local.get $ws) (i32.const 16))))))
            (local.set $gs (f32.load (i32.add (local.get $grad) (local.get $at))))
            (local.set $cs
              (f32.add (f32.mul (local.get $ms) (local.get $beta1)) (f32.mul (local.get $gs) (local.get $oneMinusBeta1))))
            (local.set $ps (f32.load (i32.add (local.get $param) (local.get $at))))
            (if (local.get $decays) (then (local.set $ps (f32.mul (local.get $ps) (local.get $decay)))))
            (f32.store (i32.add (local.get $outParam) (local.get $at))
              (f32.sub (local.get $ps)
                (f32.mul
                  (if (result f32) (f32.lt (local.get $cs) (f32.const 0))
                    (then (f32.const -1))
                    (else (if (result f32) (f32.gt (local.get $cs) (f32.const 0))
                      (then (f32.const 1))
                      (else (f32.const 0)))))
                  (local.get $lr))))
            (local.set $out
              (i32.or (local.get $out)
                (i32.shl
                  (call $bf16
                    (i32.reinterpret_f32 (f32.add
                      (f32.mul (local.get $ms) (local.get $beta2))
                      (f32.mul (local.get $gs) (local.get $oneMinusBeta2)))))
                  (i32.shl (local.get $half) (i32.const 4)))))
            (local.set $half (i32.add (local.get $half) (i32.const 1)))
            (br $half1)))
        (i32.store (i32.add (local.get $outWords) (i32.shl (local.get $w) (i32.const 2))) (local.get $out))
        (local.set $w (i32.add (local.get $w) (i32.const 1)))
        (br $word1)))
  )
)
