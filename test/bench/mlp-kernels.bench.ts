/**
 * The parts of an article-MLP training step that tsdl fused (src/wasm/dropout.ts, dense.ts), at
 * the step's shapes (batch 64), each as tfjs's own ops and as tsdl's kernel, on the same tsdl
 * wasm backend (one thread per core) in interleaved rounds: dropout's forward (mask and
 * multiply; tfjs draws the mask in JavaScript), ReLU's gradient (tfjs: Step, Cast, Multiply), ReLU's
 * and the bias's gradient together (tfjs: those and a Sum; tsdl: TsdlReluBiasGrad, what a dense
 * ReLU layer's backward pass runs), the accuracy count of a batch's [64,10] logits (tfjs: ArgMax,
 * Casts, Equal, Sum and a read-back; tsdl: `task.countCorrect` in JavaScript), a dense ReLU
 * layer's forward and backward (tfjs: BatchMatMul, Add, Relu and their gradients),
 * softmax cross-entropy forward and backward on [64,10] logits (loss.ts; tfjs: ~23 small kernels),
 * and what one kernel costs through tfjs's engine when it does no work (a shared `Identity`),
 * plain and while gradients are recorded, and a recorded Multiply with tfjs's saved-input clones
 * and with tape.ts's. Prints µs per call (best round), and GB/s or GFLOP/s.
 *
 * Run: `npm run bench -- mlp-kernels` (TSDL_BENCH_ROUNDS=N rounds, default 7; TSDL_QUICK=1: 3).
 */
import * as tf from "@tensorflow/tfjs";
import {
  defaultWasmThreads, installFastDropout, installFusedDense, installFusedLoss, registerWasmVariant, RELU_BIAS_GRAD_KERNEL, RELU_GRAD_KERNEL, uninstallFastDropout,
  uninstallFusedDense, uninstallFusedLoss, installLeanTape, uninstallLeanTape,
} from "../../src/wasm";
import { taskFor } from "../../src/train/task";
import { loadLine, Rounds, table } from "../helpers/bench-util";

interface Case {
  label: string;
  /** Calls per timing. */
  reps: number;
  /** Bytes read and written, or flops, per call (for the rate column). */
  bytes?: number;
  flops?: number;
  /** One call as tfjs's ops and as tsdl's kernel; each returns what it made, to be disposed. */
  tfjs: () => tf.TensorContainer;
  tsdl: () => tf.TensorContainer;
}

function tfjsOwn<T>(f: () => T): T {
  uninstallFastDropout();
  uninstallFusedDense();
  uninstallFusedLoss();
  uninstallLeanTape();
  try {
    return f();
  } finally {
    installFastDropout();
    installFusedDense();
    installFusedLoss();
    installLeanTape();
  }
}

async function main(): Promise<void> {
  const rounds = Number(process.env.TSDL_BENCH_ROUNDS ?? (process.env.TSDL_QUICK === "1" ? 3 : 7));
  const threads = defaultWasmThreads();
  require("@tensorflow/tfjs-backend-wasm");
  registerWasmVariant("tsdl-wasm", { threads });
  await tf.setBackend("tsdl-wasm");
  console.log(`The article MLP's fused kernels, tfjs's ops vs tsdl's, tsdl wasm with ${threads} thread${threads > 1 ? "s" : ""}; ${rounds} interleaved rounds; ${loadLine()} at start`);

  const h1 = tf.randomNormal([64, 256], 0, 1, "float32", 1);
  const h2 = tf.randomNormal([64, 128], 0, 1, "float32", 2);
  const dy1 = tf.randomNormal([64, 256], 0, 1, "float32", 3);
  const x = tf.randomNormal([64, 784], 0, 1, "float32", 4);
  const w = tf.randomNormal([784, 256], 0, 0.05, "float32", 5);
  const b = tf.randomNormal([256], 0, 0.1, "float32", 6);
  let seed = 1;
  const dropout = (t: tf.Tensor) => () => tf.dropout(t, 0.5, undefined, seed++);
  const reluGradTfjs = () => tf.tidy(() => tf.mul(dy1, tf.cast(tf.step(h1), "float32")));
  const reluGradTsdl = () => tf.engine().runKernel(RELU_GRAD_KERNEL, { dy: dy1, x: h1 }) as tf.Tensor;
  const reluBiasGradTfjs = () => tf.tidy(() => {
    const dz = tf.mul(dy1, tf.cast(tf.step(h1), "float32"));
    return [dz, tf.sum(dz, 0)];
  });
  const reluBiasGradTsdl = () => tf.engine().runKernel(RELU_BIAS_GRAD_KERNEL, { dy: dy1, y: h1 }) as tf.Tensor[];
  // Forward and backward of relu(x·W + b) with the gradients for W and b (x is the input).
  const dense = () => tf.variableGrads(() => tf.sum(tf.mul(tf.fused.matMul({ a: x, b: wv, bias: bv, activation: "relu" }), dy1)), [wv, bv]);
  const wv = tf.variable(w, true, "bench-w");
  const bv = tf.variable(b, true, "bench-b");
  const denseFlops = 2 * 2 * 64 * 784 * 256;
  // The loss of a batch and its gradient for the logits, as a training step takes them.
  const logits = tf.randomNormal([64, 10], 0, 3, "float32", 7);
  const labels = tf.oneHot(tf.tensor1d(Array.from({ length: 64 }, (_, i) => (i * 7) % 10), "int32"), 10).toFloat();
  const loss = () => tf.grad((l: tf.Tensor) => tf.losses.softmaxCrossEntropy(labels, l))(logits);
  // The count `fit` reads each step: the batch's correct predictions.
  const task = taskFor(tf.sequential({ layers: [tf.layers.dense({ inputShape: [1], units: 10 })] }));
  const intLabels = tf.tensor1d(Array.from({ length: 64 }, (_, i) => (i * 7) % 10), "int32");
  let counted = 0;
  const correctTfjs = () => { counted += task.correct(intLabels, logits).dataSync()[0]; return []; };
  const correctTsdl = () => { counted += task.countCorrect(intLabels, logits); return []; };
  const chain = 200;
  const emptyPlain = () => tf.tidy(() => {
    let t = h2;
    for (let i = 0; i < chain; i++) t = tf.engine().runKernel(tf.Identity, { x: t }) as tf.Tensor;
    return t.clone();
  });
  const emptyRecorded = () => tf.grad((t: tf.Tensor) => {
    for (let i = 0; i < chain; i++) t = tf.engine().runKernel(tf.Identity, { x: t }) as tf.Tensor;
    return t;
  })(h2);
  // A kernel whose gradient keeps both inputs (as dropout's Multiply does), recorded.
  const small = tf.randomNormal([64, 10], 1, 0.01, "float32", 8);
  const factor = tf.randomNormal([64, 10], 1, 0.01, "float32", 9);
  const savingRecorded = () => tf.grad((t: tf.Tensor) => {
    for (let i = 0; i < chain; i++) t = tf.mul(t, factor);
    return t;
  })(small);

  const CASES: Case[] = [
    { label: "dropout forward [64,256] (mask + multiply)", reps: 20, bytes: 64 * 256 * 4 * 3, tfjs: () => tfjsOwn(dropout(h1)), tsdl: dropout(h1) },
    { label: "dropout forward [64,128]", reps: 20, bytes: 64 * 128 * 4 * 3, tfjs: () => tfjsOwn(dropout(h2)), tsdl: dropout(h2) },
    { label: "ReLU gradient [64,256]", reps: 50, bytes: 64 * 256 * 4 * 3, tfjs: reluGradTfjs, tsdl: reluGradTsdl },
    { label: "ReLU + bias gradient [64,256] (dz, db)", reps: 50, bytes: (64 * 256 * 3 + 256) * 4, tfjs: reluBiasGradTfjs, tsdl: reluBiasGradTsdl },
    { label: "correct predictions of [64,10] logits, read back", reps: 50, tfjs: correctTfjs, tsdl: correctTsdl },
    { label: "dense 784→256 ReLU, forward + backward (dW, db)", reps: 5, flops: denseFlops, tfjs: () => tfjsOwn(dense), tsdl: dense },
    { label: "softmax cross-entropy [64,10], forward + backward", reps: 20, tfjs: () => tfjsOwn(loss), tsdl: loss },
    { label: `an empty kernel (Identity), per call, ${chain} in a row`, reps: 5, tfjs: emptyPlain, tsdl: emptyPlain },
    { label: "the same while gradients are recorded (forward + backward)", reps: 5, tfjs: emptyRecorded, tsdl: emptyRecorded },
    { label: "Multiply [64,10] recorded, per call (2 saved inputs; tfjs's clones vs tape.ts)", reps: 5, tfjs: () => tfjsOwn(savingRecorded), tsdl: savingRecorded },
  ];
  const perCall = (c: Case) => (c.label.startsWith("an empty") || c.label.startsWith("the same") || c.label.startsWith("Multiply") ? chain : 1);

  const results = new Rounds();
  for (let r = 0; r <= rounds; r++) {
    for (const c of CASES) {
      for (const who of ["tfjs", "tsdl"] as const) {
        const t = performance.now();
        for (let i = 0; i < c.reps; i++) tf.dispose(c[who]());
        const us = ((performance.now() - t) * 1000) / c.reps / perCall(c);
        if (r > 0) results.add(`${who} ${c.label}`, us); // round 0 warms up
      }
    }
  }
  const rate = (c: Case, us: number) => (c.flops ? `${(c.flops / us / 1e3).toFixed(1)} GFLOP/s` : c.bytes ? `${(c.bytes / us / 1e3).toFixed(1)} GB/s` : "");
  console.log(
    table(
      ["", "tfjs's ops µs", "tsdl µs", "tfjs's ops rate", "tsdl rate", "speed-up"],
      CASES.map((c) => {
        const [s, t] = (["tfjs", "tsdl"] as const).map((who) => results.best(`${who} ${c.label}`));
        const same = c.tfjs === c.tsdl;
        return [c.label, s.toFixed(1), same ? "" : t.toFixed(1), rate(c, s), same ? "" : rate(c, t), same ? "" : (s / t).toFixed(1) + "×"];
      }),
    ),
  );
  if (!(counted > 0)) throw new Error(`the accuracy cases counted ${counted} correct predictions`);
  console.log("Bytes: inputs read and outputs written once (dropout: x, mask, y; ReLU gradient: dy, x, dx; with the bias: and db). Dense: 2 products of 25.7 MFLOP (forward x·W, backward xᵀ·dy).");
  console.log(`${loadLine()} at end`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
