/** Test helpers: start a real tsdl kernel in an empty temporary folder (like a notebook folder). */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { KernelClient, type KernelStartOptions } from "../../kernel/client";
import type { IopubMessage } from "../../kernel/protocol";

/** A started kernel and the temporary folder it runs in; `stop()` closes both. */
export interface TestKernel {
  kernel: KernelClient;
  dir: string;
  stop(): Promise<void>;
}

/** Start the tsdl kernel with cwd in a fresh temp folder (no node_modules there, as for a notebook). */
export async function startTestKernel(options: KernelStartOptions = {}): Promise<TestKernel> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "tsdl-kernel-test-"));
  const kernel = await KernelClient.start({ cwd: dir, env: { TSDL_BACKEND: "cpu", ...options.env }, ...options });
  return {
    kernel,
    dir,
    async stop() {
      await kernel.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The msg_types of messages, in order. */
export function types(msgs: { header: { msg_type: string } }[]): string[] {
  return msgs.map((m) => m.header.msg_type);
}

/** Waits for a message in `seen` (from index `from` on) that `pred` accepts; throws naming what was seen. */
export async function waitForIopub(seen: IopubMessage[], pred: (m: IopubMessage) => boolean, from = 0, timeoutMs = 20_000): Promise<IopubMessage> {
  const t0 = Date.now();
  for (;;) {
    const m = seen.slice(from).find(pred);
    if (m) return m;
    if (Date.now() - t0 > timeoutMs) throw new Error(`no matching iopub message within ${timeoutMs} ms; saw ${seen.slice(from).map((x) => x.header.msg_type).join(", ")}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits until the kernel's log (its stderr) matches `re`; fails with the log's tail. */
export async function waitForKernelLog(kernel: KernelClient, re: RegExp, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!re.test(kernel.stderrTail)) {
    if (Date.now() - t0 > timeoutMs) assert.fail(`the kernel log never matched ${re}:\n${kernel.stderrTail.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
