;; The Adam step on float32 moments (optim-core's `AdamFloat32Update`, used by Adam and AdamW), as WebAssembly SIMD,
;; run in place on the tfjs wasm backend's memory (imported). All pointers are byte offsets. It computes exactly what
;; optim-core's `adamFloat32Step` (the JavaScript kernel, kept as the fallback) computes, lane by lane, in float32:
;;
;;   p  = decays ? p · decay : p;   g = l2s ? g + p · l2 : g
;;   m' = m · β1 + g · (1 − β1);    v' = v · β2 + (g · g) · (1 − β2)
;;   p' = p − (m' / (√v' / correction2 + ε)) · stepSize
;;
;; Each product, quotient and sum is one float32 operation, as the JavaScript loop's Math.fround: bit-identical
;; results. To round every product the module has no FMA build (build-simd.mjs lists it with `fma: false`).
;;
;; Regenerate generated/adam-float32-wasm.ts after editing: `node scripts/build-simd.mjs`.
(module
  (import "env" "memory" (memory 1))

  (func (export "adamFloat32")
    (param $param i32) (param $grad i32) (param $mIn i32) (param $vIn i32) (param $outParam i32) (param $outM i32)
    (param $outV i32) (param $n i32)
    (param $beta1 f32) (param $oneMinusBeta1 f32) (param $beta2 f32) (param $oneMinusBeta2 f32) (param $stepSize f32)
    (param $correction2 f32) (param $epsilon f32) (param $decays i32) (param $decay f32) (param $l2s i32) (param $l2 f32)
    (local $i i32) (local $at i32)
    (local $p v128) (local $g v128) (local $m v128) (local $v v128)
    (local $b1 v128) (local $nb1 v128) (local $b2 v128) (local $nb2 v128) (local $step v128) (local $c2 v128)
    (local $eps v128) (local $decayv v128) (local $l2v v128)
    (local $ps f32) (local $gs f32) (local $mf f32) (local $vf f32)
    (local.set $b1 (f32x4.splat (local.get $beta1)))
    (local.set $nb1 (f32x4.splat (local.get $oneMinusBeta1)))
    (local.set $b2 (f32x4.splat (local.get $beta2)))
    (local.set $nb2 (f32x4.splat (local.get $oneMinusBeta2)))
    (local.set $step (f32x4.splat (local.get $stepSize)))
    (local.set $c2 (f32x4.splat (local.get $correction2)))
    (local.set $eps (f32x4.splat (local.get $epsilon)))
    (local.set $decayv (f32x4.splat (local.get $decay)))
    (local.set $l2v (f32x4.splat (local.get $l2)))
    (block $done4
      (loop $four
        (br_if $done4 (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $n)))
        (local.set $at (i32.shl (local.get $i) (i32.const 2)))
        (local.set $p (v128.load (i32.add (local.get $param) (local.get $at))))
        (local.set $g (v128.load (i32.add (local.get $grad) (local.get $at))))
        (if (local.get $decays) (then (local.set $p (f32x4.mul (local.get $p) (local.get $decayv)))))
        (if (local.get $l2s)
          (then (local.set $g (f32x4.add (local.get $g) (f32x4.mul (local.get $p) (local.get $l2v))))))
        (local.set $m
          (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $mIn) (local.get $at))) (local.get $b1))
            (f32x4.mul (local.get $g) (local.get $nb1))))
        (local.set $v
          (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $vIn) (local.get $at))) (local.get $b2))
            (f32x4.mul (f32x4.mul (local.get $g) (local.get $g)) (local.get $nb2))))
        (v128.store (i32.add (local.get $outParam) (local.get $at))
          (f32x4.sub (local.get $p)
            (f32x4.mul
              (f32x4.div (local.get $m)
                (f32x4.add (f32x4.div (f32x4.sqrt (local.get $v)) (local.get $c2)) (local.get $eps)))
              (local.get $step))))
        (v128.store (i32.add (local.get $outM) (local.get $at)) (local.get $m))
        (v128.store (i32.add (local.get $outV) (local.get $at)) (local.get $v))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $four)))
    (block $done1
      (loop $one
        (br_if $done1 (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $at (i32.shl (local.get $i) (i32.const 2)))
        (local.set $ps (f32.load (i32.add (local.get $param) (local.get $at))))
        (local.set $gs (f32.load (i32.add (local.get $grad) (local.get $at))))
        (if (local.get $decays) (then (local.set $ps (f32.mul (local.get $ps) (local.get $decay)))))
        (if (local.get $l2s)
          (then (local.set $gs (f32.add (local.get $gs) (f32.mul (local.get $ps) (local.get $l2))))))
        (local.set $mf
          (f32.add (f32.mul (f32.load (i32.add (local.get $mIn) (local.get $at))) (local.get $beta1))
            (f32.mul (local.get $gs) (local.get $oneMinusBeta1))))
        (local.set $vf
          (f32.add (f32.mul (f32.load (i32.add (local.get $vIn) (local.get $at))) (local.get $beta2))
            (f32.mul (f32.mul (local.get $gs) (local.get $gs)) (local.get $oneMinusBeta2))))
        (f32.store (i32.add (local.get $outParam) (local.get $at))
          (f32.sub (local.get $ps)
            (f32.mul
              (f32.div (local.get $mf)
                (f32.add (f32.div (f32.sqrt (local.get $vf)) (local.get $correction2)) (local.get $epsilon)))
              (local.get $stepSize))))
        (f32.store (i32.add (local.get $outM) (local.get $at)) (local.get $mf))
        (f32.store (i32.add (local.get $outV) (local.get $at)) (local.get $vf))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $one))))
)
