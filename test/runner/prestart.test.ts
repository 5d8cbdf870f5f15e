/**
 * `tsdl start` / `tsdl run` with several notebooks start each notebook's kernel while the one
 * before runs (once that one's kernel is ready; the second beside the first), so start-up overlaps the previous notebook's
 * cells; every notebook still gets a fresh kernel of its own, and a kernel started for a notebook
 * that never runs is shut down.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Notebook } from "../../kernel/nbformat/types";
import { startCommand, type CommandIO } from "../../kernel/runner/command";
import { readNotebook } from "../../kernel/nbformat/io";
import { childKernels } from "../helpers/processes";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tsdl-prestart-test-"));
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  assert.deepEqual(childKernels(), [], "a kernel process was left behind");
});

const SLEEP_MS = 5000;
const notebook = (source: string): Notebook => ({
  nbformat: 4, nbformat_minor: 5, metadata: {},
  cells: [{ cell_type: "code", id: "c", metadata: {}, source, outputs: [], execution_count: null }],
});
// Each cell prints its kernel's pid, when that kernel process started, and when the cell ended.
const report = "console.log(JSON.stringify({ pid: process.pid, started: Date.now() - process.uptime() * 1000, ended: Date.now() }))";

function printed(file: string): { pid: number; started: number; ended: number } {
  const out = readNotebook(file).cells[0];
  assert.ok(out.cell_type === "code" && out.outputs[0]?.output_type === "stream", `${file}: expected one stream output`);
  return JSON.parse(String((out.outputs[0] as { text: string | string[] }).text).trim());
}

async function start(dir: string, extra: { prestart?: boolean } = {}): Promise<{ status: number; out: string; reports: string }> {
  let out = "";
  const io: CommandIO = {
    out: { write: (s: string) => ((out += s), true) } as unknown as NodeJS.WritableStream,
    err: { write: (s: string) => ((out += s), true) } as unknown as NodeJS.WritableStream,
  };
  const reports = path.join(dir, "reports");
  const status = await startCommand(["--notebooks", path.join(dir, "notebooks"), "--out", reports], io, { env: { TSDL_BACKEND: "cpu" }, ...extra });
  return { status, out, reports };
}

function setUp(name: string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(path.join(dir, "notebooks"), { recursive: true });
  fs.writeFileSync(path.join(dir, "notebooks", "a-sleep.ipynb"), JSON.stringify(notebook(`await new Promise((r) => setTimeout(r, ${SLEEP_MS}));\n${report}`)));
  fs.writeFileSync(path.join(dir, "notebooks", "b-next.ipynb"), JSON.stringify(notebook(report)));
  return dir;
}

test("the next notebook's kernel starts while the one before runs; each notebook has its own kernel; one started for an unreadable notebook is shut down", async () => {
  const dir = setUp("on");
  fs.writeFileSync(path.join(dir, "notebooks", "c-broken.ipynb"), "{ not json");
  const { status, out, reports } = await start(dir);
  assert.equal(status, 1, out); // c-broken fails, the others run
  assert.match(out, /2 of 3 notebooks ok; failed: c-broken/);
  const a = printed(path.join(reports, "a-sleep.ipynb"));
  const b = printed(path.join(reports, "b-next.ipynb"));
  assert.notEqual(a.pid, b.pid, "a fresh kernel per notebook");
  assert.ok(b.started < a.ended, `b's kernel started ${((a.ended - b.started) / 1000).toFixed(1)} s before a's ${SLEEP_MS / 1000}-s cell ended; expected it started during that cell`);
  // a is the first notebook, which starts its own kernel: b's starts beside it, not once a's is ready.
  const aReady = a.ended - SLEEP_MS;
  assert.ok(b.started < a.started + (aReady - a.started) / 2, `b's kernel started ${((b.started - a.started) / 1000).toFixed(1)} s after a's, which was ready ${((aReady - a.started) / 1000).toFixed(1)} s after its start; expected b's to start with a's`);
  assert.deepEqual(childKernels(), [], "the kernel started for c-broken was shut down");
});

test("prestart: false starts each kernel only when its notebook's turn comes", async () => {
  const { status, out, reports } = await start(setUp("off"), { prestart: false });
  assert.equal(status, 0, out);
  const a = printed(path.join(reports, "a-sleep.ipynb"));
  const b = printed(path.join(reports, "b-next.ipynb"));
  assert.ok(b.started > a.ended, `expected b's kernel to start after a's cell ended, found ${((a.ended - b.started) / 1000).toFixed(1)} s before`);
});
