import { test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend";
import * as dl from "../../src";
import { registerHost, type MimeBundle, type NotebookHost } from "../../src/display";
import { PLOTLY_MIME, type Trace } from "../../src/plot";
import { blobs } from "../helpers/toy";

interface Sent {
  bundle: MimeBundle;
  displayId?: string;
  update?: boolean;
}

/** A notebook host that records what the kernel would send. */
function fakeHost(): { host: NotebookHost; sent: Sent[] } {
  const sent: Sent[] = [];
  return {
    sent,
    host: {
      display: (bundle, options) => void sent.push({ bundle: JSON.parse(JSON.stringify(bundle)), ...options }),
      input: async () => "",
    },
  };
}

test("in a notebook, fit shows ONE chart and ONE progress line and then only updates them", async () => {
  await initBackend();
  const { host, sent } = fakeHost();
  const data = blobs(96, { seed: 1 });
  const model = dl.models.mlp({ inputs: 2, hidden: [6], outputs: 3, dropout: 0, seed: 1 });
  registerHost(host);
  let history: dl.train.History;
  try {
    // 72 training examples in batches of 8: 9 batches; live updates every 4 → batches 4, 8 and 9.
    history = await dl.train.fit(model, data, { epochs: 3, batchSize: 8, validation: 0.25, liveEvery: 4, seed: 1 });
  } finally {
    registerHost(undefined);
  }
  const created = sent.filter((s) => !s.update);
  assert.equal(created.length, 2, `new outputs: ${created.map((s) => Object.keys(s.bundle)).join(" | ")}`);
  const [chart, progress] = created;
  assert.ok(chart.displayId && progress.displayId && chart.displayId !== progress.displayId);
  assert.ok(PLOTLY_MIME in chart.bundle, "the chart is a plotly figure");
  assert.match(progress.bundle["text/html"] as string, /<progress /);
  const updates = sent.filter((s) => s.update);
  assert.ok(updates.every((s) => s.displayId === chart.displayId || s.displayId === progress.displayId), "every update targets one of the two displays");
  const chartUpdates = updates.filter((s) => s.displayId === chart.displayId);
  const progressUpdates = updates.filter((s) => s.displayId === progress.displayId);
  // Per epoch: 3 batch updates + 1 epoch update; and one at the end.
  assert.equal(chartUpdates.length, 3 * (3 + 1) + 1);
  assert.equal(progressUpdates.length, 3 * (3 + 1) + 1);
  // Mid-epoch updates draw the running point at a fractional epoch.
  const mid = chartUpdates[0].bundle[PLOTLY_MIME] as { data: Trace[] };
  const midTrain = mid.data.find((t) => t.name === "train" && t.xaxis === "x")!;
  assert.deepEqual(midTrain.x, [4 / 9]);
  assert.match(progressUpdates[0].bundle["text/plain"] as string, /^epoch 1\/3 {2}batch 4\/9 {2}loss \d\.\d{4} {2}acc \d+\.\d\d%/);
  // The final chart holds every epoch, train and validation, in both panels.
  const last = chartUpdates[chartUpdates.length - 1].bundle[PLOTLY_MIME] as { data: Trace[]; layout: Record<string, unknown> };
  const trace = (name: string, axis: string) => last.data.find((t) => t.name === name && t.xaxis === axis)!;
  assert.deepEqual(trace("train", "x").y, history.loss);
  assert.deepEqual(trace("validation", "x").y, history.valLoss);
  assert.deepEqual(trace("train", "x2").y, history.accuracy);
  assert.deepEqual(trace("validation", "x2").y, history.valAccuracy);
  assert.deepEqual(trace("train", "x").x, [1, 2, 3]);
  assert.deepEqual((last.layout.xaxis as { range: number[] }).range, [0, 3], "the x axis spans the planned epochs from the start");
  assert.match(progressUpdates[progressUpdates.length - 1].bundle["text/plain"] as string, /^done: 3 epochs in [\d.]+ s; last epoch 3\/3/);
  tf.dispose([data.x, data.y]);
  model.dispose();
});

test("reporter 'none' (or verbose: false) shows nothing, even in a notebook", async () => {
  await initBackend();
  const { host, sent } = fakeHost();
  const data = blobs(30, { seed: 2 });
  const model = dl.models.mlp({ inputs: 2, hidden: [4], outputs: 3, dropout: 0 });
  registerHost(host);
  try {
    await dl.train.fit(model, data, { epochs: 2, reporter: "none" });
    await dl.train.fit(model, data, { epochs: 2, verbose: false });
  } finally {
    registerHost(undefined);
  }
  assert.equal(sent.length, 0);
  tf.dispose([data.x, data.y]);
  model.dispose();
});

test("live updates are throttled by time, and each epoch's last batch is always reported with the epoch's figures", async () => {
  await initBackend();
  const data = blobs(96, { seed: 4 });
  const seen: dl.train.BatchProgress[] = [];
  const recorder = (): dl.train.FitReporter => ({ start() {}, batch: (p) => void seen.push(p), epoch() {}, end() {} });
  const train = (options: dl.train.FitOptions) => {
    seen.length = 0;
    const model = dl.models.mlp({ inputs: 2, hidden: [6], outputs: 3, dropout: 0, seed: 1 });
    // 96 examples in batches of 8: 12 batches an epoch.
    return dl.train.fit(model, data, { epochs: 3, batchSize: 8, seed: 1, reporter: recorder(), ...options }).finally(() => model.dispose());
  };
  // An hour between updates: per epoch only its first update (batch 2) and its last batch.
  const h = await train({ liveEvery: 2, liveInterval: 3600 });
  assert.deepEqual(seen.map((p) => [p.epoch, p.batch]), [[1, 2], [1, 12], [2, 2], [2, 12], [3, 2], [3, 12]]);
  // The last report of each epoch holds that epoch's final running figures, as in the history.
  for (const e of h.epochs) {
    const last = seen.filter((p) => p.epoch === e.epoch).at(-1)!;
    assert.equal(last.batch, last.batches);
    assert.equal(last.loss, e.loss);
    assert.equal(last.accuracy, e.accuracy);
  }
  // No limit: every second batch, as liveEvery asks.
  await train({ liveEvery: 2, liveInterval: 0 });
  assert.deepEqual(seen.filter((p) => p.epoch === 1).map((p) => p.batch), [2, 4, 6, 8, 10, 12]);
  // The default with liveEvery given is no limit either.
  await train({ liveEvery: 3 });
  assert.deepEqual(seen.filter((p) => p.epoch === 2).map((p) => p.batch), [3, 6, 9, 12]);
  await assert.rejects(train({ liveInterval: -1 }), /fit: liveInterval must be a number of seconds ≥ 0, found -1/);
  tf.dispose([data.x, data.y]);
});

test("in a terminal: a cli-progress bar on a TTY, one line per epoch, and no bar when output is not a TTY", async () => {
  await initBackend();
  const data = blobs(64, { seed: 3 });
  const model = dl.models.mlp({ inputs: 2, hidden: [4], outputs: 3, dropout: 0, seed: 1 });
  const run = async (isTTY: boolean) => {
    const stream = Object.assign(new PassThrough(), { isTTY, columns: 100 });
    let drawn = "";
    stream.on("data", (d: Buffer) => (drawn += d.toString()));
    const lines: string[] = [];
    const h = await dl.train.fit(model, data, {
      epochs: 2, batchSize: 16, validation: 0.25, liveEvery: 1, seed: 1,
      reporter: dl.train.terminalReporter({ stream, log: (l) => lines.push(l) }),
    });
    return { drawn, lines, h };
  };
  const tty = await run(true);
  assert.equal(tty.lines.length, 2);
  assert.match(tty.lines[0], /^epoch 1\/2 {2}loss \d\.\d{4} {2}acc \d+\.\d\d% {2}last batch loss \d\.\d{4} {2}val_loss \d\.\d{4} {2}val_acc \d+\.\d\d% {2}\d+\.\d s$/);
  assert.equal(tty.lines[1], dl.train.formatEpoch(tty.h.epochs[1], 2));
  assert.match(tty.drawn, /epoch 1\/2 \[[=-]+\] 3\/3 batches \| loss \d\.\d{4}/);
  assert.match(tty.drawn, /epoch 2\/2 \[/);
  const pipe = await run(false);
  assert.equal(pipe.lines.length, 2);
  assert.equal(pipe.drawn, "", "no bar when the output is a pipe or a file");
  tf.dispose([data.x, data.y]);
  model.dispose();
});

test("when training fails, the notebook progress line says where and why, and the terminal bar stops", async () => {
  await initBackend();
  // The second half of the examples are NaN: the loss becomes NaN in the first epoch.
  const x = tf.concat([tf.ones([16, 2]), tf.fill([16, 2], NaN)]);
  const y = tf.tensor1d(Array.from({ length: 32 }, (_, i) => i % 3), "int32");
  const model = dl.models.mlp({ inputs: 2, hidden: [4], outputs: 3, dropout: 0, seed: 1 });
  const { host, sent } = fakeHost();
  registerHost(host);
  try {
    await assert.rejects(dl.train.fit(model, { x, y }, { epochs: 2, batchSize: 4, shuffle: false, liveEvery: 1 }), /the loss became NaN at epoch 1, batch 5/);
  } finally {
    registerHost(undefined);
  }
  const progressId = sent.filter((s) => !s.update)[1].displayId;
  const last = sent.filter((s) => s.displayId === progressId).pop()!;
  assert.match(last.bundle["text/plain"] as string, /^stopped after 0 of 2 epochs: fit: the loss became NaN at epoch 1, batch 5/);

  const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 100 });
  let drawn = "";
  stream.on("data", (d: Buffer) => (drawn += d.toString()));
  await assert.rejects(dl.train.fit(model, { x, y }, { epochs: 2, batchSize: 4, shuffle: false, liveEvery: 1, reporter: dl.train.terminalReporter({ stream, log: () => {} }) }), /NaN/);
  // cli-progress turns line wrapping off when a bar starts (ESC[?7l) and back on when it stops (ESC[?7h).
  await new Promise((r) => setTimeout(r, 50)); // the PassThrough delivers what was written a little later
  const starts = drawn.split("\x1b[?7l").length - 1;
  const stops = drawn.split("\x1b[?7h").length - 1;
  assert.ok(starts >= 1, "a bar was drawn");
  assert.equal(stops, starts, "every bar was stopped");
  tf.dispose([x, y]);
  model.dispose();
});
