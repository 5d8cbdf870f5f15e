import { test } from "node:test";
import assert from "node:assert/strict";
import * as plot from "../../src/plot";
import { toBundle } from "../../src/display";

test("a table aligns text columns, right-aligns numbers, and escapes HTML", () => {
  const t = plot.table(["name", { title: "value", format: (v) => v.toFixed(2) }], [["a<b", 1.5], ["long name", 12]], { title: "T", footer: ["total 2"] });
  assert.equal(t.toText(), ["T", "name       value", "─────────  ─────", "a<b         1.50", "long name  12.00", "total 2"].join("\n"));
  const html = toBundle(t)["text/html"] as string;
  assert.match(html, /a&lt;b/);
  assert.ok(!html.includes("a<b"));
  assert.match(html, /<td style="text-align:right[^"]*">12\.00<\/td>/);
  assert.equal(plot.formatNumber(235146), "235,146");
  assert.throws(() => plot.table(["a", "b"], [["x"]]), /row 0 has 1 cells, expected 2 \(one per column: a, b\)/);
});

test("the training chart: loss and accuracy panels with train and validation, a running point mid-epoch", () => {
  const fig = plot.trainingChart({ loss: [1, 0.5], accuracy: [0.6, 0.8], valLoss: [0.9, 0.6], valAccuracy: [0.65, 0.75] }, { epochs: 5, partial: { epoch: 2.5, loss: 0.4, accuracy: 0.85 } });
  const { data, layout } = fig.toJSON();
  const get = (name: string, axis: string) => data.find((t) => t.name === name && t.xaxis === axis)!;
  assert.deepEqual(get("train", "x").x, [1, 2, 2.5]);
  assert.deepEqual(get("train", "x").y, [1, 0.5, 0.4]);
  assert.deepEqual(get("validation", "x").y, [0.9, 0.6]);
  assert.deepEqual(get("train", "x2").y, [0.6, 0.8, 0.85]);
  assert.deepEqual(get("validation", "x2").x, [1, 2]);
  assert.deepEqual((layout.xaxis as { range: number[] }).range, [0, 5]);
  assert.equal(data.filter((t) => t.showlegend === false).length, 2, "one legend entry per name");
  assert.match(fig.toSvg(), /<svg/);
  // Before the first epoch ends there are no points, and the chart still renders.
  const empty = plot.trainingChart({ loss: [], accuracy: [] }, { epochs: 3 });
  assert.match(empty.toSvg(), /<svg/);
});
