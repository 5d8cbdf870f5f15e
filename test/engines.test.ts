/**
 * The Node versions package.json's `engines` admits are the ones every installed package accepts,
 * so `npm install` prints no EBADENGINE warning on any of them (katex 0.19's commander wanted
 * Node ≥ 22.12 while we said ≥ 20). Read from package-lock.json, which records each package's
 * `engines`; semver (npm's own range library) does the range arithmetic.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import semver from "semver";
import { PACKAGE_ROOT } from "../kernel/paths";

const pkg = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, "package.json"), "utf8")) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, "package-lock.json"), "utf8")) as {
  packages: Record<string, { engines?: { node?: string } | string[]; optional?: boolean; dev?: boolean }>;
};

test("engines names the tested lines: Node 20.19+, 22.12+ and 24+, and this Node is one of them", () => {
  const range = pkg.engines.node;
  for (const v of ["20.19.0", "22.12.0", "24.0.0", "24.22.3"]) assert.ok(semver.satisfies(v, range), `${v} should satisfy ${range}`);
  for (const v of ["18.20.0", "20.18.0", "21.7.0", "22.11.0", "23.11.0"]) assert.ok(!semver.satisfies(v, range), `${v} should not satisfy ${range}`);
  assert.ok(semver.satisfies(process.version, range), `this Node ${process.version} runs the suite, so engines must admit it (${range})`);
});

test("every dependency accepts the lowest version of each line engines admits: no EBADENGINE on install", () => {
  const lowest = pkg.engines.node.split("||").map((r) => semver.minVersion(r.trim())!.version);
  assert.deepEqual(lowest, ["20.19.0", "22.12.0", "24.0.0"]);
  const refusals: string[] = [];
  for (const [where, p] of Object.entries(lock.packages)) {
    const node = p.engines && !Array.isArray(p.engines) ? p.engines.node : undefined;
    if (!where || !node) continue;
    for (const v of lowest) if (!semver.satisfies(v, node)) refusals.push(`${where} wants node ${node}, refuses ${v}${p.optional ? " (optional)" : ""}`);
  }
  assert.deepEqual(refusals, []);
});
