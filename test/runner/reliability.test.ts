/**
 * The runner under faults (issue 9), through the real kernel over ZeroMQ: a cell that prints
 * 50 MB and one that throws a 3 MB message are stored cut to the runner's stated limits while the
 * kernel keeps its variables; output text that looks like HTML stays text in the report, in a
 * real browser; a kernel that dies anyway is reported with the cell that killed it and the
 * notebook that ran is written. Output caps are also checked on the collector alone.
 *
 * Covered elsewhere: `runNotebook` on a dying kernel (run.test.ts "a kernel that dies"), the
 * stream cap on synthetic messages (outputs.test.ts), escaped stream text in the report fixture
 * (report/browser.test.ts).
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { CodeCell, ErrorOutput, Notebook, StreamOutput } from "../../kernel/nbformat/types";
import { readNotebook, writeNotebook } from "../../kernel/nbformat/io";
import { writeReport } from "../../kernel/report/index";
import { runCommand, type CommandIO } from "../../kernel/runner/command";
import { DEFAULT_MAX_OUTPUT_CHARS, DEFAULT_MAX_STREAM_CHARS, OutputCollector } from "../../kernel/runner/outputs";
import { runNotebook } from "../../kernel/runner/run";
import type { IopubMessage } from "../../kernel/protocol";
import { launchBrowser } from "../helpers/browser";
import { requires } from "../helpers/components";
import { childKernels } from "../helpers/processes";

const ROOT = path.join(__dirname, "..", "..", "..");
const KERNEL_ENV = { TSDL_BACKEND: "cpu" };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tsdl-rel-run-"));
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  assert.deepEqual(childKernels(), [], "a kernel process was left behind");
});

function notebook(sources: string[]): Notebook {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: sources.map((source, i) => ({ cell_type: "code", id: `c${i}`, metadata: {}, source, outputs: [], execution_count: null })),
  };
}

const code = (nb: Notebook) => nb.cells.filter((c): c is CodeCell => c.cell_type === "code");

test(`50 MB of stdout and a 3 MB error are stored cut to ${DEFAULT_MAX_STREAM_CHARS} characters; the kernel keeps its variables; HTML in outputs stays text in the report`, async (t) => {
  const nb = notebook([
    "const kept = 21;",
    'const line = "x".repeat(99_999) + "\\n";\nfor (let i = 0; i < 500; i++) process.stdout.write(i === 0 ? "first line\\n" : i === 499 ? "y".repeat(99_999) + "\\nlast line\\n" : line);',
    "kept * 2",
    'throw new Error("E".repeat(3_000_000))',
    'console.log("\\x1b[31m<img src=x onerror=\\"window.__pwned = 1\\">\\x1b[0m");\nconsole.error("<script>window.__pwned = 2</script><img src=y onerror=window.__pwned=3>");',
  ]);
  const result = await runNotebook(nb, { env: KERNEL_ENV, allowErrors: true });
  assert.equal(result.status, "ok", result.error);
  assert.deepEqual(result.errors.map((e) => e.cell), [4]);
  const [, flood, answer, thrown, html] = code(result.notebook);
  // The flood: one stream output, head and tail kept, a note saying what was dropped.
  assert.equal(flood.outputs.length, 1);
  const text = String((flood.outputs[0] as StreamOutput).text);
  assert.ok(text.startsWith("first line\n"));
  assert.ok(text.endsWith("y".repeat(1000) + "\nlast line\n"));
  const dropped = Number(/\[\.\.\. tsdl run dropped (\d+) characters of stdout here: the runner keeps at most 1000000 characters per stream output \.\.\.\]/.exec(text)?.[1]);
  const printed = "first line\n".length + 498 * 100_000 + 100_000 + "last line\n".length;
  assert.equal(dropped, printed - DEFAULT_MAX_STREAM_CHARS, "every character is either kept or counted as dropped");
  assert.ok(text.length < DEFAULT_MAX_STREAM_CHARS + 200);
  // The kernel was responsive and kept the session.
  assert.equal((answer.outputs[0] as { data: Record<string, unknown> }).data["text/plain"], "42");
  // The 3 MB error message is cut the same way.
  const err = thrown.outputs.find((o): o is ErrorOutput => o.output_type === "error")!;
  assert.ok(err.evalue.length < DEFAULT_MAX_STREAM_CHARS + 200, `evalue of ${err.evalue.length} characters`);
  assert.match(err.evalue, /\[\.\.\. tsdl run dropped 2000000 characters of this error's evalue here/);
  assert.ok(err.traceback.join("\n").length < 2 * DEFAULT_MAX_STREAM_CHARS);
  // The notebook on disk is small.
  const file = path.join(tmp, "flood.ipynb");
  writeNotebook(file, result.notebook);
  const bytes = fs.statSync(file).size;
  assert.ok(bytes < 3_500_000, `the notebook is ${bytes} bytes`);
  console.log(`# 50 MB stdout + 3 MB error: notebook written is ${(bytes / 1e6).toFixed(1)} MB`);

  // The report of that run: the HTML-looking output is text, nothing in it runs.
  assert.equal(html.outputs.length, 2);
  const report = path.join(tmp, "flood.html");
  writeReport(result.notebook, report);
  await t.test("the report in Chromium: HTML-looking output is text, nothing in it runs", { skip: requires("chromium") }, async () => {
    const browser = await launchBrowser();
    try {
      const { page, errors } = await browser.open(report);
      assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined, "no output text ran");
      assert.equal(await page.locator('img[src="x"], img[src="y"]').count(), 0);
      const shown = (await page.locator(".output.stream pre").allTextContents()).join("\n");
      assert.ok(shown.includes('<img src=x onerror="window.__pwned = 1">'), "the stdout text is shown as text, its colour codes removed");
      assert.ok(shown.includes("<script>window.__pwned = 2</script><img src=y onerror=window.__pwned=3>"));
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });
});

test("a kernel that dies anyway: tsdl run names the cell that killed it and writes the notebook that ran", async () => {
  const out = path.join(tmp, "died");
  let err = "";
  const io: CommandIO = {
    out: { write: () => true } as unknown as NodeJS.WritableStream,
    err: { write: (s: string) => ((err += s), true) } as unknown as NodeJS.WritableStream,
  };
  const status = await runCommand([path.join(ROOT, "test", "fixtures", "die.ipynb"), "--out", out], io, { env: KERNEL_ENV });
  assert.equal(status, 1);
  assert.match(err, /tsdl run: .*die\.ipynb: cell 2: KernelDied: the kernel died while running this cell \(signal SIGKILL\)/);
  const written = readNotebook(path.join(out, "die.ipynb"));
  const [alive, killer, never] = code(written);
  assert.equal((alive.outputs[0] as StreamOutput).text, "alive\n");
  assert.equal((killer.outputs.at(-1) as ErrorOutput).ename, "KernelDied");
  assert.deepEqual(never.outputs, []);
  assert.equal((written.metadata.tsdl as { run: { status: string; failed_cell: number } }).run.status, "died");
  assert.equal((written.metadata.tsdl as { run: { failed_cell: number } }).run.failed_cell, 2);
});

test(`display and execute_result bundles over the limit (${DEFAULT_MAX_OUTPUT_CHARS} characters by default) are stored as a note; updates too`, () => {
  const collector = new OutputCollector(100, 1000);
  const cell: CodeCell = { cell_type: "code", id: "c", metadata: {}, source: "", outputs: [], execution_count: null };
  collector.beginCell(cell);
  const msg = (type: string, content: object) => ({ header: { msg_type: type }, parent_header: {}, metadata: {}, content, buffers: [] }) as unknown as IopubMessage;
  collector.handle(msg("display_data", { data: { "text/plain": "small" }, metadata: {}, transient: { display_id: "d" } }));
  collector.handle(msg("update_display_data", { data: { "text/html": "<b>" + "z".repeat(2000) + "</b>", "text/plain": "big" }, metadata: {}, transient: { display_id: "d" } }));
  collector.handle(msg("execute_result", { execution_count: 1, data: { "application/json": { a: "q".repeat(1500) } }, metadata: {} }));
  collector.handle(msg("error", { ename: "E", evalue: "v".repeat(500), traceback: ["t".repeat(300)] }));
  collector.finishCell();
  const [display, result, error] = cell.outputs as [{ data: Record<string, unknown> }, { data: Record<string, unknown> }, ErrorOutput];
  assert.deepEqual(display.data, {
    "text/plain": "[tsdl run dropped this update_display_data output: its 2010 characters (text/html, text/plain) are over the runner's limit of 1000 characters per output]",
  });
  assert.match(String(result.data["text/plain"]), /^\[tsdl run dropped this execute_result output: its 1508 characters \(application\/json\)/);
  assert.equal(error.evalue, `${"v".repeat(50)}\n[... tsdl run dropped 400 characters of this error's evalue here: the runner keeps at most 100 ...]\n${"v".repeat(50)}`);
  assert.ok(error.traceback.join("\n").length < 250);
});
