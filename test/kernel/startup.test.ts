/**
 * Start-up over real ZeroMQ: requests that do not need the preload are answered while the kernel is
 * still loading TypeScript and running its preload cell, each reply to its own request, in order.
 * This is what Debian's `jupyter console` does at start (history_request, then is_complete_request
 * for the first line typed); with late replies it took the history reply for the is_complete reply
 * and lost the line.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { KernelClient } from "../../kernel/client";
import type { Message } from "../../kernel/protocol";
import { newMessage } from "../../kernel/wire";

/** What the kernel logs once its preload has run (kernel.ts). */
const READY_LINE = /tsdl kernel: ready in \d+ ms/;
const TIMEOUT_MS = 120_000;

async function spawnNow(): Promise<{ kernel: KernelClient; stop(): Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "tsdl-startup-test-"));
  const kernel = await KernelClient.start({ cwd: dir, env: { TSDL_BACKEND: "cpu" }, waitReady: false });
  return {
    kernel,
    async stop() {
      await kernel.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface Arrival {
  request: Message;
  reply: Message;
  /** Whether the kernel had logged that its preload was done when the reply arrived. */
  afterReady: boolean;
}

/** Send every request at once (none waits for the one before), and note each reply as it arrives. */
function sendAll(kernel: KernelClient, requests: Message[]): Promise<Arrival[]> {
  const arrivals: Arrival[] = [];
  return Promise.all(
    requests.map((request) =>
      kernel.requestMessage("shell", request, TIMEOUT_MS).then((reply) => {
        arrivals.push({ request, reply, afterReady: READY_LINE.test(kernel.stderrTail) });
      }),
    ),
  ).then(() => arrivals);
}

test("history_request then is_complete_request right after spawn: both answered before the preload is done, in order", { timeout: TIMEOUT_MS }, async () => {
  const k = await spawnNow();
  try {
    const history = newMessage("history_request", { output: false, raw: true, hist_access_type: "tail", n: 1000 }, k.kernel.session) as Message;
    const isComplete = newMessage("is_complete_request", { code: "for (let i = 0; i < 3; i++) {" }, k.kernel.session) as Message;
    const arrivals = await sendAll(k.kernel, [history, isComplete]);

    assert.deepEqual(
      arrivals.map((a) => [a.reply.header.msg_type, (a.reply.parent_header as { msg_id?: string }).msg_id]),
      [
        ["history_reply", history.header.msg_id],
        ["is_complete_reply", isComplete.header.msg_id],
      ],
      "each reply names its own request, in the order sent",
    );
    assert.deepEqual(arrivals[0].reply.content, { status: "ok", history: [] });
    assert.equal((arrivals[1].reply.content as { status: string }).status, "incomplete");
    for (const a of arrivals) {
      assert.equal(a.afterReady, false, `${a.reply.header.msg_type} came only after the preload; the kernel's log:\n${k.kernel.stderrTail}`);
    }
  } finally {
    await k.stop();
  }
});

test("comm_info and kernel_info on shell during start-up are answered before the preload is done", { timeout: TIMEOUT_MS }, async () => {
  const k = await spawnNow();
  try {
    const comm = newMessage("comm_info_request", {}, k.kernel.session) as Message;
    const info = newMessage("kernel_info_request", {}, k.kernel.session) as Message;
    const complete = newMessage("is_complete_request", { code: "const a = 1;" }, k.kernel.session) as Message;
    const arrivals = await sendAll(k.kernel, [comm, info, complete]);
    assert.deepEqual(
      arrivals.map((a) => (a.reply.parent_header as { msg_id?: string }).msg_id),
      [comm.header.msg_id, info.header.msg_id, complete.header.msg_id],
    );
    assert.deepEqual(arrivals[0].reply.content, { status: "ok", comms: {} });
    assert.deepEqual(arrivals[2].reply.content, { status: "complete" });
    for (const a of arrivals) assert.equal(a.afterReady, false, `${a.reply.header.msg_type} came only after the preload`);
  } finally {
    await k.stop();
  }
});

test("a history_request behind an execute_request waits for it: replies stay in order and the history holds the cell", { timeout: TIMEOUT_MS }, async () => {
  const k = await spawnNow();
  try {
    const exec = k.kernel.executeRequest("const answer = 6 * 7;\nanswer");
    const history = newMessage("history_request", { output: false, raw: true, hist_access_type: "tail", n: 10 }, k.kernel.session) as Message;
    const isComplete = newMessage("is_complete_request", { code: "answer +" }, k.kernel.session) as Message;
    const arrivals = await sendAll(k.kernel, [exec as unknown as Message, history, isComplete]);
    assert.deepEqual(
      arrivals.map((a) => a.reply.header.msg_type),
      ["execute_reply", "history_reply", "is_complete_reply"],
    );
    assert.equal((arrivals[0].reply.content as { status: string }).status, "ok");
    assert.deepEqual((arrivals[1].reply.content as { history: unknown[] }).history, [[1, 1, "const answer = 6 * 7;\nanswer"]]);
    // After start-up the main thread answers is_complete too; the preload is done by then.
    assert.equal(arrivals[2].afterReady, true);
    const late = await k.kernel.request("shell", "history_request", { output: false, raw: true, hist_access_type: "tail", n: 10 }, { timeoutMs: TIMEOUT_MS });
    assert.equal((late.content as { history: unknown[] }).history.length, 1, "after start-up the main thread's history answers");
  } finally {
    await k.stop();
  }
});
