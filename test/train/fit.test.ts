import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend";
import * as dl from "../../src";
import { blobs } from "../helpers/toy";
import { tempDir } from "../helpers/tmpdir";

const quiet = { reporter: "none" } as const;

test("a tiny MLP fits a small separable problem to ≥ 95% on held-out data", async () => {
  await initBackend();
  const train = blobs(300, { k: 3, dims: 2, seed: 1 });
  const held = blobs(150, { k: 3, dims: 2, seed: 2 });
  const model = dl.models.mlp({ inputs: 2, hidden: [16], outputs: 3, dropout: 0, seed: 1 });
  const before = dl.train.evaluate(model, held);
  const history = await dl.train.fit(model, train, { epochs: 15, batchSize: 16, learningRate: 0.01, seed: 1, ...quiet });
  const after = dl.train.evaluate(model, held);
  assert.ok(after.accuracy >= 0.95, `held-out accuracy ${after.accuracy}`);
  assert.ok(before.accuracy < 0.8, `an untrained model should not already score ${before.accuracy}`);
  assert.ok(history.last!.accuracy >= 0.95);
  // evaluate agrees with predictClasses + accuracy computed by hand.
  const pred = dl.train.predictClasses(model, held.x);
  const byHand = pred.reduce((s, p, i) => s + (p === held.labels[i] ? 1 : 0), 0) / pred.length;
  assert.equal(after.accuracy, byHand);
  assert.equal(dl.train.accuracy(held.labels, pred), byHand);
  tf.dispose([train.x, train.y, held.x, held.y]);
  model.dispose();
});

test("the history has one entry per epoch with loss, accuracy, validation figures, time; it renders as chart and table", async () => {
  await initBackend();
  const data = blobs(200, { seed: 3 });
  const model = dl.models.mlp({ inputs: 2, hidden: [8], outputs: 3, dropout: 0, seed: 2 });
  const h = await dl.train.fit(model, data, { epochs: 4, batchSize: 32, validation: 0.25, seed: 9, learningRate: 0.02, ...quiet });
  assert.equal(h.epochs.length, 4);
  assert.deepEqual(h.epochs.map((e) => e.epoch), [1, 2, 3, 4]);
  for (const e of h.epochs) {
    for (const k of ["loss", "accuracy", "lastBatchLoss", "valLoss", "valAccuracy", "time"] as const) {
      assert.ok(Number.isFinite(e[k]), `epoch ${e.epoch} ${k} = ${e[k]}`);
    }
    assert.equal(e.samples, 150, "75% of 200 examples train, 25% validate");
    assert.ok(e.accuracy >= 0 && e.accuracy <= 1 && e.valAccuracy! >= 0 && e.valAccuracy! <= 1);
    assert.ok(e.time > 0);
  }
  assert.ok(h.loss[3] < h.loss[0], `loss falls: ${h.loss}`);
  assert.equal(h.valLoss.length, 4);
  assert.deepEqual(h.info, { seed: 9, epochsPlanned: 4, batchSize: 32, optimizer: "adam", learningRate: 0.02, loss: "softmaxCrossEntropy", backend: tf.getBackend() });
  const bundle = dl.toBundle(h);
  assert.match(bundle["text/plain"] as string, /epoch\s+loss\s+accuracy\s+val loss\s+val accuracy\s+time/);
  assert.equal((bundle["text/plain"] as string).split("\n").filter((l) => /^\s+\d\s/.test(l)).length, 4, "one row per epoch");
  assert.match(bundle["text/html"] as string, /<svg[\s\S]*<table/);
  const chart = h.chart().toJSON();
  const lossTrain = chart.data.find((t) => t.name === "train" && t.xaxis === "x")!;
  assert.deepEqual(lossTrain.y, h.loss);
  assert.deepEqual(JSON.parse(JSON.stringify(h)).epochs.length, 4);
  tf.dispose([data.x, data.y]);
  model.dispose();
});

test("no tensor leaks: the tensor count is the same after every epoch and back to the start after fit", async () => {
  await initBackend();
  const data = blobs(120, { seed: 4 });
  const model = dl.models.mlp({ inputs: 2, hidden: [8, 8], outputs: 3, dropout: 0.2, l2: 1e-3, seed: 3 });
  const start = tf.memory().numTensors;
  const counts: number[] = [];
  await dl.train.fit(model, data, {
    epochs: 4, batchSize: 16, validation: 0.2, seed: 1, ...quiet,
    earlyStopping: { patience: 10 },
    onEpochEnd: () => void counts.push(tf.memory().numTensors),
  });
  // Epoch 1 takes the first early-stopping snapshot; later improvements replace it.
  assert.equal(new Set(counts).size, 1, `tensor counts per epoch: ${counts}`);
  assert.equal(tf.memory().numTensors, start, "fit leaves no tensors behind");
  tf.dispose([data.x, data.y]);
  model.dispose();
});

test("every optimizer by name leaves no tensors behind (tfjs's momentum optimizer alone would leak one)", async () => {
  await initBackend();
  const data = blobs(60, { seed: 5 });
  for (const optimizer of Object.keys(dl.train.DEFAULT_LEARNING_RATES) as dl.train.OptimizerName[]) {
    const model = dl.models.mlp({ inputs: 2, hidden: [4], outputs: 3, dropout: 0, seed: 1 });
    const start = tf.memory().numTensors;
    await dl.train.fit(model, data, { epochs: 1, batchSize: 20, optimizer, seed: 1, ...quiet });
    assert.equal(tf.memory().numTensors, start, `fit with optimizer "${optimizer}" leaves no tensors behind`);
    model.dispose();
  }
  tf.dispose([data.x, data.y]);
});

test("seeded runs give identical histories; another seed gives another", async () => {
  await initBackend();
  const data = blobs(160, { seed: 5, spread: 1.2 });
  const run = async (fitSeed: number) => {
    const model = dl.models.mlp({ inputs: 2, hidden: [12, 8], outputs: 3, dropout: 0.5, seed: 11 });
    const h = await dl.train.fit(model, data, { epochs: 3, batchSize: 16, validation: 0.25, seed: fitSeed, learningRate: 0.01, ...quiet });
    const weights = model.getWeights().map((w) => Array.from(w.dataSync()));
    const dropoutSeeds = model.layers.filter((l) => l.getClassName() === "Dropout").map((l) => (l.getConfig() as { seed?: number }).seed);
    model.dispose();
    return { figures: h.epochs.map(({ time: _t, ...rest }) => rest), weights, dropoutSeeds };
  };
  const a = await run(7);
  const b = await run(7);
  const c = await run(8);
  assert.deepEqual(a.figures, b.figures);
  assert.deepEqual(a.weights, b.weights);
  assert.notDeepEqual(a.figures.map((e) => e.loss), c.figures.map((e) => e.loss));
  assert.deepEqual(a.dropoutSeeds, [undefined, undefined], "fit puts the layers' own dropout seeds back");
  tf.dispose([data.x, data.y]);
});

test("integer labels train bit for bit as the same labels given as one-hot rows; their one-hot rows are made once, not per step", async () => {
  await initBackend();
  const data = blobs(160, { seed: 6, spread: 1.2 });
  const oneHot = tf.tidy(() => tf.oneHot(data.y as tf.Tensor1D, 3).toFloat());
  const run = async (y: tf.Tensor) => {
    const model = dl.models.mlp({ inputs: 2, hidden: [12, 8], outputs: 3, dropout: 0.5, seed: 11 });
    let h: dl.train.History | undefined;
    const profile = await tf.profile(async () => {
      h = await dl.train.fit(model, { x: data.x, y }, { epochs: 2, batchSize: 16, seed: 3, learningRate: 0.01, ...quiet });
    });
    const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
    model.dispose();
    return { figures: h!.epochs.map(({ time: _t, ...rest }) => rest), weights, oneHots: profile.kernels.filter((k) => k.name === "OneHot").length };
  };
  assert.equal(data.y.rank, 1);
  const labels = await run(data.y);
  const rows = await run(oneHot);
  assert.deepEqual(labels.figures, rows.figures);
  labels.weights.forEach((w, i) => assert.deepEqual(Array.from(w), Array.from(rows.weights[i]), `weight ${i}`));
  assert.ok(labels.figures[1].loss < labels.figures[0].loss, "it trained");
  // 20 steps: one OneHot for the whole training set (before: one per step); none for given rows.
  assert.equal(labels.oneHots, 1, "OneHot kernels in a fit on integer labels");
  assert.equal(rows.oneHots, 0, "OneHot kernels in a fit on one-hot rows");
  tf.dispose([data.x, data.y, oneHot]);
});

test("dropout draws a new mask at every step even though each step is seeded", async () => {
  await initBackend();
  // One example, one weight per input, dropout on the input: if the mask repeated at every step,
  // the same half of the weights would never be trained. With fresh masks every weight moves.
  const model = tf.sequential({
    layers: [
      tf.layers.dropout({ rate: 0.5, inputShape: [32] }),
      tf.layers.dense({ units: 1, useBias: false, kernelInitializer: "zeros", activation: "sigmoid" }),
    ],
  });
  const x = tf.ones([1, 32]);
  const y = tf.ones([1]);
  await dl.train.fit(model, { x, y }, { epochs: 16, batchSize: 1, seed: 1, optimizer: "sgd", learningRate: 0.1, ...quiet });
  const w = Array.from(model.getWeights()[0].dataSync());
  assert.ok(w.every((v) => v !== 0), `every weight was trained at some step: ${w.map((v) => v.toFixed(3))}`);
  assert.ok(new Set(w.map((v) => v.toFixed(5))).size > 2, "weights trained in different numbers of steps differ");
  tf.dispose([x, y]);
  model.dispose();
});

test("early stopping stops after `patience` epochs without improvement and restores the best weights", async () => {
  await initBackend();
  const train = blobs(150, { k: 2, seed: 6 });
  // The validation labels are the training rule inverted: the better the model learns, the
  // worse its validation loss, so the best epoch is the first and training stops at 1 + patience.
  const v = blobs(60, { k: 2, seed: 7 });
  const flipped = tf.sub(1, v.y).toInt();
  const model = dl.models.mlp({ inputs: 2, hidden: [8], outputs: 2, dropout: 0, seed: 4 });
  const h = await dl.train.fit(model, train, {
    epochs: 30, batchSize: 16, seed: 2, learningRate: 0.02, validation: { x: v.x, y: flipped },
    earlyStopping: { monitor: "val_loss", patience: 2 }, ...quiet,
  });
  assert.equal(h.bestEpoch, 1);
  assert.equal(h.stoppedEpoch, 3);
  assert.equal(h.epochs.length, 3);
  assert.equal(h.restoredEpoch, 1);
  const now = dl.train.evaluate(model, { x: v.x, y: flipped });
  assert.ok(Math.abs(now.loss - h.epochs[0].valLoss!) < 1e-5, `restored val loss ${now.loss} vs epoch 1's ${h.epochs[0].valLoss}`);
  assert.match(h.toString(), /early stopping after epoch 3; weights restored from epoch 1/);

  // Without restoreBest the model keeps its last weights.
  const m2 = dl.models.mlp({ inputs: 2, hidden: [8], outputs: 2, dropout: 0, seed: 4 });
  const h2 = await dl.train.fit(m2, train, {
    epochs: 30, batchSize: 16, seed: 2, learningRate: 0.02, validation: { x: v.x, y: flipped },
    earlyStopping: { monitor: "val_loss", patience: 2, restoreBest: false }, ...quiet,
  });
  assert.equal(h2.restoredEpoch, undefined);
  assert.ok(Math.abs(dl.train.evaluate(m2, { x: v.x, y: flipped }).loss - h2.last!.valLoss!) < 1e-5);
  await assert.rejects(dl.train.fit(m2, train, { earlyStopping: { monitor: "val_accuracy" }, ...quiet }), /earlyStopping monitors val_accuracy, but there is no validation set/);
  tf.dispose([train.x, train.y, v.x, v.y, flipped]);
  model.dispose();
  m2.dispose();
});

test("checkpoints save after every epoch, or only when the monitored metric improves", async () => {
  await initBackend();
  const train = blobs(120, { k: 2, seed: 11 });
  const v = blobs(40, { k: 2, seed: 12 });
  const flipped = tf.sub(1, v.y).toInt();
  const every = tempDir();
  const best = tempDir();
  const m = dl.models.mlp({ inputs: 2, hidden: [8], outputs: 2, dropout: 0, seed: 4 });
  const saves: number[] = [];
  const h = await dl.train.fit(m, train, {
    epochs: 3, batchSize: 16, seed: 2, learningRate: 0.02, validation: { x: v.x, y: flipped }, checkpoint: every, ...quiet,
    onEpochEnd: async (log) => {
      const loaded = await dl.train.load(every);
      // The checkpoint written after this epoch holds this epoch's weights.
      saves.push(dl.train.evaluate(loaded, { x: v.x, y: flipped }).loss - log.valLoss!);
      loaded.dispose();
    },
  });
  assert.equal(saves.length, 3);
  assert.ok(saves.every((d) => Math.abs(d) < 1e-5), `checkpoint vs epoch val loss: ${saves}`);
  // Best only, on the inverted validation set: epoch 1 is the best, so the checkpoint keeps it.
  const m2 = dl.models.mlp({ inputs: 2, hidden: [8], outputs: 2, dropout: 0, seed: 4 });
  const h2 = await dl.train.fit(m2, train, {
    epochs: 3, batchSize: 16, seed: 2, learningRate: 0.02, validation: { x: v.x, y: flipped },
    checkpoint: { dir: best, saveBestOnly: true, monitor: "val_loss" }, ...quiet,
  });
  const kept = await dl.train.load(best);
  assert.ok(Math.abs(dl.train.evaluate(kept, { x: v.x, y: flipped }).loss - h2.epochs[0].valLoss!) < 1e-5);
  assert.ok(h2.epochs[2].valLoss! > h2.epochs[0].valLoss!, "later epochs are worse on the inverted set");
  assert.equal(h.epochs.length, 3);
  tf.dispose([train.x, train.y, v.x, v.y, flipped]);
  [m, m2, kept].forEach((x) => x.dispose());
});

test("L2 regularization shrinks the weights; every optimizer by name lowers the loss", async () => {
  await initBackend();
  const data = blobs(150, { seed: 8 });
  const norm = (m: tf.LayersModel) => m.getWeights().filter((w) => w.rank === 2).reduce((s, w) => s + Array.from(w.dataSync()).reduce((a, v) => a + v * v, 0), 0);
  const plain = dl.models.mlp({ inputs: 2, hidden: [16], outputs: 3, dropout: 0, seed: 5 });
  const l2 = dl.models.mlp({ inputs: 2, hidden: [16], outputs: 3, dropout: 0, seed: 5, l2: 0.05 });
  const opts = { epochs: 8, batchSize: 16, seed: 3, learningRate: 0.02, ...quiet };
  await dl.train.fit(plain, data, opts);
  await dl.train.fit(l2, data, opts);
  assert.ok(norm(l2) < 0.7 * norm(plain), `Σw² with L2 ${norm(l2)} vs without ${norm(plain)}`);
  for (const optimizer of ["adam", "sgd", "momentum", "adagrad", "rmsprop"] as const) {
    const m = dl.models.mlp({ inputs: 2, hidden: [8], outputs: 3, dropout: 0, seed: 6 });
    const h = await dl.train.fit(m, data, { epochs: 4, batchSize: 16, seed: 1, optimizer, learningRate: optimizer === "sgd" || optimizer === "adagrad" ? 0.1 : undefined, ...quiet });
    assert.equal(h.info.optimizer, optimizer);
    assert.ok(h.loss[3] < h.loss[0], `${optimizer}: ${h.loss}`);
    m.dispose();
  }
  await assert.rejects(dl.train.fit(plain, data, { optimizer: "lbfgs" as never, ...quiet }), /unknown optimizer "lbfgs"; expected "adam", "sgd"/);
  // A tfjs optimizer object is used as is and not disposed.
  const own = tf.train.sgd(0.05);
  const h = await dl.train.fit(plain, data, { epochs: 1, optimizer: own, ...quiet });
  assert.equal(h.info.optimizer, "SGD");
  await dl.train.fit(plain, data, { epochs: 1, optimizer: own, ...quiet });
  tf.dispose([data.x, data.y]);
  plain.dispose();
  l2.dispose();
});

test("the perceptron learns a separable binary problem with binary cross-entropy on its sigmoid output", async () => {
  await initBackend();
  const d = blobs(200, { k: 2, seed: 9 });
  const p = dl.models.perceptron({ inputs: 2, seed: 1 });
  const h = await dl.train.fit(p, { x: d.x, y: d.y.toFloat() }, { epochs: 10, batchSize: 20, learningRate: 0.05, seed: 1, ...quiet });
  assert.equal(h.info.loss, "binaryCrossEntropy");
  assert.ok(h.last!.accuracy >= 0.95, `accuracy ${h.last!.accuracy}`);
  const mse = await dl.train.fit(dl.models.perceptron({ inputs: 2, seed: 1 }), { x: d.x, y: d.y }, { epochs: 2, loss: "meanSquaredError", ...quiet });
  assert.equal(mse.info.loss, "meanSquaredError");
  tf.dispose([d.x, d.y]);
});

test("augment is applied to every training batch and never to validation; a shape change is an error", async () => {
  await initBackend();
  const d = blobs(100, { seed: 10 });
  const model = dl.models.mlp({ inputs: 2, hidden: [4], outputs: 3, dropout: 0, seed: 1 });
  const sizes: number[] = [];
  const augment = (x: tf.Tensor) => {
    sizes.push(x.shape[0]);
    return x.add(0.01);
  };
  await dl.train.fit(model, d, { epochs: 2, batchSize: 32, validation: 0.2, augment, seed: 1, ...quiet });
  assert.deepEqual(sizes, [32, 32, 16, 32, 32, 16], "80 training examples in batches of 32, twice");
  await assert.rejects(
    dl.train.fit(model, d, { epochs: 1, batchSize: 32, augment: (x) => x.slice([0, 0], [2, 2]), ...quiet }),
    /augment returned shape \[2, 2\] for a batch of shape \[32, 2\]; it must keep the shape/,
  );
  tf.dispose([d.x, d.y]);
  model.dispose();
});

test("bad data is a clear error naming the shapes", async () => {
  await initBackend();
  const model = dl.models.mlp({ inputs: 4, hidden: [3], outputs: 3, dropout: 0 });
  const x = tf.zeros([10, 5]);
  const y = tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1, 2, 0], "int32");
  await assert.rejects(dl.train.fit(model, { x, y }, quiet), /fit: the model takes inputs of shape \[batch, 4\], found x of shape \[10, 5\]/);
  const x4 = tf.zeros([10, 4]);
  await assert.rejects(dl.train.fit(model, { x: x4, y: y.slice(0, 9) }, quiet), /x has 10 examples \(shape \[10, 4\]\) but y has 9/);
  await assert.rejects(dl.train.fit(model, { x: x4, y: y.add(1).toInt() }, quiet), /label 3 at index 2 is outside 0\.\.2 \(the model has 3 outputs\)/);
  await assert.rejects(dl.train.fit(model, { x: x4, y }, { epochs: 0, ...quiet }), /epochs must be an integer ≥ 1, found 0/);
  await assert.rejects(dl.train.fit(model, { x: x4 } as never, quiet), /expected \{ x: tf\.Tensor, y: tf\.Tensor \} or a data set from dl\.data/);
  const xNaN = tf.fill([10, 4], NaN);
  const weightsBefore = model.getWeights().map((w) => Array.from(w.dataSync()));
  await assert.rejects(dl.train.fit(model, { x: xNaN, y }, { batchSize: 4, ...quiet }), /the loss became NaN at epoch 1, batch 1; the learning rate \(0\.001\) may be too high, or the inputs are not normalized/);
  assert.deepEqual(model.getWeights().map((w) => Array.from(w.dataSync())), weightsBefore, "a NaN batch does not update the weights");
  tf.dispose([x, y, x4, xNaN]);
  model.dispose();
});

test("MNIST from dl.data trains end to end (the article's normalization, a small slice)", async () => {
  await initBackend();
  const train = dl.data.loadMnist({ split: "train", limit: 2000 });
  const testSet = dl.data.loadMnist({ split: "test", limit: 500 });
  const model = dl.models.mlp({ hidden: [64], dropout: 0.2, seed: 1 });
  const start = tf.memory().numTensors;
  const h = await dl.train.fit(model, train, { epochs: 4, batchSize: 64, seed: 1, validation: testSet, ...quiet });
  assert.equal(tf.memory().numTensors, start, "tensors made from the data sets are disposed");
  assert.ok(h.last!.valAccuracy! >= 0.8, `test accuracy after 4 epochs on 2000 images: ${h.last!.valAccuracy}`);
  const ev = dl.train.evaluate(model, testSet);
  assert.equal(ev.accuracy, h.last!.valAccuracy);
  // The README's walk from predictions to metrics, on the data set itself.
  const pred = dl.train.predictClasses(model, testSet);
  const cm = dl.train.confusionMatrix(testSet.labels, pred, { classNames: testSet.classNames });
  assert.equal(cm.accuracy, ev.accuracy);
  const firstWrong = pred.findIndex((p, i) => p !== testSet.labels[i]);
  const grid = dl.train.misclassified(testSet, pred, { limit: 5 });
  assert.equal(grid.options.captions![0], `${testSet.labels[firstWrong]} → ${pred[firstWrong]}`);
  assert.equal(grid.length, 5);
  model.dispose();
});
