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
 *       recurrence on doubles (t = 2091639·s0 + c·2⁻³², c = ⌊t⌋, s = t − c), so the f64
 *       operations here give the JavaScript generator's numbers bit for bit.
 *   relu_grad(dy, x, out, count)
 *       out[i] = dy[i] · step(x[i]), step = 1 for x > 0, NaN for NaN, else 0: tfjs's ReLU
 *       gradient (Step, Cast, Multiply) in one pass, four elements per f32x4
 */
import { Func, type } from "./emit";

const { i32, f32, f64 } = type;

/** Alea's multiplier and 2⁻³² (seedrandom 3.0.5, lib/alea.js). */
const ALEA_A = 2091639;
const TWO_POW_M32 = 2.3283064365386963e-10;

function dropoutMask(): Func {
  const f = new Func("dropout_mask", [i32, i32, f64, f64, f64, f64, f32]);
  const [OUT, COUNT, S0, S1, S2, C, KEEP] = [0, 1, 2, 3, 4, 5, 6];
  const i = f.local(i32);
  const end = f.local(i32);
  const t = f.local(f64);
  f.get(COUNT).i32(2).shl().set(end);
  f.i32(0).set(i);
  f.block().loop();
  f.get(i).get(end).geS().brIf(1);
  // t = 2091639·s0 + c·2⁻³²; s0 = s1; s1 = s2; c = t | 0; s2 = t − c
  f.f64(ALEA_A).get(S0).f64mul().get(C).f64(TWO_POW_M32).f64mul().f64add().set(t);
  f.get(S1).set(S0);
  f.get(S2).set(S1);
  f.get(t).i32truncF64s().f64convertI32s().set(C);
  f.get(t).get(C).f64sub().set(S2);
  // out[i] = floor(f32(s2) + keep) / keep
  f.get(OUT).get(i).add();
  f.get(S2).f32demoteF64().get(KEEP).f32add().f32floor().get(KEEP).f32div();
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
