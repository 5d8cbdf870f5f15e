/**
 * Softmax cross-entropy (`tf.losses.softmaxCrossEntropy`, the loss of every tsdl classifier) as
 * two kernels on the tfjs `wasm` backend, with tfjs's numbers bit for bit.
 *
 * tfjs builds the mean loss of a batch from about 13 kernels forward (logSumExp's Max, Sub, Exp,
 * Sum, Log, Add and reshapes; Cast, Sub, Mul, Neg, Sum; then Sum and a division by the batch
 * size, uploaded as a scalar) and 10 more backward (the division's and the sums' gradients, and
 * `tf.customGrad`'s, which computes the labels' gradient too), each with its tape entry and the
 * copies of its inputs the tape keeps. On a [64, 10] batch the arithmetic is nothing; the engine's
 * work around it was 6–8% of an MLP training step (profile in the README, "Performance").
 *
 * `TsdlSoftmaxCrossEntropy` (labels, logits → the mean loss) and `TsdlSoftmaxCrossEntropyGrad`
 * (dy, labels, logits → the logits' gradient) do the same float32 operations in the same order:
 * per row the max, x − max, exp, the sum in sequence, log, lse = max + log, log-softmax x − lse,
 * then Σ −(logsoftmax · label) per row, those summed in sequence and divided by the row count;
 * backward (dy / n) · (exp(logsoftmax) − label). Exp and Log are tfjs-backend-wasm's own
 * (called on its heap through its exported `_Exp` / `_Log`, so the same expf / logf), the rest
 * are JavaScript float32 operations on the heap (one rounding each, as the C++ kernels do).
 * test/wasm/loss.test.ts checks the loss and both gradients against tfjs's own ops on wasm (bits)
 * and on `cpu` (float32 rounding).
 *
 * tfjs has no hook for a loss, so `installFusedLoss` replaces tfjs-core's exported `losses`
 * namespace (what `tf.losses` reads at each call) with one whose `softmaxCrossEntropy` runs
 * these kernels for float32 rank-2 labels and logits of the same shape, without weights and with
 * the default reduction (label smoothing is applied first with tfjs's own ops, as tfjs does);
 * anything else, and every backend without the kernels, runs tfjs's own function.
 */
import * as tf from "@tensorflow/tfjs";
import { tfjsCore } from "./tfjs-core";

/** The fused loss's kernel name: inputs `labels`, `logits` [n, c] float32; output the mean loss, a scalar. */
export const SOFTMAX_CE_KERNEL = "TsdlSoftmaxCrossEntropy";
/** Its gradient's kernel name: inputs `dy` (a scalar), `labels`, `logits`; output the logits' gradient (attr `of` "logits") or the labels' ("labels"). */
export const SOFTMAX_CE_GRAD_KERNEL = "TsdlSoftmaxCrossEntropyGrad";

interface WasmModule {
  wasmMemory?: WebAssembly.Memory;
  asm?: { memory?: WebAssembly.Memory };
  _Exp(xId: number, dtype: number, outId: number): void;
  _Log(xId: number, dtype: number, outId: number): void;
}

interface WasmBackend {
  wasm: WasmModule;
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object): boolean;
}

/** tfjs-backend-wasm's CppDType for float32. */
const F32 = 0;

function memoryOf(b: WasmBackend): WebAssembly.Memory {
  const memory = b.wasm.wasmMemory ?? b.wasm.asm?.memory;
  if (!memory) throw new Error("tsdl loss kernels: cannot find the wasm backend's memory");
  return memory;
}

/**
 * The rows' log-softmax of `logits` ([n, c]) into a new [n, c] tensor, as tfjs's
 * `sub(cast(logits), logSumExp(logits, [1], true))` computes it. The caller disposes it.
 */
function logSoftmax(b: WasmBackend, logits: tf.TensorInfo): tf.TensorInfo {
  const [n, c] = logits.shape;
  const shifted = b.makeOutput([n, c], "float32");
  const exps = b.makeOutput([n, c], "float32");
  const sums = b.makeOutput([n], "float32");
  const logs = b.makeOutput([n], "float32");
  const out = b.makeOutput([n, c], "float32");
  const info = (t: tf.TensorInfo) => b.dataIdMap.get(t.dataId)!;
  // Views taken after every allocation (one may have grown the memory).
  const heap = new Float32Array(memoryOf(b).buffer);
  const x = info(logits).memoryOffset >> 2;
  const sh = info(shifted).memoryOffset >> 2;
  const ex = info(exps).memoryOffset >> 2;
  const su = info(sums).memoryOffset >> 2;
  const lo = info(logs).memoryOffset >> 2;
  const o = info(out).memoryOffset >> 2;
  const maxes = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    const row = x + r * c;
    let m = heap[row];
    for (let j = 1; j < c; j++) if (heap[row + j] > m || Number.isNaN(heap[row + j])) m = heap[row + j];
    maxes[r] = m;
    for (let j = 0; j < c; j++) heap[sh + r * c + j] = heap[row + j] - m;
  }
  b.wasm._Exp(info(shifted).id, F32, info(exps).id);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let j = 0; j < c; j++) s = Math.fround(s + heap[ex + r * c + j]);
    heap[su + r] = s;
  }
  b.wasm._Log(info(sums).id, F32, info(logs).id);
  for (let r = 0; r < n; r++) {
    const lse = Math.fround(maxes[r] + heap[lo + r]);
    for (let j = 0; j < c; j++) heap[o + r * c + j] = heap[x + r * c + j] - lse;
  }
  for (const t of [shifted, exps, sums, logs]) b.disposeData(t.dataId);
  return out;
}

const lossKernel: tf.KernelFunc = ({ inputs, backend }) => {
  const { labels, logits } = inputs as unknown as { labels: tf.TensorInfo; logits: tf.TensorInfo };
  const b = backend as unknown as WasmBackend;
  const [n, c] = logits.shape;
  const lsm = logSoftmax(b, logits);
  const out = b.makeOutput([], "float32");
  const heap = new Float32Array(memoryOf(b).buffer);
  const l = b.dataIdMap.get(lsm.dataId)!.memoryOffset >> 2;
  const y = b.dataIdMap.get(labels.dataId)!.memoryOffset >> 2;
  // sum(neg(mul(logResult, labels)), [1]), then sum over the rows and ÷ n (computeWeightedLoss).
  let total = 0;
  for (let r = 0; r < n; r++) {
    let row = 0;
    for (let j = 0; j < c; j++) row = Math.fround(row - Math.fround(heap[l + r * c + j] * heap[y + r * c + j]));
    total = Math.fround(total + row);
  }
  heap[b.dataIdMap.get(out.dataId)!.memoryOffset >> 2] = total / n;
  b.disposeData(lsm.dataId);
  return out;
};

const lossGradKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, labels, logits } = inputs as unknown as { dy: tf.TensorInfo; labels: tf.TensorInfo; logits: tf.TensorInfo };
  const b = backend as unknown as WasmBackend;
  const [n, c] = logits.shape;
  const lsm = logSoftmax(b, logits);
  const probs = b.makeOutput([n, c], "float32");
  b.wasm._Exp(b.dataIdMap.get(lsm.dataId)!.id, F32, b.dataIdMap.get(probs.dataId)!.id);
  const out = b.makeOutput([n, c], "float32");
  const heap = new Float32Array(memoryOf(b).buffer);
  const p = b.dataIdMap.get(probs.dataId)!.memoryOffset >> 2;
  const y = b.dataIdMap.get(labels.dataId)!.memoryOffset >> 2;
  const o = b.dataIdMap.get(out.dataId)!.memoryOffset >> 2;
  // The division's gradient dy / n, through the sums' (× 1), then customGrad's dy·(exp(lsm) − y)
  // for the logits and dy·(y − exp(lsm)) for the labels (not the negation: 0 stays +0).
  const g = Math.fround(heap[b.dataIdMap.get(dy.dataId)!.memoryOffset >> 2] / n);
  if ((attrs as unknown as { of: string }).of === "labels") {
    for (let i = 0; i < n * c; i++) heap[o + i] = g * Math.fround(heap[y + i] - heap[p + i]);
  } else {
    for (let i = 0; i < n * c; i++) heap[o + i] = g * Math.fround(heap[p + i] - heap[y + i]);
  }
  b.disposeData(lsm.dataId);
  b.disposeData(probs.dataId);
  return out;
};

/** The fused softmax cross-entropy and its gradient, for a backend built on tfjs-backend-wasm. */
export function lossConfigs(backendName = "wasm"): tf.KernelConfig[] {
  return [
    { kernelName: SOFTMAX_CE_KERNEL, backendName, kernelFunc: lossKernel },
    { kernelName: SOFTMAX_CE_GRAD_KERNEL, backendName, kernelFunc: lossGradKernel },
  ];
}

const lossGradient: tf.GradConfig = {
  kernelName: SOFTMAX_CE_KERNEL,
  inputsToSave: ["labels", "logits"],
  gradFunc: (dy, saved) => {
    const [labels, logits] = saved;
    const of = (input: string) => () => tf.engine().runKernel(SOFTMAX_CE_GRAD_KERNEL, { dy: dy as tf.Tensor, labels, logits }, { of: input }) as tf.Tensor;
    return { logits: of("logits"), labels: of("labels") };
  },
};

type SoftmaxCrossEntropy = typeof tf.losses.softmaxCrossEntropy;

/** tfjs-core's module object, whose `losses` export `tf.losses` reads. */
const tfCore = tfjsCore() as unknown as { losses: typeof tf.losses };

let originalLosses: typeof tf.losses | undefined;

/** `tf.losses.softmaxCrossEntropy`, on the fused kernels where the backend has them. */
function fusedSoftmaxCrossEntropy(
  onehotLabels: tf.Tensor | tf.TensorLike, logits: tf.Tensor | tf.TensorLike, weights?: tf.Tensor | tf.TensorLike,
  labelSmoothing = 0, reduction = tf.Reduction.SUM_BY_NONZERO_WEIGHTS,
): tf.Tensor {
  const original = originalLosses!.softmaxCrossEntropy;
  if (
    !(onehotLabels instanceof tf.Tensor) || !(logits instanceof tf.Tensor) || weights != null ||
    reduction !== tf.Reduction.SUM_BY_NONZERO_WEIGHTS || !(labelSmoothing >= 0) ||
    onehotLabels.dtype !== "float32" || logits.dtype !== "float32" || logits.rank !== 2 ||
    !tf.util.arraysEqual(onehotLabels.shape, logits.shape) || logits.size === 0 ||
    !tf.getKernel(SOFTMAX_CE_KERNEL, tf.getBackend())
  ) {
    return original(onehotLabels, logits, weights, labelSmoothing, reduction);
  }
  return tf.tidy(() => {
    let labels = onehotLabels;
    if (labelSmoothing > 0) {
      // tfjs's own smoothing ops, in its order.
      const s = tf.scalar(labelSmoothing);
      labels = tf.add(tf.mul(labels, tf.sub(tf.scalar(1), s)), tf.div(s, tf.scalar(labels.shape[1]!)));
    }
    return tf.engine().runKernel(SOFTMAX_CE_KERNEL, { labels, logits }) as tf.Tensor;
  });
}

/** Makes `tf.losses.softmaxCrossEntropy` run fused on backends with tsdl's kernels; idempotent. */
export function installFusedLoss(): void {
  if (originalLosses) return;
  if (!tf.getGradient(SOFTMAX_CE_KERNEL)) tf.registerGradient(lossGradient);
  originalLosses = tfCore.losses;
  tfCore.losses = Object.freeze({ ...originalLosses, softmaxCrossEntropy: fusedSoftmaxCrossEntropy as SoftmaxCrossEntropy }) as typeof tf.losses;
}

/** Puts back tfjs's own `losses` namespace (for tests and benchmarks that compare the two). */
export function uninstallFusedLoss(): void {
  if (!originalLosses) return;
  tfCore.losses = originalLosses;
  originalLosses = undefined;
}
