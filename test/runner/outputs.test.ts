/** The output collector on hand-made iopub messages: every rule nbclient and JupyterLab follow. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import type { CodeCell } from "../../kernel/nbformat/types";
import type { IopubMessage } from "../../kernel/protocol";
import { OutputCollector } from "../../kernel/runner/outputs";
import { barProgress, createProgress, lineProgress } from "../../kernel/runner/progress";

function cell(): CodeCell {
  return { cell_type: "code", id: "x", metadata: {}, source: "", outputs: [{ output_type: "stream", name: "stdout", text: "stale" }], execution_count: 9 };
}

function msg(type: string, content: Record<string, unknown>): IopubMessage {
  return { header: { msg_type: type, msg_id: "m", session: "s", username: "u", date: "2026-01-01T00:00:00Z", version: "5.3" }, parent_header: {}, metadata: {}, content } as unknown as IopubMessage;
}
const stream = (name: string, text: string) => msg("stream", { name, text });
const display = (text: string, id?: string, type = "display_data") =>
  msg(type, { data: { "text/plain": text }, metadata: { m: text }, ...(id ? { transient: { display_id: id } } : {}), ...(type === "execute_result" ? { execution_count: 3 } : {}) });

test("beginCell drops stale outputs and count; consecutive streams of one name merge, others do not", () => {
  const c = cell();
  const col = new OutputCollector();
  col.beginCell(c);
  assert.deepEqual(c.outputs, []);
  assert.equal(c.execution_count, null);
  col.handle(msg("execute_input", { code: "", execution_count: 3 }));
  for (const m of [stream("stdout", "a\n"), stream("stdout", "b"), stream("stdout", "c\n"), stream("stderr", "e\n"), stream("stdout", "d\n"), stream("stdout", "")]) col.handle(m);
  assert.equal(c.execution_count, 3);
  assert.deepEqual(c.outputs, [
    { output_type: "stream", name: "stdout", text: "a\nbc\n" },
    { output_type: "stream", name: "stderr", text: "e\n" },
    { output_type: "stream", name: "stdout", text: "d\n" },
  ]);
});

test("execute_result keeps its execution_count; errors are appended; status and comm messages are ignored", () => {
  const c = cell();
  const col = new OutputCollector();
  col.beginCell(c);
  col.handle(msg("status", { execution_state: "busy" }));
  col.handle(display("42", undefined, "execute_result"));
  col.handle(msg("comm_open", { comm_id: "c", target_name: "t", data: {} }));
  col.handle(msg("error", { ename: "TypeError", evalue: "x", traceback: ["TypeError: x"] }));
  assert.deepEqual(c.outputs, [
    { output_type: "execute_result", execution_count: 3, data: { "text/plain": "42" }, metadata: { m: "42" } },
    { output_type: "error", ename: "TypeError", evalue: "x", traceback: ["TypeError: x"] },
  ]);
  assert.equal(c.execution_count, 3);
});

test("update_display_data changes every output with that display id, in every cell, and nothing else", () => {
  const col = new OutputCollector();
  const a = cell();
  const b = cell();
  col.beginCell(a);
  col.handle(display("v1", "shared"));
  col.handle(display("other", "other"));
  col.beginCell(b);
  col.handle(display("v1 again", "shared"));
  col.handle(display("no id"));
  const c = cell();
  col.beginCell(c);
  col.handle(msg("update_display_data", { data: { "text/plain": "v2" }, metadata: { m: "v2" }, transient: { display_id: "shared" } }));
  col.handle(msg("update_display_data", { data: { "text/plain": "ghost" }, metadata: {}, transient: { display_id: "unknown" } }));
  const texts = (x: CodeCell) => x.outputs.map((o) => (o as unknown as { data: { "text/plain": string } }).data["text/plain"]);
  assert.deepEqual(texts(a), ["v2", "other"]);
  assert.deepEqual(texts(b), ["v2", "no id"]);
  assert.deepEqual(c.outputs, [], "an update adds no output");
  assert.deepEqual((a.outputs[0] as { metadata: unknown }).metadata, { m: "v2" });
  // As in nbclient, a new display with an existing id also redraws the earlier ones.
  col.handle(display("v3", "shared"));
  assert.deepEqual(texts(a), ["v3", "other"]);
  assert.deepEqual(texts(c), ["v3"]);
});

test("clear_output empties the cell now, or with wait=True just before the next output; cleared displays stop updating", () => {
  const col = new OutputCollector();
  const c = cell();
  col.beginCell(c);
  col.handle(display("tracked", "d"));
  col.handle(stream("stdout", "x\n"));
  col.handle(msg("clear_output", { wait: false }));
  assert.deepEqual(c.outputs, []);
  col.handle(msg("update_display_data", { data: { "text/plain": "after clear" }, metadata: {}, transient: { display_id: "d" } }));
  assert.deepEqual(c.outputs, []);

  col.handle(stream("stdout", "frame 1\n"));
  col.handle(msg("clear_output", { wait: true }));
  assert.equal(c.outputs.length, 1, "wait=True keeps the outputs until new output arrives");
  col.handle(stream("stdout", "frame 2\n"));
  assert.deepEqual(c.outputs, [{ output_type: "stream", name: "stdout", text: "frame 2\n" }]);
  col.handle(msg("clear_output", { wait: true }));
  col.handle(display("chart", "d"));
  assert.deepEqual(outputTypes(c), ["display_data"]);
});

test("a stream beyond the limit keeps its head and tail and says how much it dropped", () => {
  const col = new OutputCollector(100);
  const c = cell();
  col.beginCell(c);
  for (let i = 0; i < 100; i++) col.handle(stream("stdout", `line ${String(i).padStart(3, "0")}\n`));
  col.finishCell();
  const text = c.outputs[0].output_type === "stream" ? (c.outputs[0].text as string) : "";
  assert.ok(text.startsWith("line 000\nline 001\n"));
  assert.ok(text.endsWith("line 098\nline 099\n"));
  assert.match(text, /\[\.\.\. tsdl run dropped 800 characters of stdout here: the runner keeps at most 100 characters per stream output \.\.\.\]/);
  assert.ok(text.length < 300);
});

function outputTypes(c: CodeCell): string[] {
  return c.outputs.map((o) => o.output_type);
}

function sink(isTTY: boolean): NodeJS.WriteStream & { text(): string } {
  let out = "";
  const w = new Writable({
    write(chunk, _enc, cb) {
      out += String(chunk);
      cb();
    },
  }) as unknown as NodeJS.WriteStream & { text(): string };
  Object.assign(w, { isTTY, columns: 100, rows: 20, cursorTo: () => true, clearLine: () => true, moveCursor: () => true, text: () => out });
  return w;
}

test("progress: plain lines when not a terminal, a cli-progress bar with cell n of N and elapsed time on one", () => {
  const plain = sink(false);
  const p = createProgress("01-intro", plain);
  p.starting?.(3);
  // Code cells 1 and 2 of 3 are cells 2 and 4 of the notebook (markdown between them): lines name
  // them "cell 2" and "cell 4", as the error line does.
  p.cellDone?.(1, 3, "ok", 0.25, 2);
  p.cellDone?.(2, 3, "error", 1.5, 4);
  p.end("error", 2);
  assert.match(
    plain.text(),
    /^01-intro: starting the kernel, 3 code cells to run\n01-intro: cell 2 ok in 0\.3 s \(code cell 1 of 3, elapsed \d+\.\d s\)\n01-intro: cell 4 error in 1\.5 s \(code cell 2 of 3, /,
  );
  assert.equal(lineProgress("x", plain).cellStart, undefined);

  const tty = sink(true);
  const bar = barProgress("02-loss", tty);
  bar.starting?.(4);
  bar.cellStart?.(1, 4, 2);
  bar.cellDone?.(1, 4, "ok", 0.1, 2);
  bar.cellStart?.(2, 4, 3);
  bar.end("ok", 1);
  const text = tty.text();
  assert.match(text, /02-loss \[[=-]+\] code cell 1\/4 \| elapsed 0s/);
  assert.doesNotMatch(text, /starting the kernel, 4 code cells/, "the TTY reporter draws a bar, not lines");
});
