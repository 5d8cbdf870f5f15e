/**
 * `npm test`'s closing count line reads node:test's own summary, which depends on the reporter:
 * TAP (`# pass N`, Node 20's default off a terminal) or spec (`ℹ pass N`, the default from Node 23
 * on). On Node 24 the wrapper printed "0 passed, 0 failed, 0 skipped" after a full run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { parseCounts } from "./run";
import { tempDir } from "./helpers/tmpdir";

test("the closing counts are read from both of node:test's reporters", () => {
  const file = path.join(tempDir(), "sample.test.js");
  writeFileSync(
    file,
    `const { test } = require("node:test");
test("one", () => {});
test("two", () => {});
test("three", { skip: "not here" }, () => {});
test("four", () => { throw new Error("fails on purpose"); });
`,
  );
  for (const reporter of ["tap", "spec"]) {
    const r = spawnSync(process.execPath, ["--test", `--test-reporter=${reporter}`, file], { encoding: "utf8", env: { ...process.env, NODE_TEST_CONTEXT: undefined } });
    assert.equal(r.status, 1, `${reporter}: one test fails on purpose`);
    assert.deepEqual(parseCounts(r.stdout), { pass: 2, fail: 1, cancelled: 0, skipped: 1 }, `${reporter} reporter:\n${r.stdout}`);
  }
});
