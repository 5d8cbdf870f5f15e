import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend";
import * as dl from "../../src";
import { toBundle } from "../../src/display";
import { PLOTLY_MIME, type Trace } from "../../src/plot";

// 10 examples, 3 classes. Class 2 is never predicted; one class-0 example is predicted as 1, two
// class-2 examples as 0 and 1.
const yTrue = [0, 0, 0, 0, 1, 1, 1, 2, 2, 1];
const yPred = [0, 0, 0, 1, 1, 1, 1, 0, 1, 1];

test("confusion matrix counts (true, predicted) pairs; precision and recall per class", () => {
  const cm = dl.train.confusionMatrix(yTrue, yPred, { classNames: ["zero", "one", "two"] });
  assert.deepEqual(cm.counts, [
    [3, 1, 0],
    [0, 4, 0],
    [1, 1, 0],
  ]);
  assert.equal(cm.total, 10);
  assert.equal(cm.accuracy, 0.7);
  assert.equal(dl.train.accuracy(yTrue, yPred), 0.7);
  const s = cm.scores();
  assert.deepEqual(s.map((c) => c.className), ["zero", "one", "two"]);
  assert.equal(s[0].precision, 3 / 4);
  assert.equal(s[0].recall, 3 / 4);
  assert.equal(s[1].precision, 4 / 6);
  assert.equal(s[1].recall, 1);
  assert.ok(Number.isNaN(s[2].precision), "never predicted: precision undefined");
  assert.equal(s[2].recall, 0);
  assert.deepEqual(s.map((c) => c.support), [4, 4, 2]);
  assert.ok(Math.abs(s[1].f1 - (2 * (4 / 6) * 1) / (4 / 6 + 1)) < 1e-12);
  const report = cm.report().toText();
  assert.match(report, /zero\s+0\.750\s+0\.750\s+0\.750\s+4/);
  assert.match(report, /one\s+0\.667\s+1\.000\s+0\.800\s+4/);
  assert.match(report, /two\s+—\s+0\.000\s+—\s+2/);
  assert.match(report, /accuracy 70\.00% of 10 examples/);
  assert.match(toBundle(dl.train.classificationReport(yTrue, yPred))["text/html"] as string, /<table/);
});

test("the confusion matrix renders as a plotly heatmap with a value in every cell, row 0 at the top", () => {
  const cm = dl.train.confusionMatrix(tf.tensor1d(yTrue, "int32"), yPred);
  const bundle = toBundle(cm);
  const fig = bundle[PLOTLY_MIME] as { data: Trace[]; layout: Record<string, Record<string, unknown>> };
  assert.equal(fig.data[0].type, "heatmap");
  assert.deepEqual(fig.data[0].z, cm.counts);
  assert.deepEqual(fig.data[0].text, [["3", "1", "0"], ["0", "4", "0"], ["1", "1", "0"]]);
  assert.deepEqual(fig.data[0].x, ["0", "1", "2"]);
  assert.equal(fig.layout.yaxis.autorange, "reversed");
  assert.equal(fig.layout.xaxis.type, "category");
  // Empty cells light, full ones dark, in plotly and in the SVG fallback alike (plotly's named
  // "Blues" is dark at zero, so the scale must be explicit stops).
  const scale = fig.data[0].colorscale as [number, string][];
  assert.ok(Array.isArray(scale), `expected explicit colour stops, found ${JSON.stringify(scale)}`);
  const lightness = (hex: string) => parseInt(hex.slice(1, 3), 16) + parseInt(hex.slice(3, 5), 16) + parseInt(hex.slice(5, 7), 16);
  assert.ok(lightness(scale[0][1]) > 600 && lightness(scale[scale.length - 1][1]) < 200, `expected light at 0 and dark at 1, found ${JSON.stringify(scale)}`);
  assert.match(bundle["text/html"] as string, /<svg/);
  assert.match(bundle["text/plain"] as string, /Confusion matrix \(10 examples, accuracy 70\.00%\)\ntrue\\pred\s+0\s+1\s+2\n0\s+3\s+1\s+0/);
});

test("metric inputs are checked", () => {
  assert.throws(() => dl.train.confusionMatrix([0, 1], [0]), /2 true labels and 1 predictions/);
  assert.throws(() => dl.train.confusionMatrix([0, 5], [0, 1], { numClasses: 3 }), /label 5 is outside 0\.\.2 \(3 classes\)/);
  assert.throws(() => dl.train.confusionMatrix([0, 1.5], [0, 1]), /label 1\.5 at index 1 is not a class index/);
});

test("misclassified: a grid of the wrong predictions captioned 'true → predicted', from tensors or a data set", async () => {
  await initBackend();
  const n = yTrue.length;
  const pixels = new Uint8Array(n * 16).map((_, i) => (i * 37) % 256);
  const grid = dl.train.misclassified({ images: pixels, labels: yTrue, height: 4, width: 4, classNames: ["a", "b", "c"] }, yPred);
  assert.equal(grid.length, 3);
  assert.deepEqual(grid.options.captions, ["a → b", "c → a", "c → b"]);
  assert.match(grid.toText(), /Misclassified: 3 of 3 errors/);
  const bundle = toBundle(grid);
  assert.ok(typeof bundle["image/png"] === "string");
  assert.match(bundle["text/html"] as string, /c → a/);
  // From a tensor of flat images with labels given; limit caps the count.
  const x = tf.tensor2d(Array.from(pixels), [n, 16]);
  const two = dl.train.misclassified(x, tf.tensor1d(yPred, "int32"), { labels: yTrue, limit: 2 });
  assert.deepEqual(two.options.captions, ["0 → 1", "2 → 0"]);
  assert.match(two.toText(), /2 of 3 errors/);
  assert.throws(() => dl.train.misclassified(x, yTrue, { labels: yTrue }), /all 10 predictions are correct/);
  assert.throws(() => dl.train.misclassified(x, yPred), /no true labels/);
  x.dispose();
});

test("predictClasses and evaluate run in inference mode (dropout off) and in batches", async () => {
  await initBackend();
  const model = dl.models.mlp({ inputs: 3, hidden: [5], outputs: 4, dropout: 0.5, seed: 1 });
  const x = tf.randomNormal([25, 3], 0, 1, "float32", 1);
  const logits = tf.tidy(() => (model.predict(x) as tf.Tensor).arraySync() as number[][]);
  const argmax = logits.map((r) => r.indexOf(Math.max(...r)));
  assert.deepEqual(Array.from(dl.train.predictClasses(model, x, { batchSize: 7 })), argmax);
  const y = tf.tensor1d(argmax.map((c, i) => (i % 5 === 0 ? (c + 1) % 4 : c)), "int32");
  const ev = dl.train.evaluate(model, { x, y }, { batchSize: 4 });
  assert.equal(ev.accuracy, 20 / 25);
  // The loss is the mean softmax cross-entropy, computed here by hand.
  const yv = y.dataSync();
  const ce = logits.reduce((s, r, i) => {
    const m = Math.max(...r);
    const lse = m + Math.log(r.reduce((a, v) => a + Math.exp(v - m), 0));
    return s + lse - r[yv[i]];
  }, 0) / 25;
  assert.ok(Math.abs(ev.loss - ce) < 1e-5, `${ev.loss} vs ${ce}`);
  tf.dispose([x, y]);
  model.dispose();
});
