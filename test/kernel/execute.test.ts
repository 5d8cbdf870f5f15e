/**
 * Executing cells on the real kernel over ZeroMQ: iopub order, results, streams, display, errors
 * with tracebacks into the cell's TypeScript, and the execution queue. One kernel for the file.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { Header } from "../../kernel/protocol";
import { startTestKernel, types, type TestKernel } from "../helpers/kernel";

let t: TestKernel;
before(async () => {
  t = await startTestKernel();
});
after(async () => {
  await t?.stop();
});

describe("iopub", () => {
  test("busy, execute_input, outputs in order, idle, all with the request as parent", async () => {
    const run = await t.kernel.execute('console.log("one");\nconsole.error("two");\nconst n: number = 40;\nn + 2');
    assert.equal(run.status, "ok");
    assert.deepEqual(types(run.iopub), ["status", "execute_input", "stream", "stream", "execute_result", "status"]);
    for (const m of run.iopub) assert.equal((m.parent_header as Header).msg_id, run.request.header.msg_id);
    const state = (i: number) => (run.iopub.at(i)!.content as { execution_state: string }).execution_state;
    assert.equal(state(0), "busy");
    assert.equal(state(-1), "idle");
    const input = run.iopub[1].content as { code: string; execution_count: number };
    assert.equal(input.code, run.request.content.code);
    assert.equal(input.execution_count, run.executionCount);
    assert.equal(run.stdout, "one\n");
    assert.equal(run.stderr, "two\n");
    assert.equal(run.result?.data["text/plain"], "42");
    assert.equal(run.result?.execution_count, run.executionCount);
    assert.equal((run.reply.parent_header as Header).msg_id, run.request.header.msg_id);
  });

  test("the execution count rises by one per stored cell and not for silent ones", async () => {
    const a = await t.kernel.execute("1");
    const silent = await t.kernel.execute("2", { silent: true });
    const b = await t.kernel.execute("3");
    assert.equal(b.executionCount, a.executionCount! + 1);
    assert.equal(silent.executionCount, a.executionCount);
    assert.deepEqual(types(silent.iopub), ["status", "status"], "silent: no execute_input, no result");
  });
});

describe("values", () => {
  test("tf and dl are in scope with no import; a tensor prints its values", async () => {
    const run = await t.kernel.execute("tf.tensor([1, 2]).sum()");
    assert.equal(run.status, "ok", run.error?.traceback.join("\n"));
    assert.match(String(run.result?.data["text/plain"]), /^Tensor\n\s+3$/);
    const b = await t.kernel.execute("dl.backendInfo().active");
    assert.equal(b.result?.data["text/plain"], "cpu");
  });

  test("variables, functions and types persist across cells", async () => {
    await t.kernel.execute("interface P { x: number }\nlet p: P = { x: 1 };\nfunction twice(v: number) { return 2 * v; }");
    const run = await t.kernel.execute("p.x = twice(21);\np.x");
    assert.equal(run.result?.data["text/plain"], "42");
    const typed = await t.kernel.execute("const q: P = { x: 'no' };");
    assert.equal(typed.status, "error", "the interface from an earlier cell still type-checks later cells");
  });

  test("an object shorthand may name an earlier cell's variable, and assign to it", async () => {
    await t.kernel.execute("const width = 3;\nlet height = 4;");
    const run = await t.kernel.execute("const box = { width, height, area: width * height };\nJSON.stringify(box)");
    assert.equal(run.status, "ok", run.error?.evalue);
    assert.equal(run.result?.data["text/plain"], '{"width":3,"height":4,"area":12}');
    const assign = await t.kernel.execute("({ height } = { height: 10 });\nheight * width");
    assert.equal(assign.result?.data["text/plain"], "30", "a destructuring assignment through a shorthand reaches the earlier variable");
  });

  test("a destructuring pattern may name properties of an earlier cell's objects", async () => {
    await t.kernel.execute("const runs = [{ history: 1, val: 2 }];\nconst val = 5;");
    const run = await t.kernel.execute("runs.map(({ history: h, val: v }, i) => h + v + i + val)[0]");
    assert.equal(run.status, "ok", run.error?.evalue);
    assert.equal(run.result?.data["text/plain"], "8");
  });

  test("an explicit import of tsdl type-checks and is the same library as dl", async () => {
    const run = await t.kernel.execute('import * as lib from "tsdl";\nimport * as tfx from "@tensorflow/tfjs";\n[lib.backendInfo === dl.backendInfo, tfx.getBackend === tf.getBackend]');
    assert.equal(run.status, "ok", run.error?.traceback.join("\n"));
    assert.equal(run.result?.data["text/plain"], "[ true, true ]");
  });

  test("a local .ts module in the notebook's folder can be imported, and is recompiled when it changes", async () => {
    writeFileSync(path.join(t.dir, "helper.ts"), "export function twice(n: number): number {\n  return 2 * n;\n}\n");
    const run = await t.kernel.execute('import { twice as tw } from "./helper";\ntw(21)');
    assert.equal(run.status, "ok", run.error?.traceback.join("\n"));
    assert.equal(run.result?.data["text/plain"], "42");
    writeFileSync(path.join(t.dir, "helper.ts"), "export function twice(n: number): string {\n  return 'no';\n}\nconst bad: number = 'x';\n");
    // The change reaches the compiler through TypeScript's file watcher, which may take a moment
    // on a busy machine: ask again until it has (at most 10 s), as a learner re-running a cell would.
    let broken = await t.kernel.execute('import { twice as tw2 } from "./helper";\ntw2(1)');
    for (let i = 0; i < 40 && broken.status === "ok"; i++) {
      await new Promise((r) => setTimeout(r, 250));
      broken = await t.kernel.execute('import { twice as tw2 } from "./helper";\ntw2(1)');
    }
    assert.equal(broken.status, "error", "the edited helper.ts was never recompiled");
    assert.match(broken.error!.traceback.join("\n"), /helper\.ts:4:7 - error TS2322/);
  });

  test("a value with a rich bundle comes back as one execute_result with every MIME type", async () => {
    const run = await t.kernel.execute(
      'const card = { [Symbol.for("Jupyter.display")]() { return { "text/plain": "card", "text/html": "<b>card</b>", "application/json": { a: 1 } }; } };\ncard',
    );
    assert.equal(run.status, "ok", run.error?.traceback.join("\n"));
    assert.deepEqual(types(run.iopub).filter((x) => x === "execute_result"), ["execute_result"]);
    assert.deepEqual(run.result?.data, { "text/plain": "card", "text/html": "<b>card</b>", "application/json": { a: 1 } });
  });

  test("undefined shows nothing; top-level await works and its value is shown", async () => {
    const none = await t.kernel.execute("let nothing = undefined;\nnothing");
    assert.equal(none.result, undefined);
    const awaited = await t.kernel.execute("await new Promise<number>((r) => setTimeout(() => r(7), 10))");
    assert.equal(awaited.result?.data["text/plain"], "7");
  });
});

describe("display", () => {
  const FIGURE = `const fig = { [Symbol.for("Jupyter.display")]() { return {
  "text/plain": "fig", "text/html": "<div>fig</div>", "image/png": "iVBORw0KGgo=",
  "image/svg+xml": "<svg></svg>", "application/json": { n: 1 },
  "application/vnd.plotly.v1+json": { data: [], layout: {} } }; } };`;

  test("display(obj) sends ONE display_data holding every MIME type the object offers", async () => {
    const run = await t.kernel.execute(`${FIGURE}\ndisplay(fig);`);
    assert.equal(run.status, "ok", run.error?.traceback.join("\n"));
    const shown = run.iopub.filter((m) => m.header.msg_type === "display_data");
    assert.equal(shown.length, 1);
    assert.deepEqual(Object.keys(run.displays[0].data).sort(), [
      "application/json",
      "application/vnd.plotly.v1+json",
      "image/png",
      "image/svg+xml",
      "text/html",
      "text/plain",
    ]);
    assert.equal(run.displays[0].transient, undefined, "no id asked for, none sent");
  });

  test("display(obj, { id }) then display.update(id, obj) and handle.update send update_display_data", async () => {
    const run = await t.kernel.execute(
      'const h = display("first", { id: "board" });\ndisplay.update("board", "second");\nh.update("third");\nconst g = display("other", { id: true });\ng.update("fourth");\n[h.displayId, g.displayId]',
    );
    assert.equal(run.status, "ok", run.error?.traceback.join("\n"));
    const d = run.displays.map((x) => [x.update, x.transient?.display_id, x.data["text/plain"]]);
    const gid = (d[3][1] as string) ?? "";
    assert.match(gid, /^tsdl-/);
    assert.deepEqual(d, [
      [false, "board", "first"],
      [true, "board", "second"],
      [true, "board", "third"],
      [false, gid, "other"],
      [true, gid, "fourth"],
    ]);
  });

  test("a bundle that is not JSON fails in the cell with a clear error, and nothing is sent", async () => {
    const run = await t.kernel.execute('display({ [Symbol.for("Jupyter.display")]() { return { "text/plain": "x", "application/json": { big: 1n } }; } });');
    assert.equal(run.status, "error");
    assert.match(run.error!.evalue, /display_data content cannot be sent as JSON: Do not know how to serialize a BigInt/);
    assert.equal(run.displays.length, 0);
  });
});

describe("errors", () => {
  test("a throw names the cell and the TypeScript line, past blank and type-only lines and inside functions", async () => {
    const code = [
      "type Shape = { w: number };", // 1
      "", // 2
      "interface Named { name: string }", // 3
      "function area(s: Shape): number {", // 4
      "", // 5
      "  if (s.w < 0) {", // 6
      '    throw new RangeError("negative width " + s.w);', // 7
      "  }", // 8
      "  return s.w * s.w;", // 9
      "}", // 10
      "const ok: Shape = { w: 2 };", // 11
      "area(ok);", // 12
      "area({ w: -1 });", // 13
    ].join("\n");
    const run = await t.kernel.execute(code);
    assert.equal(run.status, "error");
    const cell = `<cell ${run.executionCount}>`;
    assert.equal(run.error?.ename, "RangeError");
    assert.equal(run.error?.evalue, "negative width -1");
    const tb = run.error!.traceback;
    assert.equal(tb[0], "RangeError: negative width -1");
    assert.equal(tb[1].trim(), `at area (${cell}:7:11)`);
    assert.equal(tb[2].trim(), `at ${cell}:13:1`);
    assert.ok(!tb.some((l) => /node:|dist\/kernel/.test(l)), `kernel frames are dropped:\n${tb.join("\n")}`);
    assert.deepEqual(tb.slice(-3), [`${cell}, line 7:`, '7 |     throw new RangeError("negative width " + s.w);', "  |           ^"]);
    assert.equal(run.reply.content.status, "error");
    assert.equal((run.reply.content as { ename: string }).ename, "RangeError");
  });

  test("a function defined in an earlier cell is reported at its own cell's line", async () => {
    const def = await t.kernel.execute("\n\nfunction explode(): never {\n  throw new Error('kaboom');\n}");
    const use = await t.kernel.execute("const before = 1;\nexplode();");
    const tb = use.error!.traceback;
    assert.equal(tb[1].trim(), `at explode (<cell ${def.executionCount}>:4:9)`);
    assert.equal(tb[2].trim(), `at <cell ${use.executionCount}>:2:1`);
  });

  test("a throw after an await, and one in a timer callback, point at their cell lines", async () => {
    const awaited = await t.kernel.execute('await new Promise((r) => setTimeout(r, 5));\n\nthrow new Error("after await");');
    assert.equal(awaited.error?.evalue, "after await");
    assert.match(awaited.error!.traceback[1], new RegExp(`at <cell ${awaited.executionCount}>:3:7`));
    const timer = await t.kernel.execute(
      'setTimeout(() => {\n  throw new SyntaxError("in a timer");\n}, 0);\nawait new Promise((r) => setTimeout(r, 200));',
    );
    assert.equal(timer.status, "error");
    assert.equal(timer.error?.ename, "SyntaxError");
    assert.match(timer.error!.traceback[0], /Uncaught exception in a callback/);
    assert.match(timer.error!.traceback.join("\n"), new RegExp(`<cell ${timer.executionCount}>:2:9`));
  });

  test("a type error stops the cell before it runs and points at the line", async () => {
    const run = await t.kernel.execute('let ran = "no";\nconst n: number = "five";\nran = "yes";');
    assert.equal(run.status, "error");
    assert.equal(run.error?.ename, "TSError");
    assert.match(run.error!.evalue, /Type 'string' is not assignable to type 'number'\. \(TS2322 at <cell \d+>:2:7\)/);
    assert.match(run.error!.traceback.join("\n"), /<cell \d+>:2:7 - error TS2322/);
    const after = await t.kernel.execute("typeof ran");
    assert.equal(after.status, "error", "nothing of the failed cell ran, so `ran` does not exist");
  });

  test("a syntax error is a SyntaxError at its line", async () => {
    const run = await t.kernel.execute("const a = 1;\nconst = 2;");
    assert.equal(run.status, "error");
    assert.equal(run.error?.ename, "SyntaxError");
    assert.match(run.error!.traceback.join("\n"), /<cell \d+>:2:7 - error TS1134/);
  });

  test("an unhandled promise rejection fails the cell that caused it", async () => {
    const run = await t.kernel.execute('async function later() {\n  throw new TypeError("nobody awaited me");\n}\nlater();\n"done"');
    assert.equal(run.status, "error");
    assert.equal(run.error?.ename, "TypeError");
    assert.equal(run.error?.evalue, "nobody awaited me");
    assert.match(run.error!.traceback[0], /Unhandled promise rejection/);
    assert.match(run.error!.traceback.join("\n"), /at later \(<cell \d+>:2:9\)/);
    assert.equal(run.result, undefined);
  });

  test("after every kind of error the kernel keeps its state and runs the next cell", async () => {
    await t.kernel.execute("const kept = 'still here';");
    await t.kernel.execute("throw new Error('x')");
    await t.kernel.execute("const bad: string = 1;");
    const run = await t.kernel.execute("kept");
    assert.equal(run.result?.data["text/plain"], "still here");
  });

  test("a thrown non-Error value is reported as such", async () => {
    const run = await t.kernel.execute('throw { code: 42 };');
    assert.equal(run.error?.ename, "Uncaught");
    assert.equal(run.error?.evalue, "{ code: 42 }");
  });
});

describe("queue", () => {
  test("with stop_on_error (the default) the requests queued behind a failing cell are aborted", async () => {
    const k = t.kernel;
    const [a, b, c] = await Promise.all([
      k.execute("await new Promise((r) => setTimeout(r, 200)); throw new Error('first fails')"),
      k.execute("'second'"),
      k.execute("'third'"),
    ]);
    assert.equal(a.status, "error");
    assert.equal(b.status, "aborted");
    assert.equal(c.status, "aborted");
    assert.equal(b.result, undefined);
  });

  test("with stop_on_error false the queued requests still run", async () => {
    const k = t.kernel;
    const [a, b] = await Promise.all([
      k.execute("await new Promise((r) => setTimeout(r, 200)); throw new Error('fails alone')", { stopOnError: false }),
      k.execute("'runs anyway'"),
    ]);
    assert.equal(a.status, "error");
    assert.equal(b.status, "ok");
    assert.equal(b.result?.data["text/plain"], "runs anyway");
  });

  test("user_expressions are evaluated after the cell without changing the session", async () => {
    const run = await t.kernel.execute("const ux = 6;", { userExpressions: { seven: "ux + 1", broken: "nope.x" } });
    const ue = (run.reply.content as { user_expressions: Record<string, { status: string; data?: Record<string, unknown>; ename?: string }> }).user_expressions;
    assert.equal(ue.seven.status, "ok");
    assert.equal(ue.seven.data?.["text/plain"], "7");
    assert.equal(ue.broken.status, "error");
  });
});
