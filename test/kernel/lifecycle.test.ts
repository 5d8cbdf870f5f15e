/**
 * Kernel lifecycle over ZeroMQ: shutdown with and without restart, a kernel killed under a
 * request, and no kernel left behind when its parent dies.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { KernelDiedError } from "../../kernel/client";
import { newConnectionInfo, writeConnectionFile } from "../../kernel/connection";
import { LAUNCHER } from "../../kernel/paths";
import { startTestKernel } from "../helpers/kernel";
import { isAlive, waitGone } from "../helpers/processes";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// A zombie (exited, not yet reaped by whoever inherited it) counts as gone: see helpers/processes.
const alive = (pid: number) => isAlive(pid);

test("shutdown_request exits the process even with a busy cell and a live timer", async () => {
  const t = await startTestKernel();
  try {
    const pid = t.kernel.pid!;
    await t.kernel.execute("setInterval(() => undefined, 1000);");
    const busy = t.kernel.execute("while (true) {}");
    busy.catch(() => undefined);
    await sleep(300);
    const reply = await t.kernel.shutdown({ timeoutMs: 15_000 });
    assert.deepEqual(reply.content, { status: "ok", restart: false });
    assert.equal(reply.header.msg_type, "shutdown_reply");
    assert.deepEqual(t.kernel.exited, { code: 0, signal: null });
    assert.equal(alive(pid), false);
    await assert.rejects(busy, KernelDiedError, "a request pending at shutdown is told the kernel exited");
  } finally {
    await t.stop();
  }
});

test("restart: shutdown_request with restart true, then a fresh kernel on the same connection", async () => {
  const t = await startTestKernel();
  try {
    const first = t.kernel.pid!;
    await t.kernel.execute("(globalThis as any).marker = 'old session';");
    await t.kernel.restart();
    const second = t.kernel.pid!;
    assert.notEqual(second, first);
    assert.equal(await waitGone(first, 5000), true, "the old process is gone");
    const run = await t.kernel.execute("[(globalThis as any).marker, typeof dl.backendInfo]");
    assert.equal(run.result?.data["text/plain"], "[ undefined, 'function' ]", "fresh state, library preloaded again");
    assert.equal(run.executionCount, 1, "the execution count starts again");

    // A kernel that dies under a request: the client says so instead of hanging.
    const pending = t.kernel.execute("await new Promise((r) => setTimeout(r, 60_000))");
    await sleep(300);
    process.kill(second, "SIGKILL");
    const err = await pending.then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof KernelDiedError, String(err));
    assert.equal(err.signal, "SIGKILL");
    assert.match(err.message, /the kernel exited \(signal SIGKILL\)/);
  } finally {
    await t.stop();
  }
});

test("a kernel whose parent dies exits by itself (JPY_PARENT_PID)", async () => {
  const parent = spawn(process.execPath, [path.join(__dirname, "..", "helpers", "orphan-parent.js"), process.cwd()], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const [pid, file] = await new Promise<[number, string]>((resolve, reject) => {
      let out = "";
      parent.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /^(\d+) (.*)\n/.exec(out);
        if (m) resolve([Number(m[1]), m[2]]);
      });
      parent.on("exit", () => reject(new Error(`parent exited before starting a kernel: ${out}`)));
    });
    assert.equal(alive(pid), true);
    parent.kill("SIGKILL");
    // The kernel looks every 2 s, once its main thread is free: on a busy machine the preload can
    // still be running when the parent dies (ready in 10 s and more), and the kernel then closes
    // its sockets before it exits.
    assert.equal(await waitGone(pid, 60_000), true, `kernel ${pid} outlived its parent`);
    rmSync(file, { force: true }); // the parent died before it could delete it
  } finally {
    parent.kill("SIGKILL");
  }
});

test("a port already taken makes the kernel exit with a clear error, not hang", async () => {
  const taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, "127.0.0.1", () => r()));
  const dir = mkdtempSync(path.join(os.tmpdir(), "tsdl-bind-test-"));
  try {
    const info = await newConnectionInfo();
    info.shell_port = (taken.address() as net.AddressInfo).port;
    const file = writeConnectionFile(info, path.join(dir, "kernel.json"));
    const r = spawnSync(process.execPath, [LAUNCHER, "kernel", "--connection-file", file], { encoding: "utf8", timeout: 60_000, cwd: dir });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /cannot bind the addresses in the connection file: .*/);
  } finally {
    taken.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
