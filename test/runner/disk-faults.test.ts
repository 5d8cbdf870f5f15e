/**
 * Files on a full disk and on a read-only file system (issue 9): saving a model, writing a
 * notebook and writing a report each fail with a clear error naming the file and the reason, the
 * previous file is intact, and no temporary file is left. Real file systems: a 2 MiB tmpfs
 * mounted in a private mount namespace (`unshare -rm`, so nothing outlives the test), filled up,
 * then remounted read-only. The work runs in a child process inside that namespace.
 *
 * Covered elsewhere: temp-then-rename for models with injected failures and SIGKILL mid-save
 * (train/io.test.ts), a notebook write into a missing folder (runner/nbformat.test.ts).
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { requires } from "../helpers/components";

const child = path.join(__dirname, "..", "helpers", "disk-child.js");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsdl-disk-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));


interface Attempt {
  message: string;
  intact: boolean;
  files: string[];
}
type Phase = { phase: string; filled?: string } & Record<"model" | "notebook" | "report", Attempt>;

test("a full disk, then a read-only one: clear errors, the previous model, notebook and report intact, no temporary files", { skip: requires("mount-namespace") }, () => {
  const script = 'set -e; mount -t tmpfs -o size=2m tsdl-test "$1"; node "$2" full "$1"; mount -o remount,ro "$1"; node "$2" readonly "$1"';
  const r = spawnSync("unshare", ["-rm", "sh", "-c", script, "sh", dir, child], { encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const [full, readonly] = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Phase);
  assert.equal(full.filled, "ENOSPC", "the disk was full");
  const cases: [Phase, string, RegExp][] = [
    [full, "ENOSPC", /\(the disk is full\)/],
    [readonly, "EROFS", /\((the file system is read-only|the target is not writable)\)/],
  ];
  for (const [phase, code, why] of cases) {
    const { model, notebook, report } = phase;
    assert.match(model.message, new RegExp(`^save: cannot write ${dir}/model/(weights\\.[0-9a-f]{16}\\.bin|model\\.json): ${code}: `), `${phase.phase}: ${model.message}`);
    assert.match(model.message, why);
    assert.match(model.message, /; the previous model in .*\/model, if any, is unchanged$/);
    assert.equal(model.intact, true, `${phase.phase}: the previous model loads with its own predictions`);
    assert.equal(model.files.length, 2, `${phase.phase}: model.json and its weights only: ${model.files.join(", ")}`);
    assert.ok(model.files.includes("model.json"));
    for (const [what, a, name] of [["notebook", notebook, "nb.ipynb"], ["report", report, "nb.html"]] as const) {
      assert.match(a.message, new RegExp(`^cannot write ${dir}/${name.replace(".", "\\.")}: ${code}: `), `${phase.phase} ${what}: ${a.message}`);
      assert.match(a.message, why);
      assert.match(a.message, /; the previous file, if any, is unchanged$/);
      assert.equal(a.intact, true, `${phase.phase}: the previous ${what} is intact`);
      assert.deepEqual(a.files.filter((f) => f.endsWith(".tmp") || f.includes(".tmp-")), [], `${phase.phase}: no temporary file left`);
    }
  }
  console.log(`# full disk: ${full.model.message}\n# read-only: ${readonly.notebook.message}`);
});
