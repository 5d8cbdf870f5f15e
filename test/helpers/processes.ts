/**
 * Test helpers about processes: is a pid alive, which children does this process have.
 *
 * On Linux both read `/proc` (a minimal Debian has no `procps`, so no `ps`); elsewhere (macOS)
 * they ask `ps`.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";

/** Injected so tests can point the look-ups at a fake `/proc`. */
export interface ProcSource {
  /** The folder that holds one folder per pid, or null to use `ps`. */
  procDir: string | null;
}

/** `/proc` on Linux, `ps` elsewhere. */
export const defaultSource: ProcSource = { procDir: process.platform === "linux" ? "/proc" : null };

/** The fields of `/proc/PID/stat` that we need, or null when the process is gone. */
export function procStat(pid: number, source: ProcSource = defaultSource): { state: string; ppid: number } | null {
  if (!source.procDir) throw new Error("procStat needs a /proc folder");
  let text: string;
  try {
    text = readFileSync(`${source.procDir}/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: rest[0], ppid: Number(rest[1]) };
}

/** True while a process with this pid exists (and is not a zombie). */
export function isAlive(pid: number, source: ProcSource = defaultSource): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (source.procDir) {
    const stat = procStat(pid, source);
    return stat !== null && stat.state !== "Z" && stat.state !== "X";
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

/** `pid args` of each live (not zombie) child of `parent`. */
export function liveChildren(parent: number = process.pid, source: ProcSource = defaultSource): string[] {
  if (source.procDir) {
    const out: string[] = [];
    for (const name of readdirSync(source.procDir)) {
      if (!/^\d+$/.test(name)) continue;
      const stat = procStat(Number(name), source);
      if (!stat || stat.ppid !== parent || stat.state === "Z" || stat.state === "X") continue;
      let args: string;
      try {
        args = readFileSync(`${source.procDir}/${name}/cmdline`, "utf8").replace(/\0+$/, "").split("\0").join(" ");
      } catch {
        continue; // it exited between the two reads
      }
      out.push(`${name} ${args}`);
    }
    return out;
  }
  let text = "";
  try {
    // `-A -o` rather than procps's `--ppid`, which macOS's ps lacks.
    text = execFileSync("ps", ["-A", "-o", "pid=,ppid=,stat=,args="], { encoding: "utf8" });
  } catch {
    return [];
  }
  return text
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 4 && Number(f[1]) === parent && !f[2].startsWith("Z"))
    .map((f) => `${f[0]} ${f.slice(3).join(" ")}`);
}

/** The command lines of this process's live child processes that run a tsdl kernel. */
export function childKernels(): string[] {
  return liveChildren().filter((l) => / kernel --connection-file /.test(l));
}
