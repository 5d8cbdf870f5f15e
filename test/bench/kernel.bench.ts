/**
 * Kernel benchmark: tsdl beside plain tslab, in one script on the same machine.
 * - start-up: from spawning the process to the first kernel_info_reply, and to ready (reply plus
 *   iopub traffic, i.e. when a client can run cells);
 * - the round trip of 200 trivial execute_requests (request sent → execute_reply and status idle);
 * - the round trip of 200 kernel_info_requests (protocol overhead alone, no compiling).
 * Prints figures and ratios; asserts nothing. `TSDL_QUICK=1` runs 40 of each.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { KernelClient } from "../../kernel/client";
import { PACKAGE_ROOT } from "../../kernel/paths";

const N = process.env.TSDL_QUICK === "1" ? 40 : 200;
const STARTS = process.env.TSDL_QUICK === "1" ? 1 : 3;

interface Figures {
  firstReply: number[];
  ready: number[];
  execute: number[];
  kernelInfo: number[];
  first: number;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[i];
}
const median = (xs: number[]) => quantile(xs, 0.5);
const fmt = (ms: number) => `${ms.toFixed(ms < 10 ? 2 : 0)} ms`;

async function measure(name: string, argv: string[] | undefined, cwd: string): Promise<Figures> {
  const f: Figures = { firstReply: [], ready: [], execute: [], kernelInfo: [], first: NaN };
  for (let s = 0; s < STARTS; s++) {
    const kernel = await KernelClient.start({ argv, cwd, readyTimeoutMs: 120_000 });
    try {
      f.firstReply.push(kernel.startup.firstKernelInfoMs);
      f.ready.push(kernel.startup.readyMs);
      if (s > 0) continue;
      // The first cell waits for tsdl's preload (tslab has none): reported apart.
      let t = performance.now();
      const first = await kernel.execute("1 + 1");
      f.first = performance.now() - t;
      if (first.status !== "ok") throw new Error(`${name}: the first cell failed: ${JSON.stringify(first.reply.content)}`);
      for (let i = 0; i < N; i++) {
        t = performance.now();
        const r = await kernel.execute(`${i} + 1`);
        f.execute.push(performance.now() - t);
        if (r.status !== "ok") throw new Error(`${name}: cell ${i} failed`);
      }
      for (let i = 0; i < N; i++) {
        t = performance.now();
        await kernel.request("shell", "kernel_info_request", {});
        f.kernelInfo.push(performance.now() - t);
      }
    } finally {
      await kernel.close();
    }
  }
  return f;
}

async function main(): Promise<void> {
  const cwd = mkdtempSync(path.join(os.tmpdir(), "tsdl-bench-"));
  try {
    const tslabArgv = [process.execPath, path.join(PACKAGE_ROOT, "node_modules", "tslab", "bin", "tslab"), "kernel", "--config-path", "{connection_file}"];
    console.log(`kernel benchmark: ${STARTS} start(s) each, ${N} trivial execute_requests and ${N} kernel_info_requests, cwd ${cwd}`);
    const tsdl = await measure("tsdl", undefined, cwd);
    const tslab = await measure("tslab", tslabArgv, cwd);
    const rows: [string, (f: Figures) => number][] = [
      ["start → first kernel_info_reply (median)", (f) => median(f.firstReply)],
      ["start → ready (reply + iopub) (median)", (f) => median(f.ready)],
      ["first execute_request (waits for preload)", (f) => f.first],
      [`execute_request round trip, median of ${N}`, (f) => median(f.execute)],
      [`execute_request round trip, p95 of ${N}`, (f) => quantile(f.execute, 0.95)],
      [`kernel_info_request round trip, median of ${N}`, (f) => median(f.kernelInfo)],
      [`kernel_info_request round trip, p95 of ${N}`, (f) => quantile(f.kernelInfo, 0.95)],
    ];
    const w = Math.max(...rows.map(([label]) => label.length));
    console.log(`\n${"".padEnd(w)}  ${"tsdl".padStart(10)}  ${"tslab".padStart(10)}  tsdl/tslab`);
    for (const [label, get] of rows) {
      const a = get(tsdl);
      const b = get(tslab);
      console.log(`${label.padEnd(w)}  ${fmt(a).padStart(10)}  ${fmt(b).padStart(10)}  ${(a / b).toFixed(2)}`);
    }
    console.log(
      "\ntsdl answers kernel_info from its I/O thread while the main thread loads TypeScript and runs the preload " +
        "(tf and dl with their types); tslab answers only once its converter is built. tsdl's cells type-check " +
        "against the preloaded tf/dl declarations; tslab's against nothing.",
    );
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
