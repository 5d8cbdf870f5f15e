/**
 * `tsdl run` and `tsdl start` against the real tsdl kernel over ZeroMQ, on small fixture
 * notebooks: every output kind, an error cell, --allow-errors, a timeout, Ctrl-C, a kernel that
 * dies, the main job, and no kernel process left behind in any case. Every notebook written is
 * validated against the official nbformat schema.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { CodeCell, Notebook, Output } from "../../kernel/nbformat/types";
import { readNotebook } from "../../kernel/nbformat/io";
import { validateNotebook } from "../../kernel/nbformat/validate";
import { runCommand, startCommand, type CommandIO } from "../../kernel/runner/command";
import { runNotebook } from "../../kernel/runner/run";
import { pythonPath, requires } from "../helpers/components";
import { childKernels, isAlive, waitGone } from "../helpers/processes";

const ROOT = path.join(__dirname, "..", "..", "..");
const FIXTURES = path.join(ROOT, "test", "fixtures");
const LAUNCHER = path.join(ROOT, "kernel", "bin", "tsdl.js");
// Exact numbers and quick start-up: the CPU backend.
const KERNEL_ENV = { TSDL_BACKEND: "cpu" };

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tsdl-run-test-"));
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  assert.deepEqual(childKernels(), [], "a kernel process was left behind");
});

function capture(): CommandIO & { stdout(): string; stderr(): string } {
  let out = "";
  let err = "";
  return {
    out: { write: (s: string) => ((out += s), true) } as unknown as NodeJS.WritableStream,
    err: { write: (s: string) => ((err += s), true) } as unknown as NodeJS.WritableStream,
    stdout: () => out,
    stderr: () => err,
  };
}

/** Reads a written notebook, asserting it is valid nbformat 4 on disk. */
function readValid(file: string): Notebook {
  const raw = JSON.parse(fs.readFileSync(file, "utf8"));
  assert.deepEqual(validateNotebook(raw), [], `${file} is not valid nbformat 4`);
  return readNotebook(file);
}

const code = (nb: Notebook) => nb.cells.filter((c): c is CodeCell => c.cell_type === "code");
const text = (o: Output | undefined) => (o && "data" in o ? String(o.data["text/plain"]) : o && o.output_type === "stream" ? String(o.text) : "");

test("tsdl run: every output kind collected as Jupyter does; the error cell stops the run with one line; the notebook is still written", async () => {
  const out = path.join(tmp, "stop");
  const io = capture();
  let pid: number | undefined;
  const status = await runCommand([path.join(FIXTURES, "outputs.ipynb"), "--out", out, "--html", "--quick"], io, {
    env: KERNEL_ENV,
    onKernelStarted: (p) => (pid = p),
  });
  assert.equal(status, 1);
  assert.ok(pid !== undefined && !isAlive(pid), "the kernel process is gone");
  // Exactly one line names the notebook, the cell number (among all cells) and the error.
  const errLines = io.stderr().split("\n").filter((l) => l.startsWith("tsdl run:"));
  assert.deepEqual(errLines, [`tsdl run: ${path.join(FIXTURES, "outputs.ipynb")}: cell 8: TypeError: boom <b>`]);
  assert.doesNotMatch(io.stderr(), /warning/, "a tsdl notebook gets no kernelspec warning");
  // Not a terminal: plain progress lines, naming the failing cell as the error line does.
  assert.match(io.stderr(), /outputs: cell 8 error in \d+\.\d s \(code cell 6 of 7, /);
  assert.doesNotMatch(io.stderr(), /cell 6\/7/);

  const nb = readValid(path.join(out, "outputs.ipynb"));
  const [streams, displayed, again, update, chart, empty, failing, after] = code(nb);
  // Streams: consecutive writes to stdout merged into one output; stderr between them splits.
  assert.deepEqual(streams.outputs, [
    { output_type: "stream", name: "stdout", text: "one\ntwo\n" },
    { output_type: "stream", name: "stderr", text: "warn\n" },
    { output_type: "stream", name: "stdout", text: "three\n" },
  ]);
  // display_data with id "shared" in two cells, both redrawn by the update in a third cell.
  assert.deepEqual(displayed.outputs[0], { output_type: "display_data", data: { "text/plain": "v2", "text/html": "<b>v2</b>" }, metadata: {} });
  assert.deepEqual(again.outputs.map(text), ["v2", "no id"]);
  assert.deepEqual(update.outputs, []);
  // execute_result with its execution_count, equal to the cell's.
  assert.deepEqual(displayed.outputs[1], { output_type: "execute_result", execution_count: 2, data: { "text/plain": "42" }, metadata: {} });
  assert.deepEqual(code(nb).map((c) => c.execution_count), [1, 2, 3, 4, 5, null, 6, null]);
  // A plotly bundle, and TSDL_QUICK reached the kernel (--quick).
  assert.equal(chart.outputs[0].output_type, "display_data");
  assert.ok("application/vnd.plotly.v1+json" in (chart.outputs[0] as { data: object }).data);
  assert.equal(text(chart.outputs[1]), "quick=1\n");
  assert.deepEqual(empty.outputs, []);
  // The error output, and nothing after it ran.
  assert.equal(failing.outputs.length, 1);
  assert.deepEqual({ ...failing.outputs[0], traceback: undefined }, { output_type: "error", ename: "TypeError", evalue: "boom <b>", traceback: undefined });
  assert.match((failing.outputs[0] as { traceback: string[] }).traceback.join("\n"), /at <cell 6>:1:7/);
  assert.deepEqual(after.outputs, []);
  // Metadata: the kernelspec, the kernel's language_info, timings, and the run summary.
  assert.deepEqual(nb.metadata.kernelspec, { name: "tsdl", display_name: "TypeScript (tsdl)", language: "typescript" });
  assert.equal(nb.metadata.language_info?.name, "typescript");
  const timing = streams.metadata.execution ?? {};
  assert.ok(timing["iopub.status.busy"]! <= timing["iopub.execute_input"]! && timing["shell.execute_reply"]! <= timing["iopub.status.idle"]!);
  const run = (nb.metadata.tsdl as { run: Record<string, unknown> }).run;
  assert.equal(run.status, "error");
  assert.equal(run.failed_cell, 8);
  assert.equal(run.error, "TypeError: boom <b>");

  // --html: the report sits beside it, with plotly embedded once.
  const html = fs.readFileSync(path.join(out, "outputs.html"), "utf8");
  assert.equal((html.match(/id="tsdl-plotly-js"/g) ?? []).length, 1);
  assert.match(html, /boom &lt;b&gt;/);
  assert.deepEqual(fs.readdirSync(out).sort(), ["outputs.html", "outputs.ipynb"], "no temporary files are left");
});

test("tsdl run --allow-errors runs past the error cell, records it, and exits 0 with a note", async () => {
  const out = path.join(tmp, "allow");
  const io = capture();
  let pid: number | undefined;
  const status = await runCommand([path.join(FIXTURES, "outputs.ipynb"), "--out", out, "--allow-errors"], io, {
    env: KERNEL_ENV,
    onKernelStarted: (p) => (pid = p),
  });
  assert.equal(status, 0, io.stderr());
  assert.ok(pid !== undefined && !isAlive(pid));
  assert.match(io.stderr(), /tsdl run: note: .*outputs\.ipynb: cell 8: TypeError: boom <b> \(run past with --allow-errors\)/);
  const nb = readValid(path.join(out, "outputs.ipynb"));
  const cells = code(nb);
  assert.equal(cells[6].outputs[0].output_type, "error");
  assert.deepEqual(cells[7].outputs, [{ output_type: "stream", name: "stdout", text: "after the error\n" }]);
  assert.equal(cells[7].execution_count, 7);
  assert.equal(text(cells[4].outputs[1]), process.env.TSDL_QUICK ? `quick=${process.env.TSDL_QUICK}\n` : "quick=unset\n", "without --quick the kernel sees the runner's own environment");
  const run = (nb.metadata.tsdl as { run: Record<string, unknown> }).run;
  assert.equal(run.status, "ok");
  assert.deepEqual(run.errors, [{ cell: 8, error: "TypeError: boom <b>" }]);
});

test("tsdl run on a Python notebook warns once, naming its kernelspec, before running it as TypeScript", async () => {
  const file = path.join(tmp, "python.ipynb");
  const nb = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "python3", display_name: "Python 3 (ipykernel)", language: "python" }, language_info: { name: "python" } },
    cells: [{ cell_type: "code", id: "a", metadata: {}, execution_count: null, outputs: [], source: ["const n: number = 6 * 7;\n", "console.log(n);"] }],
  };
  fs.writeFileSync(file, JSON.stringify(nb));
  const io = capture();
  const status = await runCommand([file, "--out", path.join(tmp, "python-out")], io, { env: KERNEL_ENV });
  assert.equal(status, 0, io.stderr());
  const warnings = io.stderr().split("\n").filter((l) => /warning/.test(l));
  assert.deepEqual(warnings, [
    `tsdl run: warning: ${file}: its kernelspec "python3" (Python 3 (ipykernel)) names the language "python", not TypeScript; running its cells as TypeScript in the tsdl kernel anyway`,
  ]);
  assert.ok(io.stderr().indexOf("warning") < io.stderr().indexOf("starting the kernel"), "the warning comes before the run");
  const out = readValid(path.join(tmp, "python-out", "python.ipynb"));
  assert.equal(text(code(out)[0].outputs[0]), "42\n", "it ran as TypeScript");
  assert.equal(out.metadata.kernelspec?.name, "tsdl");
});

test("the written notebook re-executes in Debian's nbclient with the installed tsdl kernelspec, and nbconvert renders it", { skip: requires("jupyter") }, async () => {
  const prefix = path.join(tmp, "prefix");
  const install = run(process.execPath, [LAUNCHER, "kernel", "install", "--prefix", prefix]);
  assert.equal(install.status, 0, install.stderr);
  const jupyterPath = path.join(prefix, "share", "jupyter");
  assert.ok(fs.existsSync(path.join(jupyterPath, "kernels", "tsdl", "kernel.json")));

  const written = path.join(tmp, "allow", "outputs.ipynb");
  const reexecuted = path.join(tmp, "reexecuted.ipynb");
  const script = `
import sys, json, nbformat, nbclient
nb = nbformat.read(sys.argv[1], as_version=4)
nbformat.validate(nb)
client = nbclient.NotebookClient(nb, timeout=120, allow_errors=True)
client.execute()
assert client.kernel_name == "tsdl", client.kernel_name
nbformat.write(nb, sys.argv[2])
`;
  const py = run(pythonPath(), ["-c", script, written, reexecuted], {
    env: { ...process.env, ...KERNEL_ENV, JUPYTER_PATH: jupyterPath, JUPYTER_DATA_DIR: path.join(tmp, "jupyter-data"), JUPYTER_RUNTIME_DIR: path.join(tmp, "jupyter-runtime") },
    timeoutMs: 180_000,
  });
  assert.equal(py.status, 0, py.stderr);
  const nb = readValid(reexecuted);
  const cells = code(nb);
  assert.equal(text(cells[1].outputs[1]), "42");
  assert.equal(cells[1].outputs[1].output_type, "execute_result");
  assert.equal(text(cells[1].outputs[0]), "v2", "nbclient applied the update by display id too");
  assert.equal(cells[6].outputs[0].output_type, "error");
  assert.equal(text(cells[7].outputs[0]), "after the error\n");

  const conv = run(pythonPath(), ["-m", "nbconvert", "--to", "html", written, "--output-dir", path.join(tmp, "nbconvert")], {
    env: { ...process.env, JUPYTER_PATH: jupyterPath },
    timeoutMs: 120_000,
  });
  assert.equal(conv.status, 0, conv.stderr);
  const html = fs.readFileSync(path.join(tmp, "nbconvert", "outputs.html"), "utf8");
  assert.match(html, /after the error/);
  assert.match(html, /boom &lt;b&gt;/);
});

test("--timeout interrupts the endless cell, records the timeout in it, stops, and shuts the kernel down", async () => {
  const out = path.join(tmp, "timeout");
  const marker = path.join(tmp, "timeout.pid");
  const io = capture();
  const t0 = Date.now();
  const status = await runCommand([path.join(FIXTURES, "timeout.ipynb"), "--out", out, "--timeout", "2"], io, {
    env: { ...KERNEL_ENV, TSDL_TEST_MARKER: marker },
  });
  assert.equal(status, 1);
  const kernelPid = Number(fs.readFileSync(marker, "utf8"));
  assert.ok(await waitGone(kernelPid, 100), "the kernel process is gone when the runner returns");
  assert.ok(Date.now() - t0 < 60_000);
  assert.match(io.stderr(), /tsdl run: .*timeout\.ipynb: cell 2: CellTimeoutError: the cell ran longer than the 2 s timeout \(--timeout\) and was interrupted\n/);
  const nb = readValid(path.join(out, "timeout.ipynb"));
  const [first, endless, never] = code(nb);
  assert.equal(text(first.outputs[0]), "before\n");
  const errors = endless.outputs.filter((o) => o.output_type === "error").map((o) => (o as { ename: string }).ename);
  assert.equal(errors[errors.length - 1], "CellTimeoutError");
  assert.equal(endless.execution_count, 2);
  assert.deepEqual(never.outputs, []);
  assert.equal(never.execution_count, null);
  assert.equal((nb.metadata.tsdl as { run: { status: string } }).run.status, "timeout");
});

test("Ctrl-C (SIGINT to the runner) interrupts the kernel, writes what ran, exits 130, and leaves no kernel", async () => {
  const out = path.join(tmp, "sigint");
  const marker = path.join(tmp, "sigint.pid");
  const child = spawn(process.execPath, [LAUNCHER, "run", path.join(FIXTURES, "slow.ipynb"), "--out", out], {
    env: { ...process.env, ...KERNEL_ENV, TSDL_TEST_MARKER: marker },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  // The cell writes the kernel's pid to the marker file, then waits two minutes.
  const deadline = Date.now() + 60_000;
  while (!(fs.existsSync(marker) && fs.readFileSync(marker, "utf8") !== "")) {
    assert.ok(Date.now() < deadline, `the slow cell never started: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const kernelPid = Number(fs.readFileSync(marker, "utf8"));
  assert.ok(isAlive(kernelPid));
  child.kill("SIGINT");
  const exitCode = await exited;
  assert.equal(exitCode, 130, stderr);
  assert.ok(await waitGone(kernelPid, 2000), "the kernel process is gone");
  assert.match(stderr, /tsdl run: .*slow\.ipynb: cell 1: KeyboardInterrupt: the run was stopped \(Ctrl-C\) and the cell was interrupted/);
  const nb = readValid(path.join(out, "slow.ipynb"));
  const [slow, never] = code(nb);
  assert.equal(text(slow.outputs[0]), "started\n");
  assert.ok(slow.outputs.some((o) => o.output_type === "error"));
  assert.deepEqual(never.outputs, []);
  assert.equal((nb.metadata.tsdl as { run: { status: string } }).run.status, "interrupted");
});

test("a kernel that dies is reported with the cell that killed it, and what ran before is kept", async () => {
  let pid: number | undefined;
  const result = await runNotebook(readNotebook(path.join(FIXTURES, "die.ipynb")), { env: KERNEL_ENV, onKernelStarted: (p) => (pid = p) });
  assert.ok(pid !== undefined && !isAlive(pid));
  assert.equal(result.status, "died");
  assert.equal(result.failedCell, 2);
  assert.equal(result.error, "KernelDied: the kernel died while running this cell (signal SIGKILL)");
  const [alive, killer, never] = code(result.notebook);
  assert.equal(text(alive.outputs[0]), "alive\n");
  assert.equal((killer.outputs[killer.outputs.length - 1] as { ename: string }).ename, "KernelDied");
  assert.deepEqual(never.outputs, []);
});

test("tsdl run: bad usage exits 2 with the reason; an unreadable notebook is one line and starts no kernel", async () => {
  let io = capture();
  assert.equal(await runCommand([], io), 2);
  assert.match(io.stderr(), /^tsdl run: expected at least one notebook \(\.ipynb\), found none\n/);
  io = capture();
  assert.equal(await runCommand(["a.ipynb", "--timeout", "soon"], io), 2);
  assert.match(io.stderr(), /--timeout expects a positive number of seconds, found "soon"/);
  io = capture();
  let started = false;
  const missing = path.join(tmp, "missing.ipynb");
  assert.equal(await runCommand([missing, "--out", path.join(tmp, "none")], io, { onKernelStarted: () => (started = true) }), 1);
  assert.equal(started, false);
  assert.deepEqual(io.stderr().split("\n").filter(Boolean), [`tsdl run: ${missing}: cannot read: ENOENT: no such file or directory, open '${missing}'`]);
  assert.equal(fs.existsSync(path.join(tmp, "none")), false);
});

test("a kernel that cannot start gives a 'died' run with the reason, not an exception", async () => {
  const result = await runNotebook(readNotebook(path.join(FIXTURES, "die.ipynb")), {
    kernel: { argv: [process.execPath, "-e", "console.error('no kernel here'); process.exit(3)"], readyTimeoutMs: 20_000 },
  });
  assert.equal(result.status, "died");
  assert.equal(result.executed, 0);
  assert.match(result.error ?? "", /^KernelStartError: the kernel could not be started: the kernel exited.* \(exit code 3\)/);
  assert.match(result.error ?? "", /no kernel here/);
  assert.equal((result.notebook.metadata.tsdl as { run: { status: string } }).run.status, "died");
});

test("tsdl start (npm start): every notebook in name order to reports/, an index with status and time, non-zero when one failed", async () => {
  const notebooks = path.join(tmp, "notebooks");
  fs.mkdirSync(notebooks);
  const ok: Notebook = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: [
      { cell_type: "markdown", id: "t", metadata: {}, source: "# Quick check" },
      { cell_type: "code", id: "q", metadata: {}, source: 'console.log("quick=" + process.env.TSDL_QUICK)', outputs: [], execution_count: null },
    ],
  };
  fs.writeFileSync(path.join(notebooks, "b-ok.ipynb"), JSON.stringify(ok));
  fs.writeFileSync(path.join(notebooks, "a-broken.ipynb"), "{ not json");
  fs.writeFileSync(path.join(notebooks, "notes.txt"), "not a notebook");
  const out = path.join(tmp, "reports");
  const io = capture();
  const status = await startCommand(["--notebooks", notebooks, "--out", out, "--quick"], io, { env: KERNEL_ENV });
  assert.equal(status, 1);
  assert.deepEqual(fs.readdirSync(out).sort(), ["b-ok.html", "b-ok.ipynb", "index.html"]);
  assert.equal(text(code(readValid(path.join(out, "b-ok.ipynb")))[0].outputs[0]), "quick=1\n");
  assert.match(fs.readFileSync(path.join(out, "b-ok.html"), "utf8"), /<title>Quick check<\/title>/);
  const index = fs.readFileSync(path.join(out, "index.html"), "utf8");
  const rows = [...index.matchAll(/<tr data-notebook="([^"]+)" data-status="([^"]+)">/g)].map((m) => [m[1], m[2]]);
  assert.deepEqual(rows, [
    ["a-broken", "failed"],
    ["b-ok", "ok"],
  ]);
  assert.match(index, /<a href="b-ok.html">b-ok<\/a>/);
  assert.match(index, /<td class="muted">not JSON: /);
  assert.match(index, /<td class="status-ok">ok<\/td><td style="text-align:right">\d+\.\d s<\/td>/);
  assert.match(io.stdout(), new RegExp(`reports: ${out.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/index\\.html\\n1 of 2 notebooks ok; failed: a-broken`));
  assert.match(io.stderr(), /tsdl start: .*a-broken\.ipynb: not JSON/);
});

function run(cmd: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) {
  const r = spawnSync(cmd, args, { env: options.env ?? process.env, encoding: "utf8", timeout: options.timeoutMs ?? 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: `${r.stderr}${r.error ? `\n${r.error.message}` : ""}` };
}
