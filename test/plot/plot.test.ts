import { test } from "node:test";
import assert from "node:assert/strict";
import { PNG } from "pngjs";
import { fmt } from "../../src/plot/builders";
import * as plot from "../../src/plot";
import { toBundle } from "../../src/display";
import { colorAt } from "../../src/plot/svg";

test("a line chart renders itself as plotly JSON, a static SVG and a text summary", () => {
  const fig = plot.line({ loss: [2.5, 1.25, 0.5], acc: [0.1, 0.6, 0.9] }, { title: "Training", xLabel: "epoch" });
  const bundle = toBundle(fig);
  assert.deepEqual(Object.keys(bundle).sort(), [plot.PLOTLY_MIME, "text/html", "text/plain"].sort());
  const spec = bundle[plot.PLOTLY_MIME] as { data: plot.Trace[]; layout: plot.Layout };
  assert.deepEqual(spec.data.map((t) => t.name), ["loss", "acc"]);
  assert.deepEqual(spec.data[0].y, [2.5, 1.25, 0.5]);
  assert.deepEqual(spec.data[0].x, [0, 1, 2]);
  assert.equal(spec.layout.title?.text, "Training");
  const svg = bundle["text/html"] as string;
  assert.equal((svg.match(/<polyline/g) ?? []).length, 2, "one polyline per series");
  assert.match(bundle["text/plain"] as string, /loss: 3 points, first 2\.5, last 0\.5, min 0\.5, max 2\.5/);
  // JSON round trip: what the kernel sends must be plain data.
  assert.deepEqual(JSON.parse(JSON.stringify(spec)), spec);
});

test("logX and logY make log axes in plotly, keep linear axes otherwise, and survive subplots", () => {
  const lrs = [1e-4, 1e-3, 1e-2];
  const logs = plot.line([{ name: "acc", x: lrs, y: [0.8, 0.9, 0.7] }], { logX: true, logY: true });
  const axes = (f: plot.Figure) => f.layout as Record<string, { type?: string } | undefined>;
  assert.equal(axes(logs).xaxis?.type, "log");
  assert.equal(axes(logs).yaxis?.type, "log");
  assert.deepEqual(logs.data[0].x, lrs, "x values stay as given; plotly takes their logarithm");
  const linear = plot.line({ acc: [0.8, 0.9] });
  assert.equal(axes(linear).xaxis?.type, undefined);
  assert.equal(axes(linear).yaxis?.type, undefined);
  const both = axes(plot.subplots([linear, logs]));
  assert.equal(both.xaxis?.type, undefined);
  assert.equal(both.xaxis2?.type, "log", "the second panel keeps its log x axis");
});

test("text from values is escaped in the static SVG", () => {
  const fig = plot.line([{ name: "<script>alert(1)</script>", y: [1, 2] }], { title: "a<b & c" });
  const svg = fig.toSvg();
  assert.ok(!svg.includes("<script>"), svg);
  assert.match(svg, /&lt;script&gt;/);
  assert.match(svg, /a&lt;b &amp; c/);
});

test("mismatched lengths are clear errors", () => {
  assert.throws(() => plot.line([{ name: "s", x: [1, 2, 3], y: [1, 2] }]), /series s has 3 x values and 2 y values/);
  assert.throws(() => plot.heatmap([[1, 2], [3]]), /row 1 has 1 values, expected 2/);
  assert.throws(() => plot.scatter({ x: [1], y: [1], labels: [0, 1] }), /2 labels for 1 points/);
  assert.throws(() => plot.histogram([1, 2], { bins: 0 }), /bins must be a positive integer, found 0/);
});

test("histogram bins every value once", () => {
  const values = Array.from({ length: 1000 }, (_, i) => (i * 7919) % 101);
  const { edges, counts } = plot.bin(values, 10);
  assert.equal(edges.length, 11);
  assert.equal(counts.reduce((a, b) => a + b, 0), 1000);
  assert.equal(edges[0], 0);
  assert.equal(edges[10], 100);
  const fig = plot.histogram({ before: values, after: values.map((v) => v / 100) }, { bins: 10 });
  assert.equal(fig.data.length, 2);
  assert.match(fig.toText(), /before: n=1000/);
});

test("histogram takes the pixels of many images (more values than a call has room for arguments)", () => {
  // 300 MNIST-sized images: 235,200 values; Math.min(...values) would overflow the call stack.
  const values = new Float32Array(300 * 784).map((_, i) => (i * 31) % 256);
  const fig = plot.histogram({ pixels: values }, { bins: 16 });
  const { counts, edges } = plot.bin(values, 16);
  assert.equal(counts.reduce((a, b) => a + b, 0), values.length);
  assert.deepEqual([edges[0], edges[16]], [0, 255]);
  assert.match(fig.toText(), /pixels: n=235200, mean 127\.\d+, std [\d.]+, min 0, max 255/);
});

test("histogram leaves out values that are not finite, bins every set over their common range, and states each set's moments", () => {
  const a = [3, NaN, -2, Infinity, 7.5, 1, -Infinity, 4];
  const b = new Float32Array([0.5, 10, NaN, 2]);
  const fig = plot.histogram({ a, b }, { bins: 4 });
  // Range: the finite values of both sets, -2 to 10, in 4 bins of 3.
  assert.deepEqual(fig.data.map((t) => t.y), [[1, 2, 1, 1], [1, 1, 0, 1]]);
  assert.deepEqual(fig.data[0].x, [-0.5, 2.5, 5.5, 8.5]);
  const finite = a.filter(Number.isFinite);
  const mean = finite.reduce((s, v) => s + v, 0) / finite.length;
  const std = Math.sqrt(finite.reduce((s, v) => s + (v - mean) ** 2, 0) / finite.length);
  assert.match(fig.toText(), new RegExp(`a: n=5, mean ${fmt(mean)}, std ${fmt(std)}, min -2, max 7\\.5`));
  assert.match(fig.toText(), /b: n=3, mean 4\.167, std [\d.]+, min 0\.5, max 10/);
});

test("subplots put each figure on its own axes and keep one colour per series name", () => {
  const a = plot.line({ train: [1, 0.5], val: [1.1, 0.7] }, { title: "loss" });
  const b = plot.line({ train: [0.5, 0.9], val: [0.4, 0.8] }, { title: "accuracy" });
  const fig = plot.subplots([a, b]);
  assert.deepEqual(fig.data.map((t) => `${t.name}@${t.xaxis}/${t.yaxis}`), ["train@x/y", "val@x/y", "train@x2/y2", "val@x2/y2"]);
  assert.equal(fig.data[0].line?.color, fig.data[2].line?.color);
  assert.notEqual(fig.data[0].line?.color, fig.data[1].line?.color);
  assert.equal(fig.data[2].showlegend, false);
  const layout = fig.layout as Record<string, { domain: number[] }>;
  assert.ok(layout.xaxis.domain[1] <= layout.xaxis2.domain[0], "panels do not overlap");
});

test("a confusion-matrix heatmap writes its values", () => {
  const fig = plot.heatmap([[5, 1], [0, 7]], { x: ["0", "1"], y: ["0", "1"], showValues: true, matrixOrder: true });
  assert.deepEqual(fig.data[0].text, [["5", "1"], ["0", "7"]]);
  const svg = fig.toSvg();
  assert.equal((svg.match(/<rect x=/g) ?? []).length >= 4, true);
  for (const v of ["5", "1", "0", "7"]) assert.match(svg, new RegExp(`>${v}</text>`));
});

test("decision boundary evaluates the classifier on a grid and counts the points on the right side", () => {
  const predict = (pts: number[][]) => pts.map(([x]) => (x > 0 ? 0.9 : 0.1));
  const fig = plot.decisionBoundary({ predict, points: [[1, 0], [-1, 0], [2, 1], [0.5, 1]], labels: [1, 0, 1, 0], resolution: 8 });
  const field = fig.data[0];
  assert.equal(field.type, "heatmap");
  assert.equal(field.z!.length, 8);
  assert.equal(field.z![0].length, 8);
  assert.match(fig.toText(), /3\/4 points on the right side/);
});

/** WCAG relative luminance of "#rrggbb" or "rgb(r,g,b)". */
function relLuminance(color: string): number {
  const rgb = color.startsWith("#")
    ? [1, 3, 5].map((k) => parseInt(color.slice(k, k + 2), 16))
    : (color.match(/\d+/g) ?? []).map(Number);
  const lin = rgb.map((v) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4));
  return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
}

function contrast(a: string, b: string): number {
  const [hi, lo] = [relLuminance(a), relLuminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

function rgbOf(color: string): number[] {
  return color.startsWith("#") ? [1, 3, 5].map((k) => parseInt(color.slice(k, k + 2), 16)) : (color.match(/\d+/g) ?? []).map(Number);
}

test("decision boundary markers share their class's hue yet stand out from its region, in plotly and SVG alike", () => {
  const predict = (pts: number[][]) => pts.map(([x]) => (x > 0 ? 0.999 : 0.001));
  const fig = plot.decisionBoundary({ predict, points: [[1, 0], [-1, 0]], labels: [1, 0], resolution: 4 });
  const [field, class0, class1] = fig.data;
  // A named scale means different colours to plotly (RdBu: blue → red) and to our SVG (red → blue):
  // the field must carry its stops, so both renderings colour P ≈ 1 the same.
  assert.ok(Array.isArray(field.colorscale), `expected explicit colour stops, found ${JSON.stringify(field.colorscale)}`);
  for (const [marker, p] of [[class0, 0], [class1, 1]] as const) {
    const region = colorAt(field.colorscale, p);
    const dot = marker.marker!.color as string;
    assert.ok(contrast(dot, region) >= 3, `${marker.name} marker ${dot} on its own region ${region}: contrast ${contrast(dot, region).toFixed(2)}, expected ≥ 3`);
    // Same hue family: class 1 is the blue one (blue channel above red) in marker and region alike.
    const [mr, , mb] = rgbOf(dot);
    const [rr, , rb] = rgbOf(region);
    assert.equal(mb > mr, rb > rr, `${marker.name}: marker ${dot} and region ${region} should share a hue`);
    assert.equal(mb > mr, p === 1, `${marker.name}: class 1 is drawn blue, class 0 red`);
  }
  // The static SVG paints the P ≈ 1 cells in the scale's P = 1 colour, not in the marker's.
  const svg = fig.toSvg();
  assert.ok(svg.includes(`fill="${colorAt(field.colorscale, 1)}"`), "P ≈ 1 cells use the scale's end colour");
});

test("subplots keep a trace's own marker colour (decision boundaries side by side keep their class colours)", () => {
  const predict = (pts: number[][]) => pts.map(([x]) => (x > 0 ? 0.9 : 0.1));
  const one = plot.decisionBoundary({ predict, points: [[1, 0], [-1, 0]], labels: [1, 0], resolution: 4 });
  const fig = plot.subplots([one, one], { cols: 2 });
  const markers = fig.data.filter((t) => t.type === "scatter");
  assert.equal(markers.length, 4);
  for (const t of markers) {
    const expected = t.name === "class 1" ? plot.BOUNDARY_MARKERS[1] : plot.BOUNDARY_MARKERS[0];
    assert.equal(t.marker?.color, expected, `${t.name} in ${t.xaxis}`);
  }
});

test("an image grid is one PNG of the right size with the right pixels, plus captions", () => {
  const black = new Uint8Array(28 * 28).fill(255);
  const ramp = Float32Array.from({ length: 28 * 28 }, (_, i) => (i % 28) / 27);
  const grid = plot.imageGrid([black, ramp, black], { cols: 2, captions: ["7 → 1", "<b>", "3"], scale: 1 });
  const bundle = toBundle(grid);
  const png = PNG.sync.read(Buffer.from(bundle["image/png"] as string, "base64"));
  assert.equal(png.width, 2 * (28 + 2) + 2);
  assert.equal(png.height, 2 * (28 + 2) + 2);
  // Ink is dark: a pixel inside the all-255 image is black.
  assert.equal(png.data[((2 + 5) * png.width + 2 + 5) * 4], 0);
  // The ramp goes from white (0) on the left to black (1) on the right.
  const left = png.data[((2 + 5) * png.width + 32) * 4];
  const right = png.data[((2 + 5) * png.width + 32 + 27) * 4];
  assert.ok(left > 200 && right < 50, `left ${left}, right ${right}`);
  assert.match(bundle["text/html"] as string, /7 → 1/);
  assert.match(bundle["text/html"] as string, /&lt;b&gt;/);
  assert.equal(bundle["text/plain"], "3 images 28×28: 7 → 1, <b>, 3");
  assert.throws(() => plot.imageGrid([new Uint8Array(10)]), /image 0 has 10 pixels, expected 28×28 = 784/);
});

test("a standalone HTML page embeds plotly.js and the figure, and makes no network reference", () => {
  const html = plot.line({ a: [1, 2] }, { title: "</script><b>x" }).toHtml();
  assert.ok(html.length > 1_000_000, "plotly.js is inlined");
  assert.ok(!/<script[^>]+src=/i.test(html), "no external script");
  assert.ok(!html.includes("</script><b>x"), "title cannot close the script element");
});
