/**
 * The kernel under bad input and faults, over real ZeroMQ (issue 9): malformed, replayed and
 * oversized messages are logged and dropped; process.exit(), a stack overflow, late unhandled
 * rejections, a tfjs out-of-memory error and 50 MB of stdout each leave the kernel alive with its
 * variables; the heartbeat echoes all through a long cell. One kernel for the file, on the wasm
 * backend (the default where tfjs-node cannot install), so the out-of-memory case is the real one.
 *
 * Covered elsewhere, not repeated here: wrong or missing HMAC and garbage frames
 * (control.test.ts "signatures"), an unknown *_request (control.test.ts "introspection"), an
 * infinite loop stopped by interrupt with variables intact (control.test.ts "interrupt"), an
 * unhandled rejection while its cell still runs (execute.test.ts "errors").
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Header, IopubMessage, StreamContent } from "../../kernel/protocol";
import { MAX_REQUEST_BYTES, newMessage } from "../../kernel/wire";
import { startTestKernel, type TestKernel } from "../helpers/kernel";

let t: TestKernel;
let pid: number | undefined;
before(async () => {
  t = await startTestKernel({ env: { TSDL_BACKEND: "wasm" } });
  pid = t.kernel.pid;
  const setup = await t.kernel.execute("const survivor = { n: 7 };\ntf.getBackend()");
  assert.equal(setup.result?.data["text/plain"], "wasm");
});
after(async () => {
  await t?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The kernel process is the one started, answers kernel_info on shell and control, runs a cell and still has `survivor`. */
async function assertAlive(): Promise<void> {
  assert.equal(t.kernel.exited, undefined, `the kernel exited: ${t.kernel.stderrTail.slice(-2000)}`);
  assert.equal(t.kernel.pid, pid);
  for (const channel of ["shell", "control"] as const) {
    const info = await t.kernel.request(channel, "kernel_info_request", {}, { timeoutMs: 10_000 });
    assert.equal(info.content.status, "ok");
  }
  const run = await t.kernel.execute("survivor.n", { timeoutMs: 30_000 });
  assert.equal(run.status, "ok", run.error?.evalue);
  assert.equal(run.result?.data["text/plain"], "7", "session variables are intact");
}

/** The kernel's tf.memory(): numTensors and numBytes. */
async function tfMemory(): Promise<{ numTensors: number; numBytes: number }> {
  const run = await t.kernel.execute("JSON.stringify(tf.memory())");
  const text = String(run.result?.data["text/plain"]);
  return JSON.parse(text) as { numTensors: number; numBytes: number };
}

/** Waits until the kernel's log matches `re` (the log line is written just before the kernel moves on). */
async function logged(re: RegExp, ms = 10_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const m = re.exec(t.kernel.stderrTail);
    if (m) return m[0];
    if (Date.now() > deadline) assert.fail(`the kernel never logged ${re}; its log ends:\n${t.kernel.stderrTail.slice(-2000)}`);
    await sleep(20);
  }
}

/** Code that records each time it runs, in a file (so a message that must not run is seen if it does). */
function proofCell(name: string): { code: string; runs(): number } {
  const file = path.join(t.dir, `${name}.runs`);
  return {
    code: `require("node:fs").appendFileSync(${JSON.stringify(file)}, "ran\\n")`,
    runs: () => (existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean).length : 0),
  };
}

describe("protocol abuse: logged, dropped, and the kernel keeps serving", () => {
  test("a correctly signed message that is not JSON, or whose header lacks msg_id or is not an object, never runs", async () => {
    const proof = proofCell("malformed");
    const wire = t.kernel.wire;
    const header = newMessage("execute_request", {}, t.kernel.session).header;
    const content = JSON.stringify({ code: proof.code, silent: false });
    const { msg_id: _dropped, ...noMsgId } = header;
    const cases: [string, string[], RegExp][] = [
      ["content not JSON", [JSON.stringify(header), "{}", "{}", `{"code": ${JSON.stringify(proof.code)}`], /dropped a message on shell: content is not JSON: /],
      ["header not JSON", ["<html>", "{}", "{}", content], /dropped a message on shell: header is not JSON: /],
      ["header without msg_id", [JSON.stringify(noMsgId), "{}", "{}", content], /dropped a message on shell: header\.msg_id must be a non-empty string, found nothing/],
      ["header an array", ["[1, 2]", "{}", "{}", content], /dropped a message on shell: header must be a JSON object, found an array/],
    ];
    for (const [what, parts, re] of cases) {
      // Signed with the real key: these pass the HMAC check and fail only on their shape.
      await t.kernel.sendFrames("shell", ["<IDS|MSG>", wire.sign(parts), ...parts]);
      assert.ok(await logged(re), what);
    }
    await assertAlive();
    assert.equal(proof.runs(), 0, "no malformed request ran");
  });

  test("an unknown msg_type that is not a request is logged and ignored (no reply is owed)", async () => {
    const msg = newMessage("frobnicate", { x: 1 }, t.kernel.session);
    await t.kernel.sendFrames("shell", t.kernel.wire.encode(msg));
    await logged(/ignored frobnicate on shell/);
    await assertAlive();
  });

  test("a replayed message (same signature and msg_id) is dropped: the cell runs once", async () => {
    const proof = proofCell("replay");
    const request = t.kernel.executeRequest(proof.code);
    const frames = t.kernel.wire.encode(request as never);
    const first = await t.kernel.executeMessage(request);
    assert.equal(first.status, "ok");
    await t.kernel.sendFrames("shell", frames); // the same bytes again, on shell
    await t.kernel.sendFrames("control", frames); // and on control
    await logged(new RegExp(`dropped a message on shell: a replay \\(its signature was already seen; msg_id "${request.header.msg_id}", execute_request\\)`));
    await logged(new RegExp(`dropped a message on control: a replay \\(its signature was already seen; msg_id "${request.header.msg_id}"`));
    await assertAlive();
    assert.equal(proof.runs(), 1, "the replayed execute_request must not run again");
    // A replayed kernel_info_request (answered by the I/O thread) is refused as well.
    const info = newMessage("kernel_info_request", {}, t.kernel.session);
    const reply = await t.kernel.requestMessage("shell", info as never, 10_000);
    assert.equal(reply.header.msg_type, "kernel_info_reply");
    await t.kernel.sendFrames("shell", t.kernel.wire.encode(info as never));
    await logged(new RegExp(`dropped a message on shell: a replay .*msg_id "${info.header.msg_id}", kernel_info_request`));
  });

  test(`a 100 MB message is dropped unread (limit ${MAX_REQUEST_BYTES} bytes), a 300 MB frame is cut off by libzmq, and the kernel keeps serving`, async () => {
    const proof = proofCell("oversized");
    const rss = async () => Number((await t.kernel.execute("process.memoryUsage().rss")).result?.data["text/plain"]);
    const rssBefore = await rss();
    const header = JSON.stringify(newMessage("execute_request", {}, t.kernel.session).header);
    const content = JSON.stringify({ code: proof.code, padding: "x".repeat(100 * 1024 * 1024) });
    const parts = [header, "{}", "{}", content];
    // Correctly signed: the size alone gets it dropped, before the HMAC is even computed.
    const t0 = performance.now();
    await t.kernel.sendFrames("shell", ["<IDS|MSG>", t.kernel.wire.sign(parts), ...parts]);
    await logged(/dropped a message on shell: the message is 10485\d{4} bytes, over the 16777216-byte limit; dropped unread/, 30_000);
    const dropMs = performance.now() - t0;
    await assertAlive();
    const rssAfter = await rss();
    // A 300 MB frame is over libzmq's own cap (ZMQ_MAXMSGSIZE 256 MiB): libzmq disconnects the
    // peer without buffering it; the client reconnects by itself.
    await t.kernel.sendFrames("shell", ["<IDS|MSG>", "0".repeat(64), header, "{}", "{}", Buffer.alloc(300 * 1024 * 1024, 32)]);
    await assertAlive();
    assert.equal(proof.runs(), 0);
    // (The received buffer is freed when the I/O thread next collects garbage; the benchmark
    // prints the figures, the test asserts only that it was dropped unread and nothing ran.)
    console.log(`# 100 MB message: dropped ${dropMs.toFixed(0)} ms after the send began; kernel RSS ${(rssBefore / 1e6).toFixed(0)} MB before, ${(rssAfter / 1e6).toFixed(0)} MB after`);
  });
});

describe("faults in cells: an error reply, the kernel alive, the session intact", () => {
  test("process.exit() in a cell fails the cell with ProcessExitError instead of ending the kernel", async () => {
    for (const code of ["process.exit()", "process.exit(3)", "function quit() { process.exit(1); }\nquit()"]) {
      const run = await t.kernel.execute(code);
      assert.equal(run.status, "error", code);
      assert.equal(run.reply.content.status, "error");
      assert.equal(run.error?.ename, "ProcessExitError");
      assert.match(run.error!.evalue, /^process\.exit\((3|1)?\) was called in a cell; the kernel keeps running with its variables/);
      assert.match(run.error!.traceback.join("\n"), /<cell \d+>:\d+/, "the traceback points at the cell");
      await assertAlive();
    }
  });

  test("a stack overflow is a RangeError in its cell", async () => {
    const run = await t.kernel.execute("function down(n: number): number {\n  return down(n + 1) + 1;\n}\ndown(0)");
    assert.equal(run.reply.content.status, "error");
    assert.equal(run.error?.ename, "RangeError");
    assert.equal(run.error?.evalue, "Maximum call stack size exceeded");
    assert.match(run.error!.traceback.join("\n"), /at down \(<cell \d+>:2:\d+\)/);
    await assertAlive();
  });

  test("a rejection or a throw that fires after its cell finished goes to stderr of that cell; nothing else fails", async () => {
    const late: IopubMessage[] = [];
    const stop = t.kernel.onIopubMessage((m) => {
      if (m.header.msg_type === "stream" && /after its cell finished/.test((m.content as StreamContent).text)) late.push(m);
    });
    try {
      const run = await t.kernel.execute(
        'setTimeout(() => { Promise.reject(new TypeError("late rejection")); }, 300);\nsetTimeout(() => { throw new Error("late throw"); }, 400);\n"scheduled"',
      );
      assert.equal(run.status, "ok");
      assert.equal(run.result?.data["text/plain"], "scheduled");
      const deadline = Date.now() + 10_000;
      while (late.length < 2 && Date.now() < deadline) await sleep(50);
      const texts = late.map((m) => (m.content as StreamContent).text);
      assert.equal(late.length, 2, texts.join("\n"));
      assert.match(texts[0], /^Unhandled promise rejection \(after its cell finished\): TypeError: late rejection/);
      assert.match(texts[1], /^Uncaught exception \(after its cell finished\): Error: late throw/);
      for (const m of late) {
        assert.equal((m.content as StreamContent).name, "stderr");
        assert.equal((m.parent_header as Header).msg_id, run.request.header.msg_id, "shown under the cell that scheduled it");
      }
      await assertAlive();
    } finally {
      stop();
    }
  });

  test("a tensor too big for the wasm heap is a clear error; no tensor leaks and the backend keeps computing", async () => {
    await t.kernel.execute("const w = tf.tensor2d([[1, 2], [3, 4]]);");
    const memBefore = await tfMemory();
    for (const code of [
      // Inputs of 4 KB, an output of 4.8 GB: more than a wasm heap can ever hold (4 GiB).
      "tf.tidy(() => tf.tile(tf.ones([1000]), [1_200_000]))",
      // Too big for a JavaScript typed array: tfjs fails before the backend is asked.
      "tf.zeros([100_000, 100_000])",
    ]) {
      const run = await t.kernel.execute(code);
      assert.equal(run.reply.content.status, "error", code);
      assert.match(run.error!.ename, /^(WasmOutOfMemoryError|RangeError)$/);
    }
    const oom = await t.kernel.execute("tf.tidy(() => tf.tile(tf.ones([1000]), [1_200_000]))");
    assert.equal(oom.error?.ename, "WasmOutOfMemoryError");
    assert.match(oom.error!.evalue, /^out of memory on the wasm backend: a float32 tensor of shape \[1200000000\] needs 4\.80 GB, more than the WebAssembly heap can ever hold \(4\.29 GB\); nothing was allocated/);
    assert.deepEqual(await tfMemory(), memBefore, "the failed ops left no tensor (and no byte) behind");
    const math = await t.kernel.execute("Array.from(tf.tidy(() => tf.matMul(w, w)).dataSync())");
    assert.equal(math.result?.data["text/plain"], "[ 7, 10, 15, 22 ]");
    await assertAlive();
  });

  test("50 MB written to stdout arrives whole, in messages of at most 64 Ki characters, while heartbeat and kernel_info keep answering", async () => {
    let chars = 0;
    let messages = 0;
    let largest = 0;
    const beats: number[] = [];
    let running = true;
    const run = t.kernel
      .execute('const chunk = "x".repeat(99_999) + "\\n";\nfor (let i = 0; i < 500; i++) process.stdout.write(chunk);\n"wrote 50 MB"', {
        onIopub: (m) => {
          if (m.header.msg_type !== "stream") return;
          const n = (m.content as StreamContent).text.length;
          chars += n;
          messages++;
          largest = Math.max(largest, n);
        },
      })
      .finally(() => (running = false));
    let infoOk = 0;
    while (running) {
      const t0 = performance.now();
      // The heartbeat has its own thread: signing and sending 50 MB on the I/O thread does not delay it.
      assert.equal(await t.kernel.heartbeat(5000), true, "the heartbeat echoes while 50 MB streams out");
      beats.push(performance.now() - t0);
      const info = await t.kernel.request("control", "kernel_info_request", {}, { timeoutMs: 10_000 });
      if (info.content.status === "ok") infoOk++;
      await sleep(100);
    }
    const r = await run;
    assert.equal(r.status, "ok");
    assert.equal(r.result?.data["text/plain"], "wrote 50 MB");
    assert.equal(chars, 50_000_000);
    assert.ok(largest <= 64 * 1024, `largest stream message ${largest} characters`);
    assert.ok(messages >= Math.ceil(50_000_000 / (64 * 1024)));
    assert.ok(infoOk >= 1);
    console.log(`# 50 MB stdout: ${messages} stream messages, ${beats.length} heartbeats during it, slowest ${Math.max(...beats).toFixed(0)} ms`);
    await assertAlive();
  });
});

describe("heartbeat", () => {
  test("the heartbeat echoes every time it is asked, all through a 3-second synchronous cell", async () => {
    let running = true;
    const run = t.kernel
      .execute('console.log("spinning");\nconst until = Date.now() + 3000;\nwhile (Date.now() < until) {}\n"done"')
      .finally(() => (running = false));
    const beats: number[] = [];
    while (running) {
      const t0 = performance.now();
      assert.equal(await t.kernel.heartbeat(2000), true);
      beats.push(performance.now() - t0);
      await sleep(150);
    }
    assert.equal((await run).result?.data["text/plain"], "done");
    assert.ok(beats.length >= 8, `only ${beats.length} heartbeats during 3 s`);
    console.log(`# heartbeat during a 3 s busy cell: ${beats.length} echoes, slowest ${Math.max(...beats).toFixed(1)} ms`);
  });
});
