/**
 * `kernel.bench` must never hang on a peer that stops answering (tslab stops sending `status: idle`
 * around its 169th cell, and the bench used to wait for it forever, printing nothing). The peer
 * here is a real ipykernel whose shell thread stops for good after its third cell from the bench; the bench's
 * round trips must end with a printed reason, in bounded time, with the figures taken before.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { oneStart, type Figures } from "./bench/kernel.bench";
import { pythonPath, requires } from "./helpers/components";

test("kernel.bench reports a peer that stops answering instead of waiting for it", { skip: requires("jupyter"), timeout: 180_000 }, async () => {
  // Its exec_lines run as cell 1; after cell 4 (the bench's `1 + 1`, `0 + 1`, `1 + 1`) the
  // kernel's shell handler sleeps for a day: no reply, no idle.
  const stall = "import time\nn = [0]\ndef _after(*a):\n    n[0] += 1\n    if n[0] >= 4: time.sleep(86400)\nget_ipython().events.register('post_run_cell', _after)";
  const peer = {
    name: "stalling ipykernel",
    argv: [pythonPath(), "-m", "ipykernel_launcher", "-f", "{connection_file}", `--IPKernelApp.exec_lines=${JSON.stringify([stall])}`],
  };
  const cwd = mkdtempSync(path.join(os.tmpdir(), "tsdl-bench-stall-"));
  const f: Figures = { firstResult: [], firstReply: [], execute: [], kernelInfo: [] };
  const t0 = Date.now();
  try {
    await oneStart(peer, cwd, f, true, 10);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
  assert.equal(f.firstResult.length, 1, "the first cell gave its result");
  assert.equal(f.execute.length, 1, "one round trip was timed before the kernel stalled (cells 1 + 1, then 0 + 1)");
  assert.match(f.stopped ?? "", /^execute 2 of 10: .*execute_request/, `the reason names the request that got no answer: ${f.stopped}`);
  assert.match(f.stopped ?? "", /kernel_info 1 of 10/, "the kernel_info round trips stop too");
  assert.ok(Date.now() - t0 < 120_000, `it ended in bounded time (${Date.now() - t0} ms)`);
});
