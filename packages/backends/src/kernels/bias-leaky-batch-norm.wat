;; SIMD kernels for blog-cnn's fused block tail (bias + leakyReLU + BatchNorm), run in place on the tfjs wasm
;; backend's memory (imported). See fused.ts for the maths. All pointers are byte offsets of float32 data,
;; NHWC with C (a multiple of 4) channels innermost; `npos` = B·H·W positions.
;;
;; Per-channel sums are accumulated in float32 lanes in `part` (f32[2C]) and folded into float64 totals in
;; `acc` (f64[2C]) every 64 positions, so the rounding error stays that of 64-term float32 sums.
;;
;; Regenerate fused-simd-wasm.ts after editing: `node scripts/build-simd.mjs`.
(module
  (import "env" "memory" (memory 1))

  ;; acc[i] += part[i]; part[i] = 0, for i < n.
  (func $fold (param $acc i32) (param $part i32) (param $n i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (f64.store
          (i32.add (local.get $acc) (i32.shl (local.get $i) (i32.const 3)))
          (f64.add
            (f64.load (i32.add (local.get $acc) (i32.shl (local.get $i) (i32.const 3))))
            (f64.promote_f32 (f32.load (i32.add (local.get $part) (i32.shl (local.get $i) (i32.const 2)))))))
        (f32.store (i32.add (local.get $part) (i32.shl (local.get $i) (i32.const 2))) (f32.const 0))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  ;; leakyReLU(z) lane-wise, z > 0 ? z : slope·z, is written out inline wherever it is used, as
  ;;   (block (result v128) (local.set $lz z) (v128.bitselect (local.get $lz) (f32x4.mul s (local.get $lz))
  ;;     (f32x4.gt (local.get $lz) 0)))
  ;; rather than called: V8 (Node 20) does not inline wasm calls, and the call in the inner loops made every
  ;; kernel here about 1.7x slower. The operations, and so the results, are the same.

  ;; Training forward, pass 1: y = leaky(x + bias); acc[0..C) += Σ y, acc[C..2C) += Σ y².
  (func (export "fwdStats")
    (param $x i32) (param $bias i32) (param $y i32) (param $acc i32) (param $part i32)
    (param $npos i32) (param $C i32) (param $slope f32)
    (local $lz v128) (local $p i32) (local $cb i32) (local $row i32) (local $a v128) (local $s v128) (local $ps i32)
    (local.set $row (i32.shl (local.get $C) (i32.const 2)))
    (local.set $s (f32x4.splat (local.get $slope)))
    (block $done
      (loop $pos
        (br_if $done (i32.ge_u (local.get $p) (local.get $npos)))
        (local.set $cb (i32.const 0))
        (loop $ch
          (local.set $a
            (block (result v128) (local.set $lz (f32x4.add
                (v128.load (i32.add (local.get $x) (local.get $cb)))
                (v128.load (i32.add (local.get $bias) (local.get $cb))))) (v128.bitselect (local.get $lz) (f32x4.mul (local.get $s) (local.get $lz)) (f32x4.gt (local.get $lz) (v128.const f32x4 0 0 0 0)))))
          (v128.store (i32.add (local.get $y) (local.get $cb)) (local.get $a))
          (local.set $ps (i32.add (local.get $part) (local.get $cb)))
          (v128.store (local.get $ps) (f32x4.add (v128.load (local.get $ps)) (local.get $a)))
          (local.set $ps (i32.add (local.get $ps) (local.get $row)))
          (v128.store (local.get $ps)
            (f32x4.add (v128.load (local.get $ps)) (f32x4.mul (local.get $a) (local.get $a))))
          (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
          (br_if $ch (i32.lt_u (local.get $cb) (local.get $row))))
        (local.set $x (i32.add (local.get $x) (local.get $row)))
        (local.set $y (i32.add (local.get $y) (local.get $row)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (if (i32.eqz (i32.and (local.get $p) (i32.const 63)))
          (then (call $fold (local.get $acc) (local.get $part) (i32.shl (local.get $C) (i32.const 1)))))
        (br $pos)))
    (call $fold (local.get $acc) (local.get $part) (i32.shl (local.get $C) (i32.const 1))))

  ;; y = (y − mean)·scale + shift, in place; mean, scale, shift are f32[C].
  (func (export "affine")
    (param $y i32) (param $mean i32) (param $scale i32) (param $shift i32) (param $npos i32) (param $C i32)
    (local $p i32) (local $cb i32) (local $row i32)
    (local.set $row (i32.shl (local.get $C) (i32.const 2)))
    (block $done
      (loop $pos
        (br_if $done (i32.ge_u (local.get $p) (local.get $npos)))
        (local.set $cb (i32.const 0))
        (loop $ch
          (v128.store (i32.add (local.get $y) (local.get $cb))
            (f32x4.add
              (f32x4.mul
                (f32x4.sub
                  (v128.load (i32.add (local.get $y) (local.get $cb)))
                  (v128.load (i32.add (local.get $mean) (local.get $cb))))
                (v128.load (i32.add (local.get $scale) (local.get $cb))))
              (v128.load (i32.add (local.get $shift) (local.get $cb)))))
          (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
          (br_if $ch (i32.lt_u (local.get $cb) (local.get $row))))
        (local.set $y (i32.add (local.get $y) (local.get $row)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $pos))))

  ;; Eval forward: y = (leaky(x + bias) − mean)·scale + shift.
  (func (export "leakyAffine")
    (param $x i32) (param $bias i32) (param $mean i32) (param $scale i32) (param $shift i32) (param $y i32)
    (param $npos i32) (param $C i32) (param $slope f32)
    (local $lz v128) (local $p i32) (local $cb i32) (local $row i32) (local $s v128)
    (local.set $row (i32.shl (local.get $C) (i32.const 2)))
    (local.set $s (f32x4.splat (local.get $slope)))
    (block $done
      (loop $pos
        (br_if $done (i32.ge_u (local.get $p) (local.get $npos)))
        (local.set $cb (i32.const 0))
        (loop $ch
          (v128.store (i32.add (local.get $y) (local.get $cb))
            (f32x4.add
              (f32x4.mul
                (f32x4.sub
                  (block (result v128) (local.set $lz (f32x4.add
                      (v128.load (i32.add (local.get $x) (local.get $cb)))
                      (v128.load (i32.add (local.get $bias) (local.get $cb))))) (v128.bitselect (local.get $lz) (f32x4.mul (local.get $s) (local.get $lz)) (f32x4.gt (local.get $lz) (v128.const f32x4 0 0 0 0))))
                  (v128.load (i32.add (local.get $mean) (local.get $cb))))
                (v128.load (i32.add (local.get $scale) (local.get $cb))))
              (v128.load (i32.add (local.get $shift) (local.get $cb)))))
          (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
          (br_if $ch (i32.lt_u (local.get $cb) (local.get $row))))
        (local.set $x (i32.add (local.get $x) (local.get $row)))
        (local.set $y (i32.add (local.get $y) (local.get $row)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $pos))))

  ;; Backward, pass 1: acc[0..C) += Σ dy, acc[C..2C) += Σ dy·â with â = (leaky(x + bias) − mean)·inv.
  (func (export "bwdStats")
    (param $dy i32) (param $x i32) (param $bias i32) (param $mean i32) (param $inv i32) (param $acc i32)
    (param $part i32) (param $npos i32) (param $C i32) (param $slope f32)
    (local $lz v128) (local $p i32) (local $cb i32) (local $row i32) (local $s v128) (local $g v128) (local $ah v128)
    (local $ps i32)
    (local.set $row (i32.shl (local.get $C) (i32.const 2)))
    (local.set $s (f32x4.splat (local.get $slope)))
    (block $done
      (loop $pos
        (br_if $done (i32.ge_u (local.get $p) (local.get $npos)))
        (local.set $cb (i32.const 0))
        (loop $ch
          (local.set $g (v128.load (i32.add (local.get $dy) (local.get $cb))))
          (local.set $ah
            (f32x4.mul
              (f32x4.sub
                (block (result v128) (local.set $lz (f32x4.add
                    (v128.load (i32.add (local.get $x) (local.get $cb)))
                    (v128.load (i32.add (local.get $bias) (local.get $cb))))) (v128.bitselect (local.get $lz) (f32x4.mul (local.get $s) (local.get $lz)) (f32x4.gt (local.get $lz) (v128.const f32x4 0 0 0 0))))
                (v128.load (i32.add (local.get $mean) (local.get $cb))))
              (v128.load (i32.add (local.get $inv) (local.get $cb)))))
          (local.set $ps (i32.add (local.get $part) (local.get $cb)))
          (v128.store (local.get $ps) (f32x4.add (v128.load (local.get $ps)) (local.get $g)))
          (local.set $ps (i32.add (local.get $ps) (local.get $row)))
          (v128.store (local.get $ps)
            (f32x4.add (v128.load (local.get $ps)) (f32x4.mul (local.get $g) (local.get $ah))))
          (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
          (br_if $ch (i32.lt_u (local.get $cb) (local.get $row))))
        (local.set $dy (i32.add (local.get $dy) (local.get $row)))
        (local.set $x (i32.add (local.get $x) (local.get $row)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (if (i32.eqz (i32.and (local.get $p) (i32.const 63)))
          (then (call $fold (local.get $acc) (local.get $part) (i32.shl (local.get $C) (i32.const 1)))))
        (br $pos)))
    (call $fold (local.get $acc) (local.get $part) (i32.shl (local.get $C) (i32.const 1))))

  ;; Backward, pass 2: da = k·(dy − m1 − â·m2); dx = z > 0 ? da : slope·da; acc[0..C) += Σ dx.
  (func (export "bwdDx")
    (param $dy i32) (param $x i32) (param $bias i32) (param $mean i32) (param $inv i32) (param $k i32)
    (param $m1 i32) (param $m2 i32) (param $dx i32) (param $acc i32) (param $part i32)
    (param $npos i32) (param $C i32) (param $slope f32)
    (local $lz v128) (local $p i32) (local $cb i32) (local $row i32) (local $s v128) (local $z v128) (local $ah v128)
    (local $da v128) (local $d v128) (local $ps i32)
    (local.set $row (i32.shl (local.get $C) (i32.const 2)))
    (local.set $s (f32x4.splat (local.get $slope)))
    (block $done
      (loop $pos
        (br_if $done (i32.ge_u (local.get $p) (local.get $npos)))
        (local.set $cb (i32.const 0))
        (loop $ch
          (local.set $z
            (f32x4.add
              (v128.load (i32.add (local.get $x) (local.get $cb)))
              (v128.load (i32.add (local.get $bias) (local.get $cb)))))
          (local.set $ah
            (f32x4.mul
              (f32x4.sub
                (block (result v128) (local.set $lz (local.get $z)) (v128.bitselect (local.get $lz) (f32x4.mul (local.get $s) (local.get $lz)) (f32x4.gt (local.get $lz) (v128.const f32x4 0 0 0 0))))
                (v128.load (i32.add (local.get $mean) (local.get $cb))))
              (v128.load (i32.add (local.get $inv) (local.get $cb)))))
          (local.set $da
            (f32x4.mul
              (v128.load (i32.add (local.get $k) (local.get $cb)))
              (f32x4.sub
                (f32x4.sub
                  (v128.load (i32.add (local.get $dy) (local.get $cb)))
                  (v128.load (i32.add (local.get $m1) (local.get $cb))))
                (f32x4.mul (local.get $ah) (v128.load (i32.add (local.get $m2) (local.get $cb)))))))
          (local.set $d
            (v128.bitselect
              (local.get $da)
              (f32x4.mul (local.get $s) (local.get $da))
              (f32x4.gt (local.get $z) (v128.const f32x4 0 0 0 0))))
          (v128.store (i32.add (local.get $dx) (local.get $cb)) (local.get $d))
          (local.set $ps (i32.add (local.get $part) (local.get $cb)))
          (v128.store (local.get $ps) (f32x4.add (v128.load (local.get $ps)) (local.get $d)))
          (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
          (br_if $ch (i32.lt_u (local.get $cb) (local.get $row))))
        (local.set $dy (i32.add (local.get $dy) (local.get $row)))
        (local.set $x (i32.add (local.get $x) (local.get $row)))
        (local.set $dx (i32.add (local.get $dx) (local.get $row)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (if (i32.eqz (i32.and (local.get $p) (i32.const 63)))
          (then (call $fold (local.get $acc) (local.get $part) (local.get $C))))
        (br $pos)))
    (call $fold (local.get $acc) (local.get $part) (local.get $C))))
