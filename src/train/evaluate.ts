/**
 * Scoring a trained model: loss and accuracy on a data set, predicted classes, in inference mode
 * (dropout off) and in batches so a 10,000-image test set never needs one huge tensor.
 */
import * as tf from "@tensorflow/tfjs";
import { taskFor, checkTargets, type LossOption } from "./task";
import { XNNPACK_MIN_FLOPS, productOnTsdlGemm } from "../wasm/matmul";
import { denseForwardFor, type DenseForward } from "../wasm/dense-forward";

/** Examples and targets as tensors: x [n, ...] and y [n] integer labels, [n, k] one-hot rows or [n] 0/1 values. */
export interface TensorData {
  x: tf.Tensor;
  y: tf.Tensor;
}

/** Something that turns itself into tensors: `dl.data.loadMnist(...)` returns one. */
export interface TensorSource {
  toTensors(options?: { normalize?: "article" | "unit" | "none"; flatten?: boolean }): { x: tf.Tensor; y: tf.Tensor };
  readonly count: number;
}

/** What `fit` and `evaluate` take: tensors, or an image data set (converted with the article's normalization). */
export type FitData = TensorData | TensorSource;

function isSource(d: unknown): d is TensorSource {
  return typeof (d as TensorSource | null)?.toTensors === "function";
}

/**
 * Tensors for `model` from `data`, checked against the model's input shape. `owned` is true when
 * they were made here (the caller disposes them).
 */
export function tensorsFor(
  model: tf.LayersModel,
  data: FitData,
  what: string,
  normalize: "article" | "unit" | "none" = "article",
): { x: tf.Tensor; y: tf.Tensor; owned: boolean } {
  const inShape = model.inputs[0].shape;
  let x: tf.Tensor;
  let y: tf.Tensor;
  let owned = false;
  if (isSource(data)) {
    ({ x, y } = data.toTensors({ normalize, flatten: inShape.length === 2 }));
    owned = true;
  } else if (data && data.x instanceof tf.Tensor && data.y instanceof tf.Tensor) {
    ({ x, y } = data);
  } else {
    throw new Error(`${what}: expected { x: tf.Tensor, y: tf.Tensor } or a data set from dl.data (loadMnist), found ${data === null ? "null" : typeof data === "object" ? `an object with keys ${Object.keys(data).join(", ") || "(none)"}` : typeof data}`);
  }
  const fail = (msg: string): never => {
    if (owned) tf.dispose([x, y]);
    throw new Error(msg);
  };
  const want = inShape.slice(1);
  const got = x.shape.slice(1);
  if (want.length !== got.length || want.some((d, i) => d !== null && d !== got[i])) {
    const hint = want.length === 1 && got.length === 3 ? "; flatten the images (toTensors({ flatten: true }) or x.reshape([n, -1]))"
      : want.length === 3 && got.length === 1 ? "; reshape to images (toTensors({ flatten: false }))" : "";
    fail(`${what}: the model takes inputs of shape [batch, ${want.join(", ")}], found x of shape [${x.shape.join(", ")}]${hint}`);
  }
  if (x.shape[0] !== y.shape[0]) fail(`${what}: x has ${x.shape[0]} examples (shape [${x.shape.join(", ")}]) but y has ${y.shape[0]} (shape [${y.shape.join(", ")}]); expected one target per example`);
  if (x.shape[0] === 0) fail(`${what}: no examples (x has shape [${x.shape.join(", ")}])`);
  try {
    checkTargets(y, taskFor(model).units, what);
  } catch (err) {
    fail((err as Error).message);
  }
  return { x, y, owned };
}

/** Loss and accuracy of a model on a data set. */
export interface Evaluation {
  loss: number;
  accuracy: number;
  /** Correct predictions and examples. */
  correct: number;
  count: number;
}

/**
 * The model's outputs for one batch, in inference mode, in as few forward passes as keep the
 * bits. `model.predict` alone cuts any input into tfjs-layers' default batches of 32 (and
 * concatenates the parts): evaluating 1,000 images took 32 forward passes of 32 rows, each through
 * tfjs-layers' executor, with products too short for the GEMM to reach its speed. No layer looks
 * across the examples of a batch in inference mode (BatchNormalization then uses its moving
 * statistics, Dropout is off), and tsdl's GEMM and convolutions keep each output's summation
 * order for any batch height, so taller passes give the same bits, up to one limit: a dense
 * product too large for tsdl's GEMM goes to XNNPACK (src/wasm/matmul.ts), which adds the bias
 * first, so its bits differ. Passes stay below that size (the article's MLP: 668 rows of its
 * 784×256 layer), split evenly (1,000 images: two of 500). test/train/evaluate.test.ts checks
 * the bits against batches of 32. A dense network's passes run their kernels directly
 * (src/wasm/dense-forward.ts), with the same rows per pass and the same bits; `direct` is that
 * pass when the caller has it already, null for none.
 */
export function predictBatch(model: tf.LayersModel, xb: tf.Tensor, direct: DenseForward | null | undefined = denseForwardFor(model)): tf.Tensor {
  const size = Math.max(1, xb.shape[0]);
  const rows = passRows(model, size);
  return direct?.logits(xb, 0, size, rows) ?? (model.predict(xb, { batchSize: rows }) as tf.Tensor);
}

/** Rows per forward pass for a batch of `size` (the last pass may be shorter), as `predictBatch` runs them. */
function passRows(model: tf.LayersModel, size: number): number {
  const limit = Math.max(32, inferenceRows(model.layers));
  const passes = Math.ceil(size / limit);
  return Math.ceil(size / passes);
}

/**
 * The outputs for rows [start, start + size) of `x`: a dense network's direct pass reads them
 * in place; otherwise they are sliced out and go through `predictBatch`.
 */
function predictRows(model: tf.LayersModel, direct: DenseForward | undefined, x: tf.Tensor, start: number, size: number): tf.Tensor {
  return direct?.logits(x, start, size, passRows(model, size)) ?? predictBatch(model, x.slice(start, size), null);
}

/** The most rows whose product stays on tsdl's GEMM in every Dense layer (nested models too). */
function inferenceRows(layers: tf.layers.Layer[]): number {
  let rows = Infinity;
  for (const l of layers) {
    const inner = (l as unknown as { layers?: tf.layers.Layer[] }).layers;
    if (Array.isArray(inner)) rows = Math.min(rows, inferenceRows(inner));
    else if (l.getClassName() === "Dense") {
      const shape = (l as unknown as { kernel?: { shape: number[] } }).kernel?.shape;
      if (!shape) continue; // not built yet: predict builds it, with no product to route
      const [k, n] = shape;
      let r = Math.floor((XNNPACK_MIN_FLOPS - 1) / (2 * k * n));
      while (r > 1 && !productOnTsdlGemm(r, k, n)) r--;
      rows = Math.min(rows, r);
    }
  }
  return rows;
}

/** Sum of loss × batch size and of correct predictions over `x`, in inference mode. Tensors in, numbers out. */
export function evaluateTensors(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor, options: { batchSize?: number; loss?: LossOption } = {}): Evaluation {
  const task = taskFor(model, options.loss ?? "auto");
  const n = x.shape[0];
  const bs = options.batchSize ?? 1000;
  let lossSum = 0;
  let correct = 0;
  const direct = denseForwardFor(model);
  for (let start = 0; start < n; start += bs) {
    const size = Math.min(bs, n - start);
    const [l, c] = tf.tidy(() => {
      const yb = y.slice(start, size);
      const out = predictRows(model, direct, x, start, size);
      return [task.loss(yb, out).mul(size).dataSync()[0], task.countCorrect(yb, out)];
    });
    lossSum += l;
    correct += c;
  }
  return { loss: lossSum / n, accuracy: correct / n, correct, count: n };
}

/**
 * Loss and accuracy of `model` on `data`, in inference mode (dropout off), in batches.
 * Introduced in notebook 05.
 */
export function evaluate(model: tf.LayersModel, data: FitData, options: { batchSize?: number; loss?: LossOption; normalize?: "article" | "unit" | "none" } = {}): Evaluation {
  const { x, y, owned } = tensorsFor(model, data, "evaluate", options.normalize);
  try {
    return evaluateTensors(model, x, y, options);
  } finally {
    if (owned) tf.dispose([x, y]);
  }
}

/**
 * The predicted class of each example (argmax of the outputs, or output ≥ 0.5 for a sigmoid
 * output), in inference mode and in batches. Introduced in notebook 05.
 */
export function predictClasses(model: tf.LayersModel, x: tf.Tensor | TensorSource, options: { batchSize?: number; normalize?: "article" | "unit" | "none" } = {}): Int32Array {
  const owned = !(x instanceof tf.Tensor);
  let xs: tf.Tensor;
  if (x instanceof tf.Tensor) xs = x;
  else {
    const t = x.toTensors({ normalize: options.normalize ?? "article", flatten: model.inputs[0].shape.length === 2 });
    t.y.dispose();
    xs = t.x;
  }
  try {
    const task = taskFor(model);
    const n = xs.shape[0];
    const bs = options.batchSize ?? 1000;
    const out = new Int32Array(n);
    const direct = denseForwardFor(model);
    for (let start = 0; start < n; start += bs) {
      const size = Math.min(bs, n - start);
      out.set(tf.tidy(() => task.classes(predictRows(model, direct, xs, start, size)).dataSync() as Int32Array), start);
    }
    return out;
  } finally {
    if (owned) xs.dispose();
  }
}
