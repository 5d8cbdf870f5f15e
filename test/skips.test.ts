/**
 * The skip logic of `npm test` itself: the wrapper (test/run.ts) runs real test files with every
 * optional component's look-up pointed at a missing place. Without CI the run passes and its
 * closing block names each missing component, the tests it held back and its install line; under
 * `CI=true` the same run fails and says what is missing.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { allPackages } from "./helpers/components";

const tmp = mkdtempSync(path.join(os.tmpdir(), "tsdl-skips-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const nowhere = path.join(tmp, "nowhere");

const WRAPPER = path.join(__dirname, "run.js");
// One file per component: each has tests that need it and tests that do not.
const FILES = ["report/browser.test.js", "runner/nbformat.test.js", "data/loaders.test.js"].map((f) => path.join(__dirname, f));

function runWrapper(ci: string | undefined) {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TSDL_CHROMIUM: path.join(nowhere, "chromium"),
    TSDL_PYTHON: path.join(nowhere, "python3"),
    TSDL_FASHION_MNIST: path.join(nowhere, "fashion-mnist"),
  };
  delete env.CI;
  delete env.TSDL_SKIP_LOG;
  delete env.NODE_TEST_CONTEXT; // set by the runner around this file; a nested run must not see it
  if (ci !== undefined) env.CI = ci;
  const r = spawnSync(process.execPath, [WRAPPER, ...FILES], { encoding: "utf8", env, timeout: 240_000, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, out: r.stdout + r.stderr };
}

test("missing components skip their tests; the run passes and its last lines name each one with its install line", { timeout: 300_000 }, () => {
  const { code, out } = runWrapper(undefined);
  assert.equal(code, 0, out.slice(-4000));
  const block = out.slice(out.lastIndexOf("Skipped "));
  const lines = block.split("\n");
  assert.match(lines[0], /^Skipped 7 tests for want of optional system components:$/);
  const line = (title: RegExp) => lines.find((l) => title.test(l)) ?? assert.fail(`no line for ${title} in:\n${block}`);
  assert.match(line(/^ {2}- Chromium or Chrome:/), /: 3 tests \(browser\.test\.js\); install: apt-get install chromium \(or set TSDL_CHROMIUM/);
  assert.match(line(/^ {2}- Debian's Jupyter client tools/), /: 1 test \(nbformat\.test\.js\); install: apt-get install jupyter-client python3-nbclient jupyter-nbconvert python3-nbformat python3-ipykernel$/);
  assert.match(line(/^ {2}- Fashion-MNIST:/), /: 3 tests \(loaders\.test\.js\); install: apt-get install dataset-fashion-mnist$/);
  assert.equal(lines.filter((l) => l.startsWith("  - ")).length, 3, "one line per missing component");
  assert.ok(block.includes(`To run every test: sudo apt-get install ${allPackages().join(" ")}`));
  const counts = /^(\d+) passed, (\d+) failed, (\d+) skipped$/m.exec(block);
  assert.ok(counts, `a closing count line in:\n${block}`);
  assert.equal(Number(counts[2]), 0);
  assert.equal(Number(counts[3]), 7);
  assert.ok(Number(counts[1]) >= 10, "the tests that need nothing optional still ran");
  assert.equal(block.trimEnd().split("\n").at(-1), counts[0], "the count line is the last line");
});

test("under CI=true the same run fails and names what is missing", { timeout: 300_000 }, () => {
  const { code, out } = runWrapper("true");
  assert.notEqual(code, 0, "a missing component must fail a CI run");
  for (const what of [/needs Chromium or Chrome: apt-get install chromium/, /needs Debian's Jupyter client tools .*: apt-get install jupyter-client/, /needs Fashion-MNIST: apt-get install dataset-fashion-mnist/]) {
    assert.match(out, what);
  }
  assert.match(out, /CI=true and a test component is missing, and under CI nothing may skip/);
  assert.match(out, /^\d+ passed, [1-9]\d* failed, 0 skipped$/m);
});

test("the README's one install line and .ci/run name every package that a component needs", () => {
  const root = path.join(__dirname, "..", "..");
  const readme = readFileSync(path.join(root, "README.md"), "utf8");
  assert.ok(readme.includes("\nsudo apt-get install " + allPackages().join(" ") + "\n"), "README's quick start line lists allPackages()");
  const ci = readFileSync(path.join(root, ".ci", "run"), "utf8");
  const listed = /PKGS=\(([^)]*)\)/.exec(ci)?.[1].split(/\s+/).filter(Boolean) ?? [];
  assert.deepEqual([...listed].sort(), [...allPackages()].sort(), ".ci/run installs exactly the components' packages");
  assert.match(ci, /^export CI=true$/m, ".ci/run fails on a skip");
});
