/**
 * The per-cell round trip (issue 13 §3): a cell that only changes the cell and the earlier cells'
 * declarations is checked and emitted with the previous cell's program and type checker instead of
 * a new one (kernel/converter.ts, `lightBuilder`). These tests hold that reuse to the same answers
 * as a new program: counts of built programs (in process), then the answers over ZeroMQ.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { Executor, type CellOutcome } from "../../kernel/executor";
import { LIBRARY_ENTRY, PACKAGE_ROOT } from "../../kernel/paths";
import { startTestKernel, type TestKernel } from "../helpers/kernel";
import { tempDir } from "../helpers/tmpdir";

function value(o: CellOutcome): unknown {
  assert.equal(o.status, "ok", o.status === "error" ? o.error.traceback.join("\n") : "");
  return o.status === "ok" ? o.value : undefined;
}

function errorText(o: CellOutcome): string {
  assert.equal(o.status, "error", `expected the cell to fail, it gave ${o.status === "ok" ? String(o.value) : ""}`);
  return o.status === "error" ? o.error.traceback.join("\n") : "";
}

describe("reusing the previous program (in process)", () => {
  let ex: Executor;
  let dir: string;
  let n = 0;
  const cwd = process.cwd();
  const run = (code: string) => ex.execute(code, `<cell ${++n}>`);
  before(() => {
    dir = tempDir("tsdl-roundtrip-");
    // tslab's converter resolves `./x` from the process's folder, as in the kernel (a notebook's folder).
    process.chdir(dir);
    ex = new Executor({ cwd: dir, root: PACKAGE_ROOT, libraryEntry: LIBRARY_ENTRY });
  });
  after(() => {
    ex.close();
    process.chdir(cwd);
  });

  test("cells that declare and use names build no new program, and see each other's types", async () => {
    assert.equal(value(await run("1 + 1")), 2);
    const built = ex.programs.built;
    const reused = ex.programs.reused;
    for (let i = 0; i < 12; i++) {
      value(await run(`let v${i}: number = ${i} * 2`));
      assert.equal(value(await run(`v${i} + 1`)), i * 2 + 1);
    }
    assert.equal(value(await run("function g(x: number) { return x + v3 }\ng(1)")), 7);
    assert.equal(ex.programs.built, built, `a new program was built for a cell that only changed the cell or the declarations (${JSON.stringify(ex.programs)})`);
    assert.ok(ex.programs.reused >= reused + 25, `expected every cell to reuse the program, counts ${JSON.stringify(ex.programs)}`);
    // The declarations of the earlier cells are the ones type-checked against.
    assert.match(errorText(await run("const s: string = v5")), /TS2322: Type 'number' is not assignable to type 'string'/);
    assert.match(errorText(await run("g('x')")), /TS2345: Argument of type 'string'/);
  });

  test("an error stays with its cell: the next cell on the same checker reports only its own", async () => {
    assert.match(errorText(await run("const bad: number = 'a'")), /TS2322/);
    assert.equal(value(await run("2 + 3")), 5);
    const e = errorText(await run("\nundefinedName"));
    assert.match(e, /<cell \d+>:2:1 - error TS2552: Cannot find name 'undefinedName'/);
    assert.doesNotMatch(e, /TS2322/, "an earlier cell's error came back");
  });

  test("the same text compiled again after reused cells gives its own output, not the last reused cell's", async () => {
    // The watch program finds its own program up to date for a text it compiled before (here an
    // expression that needs a full update, asked twice, as the tests' memory probe does).
    const expr = "(require('node:path'), JSON.stringify({ probe: 1 }))";
    value(await run("let hits = 0"));
    assert.equal(value(await ex.evaluate(expr)), '{"probe":1}');
    assert.equal(value(await run("hits += 2")), 2);
    assert.equal(value(await ex.evaluate(expr)), '{"probe":1}', "the second time the expression gave the value of the cell before it");
    assert.equal(value(await run("hits += 3")), 5);
    assert.equal(value(await ex.evaluate(expr)), '{"probe":1}');
  });

  test("a redeclared name takes its new type in the next cell", async () => {
    value(await run("let w = 5"));
    value(await run("let w = 'five'"));
    assert.equal(value(await run("w.toUpperCase()")), "FIVE");
    assert.match(errorText(await run("w.toFixed(1)")), /TS2551|TS2339/);
  });

  test("an import builds a program; the cells after it reuse it and see the module's types", async () => {
    const built = ex.programs.built;
    value(await run('import * as os from "os"'));
    assert.ok(ex.programs.built > built, "an import must resolve in a new program");
    const after = ex.programs.built;
    assert.equal(value(await run("typeof os.cpus")), "function");
    assert.match(errorText(await run("os.cpus(1)")), /TS2554: Expected 0 arguments/);
    assert.equal(ex.programs.built, after, "cells using the imported module needed no new program");
  });

  test("editing an imported local module reaches a cell that does not import it again", async () => {
    writeFileSync(path.join(dir, "helper.ts"), "export function twice(n: number): number {\n  return 2 * n;\n}\n");
    assert.equal(value(await run('import { twice } from "./helper"\ntwice(21)')), 42);
    assert.equal(value(await run("const k: number = twice(2)\nk")), 4);
    writeFileSync(path.join(dir, "helper.ts"), "export function twice(n: number): string {\n  return String(n);\n}\n");
    // The change reaches the compiler through TypeScript's file watcher, which may take a moment
    // on a busy machine: ask again until it has (at most 10 s). Far fewer cells than a program
    // serves before it is dropped anyway (512 updates; this cell declares nothing, so one each).
    let o = await run("twice(3).toFixed(1)");
    for (let i = 0; i < 40 && o.status === "ok"; i++) {
      await new Promise((r) => setTimeout(r, 250));
      o = await run("twice(3).toFixed(1)");
    }
    assert.match(errorText(o), /Property 'toFixed' does not exist on type 'string'/, "a reused program kept the old helper.ts");
  });
});

describe("reusing the previous program (over ZeroMQ)", () => {
  let t: TestKernel;
  before(async () => {
    t = await startTestKernel();
  });
  after(async () => {
    await t.stop();
  });

  test("tf and dl types, top-level await, the last value and tracebacks in cells after the first", async () => {
    const cells: [string, string][] = [
      ["tf.tensor([1, 2, 3]).sum().dataSync()[0]", "6"],
      ["const t1 = tf.ones([2, 3])", ""],
      ["t1.shape", "[ 2, 3 ]"],
      ["const r = await Promise.resolve(t1.size)", ""],
      ["r + 1", "7"],
      ["({ r })", "{ r: 6 }"],
      ["typeof dl.backendInfo", "function"],
    ];
    for (const [code, shown] of cells) {
      const o = await t.kernel.execute(code);
      assert.equal(o.status, "ok", `${code}: ${o.error?.traceback.join("\n")}`);
      assert.equal(o.result?.data["text/plain"] ?? "", shown, code);
    }
    const typed = await t.kernel.execute("t1.reshape('no')");
    assert.equal(typed.status, "error");
    assert.match(typed.error!.traceback.join("\n"), /TS2345/);
    const thrown = await t.kernel.execute("const q = r * 2\n\nif (q > 1) throw new RangeError(`too big: ${q}`)");
    assert.equal(thrown.status, "error");
    assert.equal(thrown.error!.evalue, "too big: 12");
    assert.match(thrown.error!.traceback.join("\n"), /at <cell \d+>:3:\d+/, "the traceback must point at line 3 of the cell");
  });
});
