/**
 * `npm start`'s time per notebook: runs the main job (`tsdl start`, every notebook in full, each in
 * a fresh kernel) into a temporary folder and prints each notebook's run time as the runner reports
 * it, its kernel's CPU time (user + system, which grows far less with the machine's load than the
 * wall time does), its share of the whole, and the load average when it ended, so a slow figure
 * can be read against the machine's load. Notebook 00 trains nothing: its time against the others is the
 * reference for what start-up and the machine cost. `TSDL_QUICK=1` runs the quick settings;
 * `TSDL_BENCH_OUT=DIR` writes the reports there and keeps them (to read the accuracies the
 * notebooks printed), instead of a temporary folder removed at the end.
 * Asserts nothing; exits non-zero only when the job itself fails.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const ROOT = path.join(__dirname, "..", "..", "..");
const LAUNCHER = path.join(ROOT, "kernel", "bin", "tsdl.js");

/** One notebook's line of the runner's output (`ok     /path/NAME.ipynb (12.3 s, kernel CPU 15.2 s) -> ...`). */
interface NotebookTime {
  name: string;
  ok: boolean;
  seconds: number;
  /** The kernel's CPU seconds; NaN where the runner gives none (not Linux). */
  cpu: number;
  load: string;
}

function loadAverage(): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(" ");
}

async function main(): Promise<void> {
  const keep = process.env.TSDL_BENCH_OUT;
  const out = keep ? path.resolve(keep) : mkdtempSync(path.join(os.tmpdir(), "tsdl-start-bench-"));
  const quick = process.env.TSDL_QUICK === "1";
  console.log(`npm start (${quick ? "quick" : "full"} settings) into ${out}; load average at the start ${loadAverage()}; cores ${os.cpus().length}`);
  const times: NotebookTime[] = [];
  const t0 = performance.now();
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [LAUNCHER, "start", "--out", out], { stdio: ["ignore", "pipe", "ignore"] });
    let buffered = "";
    child.stdout.on("data", (d: Buffer) => {
      buffered += d.toString("utf8");
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        const m = /^(ok {4}|FAILED) (.+?\.ipynb) \(([\d.]+) s(?:, kernel CPU ([\d.]+) s)?\)/.exec(line);
        if (!m) continue;
        times.push({ name: path.basename(m[2], ".ipynb"), ok: m[1] !== "FAILED", seconds: Number(m[3]), cpu: m[4] === undefined ? NaN : Number(m[4]), load: loadAverage() });
        console.log(`  ${times.at(-1)!.name}: ${m[3]} s, kernel CPU ${m[4] ?? "–"} s (load average ${times.at(-1)!.load})`);
      }
    });
    child.on("exit", (c) => resolve(c));
  });
  const wall = (performance.now() - t0) / 1000;
  if (!keep) rmSync(out, { recursive: true, force: true });
  const sum = times.reduce((s, t) => s + t.seconds, 0);
  const reference = times.find((t) => t.name.startsWith("00-"))?.seconds;
  const cpuSum = times.reduce((s, t) => s + t.cpu, 0);
  console.log(`${"notebook".padEnd(36)} ${"status".padEnd(6)} ${"seconds".padStart(8)} ${"CPU s".padStart(8)} ${"share".padStart(6)} ${"× 00".padStart(6)}   load average at its end`);
  for (const t of times) {
    const ratio = reference ? (t.seconds / reference).toFixed(1) : "–";
    const cpu = Number.isNaN(t.cpu) ? "–" : t.cpu.toFixed(1);
    console.log(`${t.name.padEnd(36)} ${(t.ok ? "ok" : "FAILED").padEnd(6)} ${t.seconds.toFixed(1).padStart(8)} ${cpu.padStart(8)} ${((100 * t.seconds) / sum).toFixed(1).padStart(5)}% ${ratio.padStart(6)}   ${t.load}`);
  }
  if (!Number.isNaN(cpuSum)) console.log(`kernels' CPU time ${cpuSum.toFixed(1)} s (user + system, all threads; a quiet 2-core machine gives up to 2 CPU s per second)`);
  const mmss = (s: number) => `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, "0")} s`;
  console.log(`notebooks ${sum.toFixed(1)} s; the whole job ${mmss(wall)} (${wall.toFixed(1)} s, report pages included); load average at the end ${loadAverage()}`);
  if (code !== 0) {
    console.error(`tsdl start exited with ${code}`);
    process.exitCode = 1;
  }
}

void main();
