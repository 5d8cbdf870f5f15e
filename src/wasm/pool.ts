/**
 * Max-pooling forward with its argmax, and its gradient as a scatter through that argmax,
 * generated as WebAssembly (emit.ts) in the same module as the direct convolutions
 * (conv-direct.ts).
 *
 * Profiled in a `dl.models.cnn` step (batch 64): tfjs-wasm's `MaxPool` (XNNPACK) 0.94 ms for
 * [64,26,26,16] → [64,13,13,16], and tsdl's former `MaxPoolGrad` 2.65 + 0.83 ms, which finds
 * each window's maximum again from the forward input. Here the forward pass records, for every
 * output, where its maximum came from, and the gradient only adds dy there:
 *
 *   maxpool(x, y, arg, n, h, w, c, oh, ow, fh, fw, sh, sw, top, left)
 *       y[b, oy, ox, ch] = max over the window (clipped to the image) of x[b, iy, ix, ch], four
 *       channels per f32x4 (c % 4 in scalars); with arg ≠ 0, arg[same index] = the byte offset
 *       from x of the first maximum in row-major window order (strict >, as the `cpu` backend and
 *       tsdl's maxpool_grad pick it), −1 for a window with no value above −∞
 *   maxpool2(x, y, arg, n, h, w, c, oh, ow, b0, b1), maxpool2_grad(arg, dy, dx, n, h, w, c, oh, ow, b0, b1)
 *       the same for 2×2 windows at stride 2 without padding, c % 4 == 0 (dl.models.cnn's
 *       pools), unrolled, for images b0 ≤ b < b1 (all: 0, n; a helper thread takes a range,
 *       arg still from x itself); the gradient writes each window whole, as windows do not overlap
 *   maxpool_scatter(arg, dy, dx, count)
 *       dx[arg[i] / 4] += dy[i] for i in order, arg[i] ≥ 0 (dx zeroed by the caller): the very
 *       additions of maxpool_grad, in its order
 *
 * Pointers are byte offsets into the backend's memory, sizes in elements (NHWC).
 */
import { forLoop, Func, type } from "./emit";

const { i32, f32 } = type;

/** i32.load and i32.store (offset 0, 4-byte aligned), which emit.ts's Func does not have. */
function i32load(f: Func): Func {
  f.code.push(0x28, 0x02, 0x00);
  return f;
}
function i32store(f: Func): Func {
  f.code.push(0x36, 0x02, 0x00);
  return f;
}

function maxPool(): Func {
  const f = new Func("maxpool", Array(15).fill(i32));
  const [X, Y, ARG, N, H, W, C, OH, OW, FH, FW, SH, SW, TOP, LEFT] = [...Array(15).keys()];
  const [b, oy, ox, ch, iy, ix, y0, y1, x0, x1, q, py, pa, cB, t, c4] = Array.from({ length: 16 }, () => f.local(i32));
  const best = f.local(type.v128);
  const pos = f.local(type.v128);
  const v = f.local(type.v128);
  const mask = f.local(type.v128);
  const bestS = f.local(f32);
  const posS = f.local(i32);
  const vs = f.local(f32);
  f.get(C).i32(2).shl().set(cB);
  f.get(C).i32(-4).and().set(c4);
  f.get(Y).set(py);
  f.get(ARG).set(pa);
  /** The window's scan for channels ch.. (vector: four of them), from q = its first pixel's row start. */
  const scan = (vector: boolean) => {
    if (vector) {
      f.f32(-Infinity).f32x4splat().set(best);
      f.i32(-1).i32x4splat().set(pos);
    } else {
      f.f32(-Infinity).set(bestS);
      f.i32(-1).set(posS);
    }
    forLoop(f, iy, () => f.get(y0), y1, 1, () => {
      // q = byte offset from x of (b, iy, x0, ch)
      f.get(b).get(H).mul().get(iy).add().get(W).mul().get(x0).add().get(C).mul().get(ch).add().i32(2).shl().set(q);
      forLoop(f, ix, () => f.get(x0), x1, 1, () => {
        if (vector) {
          f.get(q).get(X).add().v128load().tee(v).get(best).f32x4gt().set(mask);
          f.get(v).get(best).get(mask).bitselect().set(best);
          f.get(q).i32x4splat().i32x4const([0, 4, 8, 12]).i32x4add().get(pos).get(mask).bitselect().set(pos);
        } else {
          f.get(q).get(X).add().f32load().tee(vs).get(bestS).f32gt();
          f.if();
          f.get(vs).set(bestS);
          f.get(q).set(posS);
          f.end();
        }
        f.get(q).get(cB).add().set(q);
      });
    });
    if (vector) {
      f.get(py).get(best).v128store();
      f.get(ARG).i32(0).ne();
      f.if();
      f.get(pa).get(pos).v128store();
      f.end();
      f.get(py).i32(16).add().set(py);
      f.get(pa).i32(16).add().set(pa);
    } else {
      f.get(py).get(bestS).f32store();
      f.get(ARG).i32(0).ne();
      f.if();
      i32store(f.get(pa).get(posS));
      f.end();
      f.get(py).i32(4).add().set(py);
      f.get(pa).i32(4).add().set(pa);
    }
  };
  forLoop(f, b, () => f.i32(0), N, 1, () =>
    forLoop(f, oy, () => f.i32(0), OH, 1, () => {
      // y0 = max(0, oy·sh − top); y1 = min(h, oy·sh − top + fh)
      f.get(oy).get(SH).mul().get(TOP).sub().set(t);
      f.get(t).i32(0).get(t).i32(0).gtS().select().set(y0);
      f.get(t).get(FH).add().set(t);
      f.get(t).get(H).get(t).get(H).ltS().select().set(y1);
      forLoop(f, ox, () => f.i32(0), OW, 1, () => {
        f.get(ox).get(SW).mul().get(LEFT).sub().set(t);
        f.get(t).i32(0).get(t).i32(0).gtS().select().set(x0);
        f.get(t).get(FW).add().set(t);
        f.get(t).get(W).get(t).get(W).ltS().select().set(x1);
        forLoop(f, ch, () => f.i32(0), c4, 4, () => scan(true));
        forLoop(f, ch, () => f.get(c4), C, 1, () => scan(false));
      });
    }),
  );
  return f;
}

function maxPoolScatter(): Func {
  const f = new Func("maxpool_scatter", [i32, i32, i32, i32]);
  const [ARG, DY, DX, COUNT] = [0, 1, 2, 3];
  const [i, end, a, d] = Array.from({ length: 4 }, () => f.local(i32));
  f.get(COUNT).i32(2).shl().set(end);
  forLoop(f, i, () => f.i32(0), end, 4, () => {
    i32load(f.get(ARG).get(i).add()).tee(a).i32(0).geS();
    f.if();
    f.get(a).get(DX).add().tee(d);
    f.get(d).f32load().get(DY).get(i).add().f32load().f32add().f32store();
    f.end();
  });
  return f;
}

/** i32x4.eq, which emit.ts's Func does not have. */
function i32x4eq(f: Func): Func {
  f.code.push(0xfd, 0x37);
  return f;
}

/**
 * maxpool2(x, y, arg, n, h, w, c, oh, ow): maxpool for the common 2×2 window, stride 2, no
 * padding, c % 4 == 0, the four window positions unrolled (the general loop spends more on its
 * bounds than on the four loads). The same results as maxpool, arg included.
 */
function maxPool2(): Func {
  const f = new Func("maxpool2", Array(11).fill(i32));
  const [X, Y, ARG, , H, W, C, OH, OW, B0, B1] = [...Array(11).keys()];
  const [b, oy, ox, ch, q, py, pa, cB, rowB, row] = Array.from({ length: 10 }, () => f.local(i32));
  const best = f.local(type.v128);
  const pos = f.local(type.v128);
  const v = f.local(type.v128);
  const mask = f.local(type.v128);
  f.get(C).i32(2).shl().set(cB);
  f.get(W).get(cB).mul().set(rowB);
  // py, pa = y, arg + b0·oh·ow·c·4
  f.get(B0).get(OH).mul().get(OW).mul().get(cB).mul().set(q);
  f.get(Y).get(q).add().set(py);
  f.get(ARG).get(q).add().set(pa);
  forLoop(f, b, () => f.get(B0), B1, 1, () =>
    forLoop(f, oy, () => f.i32(0), OH, 1, () => {
      // row = byte offset from x of (b, 2·oy, 0, 0)
      f.get(b).get(H).mul().get(oy).i32(1).shl().add().get(rowB).mul().set(row);
      forLoop(f, ox, () => f.i32(0), OW, 1, () =>
        forLoop(f, ch, () => f.i32(0), C, 4, () => {
          f.get(ox).i32(1).shl().get(cB).mul().get(ch).i32(2).shl().add().get(row).add().set(q);
          f.f32(-Infinity).f32x4splat().set(best);
          f.i32(-1).i32x4splat().set(pos);
          const visit = (offset: () => void) => {
            offset();
            f.get(X).add().v128load().tee(v).get(best).f32x4gt().set(mask);
            f.get(v).get(best).get(mask).bitselect().set(best);
            offset();
            f.i32x4splat().i32x4const([0, 4, 8, 12]).i32x4add().get(pos).get(mask).bitselect().set(pos);
          };
          visit(() => f.get(q));
          visit(() => f.get(q).get(cB).add());
          visit(() => f.get(q).get(rowB).add());
          visit(() => f.get(q).get(rowB).add().get(cB).add());
          f.get(py).get(best).v128store();
          f.get(ARG).i32(0).ne();
          f.if();
          f.get(pa).get(pos).v128store();
          f.end();
          f.get(py).i32(16).add().set(py);
          f.get(pa).i32(16).add().set(pa);
        }),
      );
    }),
  );
  return f;
}

/**
 * maxpool2_grad(arg, dy, dx, n, h, w, c, oh, ow): the gradient of maxpool2's windows, which do
 * not overlap: each window's four positions written at once, 0 + dy where the argmax is, +0
 * elsewhere (the values maxpool_scatter adds into a zeroed dx), four channels per f32x4; rows
 * and columns no window covers (odd sizes) are left to the caller to zero.
 */
function maxPool2Grad(): Func {
  const f = new Func("maxpool2_grad", Array(11).fill(i32));
  const [ARG, DY, DX, , H, W, C, OH, OW, B0, B1] = [...Array(11).keys()];
  const [b, oy, ox, ch, q, pd, pa, cB, rowB, row] = Array.from({ length: 10 }, () => f.local(i32));
  const pos = f.local(type.v128);
  const g = f.local(type.v128);
  f.get(C).i32(2).shl().set(cB);
  f.get(W).get(cB).mul().set(rowB);
  f.get(B0).get(OH).mul().get(OW).mul().get(cB).mul().set(q);
  f.get(DY).get(q).add().set(pd);
  f.get(ARG).get(q).add().set(pa);
  forLoop(f, b, () => f.get(B0), B1, 1, () =>
    forLoop(f, oy, () => f.i32(0), OH, 1, () => {
      f.get(b).get(H).mul().get(oy).i32(1).shl().add().get(rowB).mul().set(row);
      forLoop(f, ox, () => f.i32(0), OW, 1, () =>
        forLoop(f, ch, () => f.i32(0), C, 4, () => {
          f.get(ox).i32(1).shl().get(cB).mul().get(ch).i32(2).shl().add().get(row).add().set(q);
          f.get(pa).v128load().set(pos);
          f.v128zero().get(pd).v128load().f32x4add().set(g);
          const put = (offset: () => void) => {
            offset();
            f.get(DX).add();
            f.get(g).v128zero();
            offset();
            i32x4eq(f.i32x4splat().i32x4const([0, 4, 8, 12]).i32x4add().get(pos));
            f.bitselect().v128store();
          };
          put(() => f.get(q));
          put(() => f.get(q).get(cB).add());
          put(() => f.get(q).get(rowB).add());
          put(() => f.get(q).get(rowB).add().get(cB).add());
          f.get(pd).i32(16).add().set(pd);
          f.get(pa).i32(16).add().set(pa);
        }),
      );
    }),
  );
  return f;
}

/** The generated functions of this file. */
export function poolFuncs(): Func[] {
  return [maxPool(), maxPoolScatter(), maxPool2(), maxPool2Grad()];
}
