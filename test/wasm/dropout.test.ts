/**
 * tsdl's dropout mask and ReLU gradient (src/wasm/dropout.ts, masks.ts): the mask kernel draws
 * seedrandom's Alea numbers bit for bit, `tf.dropout` gives the very values and gradients tfjs's
 * own code gives (on wasm and on `cpu`) for the same seed, on odd shapes (batch 1, sizes that are
 * not a multiple of 4); ReLU's gradient matches tfjs's Step·Multiply, NaN, ±0 and ±∞ included;
 * anything the fast path does not cover falls through to tfjs; and a seeded training run of a
 * `dl.models.mlp` with dropout ends with the same weights either way (with dense.ts's fused
 * layers too). Both kernels run on the
 * calling thread, so the thread count does not enter.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import seedrandom from "seedrandom";
import {
  DROPOUT_MASK_KERNEL, RELU_GRAD_KERNEL, installFastDropout, installFusedDense, registerTsdlKernels, uninstallFastDropout,
  uninstallFusedDense,
} from "../../src/wasm";
import { aleaState } from "../../src/wasm/dropout";
import { mlp } from "../../src/models";
import { fit } from "../../src/train";
import { assertBits, randn } from "../helpers/compare-backends";

const rand = randn(20261201);

before(async () => {
  require("@tensorflow/tfjs-backend-wasm");
  registerTsdlKernels("wasm");
  await tf.setBackend("wasm");
});

/** Runs `f` with tfjs's own dropout and ReLU gradient, then puts tsdl's back. */
function withTfjsOwn<T>(f: () => T): T {
  uninstallFastDropout();
  try {
    return f();
  } finally {
    installFastDropout();
  }
}

test("the mask kernel draws seedrandom's Alea numbers and makes tfjs's mask from them, bit for bit", () => {
  // The kernel runs Alea as integers: its state must be whole multiples of 2⁻³² (masks.ts).
  for (const seed of [1, "abc", 0.123, Math.random()]) {
    const { s0, s1, s2, c } = aleaState(seed);
    for (const v of [s0, s1, s2]) assert.ok(Number.isInteger(v * 2 ** 32) && v >= 0 && v < 1, `state ${v} of seed ${seed}`);
    assert.equal(c, 1);
  }
  for (const [count, rate, seed] of [[1, 0.5, 1], [3, 0.1, 7], [5, 0.25, "abc"], [1027, 0.9, 123456789], [16384, 0.5, 0.5]] as const) {
    const keep = 1 - rate;
    const random = seedrandom.alea(String(seed));
    const expected = new Float32Array(count);
    const k = Math.fround(keep);
    for (let i = 0; i < count; i++) expected[i] = Math.fround(Math.floor(Math.fround(Math.fround(random()) + k)) / k);
    const mask = tf.engine().runKernel(DROPOUT_MASK_KERNEL, {}, { shape: [count], ...aleaState(seed), keepProb: keep } as unknown as tf.NamedAttrMap) as tf.Tensor;
    const got = mask.dataSync() as Float32Array;
    mask.dispose();
    assertBits(got, expected, `count ${count} rate ${rate} seed ${seed}`);
    // A mask that ignored the stream would not keep about `keep` of the values.
    if (count > 1000) assert.ok(Math.abs(got.filter((v) => v > 0).length / count - keep) < 0.03, "share kept");
  }
});

const cases: { shape: number[]; rate: number; seed?: number | string }[] = [
  { shape: [64, 256], rate: 0.5, seed: 1 },
  { shape: [1, 5], rate: 0.5, seed: 42 },
  { shape: [3, 7, 5], rate: 0.3, seed: "s" },
  { shape: [2, 129], rate: 0.9, seed: 0 },
  { shape: [7], rate: 0.01, seed: 2 ** 31 - 1 },
];

for (const c of cases) {
  test(`tf.dropout [${c.shape}] rate ${c.rate} seed ${JSON.stringify(c.seed)}: values and gradient as tfjs's own, on wasm and cpu`, async () => {
    const size = c.shape.reduce((p, d) => p * d, 1);
    const data = rand(size);
    const dyData = rand(size);
    const run = () => tf.tidy(() => {
      const x = tf.tensor(data, c.shape);
      const dy = tf.tensor(dyData, c.shape);
      const y = tf.dropout(x, c.rate, undefined, c.seed);
      const dx = tf.grad((x: tf.Tensor) => tf.dropout(x, c.rate, undefined, c.seed))(x, dy);
      return [y.dataSync() as Float32Array, dx.dataSync() as Float32Array];
    });
    await tf.setBackend("wasm");
    const profile = await tf.profile(() => { run(); });
    assert.ok(profile.kernelNames.includes(DROPOUT_MASK_KERNEL), `the fast path ran (kernels: ${profile.kernelNames.join(", ")})`);
    assert.ok(!profile.kernelNames.includes("Floor"), "tfjs's Floor did not run");
    const [y, dx] = run();
    const [y0, dx0] = withTfjsOwn(run);
    assertBits(y, y0, "output vs tfjs on wasm");
    assertBits(dx, dx0, "gradient vs tfjs on wasm");
    await tf.setBackend("cpu");
    const [yc, dxc] = run();
    assertBits(y, yc, "output vs cpu");
    assertBits(dx, dxc, "gradient vs cpu");
    await tf.setBackend("wasm");
    // Dropped values are 0, kept ones x / keep.
    const keep = Math.fround(1 - c.rate);
    y.forEach((v, i) => assert.ok(v === 0 || v === Math.fround(data[i] * Math.fround(1 / keep)), `element ${i}: ${v} from ${data[i]}`));
  });
}

test("tf.dropout without a seed draws a fresh mask each call; what the fast path leaves out runs tfjs's code", async () => {
  await tf.setBackend("wasm");
  const x = tf.ones([4, 100]);
  const a = tf.dropout(x, 0.5).dataSync();
  const b = tf.dropout(x, 0.5).dataSync();
  assert.notDeepEqual(Array.from(a), Array.from(b));
  // A noise shape other than x's (one mask per column, shared down the rows): tfjs's path.
  const shaped = tf.dropout(x, 0.5, [1, 100], 3);
  const shapedOwn = withTfjsOwn(() => tf.dropout(x, 0.5, [1, 100], 3));
  assertBits(shaped.dataSync() as Float32Array, shapedOwn.dataSync() as Float32Array, "noise shape [1, 100]");
  // Rate 0 returns a copy; bad input gets tfjs's own errors.
  assertBits(tf.dropout(x, 0, undefined, 1).dataSync() as Float32Array, x.dataSync() as Float32Array, "rate 0");
  assert.throws(() => tf.dropout(tf.ones([2], "int32"), 0.5), /x has to be a floating point tensor since it's going to be scaled, but got a int32 tensor instead/);
  assert.throws(() => tf.dropout(x, 1.5), /rate must be a float in the range \[0, 1\), but got 1.5/);
  tf.dispose([x, shaped, shapedOwn]);
});

test("ReLU's gradient: one kernel, bit for bit as tfjs's Step·Multiply on wasm and cpu, NaN and ±0 and ±∞ included", async () => {
  const special = [NaN, 0, -0, Infinity, -Infinity, 1e-45, -1e-45, 3, -3];
  for (const shape of [[1, 3], [5, 7], [64, 129], [special.length]]) {
    const size = shape.reduce((p, d) => p * d, 1);
    const data = size === special.length ? Float32Array.from(special) : rand(size);
    const dyData = rand(size);
    if (size === special.length) dyData.set([1, -2, 3, -0, Infinity, -1, 2, NaN, -Infinity]);
    const run = () => tf.tidy(() => tf.grad((x: tf.Tensor) => tf.relu(x))(tf.tensor(data, shape), tf.tensor(dyData, shape)).dataSync() as Float32Array);
    await tf.setBackend("wasm");
    const profile = await tf.profile(() => { run(); });
    assert.ok(profile.kernelNames.includes(RELU_GRAD_KERNEL), `the fused gradient ran (kernels: ${profile.kernelNames.join(", ")})`);
    assert.ok(!profile.kernelNames.includes("Step"), "tfjs's Step did not run");
    const got = run();
    assertBits(got, withTfjsOwn(run), `[${shape}] vs tfjs on wasm`);
    await tf.setBackend("cpu");
    assertBits(got, run(), `[${shape}] vs cpu`);
    await tf.setBackend("wasm");
  }
});

test("a seeded dl.train.fit of an MLP with dropout ends with the same weights as with tfjs's own dropout, ReLU gradient and unfused dense layers", async () => {
  await tf.setBackend("wasm");
  const n = 96;
  const x = tf.tensor(rand(n * 20), [n, 20]);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: n }, (_, i) => i % 3), "int32"), 3).toFloat();
  const train = async () => {
    const model = mlp({ inputs: 20, hidden: [13, 6], outputs: 3, dropout: 0.5, seed: 5 });
    const history = await fit(model, { x, y }, { epochs: 2, batchSize: 16, seed: 9, learningRate: 0.01, verbose: false });
    const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
    model.dispose();
    return { weights, loss: history.epochs.map((e) => e.loss) };
  };
  const fast = await train();
  uninstallFastDropout();
  uninstallFusedDense();
  let own: Awaited<ReturnType<typeof train>>;
  try {
    own = await train();
  } finally {
    installFastDropout();
    installFusedDense();
  }
  assert.deepEqual(fast.loss, own.loss);
  fast.weights.forEach((w, i) => assertBits(w, own.weights[i], `weight ${i}`));
  tf.dispose([x, y]);
});
