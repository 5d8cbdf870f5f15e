/**
 * What a model's output means and how it is scored: multi-class logits (softmax cross-entropy),
 * multi-class probabilities (a softmax output layer), a single sigmoid probability (the
 * perceptron) or a single logit. Shared by `fit`, `evaluate` and `predictClasses`.
 */
import * as tf from "@tensorflow/tfjs";

/** The loss functions `fit` knows by name; all are tfjs's own (`tf.losses.*`). */
export type LossName =
  | "softmaxCrossEntropy"
  | "categoricalCrossEntropy"
  | "sigmoidCrossEntropy"
  | "binaryCrossEntropy"
  | "meanSquaredError";

/** A loss by name, or a function of (targets, model outputs) to a scalar. */
export type LossOption = "auto" | LossName | ((yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar);

/** How a model's outputs are turned into losses and class predictions. */
export interface Task {
  /** Output units: 1 for binary, the number of classes otherwise. */
  units: number;
  /** Whether the output is already a probability (softmax or sigmoid layer) rather than logits. */
  probabilities: boolean;
  lossName: string;
  /** Mean loss of a batch; `y` as given by the user (int labels, one-hot rows, or 0/1 values). */
  loss(y: tf.Tensor, out: tf.Tensor): tf.Scalar;
  /** `y` as the loss takes it (one-hot float rows for int labels, [n, 1] floats for binary); `loss` gives the same for these as for `y`. */
  targets(y: tf.Tensor): tf.Tensor;
  /** Number of correct predictions in a batch, as a float scalar. */
  correct(y: tf.Tensor, out: tf.Tensor): tf.Scalar;
  /**
   * The same count as `correct`, worked out in JavaScript from the two tensors' values (`out` is
   * a few numbers per row): what `fit` and `evaluate` read each batch, in place of `correct`'s
   * ArgMax, Casts, Equal and Sum and their read-back.
   */
  countCorrect(y: tf.Tensor, out: tf.Tensor): number;
  /** Predicted classes of a batch (int32, one per row). */
  classes(out: tf.Tensor): tf.Tensor1D;
}

function lastActivation(model: tf.LayersModel): string | undefined {
  const last = model.layers[model.layers.length - 1];
  const config = last?.getConfig() as { activation?: string } | undefined;
  return config?.activation;
}

/** The model's output units, with a clear error for models tsdl cannot score. */
export function outputUnits(model: tf.LayersModel): number {
  if (model.outputs.length !== 1) throw new Error(`train: expected a model with one output, found ${model.outputs.length}`);
  const shape = model.outputs[0].shape;
  if (shape.length !== 2 || shape[1] === null) {
    throw new Error(`train: expected a model whose output is [batch, units], found output shape ${JSON.stringify(shape)}`);
  }
  return shape[1];
}

/** Targets as the losses want them: one-hot rows for int labels, [n, 1] floats for binary. */
function targets(y: tf.Tensor, units: number): tf.Tensor {
  if (units === 1) return y.reshape([-1, 1]).toFloat();
  // (int32 labels as they are: a Cast to int32 would copy them through a kernel, every step.)
  if (y.rank === 1) return tf.oneHot(y.dtype === "int32" ? y : y.toInt(), units).toFloat();
  // (float32 rows as they are: a Cast would copy them.)
  return y.dtype === "float32" ? y : y.toFloat();
}

function labelsOf(y: tf.Tensor, units: number): tf.Tensor {
  if (units === 1) return tf.greaterEqual(y.reshape([-1]).toFloat(), 0.5).toInt();
  return y.rank === 1 ? y.toInt() : tf.argMax(y, 1).toInt();
}

/**
 * The index of row `r`'s largest value, the first where several tie, as tfjs's ArgMax (`cpu`
 * and `wasm`) finds it: a running maximum replaced only by a larger value, so that a NaN is never
 * picked after the first value, and a NaN first value stays.
 */
function argMaxRow(v: ArrayLike<number>, r: number, units: number): number {
  const from = r * units;
  let best = v[from];
  let at = 0;
  for (let j = 1; j < units; j++) {
    const value = v[from + j];
    if (value > best) {
      best = value;
      at = j;
    }
  }
  return at;
}

/** `task.countCorrect`: `correct`'s count from the values of `y` and `out`. */
function countCorrectOf(y: tf.Tensor, out: tf.Tensor, units: number, probabilities: boolean): number {
  const o = out.dataSync() as ArrayLike<number>;
  const t = y.dataSync() as ArrayLike<number>;
  const rows = out.shape[0];
  let correct = 0;
  if (units === 1) {
    const threshold = probabilities ? 0.5 : 0;
    for (let r = 0; r < rows; r++) if ((o[r] >= threshold) === (t[r] >= 0.5)) correct++;
    return correct;
  }
  // Integer labels (truncated, as toInt casts) or one-hot rows (their ArgMax).
  const oneHot = y.rank !== 1;
  for (let r = 0; r < rows; r++) {
    const label = oneHot ? argMaxRow(t, r, units) : Math.trunc(t[r]);
    if (argMaxRow(o, r, units) === label) correct++;
  }
  return correct;
}

/** How `model`'s outputs are scored for `loss` ("auto" picks from the output layer). Introduced in notebook 05. */
export function taskFor(model: tf.LayersModel, loss: LossOption = "auto"): Task {
  const units = outputUnits(model);
  const act = lastActivation(model);
  const probabilities = act === "softmax" || act === "sigmoid";
  let name: string;
  let lossFn: (t: tf.Tensor, out: tf.Tensor) => tf.Scalar;
  const resolved: LossOption =
    loss !== "auto" ? loss
    : units > 1 ? (act === "softmax" ? "categoricalCrossEntropy" : "softmaxCrossEntropy")
    : act === "sigmoid" ? "binaryCrossEntropy" : "sigmoidCrossEntropy";
  if (typeof resolved === "function") {
    name = resolved.name || "custom loss";
    lossFn = (t, out) => resolved(t, out);
  } else {
    name = resolved;
    switch (resolved) {
      case "softmaxCrossEntropy":
        if (act === "softmax") throw new Error("train: softmaxCrossEntropy takes logits, but the model ends in a softmax layer; use loss 'categoricalCrossEntropy' or remove the softmax");
        lossFn = (t, out) => tf.losses.softmaxCrossEntropy(t, out) as tf.Scalar;
        break;
      case "categoricalCrossEntropy":
        lossFn = (t, out) => tf.mean(tf.metrics.categoricalCrossentropy(t, out)) as tf.Scalar;
        break;
      case "sigmoidCrossEntropy":
        lossFn = (t, out) => tf.losses.sigmoidCrossEntropy(t, out) as tf.Scalar;
        break;
      case "binaryCrossEntropy":
        // −[y log ŷ + (1−y) log(1−ŷ)] on probabilities, ŷ clipped by ε = 1e-7.
        lossFn = (t, out) => tf.losses.logLoss(t, out) as tf.Scalar;
        break;
      case "meanSquaredError":
        lossFn = (t, out) => tf.losses.meanSquaredError(t, out) as tf.Scalar;
        break;
      default:
        throw new Error(`train: unknown loss ${JSON.stringify(resolved)}; expected "auto", "softmaxCrossEntropy", "categoricalCrossEntropy", "sigmoidCrossEntropy", "binaryCrossEntropy", "meanSquaredError" or a function`);
    }
  }
  const classes = (out: tf.Tensor): tf.Tensor1D =>
    units === 1 ? (tf.greaterEqual(out.reshape([-1]), probabilities ? 0.5 : 0).toInt() as tf.Tensor1D) : (tf.argMax(out, 1).toInt() as tf.Tensor1D);
  return {
    units,
    probabilities,
    lossName: name,
    loss: (y, out) => lossFn(targets(y, units), out),
    targets: (y) => targets(y, units),
    correct: (y, out) => tf.sum(tf.equal(classes(out), labelsOf(y, units)).toFloat()) as tf.Scalar,
    countCorrect: (y, out) => countCorrectOf(y, out, units, probabilities),
    classes,
  };
}

/** Check that `y` fits a model with `units` outputs; throws a clear error naming the problem. */
export function checkTargets(y: tf.Tensor, units: number, what: string): void {
  const n = y.shape[0];
  if (units === 1) {
    if (!(y.rank === 1 || (y.rank === 2 && y.shape[1] === 1))) {
      throw new Error(`${what}: the model has 1 output, so y must be [n] or [n, 1] of 0/1 values; found shape [${y.shape.join(", ")}]`);
    }
    return;
  }
  if (y.rank === 2) {
    if (y.shape[1] !== units) throw new Error(`${what}: y has shape [${y.shape.join(", ")}] but the model has ${units} outputs; expected [${n}, ${units}] one-hot rows or [${n}] integer labels`);
    return;
  }
  if (y.rank !== 1) throw new Error(`${what}: expected y of shape [${n}] (integer labels) or [${n}, ${units}] (one-hot), found [${y.shape.join(", ")}]`);
  const v = y.dataSync();
  for (let i = 0; i < v.length; i++) {
    if (!Number.isInteger(v[i]) || v[i] < 0 || v[i] >= units) {
      throw new Error(`${what}: label ${v[i]} at index ${i} is outside 0..${units - 1} (the model has ${units} outputs)`);
    }
  }
}
