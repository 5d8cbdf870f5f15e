/**
 * The kernel's other channels over real ZeroMQ: signatures, interrupt (message and SIGINT),
 * heartbeat during a busy cell, kernel_info, completion, inspection, is_complete, history,
 * comm_info and input over stdin. One kernel for the file.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { Wire, newMessage } from "../../kernel/wire";
import { startTestKernel, type TestKernel } from "../helpers/kernel";

let t: TestKernel;
before(async () => {
  t = await startTestKernel();
});
after(async () => {
  await t?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Start a cell and wait until it has printed `marker` (so it is really running); returns `{ run }`. */
async function startedRun(code: string, marker: string) {
  let seen!: () => void;
  const started = new Promise<void>((r) => (seen = r));
  const run = t.kernel.execute(code, {
    onIopub: (m) => {
      if (m.header.msg_type === "stream" && String((m.content as { text: string }).text).includes(marker)) seen();
    },
  });
  await Promise.race([started, run]);
  // Wrapped: an async function returning the promise itself would wait for it.
  return { run };
}

describe("first cell", () => {
  test("before any cell has run, `dl.` completes with the library's members and `tf.` with tfjs's", async () => {
    const dl = await t.kernel.request("shell", "complete_request", { code: "dl.", cursor_pos: 3 });
    assert.equal(dl.content.status, "ok");
    if (dl.content.status !== "ok") return;
    for (const name of ["backendInfo", "initBackend", "display", "input", "data", "models", "train", "plot", "math"]) {
      assert.ok(dl.content.matches.includes(name), `${name} in ${dl.content.matches.join(", ")}`);
    }
    const types = dl.content.metadata._jupyter_types_experimental as { text: string; type: string }[];
    assert.equal(types.length, dl.content.matches.length, "a TypeScript kind for each match");
    assert.match(types.find((x) => x.text === "initBackend")?.type ?? "", /^(function|alias)$/);
    const tf = await t.kernel.request("shell", "complete_request", { code: "tf.", cursor_pos: 3 });
    assert.ok(tf.content.status === "ok" && ["tensor", "sequential", "layers", "train"].every((n) => tf.content.status === "ok" && tf.content.matches.includes(n)));
    const history = await t.kernel.request("shell", "history_request", { hist_access_type: "tail", n: 10, output: false, raw: true });
    assert.deepEqual(history.content.status === "ok" && history.content.history, [], "no cell has run yet");
  });
});

describe("signatures", () => {
  test("messages with a wrong or missing signature are dropped, logged, and never run", async () => {
    const proof = path.join(t.dir, "ran.txt");
    const code = `require("node:fs").writeFileSync(${JSON.stringify(proof)}, "the forged cell ran")`;
    const forged = new Wire("not the key").encode(newMessage("execute_request", { code, silent: false }, "intruder"));
    await t.kernel.sendFrames("shell", forged);
    const unsigned = [...forged];
    unsigned[1] = "";
    await t.kernel.sendFrames("shell", unsigned);
    await t.kernel.sendFrames("control", forged);
    // A valid request after them: once it is answered, the forged ones were seen and dropped.
    const ok = await t.kernel.execute("'valid'");
    assert.equal(ok.result?.data["text/plain"], "valid");
    await sleep(100);
    assert.equal(existsSync(proof), false, "the forged cell must not run");
    const log = t.kernel.stderrTail;
    assert.match(log, /dropped a message on shell: bad signature/);
    assert.match(log, /dropped a message on shell: missing signature/);
    assert.match(log, /dropped a message on control: bad signature/);
  });

  test("garbage frames are dropped and the kernel keeps serving", async () => {
    await t.kernel.sendFrames("shell", ["no", "delimiter", "here"]);
    const wire = t.kernel.wire;
    const parts = ['{"msg_id":"x"}', "{}", "{}", "{}"];
    await t.kernel.sendFrames("shell", ["<IDS|MSG>", wire.sign(parts), ...parts]);
    const info = await t.kernel.request("shell", "kernel_info_request", {}, { timeoutMs: 5000 });
    assert.equal(info.content.status, "ok");
    await sleep(50);
    assert.match(t.kernel.stderrTail, /dropped a message on shell: no <IDS\|MSG> delimiter/);
    assert.match(t.kernel.stderrTail, /dropped a message on shell: header\.msg_type must be a non-empty string/);
  });
});

describe("interrupt", () => {
  test("interrupt_request stops `while (true) {}` and earlier variables survive", async () => {
    await t.kernel.execute("const survivor = { n: 1 };");
    const { run } = await startedRun('console.log("looping");\nwhile (true) {}', "looping");
    await t.kernel.interrupt("message");
    const r = await run;
    assert.equal(r.status, "error");
    assert.equal(r.error?.ename, "Interrupted");
    const next = await t.kernel.execute("survivor.n + 1");
    assert.equal(next.result?.data["text/plain"], "2");
  });

  test("SIGINT stops `while (true) {}` too", async () => {
    const { run } = await startedRun('console.log("spinning");\nlet spins = 0;\nwhile (true) { spins++; }', "spinning");
    await t.kernel.interrupt("signal");
    const r = await run;
    assert.equal(r.error?.ename, "Interrupted");
    assert.equal((await t.kernel.execute("'alive'")).result?.data["text/plain"], "alive");
  });

  test("interrupt_request abandons a pending long await", async () => {
    const { run } = await startedRun('console.log("waiting");\nawait new Promise((r) => setTimeout(r, 600_000));\n"never"', "waiting");
    const t0 = Date.now();
    await t.kernel.interrupt("message");
    const r = await run;
    assert.equal(r.error?.ename, "Interrupted");
    assert.match(r.error!.evalue, /while it was waiting on a promise/);
    assert.ok(Date.now() - t0 < 5000);
    assert.equal((await t.kernel.execute("survivor.n")).result?.data["text/plain"], "1");
  });

  test("SIGINT abandons a pending long await", async () => {
    const { run } = await startedRun('console.log("sleeping");\nawait new Promise((r) => setTimeout(r, 600_000));', "sleeping");
    await t.kernel.interrupt("signal");
    assert.equal((await run).error?.ename, "Interrupted");
  });

  test("a loop that runs after an await (out of SIGINT's reach) is still stopped", async () => {
    const { run } = await startedRun('await new Promise((r) => setTimeout(r, 10));\nconsole.log("stuck");\nwhile (true) {}', "stuck");
    await t.kernel.interrupt("message");
    const r = await run;
    assert.equal(r.error?.ename, "Interrupted");
    // It says what was stopped: not "waiting on a promise", which it was not.
    assert.match(r.error!.evalue, /while it ran synchronous code after an `await` \(a loop, say\), which SIGINT cannot reach; the kernel terminated that code/);
    assert.doesNotMatch(r.error!.traceback.join("\n"), /waiting on/);
    assert.equal((await t.kernel.execute("survivor.n * 3")).result?.data["text/plain"], "3");
  });

  test("the heartbeat and kernel_info answer while a cell blocks the main thread", async () => {
    const { run } = await startedRun('console.log("busy");\nwhile (true) {}', "busy");
    assert.equal(await t.kernel.heartbeat(2000), true);
    const info = await t.kernel.request("control", "kernel_info_request", {}, { timeoutMs: 2000 });
    assert.equal(info.content.implementation, "tsdl");
    await t.kernel.interrupt("message");
    assert.equal((await run).error?.ename, "Interrupted");
  });
});

describe("kernel_info", () => {
  test("TypeScript language_info and a banner with the tsdl and tfjs versions and the backend", async () => {
    const info = await t.kernel.request("shell", "kernel_info_request", {});
    const c = info.content;
    assert.equal(c.status, "ok");
    assert.match(c.protocol_version, /^5\.[3-9]/);
    assert.equal(c.language_info.name, "typescript");
    assert.equal(c.language_info.file_extension, ".ts");
    assert.equal(c.language_info.mimetype, "text/typescript");
    const pkg = require("../../../package.json") as { version: string };
    const tfjs = require("@tensorflow/tfjs/package.json") as { version: string };
    assert.ok(c.banner.includes(`tsdl ${pkg.version}`), c.banner);
    assert.ok(c.banner.includes(`TensorFlow.js ${tfjs.version}`), c.banner);
    assert.match(c.banner, /backend: cpu/);
    const statuses = (await t.kernel.execute("1")).iopub;
    assert.ok(statuses.length > 0);
  });
});

describe("introspection", () => {
  test("complete_request lists dl's members in the first cell, with the replaced range", async () => {
    const code = "const a = 1;\ndl.";
    const r = await t.kernel.request("shell", "complete_request", { code, cursor_pos: code.length });
    assert.equal(r.content.status, "ok");
    if (r.content.status !== "ok") return;
    for (const name of ["backendInfo", "initBackend", "display", "toBundle", "data", "math", "plot"]) {
      assert.ok(r.content.matches.includes(name), `${name} in ${r.content.matches.join(", ")}`);
    }
    assert.equal(r.content.cursor_start, code.length);
    assert.equal(r.content.cursor_end, code.length);
  });

  test("completion of a prefix replaces the prefix and ranks matches first", async () => {
    const code = "tf.tens";
    const r = await t.kernel.request("shell", "complete_request", { code, cursor_pos: code.length });
    if (r.content.status !== "ok") return assert.fail("complete failed");
    assert.equal(r.content.matches[0], "tensor");
    assert.equal(r.content.cursor_start, 3);
    assert.equal(r.content.cursor_end, 7);
  });

  test("cursor positions count Unicode code points, not UTF-16 units", async () => {
    const code = 'const s = "😀😀";\nMath.fl';
    const cp = [...code].length;
    const r = await t.kernel.request("shell", "complete_request", { code, cursor_pos: cp });
    if (r.content.status !== "ok") return assert.fail("complete failed");
    assert.ok(r.content.matches.includes("floor"));
    assert.equal(r.content.cursor_end, cp);
    assert.equal(r.content.cursor_start, cp - 2);
  });

  test("inspect_request shows the type and documentation", async () => {
    const code = "dl.initBackend";
    const r = await t.kernel.request("shell", "inspect_request", { code, cursor_pos: code.length - 2, detail_level: 0 });
    assert.equal(r.content.status, "ok");
    if (r.content.status !== "ok") return;
    assert.equal(r.content.found, true);
    const text = String(r.content.data["text/plain"]);
    assert.match(text, /initBackend\(options\?/);
    assert.match(text, /Pick and activate the best backend/);
    const none = await t.kernel.request("shell", "inspect_request", { code: "   ", cursor_pos: 1, detail_level: 0 });
    assert.equal(none.content.status === "ok" && none.content.found, false);
  });

  test("is_complete_request tells complete from incomplete code, with an indent", async () => {
    const done = await t.kernel.request("shell", "is_complete_request", { code: "const x = 1;" });
    assert.equal(done.content.status, "complete");
    const open = await t.kernel.request("shell", "is_complete_request", { code: "function f() {" });
    assert.equal(open.content.status, "incomplete");
    assert.equal((open.content as { indent: string }).indent, "  ");
  });

  test("comm_info_request answers with no comms", async () => {
    const r = await t.kernel.request("shell", "comm_info_request", {});
    assert.deepEqual(r.content, { status: "ok", comms: {} });
  });

  test("an unknown request gets an error reply and the kernel carries on", async () => {
    const msg = newMessage("frobnicate_request", {}, t.kernel.session);
    const reply = await t.kernel.requestMessage("shell", msg as never, 5000);
    assert.equal(reply.header.msg_type, "frobnicate_reply");
    assert.equal(reply.content.status, "error");
  });
});

describe("history", () => {
  test("tail, range and search return this session's cells", async () => {
    const a = await t.kernel.execute("const hist1 = 'h';");
    const b = await t.kernel.execute("hist1 + 'i'");
    const tail = await t.kernel.request("shell", "history_request", { hist_access_type: "tail", n: 2, output: false, raw: true });
    assert.equal(tail.content.status, "ok");
    if (tail.content.status !== "ok") return;
    assert.deepEqual(tail.content.history, [
      [1, a.executionCount!, "const hist1 = 'h';"],
      [1, b.executionCount!, "hist1 + 'i'"],
    ]);
    const withOutput = await t.kernel.request("shell", "history_request", {
      hist_access_type: "range", session: 0, start: b.executionCount!, stop: b.executionCount! + 1, output: true, raw: true,
    });
    assert.deepEqual(withOutput.content.status === "ok" && withOutput.content.history, [[1, b.executionCount!, ["hist1 + 'i'", "hi"]]]);
    const search = await t.kernel.request("shell", "history_request", { hist_access_type: "search", pattern: "const hist?*", n: 10, output: false, raw: true });
    assert.deepEqual(search.content.status === "ok" && search.content.history, [[1, a.executionCount!, "const hist1 = 'h';"]]);
  });
});

describe("stdin", () => {
  test("await dl.input() sends input_request on stdin and returns the reply", async () => {
    const prompts: string[] = [];
    const run = await t.kernel.execute('const name = await dl.input("Your name? ");\n"hello " + name', {
      onInput: (req) => {
        prompts.push(req.prompt);
        return "Ada";
      },
    });
    assert.equal(run.status, "ok", run.error?.traceback.join("\n"));
    assert.deepEqual(prompts, ["Your name? "]);
    assert.equal(run.result?.data["text/plain"], "hello Ada");
  });

  test("interrupt while a cell waits for input ends the cell; the kernel carries on", async () => {
    let asked!: () => void;
    const askedP = new Promise<void>((r) => (asked = r));
    const run = t.kernel.execute('await dl.input("never answered")', {
      onInput: () => {
        asked();
        return new Promise<string>(() => undefined);
      },
    });
    await askedP;
    await t.kernel.interrupt("message");
    assert.equal((await run).error?.ename, "Interrupted");
    assert.equal((await t.kernel.execute("'next'")).result?.data["text/plain"], "next");
  });

  test("with allow_stdin false, input() fails with a clear error instead of waiting", async () => {
    const run = await t.kernel.execute('await dl.input("nobody answers")', { allowStdin: false });
    assert.equal(run.status, "error");
    assert.match(run.error!.evalue, /allow_stdin: false/);
  });

  test("the input_request names the execute_request as parent and passes the password flag", async () => {
    // The client answers only input requests whose parent is one of its running executes.
    const seen: boolean[] = [];
    const run = await t.kernel.execute('await dl.input("p", { password: true })', {
      onInput: (req) => {
        seen.push(req.password);
        return "secret";
      },
    });
    assert.deepEqual(seen, [true]);
    assert.equal(run.result?.data["text/plain"], "secret");
  });
});
