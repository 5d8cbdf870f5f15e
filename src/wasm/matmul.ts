/**
 * Fast `BatchMatMul` and `_FusedMatMul` kernels for the tfjs `wasm` backend.
 *
 * tfjs-backend-wasm 4.22 sends a matrix product to XNNPACK's fast GEMM only when neither operand
 * is transposed and neither has a batch dimension. Every other product — including the two that
 * every dense layer's backward pass runs, `dy·Wᵀ` and `xᵀ·dy` — falls back to a scalar triple
 * loop at 0.3–1.2 GFLOP/s. And even the fast path first packs b (XNNPACK's weights layout) at
 * about 3.5 ns per element, which in training, with new weights every step, costs as much as
 * the product itself at batch 64. These kernels:
 *
 * - copy a transposed a in order first (a SIMD 4×4-block transpose, ~0.2 ns/element); a
 *   transposed b is packed into the GEMM's panels straight from bᵀ (parallel.ts, `pack_bt`);
 * - run products up to `XNNPACK_MIN_FLOPS` on tsdl's generated SIMD GEMM (gemm.ts), which
 *   reads b in place, and larger ones on XNNPACK, where the packing is amortized and the
 *   threaded build's pool helps (threadpool.ts);
 * - batch dimensions: when `b` has none, the batches of `a` are stacked into one tall matrix
 *   and multiplied in one call; otherwise each output batch is one call (broadcasting batch
 *   dimensions numpy-style);
 * - bias and relu of `_FusedMatMul` stay fused in the product when the bias is a row vector of
 *   length N; other activations and bias shapes run after it on the backend's own kernels.
 *
 * Gradients need nothing new: tfjs-core computes them with `matMul` ops, which land here.
 * Results match the `cpu` backend to float32 rounding (test/wasm/matmul.test.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { gemmFor } from "./gemm";
import { parallelGemmFor } from "./parallel";
import { poolSwitch } from "./threadpool";

/**
 * Products of at least this many flops (2·M·K·N) run on XNNPACK (threaded where the pool is):
 * beyond 512³ tsdl's GEMM, then unblocked, fell behind XNNPACK even with its packing (not
 * measured again since it blocks for the caches, parallel.ts). Below, tsdl's GEMM is faster on
 * this machine (45–48 vs 35 GFLOP/s on one core).
 */
export const XNNPACK_MIN_FLOPS = 2 ** 28 + 1;
let xnnpackMinFlops = XNNPACK_MIN_FLOPS;

/** Sets the XNNPACK threshold (flops per call; 0: every product on XNNPACK); for tests and benchmarks. */
export function setXnnpackMinFlops(flops: number = XNNPACK_MIN_FLOPS): void {
  xnnpackMinFlops = flops;
}

/**
 * Whether a product of this size runs on tsdl's GEMM, whose fused bias and relu come after the
 * whole sum (so `_FusedMatMul` gives the bits of BatchMatMul, Add, Relu); XNNPACK starts its
 * sums from the bias.
 */
export function productOnTsdlGemm(m: number, k: number, n: number): boolean {
  return 2 * m * k * n < xnnpackMinFlops;
}

/** The subset of tfjs-backend-wasm's `BackendWasm` that these kernels use. */
interface WasmBackend {
  wasm: {
    cwrap(name: string, ret: null, args: string[]): (...args: unknown[]) => void;
    wasmMemory?: WebAssembly.Memory;
    asm?: { memory?: WebAssembly.Memory };
    tfjs: {
      registerTensor(id: number, size: number, memoryOffset: number): void;
      disposeData(id: number): void;
    };
  };
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

/** Must match `FusableActivation` in tfjs-backend-wasm (src/cc/fusable_activations.h). */
const ACTIVATION_CODE: Record<string, number> = {
  linear: 0,
  relu: 1,
  relu6: 2,
  prelu: 3,
  leakyrelu: 4,
  sigmoid: 5,
  elu: 6,
};

/** What `_FusedMatMul` applies after the product. */
interface Epilogue {
  bias?: tf.TensorInfo;
  activation: string;
  preluActivationWeights?: tf.TensorInfo;
  leakyreluAlpha: number;
}

type FusedCall = (
  aId: number, aShape: Uint8Array, aRank: number,
  bId: number, bShape: Uint8Array, bRank: number,
  transposeA: number, transposeB: number,
  activation: number, biasId: number, preluId: number, leakyreluAlpha: number,
  outId: number,
) => void;

const fusedCalls = new WeakMap<object, FusedCall>();

function fusedCall(backend: WasmBackend): FusedCall {
  let call = fusedCalls.get(backend);
  if (!call) {
    call = backend.wasm.cwrap("_FusedMatMul", null, [
      "number", "array", "number", "number", "array", "number",
      "number", "number", "number", "number", "number", "number", "number",
    ]) as FusedCall;
    fusedCalls.set(backend, call);
  }
  return call;
}

function shapeBytes(shape: number[]): Uint8Array {
  return new Uint8Array(new Int32Array(shape).buffer);
}

function size(shape: number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

/** A float32 buffer in wasm memory as the C++ side knows it: tensor id and byte offset. */
interface Operand {
  id: number;
  offset: number;
}

function operand(backend: WasmBackend, info: tf.TensorInfo): Operand {
  const data = backend.dataIdMap.get(info.dataId);
  if (!data) throw new Error("tsdl fast matmul: a tensor is not on the wasm backend");
  return { id: data.id, offset: data.memoryOffset };
}

function idOf(backend: WasmBackend, info: tf.TensorInfo): number {
  return operand(backend, info).id;
}

function kernel(name: string): tf.KernelFunc {
  const config = tf.getKernel(name, "wasm");
  if (!config) throw new Error(`tsdl fast matmul: the wasm backend has no ${name} kernel`);
  return config.kernelFunc;
}

/**
 * Temporary tensor ids: transposed copies (freed with their memory) and views, ids registered
 * on a slice of another tensor's memory (forgotten without freeing it). Disposing an id also
 * drops the XNNPACK operator the backend cached for it.
 */
class Scratch {
  private copies: tf.TensorInfo[] = [];
  private views: number[] = [];
  constructor(private backend: WasmBackend) {}

  /** `x` (an operand) seen as [batch, rows, cols], copied to [batch, cols, rows]. */
  transposed(x: Operand, batch: number, rows: number, cols: number): Operand {
    const t = this.backend.makeOutput([batch * rows * cols], "float32");
    this.copies.push(t);
    const out = operand(this.backend, t);
    const transpose = gemmFor(this.backend).transpose;
    for (let i = 0; i < batch; i++) {
      transpose(x.offset + 4 * i * rows * cols, out.offset + 4 * i * rows * cols, rows, cols);
    }
    return out;
  }

  /** A new id for `count` float32 values of `base`, starting at element `start`. */
  view(base: Operand, start: number, count: number): Operand {
    // Ids come from the backend's own counter, so they never collide with a tensor's.
    const b = this.backend as unknown as { dataIdNextNumber: number };
    const id = b.dataIdNextNumber++;
    const offset = base.offset + 4 * start;
    this.backend.wasm.tfjs.registerTensor(id, count, offset);
    this.views.push(id);
    return { id, offset };
  }

  dispose(): void {
    for (const id of this.views) this.backend.wasm.tfjs.disposeData(id);
    for (const t of this.copies) this.backend.disposeData(t.dataId);
    this.views = [];
    this.copies = [];
  }
}

/** The [k, n] each b buffer was first packed as, by dataId (a buffer's reshapes share it). */
const packedAs = new WeakMap<object, string>();

/** Whether `e.bias` is a row of n float32 values, which the products can add themselves. */
function rowBias(e: Epilogue | null, n: number): boolean {
  if (!e?.bias) return false;
  const s = e.bias.shape;
  return e.bias.dtype === "float32" && s.length > 0 && s[s.length - 1] === n && size(s) === n;
}

/**
 * Whether XNNPACK can apply the whole epilogue inside its product. The backend broadcasts prelu
 * weights by index modulo their size over the whole output; per-batch calls restart the index,
 * so prelu fuses only into a single call.
 */
function xnnFusable(e: Epilogue | null, n: number, perBatchCalls: boolean): boolean {
  if (!e) return true;
  if (e.bias && !rowBias(e, n)) return false;
  if (e.activation === "prelu") return !perBatchCalls && e.preluActivationWeights?.dtype === "float32";
  return e.activation in ACTIVATION_CODE;
}

/** Bias (unless already added) and activation, applied after the product with the backend's own kernels. */
function applyEpilogue(backend: WasmBackend, out: tf.TensorInfo, e: Epilogue, biasAdded: boolean): tf.TensorInfo {
  const kb = backend as unknown as tf.KernelBackend;
  const replace = (next: tf.TensorInfo) => {
    backend.disposeData(out.dataId);
    out = next;
  };
  if (e.bias && !biasAdded) replace(kernel("Add")({ inputs: { a: out, b: e.bias }, backend: kb }) as tf.TensorInfo);
  switch (e.activation) {
    case "linear":
      break;
    case "relu":
      replace(kernel("Relu")({ inputs: { x: out }, backend: kb }) as tf.TensorInfo);
      break;
    case "relu6":
      replace(kernel("Relu6")({ inputs: { x: out }, backend: kb }) as tf.TensorInfo);
      break;
    case "elu":
      replace(kernel("Elu")({ inputs: { x: out }, backend: kb }) as tf.TensorInfo);
      break;
    case "sigmoid":
      replace(kernel("Sigmoid")({ inputs: { x: out }, backend: kb }) as tf.TensorInfo);
      break;
    case "leakyrelu":
      replace(kernel("LeakyRelu")({ inputs: { x: out }, backend: kb, attrs: { alpha: e.leakyreluAlpha } }) as tf.TensorInfo);
      break;
    case "prelu":
      if (!e.preluActivationWeights) throw new Error("fused matMul: prelu activation needs preluActivationWeights");
      replace(kernel("Prelu")({ inputs: { x: out, alpha: e.preluActivationWeights }, backend: kb }) as tf.TensorInfo);
      break;
    default:
      throw new Error(`fused matMul: unknown activation ${JSON.stringify(e.activation)}`);
  }
  return out;
}

/**
 * `a·b` (each optionally transposed in its last two dimensions) with broadcast batch
 * dimensions, every product on a fast path (tsdl's GEMM, or XNNPACK's for large ones), then
 * the epilogue.
 */
function fastMatMul(
  backend: WasmBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  epilogue: Epilogue | null,
  opName: string,
): tf.TensorInfo {
  const ar = a.shape.length;
  const br = b.shape.length;
  if (ar < 2 || br < 2) {
    throw new Error(`${opName}: both operands need rank >= 2; got shapes [${a.shape}] and [${b.shape}]`);
  }
  const m = transposeA ? a.shape[ar - 1] : a.shape[ar - 2];
  const k = transposeA ? a.shape[ar - 2] : a.shape[ar - 1];
  const kb = transposeB ? b.shape[br - 1] : b.shape[br - 2];
  const n = transposeB ? b.shape[br - 2] : b.shape[br - 1];
  if (k !== kb) {
    throw new Error(
      `Error in ${opName}: inner shapes (${k}) and (${kb}) of Tensors with shapes ${a.shape} and ` +
        `${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
    );
  }
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const outBatch = tf.backend_util.assertAndGetBroadcastShape(aBatch, bBatch);
  const outShape = [...outBatch, m, n];
  const ba = size(aBatch);
  const bb = size(bBatch);
  const batches = size(outBatch);

  const out = backend.makeOutput(outShape, "float32");
  if (size(outShape) === 0) return out;
  if (k === 0) {
    backend.typedArrayFromHeap(out).fill(0);
    return epilogue ? applyEpilogue(backend, out, epilogue, false) : out;
  }

  const single = bb === 1;
  // One call per output batch unless b has no batches; each call's size decides the engine.
  const callFlops = 2 * (single ? ba * m : m) * k * n;
  const xnn = callFlops >= xnnpackMinFlops;
  const scratch = new Scratch(backend);
  try {
    // Row-major [batch, m, k] and [batch, k, n] operands. Transposing the last two dimensions is
    // a no-op on memory when one of them is 1.
    const A = operand(backend, a);
    const B = operand(backend, b);
    const aOp = !transposeA || m === 1 || k === 1 ? A : scratch.transposed(A, ba, k, m);
    // On tsdl's GEMM a transposed b is packed straight from bᵀ (pack_bt), with no copy first.
    const packFromBt = !xnn && transposeB && n !== 1 && k !== 1;
    let bOp = transposeB && n !== 1 && k !== 1 && !packFromBt ? scratch.transposed(B, bb, n, k) : B;
    if (xnn && bOp === B && single) {
      // XNNPACK's packed weights are cached under b's id, whatever shape b is read as (tfjs-wasm
      // itself returns stale weights when a reshape of b comes back): a b that is read as
      // another [k, n] than before gets a fresh id, so a fresh packing.
      const key = `${k},${n}`;
      const seen = packedAs.get(b.dataId);
      if (seen === undefined && !transposeB) packedAs.set(b.dataId, key);
      else if (seen !== key || transposeB) bOp = scratch.view(B, 0, k * n);
    }
    const outOp = operand(backend, out);
    let biasAdded = false;
    let activationDone = false;
    let gemm: (x: Operand, rows: number, w: Operand, y: Operand) => void;
    if (xnn) {
      const fuse = xnnFusable(epilogue, n, !single);
      biasAdded = activationDone = fuse;
      const call = fusedCall(backend);
      const act = fuse && epilogue ? ACTIVATION_CODE[epilogue.activation] : 0;
      const biasId = fuse && epilogue?.bias ? idOf(backend, epilogue.bias) : 0;
      const preluId = fuse && epilogue?.activation === "prelu" ? idOf(backend, epilogue.preluActivationWeights!) : 0;
      const alpha = epilogue?.leakyreluAlpha ?? 0;
      const pool = poolSwitch(backend);
      gemm = (x, rows, w, y) => {
        // XNNPACK takes tensor ids: views get their own (fresh ids, so no stale packing).
        const [xi, wi, yi] = single ? [x, w, y] : [scratch.view(x, 0, rows * k), scratch.view(w, 0, k * n), scratch.view(y, 0, rows * n)];
        pool?.on();
        try {
          call(xi.id, shapeBytes([1, rows, k]), 3, wi.id, shapeBytes([1, k, n]), 3, 0, 0, act, biasId, preluId, alpha, yi.id);
        } finally {
          pool?.off();
        }
      };
    } else {
      const runner = parallelGemmFor(backend);
      biasAdded = rowBias(epilogue, n);
      const relu = epilogue?.activation === "relu" && (biasAdded || !epilogue.bias);
      activationDone = !epilogue || epilogue.activation === "linear" || relu;
      const ep = biasAdded ? (relu ? "bias_relu" : "bias") : relu ? "relu" : "none";
      const biasOffset = biasAdded ? operand(backend, epilogue!.bias!).offset : 0;
      gemm = (x, rows, w, y) => runner.gemm(ep, x.offset, w.offset, y.offset, rows, k, n, k, packFromBt ? k : n, n, biasOffset, packFromBt);
    }

    if (single) {
      // All batches of `a` against the one matrix `b`: one tall product.
      gemm(aOp, ba * m, bOp, outOp);
    } else {
      const aIndex = batchIndexer(aBatch, outBatch);
      const bIndex = batchIndexer(bBatch, outBatch);
      const at = (base: Operand, elements: number): Operand => ({ id: 0, offset: base.offset + 4 * elements });
      for (let i = 0; i < batches; i++) {
        gemm(at(aOp, aIndex(i) * m * k), m, at(bOp, bIndex(i) * k * n), at(outOp, i * m * n));
      }
    }
    const needBias = epilogue?.bias !== undefined && !biasAdded;
    if (epilogue && (needBias || !activationDone)) {
      return applyEpilogue(backend, out, activationDone ? { ...epilogue, activation: "linear" } : epilogue, biasAdded);
    }
    return out;
  } finally {
    scratch.dispose();
  }
}

/** Maps an output batch index to the operand's batch index, broadcasting size-1 dimensions. */
function batchIndexer(dims: number[], outDims: number[]): (i: number) => number {
  const r = outDims.length;
  const padded = [...new Array<number>(r - dims.length).fill(1), ...dims];
  const strides = new Array<number>(r);
  let s = 1;
  for (let d = r - 1; d >= 0; d--) {
    strides[d] = padded[d] === 1 ? 0 : s;
    s *= padded[d];
  }
  return (i: number) => {
    let index = 0;
    for (let d = r - 1; d >= 0; d--) {
      const coord = i % outDims[d];
      i = (i - coord) / outDims[d];
      index += coord * strides[d];
    }
    return index;
  };
}

/** The kernels tfjs-backend-wasm ships, for the dtypes the fast path does not handle. */
function shippedKernel(name: string): tf.KernelConfig {
  const config = shipped.get(name) ?? tf.getKernel(name, "wasm");
  if (!config) throw new Error(`tfjs-backend-wasm registered no ${name} kernel`);
  return config;
}
const shipped = new Map<string, tf.KernelConfig>();

function runShipped(name: string, args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const config = shippedKernel(name);
  // Its setup binds the C++ function of one module in a module-level variable; bind it to this
  // backend's module every time (cheap, and only int32 products come here).
  config.setupFunc?.(args.backend);
  return config.kernelFunc(args) as tf.TensorInfo;
}

const batchMatMulKernel: tf.KernelFunc = (args) => {
  const { a, b } = args.inputs as unknown as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
  if (a.dtype !== "float32" || b.dtype !== "float32") return runShipped(tf.BatchMatMul, args);
  return fastMatMul(args.backend as unknown as WasmBackend, a, b, !!transposeA, !!transposeB, null, "matMul");
};

const fusedMatMulKernel: tf.KernelFunc = (args) => {
  const { a, b, bias, preluActivationWeights } = args.inputs as unknown as {
    a: tf.TensorInfo;
    b: tf.TensorInfo;
    bias?: tf.TensorInfo | null;
    preluActivationWeights?: tf.TensorInfo | null;
  };
  const { transposeA, transposeB, activation, leakyreluAlpha } = args.attrs as unknown as tf._FusedMatMulAttrs;
  if (a.dtype !== "float32" || b.dtype !== "float32") return runShipped(tf._FusedMatMul, args);
  const epilogue: Epilogue = {
    bias: bias ?? undefined,
    activation: activation ?? "linear",
    preluActivationWeights: preluActivationWeights ?? undefined,
    leakyreluAlpha: leakyreluAlpha || 0,
  };
  return fastMatMul(args.backend as unknown as WasmBackend, a, b, !!transposeA, !!transposeB, epilogue, "fused matMul");
};

/** The fast `BatchMatMul` and `_FusedMatMul` kernels, for a backend built on tfjs-backend-wasm. */
export function fastMatMulConfigs(backendName = "wasm"): tf.KernelConfig[] {
  require("@tensorflow/tfjs-backend-wasm");
  for (const name of [tf.BatchMatMul, tf._FusedMatMul]) shipped.set(name, shippedKernel(name));
  return [
    { kernelName: tf.BatchMatMul, backendName, kernelFunc: batchMatMulKernel },
    { kernelName: tf._FusedMatMul, backendName, kernelFunc: fusedMatMulKernel },
  ];
}
