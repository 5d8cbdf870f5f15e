/**
 * Model definitions: the article's multilayer perceptron (§5.2), the single-layer perceptron of
 * the worked example (§4.3) and a small convolutional net for comparison. Each call returns a
 * fresh tfjs `LayersModel`; nothing is shared between calls.
 */
import * as tf from "@tensorflow/tfjs";
import { mulberry32 } from "../data/rng";

/** Activation names tfjs layers accept that make sense for hidden layers. */
export type Activation = "relu" | "sigmoid" | "tanh" | "elu" | "selu" | "softplus" | "linear" | "relu6" | "swish" | "gelu";

/** Options of `mlp`. */
export interface MlpOptions {
  /** Input size (784 for flat MNIST), or a shape such as [28, 28, 1], which adds a Flatten layer. Default 784. */
  inputs?: number | number[];
  /** Units of each hidden layer; default [256, 128] (the article's). */
  hidden?: number[];
  /** Output units (classes); default 10. The output is logits: no softmax layer. */
  outputs?: number;
  /** Hidden activation; default "relu". */
  activation?: Activation;
  /** Dropout rate after each hidden layer; default 0.5 (the article's). 0 leaves dropout out. */
  dropout?: number;
  /** L2 penalty coefficient on every kernel (λ in λ·Σw²); default none. */
  l2?: number;
  /** Seed of the weight initialisation; without it, each call draws fresh random weights. */
  seed?: number;
  /**
   * How the weights start (§4.1: "zero or small random numbers"): "glorot" (default, tfjs's and
   * Keras's: kernels U(±√(6/(fan_in+fan_out))), biases 0), "pytorch" (what the article's PyTorch
   * program gets: kernels and biases U(±1/√fan_in)), or "zeros" (every neuron alike: it cannot learn
   * different features, the symmetry problem).
   */
  init?: Init;
  name?: string;
}

/** Weight initialisation schemes of `mlp`. */
export type Init = "glorot" | "pytorch" | "zeros";

/** A source of layer seeds: each layer gets its own, all derived from one model seed. */
function seeder(seed: number | undefined): () => number | undefined {
  if (seed === undefined) return () => undefined;
  if (!Number.isFinite(seed)) throw new Error(`models: seed must be a finite number, found ${seed}`);
  const next = mulberry32(seed);
  return () => Math.floor(next() * 2 ** 31);
}

function checkPositiveInt(what: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
    throw new Error(`${what} must be a positive integer, found ${JSON.stringify(v)}`);
  }
  return v;
}

function checkRate(what: string, v: unknown): number {
  if (typeof v !== "number" || !(v >= 0 && v < 1)) throw new Error(`${what} must be in [0, 1), found ${JSON.stringify(v)}`);
  return v;
}

function inputShapeOf(what: string, inputs: number | number[]): number[] {
  const shape = typeof inputs === "number" ? [inputs] : inputs;
  if (!Array.isArray(shape) || shape.length === 0) throw new Error(`${what}: inputs must be a size or a shape, found ${JSON.stringify(inputs)}`);
  shape.forEach((d, i) => checkPositiveInt(`${what}: inputs[${i}]`, d));
  return shape;
}

function dense(name: string, units: number, activation: Activation | undefined, seed: number | undefined, l2: number | undefined, extra: { inputShape?: number[] } = {}, init: Init = "glorot", fanIn = 0) {
  const bound = 1 / Math.sqrt(Math.max(1, fanIn));
  return tf.layers.dense({
    name,
    units,
    activation,
    kernelInitializer:
      init === "zeros" ? tf.initializers.zeros()
      // varianceScaling(scale 1/3, fan in, uniform) is U(±√(3·(1/3)/fan_in)) = U(±1/√fan_in).
      : init === "pytorch" ? tf.initializers.varianceScaling({ scale: 1 / 3, mode: "fanIn", distribution: "uniform", seed })
      : tf.initializers.glorotUniform({ seed }),
    biasInitializer:
      init === "pytorch" ? tf.initializers.randomUniform({ minval: -bound, maxval: bound, seed: seed === undefined ? undefined : seed + 1 }) : "zeros",
    kernelRegularizer: l2 ? tf.regularizers.l2({ l2 }) : undefined,
    ...extra,
  });
}

/**
 * The article's multilayer perceptron (§5.2): 784 → 256 → ReLU → Dropout 0.5 → 128 → ReLU →
 * Dropout 0.5 → 10 logits, a fresh model on every call. Introduced in notebook 05.
 */
export function mlp(options: MlpOptions = {}): tf.LayersModel {
  const shape = inputShapeOf("models.mlp", options.inputs ?? 784);
  const hidden = options.hidden ?? [256, 128];
  if (!Array.isArray(hidden)) throw new Error(`models.mlp: hidden must be an array of layer sizes, found ${JSON.stringify(hidden)}`);
  hidden.forEach((h, i) => checkPositiveInt(`models.mlp: hidden[${i}]`, h));
  const outputs = checkPositiveInt("models.mlp: outputs", options.outputs ?? 10);
  const rate = checkRate("models.mlp: dropout", options.dropout ?? 0.5);
  const l2 = options.l2;
  if (l2 !== undefined && !(typeof l2 === "number" && l2 >= 0)) throw new Error(`models.mlp: l2 must be a number ≥ 0, found ${JSON.stringify(l2)}`);
  const seed = seeder(options.seed);
  const init = options.init ?? "glorot";
  if (!["glorot", "pytorch", "zeros"].includes(init)) throw new Error(`models.mlp: init must be "glorot", "pytorch" or "zeros", found ${JSON.stringify(init)}`);
  const flatIn = shape.reduce((a, b) => a * b, 1);
  const fanIns = [flatIn, ...hidden];
  const model = tf.sequential({ name: options.name ?? "mlp" });
  // Short layer names ("hidden1", "dropout1", ..., "output") read better in summaries than tfjs's
  // global counters ("dense_Dense7"); names only need to be unique within one model.
  if (shape.length > 1) model.add(tf.layers.flatten({ name: "flatten", inputShape: shape }));
  hidden.forEach((units, i) => {
    const first = i === 0 && shape.length === 1 ? { inputShape: shape } : {};
    model.add(dense(`hidden${i + 1}`, units, options.activation ?? "relu", seed(), l2, first, init, fanIns[i]));
    if (rate > 0) model.add(tf.layers.dropout({ name: `dropout${i + 1}`, rate }));
  });
  model.add(dense("output", outputs, "linear", seed(), l2, hidden.length === 0 && shape.length === 1 ? { inputShape: shape } : {}, init, fanIns[hidden.length]));
  return model;
}

/** Options of `perceptron`. */
export interface PerceptronOptions {
  /** Number of inputs; default 2 (the worked example's x = [x₁, x₂]). */
  inputs?: number;
  /** Seed of the initial weights. */
  seed?: number;
  /** Start from these weights and bias instead of random ones (to follow a worked example by hand). */
  weights?: { w: number[]; b: number };
  name?: string;
}

/**
 * A single-layer perceptron with a sigmoid output, ŷ = sigmoid(w·x + b) (§4.3), a fresh model on
 * every call. Introduced in notebook 03.
 */
export function perceptron(options: PerceptronOptions = {}): tf.LayersModel {
  const inputs = checkPositiveInt("models.perceptron: inputs", options.inputs ?? options.weights?.w.length ?? 2);
  const model = tf.sequential({ name: options.name ?? "perceptron" });
  model.add(dense("output", 1, "sigmoid", seeder(options.seed)(), undefined, { inputShape: [inputs] }));
  if (options.weights) {
    const { w, b } = options.weights;
    if (w.length !== inputs) throw new Error(`models.perceptron: weights.w has ${w.length} values, expected ${inputs} (one per input)`);
    tf.tidy(() => model.setWeights([tf.tensor2d(w, [inputs, 1]), tf.tensor1d([b])]));
  }
  return model;
}

/** Options of `cnn`. */
export interface CnnOptions {
  /** Flat size 784 (a Reshape layer makes 28×28×1 of it, so the MLP's tensors fit) or an image shape [h, w, c]. Default 784. */
  inputs?: number | [number, number, number];
  /** Filters of the two 3×3 convolution blocks; default [16, 32] (quick on two CPU cores; [32, 64] is the Keras example's). */
  filters?: [number, number];
  /** Units of the dense layer before the output; default 128. */
  dense?: number;
  /** Dropout before the output layer; default 0.25. */
  dropout?: number;
  /** Output units (classes); default 10. Logits. */
  outputs?: number;
  l2?: number;
  seed?: number;
  name?: string;
}

/**
 * A small convolutional net for comparison with the MLP: two blocks of 3×3 convolution, ReLU and
 * 2×2 max-pooling, a dense layer, dropout, and 10 logits. Introduced in notebook 06.
 */
export function cnn(options: CnnOptions = {}): tf.LayersModel {
  const inputs = options.inputs ?? 784;
  const imageShape: [number, number, number] =
    typeof inputs === "number" ? squareImage(inputs) : (inputShapeOf("models.cnn", inputs) as [number, number, number]);
  if (imageShape.length !== 3) throw new Error(`models.cnn: inputs must be a flat size or [height, width, channels], found ${JSON.stringify(inputs)}`);
  const [f1, f2] = options.filters ?? [16, 32];
  checkPositiveInt("models.cnn: filters[0]", f1);
  checkPositiveInt("models.cnn: filters[1]", f2);
  const units = checkPositiveInt("models.cnn: dense", options.dense ?? 128);
  const outputs = checkPositiveInt("models.cnn: outputs", options.outputs ?? 10);
  const rate = checkRate("models.cnn: dropout", options.dropout ?? 0.25);
  const seed = seeder(options.seed);
  const l2 = options.l2;
  const reg = l2 ? tf.regularizers.l2({ l2 }) : undefined;
  const model = tf.sequential({ name: options.name ?? "cnn" });
  if (typeof inputs === "number") model.add(tf.layers.reshape({ name: "reshape", targetShape: imageShape, inputShape: [inputs] }));
  const conv = (name: string, filters: number, first: boolean) =>
    tf.layers.conv2d({
      name, filters, kernelSize: 3, activation: "relu",
      kernelInitializer: tf.initializers.heUniform({ seed: seed() }), kernelRegularizer: reg,
      ...(first && typeof inputs !== "number" ? { inputShape: imageShape } : {}),
    });
  model.add(conv("conv1", f1, true));
  model.add(tf.layers.maxPooling2d({ name: "pool1", poolSize: 2 }));
  model.add(conv("conv2", f2, false));
  model.add(tf.layers.maxPooling2d({ name: "pool2", poolSize: 2 }));
  model.add(tf.layers.flatten({ name: "flatten" }));
  model.add(dense("dense", units, "relu", seed(), l2));
  if (rate > 0) model.add(tf.layers.dropout({ name: "dropout", rate }));
  model.add(dense("output", outputs, "linear", seed(), l2));
  return model;
}

function squareImage(n: number): [number, number, number] {
  checkPositiveInt("models.cnn: inputs", n);
  const side = Math.round(Math.sqrt(n));
  if (side * side !== n) throw new Error(`models.cnn: a flat input of ${n} values is not a square image; pass inputs: [height, width, channels]`);
  return [side, side, 1];
}
