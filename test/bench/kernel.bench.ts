/**
 * Kernel benchmark: tsdl beside ipykernel (Debian's python3-ipykernel) and plain tslab, in one
 * script on the same machine, starts interleaved (tsdl, tslab, ipykernel, tsdl, ...) so load from
 * other jobs falls on all three alike.
 * - spawn → first execute_result: from spawning the process (a client that asks kernel_info until
 *   answered, then sends `1 + 1`) to the `execute_result` on iopub (tslab's `stream`, as it prints
 *   values); median of 5 starts, and the
 *   first start of the run apart (tsdl's first start after a build fills its code cache);
 * - spawn → first kernel_info_reply;
 * - the round trip of 200 trivial execute_requests (`i + 1`, valid in TypeScript and Python;
 *   request sent → execute_reply and status idle): median and p95;
 * - the round trip of 200 kernel_info_requests (protocol overhead alone).
 * Every request has a timeout: a kernel that stops answering (tslab stops sending status idle
 * around its 169th cell) is reported as such, not waited for. Prints figures and ratios; asserts
 * nothing. `TSDL_QUICK=1` runs 2 starts and 40 requests of each. `TSDL_BENCH_BASELINE=DIR` adds the
 * kernel of another built tsdl checkout (before/after in one run).
 * tsdl runs twice: from its start-up snapshot (column `tsdl`; the blob is built first, in a
 * temporary TSDL_CACHE_DIR, and its build time and size printed) and without it (`tsdl-plain`,
 * TSDL_SNAPSHOT=0, same cache folder, so with TypeScript's code cache).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { KernelClient } from "../../kernel/client";
import { PACKAGE_ROOT } from "../../kernel/paths";
import { findSnapshot, snapshotFiles, type SnapshotManifest } from "../../kernel/snapshot";
import { pythonPath } from "../helpers/components";
import { loadLine } from "../helpers/bench-util";

const QUICK = process.env.TSDL_QUICK === "1";
const N = QUICK ? 40 : 200;
const STARTS = QUICK ? 2 : 5;
/** No single request may take longer than this (the first cell of a cold start included). */
const REQUEST_TIMEOUT_MS = 60_000;
/** The iopub messages that show a cell's value. */
const RESULT_TYPES = new Set(["execute_result", "display_data", "stream"]);

export interface Peer {
  name: string;
  argv: string[] | undefined;
  env?: NodeJS.ProcessEnv;
}

export interface Figures {
  firstResult: number[];
  firstReply: number[];
  execute: number[];
  kernelInfo: number[];
  /** Why the round trips stopped early, if they did. */
  stopped?: string;
}

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[i];
}
const median = (xs: number[]) => quantile(xs, 0.5);
const fmt = (ms: number) => (Number.isFinite(ms) ? `${ms.toFixed(ms < 10 ? 2 : 0)} ms` : "n/a");

/** One start: spawn → kernel_info → `1 + 1` → its execute_result. Then, if asked, the round trips. */
export async function oneStart(peer: Peer, cwd: string, f: Figures, roundTrips: boolean, n = N): Promise<void> {
  const t0 = performance.now();
  const kernel = await KernelClient.start({ argv: peer.argv, cwd, env: peer.env, readyTimeoutMs: REQUEST_TIMEOUT_MS });
  try {
    f.firstReply.push(kernel.startup.firstKernelInfoMs);
    let resultAt = NaN;
    const first = await kernel.execute("1 + 1", {
      timeoutMs: REQUEST_TIMEOUT_MS,
      onIopub: (m) => {
        // tslab prints a cell's value on stdout instead of sending execute_result: count that too.
        if (RESULT_TYPES.has(m.header.msg_type) && Number.isNaN(resultAt)) resultAt = performance.now();
      },
    });
    if (first.status !== "ok" || Number.isNaN(resultAt)) throw new Error(`${peer.name}: the first cell gave no result: ${JSON.stringify(first.reply.content)}`);
    f.firstResult.push(resultAt - t0);
    if (!roundTrips) return;
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      try {
        const r = await kernel.execute(`${i} + 1`, { timeoutMs: 10_000 });
        if (r.status !== "ok") throw new Error(`status ${r.status}`);
      } catch (err) {
        f.stopped = `execute ${i + 1} of ${n}: ${(err as Error).message}`;
        break;
      }
      f.execute.push(performance.now() - t);
    }
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      try {
        await kernel.request("shell", "kernel_info_request", {}, { timeoutMs: 10_000 });
      } catch (err) {
        f.stopped = `${f.stopped ? `${f.stopped}; ` : ""}kernel_info ${i + 1} of ${n}: ${(err as Error).message}`;
        break;
      }
      f.kernelInfo.push(performance.now() - t);
    }
  } finally {
    await kernel.close({ graceMs: 2000 }).catch(() => undefined);
  }
}

function ipykernelPeer(): Peer | string {
  const py = pythonPath();
  const probe = spawnSync(py, ["-c", "import ipykernel, ipykernel_launcher"], { encoding: "utf8" });
  if (probe.status !== 0) return `ipykernel not found for ${py} (apt-get install python3-ipykernel): ${(probe.stderr || probe.error?.message || "").trim().split("\n").pop()}`;
  return { name: "ipykernel", argv: [py, "-m", "ipykernel_launcher", "-f", "{connection_file}"] };
}

/** Start tsdl once in a fresh cache folder, so that it builds its start-up snapshot there; wait for the blob. */
async function buildSnapshot(cwd: string, cacheDir: string): Promise<string> {
  const t0 = performance.now();
  const kernel = await KernelClient.start({ cwd, env: { TSDL_CACHE_DIR: cacheDir }, readyTimeoutMs: REQUEST_TIMEOUT_MS });
  try {
    await kernel.execute("1 + 1");
  } finally {
    await kernel.close();
  }
  for (;;) {
    const found = findSnapshot(cacheDir);
    if ("blob" in found) {
      const m = JSON.parse(readFileSync(snapshotFiles(found.key, cacheDir).manifest, "utf8")) as SnapshotManifest;
      return `start-up snapshot: ${(m.blobSize / 2 ** 20).toFixed(1)} MiB, ${m.files.length} declaration files, built in ${m.buildMs} ms (background, nice 10), ready ${((performance.now() - t0) / 1000).toFixed(1)} s after the first spawn`;
    }
    if (performance.now() - t0 > 300_000) throw new Error(`no start-up snapshot after 300 s: ${found.reason}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function main(): Promise<void> {
  const cwd = mkdtempSync(path.join(os.tmpdir(), "tsdl-bench-"));
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), "tsdl-bench-cache-"));
  try {
    console.log(await buildSnapshot(cwd, cacheDir));
    const peers: Peer[] = [
      { name: "tsdl", argv: undefined, env: { TSDL_CACHE_DIR: cacheDir } },
      { name: "tsdl-plain", argv: undefined, env: { TSDL_CACHE_DIR: cacheDir, TSDL_SNAPSHOT: "0" } },
      { name: "tslab", argv: [process.execPath, path.join(PACKAGE_ROOT, "node_modules", "tslab", "bin", "tslab"), "kernel", "--config-path", "{connection_file}"] },
    ];
    // TSDL_BENCH_BASELINE=DIR: also start the tsdl kernel of another built checkout (e.g. main), for
    // before/after figures from one run.
    const base = process.env.TSDL_BENCH_BASELINE;
    if (base) peers.splice(2, 0, { name: "tsdl@base", argv: [process.execPath, path.join(base, "kernel", "bin", "tsdl.js"), "kernel", "--connection-file", "{connection_file}"] });
    const ipy = ipykernelPeer();
    if (typeof ipy === "string") console.log(`skipping ipykernel: ${ipy}`);
    else peers.push(ipy);
    console.log(`kernel benchmark: ${STARTS} starts each (interleaved), ${N} trivial execute_requests and ${N} kernel_info_requests, cwd ${cwd}; ${loadLine()}`);
    const figures = new Map<string, Figures>(peers.map((p) => [p.name, { firstResult: [], firstReply: [], execute: [], kernelInfo: [] }]));
    for (let s = 0; s < STARTS; s++) {
      for (const p of peers) {
        const f = figures.get(p.name)!;
        try {
          await oneStart(p, cwd, f, s === STARTS - 1);
        } catch (err) {
          console.log(`${p.name}: start ${s + 1} failed: ${(err as Error).message.split("\n")[0]}`);
        }
      }
    }
    const rows: [string, (f: Figures) => number][] = [
      ["spawn → first execute_result, first start", (f) => f.firstResult[0]],
      [`spawn → first execute_result, median of ${STARTS}`, (f) => median(f.firstResult)],
      [`spawn → first kernel_info_reply, median of ${STARTS}`, (f) => median(f.firstReply)],
      [`execute round trip, median of ${N}`, (f) => median(f.execute)],
      [`execute round trip, p95 of ${N}`, (f) => quantile(f.execute, 0.95)],
      [`kernel_info round trip, median of ${N}`, (f) => median(f.kernelInfo)],
      [`kernel_info round trip, p95 of ${N}`, (f) => quantile(f.kernelInfo, 0.95)],
    ];
    const w = Math.max(...rows.map(([label]) => label.length));
    const names = peers.map((p) => p.name);
    const others = names.slice(1);
    console.log(`\n${"".padEnd(w)}  ${names.map((n) => n.padStart(10)).join("  ")}  ${others.map((n) => `tsdl/${n}`.padStart(16)).join("  ")}`);
    for (const [label, get] of rows) {
      const vals = names.map((n) => get(figures.get(n)!));
      const ratios = others.map((_, i) => (vals[0] / vals[i + 1]).toFixed(2).padStart(16));
      console.log(`${label.padEnd(w)}  ${vals.map((v) => fmt(v).padStart(10)).join("  ")}  ${ratios.join("  ")}`);
    }
    for (const n of names) {
      const f = figures.get(n)!;
      console.log(`${n}: spawn → first result per start: ${f.firstResult.map((x) => x.toFixed(0)).join(", ")} ms`);
      if (f.stopped) console.log(`${n} stopped answering: ${f.stopped}`);
    }
    console.log(`\nafter the run: ${loadLine()}`);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
