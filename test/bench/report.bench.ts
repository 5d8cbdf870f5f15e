/**
 * Reports and the runner, in figures: report size without charts, with plotly.js gzipped and
 * plain; render time; time for Chromium to draw the charts (gzip relative to plain, same
 * process); and the runner's time on a notebook relative to the bare kernel client running the
 * same cells (same process, so the ratio is what counts on a noisy machine). Asserts nothing.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { KernelClient } from "../../kernel/client";
import { readNotebook } from "../../kernel/nbformat/io";
import { joinText, type Notebook } from "../../kernel/nbformat/types";
import { renderNotebookHtml } from "../../kernel/report/render";
import { runNotebook } from "../../kernel/runner/run";
import { launchBrowser } from "../helpers/browser";

const FIXTURES = path.join(__dirname, "..", "..", "..", "test", "fixtures");
const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;

function withoutCharts(nb: Notebook): Notebook {
  const copy = structuredClone(nb);
  for (const c of copy.cells) {
    if (c.cell_type === "code") c.outputs = c.outputs.filter((o) => !("data" in o && "application/vnd.plotly.v1+json" in o.data));
  }
  return copy;
}

async function main(): Promise<void> {
  const nb = readNotebook(path.join(FIXTURES, "report-sample.ipynb"));
  let t = performance.now();
  const gzip = renderNotebookHtml(nb, { plotly: "gzip" });
  const firstMs = performance.now() - t;
  t = performance.now();
  renderNotebookHtml(nb, { plotly: "gzip" });
  const againMs = performance.now() - t;
  const plain = renderNotebookHtml(nb, { plotly: "plain" });
  const none = renderNotebookHtml(withoutCharts(nb));
  console.log("report size (test/fixtures/report-sample.ipynb):");
  console.log(`  without charts           ${kib(Buffer.byteLength(none))}  (KaTeX CSS + woff2 fonts, highlight.js CSS, page)`);
  console.log(`  with plotly.js gzipped   ${kib(Buffer.byteLength(gzip))}  (default)`);
  console.log(`  with plotly.js plain     ${kib(Buffer.byteLength(plain))}  (${(Buffer.byteLength(plain) / Buffer.byteLength(gzip)).toFixed(2)}x the gzipped page)`);
  console.log(`render time: first ${firstMs.toFixed(0)} ms (reads assets, gzips plotly.js once per process), then ${againMs.toFixed(0)} ms`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsdl-bench-report-"));
  const browser = await launchBrowser();
  try {
    const drawn: Record<string, number[]> = { gzip: [], plain: [] };
    const readable: Record<string, number[]> = { gzip: [], plain: [] };
    for (const [name, html] of [["gzip", gzip], ["plain", plain], ["gzip", gzip], ["plain", plain]] as const) {
      const file = path.join(dir, `${name}.html`);
      fs.writeFileSync(file, html);
      const t0 = performance.now();
      const { page } = await browser.open(file);
      await page.waitForFunction(() => document.body.hasAttribute("data-plotly"), null, { timeout: 120_000 });
      drawn[name].push(performance.now() - t0);
      // DOMContentLoaded: the text of the report is on screen (a plain <script> of 10 MB holds it back).
      readable[name].push(await page.evaluate(() => (performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming).domContentLoadedEventEnd));
      await page.close();
    }
    const best = (xs: number[]) => Math.min(...xs);
    console.log(
      `chromium, best of 2: page readable (DOMContentLoaded) gzip ${best(readable.gzip).toFixed(0)} ms, plain ${best(readable.plain).toFixed(0)} ms; ` +
        `charts drawn gzip ${best(drawn.gzip).toFixed(0)} ms, plain ${best(drawn.plain).toFixed(0)} ms; gzip/plain = ${(best(drawn.gzip) / best(drawn.plain)).toFixed(2)}`,
    );
  } finally {
    await browser.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  // The runner against the bare client on the same cells (one kernel each, CPU backend). Kernel
  // start-up (7-11 s here, mostly loading TensorFlow.js and TypeScript) swamps everything else,
  // so the cells are timed alone: from the first cell's start to the last cell's end.
  const outputs = readNotebook(path.join(FIXTURES, "outputs.ipynb"));
  const env = { TSDL_BACKEND: "cpu" };
  // Per-cell times; each cell's best over 3 alternating rounds, summed, damps the machine's noise.
  const runnerCells: number[][] = [];
  const bareCells: number[][] = [];
  const startMs: number[] = [];
  for (let round = 0; round < 3; round++) {
    const s0 = performance.now();
    const r: number[] = [];
    await runNotebook(outputs, {
      env,
      allowErrors: true,
      progress: {
        cellStart: (i) => i === 1 && startMs.push(performance.now() - s0),
        cellDone: (_i, _n, _s, seconds) => r.push(seconds * 1000),
      },
    });
    runnerCells.push(r);
    const kernel = await KernelClient.start({ env });
    const b: number[] = [];
    try {
      await kernel.execute("", { silent: true, storeHistory: false });
      for (const c of outputs.cells) {
        if (c.cell_type !== "code" || !joinText(c.source).trim()) continue;
        t = performance.now();
        await kernel.execute(joinText(c.source), { stopOnError: false });
        b.push(performance.now() - t);
      }
    } finally {
      await kernel.close();
    }
    bareCells.push(b);
  }
  const sumOfBest = (rounds: number[][]) => rounds[0].reduce((s, _x, i) => s + Math.min(...rounds.map((r) => r[i])), 0);
  const runner = sumOfBest(runnerCells);
  const bare = sumOfBest(bareCells);
  console.log(`kernel start to first cell (runner, best of 3): ${Math.min(...startMs).toFixed(0)} ms`);
  console.log(
    `test/fixtures/outputs.ipynb, ${runnerCells[0].length} cells (sum of per-cell best of 3): runner ${runner.toFixed(0)} ms, ` +
      `bare KernelClient ${bare.toFixed(0)} ms; runner/bare = ${(runner / bare).toFixed(2)}`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
