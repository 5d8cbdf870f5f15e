/**
 * The notebooks are part of the test suite: each one in notebooks/ runs top to bottom through the
 * real kernel (the same runner as `tsdl run`) with its quick settings (TSDL_QUICK=1), and must end
 * with no error, hold the charts it promises, and be stored without outputs in git.
 *
 * A notebook states its promises in its metadata, beside its cells:
 *   "tsdl": { "expects": { "plotly": 3, "html": 1 } }
 * meaning "its executed outputs hold at least 3 plotly bundles and 1 text/html one". The key facts
 * (the loss fell, the gradient check passed, the accuracy reached its target) are asserted by the
 * notebook's own last code cells, so a broken library fails the notebook here.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { readNotebook, serializeNotebook } from "../../kernel/nbformat/io";
import { assertValidNotebook } from "../../kernel/nbformat/validate";
import { joinText, type Notebook, type Output } from "../../kernel/nbformat/types";
import { runNotebook } from "../../kernel/runner/run";
import { PACKAGE_ROOT } from "../../kernel/paths";

const NOTEBOOKS = path.join(PACKAGE_ROOT, "notebooks");
const files = fs.readdirSync(NOTEBOOKS).filter((f) => f.endsWith(".ipynb")).sort();

/** Counts outputs carrying `mime`, in display_data, execute_result and (updated) display outputs. */
function countMime(nb: Notebook, mime: string): number {
  let n = 0;
  for (const cell of nb.cells) {
    if (cell.cell_type !== "code") continue;
    for (const out of cell.outputs as Output[]) {
      if ((out.output_type === "display_data" || out.output_type === "execute_result") && mime in out.data) n++;
    }
  }
  return n;
}

test("there are notebooks to run", () => {
  assert.ok(files.length >= 1, `expected notebooks in ${NOTEBOOKS}`);
});

for (const file of files) {
  const full = path.join(NOTEBOOKS, file);
  test(`${file} is stored clean: tsdl kernel, no outputs, a closing summary`, () => {
    const nb = readNotebook(full);
    assert.equal(nb.metadata.kernelspec?.name, "tsdl", "the notebook opens on the tsdl kernel");
    for (const [i, cell] of nb.cells.entries()) {
      if (cell.cell_type !== "code") continue;
      assert.deepEqual(cell.outputs, [], `cell ${i + 1} has stored outputs; strip them (the reports hold the executed version)`);
      assert.equal(cell.execution_count, null, `cell ${i + 1} has an execution count; strip it`);
    }
    const last = nb.cells[nb.cells.length - 1];
    assert.equal(last?.cell_type, "markdown", "a notebook ends with a short summary in markdown");
  });

  test(`${file} runs top to bottom with its quick settings and shows what it promises`, { timeout: 15 * 60_000 }, async () => {
    const nb = readNotebook(full);
    const result = await runNotebook(nb, { cwd: NOTEBOOKS, env: { TSDL_QUICK: "1" }, timeoutSeconds: 600 });
    const where = result.failedCell ? ` at cell ${result.failedCell}` : "";
    assert.equal(result.status, "ok", `${file} ended ${result.status}${where}: ${result.error ?? ""}`);
    assert.deepEqual(result.errors, [], `${file}: cells failed`);
    const codeCells = nb.cells.filter((c) => c.cell_type === "code" && joinText(c.source).trim() !== "").length;
    assert.equal(result.executed, codeCells, "every code cell ran");
    // The executed notebook is valid nbformat 4 (what `tsdl run` writes).
    assertValidNotebook(JSON.parse(serializeNotebook(result.notebook)), file);
    const expects = ((nb.metadata.tsdl as { expects?: Record<string, number> } | undefined)?.expects ?? {}) as Record<string, number>;
    const mimes: Record<string, string> = { plotly: "application/vnd.plotly.v1+json", html: "text/html", svg: "image/svg+xml", png: "image/png" };
    for (const [kind, min] of Object.entries(expects)) {
      const mime = mimes[kind];
      assert.ok(mime, `metadata.tsdl.expects.${kind}: expected one of ${Object.keys(mimes).join(", ")}`);
      const found = countMime(result.notebook, mime);
      assert.ok(found >= min, `${file}: expected at least ${min} ${mime} outputs, found ${found}`);
    }
    console.log(`# ${file}: ${result.executed} cells in ${result.durationSeconds.toFixed(1)} s (quick)`);
  });
}
