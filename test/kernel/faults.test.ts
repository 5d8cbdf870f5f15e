/**
 * Kernel faults: when the process that started the kernel (JPY_PARENT_PID) dies, the kernel says
 * so, closes its sockets and exits with status 0, with no `terminate called after throwing an
 * instance of 'Napi::Error'` abort from a zeromq socket left open in a thread.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { KernelClient } from "../../kernel/client";
import { newConnectionInfo, writeConnectionFile } from "../../kernel/connection";
import { LAUNCHER } from "../../kernel/paths";

test("a kernel whose parent dies exits cleanly with status 0", { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "tsdl-orphan-test-"));
  // The "parent": any process we can kill; the kernel watches it through JPY_PARENT_PID.
  const parent = spawn(process.execPath, ["-e", "setInterval(() => {}, 60_000)"], { stdio: "ignore" });
  try {
    const info = await newConnectionInfo();
    const file = writeConnectionFile(info, path.join(dir, "kernel.json"));
    const kernel = spawn(process.execPath, [LAUNCHER, "kernel", "--connection-file", file], {
      cwd: dir,
      env: { ...process.env, JPY_PARENT_PID: String(parent.pid), TSDL_BACKEND: "cpu" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    kernel.stdout.on("data", (d: Buffer) => (stderr += d.toString()));
    kernel.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      kernel.on("exit", (code, signal) => resolve({ code, signal })),
    );
    // Talk to it first, so its sockets are connected and a cell has run (the state to close).
    const client = await KernelClient.connect(info, 120_000);
    try {
      const run = await client.execute("1 + 1", { timeoutMs: 150_000 });
      assert.equal(run.result?.data["text/plain"], "2");
    } finally {
      await client.close();
    }
    parent.kill("SIGKILL");
    const { code, signal } = await exited;
    assert.match(stderr, new RegExp(`parent process ${parent.pid} is gone; exiting`));
    assert.doesNotMatch(stderr, /terminate called|Napi::Error/);
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, stderr);
  } finally {
    parent.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});
