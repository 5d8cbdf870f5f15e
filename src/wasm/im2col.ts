/**
 * The memory-bound halves of tsdl's convolutions (conv.ts), generated as WebAssembly like the
 * GEMM (gemm.ts, emit.ts): im2col, col2im and max-pooling's gradient. In JavaScript they took as
 * long as the products themselves (1–3 ns per element); here runs of `kw·c` floats move four at
 * a time.
 *
 * Exports, pointers byte offsets into the backend's memory, sizes in elements (NHWC):
 *   im2col(x, cols, n, h, w, c, oh, ow, kh, kw, sh, sw, top, left)
 *       cols[p, (ky, kx, ch)] = x[b, oy·sh − top + ky, ox·sw − left + kx, ch], 0 outside,
 *       p = (b·oh + oy)·ow + ox
 *   col2im(dx, cols, ...same)      dx[...] += cols[p, (ky, kx, ch)] (dx zeroed by the caller)
 *   maxpool_grad(x, dy, dx, n, h, w, c, oh, ow, fh, fw, sh, sw, top, left)
 *       dx[argmax of each window of x] += dy (first maximum in row-major window order, as the
 *       `cpu` backend picks it; dx zeroed by the caller)
 *   maxpool_grad4(...same)     the same for c % 4 == 0, four channels per f32x4
 *   sum_rows(x, out, rows, cols)   out[j] = Σᵢ x[i·cols + j]: a `Sum` over leading axes (a bias
 *       gradient), which tfjs-wasm runs as a full transpose and then a sum
 */
import { forLoop as countedLoop, Func, type } from "./emit";

const { i32, f32 } = type;

/** im2col (copy out of x, zeros outside) or col2im (add back into x). */
function columns(mode: "im2col" | "col2im"): Func {
  const f = new Func(mode, Array(14).fill(i32));
  const [X, COLS, N, H, W, C, OH, OW, KH, KW, SH, SW, TOP, LEFT] = [...Array(14).keys()];
  const [b, oy, ox, ky, ix0, kx0, kx1, iy, dst, src, lead, len, runB, cB, i, end16, p, q] = Array.from({ length: 18 }, () => f.local(i32));
  /** A loop over `bytes` (a local) bytes: `vec` per 16, `one` per 4; `i` is the byte index. */
  const bytesLoop = (bytes: number, vec: () => void, one: () => void) => {
    f.get(bytes).i32(-16).and().set(end16);
    f.i32(0).set(i);
    f.block().loop();
    f.get(i).get(end16).geS().brIf(1);
    vec();
    f.get(i).i32(16).add().set(i).br(0);
    f.end().end();
    f.block().loop();
    f.get(i).get(bytes).geS().brIf(1);
    one();
    f.get(i).i32(4).add().set(i).br(0);
    f.end().end();
  };
  /** Zeros `bytes` bytes from pointer local `at`. */
  const zero = (at: number, bytes: number) =>
    bytesLoop(
      bytes,
      () => f.get(at).get(i).add().v128zero().v128store(),
      () => f.get(at).get(i).add().f32(0).f32store(),
    );
  const tmp = f.local(i32);

  f.get(KW).get(C).mul().i32(2).shl().set(runB);
  f.get(C).i32(2).shl().set(cB);
  f.get(COLS).set(dst);
  const forLoop = (v: number, limit: number, body: () => void) => countedLoop(f, v, () => f.i32(0), limit, 1, body);
  forLoop(b, N, () =>
    forLoop(oy, OH, () =>
      forLoop(ox, OW, () => {
        f.get(ox).get(SW).mul().get(LEFT).sub().set(ix0);
        // kx0 = ix0 < 0 ? −ix0 : 0; kx1 = ix0 + kw > w ? w − ix0 : kw
        f.i32(0).get(ix0).sub().i32(0).get(ix0).i32(0).ltS().select().set(kx0);
        f.get(W).get(ix0).sub().get(KW).get(ix0).get(KW).add().get(W).gtS().select().set(kx1);
        f.get(kx0).get(cB).mul().set(lead);
        f.get(kx1).get(kx0).sub().get(cB).mul().set(len);
        forLoop(ky, KH, () => {
          f.get(oy).get(SH).mul().get(TOP).sub().get(ky).add().set(iy);
          f.get(iy).i32(0).geS().get(iy).get(H).ltS().and().get(len).i32(0).gtS().and();
          f.if();
          // src = x + ((b·h + iy)·w + ix0 + kx0)·c·4
          f.get(b).get(H).mul().get(iy).add().get(W).mul().get(ix0).add().get(kx0).add().get(cB).mul().get(X).add().set(src);
          f.get(dst).get(lead).add().set(p);
          if (mode === "im2col") {
            zero(dst, lead);
            bytesLoop(
              len,
              () => f.get(p).get(i).add().get(src).get(i).add().v128load().v128store(),
              () => f.get(p).get(i).add().get(src).get(i).add().f32load().f32store(),
            );
            f.get(p).get(len).add().set(q);
            f.get(runB).get(lead).sub().get(len).sub().set(tmp);
            zero(q, tmp);
          } else {
            bytesLoop(
              len,
              () => f.get(src).get(i).add().get(src).get(i).add().v128load().get(p).get(i).add().v128load().f32x4add().v128store(),
              () => f.get(src).get(i).add().get(src).get(i).add().f32load().get(p).get(i).add().f32load().f32add().f32store(),
            );
          }
          if (mode === "im2col") {
            f.else();
            zero(dst, runB);
          }
          f.end();
          f.get(dst).get(runB).add().set(dst);
        });
      }),
    ),
  );
  return f;
}

/**
 * maxpool_grad for channels in groups of four (c % 4 == 0): the four channels' running maxima and
 * their byte addresses in f32x4 / i32x4 lanes, updated where `v > best` (strict: the first
 * maximum stays), then each lane's dy added at its address.
 */
function maxPoolGrad4(): Func {
  const f = new Func("maxpool_grad4", Array(15).fill(i32));
  const [X, DY, DX, N, H, W, C, OH, OW, FH, FW, SH, SW, TOP, LEFT] = [...Array(15).keys()];
  const [b, oy, ox, ch, iy, ix, y0, y1, x0, x1, q, g, cB, t, a] = Array.from({ length: 15 }, () => f.local(i32));
  const best = f.local(type.v128);
  const pos = f.local(type.v128);
  const v = f.local(type.v128);
  const mask = f.local(type.v128);
  const forLoop = (v_: number, from: () => void, limit: number, step: number, body: () => void) => countedLoop(f, v_, from, limit, step, body);
  f.get(C).i32(2).shl().set(cB);
  f.get(DY).set(g);
  forLoop(b, () => f.i32(0), N, 1, () =>
    forLoop(oy, () => f.i32(0), OH, 1, () => {
      f.get(oy).get(SH).mul().get(TOP).sub().set(t);
      f.get(t).i32(0).get(t).i32(0).gtS().select().set(y0);
      f.get(t).get(FH).add().set(t);
      f.get(t).get(H).get(t).get(H).ltS().select().set(y1);
      forLoop(ox, () => f.i32(0), OW, 1, () => {
        f.get(ox).get(SW).mul().get(LEFT).sub().set(t);
        f.get(t).i32(0).get(t).i32(0).gtS().select().set(x0);
        f.get(t).get(FW).add().set(t);
        f.get(t).get(W).get(t).get(W).ltS().select().set(x1);
        forLoop(ch, () => f.i32(0), C, 4, () => {
          f.f32(-Infinity).f32x4splat().set(best);
          f.i32(-1).i32x4splat().set(pos);
          forLoop(iy, () => f.get(y0), y1, 1, () => {
            f.get(b).get(H).mul().get(iy).add().get(W).mul().get(x0).add().get(C).mul().get(ch).add().i32(2).shl().get(X).add().set(q);
            forLoop(ix, () => f.get(x0), x1, 1, () => {
              f.get(q).v128load().tee(v).get(best).f32x4gt().set(mask);
              f.get(v).get(best).get(mask).bitselect().set(best);
              f.get(q).i32x4splat().i32x4const([0, 4, 8, 12]).i32x4add().get(pos).get(mask).bitselect().set(pos);
              f.get(q).get(cB).add().set(q);
            });
          });
          for (let lane = 0; lane < 4; lane++) {
            f.get(pos).i32x4extract(lane).tee(a).i32(-1).ne();
            f.if();
            f.get(a).get(X).sub().get(DX).add().tee(t);
            f.get(t).f32load().get(g).f32load(4 * lane).f32add().f32store();
            f.end();
          }
          f.get(g).i32(16).add().set(g);
        });
      });
    }),
  );
  return f;
}

/** sum_rows(x, out, rows, cols): out[j] = Σᵢ x[i·cols + j] (a sum over leading axes), rows in order. */
function sumRows(): Func {
  const f = new Func("sum_rows", [i32, i32, i32, i32]);
  const [X, OUT, ROWS, COLS] = [0, 1, 2, 3];
  const [r, j, p, end4, colsB] = Array.from({ length: 5 }, () => f.local(i32));
  f.get(COLS).i32(2).shl().set(colsB);
  f.get(colsB).i32(-16).and().set(end4);
  const cols = (vec: () => void, one: () => void) => {
    f.i32(0).set(j);
    f.block().loop();
    f.get(j).get(end4).geS().brIf(1);
    vec();
    f.get(j).i32(16).add().set(j).br(0);
    f.end().end();
    f.block().loop();
    f.get(j).get(colsB).geS().brIf(1);
    one();
    f.get(j).i32(4).add().set(j).br(0);
    f.end().end();
  };
  cols(
    () => f.get(OUT).get(j).add().v128zero().v128store(),
    () => f.get(OUT).get(j).add().f32(0).f32store(),
  );
  f.get(X).set(p);
  f.i32(0).set(r);
  f.block().loop();
  f.get(r).get(ROWS).geS().brIf(1);
  cols(
    () => f.get(OUT).get(j).add().get(OUT).get(j).add().v128load().get(p).get(j).add().v128load().f32x4add().v128store(),
    () => f.get(OUT).get(j).add().get(OUT).get(j).add().f32load().get(p).get(j).add().f32load().f32add().f32store(),
  );
  f.get(p).get(colsB).add().set(p);
  f.get(r).i32(1).add().set(r).br(0);
  f.end().end();
  return f;
}

function maxPoolGrad(): Func {
  const f = new Func("maxpool_grad", Array(15).fill(i32));
  const [X, DY, DX, N, H, W, C, OH, OW, FH, FW, SH, SW, TOP, LEFT] = [...Array(15).keys()];
  const [b, oy, ox, ch, iy, ix, y0, y1, x0, x1, q, pos, g, cB, t] = Array.from({ length: 15 }, () => f.local(i32));
  const best = f.local(f32);
  const v = f.local(f32);
  const forLoop = (v_: number, from: () => void, limit: number, body: () => void) => countedLoop(f, v_, from, limit, 1, body);
  f.get(C).i32(2).shl().set(cB);
  f.get(DY).set(g);
  forLoop(b, () => f.i32(0), N, () =>
    forLoop(oy, () => f.i32(0), OH, () => {
      // y0 = max(0, oy·sh − top); y1 = min(h, oy·sh − top + fh)
      f.get(oy).get(SH).mul().get(TOP).sub().set(t);
      f.get(t).i32(0).get(t).i32(0).gtS().select().set(y0);
      f.get(t).get(FH).add().set(t);
      f.get(t).get(H).get(t).get(H).ltS().select().set(y1);
      forLoop(ox, () => f.i32(0), OW, () => {
        f.get(ox).get(SW).mul().get(LEFT).sub().set(t);
        f.get(t).i32(0).get(t).i32(0).gtS().select().set(x0);
        f.get(t).get(FW).add().set(t);
        f.get(t).get(W).get(t).get(W).ltS().select().set(x1);
        forLoop(ch, () => f.i32(0), C, () => {
          f.f32(-Infinity).set(best);
          f.i32(-1).set(pos);
          forLoop(iy, () => f.get(y0), y1, () => {
            // q = x + (((b·h + iy)·w + x0)·c + ch)·4
            f.get(b).get(H).mul().get(iy).add().get(W).mul().get(x0).add().get(C).mul().get(ch).add().i32(2).shl().get(X).add().set(q);
            forLoop(ix, () => f.get(x0), x1, () => {
              f.get(q).f32load().tee(v).get(best).f32gt();
              f.if();
              f.get(v).set(best);
              f.get(q).set(pos);
              f.end();
              f.get(q).get(cB).add().set(q);
            });
          });
          f.get(pos).i32(-1).ne();
          f.if();
          f.get(pos).get(X).sub().get(DX).add().tee(t);
          f.get(t).f32load().get(g).f32load().f32add().f32store();
          f.end();
          f.get(g).i32(4).add().set(g);
        });
      });
    }),
  );
  return f;
}

/** The functions of this file, for the module gemm.ts compiles. */
export function im2colFuncs(): Func[] {
  return [columns("im2col"), columns("col2im"), maxPoolGrad(), maxPoolGrad4(), sumRows()];
}
