import { before, test } from "node:test";
import assert from "node:assert/strict";
import { perceptron, Value } from "../../src/math";
import { registerHost, toBundle, type MimeBundle } from "../../src/display";
import { allRelNear, near, relNear, useCpu } from "../helpers/numeric";

before(useCpu);

const example = { x: [1, 2], y: 1, w: [0.5, -0.5], b: 0, lr: 0.1, steps: 20 };

test("step 1 of the worked example, arithmetic written out", () => {
  const t = perceptron.trace(example);
  const s = t.steps[0];
  // z = w·x + b = 0.5·1 + (−0.5)·2 + 0 = −0.5
  assert.equal(s.z, -0.5);
  // ŷ = σ(−0.5) = 1 / (1 + e^0.5)
  const yHat = 1 / (1 + Math.exp(0.5));
  near(s.yHat, yHat, 1e-15, "ŷ");
  near(yHat, 0.3775406687981454, 1e-15, "σ(−0.5)");
  // L = ½(y − ŷ)²
  near(s.loss, 0.5 * (1 - yHat) ** 2, 1e-15, "L");
  // σ′(z) = ŷ(1 − ŷ); δ = (ŷ − y)·σ′(z)
  near(s.sigmaPrime, yHat * (1 - yHat), 1e-15, "σ′");
  const delta = (yHat - 1) * yHat * (1 - yHat);
  near(s.delta, delta, 1e-15, "δ");
  near(delta, -0.1462802535, 1e-10, "δ ≈ −0.1463");
  // ∂L/∂w = δ·x = [δ, 2δ]; ∂L/∂b = δ
  assert.deepEqual(s.dw, [s.delta * 1, s.delta * 2]);
  assert.equal(s.db, s.delta);
  // The update: w ← w − lr·∂L/∂w, b ← b − lr·δ gives step 2's weights.
  const next = t.steps[1];
  near(next.w[0], 0.5 - 0.1 * delta, 1e-15, "w₁ after step 1");
  near(next.w[1], -0.5 - 0.1 * 2 * delta, 1e-15, "w₂ after step 1");
  near(next.b, -0.1 * delta, 1e-15, "b after step 1");
  // Training pulls ŷ toward y = 1: the loss falls at every step.
  t.steps.slice(1).forEach((st, i) => assert.ok(st.loss < t.steps[i].loss, `loss rises at step ${st.step}`));
  assert.ok(t.final.loss < t.steps[t.steps.length - 1].loss);
});

test("the same steps with tf.grad give the same numbers", () => {
  // tfjs is float32: relative 1e-5 allows for 20 steps of float32 rounding (each about 6e-8)
  // and is far below the size of any wrong formula (a missing σ′ changes δ by a factor of 4+).
  // Errors are measured relative to max(|value|, 0.01): z passes through 0 on the way (step 7
  // has z ≈ 1e-4, a difference of terms of order 1), where float32's error is absolute, ~1e-8.
  const a = perceptron.trace(example);
  const b = perceptron.traceTf(example);
  assert.equal(b.steps.length, a.steps.length);
  a.steps.forEach((s, i) => {
    const t = b.steps[i];
    for (const key of ["z", "yHat", "loss", "sigmaPrime", "delta", "db", "b"] as const) {
      relNear(t[key], s[key], 1e-5, `step ${s.step} ${key}`, 1e-2);
    }
    allRelNear(t.dw, s.dw, 1e-5, `step ${s.step} dw`, 1e-2);
    allRelNear(t.w, s.w, 1e-5, `step ${s.step} w`, 1e-2);
  });
  allRelNear(b.final.w, a.final.w, 1e-5, "final w");
});

test("the article's δ equals the autograd gradient of L", () => {
  const s = perceptron.trace(example).steps[3];
  const w = s.w.map((v, i) => new Value(v, `w${i + 1}`));
  const b = new Value(s.b, "b");
  const z = w[0].mul(example.x[0]).add(w[1].mul(example.x[1])).add(b);
  const L = new Value(example.y).sub(z.sigmoid()).pow(2).mul(0.5);
  L.backward();
  near(L.data, s.loss, 1e-15, "L");
  near(b.grad, s.delta, 1e-15, "∂L/∂b = δ");
  near(w[0].grad, s.dw[0], 1e-15, "∂L/∂w₁");
  near(w[1].grad, s.dw[1], 1e-15, "∂L/∂w₂");
});

test("the trace renders itself as a text and an HTML table", () => {
  const t = perceptron.trace({ ...example, steps: 3 });
  const text = t.toText();
  const lines = text.split("\n");
  assert.match(lines[0], /Perceptron, x = \[1, 2\], y = 1, lr = 0\.1 \(from scratch, float64\)/);
  assert.match(lines[1], /^step\s+w₁\s+w₂\s+b\s+z\s+ŷ\s+L\s+σ′\(z\)\s+δ\s+∂L\/∂w₁\s+∂L\/∂w₂\s+∂L\/∂b$/);
  assert.match(lines[3], /^\s*1\s+0\.5\s+-0\.5\s+0\s+-0\.5\s+0\.377541\s+0\.193728\s+0\.235004\s+-0\.14628\s+-0\.14628\s+-0\.292561\s+-0\.14628$/);
  assert.equal(lines.length, 1 + 2 + 3 + 1, "title, header, rule, 3 steps, note");
  assert.match(lines[lines.length - 1], /^after step 3: w = \[/);
  const bundle = toBundle(t);
  const html = bundle["text/html"] as string;
  assert.equal((html.match(/<tr>/g) ?? []).length, 1 + 3);
  assert.match(html, /<th[^>]*>∂L\/∂b<\/th>/);
  assert.equal(bundle["text/plain"], text);
});

test("bad trace inputs are clear errors", () => {
  assert.throws(() => perceptron.trace({ ...example, w: [1] }), /x has 2 features but w has 1 weights/);
  assert.throws(() => perceptron.trace({ ...example, steps: 0 }), /steps to be a positive integer, found 0/);
  assert.throws(() => perceptron.trace({ ...example, lr: NaN }), /expected lr to be a finite number, found NaN/);
});

test("datasets are seeded, balanced and shaped as promised", () => {
  const a = perceptron.dataset({ n: 60, seed: 4 });
  assert.deepEqual(perceptron.dataset({ n: 60, seed: 4 }), a, "same seed, same data");
  assert.notDeepEqual(perceptron.dataset({ n: 60, seed: 5 }).points, a.points);
  assert.equal(a.points.length, 60);
  assert.equal(a.labels.filter((l) => l === 1).length, 30);
  // Separable: every point lies at least 0.25 on its side of x₁ + x₂ = 0.
  a.points.forEach((p, i) => assert.ok((a.labels[i] ? 1 : -1) * (p[0] + p[1]) >= 0.25, `point ${i} ${p}`));
  const xor = perceptron.dataset({ kind: "xor", n: 40, seed: 1 });
  // Mostly in the quadrant its label says (the blobs have std 0.35 around (±1, ±1)).
  const inQuadrant = xor.points.filter((p, i) => (p[0] * p[1] > 0 ? 0 : 1) === xor.labels[i]).length;
  assert.ok(inQuadrant >= 36, `${inQuadrant}/40 points in their quadrant`);
  assert.throws(() => perceptron.dataset({ kind: "moons" as never }), /unknown kind "moons"/);
});

test("training separates separable data and cannot separate XOR", () => {
  const data = perceptron.dataset({ n: 80, seed: 2 });
  const model = perceptron.train({ data, lr: 1, epochs: 200 });
  assert.equal(model.evaluate(data).accuracy, 1);
  const h = model.history;
  assert.equal(h.length, 200);
  assert.ok(h[h.length - 1].loss < h[0].loss / 5, `loss ${h[0].loss} → ${h[h.length - 1].loss}`);
  assert.equal(h[0].loss, 0.125, "w = 0, b = 0: ŷ = ½ everywhere, L = ½·(½)²");
  assert.match(model.boundary(data).toText(), /80\/80 points on the right side/);

  const xor = perceptron.dataset({ kind: "xor", n: 80, seed: 2 });
  const line = perceptron.train({ data: xor, lr: 1, epochs: 200 });
  assert.ok(line.evaluate(xor).accuracy <= 0.75, `a line got ${line.evaluate(xor).accuracy} on XOR`);
});

test("trainLive redraws one display in place", async () => {
  const events: { bundle: MimeBundle; displayId?: string; update?: boolean }[] = [];
  registerHost({
    display: (bundle, options) => events.push({ bundle, ...options }),
    input: async () => "",
  });
  try {
    const data = perceptron.dataset({ n: 40, seed: 3 });
    const model = await perceptron.trainLive({ data, epochs: 30, every: 10, id: "boundary" });
    assert.equal(events.length, 1 + 3, "one display, then one update per 10 epochs");
    assert.ok(events.every((e) => e.displayId === "boundary"));
    assert.deepEqual(events.map((e) => e.update ?? false), [false, true, true, true]);
    assert.match(events[0].bundle["text/plain"] as string, /epoch 0/);
    assert.match(events[3].bundle["text/plain"] as string, /epoch 30, loss/);
    assert.equal(model.history.length, 30);
    assert.deepEqual(model.history.map((r) => r.epoch), Array.from({ length: 30 }, (_, i) => i + 1));
    // Same result as training in one go.
    const direct = perceptron.train({ data, epochs: 30 });
    assert.deepEqual(model.w, direct.w);
  } finally {
    registerHost(undefined);
  }
});
