import { test } from "node:test";
import assert from "node:assert/strict";
import { Value, MLP, graph } from "../../src/math";
import { GRAPH_BOX } from "../../src/math/graph";
import { toBundle } from "../../src/display";

function example(): { out: Value; x: Value; w: Value } {
  // out = tanh(x·w + b)
  const x = new Value(2, "x");
  const w = new Value(-3, "w");
  const b = new Value(6.8813735870195432, "b");
  const out = x.mul(w).add(b).tanh().named("out");
  return { out, x, w };
}

test("the graph shows every value with its op, data and gradient", () => {
  const { out, x, w } = example();
  out.backward();
  const g = graph(out);
  assert.equal(g.nodes.length, 6, "x, w, x·w, b, x·w+b, tanh");
  assert.deepEqual(g.nodes.map((n) => n.op).sort(), ["", "", "", "+", "tanh", "×"]);
  const byName = Object.fromEntries(g.nodes.map((n) => [n.name, n]));
  assert.equal(byName.out.data, out.data);
  assert.equal(byName.x.grad, x.grad);
  assert.equal(byName.w.grad, w.grad);
  // tanh(0.8814) = 0.7071; d out/dx = w·(1 − tanh²) = −3·0.5 = −1.5; d out/dw = x·0.5 = 1.
  const svg = g.toSvg();
  assert.match(svg, /<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal((svg.match(/<g class="node"/g) ?? []).length, 6);
  assert.equal((svg.match(/<path class="edge"/g) ?? []).length, 5);
  assert.match(svg, />out = tanh</);
  assert.match(svg, />data 0\.7071</);
  assert.match(svg, />grad -1\.5</);
  assert.match(svg, />grad 1</);
  const text = g.toText();
  assert.match(text, /computation graph, 6 values/);
  assert.match(text, /out = tanh\(n\d\)\s+data 0\.7071\s+grad 1/);
  assert.match(text, /x = input\s+data 2\s+grad -1\.5/);
  const bundle = toBundle(g);
  assert.match(bundle["text/html"] as string, /^<svg/);
  assert.equal(bundle["text/plain"], text);
});

test("the layout points every edge left to right and never overlaps boxes", () => {
  const mlp = new MLP(2, [3, 1], { seed: 2 });
  const out = mlp.forward([1, -2])[0].sub(1).pow(2);
  out.backward();
  const g = graph(out);
  assert.equal(g.nodes.length, out.topologicalOrder().length);
  for (const n of g.nodes) {
    for (const p of n.parents) assert.ok(g.nodes[p].x < n.x, `edge ${g.nodes[p].name} → ${n.name} must point right`);
  }
  const last = g.nodes[g.nodes.length - 1];
  assert.equal(last.layer, Math.max(...g.nodes.map((n) => n.layer)), "the output is rightmost");
  for (const a of g.nodes) {
    for (const b of g.nodes) {
      if (a.index >= b.index) continue;
      const apart = a.x + GRAPH_BOX.width <= b.x || b.x + GRAPH_BOX.width <= a.x || a.y + GRAPH_BOX.height <= b.y || b.y + GRAPH_BOX.height <= a.y;
      assert.ok(apart, `boxes ${a.name} and ${b.name} overlap`);
    }
    assert.ok(a.x + GRAPH_BOX.width <= g.width && a.y + GRAPH_BOX.height <= g.height, `${a.name} inside the drawing`);
  }
});

test("labels are escaped and huge graphs are refused with a clear message", () => {
  const v = new Value(1, "<script>").mul(2);
  const svg = graph(v, { title: "a & b" }).toSvg();
  assert.ok(!svg.includes("<script>"));
  assert.match(svg, /&lt;script&gt;/);
  assert.match(svg, /a &amp; b/);
  let s = new Value(0);
  for (let i = 0; i < 300; i++) s = s.add(i);
  assert.throws(() => graph(s), /depends on 601 values, more than maxNodes=400.*pass \{ maxNodes: 601 \}/);
  assert.equal(graph(s, { maxNodes: 601 }).nodes.length, 601);
});
