/**
 * `tsdl notebooks [DIR] [--force]`: the real command copies the package's walkthrough notebooks
 * into a folder of the user's, and never overwrites an edited copy without --force.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { notebooksCommand, type NotebooksIO } from "../../kernel/notebooks-command";
import { LAUNCHER, PACKAGE_ROOT } from "../../kernel/paths";
import { tempDir } from "../helpers/tmpdir";

const NOTEBOOKS = path.join(PACKAGE_ROOT, "notebooks");
const walkthroughs = readdirSync(NOTEBOOKS).filter((f) => f.endsWith(".ipynb")).sort();

function tsdl(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [LAUNCHER, "notebooks", ...args], { cwd, encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test("copies every walkthrough into ./tsdl-notebooks, byte for byte, and says so", () => {
  assert.ok(walkthroughs.length >= 7, `the package has its notebooks (${walkthroughs.join(", ")})`);
  const cwd = tempDir();
  const r = tsdl(cwd);
  assert.equal(r.code, 0, r.err);
  const dir = path.join(cwd, "tsdl-notebooks");
  for (const f of walkthroughs) {
    assert.equal(readFileSync(path.join(dir, f), "utf8"), readFileSync(path.join(NOTEBOOKS, f), "utf8"), f);
    assert.ok(r.out.includes(`  ${f}\n`), `${f} is named in:\n${r.out}`);
  }
  assert.match(r.out, new RegExp(`^copied ${readdirSync(dir).length} files into ${dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\n`));
  assert.doesNotMatch(r.out, /skipped/);
});

test("a second run keeps an edited copy and says it skipped it; --force overwrites it", () => {
  const cwd = tempDir();
  assert.equal(tsdl(cwd, "mine").code, 0);
  const edited = path.join(cwd, "mine", walkthroughs[1]);
  writeFileSync(edited, "my own edits");
  const again = tsdl(cwd, "mine");
  assert.equal(again.code, 0, again.err);
  assert.equal(readFileSync(edited, "utf8"), "my own edits", "never overwritten without --force");
  const copied = readdirSync(path.join(cwd, "mine")).length; // the notebooks and what goes with them (ARTICLE.md)
  assert.match(again.out, new RegExp(`^skipped ${copied} already there \\(kept as they are; --force overwrites\\):\n`, "m"));
  assert.doesNotMatch(again.out, /^copied/m);
  const forced = tsdl(cwd, "mine", "--force");
  assert.equal(forced.code, 0, forced.err);
  assert.equal(readFileSync(edited, "utf8"), readFileSync(path.join(NOTEBOOKS, walkthroughs[1]), "utf8"));
  assert.match(forced.out, /^copied \(overwriting any there\) \d+ files into /);
});

test("bad usage and a target that is a file are refused with the reason", () => {
  const cwd = tempDir();
  writeFileSync(path.join(cwd, "taken"), "x");
  const file = tsdl(cwd, "taken");
  assert.equal(file.code, 1);
  assert.match(file.err, /cannot copy the notebooks into .*taken: .*taken exists and is not a folder; expected a folder/);
  assert.equal(readFileSync(path.join(cwd, "taken"), "utf8"), "x");
  const opt = tsdl(cwd, "--frce");
  assert.equal(opt.code, 2);
  assert.match(opt.err, /unknown option --frce; expected --force or --help/);
  const two = tsdl(cwd, "a", "b");
  assert.equal(two.code, 2);
  assert.match(two.err, /expected at most one folder, found 2: a b/);
  assert.deepEqual(readdirSync(cwd), ["taken"], "nothing was created");
});

test("sub-folders are copied, hidden folders such as .ipynb_checkpoints are not", () => {
  const source = tempDir();
  mkdirSync(path.join(source, "data"));
  mkdirSync(path.join(source, ".ipynb_checkpoints"));
  writeFileSync(path.join(source, "a.ipynb"), "a");
  writeFileSync(path.join(source, "data", "b.csv"), "b");
  writeFileSync(path.join(source, ".ipynb_checkpoints", "a-checkpoint.ipynb"), "old");
  const cwd = tempDir();
  const said: string[] = [];
  const io: NotebooksIO = { out: (t) => said.push(t), err: (t) => said.push(t), cwd, source };
  assert.equal(notebooksCommand(["out"], io), 0);
  assert.deepEqual(readdirSync(path.join(cwd, "out")).sort(), ["a.ipynb", "data"]);
  assert.equal(readFileSync(path.join(cwd, "out", "data", "b.csv"), "utf8"), "b");
  assert.match(said.join(""), /copied 2 files into .*out:\n {2}a\.ipynb\n {2}data\/b\.csv\n/);
});
