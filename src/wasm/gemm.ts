/**
 * tsdl's own single-threaded SIMD matrix product for the tfjs wasm backend, generated at run
 * time (src/wasm/emit.ts) and run directly on the backend's memory.
 *
 * Why not only XNNPACK: its fully-connected operator first copies b into a packed layout, at
 * about 3.5 ns per element on this machine. Inference reuses that packing (the backend caches it
 * per weights tensor), but a training step has new weights every step, and at the article MLP's
 * batch of 64 the packing of 784×256 weights costs as much as the product itself. This kernel
 * reads b in place: a 4×8 register tile (eight f32x4 accumulators), b's rows streamed along k,
 * each 8-column panel of b reused across all rows of a. On the MLP's products it matches
 * XNNPACK's inner speed without the packing. A transposed operand is first copied in order by
 * the SIMD 4×4-block `transpose` below (a fraction of a nanosecond per element).
 *
 * Exports, all pointers byte offsets into the backend's memory, sizes in elements:
 *   gemm_{none,bias,relu,bias_relu}(a, b, c, m, k, n, lda, ldb, ldc, bias)
 *       c[i·ldc + j] = act(Σ_k a[i·lda + k] · b[k·ldb + j] + bias[j]),  k ≥ 1
 *   gemm_tn_none(same)                    c[i·ldc + j] = Σ_k a[k·lda + i] · b[k·ldb + j]
 *   transpose(src, dst, rows, cols)        dst[c·rows + r] = src[r·cols + c]
 *   sqrt(src, dst, count)                  dst[i] = √src[i]  (f32x4.sqrt; the backend's
 *                                          Sqrt is a scalar loop, and Adam runs it over every
 *                                          weight each step)
 *   adam(value, m, v, g, outValue, outM, outV, count, oneMinusAccBeta1Ptr, oneMinusAccBeta2Ptr,
 *        beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon, negLearningRate)
 *       one Adam update, the very float32 operations of tfjs's AdamOptimizer in its order
 *       (adam.ts), fused into one pass
 *   im2col, col2im, maxpool_grad(4), sum_rows   (im2col.ts) for the convolutions of conv.ts
 *   dropout_mask, relu_grad   (masks.ts) for dropout and ReLU's gradient (dropout.ts)
 */
import { Func, moduleBytes, type } from "./emit";
import { im2colFuncs } from "./im2col";
import { maskFuncs } from "./masks";

const { i32 } = type;
/**
 * Rows per register tile. 4 (eight f32x4 accumulators for a 4×8 tile) measured fastest here
 * against 3, 5 and 6 rows, and against unrolling k by 2.
 */
const DEFAULT_MR = 4;
/**
 * Experiment, off by default: TSDL_GEMM_FMA=1 multiplies and adds the f32x4 tiles with relaxed
 * SIMD's relaxed_madd (fused on x86 with FMA), which changes the rounding of every sum (results
 * are no longer tfjs's bits). Node 20 needs `--experimental-wasm-relaxed-simd`.
 */
const GEMM_FMA = process.env.TSDL_GEMM_FMA === "1";

export type Epilogue = "none" | "bias" | "relu" | "bias_relu";

/** Byte indices of f32 lanes, for `shuffle` (lanes 0–3 of the first operand, 4–7 of the second). */
const lanes = (...floats: number[]) => floats.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);

/**
 * Emits the transpose of a 4×4 block held as four row vectors in locals `x` (scratch `t`): for
 * each output row, `write(row, value)` pushes the address, calls `value()` to push the row, and
 * stores it.
 */
function transposeBlock(f: Func, x: number[], t: number[], write: (row: number, value: () => void) => void): void {
  f.get(x[0]).get(x[1]).shuffle(lanes(0, 4, 1, 5)).set(t[0]);
  f.get(x[0]).get(x[1]).shuffle(lanes(2, 6, 3, 7)).set(t[1]);
  f.get(x[2]).get(x[3]).shuffle(lanes(0, 4, 1, 5)).set(t[2]);
  f.get(x[2]).get(x[3]).shuffle(lanes(2, 6, 3, 7)).set(t[3]);
  const out = [
    [t[0], t[2], lanes(0, 1, 4, 5)],
    [t[0], t[2], lanes(2, 3, 6, 7)],
    [t[1], t[3], lanes(0, 1, 4, 5)],
    [t[1], t[3], lanes(2, 3, 6, 7)],
  ] as const;
  out.forEach(([p, q, l], row) => write(row, () => f.get(p).get(q).shuffle([...l])));
}

/**
 * The GEMM; with `transA`, a is read transposed (a[k·lda + i]: the rows of a tile are four
 * consecutive floats, one splat load each per k), so a product by xᵀ needs no transposed copy
 * of x.
 *
 * With `blocked` (the runner's cache-blocked products, parallel.ts; named by `blockedName`) one
 * more parameter, pstride, and two choices made when generating (branches per tile measured
 * 12–15% slower, so every combination is its own function):
 *   init     "c": start each sum from c (the previous k block's partial sums) instead of 0. A
 *            product cut into k blocks gives the bits of one call: each sum still runs through
 *            k in order, stored and reloaded as float32; the epilogue comes with the last block.
 *   packed   b is packed (`pack_b`): column j, row k at b[(j >> 3)·pstride + 8·k + (j & 7)], so
 *            a tile's 8 columns of one k are 32 contiguous bytes and a panel is one stream.
 *            Otherwise b is row-major with row stride ldb (pstride unused).
 */
function gemm(epilogue: Epilogue, MR: number, transA = false, blocked?: { packed: boolean; fromC: boolean }): Func {
  const name = blocked ? blockedName(transA, blocked.packed, blocked.fromC, epilogue) : transA ? `gemm_tn_${epilogue}` : `gemm_${epilogue}`;
  const f = new Func(name, blocked ? [i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32] : [i32, i32, i32, i32, i32, i32, i32, i32, i32, i32]);
  const [A, B, C, M, K, N, LDA, LDB, LDC, BIAS, PSTRIDE] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const packed = blocked?.packed ?? false;
  const fromC = blocked?.fromC ?? false;
  const i = f.local(i32);
  const j = f.local(i32);
  const kk = f.local(i32);
  const ldb4 = f.local(i32);
  const ldc4 = f.local(i32);
  const pb = f.local(i32);
  const pc = f.local(i32);
  const pt = f.local(i32);
  const pa = Array.from({ length: MR }, () => f.local(i32));
  const av = f.local(type.v128);
  const bv = [f.local(type.v128), f.local(type.v128)];
  const acc = Array.from({ length: MR }, () => [f.local(type.v128), f.local(type.v128)]);
  const bs = f.local(type.f32);
  const accS = Array.from({ length: MR }, () => f.local(type.f32));
  const useBias = epilogue === "bias" || epilogue === "bias_relu";
  const useRelu = epilogue === "relu" || epilogue === "bias_relu";

  const lda4 = f.local(i32);
  if (packed) f.i32(32).set(ldb4);
  else f.get(LDB).i32(2).shl().set(ldb4);
  f.get(LDC).i32(2).shl().set(ldc4);
  f.get(LDA).i32(2).shl().set(lda4);


  /** One register tile: rows i..i+mr-1, columns j..j+4·nv-1 (nv = 0: the one column j). */
  const tile = (mr: number, nv: number) => {
    for (let r = 0; r < mr; r++) {
      if (transA) f.get(i).i32(r).add().i32(2).shl().get(A).add().set(pa[r]);
      else f.get(i).i32(r).add().get(LDA).mul().i32(2).shl().get(A).add().set(pa[r]);
    }
    // pb = b + 4·j, or b + 4·((j >> 3)·pstride + (j & 7)) when packed.
    if (packed) f.get(j).i32(3).shrU().get(PSTRIDE).mul().get(j).i32(7).and().add().i32(2).shl().get(B).add().set(pb);
    else f.get(j).i32(2).shl().get(B).add().set(pb);
    f.get(i).get(LDC).mul().get(j).add().i32(2).shl().get(C).add().set(pc);
    const zero = () => {
      for (let r = 0; r < mr; r++) {
        if (nv === 0) f.f32(0).set(accS[r]);
        for (let v = 0; v < nv; v++) f.v128zero().set(acc[r][v]);
      }
    };
    if (fromC) {
      // Continue from c's partial sums.
      f.get(pc).set(pt);
      for (let r = 0; r < mr; r++) {
        if (nv === 0) f.get(pt).f32load().set(accS[r]);
        for (let v = 0; v < nv; v++) f.get(pt).v128load(16 * v).set(acc[r][v]);
        if (r + 1 < mr) f.get(pt).get(ldc4).add().set(pt);
      }
    } else zero();
    // One step of k: b's row segment, then each row's a value splat across lanes.
    const step = () => {
      if (nv === 0) {
        f.get(pb).f32load().set(bs);
        for (let r = 0; r < mr; r++) {
          // a transposed: the tile's rows are consecutive floats from pa[0].
          if (transA) f.get(pa[0]).f32load(4 * r);
          else f.get(pa[r]).f32load();
          f.get(bs).f32mul().get(accS[r]).f32add().set(accS[r]);
        }
      } else {
        for (let v = 0; v < nv; v++) f.get(pb).v128load(16 * v).set(bv[v]);
        for (let r = 0; r < mr; r++) {
          // a transposed: four splat loads from pa[0] (one f32x4 load and four lane shuffles
          // measured 8–15% slower: shuffles take the FP pipes the products need).
          if (transA) {
            f.get(pa[0]).v128load32splat(4 * r).set(av);
          } else {
            f.get(pa[r]).v128load32splat().set(av);
          }
          for (let v = 0; v < nv; v++) {
            if (GEMM_FMA) f.get(av).get(bv[v]).get(acc[r][v]).f32x4relaxedMadd().set(acc[r][v]);
            else f.get(av).get(bv[v]).f32x4mul().get(acc[r][v]).f32x4add().set(acc[r][v]);
          }
        }
      }
    };
    // Through k, one step an iteration: a's row pointers move on by a float (transposed a: by a
    // row), b by a row (a packed b: 32 bytes). Unrolling k by 4, with immediate offsets for a
    // and a packed b, measured 10–35% slower under V8 11.3 (Node 20).
    f.get(K).tee(kk);
    f.if();
    f.loop();
    step();
    f.get(pb).get(ldb4).add().set(pb);
    if (transA) f.get(pa[0]).get(lda4).add().set(pa[0]);
    else for (let r = 0; r < mr; r++) f.get(pa[r]).i32(4).add().set(pa[r]);
    f.get(kk).i32(1).sub().tee(kk).brIf(0);
    f.end();
    f.end();
    // Epilogue: bias (after the whole sum), relu, store.
    if (useBias) {
      for (let r = 0; r < mr; r++) {
        if (nv === 0) f.get(accS[r]).get(j).i32(2).shl().get(BIAS).add().f32load().f32add().set(accS[r]);
        for (let v = 0; v < nv; v++) f.get(acc[r][v]).get(j).i32(2).shl().get(BIAS).add().v128load(16 * v).f32x4add().set(acc[r][v]);
      }
    }
    if (useRelu) {
      for (let r = 0; r < mr; r++) {
        if (nv === 0) f.get(accS[r]).f32(0).f32max().set(accS[r]);
        for (let v = 0; v < nv; v++) f.get(acc[r][v]).v128zero().f32x4max().set(acc[r][v]);
      }
    }
    for (let r = 0; r < mr; r++) {
      if (nv === 0) f.get(pc).get(accS[r]).f32store();
      for (let v = 0; v < nv; v++) f.get(pc).get(acc[r][v]).v128store(16 * v);
      if (r + 1 < mr) f.get(pc).get(ldc4).add().set(pc);
    }
  };

  /** All rows for the current column block: MR-row tiles, then single rows. */
  const rows = (nv: number) => {
    f.i32(0).set(i);
    f.block().loop();
    f.get(M).get(i).sub().i32(MR).ltS().brIf(1);
    tile(MR, nv);
    f.get(i).i32(MR).add().set(i).br(0);
    f.end().end();
    f.block().loop();
    f.get(i).get(M).geS().brIf(1);
    tile(1, nv);
    f.get(i).i32(1).add().set(i).br(0);
    f.end().end();
  };

  f.i32(0).set(j);
  // 8-column panels.
  f.block().loop();
  f.get(N).get(j).sub().i32(8).ltS().brIf(1);
  rows(2);
  f.get(j).i32(8).add().set(j).br(0);
  f.end().end();
  // A 4-column panel.
  f.get(N).get(j).sub().i32(4).geS().if();
  rows(1);
  f.get(j).i32(4).add().set(j);
  f.end();
  // Single columns.
  f.block().loop();
  f.get(j).get(N).geS().brIf(1);
  rows(0);
  f.get(j).i32(1).add().set(j).br(0);
  f.end().end();
  return f;
}

/**
 * pack_b(src, dst, k, n, ldb): b [k, n] (row stride ldb) into 8-column panels, panel p at
 * dst + 4·p·8k, row by row (32 bytes per k); the last panel's columns past n are left unwritten
 * (never read). pack_bt(src, dst, k, n, ld) does the same from bᵀ [n, k] (row stride ld), 4×4
 * blocks transposed in registers, so a transposed b is packed in one pass.
 */
function packB(transposed: boolean): Func {
  const f = new Func(transposed ? "pack_bt" : "pack_b", [i32, i32, i32, i32, i32]);
  const [SRC, DST, K, N, LD] = [0, 1, 2, 3, 4];
  const j = f.local(i32);
  const kk = f.local(i32);
  const jj = f.local(i32);
  const ps = f.local(i32);
  const pd = f.local(i32);
  const ld4 = f.local(i32);
  const k4 = f.local(i32);
  const x = [0, 1, 2, 3].map(() => f.local(type.v128));
  const t = [0, 1, 2, 3].map(() => f.local(type.v128));
  f.get(LD).i32(2).shl().set(ld4);
  f.get(K).i32(-4).and().set(k4);
  f.i32(0).set(j);
  // Full panels.
  f.block().loop();
  f.get(N).get(j).sub().i32(8).ltS().brIf(1);
  f.get(j).get(K).mul().i32(2).shl().get(DST).add().set(pd);
  if (!transposed) {
    f.get(j).i32(2).shl().get(SRC).add().set(ps);
    f.get(K).set(kk);
    f.loop();
    f.get(pd).get(ps).v128load().v128store();
    f.get(pd).get(ps).v128load(16).v128store(16);
    f.get(ps).get(ld4).add().set(ps);
    f.get(pd).i32(32).add().set(pd);
    f.get(kk).i32(1).sub().tee(kk).brIf(0);
    f.end();
  } else {
    // Rows j..j+7 of bᵀ, 4 k at a time: two 4×4 blocks, each transposed to 4 k rows of 4 columns.
    f.i32(0).set(kk);
    f.block().loop();
    f.get(kk).get(k4).geS().brIf(1);
    for (let half = 0; half < 2; half++) {
      f.get(j).i32(4 * half).add().get(LD).mul().get(kk).add().i32(2).shl().get(SRC).add().set(ps);
      for (let q = 0; q < 4; q++) {
        f.get(ps).v128load().set(x[q]);
        if (q < 3) f.get(ps).get(ld4).add().set(ps);
      }
            transposeBlock(f, x, t, (row, value) => {
        f.get(pd);
        value();
        f.v128store(32 * row + 16 * half);
      });
    }
    f.get(pd).i32(128).add().set(pd);
    f.get(kk).i32(4).add().set(kk).br(0);
    f.end().end();
    // Leftover k: element by element.
    f.block().loop();
    f.get(kk).get(K).geS().brIf(1);
    for (let c = 0; c < 8; c++) {
      f.get(pd);
      f.get(j).i32(c).add().get(LD).mul().get(kk).add().i32(2).shl().get(SRC).add().f32load();
      f.f32store(4 * c);
    }
    f.get(pd).i32(32).add().set(pd);
    f.get(kk).i32(1).add().set(kk).br(0);
    f.end().end();
  }
  f.get(j).i32(8).add().set(j).br(0);
  f.end().end();
  // The last, partial panel: element by element.
  f.get(j).get(N).ltS().if();
  f.get(j).get(K).mul().i32(2).shl().get(DST).add().set(pd);
  f.i32(0).set(kk);
  f.block().loop();
  f.get(kk).get(K).geS().brIf(1);
  f.i32(0).set(jj);
  f.block().loop();
  f.get(jj).get(N).get(j).sub().geS().brIf(1);
  f.get(jj).i32(2).shl().get(pd).add();
  if (transposed) f.get(j).get(jj).add().get(LD).mul().get(kk).add();
  else f.get(kk).get(LD).mul().get(j).add().get(jj).add();
  f.i32(2).shl().get(SRC).add().f32load().f32store();
  f.get(jj).i32(1).add().set(jj).br(0);
  f.end().end();
  f.get(pd).i32(32).add().set(pd);
  f.get(kk).i32(1).add().set(kk).br(0);
  f.end().end();
  f.end();
  return f;
}

function transpose(): Func {
  const f = new Func("transpose", [i32, i32, i32, i32]);
  const [SRC, DST, ROWS, COLS] = [0, 1, 2, 3];
  const r = f.local(i32);
  const c = f.local(i32);
  const ps = f.local(i32);
  const rows4 = f.local(i32);
  const cols4 = f.local(i32);
  const x = [0, 1, 2, 3].map(() => f.local(type.v128));
  const t = [0, 1, 2, 3].map(() => f.local(type.v128));

  f.get(ROWS).i32(-4).and().set(rows4);
  f.get(COLS).i32(-4).and().set(cols4);
  // Full 4×4 blocks.
  f.i32(0).set(r);
  f.block().loop();
  f.get(r).get(rows4).geS().brIf(1);
  f.i32(0).set(c);
  f.block().loop();
  f.get(c).get(cols4).geS().brIf(1);
  f.get(r).get(COLS).mul().get(c).add().i32(2).shl().get(SRC).add().set(ps);
  for (let q = 0; q < 4; q++) {
    f.get(ps).v128load().set(x[q]);
    if (q < 3) f.get(ps).get(COLS).i32(2).shl().add().set(ps);
  }
    transposeBlock(f, x, t, (col, value) => {
    f.get(c).i32(col).add().get(ROWS).mul().get(r).add().i32(2).shl().get(DST).add();
    value();
    f.v128store();
  });
  f.get(c).i32(4).add().set(c).br(0);
  f.end().end();
  f.get(r).i32(4).add().set(r).br(0);
  f.end().end();
  // Leftover columns of the full row blocks, then leftover rows: element by element.
  const scalar = (rFrom: number | null, rTo: number, cFrom: number | null) => {
    if (rFrom === null) f.i32(0).set(r);
    else f.get(rFrom).set(r);
    f.block().loop();
    f.get(r).get(rTo).geS().brIf(1);
    if (cFrom === null) f.i32(0).set(c);
    else f.get(cFrom).set(c);
    f.block().loop();
    f.get(c).get(COLS).geS().brIf(1);
    f.get(c).get(ROWS).mul().get(r).add().i32(2).shl().get(DST).add();
    f.get(r).get(COLS).mul().get(c).add().i32(2).shl().get(SRC).add().f32load();
    f.f32store();
    f.get(c).i32(1).add().set(c).br(0);
    f.end().end();
    f.get(r).i32(1).add().set(r).br(0);
    f.end().end();
  };
  scalar(null, rows4, cols4);
  scalar(rows4, ROWS, null);
  return f;
}

function sqrt(): Func {
  const f = new Func("sqrt", [i32, i32, i32]);
  const [SRC, DST, COUNT] = [0, 1, 2];
  const i = f.local(i32);
  const end4 = f.local(i32);
  f.get(COUNT).i32(-4).and().i32(2).shl().set(end4);
  f.i32(0).set(i);
  f.block().loop();
  f.get(i).get(end4).geS().brIf(1);
  f.get(i).get(DST).add();
  f.get(i).get(SRC).add().v128load().f32x4sqrt();
  f.v128store();
  f.get(i).i32(16).add().set(i).br(0);
  f.end().end();
  f.block().loop();
  f.get(i).get(COUNT).i32(2).shl().geS().brIf(1);
  f.get(i).get(DST).add();
  f.get(i).get(SRC).add().f32load().f32sqrt();
  f.f32store();
  f.get(i).i32(4).add().set(i).br(0);
  f.end().end();
  return f;
}

function adam(): Func {
  const { f32 } = type;
  const f = new Func("adam", [i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, f32, f32, f32, f32, f32, f32]);
  const [VALUE, M, V, G, OUT_VALUE, OUT_M, OUT_V, COUNT, OMAB1, OMAB2, B1, OMB1, B2, OMB2, EPS, NEGLR] = [...Array(16).keys()];
  const i = f.local(i32);
  const end4 = f.local(i32);
  const g = f.local(type.v128);
  const m = f.local(type.v128);
  const v = f.local(type.v128);
  const gs = f.local(f32);
  const ms = f.local(f32);
  const vs = f.local(f32);
  // Constants as f32x4 splats.
  const splat = (param: number | null, load?: number) => {
    const local = f.local(type.v128);
    if (load !== undefined) f.get(load).f32load().f32x4splat().set(local);
    else f.get(param!).f32x4splat().set(local);
    return local;
  };
  const [b1, omb1, b2, omb2, eps, neglr] = [B1, OMB1, B2, OMB2, EPS, NEGLR].map((p) => splat(p));
  const omab1 = splat(null, OMAB1);
  const omab2 = splat(null, OMAB2);
  const omab1s = f.local(f32);
  const omab2s = f.local(f32);
  f.get(OMAB1).f32load().set(omab1s);
  f.get(OMAB2).f32load().set(omab2s);

  /**
   * m' = m·β1 + g·(1−β1); v' = v·β2 + g²·(1−β2);
   * value' = ((m'/(1−β1ᵗ)) / (√(v'/(1−β2ᵗ)) + ε))·(−lr) + value
   */
  const update = (vec: boolean) => {
    const [load, store, mul, add, div, sqrt] = vec
      ? [(o: number) => f.get(o).get(i).add().v128load(), (o: number) => f.get(o).get(i).add(), () => f.f32x4mul(), () => f.f32x4add(), () => f.f32x4div(), () => f.f32x4sqrt()]
      : [(o: number) => f.get(o).get(i).add().f32load(), (o: number) => f.get(o).get(i).add(), () => f.f32mul(), () => f.f32add(), () => f.f32div(), () => f.f32sqrt()];
    const [gl, ml, vl] = vec ? [g, m, v] : [gs, ms, vs];
    const c = (vecLocal: number, scalarParam: number) => f.get(vec ? vecLocal : scalarParam);
    load(G);
    f.set(gl);
    // m'
    store(OUT_M);
    load(M);
    c(b1, B1);
    mul();
    f.get(gl);
    c(omb1, OMB1);
    mul();
    add();
    f.tee(ml);
    if (vec) f.v128store();
    else f.f32store();
    // v'
    store(OUT_V);
    load(V);
    c(b2, B2);
    mul();
    f.get(gl).get(gl);
    mul();
    c(omb2, OMB2);
    mul();
    add();
    f.tee(vl);
    if (vec) f.v128store();
    else f.f32store();
    // value'
    store(OUT_VALUE);
    f.get(ml);
    f.get(vec ? omab1 : omab1s);
    div();
    f.get(vl);
    f.get(vec ? omab2 : omab2s);
    div();
    sqrt();
    c(eps, EPS);
    add();
    div();
    c(neglr, NEGLR);
    mul();
    load(VALUE);
    add();
    if (vec) f.v128store();
    else f.f32store();
  };
  f.get(COUNT).i32(-4).and().i32(2).shl().set(end4);
  f.i32(0).set(i);
  f.block().loop();
  f.get(i).get(end4).geS().brIf(1);
  update(true);
  f.get(i).i32(16).add().set(i).br(0);
  f.end().end();
  f.block().loop();
  f.get(i).get(COUNT).i32(2).shl().geS().brIf(1);
  update(false);
  f.get(i).i32(4).add().set(i).br(0);
  f.end().end();
  return f;
}

/** The export name of a blocked GEMM variant (see `gemm`). */
export function blockedName(transA: boolean, packed: boolean, fromC: boolean, epilogue: Epilogue): string {
  return `gemmb_${transA ? "tn" : "nn"}_${packed ? "packed" : "inplace"}_${fromC ? "fromc" : "zero"}_${epilogue}`;
}

/** The blocked variants generated: a read transposed only without an epilogue (tn_none's). */
const BLOCKED_VARIANTS = [false, true].flatMap((transA) =>
  [false, true].flatMap((packed) =>
    [false, true].flatMap((fromC) =>
      (transA ? (["none"] as const) : (["none", "bias", "relu", "bias_relu"] as const)).map((epilogue) => ({ transA, packed, fromC, epilogue })),
    ),
  ),
);

/** A blocked GEMM: (a, b, c, m, k, n, lda, ldb, ldc, bias, pstride). */
export type BlockedGemm = (a: number, b: number, c: number, m: number, k: number, n: number, lda: number, ldb: number, ldc: number, bias: number, pstride: number) => void;

/** The generated kernels bound to one memory. */
export interface GemmKernels {
  /** By epilogue; `tn_none` reads a transposed (gemm_tn_none). */
  gemm: Record<Epilogue | "tn_none", (a: number, b: number, c: number, m: number, k: number, n: number, lda: number, ldb: number, ldc: number, bias: number) => void>;
  /** The cache-blocked products' kernels (see `gemm`), by `blockedName`. */
  gemmBlocked: Record<string, BlockedGemm>;
  /** b [k, n] (ldb) or, `t`, bᵀ [n, k] (ld) into 8-column panels for gemmBlocked (pstride 8k). */
  packB: (src: number, dst: number, k: number, n: number, ldb: number) => void;
  packBt: (src: number, dst: number, k: number, n: number, ld: number) => void;
  transpose: (src: number, dst: number, rows: number, cols: number) => void;
  sqrt: (src: number, dst: number, count: number) => void;
  adam: (...args: number[]) => void;
  /** im2col.ts: convolutions' im2col and col2im, max-pooling's gradient. */
  im2col: (...args: number[]) => void;
  col2im: (...args: number[]) => void;
  maxPoolGrad: (...args: number[]) => void;
  maxPoolGrad4: (...args: number[]) => void;
  sumRows: (x: number, out: number, rows: number, cols: number) => void;
  /** masks.ts: dropout's mask from an Alea state, ReLU's gradient. */
  dropoutMask: (out: number, count: number, s0: number, s1: number, s2: number, c: number, keep: number) => void;
  reluGrad: (dy: number, x: number, out: number, count: number) => void;
}

/** The module's bytes for a shared (threaded build) or unshared memory. */
export function gemmModuleBytes(sharedMemory: boolean, mr = DEFAULT_MR): Uint8Array {
  const gemms = (["none", "bias", "relu", "bias_relu"] as const).map((e) => gemm(e, mr));
  const blocked = BLOCKED_VARIANTS.map((v) => gemm(v.epilogue, mr, v.transA, v));
  return moduleBytes([...gemms, gemm("none", mr, true), ...blocked, packB(false), packB(true), transpose(), sqrt(), adam(), ...im2colFuncs(), ...maskFuncs()], sharedMemory);
}

/** Compiles the kernels for `memory` (the tfjs wasm backend's own memory). */
export function compileGemm(memory: WebAssembly.Memory, mr = DEFAULT_MR): WebAssembly.Module {
  const shared = typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
  return new WebAssembly.Module(gemmModuleBytes(shared, mr) as Uint8Array<ArrayBuffer>);
}

/** Compiles the kernels and binds them to `memory`. */
export function instantiateGemm(memory: WebAssembly.Memory, mr = DEFAULT_MR): GemmKernels {
  return bindGemm(compileGemm(memory, mr), memory);
}

/** Binds compiled kernels to `memory` (in any thread that shares it). */
export function bindGemm(module: WebAssembly.Module, memory: WebAssembly.Memory): GemmKernels {
  const e = new WebAssembly.Instance(module, { env: { memory } }).exports as Record<string, (...args: number[]) => void>;
  return {
    gemm: { none: e.gemm_none, bias: e.gemm_bias, relu: e.gemm_relu, bias_relu: e.gemm_bias_relu, tn_none: e.gemm_tn_none },
    gemmBlocked: Object.fromEntries(BLOCKED_VARIANTS.map((v) => {
      const name = blockedName(v.transA, v.packed, v.fromC, v.epilogue);
      return [name, e[name] as BlockedGemm];
    })),
    packB: e.pack_b,
    packBt: e.pack_bt,
    transpose: e.transpose,
    sqrt: e.sqrt,
    adam: e.adam,
    im2col: e.im2col,
    col2im: e.col2im,
    maxPoolGrad: e.maxpool_grad,
    maxPoolGrad4: e.maxpool_grad4,
    sumRows: e.sum_rows,
    dropoutMask: e.dropout_mask,
    reluGrad: e.relu_grad,
  };
}

/** The part of tfjs-backend-wasm's `BackendWasm` that holds its memory. */
interface MemoryHolder {
  wasm: {
    /** The memory of the threaded build (created in JS) ... */
    wasmMemory?: WebAssembly.Memory;
    /** ... and of the single-threaded builds (exported by the module). */
    asm?: { memory?: WebAssembly.Memory };
  };
}

const perBackend = new WeakMap<object, { kernels: GemmKernels; module: WebAssembly.Module; memory: WebAssembly.Memory }>();

function compiledFor(backend: MemoryHolder) {
  let entry = perBackend.get(backend);
  if (!entry) {
    const memory = backend.wasm.wasmMemory ?? backend.wasm.asm?.memory;
    if (!memory) throw new Error("tsdl wasm kernels: cannot find the wasm backend's memory");
    const module = compileGemm(memory);
    entry = { kernels: bindGemm(module, memory), module, memory };
    perBackend.set(backend, entry);
  }
  return entry;
}

/** tsdl's generated kernels bound to a wasm backend's memory (compiled once per backend). */
export function gemmFor(backend: MemoryHolder): GemmKernels {
  return compiledFor(backend).kernels;
}

/** The compiled kernels and the memory they run on, for helper threads. */
export function gemmModuleFor(backend: MemoryHolder): { module: WebAssembly.Module; memory: WebAssembly.Memory } {
  return compiledFor(backend);
}
