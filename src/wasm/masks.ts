/**
 * The element-wise halves of a dense layer's training step, generated as WebAssembly like the
 * GEMM (gemm.ts, emit.ts): dropout's mask and ReLU's gradient (dropout.ts uses them).
 *
 * Exports, pointers byte offsets into the backend's memory, sizes in elements:
 *   dropout_mask(out, count, s0, s1, s2, c, keep)
 *       out[i] = floor(u[i] + keep) / keep in float32, where u[i] is the i-th number of
 *       seedrandom's Alea generator started from the state (s0, s1, s2, c) and rounded to
 *       float32: the very numbers and float32 operations of tfjs's `tf.dropout`
 *       (`randomUniform(shape, 0, 1, "float32", seed)`, then Add, Floor and RealDiv). Alea is a
 *       recurrence on doubles (t = 2091639·s0 + c·2⁻³², c = ⌊t⌋, s = t − c) whose values are all
 *       whole multiples of 2⁻³² below 2⁵³·2⁻³², so JavaScript computes it exactly; with
 *       s = k·2⁻³² it is the integer recurrence n = 2091639·k0 + c, c = n >> 32, k = n mod 2³²,
 *       run here in i64 (k0, k1, k2 and c passed as unsigned 32-bit integers): the same numbers
 *       bit for bit, on a dependency chain of an add and a shift instead of four f64 operations.
 *   relu_grad(dy, x, out, count)
 *       out[i] = dy[i] · step(x[i]), step = 1 for x > 0, NaN for NaN, else 0: tfjs's ReLU
 *       gradient (Step, Cast, Multiply) in one pass, four elements per f32x4
 */
import { Func, type } from "./emit";

const { i32, i64, f32 } = type;

/** Alea's multiplier and 2⁻³² (seedrandom 3.0.5, lib/alea.js). */
const ALEA_A = 2091639;
const TWO_POW_M32 = 2.3283064365386963e-10;

function dropoutMask(): Func {
  const f = new Func("dropout_mask", [i32, i32, i32, i32, i32, i32, f32]);
  const [OUT, COUNT, K0, K1, K2, C, KEEP] = [0, 1, 2, 3, 4, 5, 6];
  const i = f.local(i32);
  const end = f.local(i32);
  const [a0, a1, a2, c, n] = [0, 1, 2, 3, 4].map(() => f.local(i64));
  f.get(K0).i64extendI32u().set(a0);
  f.get(K1).i64extendI32u().set(a1);
  f.get(K2).i64extendI32u().set(a2);
  f.get(C).i64extendI32u().set(c);
  f.get(COUNT).i32(2).shl().set(end);
  f.i32(0).set(i);
  f.block().loop();
  f.get(i).get(end).geS().brIf(1);
  // n = 2091639·k0 + c; k0 = k1; k1 = k2; c = n >> 32; k2 = n mod 2³²
  f.i64(ALEA_A).get(a0).i64mul().get(c).i64add().set(n);
  f.get(a1).set(a0);
  f.get(a2).set(a1);
  f.get(n).i64(32).i64shrU().set(c);
  f.get(n).i64(0xffffffff).i64and().set(a2);
  // out[i] = floor(f32(k2·2⁻³²) + keep) / keep
  f.get(OUT).get(i).add();
  f.get(a2).f32convertI64u().f32(TWO_POW_M32).f32mul().get(KEEP).f32add().f32floor().get(KEEP).f32div();
  f.f32store();
  f.get(i).i32(4).add().set(i).br(0);
  f.end().end();
  return f;
}

function reluGrad(): Func {
  const f = new Func("relu_grad", [i32, i32, i32, i32]);
  const [DY, X, OUT, COUNT] = [0, 1, 2, 3];
  const i = f.local(i32);
  const end4 = f.local(i32);
  const end = f.local(i32);
  const x = f.local(type.v128);
  const xs = f.local(f32);
  f.get(COUNT).i32(-4).and().i32(2).shl().set(end4);
  f.get(COUNT).i32(2).shl().set(end);
  f.i32(0).set(i);
  f.block().loop();
  f.get(i).get(end4).geS().brIf(1);
  f.get(OUT).get(i).add();
  f.get(DY).get(i).add().v128load();
  f.get(X).get(i).add().v128load().set(x);
  // step = x > 0 ? 1 : 0, then NaN where x is NaN (x itself)
  f.get(x);
  f.f32(1).f32x4splat().v128zero().get(x).v128zero().f32x4gt().bitselect();
  f.get(x).get(x).f32x4ne().bitselect();
  f.f32x4mul().v128store();
  f.get(i).i32(16).add().set(i).br(0);
  f.end().end();
  f.block().loop();
  f.get(i).get(end).geS().brIf(1);
  f.get(OUT).get(i).add();
  f.get(DY).get(i).add().f32load();
  f.get(X).get(i).add().f32load().set(xs);
  f.f32(1);
  f.get(xs).f32(0).get(xs).get(xs).f32ne().select();
  f.get(xs).f32(0).f32gt().select();
  f.f32mul().f32store();
  f.get(i).i32(4).add().set(i).br(0);
  f.end().end();
  return f;
}

/** The generated functions of this file, for gemm.ts's module. */
export function maskFuncs(): Func[] {
  return [dropoutMask(), reluGrad()];
}
