;; Max-pool backprop on NHWC float32 data, as WebAssembly SIMD, run in place on the tfjs wasm backend's memory
;; (imported). All pointers are byte offsets of float32 data. The semantics are exactly those of `maxPoolBackprop`
;; in maxpool.ts (the plain-JS kernel, kept as the fallback), lane by lane:
;;
;; - each window routes its dy to the FIRST position, in row-major window order, holding the window's maximum: the
;;   running maximum starts at −Infinity and is replaced only when `x > best` (f32x4.gt), so ties keep the first
;;   position, NaN is never selected, and a window of −Infinity (or NaN) routes nothing;
;; - positions in the padding are skipped (each window's row and column ranges are clipped to the image);
;; - overlapping windows add their contributions into dx in the same order as the JS loop (b, then output row,
;;   then output column), so every dx element sees the same float32 additions in the same order.
;;
;; Per window and group of 4 channels, a first pass finds the winning window position per lane (its ordinal
;; i·KW + j, or −1); a second pass over the same positions adds `dy & (ordinal == k)` to dx: dy where the lane's
;; winner is that position, +0 elsewhere. Adding +0 leaves a float unchanged except −0, and dx never holds −0 (it
;; starts at +0, and a float32 sum that is exactly zero rounds to +0), so the result is bit-identical to the JS
;; loop's, which adds only at the winner.
;;
;; When the windows tile the image (`tile` ≠ 0: stride = window size, no padding, and the windows cover every
;; position exactly once, as in a 2×2/2 pool of an even-sized image) every dx element gets exactly one term, so it
;; is stored as +0 + term without reading dx, and dx need not be zero-filled: the same float32 addition the JS loop
;; does on its zero-filled dx (+0 + −0 is +0 in both).
;;
;; C must be a multiple of 4. Otherwise dx must be zero-filled by the caller. Dilation 1 (max pools have none).
;;
;; Regenerate maxpool-grad-wasm.ts after editing: `node scripts/build-simd.mjs`.
(module
  (import "env" "memory" (memory 1))

  (func (export "maxPoolGrad")
    (param $x i32) (param $dy i32) (param $dx i32)
    (param $N i32) (param $H i32) (param $W i32) (param $C i32) (param $OH i32) (param $OW i32)
    (param $KH i32) (param $KW i32) (param $SH i32) (param $SW i32) (param $top i32) (param $left i32) (param $tile i32)
    (local $pix i32) (local $row i32) (local $img i32) (local $imgOff i32)
    (local $b i32) (local $r i32) (local $q i32) (local $r0 i32) (local $q0 i32)
    (local $i0 i32) (local $i1 i32) (local $j0 i32) (local $j1 i32) (local $i i32) (local $j i32)
    (local $start i32) (local $g i32) (local $p i32) (local $prow i32) (local $k i32) (local $dyp i32)
    (local $best v128) (local $arg v128) (local $v v128) (local $m v128) (local $d v128) (local $ks v128)
    (local.set $pix (i32.shl (local.get $C) (i32.const 2)))
    (local.set $row (i32.mul (local.get $W) (local.get $pix)))
    (local.set $img (i32.mul (local.get $H) (local.get $row)))
    (local.set $dyp (local.get $dy))
    (local.set $b (i32.const 0))
    (block $bdone
      (loop $bl
        (br_if $bdone (i32.ge_s (local.get $b) (local.get $N)))
        (local.set $imgOff (i32.mul (local.get $b) (local.get $img)))
        (local.set $r (i32.const 0))
        (block $rdone
          (loop $rl
            (br_if $rdone (i32.ge_s (local.get $r) (local.get $OH)))
            (local.set $r0 (i32.sub (i32.mul (local.get $r) (local.get $SH)) (local.get $top)))
            ;; i0 = max(0, −r0), i1 = min(KH, H − r0)
            (local.set $i0 (select (i32.sub (i32.const 0) (local.get $r0)) (i32.const 0)
              (i32.lt_s (local.get $r0) (i32.const 0))))
            (local.set $i1 (i32.sub (local.get $H) (local.get $r0)))
            (if (i32.gt_s (local.get $i1) (local.get $KH)) (then (local.set $i1 (local.get $KH))))
            (local.set $q (i32.const 0))
            (block $qdone
              (loop $ql
                (br_if $qdone (i32.ge_s (local.get $q) (local.get $OW)))
                (local.set $q0 (i32.sub (i32.mul (local.get $q) (local.get $SW)) (local.get $left)))
                (local.set $j0 (select (i32.sub (i32.const 0) (local.get $q0)) (i32.const 0)
                  (i32.lt_s (local.get $q0) (i32.const 0))))
                (local.set $j1 (i32.sub (local.get $W) (local.get $q0)))
                (if (i32.gt_s (local.get $j1) (local.get $KW)) (then (local.set $j1 (local.get $KW))))
                ;; Byte offset (from x or dx) of the window's first in-image position, channel 0.
                (local.set $start (i32.add (local.get $imgOff)
                  (i32.add
                    (i32.mul (i32.add (local.get $r0) (local.get $i0)) (local.get $row))
                    (i32.mul (i32.add (local.get $q0) (local.get $j0)) (local.get $pix)))))
                (local.set $g (i32.const 0))
                (block $gdone
                  (loop $gl
                    (br_if $gdone (i32.ge_s (local.get $g) (local.get $pix)))
                    (local.set $best (v128.const f32x4 -inf -inf -inf -inf))
                    (local.set $arg (v128.const i32x4 -1 -1 -1 -1))
                    ;; Pass 1: the first position of the maximum, per lane.
                    (local.set $prow (i32.add (local.get $start) (local.get $g)))
                    (local.set $i (local.get $i0))
                    (block $i1done
                      (loop $il1
                        (br_if $i1done (i32.ge_s (local.get $i) (local.get $i1)))
                        (local.set $p (local.get $prow))
                        (local.set $j (local.get $j0))
                        (block $j1done
                          (loop $jl1
                            (br_if $j1done (i32.ge_s (local.get $j) (local.get $j1)))
                            (local.set $v (v128.load (i32.add (local.get $x) (local.get $p))))
                            (local.set $m (f32x4.gt (local.get $v) (local.get $best)))
                            (local.set $best (v128.bitselect (local.get $v) (local.get $best) (local.get $m)))
                            (local.set $arg (v128.bitselect
                              (i32x4.splat (i32.add (i32.mul (local.get $i) (local.get $KW)) (local.get $j)))
                              (local.get $arg) (local.get $m)))
                            (local.set $p (i32.add (local.get $p) (local.get $pix)))
                            (local.set $j (i32.add (local.get $j) (i32.const 1)))
                            (br $jl1)))
                        (local.set $prow (i32.add (local.get $prow) (local.get $row)))
                        (local.set $i (i32.add (local.get $i) (i32.const 1)))
                        (br $il1)))
                    ;; Pass 2: dx at each position += dy in the lanes it won (+0 in the others).
                    (local.set $d (v128.load (local.get $dyp)))
                    (local.set $prow (i32.add (i32.add (local.get $dx) (local.get $start)) (local.get $g)))
                    (local.set $i (local.get $i0))
                    (block $i2done
                      (loop $il2
                        (br_if $i2done (i32.ge_s (local.get $i) (local.get $i1)))
                        (local.set $p (local.get $prow))
                        (local.set $j (local.get $j0))
                        (block $j2done
                          (loop $jl2
                            (br_if $j2done (i32.ge_s (local.get $j) (local.get $j1)))
                            (local.set $ks
                              (i32x4.splat (i32.add (i32.mul (local.get $i) (local.get $KW)) (local.get $j))))
                            (local.set $m (i32x4.eq (local.get $arg) (local.get $ks)))
                            (if (local.get $tile)
                              (then
                                (v128.store (local.get $p)
                                  (f32x4.add (v128.const f32x4 0 0 0 0) (v128.and (local.get $d) (local.get $m)))))
                              (else
                                (if (v128.any_true (local.get $m))
                                  (then
                                    (v128.store (local.get $p)
                                      (f32x4.add (v128.load (local.get $p))
                                        (v128.and (local.get $d) (local.get $m))))))))
                            (local.set $p (i32.add (local.get $p) (local.get $pix)))
                            (local.set $j (i32.add (local.get $j) (i32.const 1)))
                            (br $jl2)))
                        (local.set $prow (i32.add (local.get $prow) (local.get $row)))
                        (local.set $i (i32.add (local.get $i) (i32.const 1)))
                        (br $il2)))
                    (local.set $dyp (i32.add (local.get $dyp) (i32.const 16)))
                    (local.set $g (i32.add (local.get $g) (i32.const 16)))
                    (br $gl)))
                (local.set $q (i32.add (local.get $q) (i32.const 1)))
                (br $ql)))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $rl)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $bl)))
  )
)
