/**
 * Direct SIMD convolutions for a single input channel (the first layer of an image CNN: 28×28×1
 * → 26×26×16 with 3×3 filters), generated as WebAssembly like the GEMM (emit.ts) and compiled,
 * with max-pooling's kernels (pool.ts), as a module of their own on the wasm backend's memory
 * (the GEMM's module, gemm.ts, is left as it is). Through im2col the product has k = kh·kw = 9: each 4×8 register tile then does 9 steps
 * of work for a whole tile's set-up and store, and the 9-float rows of the im2col copy cost as
 * much to write as the product costs to run (5.8 GFLOP/s for both the forward pass and the filter
 * gradient, cnn-profile). Here no copy is made:
 *
 *   conv1_{none,bias,relu,bias_relu}(x, w, y, bias, n, hp, wp, oh, ow, kh, kw, sh, sw, o)
 *       y[p, j] = act(Σ_(ky, kx) x[b, oy·sh + ky, ox·sw + kx] · w[(ky·kw + kx)·o + j] + bias[j])
 *       for every output pixel p = (b, oy, ox), two pixels at a time (sharing each weight load):
 *       16 output channels (four f32x4 accumulators) at a time, then 4, then one; the taps in
 *       row-major order, as the im2col product sums them
 *   conv1_dw(x, dy, dw, n, hp, wp, oh, ow, kh, kw, sh, sw, o, j0, j1)
 *       dw[(ky·kw + kx)·o + j] = Σ_p x[b, oy·sh + ky, ox·sw + kx] · dy[p, j], p in order, for the
 *       output channels j0 ≤ j < j1 (all of them: 0, o; a helper thread takes a range): three
 *       taps of one filter row × 16 channels (twelve f32x4 accumulators) per pass over dy
 *   relu_grad_bias(dy, y, dz, db, rows, cols)
 *       the fused conv + bias + ReLU's gradient through its epilogue (conv-fused.ts) in one pass:
 *       dz = dy · step(y) (masks.ts's relu_grad) and db[j] = Σᵢ dz[i, j] (sum_rows's order)
 *
 * x is [n, hp, wp] already padded (conv.ts pads a copy for `same` or explicit padding, so that
 * the zeros are multiplied as im2col's are); pointers are byte offsets, sizes elements. Each
 * output is the same sum in the same order as the im2col product on tsdl's GEMM (an accumulator
 * from +0, one product added per step, bias after the whole sum, then max(·, 0)): bit for bit the
 * same results (test/wasm/conv.test.ts).
 */
import { forLoop, Func, moduleBytes, type } from "./emit";
import { poolFuncs } from "./pool";

const { i32 } = type;

type Epilogue = "none" | "bias" | "relu" | "bias_relu";

function forward(epilogue: Epilogue): Func {
  const f = new Func(`conv1_${epilogue}`, Array(14).fill(i32));
  const [X, Wt, Y, BIAS, N, HP, WP, OH, OW, KH, KW, SH, SW, O] = [...Array(14).keys()];
  const [b, oy, ox, j, ky, kx, rowB, base, xp, wp_, out, oB, row, end16, end4, swB, lastPair] = Array.from({ length: 17 }, () => f.local(i32));
  // Two pixels at a time (ox, ox + 1) share each weight load: 2 × nv accumulators.
  const acc = Array.from({ length: 2 }, () => Array.from({ length: 4 }, () => f.local(type.v128)));
  const wv = Array.from({ length: 4 }, () => f.local(type.v128));
  const xs = [f.local(type.v128), f.local(type.v128)];
  const accS = f.local(type.f32);
  const useBias = epilogue === "bias" || epilogue === "bias_relu";
  const useRelu = epilogue === "relu" || epilogue === "bias_relu";

  f.get(O).i32(2).shl().set(oB);
  f.get(WP).i32(2).shl().set(rowB);
  f.get(SW).i32(2).shl().set(swB);
  f.get(O).i32(-16).and().set(end16);
  f.get(O).i32(-4).and().set(end4);
  f.get(OW).i32(1).sub().set(lastPair);
  f.get(Y).set(out);

  /** acc (+ bias, then ReLU) stored at out + (j + 4v)·4 + pixel·o·4. */
  const store = (pixel: number, value: () => void, vector: boolean, v: number) => {
    f.get(out).get(j).i32(2).shl().add();
    if (pixel) f.get(oB).add();
    value();
    if (vector) {
      if (useBias) f.get(j).i32(2).shl().get(BIAS).add().v128load(16 * v).f32x4add();
      if (useRelu) f.v128zero().f32x4max();
      f.v128store(16 * v);
    } else {
      if (useBias) f.get(j).i32(2).shl().get(BIAS).add().f32load().f32add();
      if (useRelu) f.f32(0).f32max();
      f.f32store();
    }
  };

  /**
   * Output channels j.. of `pixels` (1 or 2) pixels from base: nv f32x4 accumulators each (nv = 0:
   * the one channel j, one pixel). The taps in order, one product added per step.
   */
  const block = (nv: number, pixels: number) => {
    if (nv === 0) f.f32(0).set(accS);
    for (let p = 0; p < pixels; p++) for (let v = 0; v < nv; v++) f.v128zero().set(acc[p][v]);
    // wp_ walks w's rows (one per tap), xp x's pixels of the window.
    f.get(j).i32(2).shl().get(Wt).add().set(wp_);
    forLoop(f, ky, () => f.i32(0), KH, 1, () => {
      f.get(ky).get(rowB).mul().get(base).add().set(xp);
      forLoop(f, kx, () => f.i32(0), KW, 1, () => {
        if (nv === 0) {
          f.get(xp).f32load().get(wp_).f32load().f32mul().get(accS).f32add().set(accS);
        } else {
          f.get(xp).v128load32splat().set(xs[0]);
          if (pixels === 2) f.get(xp).get(swB).add().v128load32splat().set(xs[1]);
          for (let v = 0; v < nv; v++) {
            f.get(wp_).v128load(16 * v).set(wv[v]);
            for (let p = 0; p < pixels; p++) f.get(xs[p]).get(wv[v]).f32x4mul().get(acc[p][v]).f32x4add().set(acc[p][v]);
          }
        }
        f.get(xp).i32(4).add().set(xp);
        f.get(wp_).get(oB).add().set(wp_);
      });
    });
    if (nv === 0) store(0, () => f.get(accS), false, 0);
    for (let p = 0; p < pixels; p++) for (let v = 0; v < nv; v++) store(p, () => f.get(acc[p][v]), true, v);
  };

  /** Every output channel of `pixels` pixels from base. */
  const channels = (pixels: number) => {
    forLoop(f, j, () => f.i32(0), end16, 16, () => block(4, pixels));
    forLoop(f, j, () => f.get(end16), end4, 4, () => block(1, pixels));
    forLoop(f, j, () => f.get(end4), O, 1, () => {
      block(0, 1);
      if (pixels === 2) {
        // the second pixel's single channel: base and out moved on by one pixel, then back
        f.get(base).get(swB).add().set(base);
        f.get(out).get(oB).add().set(out);
        block(0, 1);
        f.get(base).get(swB).sub().set(base);
        f.get(out).get(oB).sub().set(out);
      }
    });
  };

  forLoop(f, b, () => f.i32(0), N, 1, () =>
    forLoop(f, oy, () => f.i32(0), OH, 1, () => {
      // row = x + (b·hp + oy·sh)·wp·4
      f.get(b).get(HP).mul().get(oy).get(SH).mul().add().get(rowB).mul().get(X).add().set(row);
      forLoop(f, ox, () => f.i32(0), lastPair, 2, () => {
        f.get(ox).get(swB).mul().get(row).add().set(base);
        channels(2);
        f.get(out).get(oB).add().get(oB).add().set(out);
      });
      // an odd last pixel
      f.get(ox).get(OW).ltS();
      f.if();
      f.get(ox).get(swB).mul().get(row).add().set(base);
      channels(1);
      f.get(out).get(oB).add().set(out);
      f.end();
    }),
  );
  return f;
}

/** Taps of one filter row per pass over dy in the filter gradient. */
const DW_TAPS = 3;

function filterGradient(): Func {
  const f = new Func("conv1_dw", Array(15).fill(i32));
  const [X, DY, DW, N, HP, WP, OH, OW, KH, KW, SH, SW, O, J0, J1] = [...Array(15).keys()];
  const [b, oy, ox, j, ky, kx0, rowB, oB, swB, xp, dyp, row, off, end16, end4, left, dst] = Array.from({ length: 17 }, () => f.local(i32));
  const acc = Array.from({ length: DW_TAPS }, () => Array.from({ length: 4 }, () => f.local(type.v128)));
  const accS = Array.from({ length: DW_TAPS }, () => f.local(type.f32));
  const dyv = Array.from({ length: 4 }, () => f.local(type.v128));
  const dys = f.local(type.f32);
  const xs = f.local(type.v128);

  f.get(O).i32(2).shl().set(oB);
  f.get(WP).i32(2).shl().set(rowB);
  f.get(SW).i32(2).shl().set(swB);
  // Channels j0.. in sixteens, fours, then ones (each channel's sum is the same whichever group
  // holds it: one lane of its own, the same products added in the same order).
  f.get(J1).get(J0).sub().i32(-16).and().get(J0).add().set(end16);
  f.get(J1).get(J0).sub().i32(-4).and().get(J0).add().set(end4);

  /** Taps kx0..kx0+nt−1 of filter row ky, channels j.. (nv f32x4 each; nv = 0: channel j), over every pixel. */
  const chunk = (nt: number, nv: number) => {
    // dst = dw + ((ky·kw + kx0)·o + j)·4; the sums so far (from +0 for the first image).
    f.get(ky).get(KW).mul().get(kx0).add().get(O).mul().get(j).add().i32(2).shl().get(DW).add().set(dst);
    f.get(b).eqz();
    f.if();
    for (let t = 0; t < nt; t++) {
      if (nv === 0) f.f32(0).set(accS[t]);
      for (let v = 0; v < nv; v++) f.v128zero().set(acc[t][v]);
    }
    f.else();
    for (let t = 0; t < nt; t++) {
      if (nv === 0) f.get(dst).f32load().set(accS[t]);
      for (let v = 0; v < nv; v++) f.get(dst).v128load(16 * v).set(acc[t][v]);
      if (t + 1 < nt) f.get(dst).get(oB).add().set(dst);
    }
    f.end();
    // off = (ky·wp + kx0)·4: the taps' offset from a window's corner.
    f.get(ky).get(WP).mul().get(kx0).add().i32(2).shl().set(off);
    // dyp = dy + ((b·oh·ow)·o + j)·4
    f.get(b).get(OH).mul().get(OW).mul().get(O).mul().get(j).add().i32(2).shl().get(DY).add().set(dyp);
    forLoop(f, oy, () => f.i32(0), OH, 1, () => {
      f.get(b).get(HP).mul().get(oy).get(SH).mul().add().get(rowB).mul().get(X).add().get(off).add().set(row);
      f.get(row).set(xp);
      forLoop(f, ox, () => f.i32(0), OW, 1, () => {
        if (nv === 0) f.get(dyp).f32load().set(dys);
        for (let v = 0; v < nv; v++) f.get(dyp).v128load(16 * v).set(dyv[v]);
        for (let t = 0; t < nt; t++) {
          if (nv === 0) {
            f.get(xp).f32load(4 * t).get(dys).f32mul().get(accS[t]).f32add().set(accS[t]);
          } else {
            f.get(xp).v128load32splat(4 * t).set(xs);
            for (let v = 0; v < nv; v++) f.get(xs).get(dyv[v]).f32x4mul().get(acc[t][v]).f32x4add().set(acc[t][v]);
          }
        }
        f.get(xp).get(swB).add().set(xp);
        f.get(dyp).get(oB).add().set(dyp);
      });
    });
    f.get(ky).get(KW).mul().get(kx0).add().get(O).mul().get(j).add().i32(2).shl().get(DW).add().set(dst);
    for (let t = 0; t < nt; t++) {
      if (nv === 0) f.get(dst).get(accS[t]).f32store();
      for (let v = 0; v < nv; v++) f.get(dst).get(acc[t][v]).v128store(16 * v);
      if (t + 1 < nt) f.get(dst).get(oB).add().set(dst);
    }
  };

  /** Every filter row, its taps in chunks of DW_TAPS, then 2, then 1. */
  const taps = (nv: number) =>
    forLoop(f, ky, () => f.i32(0), KH, 1, () => {
      f.i32(0).set(kx0);
      f.block().loop();
      f.get(KW).get(kx0).sub().i32(DW_TAPS).ltS().brIf(1);
      chunk(DW_TAPS, nv);
      f.get(kx0).i32(DW_TAPS).add().set(kx0).br(0);
      f.end().end();
      f.get(KW).get(kx0).sub().set(left);
      remainders(nv);
    });

  /** The 1 or 2 taps left of a row (KW − kx0 in `left`). */
  const remainders = (nv: number) => {
    for (let nt = DW_TAPS - 1; nt >= 1; nt--) {
      f.get(left).i32(nt).ne().eqz();
      f.if();
      chunk(nt, nv);
      f.end();
    }
  };

  // One image at a time (its x and dy stay in cache across the passes), every sum resumed from
  // what the images before left in dw: still one running sum per output over p in order.
  forLoop(f, b, () => f.i32(0), N, 1, () => {
    forLoop(f, j, () => f.get(J0), end16, 16, () => taps(4));
    forLoop(f, j, () => f.get(end16), end4, 4, () => taps(1));
    forLoop(f, j, () => f.get(end4), J1, 1, () => taps(0));
  });
  return f;
}

/**
 * relu_grad_bias(dy, y, dz, db, rows, cols): the gradient through a fused conv + bias + ReLU's
 * epilogue in one pass: dz[i, j] = dy[i, j] · step(y[i, j]) (1 for y > 0, NaN for NaN, else 0:
 * masks.ts's relu_grad) and db[j] = Σᵢ dz[i, j], rows in order from +0 (sum_rows's order).
 */
function reluGradBias(): Func {
  const f = new Func("relu_grad_bias", [i32, i32, i32, i32, i32, i32]);
  const [DY, Y, DZ, DB, ROWS, COLS] = [0, 1, 2, 3, 4, 5];
  const [r, jB, colsB, end4, pdy, py, pdz] = Array.from({ length: 7 }, () => f.local(i32));
  const yv = f.local(type.v128);
  const ys = f.local(type.f32);
  f.get(COLS).i32(2).shl().set(colsB);
  f.get(colsB).i32(-16).and().set(end4);
  const cols = (vec: () => void, one: () => void) => {
    forLoop(f, jB, () => f.i32(0), end4, 16, vec);
    forLoop(f, jB, () => f.get(end4), colsB, 4, one);
  };
  cols(
    () => f.get(DB).get(jB).add().v128zero().v128store(),
    () => f.get(DB).get(jB).add().f32(0).f32store(),
  );
  f.get(DY).set(pdy);
  f.get(Y).set(py);
  f.get(DZ).set(pdz);
  forLoop(f, r, () => f.i32(0), ROWS, 1, () => {
    cols(
      () => {
        // dz = dy · step(y), kept on the stack for db
        f.get(pdz).get(jB).add();
        f.get(pdy).get(jB).add().v128load();
        f.get(py).get(jB).add().v128load().set(yv);
        f.get(yv);
        f.f32(1).f32x4splat().v128zero().get(yv).v128zero().f32x4gt().bitselect();
        f.get(yv).get(yv).f32x4ne().bitselect();
        f.f32x4mul().tee(yv).v128store();
        f.get(DB).get(jB).add().get(DB).get(jB).add().v128load().get(yv).f32x4add().v128store();
      },
      () => {
        f.get(pdz).get(jB).add();
        f.get(pdy).get(jB).add().f32load();
        f.get(py).get(jB).add().f32load().set(ys);
        f.f32(1);
        f.get(ys).f32(0).get(ys).get(ys).f32ne().select();
        f.get(ys).f32(0).f32gt().select();
        f.f32mul().tee(ys).f32store();
        f.get(DB).get(jB).add().get(DB).get(jB).add().f32load().get(ys).f32add().f32store();
      },
    );
    f.get(pdy).get(colsB).add().set(pdy);
    f.get(py).get(colsB).add().set(py);
    f.get(pdz).get(colsB).add().set(pdz);
  });
  return f;
}

/**
 * conv1_dx(dy, wt, dx, n, h, w, c, oh, ow, kh, kw, o, top, left), stride 1: the input gradient
 * with the sums of col2im(dy · Wᵀ) in their order: for each dx pixel and 16, 4 or 1 of its
 * channels, over its output pixels p = (oy, ox) ascending (the taps ky, kx descending), the tap's
 * dot product over the o output channels from +0, then added to the running dx from +0. wt is
 * the filter as [kh, kw, o, c] (conv.ts transposes each tap).
 */
function inputGradient(): Func {
  const f = new Func("conv1_dx", Array(14).fill(i32));
  const [DY, WT, DX, N, H, W, C, OH, OW, KH, KW, O, TOP, LEFT] = [...Array(14).keys()];
  const [b, iy, ix, j, oy, ox, oy0, oy1, ox0, ox1, q, dyp, wp_, out, cB, end16, end4, t] = Array.from({ length: 18 }, () => f.local(i32));
  const acc = Array.from({ length: 4 }, () => f.local(type.v128));
  const tap = Array.from({ length: 4 }, () => f.local(type.v128));
  const s = f.local(type.v128);
  const accS = f.local(type.f32);
  const tapS = f.local(type.f32);
  f.get(C).i32(2).shl().set(cB);
  f.get(C).i32(-16).and().set(end16);
  f.get(C).i32(-4).and().set(end4);
  f.get(DX).set(out);
  const block = (nv: number) => {
    if (nv === 0) f.f32(0).set(accS);
    for (let v = 0; v < nv; v++) f.v128zero().set(acc[v]);
    forLoop(f, oy, () => f.get(oy0), oy1, 1, () =>
      forLoop(f, ox, () => f.get(ox0), ox1, 1, () => {
        // dyp = dy + ((b·oh + oy)·ow + ox)·o·4; wp_ = wt + (((iy + top − oy)·kw + ix + left − ox)·o·c + j)·4
        f.get(b).get(OH).mul().get(oy).add().get(OW).mul().get(ox).add().get(O).mul().i32(2).shl().get(DY).add().set(dyp);
        f.get(iy).get(TOP).add().get(oy).sub().get(KW).mul().get(ix).add().get(LEFT).add().get(ox).sub().get(O).mul().get(C).mul().get(j).add().i32(2).shl().get(WT).add().set(wp_);
        if (nv === 0) f.f32(0).set(tapS);
        for (let v = 0; v < nv; v++) f.v128zero().set(tap[v]);
        forLoop(f, q, () => f.i32(0), O, 1, () => {
          if (nv === 0) {
            f.get(dyp).f32load().get(wp_).f32load().f32mul().get(tapS).f32add().set(tapS);
          } else {
            f.get(dyp).v128load32splat().set(s);
            for (let v = 0; v < nv; v++) f.get(s).get(wp_).v128load(16 * v).f32x4mul().get(tap[v]).f32x4add().set(tap[v]);
          }
          f.get(dyp).i32(4).add().set(dyp);
          f.get(wp_).get(cB).add().set(wp_);
        });
        if (nv === 0) f.get(accS).get(tapS).f32add().set(accS);
        for (let v = 0; v < nv; v++) f.get(acc[v]).get(tap[v]).f32x4add().set(acc[v]);
      }),
    );
    if (nv === 0) f.get(out).get(j).i32(2).shl().add().get(accS).f32store();
    for (let v = 0; v < nv; v++) f.get(out).get(j).i32(2).shl().add().get(acc[v]).v128store(16 * v);
  };
  /** lo = max(0, e − k + 1), hi = min(limit, e + 1) (exclusive), e = i + pad. */
  const range = (i: number, pad: number, k: number, limit: number, lo: number, hi: number) => {
    f.get(i).get(pad).add().get(k).sub().i32(1).add().set(t);
    f.get(t).i32(0).get(t).i32(0).gtS().select().set(lo);
    f.get(i).get(pad).add().i32(1).add().set(t);
    f.get(t).get(limit).get(t).get(limit).ltS().select().set(hi);
  };
  forLoop(f, b, () => f.i32(0), N, 1, () =>
    forLoop(f, iy, () => f.i32(0), H, 1, () => {
      range(iy, TOP, KH, OH, oy0, oy1);
      forLoop(f, ix, () => f.i32(0), W, 1, () => {
        range(ix, LEFT, KW, OW, ox0, ox1);
        forLoop(f, j, () => f.i32(0), end16, 16, () => block(4));
        forLoop(f, j, () => f.get(end16), end4, 4, () => block(1));
        forLoop(f, j, () => f.get(end4), C, 1, () => block(0));
        f.get(out).get(cB).add().set(out);
      });
    }),
  );
  return f;
}

/** The generated functions of this file. */
export function directConvFuncs(): Func[] {
  return (["none", "bias", "relu", "bias_relu"] as const).map((e) => forward(e)).concat(filterGradient(), reluGradBias(), inputGradient());
}

/** The kernels bound to one memory. */
export interface DirectConvKernels {
  /** By epilogue: y = act(conv(x, w) + bias); bias 0 for none / relu. */
  forward: Record<Epilogue, (x: number, w: number, y: number, bias: number, n: number, hp: number, wp: number, oh: number, ow: number, kh: number, kw: number, sh: number, sw: number, o: number) => void>;
  /** dw = the filter gradient, output channels j0 ≤ j < j1. */
  filterGradient: (x: number, dy: number, dw: number, n: number, hp: number, wp: number, oh: number, ow: number, kh: number, kw: number, sh: number, sw: number, o: number, j0: number, j1: number) => void;
  /** dx of a stride-1 convolution from dy and the filter as [kh, kw, o, c]. */
  inputGradient: (dy: number, wt: number, dx: number, n: number, h: number, w: number, c: number, oh: number, ow: number, kh: number, kw: number, o: number, top: number, left: number) => void;
  /** dz = dy · step(y) and db = dz summed over its rows. */
  reluGradBias: (dy: number, y: number, dz: number, db: number, rows: number, cols: number) => void;
  /** pool.ts: max-pooling with its argmax (arg 0: none), and the gradient scattered through it. */
  maxPool: (x: number, y: number, arg: number, n: number, h: number, w: number, c: number, oh: number, ow: number, fh: number, fw: number, sh: number, sw: number, top: number, left: number) => void;
  maxPoolScatter: (arg: number, dy: number, dx: number, count: number) => void;
  /** The same for 2×2 windows at stride 2, no padding, c % 4 == 0; images b0 ≤ b < b1. */
  maxPool2: (x: number, y: number, arg: number, n: number, h: number, w: number, c: number, oh: number, ow: number, b0: number, b1: number) => void;
  maxPool2Grad: (arg: number, dy: number, dx: number, n: number, h: number, w: number, c: number, oh: number, ow: number, b0: number, b1: number) => void;
}

interface MemoryHolder {
  wasm: { wasmMemory?: WebAssembly.Memory; asm?: { memory?: WebAssembly.Memory } };
}

/** The direct convolutions' and pooling's module (generated, so a helper thread compiles the same one). */
export function directConvModule(sharedMemory: boolean): WebAssembly.Module {
  return new WebAssembly.Module(moduleBytes([...directConvFuncs(), ...poolFuncs()], sharedMemory) as Uint8Array<ArrayBuffer>);
}

/** The kernels of `directConvModule` instantiated on `memory`. */
export function bindDirectConv(module: WebAssembly.Module, memory: WebAssembly.Memory): DirectConvKernels {
  const e = new WebAssembly.Instance(module, { env: { memory } }).exports as Record<string, (...args: number[]) => void>;
  return {
    forward: { none: e.conv1_none, bias: e.conv1_bias, relu: e.conv1_relu, bias_relu: e.conv1_bias_relu },
    filterGradient: e.conv1_dw,
    reluGradBias: e.relu_grad_bias,
    maxPool: e.maxpool,
    maxPoolScatter: e.maxpool_scatter,
    maxPool2: e.maxpool2,
    maxPool2Grad: e.maxpool2_grad,
    inputGradient: e.conv1_dx,
  };
}

const perBackend = new WeakMap<object, DirectConvKernels>();
const modules = new WeakMap<object, { module: WebAssembly.Module; memory: WebAssembly.Memory }>();

/**
 * The direct kernels' module for a wasm backend and the memory it runs on, compiled once: the
 * helper threads (parallel.ts) get this very module, so V8 shares its compiled (and tiered-up)
 * code with them instead of each compiling its own, which ran on baseline code for a while.
 */
export function directConvModuleFor(backend: MemoryHolder): { module: WebAssembly.Module; memory: WebAssembly.Memory } {
  let entry = modules.get(backend);
  if (!entry) {
    const memory = backend.wasm.wasmMemory ?? backend.wasm.asm?.memory;
    if (!memory) throw new Error("tsdl direct convolutions: cannot find the wasm backend's memory");
    const shared = typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
    entry = { module: directConvModule(shared), memory };
    modules.set(backend, entry);
  }
  return entry;
}

/** The direct convolutions bound to a wasm backend's memory (compiled once per backend). */
export function directConvFor(backend: MemoryHolder): DirectConvKernels {
  let kernels = perBackend.get(backend);
  if (!kernels) {
    const { module, memory } = directConvModuleFor(backend);
    kernels = bindDirectConv(module, memory);
    perBackend.set(backend, kernels);
  }
  return kernels;
}
