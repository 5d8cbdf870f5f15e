import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readNotebook } from "../../kernel/nbformat/io";
import type { Notebook, Output } from "../../kernel/nbformat/types";
import { katexStylesheet } from "../../kernel/report/assets";
import { reportCommand } from "../../kernel/report/command";
import {
  jsonForScript,
  notebookTitle,
  pickMime,
  renderIndexHtml,
  renderNotebookHtml,
  terminalTextToHtml,
  stripAnsi,
} from "../../kernel/report/index";

const FIXTURE = path.join(__dirname, "..", "..", "..", "test", "fixtures", "report-sample.ipynb");
const ROOT_NOTEBOOKS = path.join(__dirname, "..", "..", "..", "notebooks");

function notebook(outputs: Output[], markdown = "# Title"): Notebook {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: [
      { cell_type: "markdown", id: "m", metadata: {}, source: markdown },
      { cell_type: "code", id: "c", metadata: {}, source: "x", execution_count: 7, outputs },
    ],
  };
}

const plotlyOutput = (y: number[]): Output => ({
  output_type: "display_data",
  data: { "application/vnd.plotly.v1+json": { data: [{ y, type: "scatter" }], layout: {} }, "text/plain": "chart" },
  metadata: {},
});

test("pickMime prefers plotly > html > svg > png > jpeg > markdown/latex > plain, as Jupyter front ends do", () => {
  const all = {
    "text/plain": "p",
    "text/latex": "l",
    "text/markdown": "m",
    "image/jpeg": "j",
    "image/png": "p",
    "image/svg+xml": "s",
    "text/html": "h",
    "application/vnd.plotly.v1+json": {},
  };
  const order = ["application/vnd.plotly.v1+json", "text/html", "image/svg+xml", "image/png", "image/jpeg", "text/markdown", "text/latex", "text/plain"];
  const bundle: Record<string, unknown> = { ...all };
  for (const expected of order) {
    assert.equal(pickMime(bundle), expected);
    delete bundle[expected];
  }
  assert.equal(pickMime({ "application/x-unknown": 1 }), undefined);
});

test("jsonForScript leaves no '<', '>' or '&' that could close the script element, and parses back unchanged", () => {
  const value = { name: "</script><script>alert(1)</script>", c: "<!-- & -->", u: "\u2028" };
  const s = jsonForScript(value);
  assert.doesNotMatch(s, /[<>&]/);
  assert.deepEqual(JSON.parse(s), value);
});

test("terminal text is escaped, ANSI colours become classed spans and control characters go", () => {
  const html = terminalTextToHtml('<script>alert(1)</script> \u001b[31mred\u001b[0m <img src=x onerror="alert(2)">\u0007');
  assert.doesNotMatch(html, /<script|<img/);
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.match(html, /<span class="ansi-red-fg">red<\/span>/);
  assert.doesNotMatch(html, /[\u0000-\u0008\u001b\u007f]/);
  // A 24-bit colour code yields no markup from the text either.
  assert.doesNotMatch(terminalTextToHtml("\u001b[38;2;1;2;3m<b>x</b>"), /<b>/);
});

test("carriage returns and backspaces show their last state, like a terminal", () => {
  assert.equal(stripAnsi("10%\r50%\r100%\nnext"), "100%\nnext");
  assert.equal(stripAnsi("ab\bc"), "ac");
  assert.equal(stripAnsi("line\r\nwin"), "line\nwin");
});

test("KaTeX's stylesheet has every font embedded as woff2 data and no other URL", () => {
  const css = katexStylesheet();
  const faces = css.match(/@font-face/g) ?? [];
  assert.ok(faces.length >= 20, `expected the KaTeX font faces, found ${faces.length}`);
  assert.equal((css.match(/url\(data:font\/woff2;base64,/g) ?? []).length, faces.length);
  assert.doesNotMatch(css, /url\((?!data:)/);
});

test("plotly.js is embedded once per page, only when the notebook has a plotly output", () => {
  const without = renderNotebookHtml(notebook([{ output_type: "stream", name: "stdout", text: "hi" }]));
  assert.doesNotMatch(without, /tsdl-plotly-js|Plotly/);
  assert.ok(without.length < 600_000, `a page without charts should be small, found ${without.length} bytes`);
  const withTwo = renderNotebookHtml(notebook([plotlyOutput([1, 2]), plotlyOutput([3, 4])]));
  assert.equal((withTwo.match(/id="tsdl-plotly-js"/g) ?? []).length, 1);
  assert.equal((withTwo.match(/<script type="application\/json" id="tsdl-figure-\d+">/g) ?? []).length, 2);
  assert.match(withTwo, /data-plotly-charts="2"/);
  const plain = renderNotebookHtml(notebook([plotlyOutput([1])]), { plotly: "plain" });
  // Plain embedding: the only "</script" left are the closing tags of the page's three scripts
  // (figure JSON, plotly.js, chart loader); the bundle's own were escaped.
  assert.equal((plain.match(/<\/script/gi) ?? []).length, 3);
  assert.ok(plain.length > 5_000_000, "plain embedding carries the whole plotly.js");
});

test("outputs: stream, execute_result with its count, error with ename and traceback, images as data URLs", () => {
  const html = renderNotebookHtml(
    notebook([
      { output_type: "stream", name: "stderr", text: "warn <b>" },
      { output_type: "execute_result", execution_count: 7, data: { "text/plain": "'<i>x</i>'" }, metadata: {} },
      { output_type: "error", ename: "RangeError", evalue: "too <big>", traceback: ["\u001b[31mRangeError\u001b[0m: too <big>", "    at cell:1"] },
      { output_type: "display_data", data: { "image/png": "iVBORw0KGgo=\n" }, metadata: { "image/png": { width: 10 } } },
      { output_type: "display_data", data: { "image/svg+xml": "<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>" }, metadata: {} },
    ]),
  );
  assert.match(html, /class="output stream stderr"><pre>warn &lt;b&gt;<\/pre>/);
  assert.match(html, /Out&nbsp;\[7\]:/);
  assert.match(html, /In&nbsp;\[7\]:/);
  assert.match(html, /'&lt;i&gt;x&lt;\/i&gt;'/);
  assert.match(html, /data-ename="RangeError"/);
  assert.match(html, /<span class="ansi-red-fg">RangeError<\/span>: too &lt;big&gt;/);
  assert.match(html, /<img alt="PNG output" src="data:image\/png;base64,iVBORw0KGgo=" width="10">/);
  // SVG goes through <img>, where its script cannot run, percent-encoded inside the attribute.
  assert.match(html, /<img alt="SVG output" src="data:image\/svg\+xml;charset=utf-8,%3Csvg/);
  assert.doesNotMatch(html, /<script>alert/);
});

test("an error whose traceback lacks the message gets an 'ename: evalue' line", () => {
  const html = renderNotebookHtml(notebook([{ output_type: "error", ename: "Interrupted", evalue: "cell ran past 5 s", traceback: [] }]));
  assert.match(html, /<span class="ename">Interrupted<\/span>: cell ran past 5 s/);
});

test("markdown: headings, KaTeX math, highlighted fences, attachments inlined", () => {
  const nb = notebook([], "# Heading\n\n$a^2$ and\n\n$$\\frac{1}{2}$$\n\n```ts\nconst x = 1;\n```\n\n![dot](attachment:dot.png)");
  (nb.cells[0] as { attachments?: unknown }).attachments = { "dot.png": { "image/png": "iVBORw0KGgo=" } };
  const html = renderNotebookHtml(nb);
  assert.match(html, /<h1>Heading<\/h1>/);
  assert.ok((html.match(/class="katex"/g) ?? []).length >= 2);
  assert.match(html, /class="katex-display"/);
  assert.match(html, /<span class="hljs-keyword">const<\/span>/);
  assert.match(html, /<img src="data:image\/png;base64,iVBORw0KGgo=" alt="dot">/);
  assert.equal(notebookTitle(nb), "Heading");
  assert.equal(notebookTitle({ ...nb, cells: [] }, "/x/03-loss.ipynb"), "03-loss");
});

test("every page carries a Content-Security-Policy that forbids network fetches", () => {
  const html = renderNotebookHtml(notebook([]));
  const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? "";
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /connect-src 'none'/);
  assert.match(csp, /img-src data: blob:/);
});

test("the index lists each notebook with links, status and run time, escaping names", () => {
  const html = renderIndexHtml([
    { name: "01-intro", title: "Neurons", status: "ok", durationSeconds: 3.25, htmlHref: "01-intro.html", notebookHref: "01-intro.ipynb" },
    { name: "02 <bad>", status: "error", durationSeconds: 1, htmlHref: "02 <bad>.html", message: "cell 3: TypeError: x" },
  ]);
  assert.match(html, /<tr data-notebook="01-intro" data-status="ok"><td><a href="01-intro.html">01-intro<\/a><\/td><td>Neurons<\/td><td class="status-ok">ok<\/td><td[^>]*>3\.3 s<\/td><td><a href="01-intro.ipynb">.ipynb<\/a>/);
  assert.match(html, /<a href="02%20%3Cbad%3E.html">02 &lt;bad&gt;<\/a>/);
  assert.match(html, /class="status-failed">error</);
  assert.match(html, /cell 3: TypeError: x/);
  assert.match(html, /2 notebooks, 1 failed, 4\.3 s in all/);
});

test("tsdl report writes the HTML file, and explains bad arguments and missing files", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsdl-report-"));
  try {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: { write: (s: string) => out.push(s) }, err: { write: (s: string) => err.push(s) } } as never;
    const target = path.join(dir, "sub", "r.html");
    assert.equal(await reportCommand([FIXTURE, "-o", target], io), 0);
    const html = fs.readFileSync(target, "utf8");
    assert.match(html, /<title>Report fixture<\/title>/);
    assert.match(out.join(""), /wrote .*r\.html/);
    assert.deepEqual(fs.readdirSync(path.dirname(target)), ["r.html"], "no temporary file is left");
    assert.doesNotMatch(err.join(""), /warning/, "an executed notebook gets no warning");

    // A notebook stored without outputs (as the walkthroughs are) still renders, with a warning.
    const fresh = path.join(ROOT_NOTEBOOKS, "00-kernel-smoke.ipynb");
    assert.equal(await reportCommand([fresh, "-o", path.join(dir, "fresh.html")], io), 0);
    assert.match(err.join(""), /tsdl report: warning: .*00-kernel-smoke\.ipynb: none of its \d+ code cells has an output or an execution count: it was not executed.*run it first with tsdl run /);
    assert.ok(fs.existsSync(path.join(dir, "fresh.html")));
    err.length = 0;

    assert.equal(await reportCommand([], io), 2);
    assert.match(err.join(""), /expected one notebook, found 0/);
    assert.equal(await reportCommand([path.join(dir, "missing.ipynb")], io), 1);
    assert.match(err.join(""), /missing\.ipynb: cannot read: ENOENT/);
    fs.writeFileSync(path.join(dir, "v3.ipynb"), JSON.stringify({ nbformat: 3, worksheets: [] }));
    assert.equal(await reportCommand([path.join(dir, "v3.ipynb")], io), 1);
    assert.match(err.join(""), /v3\.ipynb: expected nbformat 4, found nbformat 3/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the fixture notebook reads back with joined text", () => {
  const nb = readNotebook(FIXTURE);
  const code = nb.cells[1];
  assert.equal(code.cell_type, "code");
  assert.equal(typeof code.source, "string");
});
