import { test } from "node:test";
import assert from "node:assert/strict";
import * as plot from "../../src/plot";
import { toBundle } from "../../src/display";

test("a diagram lays the article's §2 graph out in columns by longest path, one arrow per edge", () => {
  const d = plot.diagram([["talent", "breakthrough"], ["talent", "market"], ["breakthrough", "market"]], {
    nodes: { talent: "Talent", breakthrough: "Technical breakthrough", market: "Market" },
  });
  const col = Object.fromEntries(d.boxes.map((b) => [b.id, b.column]));
  // market follows breakthrough, so it sits in column 2 although talent points at it directly.
  assert.deepEqual(col, { talent: 0, breakthrough: 1, market: 2 });
  assert.ok(d.edges.every((e) => !e.back), "no cycle, no back arrow");
  const bundle = toBundle(d);
  const svg = bundle["image/svg+xml"] as string;
  assert.equal((svg.match(/<path class="edge/g) ?? []).length, 3);
  assert.equal((svg.match(/<g class="node"/g) ?? []).length, 3);
  assert.match(bundle["text/plain"] as string, /Talent → Technical breakthrough\nTalent → Market\nTechnical breakthrough → Market/);
  // talent → market skips a column: drawn as an arc from the top of one box to the top of the
  // other, not a straight line hidden behind the box in between.
  const talent = d.boxes.find((b) => b.id === "talent")!;
  const market = d.boxes.find((b) => b.id === "market")!;
  const skip = svg.match(/data-from="talent" data-to="market" d="M([\d.]+),([\d.]+) C[^"]* ([\d.]+),([\d.]+)"/);
  assert.ok(skip, "the talent → market arrow is drawn");
  assert.deepEqual(skip.slice(1).map(Number), [talent.x + d.box.width / 2, talent.y, market.x + d.box.width / 2, market.y]);
  assert.ok(talent.y > 0 && d.size.height >= talent.y + d.box.height, "room above the boxes for the arc");
  // Boxes do not overlap, and the widest label fits its box.
  for (const a of d.boxes) {
    for (const b of d.boxes) {
      if (a === b) continue;
      const apart = a.x + d.box.width <= b.x || b.x + d.box.width <= a.x || a.y + d.box.height <= b.y || b.y + d.box.height <= a.y;
      assert.ok(apart, `${a.id} and ${b.id} overlap`);
    }
  }
  assert.ok(d.box.width >= "Technical breakthrough".length * 7);
});

test("a diagram finds the arrow that closes a cycle and draws it as a dashed back arc", () => {
  const d = plot.diagram([
    ["data", "model", "x"],
    ["model", "loss", "ŷ"],
    ["data", "loss", "y"],
    ["loss", "optimizer", "∇L"],
    ["optimizer", "model", "update"],
  ]);
  const backs = d.edges.filter((e) => e.back).map((e) => `${e.from}→${e.to}`);
  assert.deepEqual(backs, ["optimizer→model"]);
  assert.deepEqual(d.boxes.map((b) => [b.id, b.column]), [["data", 0], ["model", 1], ["loss", 2], ["optimizer", 3]]);
  const svg = d.toSvg();
  assert.equal((svg.match(/class="edge back"/g) ?? []).length, 1);
  assert.match(svg, />update</);
  assert.match(d.toText(), /optimizer → model \(update\) \[back\]/);
});

test("diagram labels are escaped and bad arrows are clear errors", () => {
  const d = plot.diagram([["a", "b", "<i>"]], { nodes: { a: { label: "x < y", note: "&" } }, title: "<script>" });
  const svg = d.toSvg();
  assert.ok(!svg.includes("<script>") && !svg.includes("<i>"));
  assert.match(svg, /x &lt; y/);
  assert.match(svg, /&amp;/);
  assert.throws(() => plot.diagram([]), /expected at least one arrow/);
  assert.throws(() => plot.diagram([["a"] as unknown as [string, string]]), /arrow 0 should be \[from, to, label\?\]/);
});
