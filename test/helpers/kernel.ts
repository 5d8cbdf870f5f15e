/** Test helpers: start a real tsdl kernel in an empty temporary folder (like a notebook folder). */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { KernelClient, type KernelStartOptions } from "../../kernel/client";

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
