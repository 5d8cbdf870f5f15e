/**
 * 2-D convolutions and max-pooling for the tfjs `wasm` backend, on tsdl's SIMD GEMM (gemm.ts) and
 * its helper threads (parallel.ts), and on direct kernels (conv-direct.ts, pool.ts).
 *
 * Profiled on a training step of `dl.models.cnn` (batch 64, Adam; test/bench/cnn-profile.bench.ts)
 * with tfjs-wasm 4.22's kernels, 95 ms of kernels per step: `Conv2DBackpropInput` 40% (a scalar
 * loop in C++, 1.9 GFLOP/s), `MaxPoolGrad` 20% (a scalar loop over every input element and every
 * window that covers it), `Conv2DBackpropFilter` 16% (tsdl's former one: transposes, a pad and an
 * XNNPACK convolution), `Conv2D` 11% (XNNPACK, 2 GFLOP/s on the first layer's single channel).
 * Here all three convolutions are one matrix product each over an im2col matrix (NHWC, so each
 * filter row's `kw·c` inputs are one contiguous run of memory):
 *
 *   cols[p, (ky, kx, c)] = x[n, oy·sh + ky − top, ox·sw + kx − left, c]   (0 outside; p = (n, oy, ox))
 *   Conv2D:               y[p, o]            = cols · W            W = filter as [kh·kw·c, o]
 *   Conv2DBackpropInput:  dx                 = col2im(dy · Wᵀ)     (scatter-add of the runs)
 *   Conv2DBackpropFilter: dW[(ky, kx, c), o] = colsᵀ · dy
 *
 * The forward `Conv2D` too: in isolation (test/bench/conv-kernels.bench.ts, new weights per call)
 * it measured 0.7–0.9× XNNPACK's, but in `npm start` on the loaded 2-core machine notebook 05's
 * CNN took 109 s with it and 231 s with XNNPACK's (whose thread pool, unlike tsdl's helpers,
 * has no back-off when a helper thread is descheduled), so it stays tsdl's.
 * The im2col and col2im copies are generated WebAssembly too (im2col.ts): as JavaScript loops
 * they took as long as the products.
 *
 * Issue 14 (profiled again: the first layer's k = 9 products ran at 5.8 GFLOP/s, conv 2's filter
 * gradient spent 3 ms transposing its 4.5 MB im2col matrix): `Conv2D` and `Conv2DBackpropFilter`
 * up to DIRECT_MAX_FLOPS, and `Conv2DBackpropInput` at stride 1, are now direct SIMD kernels
 * without any copy (conv-direct.ts), the same sums in the same order as the products above
 * (for dx: each tap's dot product over o, added to dx in col2im's order).
 * A layer's bias and ReLU run in the forward kernel's epilogue (`TsdlConv2DBias`, conv-fused.ts
 * hooks it into tfjs), and their gradient in one pass (`TsdlReluBiasGrad`). `MaxPool` keeps the
 * argmax of every window while gradients are recorded (pool.ts), and `MaxPoolGrad` scatters dy
 * through it; without one (another input, or a forward pass not recorded) it finds each window's
 * argmax again (im2col.ts), first maximum in row-major window order as the `cpu` backend does.
 * Results match the `cpu` backend to float32 rounding, gradients included, and tsdl's former
 * kernels bit for bit (test/wasm/conv.test.ts). What they do not cover (dilations, NCHW, other
 * dtypes) runs on the shipped kernels.
 */
import * as tf from "@tensorflow/tfjs";
import { gemmFor } from "./gemm";
import { parallelGemmFor } from "./parallel";
import { directConvFor } from "./conv-direct";

/** The subset of tfjs-backend-wasm's `BackendWasm` that these kernels use. */
interface WasmBackend {
  wasm: { wasmMemory?: WebAssembly.Memory; asm?: { memory?: WebAssembly.Memory } };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

type KernelArgs = Parameters<tf.KernelFunc>[0];
type Fallback = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/** Byte offset of a tensor in the backend's memory. */
function at(backend: WasmBackend, t: tf.TensorInfo): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (!data) throw new Error("tsdl conv kernels: a tensor is not on the wasm backend");
  return data.memoryOffset;
}

/** The whole memory as float32 (fetched after every allocation: growing replaces the buffer). */
function heap(backend: WasmBackend): Float32Array {
  const memory = backend.wasm.wasmMemory ?? backend.wasm.asm?.memory;
  if (!memory) throw new Error("tsdl conv kernels: cannot find the wasm backend's memory");
  return new Float32Array(memory.buffer);
}

/** The geometry every kernel here needs. */
interface Geometry {
  n: number;
  h: number;
  w: number;
  c: number;
  oh: number;
  ow: number;
  o: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  top: number;
  left: number;
}

function geometry(info: tf.backend_util.Conv2DInfo): Geometry {
  return {
    n: info.batchSize, h: info.inHeight, w: info.inWidth, c: info.inChannels,
    oh: info.outHeight, ow: info.outWidth, o: info.outChannels,
    kh: info.filterHeight, kw: info.filterWidth, sh: info.strideHeight, sw: info.strideWidth,
    top: info.padInfo.top, left: info.padInfo.left,
  };
}

/** im2col / col2im on the generated kernels (im2col.ts); byte offsets. */
function runIm2col(backend: WasmBackend, which: "im2col" | "col2im", x: number, cols: number, g: Geometry): void {
  gemmFor(backend)[which](x, cols, g.n, g.h, g.w, g.c, g.oh, g.ow, g.kh, g.kw, g.sh, g.sw, g.top, g.left);
}

/** The filter gradient reads im2col rows up to this long transposed in place (see below). */
const TN_MAX_K = 16;

/** Temporary float32 buffers in the backend's memory, freed together. */
class Temps {
  private infos: tf.TensorInfo[] = [];
  constructor(private backend: WasmBackend) {}
  /** A buffer of `count` floats; returns its byte offset. */
  alloc(count: number): number {
    const t = this.backend.makeOutput([count], "float32");
    this.infos.push(t);
    return at(this.backend, t);
  }
  dispose(): void {
    for (const t of this.infos) this.backend.disposeData(t.dataId);
    this.infos = [];
  }
}

/** Whether the geometry is a plain 1×1 stride-1 unpadded convolution, where cols is x itself. */
function pointwise(g: Geometry): boolean {
  return g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.top === 0 && g.left === 0 && g.oh === g.h && g.ow === g.w;
}

/** Fills `count` floats of `t` with zeros. */
function zero(backend: WasmBackend, t: tf.TensorInfo, count: number): void {
  heap(backend).fill(0, at(backend, t) / 4, at(backend, t) / 4 + count);
}

/** x as its im2col matrix [p, k]: x itself for a pointwise convolution, else a temporary. */
function columns(backend: WasmBackend, x: tf.TensorInfo, g: Geometry, temps: Temps, count: number): number {
  if (pointwise(g)) return at(backend, x);
  const cols = temps.alloc(count);
  runIm2col(backend, "im2col", at(backend, x), cols, g);
  return cols;
}

let direct = true;

/**
 * Whether convolutions take the direct kernels (conv-direct.ts: the forward pass and the filter
 * gradient) instead of the im2col products: on by default; off only to compare the two
 * (test/bench/conv-kernels.bench.ts). Both give the same bits.
 */
export function setDirectConvolutions(on: boolean): void {
  direct = on;
}

/**
 * Whether the direct kernels apply: no im2col copy (nor, for the filter gradient, its transpose),
 * the same sums in the same order. For conv 2 (71 MFLOP) the forward took 4.5 ms (2.5 ms of CPU)
 * against 14–15 ms (7.2 ms of CPU, two threads) for im2col and the GEMM at load 7.8.
 */
function directCase(g: Geometry): boolean {
  return direct && (g.c === 1 || (directAll && directFlops(g) <= DIRECT_MAX_FLOPS));
}

/** 2·p·k·o of a convolution. */
function directFlops(g: Geometry): number {
  return 2 * g.n * g.oh * g.ow * g.kh * g.kw * g.c * g.o;
}

/**
 * Products up to this many FLOP (2·p·k·o) take the direct kernels at any channel count. They run
 * on one thread; measured only at dl.models.cnn's shapes (conv 2, 71 MFLOP; the filter gradient
 * 3.8 ms of CPU against 5.8–6.6 ms for im2col + transpose + the GEMM on two threads, at load 8),
 * so much larger products stay on the GEMM, whose helper threads may win there on a quiet machine.
 */
const DIRECT_MAX_FLOPS = 2 ** 28;

let directAll = true;
/** Bench switch: the direct kernels for every channel count (default) or for single-channel convolutions only. */
export function setDirectAnyChannels(all: boolean): void {
  directAll = all;
}

/**
 * x as the direct kernels read it: [n, hp, wp, c] covering every window, x itself where the
 * windows lie inside it, else a zero-padded copy (so padding zeros are multiplied, as im2col's are).
 */
function windowsOf(backend: WasmBackend, x: tf.TensorInfo, g: Geometry, temps: Temps): { ptr: number; hp: number; wp: number } {
  const hp = (g.oh - 1) * g.sh + g.kh;
  const wp = (g.ow - 1) * g.sw + g.kw;
  if (g.top === 0 && g.left === 0 && hp <= g.h && wp <= g.w) return { ptr: at(backend, x), hp: g.h, wp: g.w };
  const ptr = temps.alloc(g.n * hp * wp * g.c);
  const mem = heap(backend);
  const dst = ptr / 4;
  const src = at(backend, x) / 4;
  mem.fill(0, dst, dst + g.n * hp * wp * g.c);
  const x1 = Math.min(g.w, wp - g.left);
  for (let b = 0; b < g.n; b++) {
    for (let iy = 0; iy < Math.min(g.h, hp - g.top); iy++) {
      if (x1 <= 0) continue;
      const from = src + (b * g.h + iy) * g.w * g.c;
      mem.copyWithin(dst + ((b * hp + iy + g.top) * wp + g.left) * g.c, from, from + x1 * g.c);
    }
  }
  return { ptr, hp, wp };
}

/** The shipped kernel handles what these do not: dilations, NCHW, other dtypes. */
function supported(info: tf.backend_util.Conv2DInfo, dataFormat: string | undefined, ...ts: tf.TensorInfo[]): boolean {
  return info.dilationHeight === 1 && info.dilationWidth === 1 && (dataFormat ?? "NHWC") === "NHWC" && ts.every((t) => t.dtype === "float32");
}

/** The epilogues of the forward convolution: none, or bias then ReLU (the fused kernel). */
type ConvEpilogue = "none" | "bias" | "relu" | "bias_relu";

/** y = act(conv(x, filter) + bias) into a new output; bias 0 for none. */
function forwardConvolution(backend: WasmBackend, x: tf.TensorInfo, filter: tf.TensorInfo, info: tf.backend_util.Conv2DInfo, ep: ConvEpilogue, bias: number): tf.TensorInfo {
  const g = geometry(info);
  const out = backend.makeOutput(info.outShape, "float32");
  const p = g.n * g.oh * g.ow;
  const k = g.kh * g.kw * g.c;
  if (p === 0 || g.o === 0) return out;
  const temps = new Temps(backend);
  try {
    if (k === 0) {
      // No taps: every sum is +0, then the epilogue.
      const mem = heap(backend);
      const o0 = at(backend, out) / 4;
      const b0 = bias / 4;
      for (let i = 0; i < p; i++) {
        for (let j = 0; j < g.o; j++) {
          const v = ep === "bias" || ep === "bias_relu" ? 0 + mem[b0 + j] : 0;
          mem[o0 + i * g.o + j] = ep === "relu" || ep === "bias_relu" ? Math.max(v, 0) : v;
        }
      }
      return out;
    }
    if (directCase(g)) {
      const { ptr, hp, wp } = windowsOf(backend, x, g, temps);
      // With c channels a filter row's taps are the kw·c floats of one run of x (conv-direct.ts).
      // Images in blocks shared with the helper threads (parallel.ts), each image on one thread.
      parallelGemmFor(backend).direct(directConvFor(backend), ep, [ptr, at(backend, filter), at(backend, out), bias, g.n, hp, wp * g.c, g.oh, g.ow, g.kh, g.kw * g.c, g.sh, g.sw * g.c, g.o], directFlops(g));
      return out;
    }
    const cols = columns(backend, x, g, temps, p * k);
    parallelGemmFor(backend).gemm(ep, cols, at(backend, filter), at(backend, out), p, k, g.o, k, g.o, g.o, bias);
    return out;
  } finally {
    temps.dispose();
  }
}

function conv2d(args: KernelArgs, fallback: Fallback): tf.TensorInfo | tf.TensorInfo[] {
  const { x, filter } = args.inputs as unknown as { x: tf.TensorInfo; filter: tf.TensorInfo };
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = args.attrs as unknown as tf.Conv2DAttrs;
  const backend = args.backend as unknown as WasmBackend;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
    strides, dilations, pad, dimRoundingMode, false, tf.backend_util.convertConv2DDataFormat(dataFormat),
  );
  if (!supported(info, dataFormat, x, filter)) return fallback(args);
  return forwardConvolution(backend, x, filter, info, "none", 0);
}

/** The fused convolution kernel's name: inputs x, filter, bias [o]; attrs strides, pad, dimRoundingMode, activation "relu" or "linear". */
export const CONV_BIAS_KERNEL = "TsdlConv2DBias";

/** Attributes of `TsdlConv2DBias` (NHWC, no dilations: the fused op checks before it runs it). */
export interface ConvBiasAttrs {
  strides: number | [number, number];
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: "floor" | "round" | "ceil";
  activation: "relu" | "linear";
}

/**
 * `TsdlConv2DBias`: conv(x, filter) + bias, then ReLU for `relu`, in the product's epilogue (the
 * bias added after the whole sum, then max(·, 0): the bits of Conv2D, Add and Relu).
 */
function conv2dBias(args: KernelArgs): tf.TensorInfo {
  const { x, filter, bias } = args.inputs as unknown as { x: tf.TensorInfo; filter: tf.TensorInfo; bias: tf.TensorInfo };
  const { strides, pad, dimRoundingMode, activation } = args.attrs as unknown as ConvBiasAttrs;
  const backend = args.backend as unknown as WasmBackend;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode,
  );
  return forwardConvolution(backend, x, filter, info, activation === "relu" ? "bias_relu" : "bias", at(backend, bias));
}

/** The fused ReLU + bias gradient kernel's name: inputs dy, y (the fused output); outputs dz and db. */
export const RELU_BIAS_GRAD_KERNEL = "TsdlReluBiasGrad";

/** `TsdlReluBiasGrad`: dz = dy · step(y) and db = Σ dz over every axis but the last, in one pass. */
function reluBiasGrad(args: KernelArgs): tf.TensorInfo[] {
  const { dy, y } = args.inputs as unknown as { dy: tf.TensorInfo; y: tf.TensorInfo };
  const backend = args.backend as unknown as WasmBackend;
  const cols = y.shape[y.shape.length - 1];
  const rows = y.shape.slice(0, -1).reduce((p, d) => p * d, 1);
  const dz = backend.makeOutput(y.shape, "float32");
  const db = backend.makeOutput([cols], "float32");
  if (cols > 0) directConvFor(backend).reluGradBias(at(backend, dy), at(backend, y), at(backend, dz), at(backend, db), rows, cols);
  return [dz, db];
}

/** The fused convolution's kernels (conv-fused.ts runs them) on `backendName`. */
export function fusedConvolutionConfigs(backendName = "wasm"): tf.KernelConfig[] {
  return [
    { kernelName: CONV_BIAS_KERNEL, backendName, kernelFunc: conv2dBias as unknown as tf.KernelFunc },
    { kernelName: RELU_BIAS_GRAD_KERNEL, backendName, kernelFunc: reluBiasGrad as unknown as tf.KernelFunc },
  ];
}

function conv2dBackpropInput(args: KernelArgs, fallback: Fallback): tf.TensorInfo | tf.TensorInfo[] {
  const { dy, filter } = args.inputs as unknown as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const backend = args.backend as unknown as WasmBackend;
  const info = tf.backend_util.computeConv2DInfo(
    inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode, false,
    tf.backend_util.convertConv2DDataFormat(dataFormat),
  );
  if (!supported(info, dataFormat, dy, filter)) return fallback(args);
  const g = geometry(info);
  const dx = backend.makeOutput(inputShape, "float32");
  const p = g.n * g.oh * g.ow;
  const k = g.kh * g.kw * g.c;
  const dxCount = g.n * g.h * g.w * g.c;
  if (dxCount === 0) return dx;
  if (p === 0 || g.o === 0 || k === 0) {
    zero(backend, dx, dxCount);
    return dx;
  }
  const temps = new Temps(backend);
  try {
    if (directCase(g) && g.sh === 1 && g.sw === 1 && !pointwise(g)) {
      // The direct input gradient (conv-direct.ts), on the filter as [kh, kw, o, c].
      const wt = temps.alloc(k * g.o);
      const taps = g.kh * g.kw;
      const kernels = gemmFor(backend);
      for (let t = 0; t < taps; t++) kernels.transpose(at(backend, filter) + t * g.c * g.o * 4, wt + t * g.c * g.o * 4, g.c, g.o);
      parallelGemmFor(backend).direct(directConvFor(backend), "dx", [at(backend, dy), wt, at(backend, dx), g.n, g.h, g.w, g.c, g.oh, g.ow, g.kh, g.kw, g.o, g.top, g.left], directFlops(g));
      return dx;
    }
    const wt = temps.alloc(k * g.o);
    const dcols = pointwise(g) ? at(backend, dx) : temps.alloc(p * k);
    gemmFor(backend).transpose(at(backend, filter), wt, k, g.o); // Wᵀ [o, k]
    parallelGemmFor(backend).gemm("none", at(backend, dy), wt, dcols, p, g.o, k, g.o, k, k, 0);
    if (dcols !== at(backend, dx)) {
      zero(backend, dx, dxCount);
      runIm2col(backend, "col2im", at(backend, dx), dcols, g);
    }
    return dx;
  } finally {
    temps.dispose();
  }
}

function conv2dBackpropFilter(args: KernelArgs, fallback: Fallback): tf.TensorInfo | tf.TensorInfo[] {
  const { x, dy } = args.inputs as unknown as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const backend = args.backend as unknown as WasmBackend;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false,
    tf.backend_util.convertConv2DDataFormat(dataFormat),
  );
  if (!supported(info, dataFormat, x, dy)) return fallback(args);
  const g = geometry(info);
  const dw = backend.makeOutput(filterShape, "float32");
  const p = g.n * g.oh * g.ow;
  const k = g.kh * g.kw * g.c;
  if (k === 0 || g.o === 0) return dw;
  if (p === 0) {
    zero(backend, dw, k * g.o);
    return dw;
  }
  const temps = new Temps(backend);
  try {
    if (directCase(g)) {
      const { ptr, hp, wp } = windowsOf(backend, x, g, temps);
      // Output channels in blocks shared with the helpers: each dW sum still over every image in order.
      parallelGemmFor(backend).direct(directConvFor(backend), "dw", [ptr, at(backend, dy), at(backend, dw), g.n, hp, wp * g.c, g.oh, g.ow, g.kh, g.kw * g.c, g.sh, g.sw * g.c, g.o], directFlops(g));
      return dw;
    }
    const cols = columns(backend, x, g, temps, p * k);
    // dW [k, o] = colsᵀ · dy. With short rows (k ≤ 16: the first layer's 3×3×1) cols is read
    // transposed in place; longer rows are copied transposed first (SIMD 4×4 blocks), as reading
    // 16 bytes per row from each of p rows for every row tile was 4× slower (conv 2: k = 144).
    const runner = parallelGemmFor(backend);
    if (k <= TN_MAX_K) {
      runner.gemm("tn_none", cols, at(backend, dy), at(backend, dw), k, p, g.o, k, g.o, g.o, 0);
    } else {
      const colsT = temps.alloc(k * p);
      gemmFor(backend).transpose(cols, colsT, p, k); // [k, p]
      runner.gemm("none", colsT, at(backend, dy), at(backend, dw), k, p, g.o, p, g.o, g.o, 0);
    }
    return dw;
  } finally {
    temps.dispose();
  }
}

/** Where each max-pooling output's maximum came from (pool.ts), for its gradient. */
interface PoolRecord {
  /** The forward input's dataId: the argmax belongs to this input only. */
  input: object;
  /** The pooling's geometry, as `poolKey` writes it. */
  key: string;
  /** The argmax, int32 byte offsets from the input, in the backend's memory. */
  arg: tf.TensorInfo;
}

/** Argmaxes by the forward output's dataId; each is freed with its output (`dropWithOutputs`). */
const argmaxOf = new WeakMap<object, PoolRecord>();
const hooked = new WeakSet<object>();

/** Frees a pooling output's argmax when the backend frees the output itself. */
function dropWithOutputs(backend: WasmBackend): void {
  if (hooked.has(backend)) return;
  hooked.add(backend);
  const dispose = backend.disposeData.bind(backend);
  backend.disposeData = (dataId: object, force?: boolean) => {
    const freed = dispose(dataId, force);
    const record = freed ? argmaxOf.get(dataId) : undefined;
    if (record) {
      argmaxOf.delete(dataId);
      dispose(record.arg.dataId);
    }
    return freed;
  };
}

/** The geometry a pooling's argmax is valid for. */
function poolKey(info: tf.backend_util.Conv2DInfo): string {
  return [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.filterHeight, info.filterWidth,
    info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left].join(",");
}

/** Argmaxes are recorded only while gradients are (a training step), not at inference. */
function recording(): boolean {
  return (tf.engine().state as unknown as { gradientDepth: number }).gradientDepth > 0;
}

let poolArgmax = true;

/**
 * Whether `MaxPool` is tsdl's (keeping its argmax for the gradient) or the shipped XNNPACK one
 * (and `MaxPoolGrad` finds each maximum again): on by default; off only to compare the two
 * (test/bench/conv-kernels.bench.ts). Both give the same bits.
 */
export function setPoolArgmax(on: boolean): void {
  poolArgmax = on;
}

/**
 * What a pooled input element counts as, in FLOP, against parallel.ts's PARALLEL_MIN_FLOPS:
 * dl.models.cnn's first pool (692k inputs) is split with the helpers, its second (248k) is not.
 */
const POOL_COST = 4;

/** 2×2 windows at stride 2 without padding over channels in fours: pool.ts's unrolled kernels. */
function twoByTwo(info: tf.backend_util.Conv2DInfo): boolean {
  return info.filterHeight === 2 && info.filterWidth === 2 && info.strideHeight === 2 && info.strideWidth === 2 &&
    info.padInfo.top === 0 && info.padInfo.left === 0 && info.inChannels % 4 === 0;
}

function maxPool(args: KernelArgs, fallback: Fallback): tf.TensorInfo | tf.TensorInfo[] {
  const { x } = args.inputs as unknown as { x: tf.TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as tf.MaxPoolAttrs;
  const backend = args.backend as unknown as WasmBackend;
  if (!poolArgmax || x.dtype !== "float32") return fallback(args);
  const info = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const out = backend.makeOutput(info.outShape, "float32");
  const count = info.outShape.reduce((p, d) => p * d, 1);
  if (count === 0) return out;
  const arg = recording() ? backend.makeOutput([count], "int32") : undefined;
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const kernels = directConvFor(backend);
  // 2×2 windows: images in blocks shared with the helper threads (parallel.ts).
  if (twoByTwo(info)) parallelGemmFor(backend).direct(kernels, "pool2", [at(backend, x), at(backend, out), arg ? at(backend, arg) : 0, n, h, w, c, oh, ow], POOL_COST * n * h * w * c);
  else {
    kernels.maxPool(at(backend, x), at(backend, out), arg ? at(backend, arg) : 0, n, h, w, c, oh, ow,
      info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left);
  }
  if (arg) {
    dropWithOutputs(backend);
    argmaxOf.set(out.dataId, { input: x.dataId, key: poolKey(info), arg });
  }
  return out;
}

function maxPoolGrad(args: KernelArgs, fallback: Fallback): tf.TensorInfo | tf.TensorInfo[] {
  const { dy, input, output } = args.inputs as unknown as { dy: tf.TensorInfo; input: tf.TensorInfo; output: tf.TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as tf.MaxPoolGradAttrs;
  const backend = args.backend as unknown as WasmBackend;
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  if (dy.dtype !== "float32" || input.dtype !== "float32") return fallback(args);
  const dx = backend.makeOutput(input.shape, "float32");
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const di = at(backend, dx) / 4;
  // The argmax of the forward pass that made `output` from this very input, else found again.
  const record = output ? argmaxOf.get(output.dataId) : undefined;
  if (record && record.input === input.dataId && record.key === poolKey(info)) {
    if (twoByTwo(info)) {
      // Every window written whole; only what no window covers (odd sizes) is zeroed here.
      if (h !== 2 * oh || w !== 2 * ow) heap(backend).fill(0, di, di + n * h * w * c);
      parallelGemmFor(backend).direct(directConvFor(backend), "pool2_grad", [at(backend, record.arg), at(backend, dy), at(backend, dx), n, h, w, c, oh, ow], POOL_COST * n * h * w * c);
      return dx;
    }
    heap(backend).fill(0, di, di + n * h * w * c);
    directConvFor(backend).maxPoolScatter(at(backend, record.arg), at(backend, dy), at(backend, dx), n * oh * ow * c);
    return dx;
  }
  heap(backend).fill(0, di, di + n * h * w * c);
  const kernels = gemmFor(backend);
  (c % 4 === 0 ? kernels.maxPoolGrad4 : kernels.maxPoolGrad)(at(backend, input), at(backend, dy), at(backend, dx), n, h, w, c, oh, ow, fh, fw, sh, sw, info.padInfo.top, info.padInfo.left);
  return dx;
}

/**
 * `Sum` over leading axes (a bias gradient: [n, h, w, c] summed to [c]) in one pass; other sums
 * on the shipped kernel, which transposes the reduced axes to the end first.
 */
function sum(args: KernelArgs, fallback: Fallback): tf.TensorInfo | tf.TensorInfo[] {
  const { x } = args.inputs as unknown as { x: tf.TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
  const backend = args.backend as unknown as WasmBackend;
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
  if (x.dtype !== "float32" || !leading) return fallback(args);
  const kept = x.shape.slice(axes.length);
  const outShape = keepDims ? [...axes.map(() => 1), ...kept] : kept;
  const out = backend.makeOutput(outShape, "float32");
  const cols = kept.reduce((p, d) => p * d, 1);
  const rows = x.shape.slice(0, axes.length).reduce((p, d) => p * d, 1);
  if (cols === 0) return out;
  gemmFor(backend).sumRows(at(backend, x), at(backend, out), rows, cols);
  return out;
}

/** The kernels of this file and what each falls back to, by name. */
const KERNELS: Record<string, (args: KernelArgs, fallback: Fallback) => tf.TensorInfo | tf.TensorInfo[]> = {
  [tf.Conv2D]: conv2d,
  [tf.Conv2DBackpropInput]: conv2dBackpropInput,
  [tf.Conv2DBackpropFilter]: conv2dBackpropFilter,
  [tf.MaxPool]: maxPool,
  [tf.MaxPoolGrad]: maxPoolGrad,
  [tf.Sum]: sum,
};

/** The names of the kernels `convolutionConfigs` provides. */
export const CONV_KERNELS = Object.keys(KERNELS);

/**
 * tsdl's `Conv2D`, `Conv2DBackpropInput`, `Conv2DBackpropFilter`, `MaxPool`, `MaxPoolGrad` and `Sum` for a backend
 * built on tfjs-backend-wasm; `fallback(name)` is what runs the cases they leave out (the
 * shipped kernel, or for `Conv2DBackpropFilter`, which wasm lacks, the assembled one).
 */
export function convolutionConfigs(backendName: string, fallback: (name: string) => tf.KernelConfig | undefined): tf.KernelConfig[] {
  return CONV_KERNELS.map((kernelName) => {
    const other = fallback(kernelName);
    const run: Fallback = (args) => {
      if (!other) throw new Error(`${kernelName} on wasm (tsdl): this case (dilations, NCHW or a dtype other than float32) has no kernel`);
      other.setupFunc?.(args.backend);
      return other.kernelFunc(args);
    };
    const body = KERNELS[kernelName];
    return { kernelName, backendName, kernelFunc: (args: KernelArgs) => body(args, run), setupFunc: other?.setupFunc };
  });
}
