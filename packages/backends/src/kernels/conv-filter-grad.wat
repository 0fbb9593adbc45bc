;; Filter gradient of a NHWC conv2d with stride 1 and dilation 1, as WebAssembly SIMD, run in place on the tfjs
;; wasm backend's memory (imported). All pointers are byte offsets of float32 data.
;;
;;   dW[kh, kw, ci, co] += Σ over n, oh, ow of x[n, oh + kh − top, ow + kw − left, ci] · dy[n, oh, ow, co]
;;
;; over the (oh, ow) for which the x index is inside the image: padding ('same', explicit, or 'valid') is handled
;; by clipping each tap's row and column ranges, never by reading a padded copy of x.
;;
;; In NHWC a row of x and a row of dy are contiguous over channels, so for one tap the sum is a run of rank-1
;; updates: floats of x (splatted) times a row of dy. A tile of 2 input channels × 16 output channels (8 v128
;; accumulators, plus 2 splats and 4 dy vectors: 14 of the 15 xmm registers V8 allocates on x64, so nothing spills)
;; stays in registers over a block of R output rows of one image, and is then added to dW in memory. Blocking by
;; rows keeps that block's x and dy in L1 while every (kh, kw, ci) reads it again, and the per-block partial sums
;; keep the float32 rounding error that of sums of about R·OW terms plus one sum of a term per block, rather than of
;; one running sum over all N·OH·OW terms. There is no FMA in wasm SIMD: f32x4.mul then f32x4.add.
;;
;; (A tile of 1 input channel × 32 output channels needs 8 accumulators + 8 dy vectors + 1 splat; TurboFan loads
;; all 8 vectors before using them and spills, which measured about 1.3-1.5x slower.)
;;
;; An odd last input channel uses 1-channel tiles; output channels go in tiles of 16, then 8 and 4. CO must be a
;; multiple of 4; any C ≥ 1. dW must be zeroed by the caller.
;;
;; Regenerate conv-filter-grad-wasm.ts after editing: `node scripts/build-simd.mjs`.
(module
  (import "env" "memory" (memory 1))

  ;; The tile kernels $tMxN, for M = 2 or 1 input channels and N = 4, 2 or 1 vectors of output channels:
  ;; acc[i][k] = Σ over `rows` rows of `cnt` positions of splat(x[i]) · dy[4k .. 4k+4), then dW row i, lanes
  ;; [4k .. 4k+4) += acc[i][k] (row i + 1 is `dys` bytes after row i).
  ;; `q` and `p` point at the first position's x float and dy vector; `xs` and `dys` step from one position to
  ;; the next, `xrow` and `dyrow` from one row to the next. cnt, rows ≥ 1.
  (func $t2x4
    (param $q i32) (param $p i32) (param $dw i32) (param $cnt i32) (param $rows i32)
    (param $xs i32) (param $dys i32) (param $xrow i32) (param $dyrow i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (local $s v128) (local $t v128) (local $d v128) (local $qq i32) (local $pp i32) (local $end i32)
    (local.set $xrow (i32.sub (local.get $xrow) (i32.mul (local.get $cnt) (local.get $xs))))
    (local.set $dyrow (i32.sub (local.get $dyrow) (i32.mul (local.get $cnt) (local.get $dys))))
    (local.set $qq (local.get $q))
    (local.set $pp (local.get $p))
    (loop $row
      (local.set $end (i32.add (local.get $qq) (i32.mul (local.get $cnt) (local.get $xs))))
      (loop $pos
        (local.set $s (v128.load32_splat offset=0 (local.get $qq)))
        (local.set $t (v128.load32_splat offset=4 (local.get $qq)))
        (local.set $d (v128.load offset=0 (local.get $pp)))
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $s) (local.get $d))))
        (local.set $b0 (f32x4.add (local.get $b0) (f32x4.mul (local.get $t) (local.get $d))))
        (local.set $d (v128.load offset=16 (local.get $pp)))
        (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $s) (local.get $d))))
        (local.set $b1 (f32x4.add (local.get $b1) (f32x4.mul (local.get $t) (local.get $d))))
        (local.set $d (v128.load offset=32 (local.get $pp)))
        (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $s) (local.get $d))))
        (local.set $b2 (f32x4.add (local.get $b2) (f32x4.mul (local.get $t) (local.get $d))))
        (local.set $d (v128.load offset=48 (local.get $pp)))
        (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $s) (local.get $d))))
        (local.set $b3 (f32x4.add (local.get $b3) (f32x4.mul (local.get $t) (local.get $d))))
        (local.set $qq (i32.add (local.get $qq) (local.get $xs)))
        (local.set $pp (i32.add (local.get $pp) (local.get $dys)))
        (br_if $pos (i32.ne (local.get $qq) (local.get $end))))
      (local.set $qq (i32.add (local.get $qq) (local.get $xrow)))
      (local.set $pp (i32.add (local.get $pp) (local.get $dyrow)))
      (br_if $row (local.tee $rows (i32.sub (local.get $rows) (i32.const 1)))))
    (v128.store offset=0 (local.get $dw) (f32x4.add (v128.load offset=0 (local.get $dw)) (local.get $a0)))
    (v128.store offset=16 (local.get $dw) (f32x4.add (v128.load offset=16 (local.get $dw)) (local.get $a1)))
    (v128.store offset=32 (local.get $dw) (f32x4.add (v128.load offset=32 (local.get $dw)) (local.get $a2)))
    (v128.store offset=48 (local.get $dw) (f32x4.add (v128.load offset=48 (local.get $dw)) (local.get $a3)))
    (local.set $dw (i32.add (local.get $dw) (local.get $dys)))
    (v128.store offset=0 (local.get $dw) (f32x4.add (v128.load offset=0 (local.get $dw)) (local.get $b0)))
    (v128.store offset=16 (local.get $dw) (f32x4.add (v128.load offset=16 (local.get $dw)) (local.get $b1)))
    (v128.store offset=32 (local.get $dw) (f32x4.add (v128.load offset=32 (local.get $dw)) (local.get $b2)))
    (v128.store offset=48 (local.get $dw) (f32x4.add (v128.load offset=48 (local.get $dw)) (local.get $b3))))

  (func $t2x2
    (param $q i32) (param $p i32) (param $dw i32) (param $cnt i32) (param $rows i32)
    (param $xs i32) (param $dys i32) (param $xrow i32) (param $dyrow i32)
    (local $a0 v128) (local $a1 v128)
    (local $b0 v128) (local $b1 v128)
    (local $s v128) (local $t v128) (local $d v128) (local $qq i32) (local $pp i32) (local $end i32)
    (local.set $xrow (i32.sub (local.get $xrow) (i32.mul (local.get $cnt) (local.get $xs))))
    (local.set $dyrow (i32.sub (local.get $dyrow) (i32.mul (local.get $cnt) (local.get $dys))))
    (local.set $qq (local.get $q))
    (local.set $pp (local.get $p))
    (loop $row
      (local.set $end (i32.add (local.get $qq) (i32.mul (local.get $cnt) (local.get $xs))))
      (loop $pos
        (local.set $s (v128.load32_splat offset=0 (local.get $qq)))
        (local.set $t (v128.load32_splat offset=4 (local.get $qq)))
        (local.set $d (v128.load offset=0 (local.get $pp)))
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $s) (local.get $d))))
        (local.set $b0 (f32x4.add (local.get $b0) (f32x4.mul (local.get $t) (local.get $d))))
        (local.set $d (v128.load offset=16 (local.get $pp)))
        (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $s) (local.get $d))))
        (local.set $b1 (f32x4.add (local.get $b1) (f32x4.mul (local.get $t) (local.get $d))))
        (local.set $qq (i32.add (local.get $qq) (local.get $xs)))
        (local.set $pp (i32.add (local.get $pp) (local.get $dys)))
        (br_if $pos (i32.ne (local.get $qq) (local.get $end))))
      (local.set $qq (i32.add (local.get $qq) (local.get $xrow)))
      (local.set $pp (i32.add (local.get $pp) (local.get $dyrow)))
      (br_if $row (local.tee $rows (i32.sub (local.get $rows) (i32.const 1)))))
    (v128.store offset=0 (local.get $dw) (f32x4.add (v128.load offset=0 (local.get $dw)) (local.get $a0)))
    (v128.store offset=16 (local.get $dw) (f32x4.add (v128.load offset=16 (local.get $dw)) (local.get $a1)))
    (local.set $dw (i32.add (local.get $dw) (local.get $dys)))
    (v128.store offset=0 (local.get $dw) (f32x4.add (v128.load offset=0 (local.get $dw)) (local.get $b0)))
    (v128.store offset=16 (local.get $dw) (f32x4.add (v128.load offset=16 (local.get $dw)) (local.get $b1))))

  (func $t2x1
    (param $q i32) (param $p i32) (param $dw i32) (param $cnt i32) (param $rows i32)
    (param $xs i32) (param $dys i32) (param $xrow i32) (param $dyrow i32)
    (local $a0 v128)
    (local $b0 v128)
    (local $s v128) (local $t v128) (local $d v128) (local $qq i32) (local $pp i32) (local $end i32)
    (local.set $xrow (i32.sub (local.get $xrow) (i32.mul (local.get $cnt) (local.get $xs))))
    (local.set $dyrow (i32.sub (local.get $dyrow) (i32.mul (local.get $cnt) (local.get $dys))))
    (local.set $qq (local.get $q))
    (local.set $pp (local.get $p))
    (loop $row
      (local.set $end (i32.add (local.get $qq) (i32.mul (local.get $cnt) (local.get $xs))))
      (loop $pos
        (local.set $s (v128.load32_splat offset=0 (local.get $qq)))
        (local.set $t (v128.load32_splat offset=4 (local.get $qq)))
        (local.set $d (v128.load offset=0 (local.get $pp)))
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $s) (local.get $d))))
        (local.set $b0 (f32x4.add (local.get $b0) (f32x4.mul (local.get $t) (local.get $d))))
        (local.set $qq (i32.add (local.get $qq) (local.get $xs)))
        (local.set $pp (i32.add (local.get $pp) (local.get $dys)))
        (br_if $pos (i32.ne (local.get $qq) (local.get $end))))
      (local.set $qq (i32.add (local.get $qq) (local.get $xrow)))
      (local.set $pp (i32.add (local.get $pp) (local.get $dyrow)))
      (br_if $row (local.tee $rows (i32.sub (local.get $rows) (i32.const 1)))))
    (v128.store offset=0 (local.get $dw) (f32x4.add (v128.load offset=0 (local.get $dw)) (local.get $a0)))
    (local.set $dw (i32.add (local.get $dw) (local.get $dys)))
    (v128.store offset=0 (local.get $dw) (f32x4.add (v128.load offset=0 (local.get $dw)) (local.get $b0))))

  (func $t1x4
    (param $q i32) (param $p i32) (param $dw i32) (param $cnt i32) (param $rows i32)
    (param $xs i32) (param $dys i32) (param $xrow i32) (param $dyrow i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $s v128) (local $qq i32) (local $pp i32) (local $end i32)
    (local.set $xrow (i32.sub (local.get $xrow) (i32.mul (local.get $cnt) (local.get $xs))))
    (local.set $dyrow (i32.sub (local.get $dyrow) (i32.mul (local.get $cnt) (local.get $dys))))
    (local.set $qq (local.get $q))
    (local.set $pp (local.get $p))
    (loop $row
      (local.set $end (i32.add (local.get $qq) (i32.mul (local.get $cnt) (local.get $xs))))
      (loop $pos
        (local.set $s (v128.load32_splat (local.get $qq)))
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $s) (v128.load offset=0 (local.get $pp)))))
        (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $s) (v128.load offset=16 (local.get $pp)))))
        (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $s) (v128.load offset=32 (local.get $pp)))))
        (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $s) (v128.load offset=48 (local.get $pp)))))
        (local.set $qq (i32.add (local.get $qq) (local.get $xs)))
        (local.set $pp (i32.add (local.get $pp) (local.get $dys)))
        (br_if $pos (i32.ne (local.get $qq) (local.get $end))))
      (local.set $qq (i32.add (local.get $qq) (local.get $xrow)))
      (local.set $pp (i32.add (local.get $pp) (local.get $dyrow)))
      (br_if $row (local.tee $rows (i32.sub (local.get $rows) (i32.const 1)))))
    (v128.store offset=0 (local.get $dw) (f32x4.add (v128.load offset=0 (local.get $dw)) (local.get $a0)))
    (v128.store offset=16 (local.get $dw) (f32x4.add (v128.load offset=16 (local.get $dw)) (local.get $a1)))
    (v128.store offset=32 (local.get $dw) (f32x4.add (v128.load offset=32 (local.get $dw)) (local.get $a2)))
    (v128.store offset=48 (local.get $dw) (f32x4.add (v128.load offset=48 (local.get $dw)) (local.get $a3))))

  (func $t1x2
    (param $q i32) (param $p i32) (param $dw i32) (param $cnt i32) (param $rows i32)
    (param $xs i32) (param $dys i32) (param $xrow i32) (param $dyrow i32)
    (local $a0 v128) (local $a1 v128)
    (local $s v128) (local $qq i32) (local $pp i32) (local $end i32)
    (local.set $xrow (i32.sub (local.get $xrow) (i32.mul (local.get $cnt) (local.get $xs))))
    (local.set $dyrow (i32.sub (local.get $dyrow) (i32.mul (local.get $cnt) (local.get $dys))))
    (local.set $qq (local.get $q))
    (local.set $pp (local.get $p))
    (loop $row
      (local.set $end (i32.add (local.get $qq) (i32.mul (local.get $cnt) (local.get $xs))))
      (loop $pos
        (local.set $s (v128.load32_splat (local.get $qq)))
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $s) (v128.load offset=0 (local.get $pp)))))
        (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $s) (v128.load offset=16 (local.get $pp)))))
        (local.set $qq (i32.add (local.get $qq) (local.get $xs)))
        (local.set $pp (i32.add (local.get $pp) (local.get $dys)))
        (br_if $pos (i32.ne (local.get $qq) (local.get $end))))
      (local.set $qq (i32.add (local.get $qq) (local.get $xrow)))
      (local.set $pp (i32.add (local.get $pp) (local.get $dyrow)))
      (br_if $row (local.tee $rows (i32.sub (local.get $rows) (i32.const 1)))))
    (v128.store offset=0 (local.get $dw) (f32x4.add (v128.load offset=0 (local.get $dw)) (local.get $a0)))
    (v128.store offset=16 (local.get $dw) (f32x4.add (v128.load offset=16 (local.get $dw)) (local.get $a1))))

  (func $t1x1
    (param $q i32) (param $p i32) (param $dw i32) (param $cnt i32) (param $rows i32)
    (param $xs i32) (param $dys i32) (param $xrow i32) (param $dyrow i32)
    (local $a0 v128) (local $qq i32) (local $pp i32) (local $end i32)
    (local.set $xrow (i32.sub (local.get $xrow) (i32.mul (local.get $cnt) (local.get $xs))))
    (local.set $dyrow (i32.sub (local.get $dyrow) (i32.mul (local.get $cnt) (local.get $dys))))
    (local.set $qq (local.get $q))
    (local.set $pp (local.get $p))
    (loop $row
      (local.set $end (i32.add (local.get $qq) (i32.mul (local.get $cnt) (local.get $xs))))
      (loop $pos
        (local.set $a0
          (f32x4.add (local.get $a0)
            (f32x4.mul (v128.load32_splat (local.get $qq)) (v128.load (local.get $pp)))))
        (local.set $qq (i32.add (local.get $qq) (local.get $xs)))
        (local.set $pp (i32.add (local.get $pp) (local.get $dys)))
        (br_if $pos (i32.ne (local.get $qq) (local.get $end))))
      (local.set $qq (i32.add (local.get $qq) (local.get $xrow)))
      (local.set $pp (i32.add (local.get $pp) (local.get $dyrow)))
      (br_if $row (local.tee $rows (i32.sub (local.get $rows) (i32.const 1)))))
    (v128.store (local.get $dw) (f32x4.add (v128.load (local.get $dw)) (local.get $a0))))

  ;; One tap (kh, kw) over a block of rows: every input channel, in pairs and then the last one if C is odd, and
  ;; the output channels in tiles of 16, then 8 and 4 (`co` counts bytes). `xq`, `dyp`: the block's first x float
  ;; and dy vector for this tap; `dwp`: dW row (kh, kw, 0).
  (func $tap
    (param $xq i32) (param $dyp i32) (param $dwp i32) (param $C i32) (param $cnt i32) (param $rows i32)
    (param $xs i32) (param $dys i32) (param $xrow i32) (param $dyrow i32)
    (local $ci i32) (local $co i32)
    (block $pairsDone
      (loop $pairs
        (br_if $pairsDone (i32.gt_s (i32.add (local.get $ci) (i32.const 2)) (local.get $C)))
        (local.set $co (i32.const 0))
        (block $wideDone
          (loop $wide
            (br_if $wideDone (i32.gt_u (i32.add (local.get $co) (i32.const 64)) (local.get $dys)))
            (call $t2x4
              (local.get $xq) (i32.add (local.get $dyp) (local.get $co)) (i32.add (local.get $dwp) (local.get $co))
              (local.get $cnt) (local.get $rows) (local.get $xs) (local.get $dys) (local.get $xrow) (local.get $dyrow))
            (local.set $co (i32.add (local.get $co) (i32.const 64)))
            (br $wide)))
        (if (i32.le_u (i32.add (local.get $co) (i32.const 32)) (local.get $dys))
          (then
            (call $t2x2
              (local.get $xq) (i32.add (local.get $dyp) (local.get $co)) (i32.add (local.get $dwp) (local.get $co))
              (local.get $cnt) (local.get $rows) (local.get $xs) (local.get $dys) (local.get $xrow) (local.get $dyrow))
            (local.set $co (i32.add (local.get $co) (i32.const 32)))))
        (if (i32.le_u (i32.add (local.get $co) (i32.const 16)) (local.get $dys))
          (then
            (call $t2x1
              (local.get $xq) (i32.add (local.get $dyp) (local.get $co)) (i32.add (local.get $dwp) (local.get $co))
              (local.get $cnt) (local.get $rows) (local.get $xs) (local.get $dys) (local.get $xrow) (local.get $dyrow))))
        (local.set $xq (i32.add (local.get $xq) (i32.const 8)))
        (local.set $dwp (i32.add (local.get $dwp) (i32.shl (local.get $dys) (i32.const 1))))
        (local.set $ci (i32.add (local.get $ci) (i32.const 2)))
        (br $pairs)))
    (if (i32.lt_s (local.get $ci) (local.get $C))
      (then
        (local.set $co (i32.const 0))
        (block $wideDone
          (loop $wide
            (br_if $wideDone (i32.gt_u (i32.add (local.get $co) (i32.const 64)) (local.get $dys)))
            (call $t1x4
              (local.get $xq) (i32.add (local.get $dyp) (local.get $co)) (i32.add (local.get $dwp) (local.get $co))
              (local.get $cnt) (local.get $rows) (local.get $xs) (local.get $dys) (local.get $xrow) (local.get $dyrow))
            (local.set $co (i32.add (local.get $co) (i32.const 64)))
            (br $wide)))
        (if (i32.le_u (i32.add (local.get $co) (i32.const 32)) (local.get $dys))
          (then
            (call $t1x2
              (local.get $xq) (i32.add (local.get $dyp) (local.get $co)) (i32.add (local.get $dwp) (local.get $co))
              (local.get $cnt) (local.get $rows) (local.get $xs) (local.get $dys) (local.get $xrow) (local.get $dyrow))
            (local.set $co (i32.add (local.get $co) (i32.const 32)))))
        (if (i32.le_u (i32.add (local.get $co) (i32.const 16)) (local.get $dys))
          (then
            (call $t1x1
              (local.get $xq) (i32.add (local.get $dyp) (local.get $co)) (i32.add (local.get $dwp) (local.get $co))
              (local.get $cnt) (local.get $rows) (local.get $xs) (local.get $dys) (local.get $xrow) (local.get $dyrow)))))))

  ;; dW [KH, KW, C, CO] += the filter gradient of x [N, H, W, C] and dy [N, OH, OW, CO], for top/left padding
  ;; `top`, `left` (the bottom and right padding follow from OH, OW). R: output rows per block (≥ 1).
  (func (export "filterGrad")
    (param $x i32) (param $dy i32) (param $dw i32)
    (param $N i32) (param $H i32) (param $W i32) (param $C i32)
    (param $OH i32) (param $OW i32) (param $CO i32)
    (param $KH i32) (param $KW i32) (param $top i32) (param $left i32) (param $R i32)
    (local $xs i32) (local $dys i32) (local $xrow i32) (local $dyrow i32)
    (local $ximg i32) (local $dyimg i32)
    (local $n i32) (local $oh0 i32) (local $oh1 i32) (local $kh i32) (local $kw i32)
    (local $ohA i32) (local $ohB i32) (local $owA i32) (local $owB i32) (local $rows i32) (local $cnt i32)
    (local $xq i32) (local $dyp i32) (local $dwp i32)
    (local.set $xs (i32.shl (local.get $C) (i32.const 2)))
    (local.set $dys (i32.shl (local.get $CO) (i32.const 2)))
    (local.set $xrow (i32.mul (local.get $W) (local.get $xs)))
    (local.set $dyrow (i32.mul (local.get $OW) (local.get $dys)))
    (local.set $ximg (i32.mul (local.get $H) (local.get $xrow)))
    (local.set $dyimg (i32.mul (local.get $OH) (local.get $dyrow)))
    (local.set $n (i32.const 0))
    (block $imagesDone
      (loop $image
        (br_if $imagesDone (i32.ge_s (local.get $n) (local.get $N)))
        (local.set $oh0 (i32.const 0))
        (block $blocksDone
          (loop $block
            (br_if $blocksDone (i32.ge_s (local.get $oh0) (local.get $OH)))
            (local.set $oh1 (i32.add (local.get $oh0) (local.get $R)))
            (if (i32.gt_s (local.get $oh1) (local.get $OH)) (then (local.set $oh1 (local.get $OH))))
            (local.set $kh (i32.const 0))
            (block $khDone
              (loop $khLoop
                (br_if $khDone (i32.ge_s (local.get $kh) (local.get $KH)))
                ;; Output rows of this block whose input row oh + kh − top is inside the image.
                (local.set $ohA (i32.sub (local.get $top) (local.get $kh)))
                (if (i32.lt_s (local.get $ohA) (local.get $oh0)) (then (local.set $ohA (local.get $oh0))))
                (local.set $ohB (i32.sub (i32.add (local.get $H) (local.get $top)) (local.get $kh)))
                (if (i32.gt_s (local.get $ohB) (local.get $oh1)) (then (local.set $ohB (local.get $oh1))))
                (if (i32.lt_s (local.get $ohA) (local.get $ohB))
                  (then
                    (local.set $rows (i32.sub (local.get $ohB) (local.get $ohA)))
                    (local.set $kw (i32.const 0))
                    (block $kwDone
                      (loop $kwLoop
                        (br_if $kwDone (i32.ge_s (local.get $kw) (local.get $KW)))
                        ;; Output columns whose input column ow + kw − left is inside the image.
                        (local.set $owA (i32.sub (local.get $left) (local.get $kw)))
                        (if (i32.lt_s (local.get $owA) (i32.const 0)) (then (local.set $owA (i32.const 0))))
                        (local.set $owB (i32.sub (i32.add (local.get $W) (local.get $left)) (local.get $kw)))
                        (if (i32.gt_s (local.get $owB) (local.get $OW)) (then (local.set $owB (local.get $OW))))
                        (if (i32.lt_s (local.get $owA) (local.get $owB))
                          (then
                            (local.set $cnt (i32.sub (local.get $owB) (local.get $owA)))
                            ;; x at (n, ohA + kh − top, owA + kw − left, 0); dy at (n, ohA, owA, 0).
                            (local.set $xq
                              (i32.add (local.get $x)
                                (i32.add (i32.mul (local.get $n) (local.get $ximg))
                                  (i32.add
                                    (i32.mul
                                      (i32.sub (i32.add (local.get $ohA) (local.get $kh)) (local.get $top))
                                      (local.get $xrow))
                                    (i32.mul
                                      (i32.sub (i32.add (local.get $owA) (local.get $kw)) (local.get $left))
                                      (local.get $xs))))))
                            (local.set $dyp
                              (i32.add (local.get $dy)
                                (i32.add (i32.mul (local.get $n) (local.get $dyimg))
                                  (i32.add (i32.mul (local.get $ohA) (local.get $dyrow))
                                    (i32.mul (local.get $owA) (local.get $dys))))))
                            ;; dW row (kh, kw, 0).
                            (local.set $dwp
                              (i32.add (local.get $dw)
                                (i32.mul
                                  (i32.mul
                                    (i32.add (i32.mul (local.get $kh) (local.get $KW)) (local.get $kw))
                                    (local.get $C))
                                  (local.get $dys))))
                            (call $tap (local.get $xq) (local.get $dyp) (local.get $dwp) (local.get $C)
                              (local.get $cnt) (local.get $rows) (local.get $xs) (local.get $dys)
                              (local.get $xrow) (local.get $dyrow))))
                        (local.set $kw (i32.add (local.get $kw) (i32.const 1)))
                        (br $kwLoop)))))
                (local.set $kh (i32.add (local.get $kh) (i32.const 1)))
                (br $khLoop)))
            (local.set $oh0 (local.get $oh1))
            (br $block)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $image)))))
