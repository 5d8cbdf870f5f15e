/** Test and benchmark helpers for the kernel under load (issue 9): many small cells, memory figures. */
import type { KernelClient } from "../../kernel/client";

/** What the kernel process holds: RSS, V8 heap and memory outside it (buffers, wasm) in bytes, and tf.memory()'s tensor count and bytes. */
export interface KernelMemory {
  rss: number;
  heapUsed: number;
  external: number;
  numTensors: number;
  numBytes: number;
}

/** The kernel's memory after a full garbage collection, read by a user expression of a silent request (so no cell is counted). */
export async function kernelMemory(kernel: KernelClient): Promise<KernelMemory> {
  // A full collection first (gc exposed through V8's flags for this call), so the figures are what
  // the kernel keeps, not garbage not yet collected.
  const expr =
    "(require('node:v8').setFlagsFromString('--expose-gc'), require('node:vm').runInNewContext('gc')(), " +
    "JSON.stringify({ rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed, external: process.memoryUsage().external, numTensors: tf.memory().numTensors, numBytes: tf.memory().numBytes }))";
  const run = await kernel.execute("", { silent: true, userExpressions: { m: expr } });
  const r = run.reply.content as { user_expressions?: Record<string, { status: string; data?: Record<string, unknown>; evalue?: string }> };
  const m = r.user_expressions?.m;
  if (!m || m.status !== "ok") throw new Error(`could not read the kernel's memory: ${m?.evalue ?? JSON.stringify(r)}`);
  return JSON.parse(String(m.data?.["text/plain"])) as KernelMemory;
}

/**
 * Run `count` small cells, each different (cell i adds i % 7 to `counter`, declared on first use),
 * keeping `window` requests in flight so the kernel never waits for the client. Throws on the first
 * cell that does not end ok. Returns the wall time.
 */
export async function runSmallCells(kernel: KernelClient, count: number, offset: number, window = 4): Promise<{ seconds: number }> {
  if (offset === 0) {
    const r = await kernel.execute("let counter = 0;");
    if (r.status !== "ok") throw new Error(`the first cell failed: ${r.error?.evalue}`);
  }
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = offset + next++;
      const run = await kernel.execute(`counter += ${i % 7}; // cell ${i}`);
      if (run.status !== "ok") throw new Error(`cell ${i} ended ${run.status}: ${run.error?.ename}: ${run.error?.evalue}`);
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  return { seconds: (performance.now() - t0) / 1000 };
}
