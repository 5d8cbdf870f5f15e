/**
 * The display API (display.html, markdown, latex, svg, png, jpeg, json, text, bundle, clear)
 * on the real kernel over ZeroMQ; the same cells run by the notebook runner, stored in the
 * executed notebook (valid nbformat) and rendered in the report, each by its type and escaped
 * where it is text. Also: what a cell shows (a display handle is no result, a model shows its
 * summary, String(x) of a table is its text/plain), the pager and is_complete.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { deflateSync } from "node:zlib";
import type { Notebook, CodeCell, Output } from "../../kernel/nbformat/types";
import { validateNotebook } from "../../kernel/nbformat/validate";
import { renderNotebookHtml } from "../../kernel/report/render";
import { runNotebook } from "../../kernel/runner/run";
import { startTestKernel, types, type TestKernel } from "../helpers/kernel";

/** A real 2×1 PNG (red, blue), built here so its bytes are known. */
function tinyPng(): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(2, 0);
  ihdr.writeUInt32BE(1, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const raw = Buffer.from([0, 255, 0, 0, 0, 0, 255]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}
/** The start of a JPEG (SOI + APP0): enough for the signature check, which is all display.jpeg reads. */
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0xff, 0xd9]);
const PNG = tinyPng();

/** One cell per helper, each sending one display_data; `mime` is what it must hold. */
const HELPER_CELLS: { name: string; code: string; mime: string; value: unknown }[] = [
  { name: "html", code: 'display.html("<b>bold</b> & <i>it</i>")', mime: "text/html", value: "<b>bold</b> & <i>it</i>" },
  { name: "markdown", code: 'display.markdown("**strong** and `code`")', mime: "text/markdown", value: "**strong** and `code`" },
  { name: "latex", code: 'display.latex("$$\\\\frac{a}{b}$$")', mime: "text/latex", value: "$$\\frac{a}{b}$$" },
  {
    name: "svg",
    code: `display.svg('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>')`,
    mime: "image/svg+xml",
    value: '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>',
  },
  { name: "png-bytes", code: `display.png(Buffer.from("${PNG.toString("base64")}", "base64"), { width: 20 })`, mime: "image/png", value: PNG.toString("base64") },
  { name: "png-file", code: 'display.png("tiny.png")', mime: "image/png", value: PNG.toString("base64") },
  { name: "jpeg-file", code: 'display.jpeg("tiny.jpg")', mime: "image/jpeg", value: JPEG.toString("base64") },
  { name: "json", code: 'display.json({ a: [1, 2], b: "</pre><script>x</script>" })', mime: "application/json", value: { a: [1, 2], b: "</pre><script>x</script>" } },
  { name: "text", code: 'display.text("<b>not bold</b>")', mime: "text/plain", value: "<b>not bold</b>" },
  {
    name: "bundle",
    code: 'display.bundle({ "text/html": "<u>raw</u>", "text/plain": "raw" })',
    mime: "text/html",
    value: "<u>raw</u>",
  },
];

let t: TestKernel;
before(async () => {
  t = await startTestKernel();
  writeFileSync(path.join(t.dir, "tiny.png"), PNG);
  writeFileSync(path.join(t.dir, "tiny.jpg"), JPEG);
});
after(async () => {
  await t?.stop();
});

describe("display helpers over ZeroMQ", () => {
  for (const cell of HELPER_CELLS) {
    test(`display.${cell.name}: one display_data holding ${cell.mime}, and no result`, async () => {
      const run = await t.kernel.execute(cell.code);
      assert.equal(run.status, "ok", run.error?.traceback.join("\n"));
      assert.deepEqual(types(run.iopub), ["status", "execute_input", "display_data", "status"], "one display_data; the handle is no execute_result");
      const [shown] = run.displays;
      assert.deepEqual(shown.data[cell.mime], cell.value);
      assert.equal(typeof shown.data["text/plain"], "string", "a text/plain fallback for consoles");
    });
  }

  test("image size goes into the display_data metadata", async () => {
    const run = await t.kernel.execute(`display.png("tiny.png", { width: 20, height: 10 })`);
    assert.deepEqual(run.displays[0].metadata, { "image/png": { width: 20, height: 10 } });
  });

  test("a helper's handle updates its display with the same kind of output", async () => {
    const run = await t.kernel.execute('const h = display.html("<p>one</p>", { id: "h1" });\nh.update("<p>two</p>");');
    assert.equal(run.status, "ok", run.error?.traceback.join("\n"));
    assert.deepEqual(run.displays.map((d) => [d.update, d.data["text/html"], d.transient]), [
      [false, "<p>one</p>", { display_id: "h1" }],
      [true, "<p>two</p>", { display_id: "h1" }],
    ]);
  });

  test("display.clear({ wait }) sends clear_output after what the cell printed before", async () => {
    const run = await t.kernel.execute('console.log("soon gone");\ndisplay.clear({ wait: true });\ndisplay.clear();');
    assert.deepEqual(types(run.iopub), ["status", "execute_input", "stream", "clear_output", "clear_output", "status"]);
    assert.deepEqual(run.iopub.filter((m) => m.header.msg_type === "clear_output").map((m) => m.content), [{ wait: true }, { wait: false }]);
  });

  test("bad input to a helper fails the cell with what was expected and what was found; the kernel lives on", async () => {
    const cases: [string, RegExp][] = [
      ["display.png(new Uint8Array([1, 2, 3]))", /display\.png: the bytes given is not a PNG image: it starts with 01 02 03, expected 89 50 4e 47/],
      ['display.png("tiny.jpg")', /display\.png: tiny\.jpg is not a PNG image: it starts with ff d8 ff e0/],
      ['display.jpeg("missing.jpg")', /display\.jpeg: cannot read missing\.jpg: ENOENT/],
      ["display.html(42 as never)", /display\.html: expected a string of HTML, found number 42/],
      ['display.svg("<div/>")', /display\.svg: expected SVG markup containing an <svg> element/],
      ['display.bundle({ html: "x" })', /display\.bundle: expected MIME types such as "text\/html" as keys, found "html"/],
      ["display.bundle({})", /display\.bundle: expected at least one MIME type, found an empty object/],
      ["display.json(undefined)", /display\.json: expected a JSON value, found undefined/],
    ];
    for (const [code, message] of cases) {
      const run = await t.kernel.execute(code, { stopOnError: false });
      assert.equal(run.status, "error", code);
      assert.match(run.error!.evalue, message, code);
      assert.equal(run.displays.length, 0, `${code}: nothing shown`);
    }
    const alive = await t.kernel.execute("1 + 1");
    assert.equal(alive.result?.data["text/plain"], "2");
  });
});

describe("what a cell shows", () => {
  test("display(x); as the last statement shows x once and no { displayId, update } result", async () => {
    const run = await t.kernel.execute('display("shown");');
    assert.deepEqual(types(run.iopub), ["status", "execute_input", "display_data", "status"]);
    const withId = await t.kernel.execute('display("again", { id: true })');
    assert.equal(withId.result, undefined);
    // The handle is still a value a later cell can use.
    const later = await t.kernel.execute('const kept = display("kept", { id: "k" });\nkept.displayId');
    assert.equal(later.result?.data["text/plain"], "k");
  });

  test("a model as a cell's result shows its summary, not the LayersModel internals", async () => {
    const run = await t.kernel.execute("const m = dl.models.mlp({ inputs: 784, hidden: [256, 128], outputs: 10, seed: 1 });\nm");
    assert.equal(run.status, "ok", run.error?.traceback.join("\n"));
    const plain = String(run.result?.data["text/plain"]);
    assert.match(plain, /Total params: 235,146/);
    assert.ok(plain.length < 2000, `the summary, ${plain.length} characters`);
    assert.match(String(run.result?.data["text/html"]), /<table/);
    const logged = await t.kernel.execute("console.log(m)");
    assert.match(logged.stdout, /Total params: 235,146/);
    assert.ok(logged.stdout.length < 2000, `console.log: ${logged.stdout.length} characters`);
  });

  test("String(x) of each table and summary the README shows is its text/plain", async () => {
    const run = await t.kernel.execute(
      [
        "const y = [0, 1, 2, 2, 1, 0];",
        "const p = [0, 2, 2, 2, 1, 0];",
        "const shown = [",
        "  dl.backendInfo(),",
        "  dl.train.classificationReport(y, p),",
        "  dl.train.confusionMatrix(y, p),",
        "  dl.summary(dl.models.mlp({ inputs: 4, hidden: [3], outputs: 2, seed: 1 })),",
        '  dl.plot.table(["a", "b"], [["x", 1]]),',
        "  dl.math.gradCheck((p) => p.w.mul(p.w), { w: 2 }),",
        "];",
      ].join("\n"),
    );
    assert.equal(run.status, "ok", run.error?.traceback.join("\n"));
    const rows = JSON.parse(
      await t.kernel
        .execute("JSON.stringify(shown.map((x) => [String(x) === dl.toBundle(x)['text/plain'], String(x).startsWith('[object')]))")
        .then((r) => String(r.result?.data["text/plain"])),
    ) as [boolean, boolean][];
    assert.deepEqual(rows, rows.map(() => [true, false]));
    const info = await t.kernel.execute("dl.backendInfo()");
    assert.match(String(info.result?.data["text/plain"]), /^node-gpu .*\nnode .*\nwasm .*\ncpu +active/);
    assert.doesNotMatch(String(info.result?.data["text/plain"]), /toString|\[Function/);
  });
});

describe("pager and is_complete", () => {
  test("?name and name? answer with a page payload holding what inspect gives", async () => {
    const inspected = await t.kernel.request("shell", "inspect_request", { code: "dl.initBackend", cursor_pos: 14, detail_level: 0 });
    const docs = String((inspected.content as { data: Record<string, string> }).data["text/plain"]);
    for (const code of ["?dl.initBackend", "dl.initBackend?"]) {
      const run = await t.kernel.execute(code);
      assert.equal(run.status, "ok");
      assert.deepEqual((run.reply.content as { payload: unknown }).payload, [{ source: "page", data: { "text/plain": docs }, start: 0 }]);
      assert.match(docs, /Pick and activate the best backend/);
    }
    const missing = await t.kernel.execute("nothing_by_this_name?");
    assert.deepEqual((missing.reply.content as { payload: unknown }).payload, []);
    assert.equal(missing.stdout, "Object `nothing_by_this_name` not found.\n");
    // Not a pager request: a conditional expression still runs.
    const cond = await t.kernel.execute("true ? 1 : 2");
    assert.equal(cond.result?.data["text/plain"], "1");
  });

  test("is_complete: complete, incomplete with an indent, invalid", async () => {
    const ask = async (code: string) => (await t.kernel.request("shell", "is_complete_request", { code })).content;
    assert.deepEqual(await ask("const x = 1;"), { status: "complete" });
    assert.deepEqual(await ask("console.log(`hello "), { status: "incomplete", indent: "" });
    assert.deepEqual(await ask("function f() {"), { status: "incomplete", indent: "  " });
    assert.deepEqual(await ask("const a = [\n  1,"), { status: "incomplete", indent: "  " });
    assert.deepEqual(await ask("/* open comment"), { status: "incomplete", indent: "" });
    assert.deepEqual(await ask("const = 7q"), { status: "invalid" });
    assert.deepEqual(await ask("let s = 'abc\nfoo()"), { status: "invalid" });
    assert.deepEqual(await ask("f(1))"), { status: "invalid" });
  });
});

describe("display helpers in the runner's notebook and in the report", () => {
  test("each helper's output is stored in the executed notebook and rendered by type, text escaped", async () => {
    const dir = path.join(t.dir, "runner");
    mkdirSync(dir);
    writeFileSync(path.join(dir, "tiny.png"), PNG);
    writeFileSync(path.join(dir, "tiny.jpg"), JPEG);
    const nb: Notebook = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {},
      cells: [
        ...HELPER_CELLS.map((c, i): CodeCell => ({ id: `c${i}`, cell_type: "code", source: c.code, metadata: {}, outputs: [], execution_count: null })),
        { id: "clear", cell_type: "code", source: 'console.log("gone");\ndisplay.clear();\ndisplay.text("after clear")', metadata: {}, outputs: [], execution_count: null },
      ],
    };
    const run = await runNotebook(nb, { cwd: dir, env: { TSDL_BACKEND: "cpu" } });
    assert.equal(run.status, "ok", run.error);
    assert.deepEqual(validateNotebook(run.notebook), [], "valid nbformat 4");
    const cells = run.notebook.cells as CodeCell[];
    HELPER_CELLS.forEach((c, i) => {
      const outs = cells[i].outputs as Output[];
      assert.equal(outs.length, 1, `${c.name}: one output`);
      const o = outs[0] as Output & { data: Record<string, unknown> };
      assert.equal(o.output_type, "display_data", c.name);
      const stored = o.data[c.mime];
      assert.deepEqual(Array.isArray(stored) ? stored.join("") : stored, c.value, `${c.name} stored as ${c.mime}`);
    });
    const cleared = cells.at(-1)!.outputs as (Output & { data?: Record<string, unknown> })[];
    assert.deepEqual(cleared.map((o) => o.output_type), ["display_data"], "clear_output removed the printed line");

    const html = renderNotebookHtml(run.notebook);
    assert.match(html, /<div class="output display-data html"><b>bold<\/b> & <i>it<\/i><\/div>/, "text/html as is");
    assert.match(html, /<strong>strong<\/strong>/, "markdown rendered");
    assert.match(html, /class="output display-data latex">[^]*?katex/, "LaTeX typeset by KaTeX");
    assert.match(html, /<img alt="SVG output" src="data:image\/svg\+xml/, "SVG as an image");
    assert.match(html, new RegExp(`<img alt="PNG output" src="data:image/png;base64,${PNG.toString("base64").replace(/[+/]/g, "\\$&")}" width="20">`));
    assert.match(html, /<img alt="JPEG output" src="data:image\/jpeg;base64,/);
    assert.match(html, /class="output display-data json"><pre>[^<]*&quot;b&quot;: &quot;&lt;\/pre&gt;&lt;script&gt;x&lt;\/script&gt;&quot;/, "JSON escaped");
    assert.match(html, /&lt;b&gt;not bold&lt;\/b&gt;/, "display.text escaped");
    assert.match(html, /<u>raw<\/u>/, "a raw bundle's text/html as is");
    assert.match(html, /after clear/);
    assert.doesNotMatch(html, />gone\n/, "the cleared line is not in the report");
  });
});
