/**
 * CPU time of the kernels a run started: what the kernel processes (and anything they waited for)
 * spent on the CPU, user and system, read from Linux's `/proc/self/stat` (its `cutime` and
 * `cstime`: the CPU of every child this process has waited for). Node exposes only its own
 * process's usage (`process.resourceUsage`), and a notebook's kernel is a child: once the runner
 * has seen it exit, its CPU is in these counters. On a shared machine the wall time of a notebook
 * grows with the load while its CPU time barely does, so `tsdl start` prints both.
 */
import { readFileSync } from "node:fs";

/** Clock ticks per second of /proc's times (USER_HZ: 100 on every Linux architecture Node runs on). */
const USER_HZ = 100;

/** Parses `cutime + cstime` (fields 16 and 17) of a /proc/PID/stat line into seconds. */
export function childCpuFromStat(stat: string): number {
  // Field 2 is the command in parentheses and may hold spaces or parentheses: split after the last ")".
  const close = stat.lastIndexOf(")");
  if (close < 0) throw new Error(`/proc stat: expected "pid (comm) state ...", found ${JSON.stringify(stat.slice(0, 80))}`);
  const fields = stat.slice(close + 2).trim().split(/\s+/); // fields[0] is field 3 (state)
  const cutime = Number(fields[13]);
  const cstime = Number(fields[14]);
  if (!Number.isFinite(cutime) || !Number.isFinite(cstime)) throw new Error(`/proc stat: expected numbers in fields 16 and 17, found ${fields[13]} and ${fields[14]}`);
  return (cutime + cstime) / USER_HZ;
}

/** CPU seconds of this process's waited-for children so far; undefined where /proc is missing (not Linux). */
export function childCpuSeconds(readStat: () => string = () => readFileSync("/proc/self/stat", "utf8")): number | undefined {
  try {
    return childCpuFromStat(readStat());
  } catch {
    return undefined;
  }
}
