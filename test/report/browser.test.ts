/**
 * Reports opened in a headless Chromium (Debian's, or `TSDL_CHROMIUM`; skipped without one): charts drawn, math typeset, escaped text inert,
 * and not one request beyond the page's own file.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeReport, renderIndexHtml } from "../../kernel/report/index";
import { launchBrowser, type TestBrowser } from "../helpers/browser";
import { find, requires } from "../helpers/components";

const FIXTURE = path.join(__dirname, "..", "..", "..", "test", "fixtures", "report-sample.ipynb");

let dir: string;
let browser: TestBrowser;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsdl-browser-"));
  if (find("chromium")) browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function openReport(plotly: "gzip" | "plain") {
  const file = path.join(dir, `report-${plotly}.html`);
  writeReport(FIXTURE, file, { plotly });
  const opened = await browser.open(file);
  // The page marks the outcome of drawing its charts on <body data-plotly>.
  await opened.page.waitForFunction(() => document.body.hasAttribute("data-plotly"), null, { timeout: 60_000 });
  await opened.page.evaluate(() => document.fonts.ready);
  return opened;
}

test("report (plotly gzip-embedded): charts drawn, math typeset, escaped text inert, zero requests", { skip: requires("chromium") }, async () => {
  const { page, url, requests, errors } = await openReport("gzip");
  assert.equal(await page.getAttribute("body", "data-plotly"), "drawn");

  // Every plotly output has a rendered chart.
  const charts = page.locator("div.tsdl-plotly");
  assert.equal(await charts.count(), 2);
  for (let i = 0; i < 2; i++) {
    assert.ok((await charts.nth(i).locator(".main-svg").count()) >= 1, `chart ${i + 1} has no .main-svg`);
  }
  // The first chart's trace name held "</script><script>…": it reached plotly as data, intact.
  const traceName = await page.evaluate(() => (document.querySelector("div.tsdl-plotly") as unknown as { data: { name: string }[] }).data[0].name);
  assert.equal(traceName, "</script><script>window.__pwned=4</script>");

  // KaTeX typeset the markdown's inline and display math and the text/latex and text/markdown outputs,
  // with its embedded fonts.
  assert.ok((await page.locator(".katex").count()) >= 4);
  assert.ok((await page.locator(".katex-display").count()) >= 2);
  const katexFonts = await page.evaluate(() => {
    let loaded = 0;
    document.fonts.forEach((f) => {
      if (f.family.includes("KaTeX") && f.status === "loaded") loaded++;
    });
    return loaded;
  });
  assert.ok(katexFonts >= 1, "the embedded KaTeX fonts loaded");

  // Text from streams and text/plain shows as text; none of it ran.
  assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
  const stdout = await page.locator(".output.stream.stdout pre").first().textContent();
  assert.match(stdout ?? "", /<script>window.__pwned = 1<\/script>/);
  const stderr = await page.locator(".output.stream.stderr pre").first().textContent();
  assert.match(stderr ?? "", /<img src=x onerror="window.__pwned = 2">/);
  assert.equal(await page.locator('img[src="x"]').count(), 0, "the <img onerror> in the stream became no element");
  const plain = await page.locator(".output.execute-result.text pre").first().textContent();
  assert.equal(plain, "'<script>window.__pwned = 3</script>'");
  // The control: a text/html output is kept as it is, and its script did run. So the escaping
  // above is what kept the others from running, not a page where no script can run.
  assert.equal(await page.locator("#kept-html").textContent(), "bold html");
  assert.equal(await page.evaluate(() => (window as unknown as { __htmlRan?: boolean }).__htmlRan), true);

  // Images decode from their data URLs (PNG at its metadata size; SVG through <img>, its script inert).
  const sizes = await page.evaluate(() => Array.from(document.querySelectorAll<HTMLImageElement>(".output.image img")).map((i) => [i.naturalWidth, i.width]));
  assert.deepEqual(sizes, [
    [8, 32],
    [20, 20],
  ]);

  // Error output and execution counts.
  assert.match((await page.locator(".output.error pre").textContent()) ?? "", /TypeError: bad <input>\n\s+at <cell 4>:1:7/);
  assert.deepEqual(await page.locator(".prompt.in").allTextContents(), ["In\u00a0[1]:", "In\u00a0[2]:", "In\u00a0[3]:", "In\u00a0[4]:", "In\u00a0[\u00a0]:"]);
  assert.deepEqual(await page.locator(".prompt.out").allTextContents(), ["Out\u00a0[1]:"]);

  assert.deepEqual(errors, []);
  assert.deepEqual(requests, [url], `the page asked for more than itself: ${requests.join(", ")}`);
});

test("report (plotly embedded plain) draws the same charts with zero requests", { skip: requires("chromium") }, async () => {
  const { page, url, requests } = await openReport("plain");
  assert.equal(await page.getAttribute("body", "data-plotly"), "drawn");
  assert.equal(await page.locator("div.tsdl-plotly .main-svg").count(), await page.locator("div.tsdl-plotly").count() * 3);
  assert.deepEqual(requests, [url]);
});

test("the index page links reports and makes zero requests", { skip: requires("chromium") }, async () => {
  const file = path.join(dir, "index.html");
  fs.writeFileSync(file, renderIndexHtml([{ name: "report-gzip", status: "ok", durationSeconds: 1.5, htmlHref: "report-gzip.html" }]));
  const { page, url, requests } = await browser.open(file);
  assert.equal(await page.locator('tr[data-status="ok"] a').getAttribute("href"), "report-gzip.html");
  assert.deepEqual(requests, [url]);
});
