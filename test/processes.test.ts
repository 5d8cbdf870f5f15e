/**
 * test/helpers/processes.ts, which the runner tests use to check that no kernel is left behind:
 * on Linux it reads /proc (a minimal Debian has no `ps`), and a zombie counts as gone.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { isAlive, liveChildren, procStat, waitGone, type ProcSource } from "./helpers/processes";
import { tempDir } from "./helpers/tmpdir";

const linuxOnly = { skip: process.platform !== "linux" && "reads /proc, which only Linux has" };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("a child is alive and listed with its command line while it runs, and gone once it exits", linuxOnly, async () => {
  const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)", "tsdl-marker"], { stdio: "ignore" });
  const pid = child.pid!;
  try {
    assert.equal(isAlive(pid), true);
    assert.ok(liveChildren().includes(`${pid} ${process.execPath} -e setTimeout(() => {}, 60000) tsdl-marker`), liveChildren().join("\n"));
  } finally {
    child.kill("SIGKILL");
  }
  assert.equal(await waitGone(pid, 10_000), true);
  assert.ok(!liveChildren().some((l) => l.startsWith(`${pid} `)));
});

test("a zombie (exited, not yet reaped) is not alive and not a live child", linuxOnly, async () => {
  // sh starts `sleep 0.1` and then becomes `sleep 30`, which never reaps it: a zombie.
  const parent = spawn("sh", ["-c", "sleep 0.1 & exec sleep 30"], { stdio: "ignore" });
  try {
    const deadline = Date.now() + 20_000;
    let zombie: number | undefined;
    while (zombie === undefined && Date.now() < deadline) {
      await sleep(50);
      zombie = readdirSync("/proc")
        .filter((n) => /^\d+$/.test(n))
        .map(Number)
        .find((p) => {
          const s = procStat(p);
          return s !== null && s.ppid === parent.pid && s.state === "Z";
        });
    }
    assert.ok(zombie !== undefined, "the zombie appeared");
    assert.doesNotThrow(() => process.kill(zombie, 0), "a zombie still answers kill(pid, 0)");
    assert.equal(isAlive(zombie), false);
    assert.deepEqual(liveChildren(parent.pid), [], "only the zombie was its child");
    assert.equal(isAlive(parent.pid!), true);
  } finally {
    parent.kill("SIGKILL");
  }
});

test("stat lines whose command name holds spaces and parentheses are read right", () => {
  const dir = tempDir();
  const fake = (pid: number, comm: string, state: string, ppid: number, cmdline: string) => {
    mkdirSync(path.join(dir, String(pid)));
    writeFileSync(path.join(dir, String(pid), "stat"), `${pid} (${comm}) ${state} ${ppid} ${pid} ${pid} 0 -1 4194304 100 0 0 0\n`);
    writeFileSync(path.join(dir, String(pid), "cmdline"), cmdline.split(" ").join("\0") + "\0");
  };
  fake(101, "node (x) Z 5", "S", 7, "node kernel --connection-file /tmp/a.json");
  fake(102, "zomb", "Z", 7, "");
  fake(103, "other", "R", 8, "node other");
  mkdirSync(path.join(dir, "self"));
  const source: ProcSource = { procDir: dir };
  assert.deepEqual(procStat(101, source), { state: "S", ppid: 7 });
  assert.equal(procStat(999, source), null);
  assert.deepEqual(liveChildren(7, source), ["101 node kernel --connection-file /tmp/a.json"]);
  assert.deepEqual(liveChildren(8, source), ["103 node other"]);
});

const hasPs = spawnSync("ps", ["-o", "pid="], { stdio: "ignore" }).status === 0;
test("the ps fallback (for macOS) lists the same child", { skip: !hasPs && "no ps on this machine (the /proc path is what Linux uses)" }, async () => {
  const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
  try {
    const viaPs = liveChildren(process.pid, { procDir: null });
    assert.ok(viaPs.some((l) => l.startsWith(`${child.pid} `) && l.includes("setTimeout")), viaPs.join("\n"));
    assert.equal(isAlive(child.pid!, { procDir: null }), true);
  } finally {
    child.kill("SIGKILL");
  }
  assert.equal(await waitGone(child.pid!, 10_000), true);
});
