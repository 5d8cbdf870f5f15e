/**
 * Back-propagation in matrix form (§4.2), for one dense layer and for a 2-layer network, on plain
 * float64 arrays, written with the article's formulas:
 *
 *   forward:   z⁽ˡ⁾ = W⁽ˡ⁾ a⁽ˡ⁻¹⁾ + b⁽ˡ⁾,   a⁽ˡ⁾ = σ(z⁽ˡ⁾)
 *   backward:  δ⁽ˡ⁾ = σ′(z⁽ˡ⁾) ⊙ ∂L/∂a⁽ˡ⁾,   ∂L/∂W⁽ˡ⁾ = δ⁽ˡ⁾ a⁽ˡ⁻¹⁾ᵀ,   ∂L/∂b⁽ˡ⁾ = δ⁽ˡ⁾,
 *              ∂L/∂a⁽ˡ⁻¹⁾ = W⁽ˡ⁾ᵀ δ⁽ˡ⁾.
 *
 * As in the article, W⁽ˡ⁾ has one ROW per output unit (shape out × in) and activations are column
 * vectors. A batch of m examples is a matrix with one COLUMN per example (A⁰ = Xᵀ when X has one
 * row per example, as tfjs has it). The loss is a mean over the batch, so the 1/m sits inside
 * ∂L/∂a; then ∂L/∂W = δ Aᵀ sums the per-example products over the batch, and ∂L/∂b is δ summed
 * over its columns.
 *
 * For a softmax output the derivative is a Jacobian, not a number per unit, so δ = Jᵀ ∂L/∂a (the
 * vector–Jacobian product, `softmax.vjp`) replaces σ′ ⊙ ∂L/∂a; with cross-entropy it simplifies
 * to δ = (A − Y)/m.
 *
 * Introduced in notebook 02-loss-and-backprop.
 */
import * as tf from "@tensorflow/tfjs";
import { activation, softmax, type Activation, type ActivationName } from "./activations";
import {
  addColumn,
  fmtShape,
  mapM,
  matmul,
  rowSums,
  shapeOf,
  transpose,
  zip,
  type Matrix,
  type Vector,
} from "./arrays";
import { crossEntropy, mse } from "./losses";

/** Output layer and loss of the 2-layer network. */
export type OutputKind = "sigmoid-mse" | "softmax-cross-entropy";

/**
 * Weights of a 2-layer network in the article's layout (W: out × in). A type alias rather than
 * an interface, so it can be passed to `gradCheck` as its parameter record.
 */
export type TwoLayerParams = {
  /** hidden × inputs */
  W1: Matrix;
  /** hidden */
  b1: Vector;
  /** outputs × hidden */
  W2: Matrix;
  /** outputs */
  b2: Vector;
};

/** Data and settings for `twoLayer`. */
export interface TwoLayerOptions {
  /** Inputs, one row per example (m × d). */
  X: Matrix;
  /** Targets, one row per example (m × o): one-hot rows for softmax, values in [0, 1] for sigmoid. */
  Y: Matrix;
  params: TwoLayerParams;
  /** Hidden activation (default "sigmoid"). */
  hidden?: ActivationName | Activation;
  /** Output layer and loss (default "sigmoid-mse": sigmoid outputs, MSE over every element). */
  output?: OutputKind;
}

/** Every intermediate matrix of one forward and backward pass (columns are examples). */
export interface TwoLayerPass {
  A0: Matrix;
  Z1: Matrix;
  A1: Matrix;
  Z2: Matrix;
  A2: Matrix;
  loss: number;
  /** ∂L/∂a⁽²⁾ */
  dA2: Matrix;
  /** δ⁽²⁾ = σ′(z⁽²⁾) ⊙ ∂L/∂a⁽²⁾ (softmax: the vector–Jacobian product) */
  delta2: Matrix;
  /** ∂L/∂a⁽¹⁾ = W⁽²⁾ᵀ δ⁽²⁾ */
  dA1: Matrix;
  /** δ⁽¹⁾ = σ′(z⁽¹⁾) ⊙ ∂L/∂a⁽¹⁾ */
  delta1: Matrix;
  /** ∂L/∂W⁽ˡ⁾ = δ⁽ˡ⁾ a⁽ˡ⁻¹⁾ᵀ and ∂L/∂b⁽ˡ⁾ = Σ_columns δ⁽ˡ⁾, in the shapes of the parameters. */
  grads: TwoLayerParams;
}

function checkTwoLayer(o: TwoLayerOptions): { m: number; d: number; h: number; out: number } {
  const where = "backprop.twoLayer";
  const [m, d] = shapeOf(o.X, `${where}: X`);
  const ys = shapeOf(o.Y, `${where}: Y`);
  const w1 = shapeOf(o.params.W1, `${where}: W1`);
  const b1 = shapeOf(o.params.b1, `${where}: b1`);
  const w2 = shapeOf(o.params.W2, `${where}: W2`);
  const b2 = shapeOf(o.params.b2, `${where}: b2`);
  const fail = (what: string): never => {
    throw new Error(
      `${where}: ${what} (X ${fmtShape([m, d])}, Y ${fmtShape(ys)}, W1 ${fmtShape(w1)}, b1 ${fmtShape(b1)}, W2 ${fmtShape(w2)}, b2 ${fmtShape(b2)}; W is out × in)`,
    );
  };
  if (w1.length !== 2 || w1[1] !== d) fail(`W1 must be hidden × ${d} to take X's ${d} features`);
  const h = w1[0];
  if (b1.length !== 1 || b1[0] !== h) fail(`b1 must have ${h} entries, one per hidden unit`);
  if (w2.length !== 2 || w2[1] !== h) fail(`W2 must be outputs × ${h}`);
  const out = w2[0];
  if (b2.length !== 1 || b2[0] !== out) fail(`b2 must have ${out} entries, one per output`);
  if (ys.length !== 2 || ys[0] !== m || ys[1] !== out) fail(`Y must be ${m} × ${out}, one row per example`);
  return { m, d, h, out };
}

/**
 * One forward and backward pass of a 2-layer network in matrix form, with every δ.
 * Introduced in notebook 02-loss-and-backprop.
 */
export function twoLayer(options: TwoLayerOptions): TwoLayerPass {
  const { m, out } = checkTwoLayer(options);
  const { W1, b1, W2, b2 } = options.params;
  const act = activation(options.hidden ?? "sigmoid");
  const kind = options.output ?? "sigmoid-mse";
  const A0 = transpose(options.X);
  const Yc = transpose(options.Y);

  // Forward: z = W a + b, a = σ(z).
  const Z1 = addColumn(matmul(W1, A0, "W1 · A0"), b1);
  const A1 = mapM(Z1, act.f);
  const Z2 = addColumn(matmul(W2, A1, "W2 · A1"), b2);
  let A2: Matrix;
  let loss: number;
  let dA2: Matrix;
  let delta2: Matrix;
  if (kind === "sigmoid-mse") {
    A2 = mapM(Z2, (z) => activation("sigmoid").f(z));
    loss = mse(Yc, A2);
    // L = (1/(m·o)) Σ (y − a)²  ⇒  ∂L/∂a = 2(a − y)/(m·o).
    dA2 = zip(A2, Yc, (a, y) => (2 * (a - y)) / (m * out));
    delta2 = zip(Z2, dA2, (z, g) => activation("sigmoid").df(z) * g);
  } else if (kind === "softmax-cross-entropy") {
    const cols = transpose(Z2).map((z) => softmax.f(z));
    A2 = transpose(cols);
    loss = crossEntropy(options.Y, cols);
    // L = −(1/m) Σ y log a  ⇒  ∂L/∂a = −y/(m·a); δ is the softmax vector–Jacobian product.
    dA2 = zip(A2, Yc, (a, y) => (y === 0 ? 0 : -y / (m * a)));
    const dA2cols = transpose(dA2);
    delta2 = transpose(transpose(Z2).map((z, j) => softmax.vjp(z, dA2cols[j])));
  } else {
    throw new Error(`backprop.twoLayer: unknown output ${JSON.stringify(kind)}; expected "sigmoid-mse" or "softmax-cross-entropy"`);
  }

  // Backward, layer 2 then layer 1.
  const dW2 = matmul(delta2, transpose(A1), "δ2 · A1ᵀ");
  const db2 = rowSums(delta2);
  const dA1 = matmul(transpose(W2), delta2, "W2ᵀ · δ2");
  const delta1 = zip(Z1, dA1, (z, g) => act.df(z) * g);
  const dW1 = matmul(delta1, transpose(A0), "δ1 · A0ᵀ");
  const db1 = rowSums(delta1);
  return { A0, Z1, A1, Z2, A2, loss, dA2, delta2, dA1, delta1, grads: { W1: dW1, b1: db1, W2: dW2, b2: db2 } };
}

/** The 2-layer network's loss alone, in float64 (for gradient checks). Introduced in notebook 02-loss-and-backprop. */
export function twoLayerLoss(options: TwoLayerOptions): number {
  return twoLayer(options).loss;
}

/**
 * The same network and loss with TensorFlow.js, as a function of the four parameter tensors, so
 * `tf.grads` can differentiate it. X and Y have one row per example; W is out × in as above.
 * Introduced in notebook 02-loss-and-backprop.
 */
export function twoLayerLossTf(
  params: { W1: tf.Tensor; b1: tf.Tensor; W2: tf.Tensor; b2: tf.Tensor },
  X: tf.Tensor | Matrix,
  Y: tf.Tensor | Matrix,
  options: { hidden?: ActivationName | Activation; output?: OutputKind } = {},
): tf.Scalar {
  const act = activation(options.hidden ?? "sigmoid");
  return tf.tidy(() => {
    const x = X instanceof tf.Tensor ? X : tf.tensor2d(X);
    const y = Y instanceof tf.Tensor ? Y : tf.tensor2d(Y);
    // Rows are examples here, so z = x Wᵀ + b (the transpose of the article's column form).
    const a1 = act.tf(tf.add(tf.matMul(x, params.W1, false, true), params.b1));
    const z2 = tf.add(tf.matMul(a1, params.W2, false, true), params.b2);
    if ((options.output ?? "sigmoid-mse") === "sigmoid-mse") {
      return tf.losses.meanSquaredError(y, tf.sigmoid(z2)) as tf.Scalar;
    }
    return tf.losses.softmaxCrossEntropy(y, z2) as tf.Scalar;
  });
}

/** Data and weights of one dense layer a = σ(W x + b) under the MSE loss. */
export interface DenseOptions {
  /** Inputs, one row per example (m × d). */
  X: Matrix;
  /** Targets, one row per example (m × o). */
  Y: Matrix;
  /** out × in */
  W: Matrix;
  b: Vector;
  /** Activation (default "sigmoid"). */
  activation?: ActivationName | Activation;
}

/**
 * One dense layer under MSE: loss, δ = σ′(z) ⊙ ∂L/∂a and the gradients ∂L/∂W = δ xᵀ, ∂L/∂b = Σ δ.
 * The gradient check in notebook 02 tests this (and a deliberately broken copy) against finite
 * differences. Introduced in notebook 02-loss-and-backprop.
 */
export function dense(options: DenseOptions): { loss: number; Z: Matrix; A: Matrix; delta: Matrix; dW: Matrix; db: Vector } {
  const [m, d] = shapeOf(options.X, "backprop.dense: X");
  const [o, d2] = shapeOf(options.W, "backprop.dense: W");
  if (d2 !== d) throw new Error(`backprop.dense: W is ${fmtShape([o, d2])} but X has ${d} features; expected W to be out × ${d}`);
  const ys = shapeOf(options.Y, "backprop.dense: Y");
  if (ys[0] !== m || ys[1] !== o) throw new Error(`backprop.dense: Y is ${fmtShape(ys)}, expected ${fmtShape([m, o])} (one row per example, one column per output)`);
  if (options.b.length !== o) throw new Error(`backprop.dense: b has ${options.b.length} entries, expected ${o} (one per output)`);
  const act = activation(options.activation ?? "sigmoid");
  const A0 = transpose(options.X);
  const Yc = transpose(options.Y);
  const Z = addColumn(matmul(options.W, A0), options.b);
  const A = mapM(Z, act.f);
  const loss = mse(Yc, A);
  const dA = zip(A, Yc, (a, y) => (2 * (a - y)) / (m * o));
  const delta = zip(Z, dA, (z, g) => act.df(z) * g);
  return { loss, Z, A, delta, dW: matmul(delta, transpose(A0)), db: rowSums(delta) };
}
