/**
 * A real third-party client: Debian's nbclient runs notebooks/00-kernel-smoke.ipynb on the tsdl
 * kernelspec installed into a temporary prefix. The run must finish with no error outputs and
 * with the expected outputs present.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { installKernelspec } from "../../kernel/kernelspec";
import { PACKAGE_ROOT } from "../../kernel/paths";
import { pythonPath, requires } from "../helpers/components";

const NOTEBOOK = path.join(PACKAGE_ROOT, "notebooks", "00-kernel-smoke.ipynb");

const tmp = mkdtempSync(path.join(os.tmpdir(), "tsdl-nbclient-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

// Execute the notebook in memory and print the executed notebook as JSON (nothing is written).
const RUN = `
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, kernel_name="tsdl", timeout=120, startup_timeout=120,
               resources={"metadata": {"path": sys.argv[2]}}).execute()
nbformat.write(nb, sys.stdout)
`;

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
  ename?: string;
  evalue?: string;
}

const text = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join("") : (v ?? ""));

test("nbclient runs the smoke notebook on the installed tsdl kernelspec", { skip: requires("jupyter"), timeout: 300_000 }, () => {
  const source = JSON.parse(readFileSync(NOTEBOOK, "utf8")) as { cells: { outputs?: unknown[] }[] };
  assert.ok(
    source.cells.every((c) => !c.outputs || c.outputs.length === 0),
    "the notebook is committed without outputs",
  );

  const prefix = path.join(tmp, "prefix");
  installKernelspec({ location: { kind: "prefix", prefix } });
  const r = spawnSync(pythonPath(), ["-c", RUN, NOTEBOOK, path.dirname(NOTEBOOK)], {
    encoding: "utf8",
    timeout: 280_000,
    env: {
      ...process.env,
      JUPYTER_PATH: path.join(prefix, "share", "jupyter"),
      JUPYTER_DATA_DIR: path.join(tmp, "data"),
      JUPYTER_RUNTIME_DIR: path.join(tmp, "runtime"),
      JUPYTER_CONFIG_DIR: path.join(tmp, "config"),
    },
  });
  assert.equal(r.status, 0, `nbclient failed:\n${r.stderr}`);
  const nb = JSON.parse(r.stdout) as { cells: { id: string; cell_type: string; outputs?: Output[]; execution_count?: number }[] };
  const code = nb.cells.filter((c) => c.cell_type === "code");
  const errors = code.flatMap((c) => (c.outputs ?? []).filter((o) => o.output_type === "error"));
  assert.deepEqual(errors, [], "no error outputs");
  assert.deepEqual(code.map((c) => c.execution_count), code.map((_, i) => i + 1));
  const out = (id: string) => {
    const cell = nb.cells.find((c) => c.id === id);
    assert.ok(cell, `cell ${id}`);
    return cell.outputs ?? [];
  };

  const [backend] = out("backend");
  assert.equal(backend.output_type, "execute_result");
  assert.match(text(backend.data?.["text/plain"]), /^node-gpu .*\nnode .*\nwasm .*\ncpu .*/);
  assert.match(text(backend.data?.["text/plain"]), /active/);

  const [product] = out("matmul");
  assert.match(text(product.data?.["text/plain"]), /^Tensor\n\s+\[\[7 , 10\],\n\s+\[15, 22\]\]$/);

  assert.deepEqual(out("sum").map((o) => [o.output_type, o.name, text(o.text)]), [["stream", "stdout", "sum of x: 10\n"]]);

  const [table] = out("table");
  assert.equal(table.output_type, "display_data");
  assert.equal(text(table.data?.["text/html"]), "<table><tr><td>1</td><td>2</td></tr><tr><td>3</td><td>4</td></tr></table>");
  assert.equal(text(table.data?.["text/plain"]), "1 2\n3 4");

  const [card] = out("card");
  assert.equal(card.output_type, "execute_result");
  assert.match(text(card.data?.["text/html"]), /^<b>tsdl \d+\.\d+\.\d+<\/b> on <code>(wasm|cpu|node|node-gpu)<\/code>$/);

  // nbclient applies update_display_data to the output with that display id.
  const counter = out("counter");
  assert.equal(counter.length, 1);
  assert.equal(text(counter[0].data?.["text/plain"]), "step 3 of 3");
});
