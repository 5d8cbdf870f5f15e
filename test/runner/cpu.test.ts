/**
 * The kernel CPU time `tsdl start` and `tsdl run` print beside each notebook's wall time: parsed
 * from /proc/self/stat, and measured for a real kernel that burns a known amount of CPU.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Notebook } from "../../kernel/nbformat/types";
import { startCommand, type CommandIO } from "../../kernel/runner/command";
import { childCpuFromStat, childCpuSeconds } from "../../kernel/runner/cpu";
import { childKernels } from "../helpers/processes";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tsdl-cpu-test-"));
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  assert.deepEqual(childKernels(), [], "a kernel process was left behind");
});

test("childCpuFromStat reads cutime + cstime (fields 16, 17) in seconds, past a command name with spaces and parentheses", () => {
  // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime ...
  const stat = "4242 (node (x) y) S 1 4242 4242 0 -1 4194304 100 200 0 0 777 888 1234 566 20 0 11 0 5 6 7";
  assert.equal(childCpuFromStat(stat), 18);
  assert.throws(() => childCpuFromStat("no parentheses here"), /expected "pid \(comm\) state \.\.\."/);
  assert.throws(() => childCpuFromStat("1 (a) S 1 2 3"), /expected numbers in fields 16 and 17, found undefined and undefined/);
  assert.equal(childCpuSeconds(() => { throw new Error("ENOENT"); }), undefined, "no /proc: no figure");
  if (process.platform === "linux") assert.ok(typeof childCpuSeconds() === "number");
});

test("tsdl start prints each notebook's kernel CPU time: at least what its cell burned, at most wall time × cores", { skip: process.platform !== "linux" ? "reads Linux's /proc" : false }, async () => {
  const notebooks = path.join(tmp, "notebooks");
  fs.mkdirSync(notebooks);
  // The cell spins until its own process has used 1.5 s more CPU (sleeping would use none).
  const burn = "const t0 = process.cpuUsage(); let spins = 0;\nwhile ((process.cpuUsage(t0).user + process.cpuUsage(t0).system) < 1.5e6) spins++;\nconsole.log(`burned ${spins > 0}`);";
  const nb: Notebook = {
    nbformat: 4, nbformat_minor: 5, metadata: {},
    cells: [{ cell_type: "code", id: "b", metadata: {}, source: burn, outputs: [], execution_count: null }],
  };
  fs.writeFileSync(path.join(notebooks, "burn.ipynb"), JSON.stringify(nb));
  let out = "";
  const io: CommandIO = {
    out: { write: (s: string) => ((out += s), true) } as unknown as NodeJS.WritableStream,
    err: { write: () => true } as unknown as NodeJS.WritableStream,
  };
  const status = await startCommand(["--notebooks", notebooks, "--out", path.join(tmp, "reports")], io, { env: { TSDL_BACKEND: "cpu" } });
  assert.equal(status, 0, out);
  const m = /^ok {5}\S+burn\.ipynb \(([\d.]+) s, kernel CPU ([\d.]+) s\)/m.exec(out);
  assert.ok(m, `expected "(WALL s, kernel CPU CPU s)" on the notebook's line, found ${out}`);
  const [wall, cpu] = [Number(m[1]), Number(m[2])];
  assert.ok(cpu >= 1.5, `the cell alone burned 1.5 s of the kernel's CPU, found ${cpu} s`);
  assert.ok(cpu <= wall * os.cpus().length + 0.5, `CPU ${cpu} s cannot exceed wall ${wall} s × ${os.cpus().length} cores`);
});
