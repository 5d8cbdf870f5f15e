/**
 * Jupyter's own kernel conformance suite (Debian's python3-jupyter-kernel-test) against the tsdl
 * kernelspec installed into a temporary prefix. The samples live in test/kernel/conformance.py;
 * this file runs it and checks that every test ran and passed, none skipped (a sample left empty
 * makes the suite skip its test, which would pass silently).
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PACKAGE_ROOT } from "../../kernel/paths";
import { pythonPath, requires } from "../helpers/components";
import { isolatedJupyter } from "../helpers/jupyter-env";

const SUITE = path.join(PACKAGE_ROOT, "test", "kernel", "conformance.py");
/** KernelTests' 12 tests (jupyter_kernel_test 0.4.5) plus conformance.py's own 4. */
const EXPECTED_TESTS = 16;

const tmp = mkdtempSync(path.join(os.tmpdir(), "tsdl-conformance-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

test("jupyter_kernel_test passes on the installed tsdl kernelspec, every sample given", { skip: requires("kernel-test"), timeout: 600_000 }, () => {
  const { env } = isolatedJupyter(tmp);
  const r = spawnSync(pythonPath(), [SUITE, "-v"], {
    cwd: tmp,
    encoding: "utf8",
    timeout: 580_000,
    env,
  });
  // unittest reports on stderr; the kernel's own log lines go there too.
  const report = r.stderr.split("\n").filter((l) => !l.startsWith("tsdl kernel: ")).join("\n");
  assert.equal(r.status, 0, `the suite failed (exit ${r.status}${r.signal ? `, ${r.signal}` : ""}):\n${report}`);
  const ran = /^Ran (\d+) tests? in /m.exec(report);
  assert.ok(ran, `no "Ran N tests" line in:\n${report}`);
  assert.equal(Number(ran[1]), EXPECTED_TESTS, `tests run:\n${report}`);
  assert.match(report, /^OK$/m, `expected a plain OK (no skips, no expected failures):\n${report}`);
  assert.doesNotMatch(report, /skipped/, report);
  // Each of the suite's own tests ran under its name (none renamed away or lost).
  for (const name of [
    "test_kernel_info",
    "test_execute_stdout",
    "test_execute_stderr",
    "test_completion",
    "test_is_complete",
    "test_pager",
    "test_error",
    "test_execute_result",
    "test_display_data",
    "test_history",
    "test_inspect",
    "test_clear_output",
    "test_iopub_welcome",
  ]) {
    assert.match(report, new RegExp(`^${name} \\(.*\\)(?:\\n[^\\n]*)? \\.\\.\\. ok$`, "m"), `${name} passed`);
  }
});
