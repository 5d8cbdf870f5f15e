/** Test helpers about processes: is a pid alive, which children does this process have. */
import { execFileSync } from "node:child_process";

/** True while a process with this pid exists (and is not a zombie). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const state = execFileSync("ps", ["-o", "stat=", "-p", String(pid)], { encoding: "utf8" }).trim();
    return state !== "" && !state.startsWith("Z");
  } catch {
    return false;
  }
}

/** Waits up to `ms` for the process to be gone; returns whether it is. */
export async function waitGone(pid: number, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !isAlive(pid);
}

/** The command lines of this process's live child processes that run a tsdl kernel. */
export function childKernels(): string[] {
  let out = "";
  try {
    out = execFileSync("ps", ["-o", "pid=,stat=,args=", "--ppid", String(process.pid)], { encoding: "utf8" });
  } catch {
    return []; // ps exits 1 when there are no children
  }
  return out
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && / kernel --connection-file /.test(l) && !/^\d+\s+Z/.test(l));
}
