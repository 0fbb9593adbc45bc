// scripts/unroll.mjs, which writes out the loop bodies marked in the WAT kernels before they are assembled.
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain build script without types
import { unrollLoops } from '../scripts/unroll.mjs';

const marked = (head: string, body: string) =>
  ['(loop $l', `  ;; ${head}`, body, '  ;; end unroll', '  (br_if $l (local.get $c)))'].join('\n');

describe('unrollLoops', () => {
  it('writes the body N times, offsetting the accesses through the named pointers only', () => {
    const body = [
      '  ;; one vector',
      '  (v128.store (local.get $out) (v128.load (local.get $in)))',
      '  (local.set $x (i32.load8_u offset=4 (local.get $at)))',
      '  (f32.store offset=8 (local.get $other) (f32.load (local.get $in)))',
    ].join('\n');
    const { text, unrolled } = unrollLoops(marked('unroll 3 16 $in $out $at', body));
    expect(unrolled).toBe(1);
    expect(text).toBe(
      [
        '(loop $l',
        '  ;; one vector',
        '  (v128.store (local.get $out) (v128.load (local.get $in)))',
        '  (local.set $x (i32.load8_u offset=4 (local.get $at)))',
        '  (f32.store offset=8 (local.get $other) (f32.load (local.get $in)))',
        '  (v128.store offset=16 (local.get $out) (v128.load offset=16 (local.get $in)))',
        '  (local.set $x (i32.load8_u offset=20 (local.get $at)))',
        '  (f32.store offset=8 (local.get $other) (f32.load offset=16 (local.get $in)))',
        '  (v128.store offset=32 (local.get $out) (v128.load offset=32 (local.get $in)))',
        '  (local.set $x (i32.load8_u offset=36 (local.get $at)))',
        '  (f32.store offset=8 (local.get $other) (f32.load offset=32 (local.get $in)))',
        '  (br_if $l (local.get $c)))',
      ].join('\n'),
    );
  });

  it('leaves text without markers as it is', () => {
    const text = '(module\n  (func (v128.load (local.get $p))))';
    expect(unrollLoops(text)).toEqual({ text, unrolled: 0 });
  });

  it('refuses a body that moves a named pointer or uses it other than as an address, a missing end, a stray end, and fewer than 2 copies', () => {
    expect(() =>
      unrollLoops(marked('unroll 2 16 $p', '  (local.set $p (i32.add (local.get $p) (i32.const 16)))')),
    ).toThrow(/sets \$p/);
    expect(() =>
      unrollLoops(marked('unroll 2 16 $p', '  (drop (i32.load (i32.add (local.get $p) (i32.const 4))))')),
    ).toThrow(/uses \$p other than/);
    expect(() =>
      unrollLoops(
        marked('unroll 2 16 $p', '  (local.set $v (v128.load32_lane 1 (local.get $p) (local.get $v)))'),
      ),
    ).toThrow(/uses \$p other than/);
    expect(() => unrollLoops('  ;; unroll 2 16 $p\n  (nop)')).toThrow(/no "end unroll"/);
    expect(() => unrollLoops('  (nop)\n  ;; end unroll')).toThrow(/unexpected/);
    expect(() => unrollLoops(marked('unroll 1 16 $p', '  (nop)'))).toThrow(/2 or more/);
  });
});
