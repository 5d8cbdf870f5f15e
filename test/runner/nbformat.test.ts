import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AtomicWriteError } from "../../kernel/atomic-write";
import { NotebookReadError, parseNotebook, readNotebook, serializeNotebook, writeNotebook } from "../../kernel/nbformat/io";
import type { Notebook } from "../../kernel/nbformat/types";
import { NBFORMAT_V4_SCHEMA, NotebookValidationError, validateNotebook } from "../../kernel/nbformat/validate";
import { pythonPath, requires } from "../helpers/components";

const FIXTURE = path.join(__dirname, "..", "..", "..", "test", "fixtures", "report-sample.ipynb");

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "tsdl-nbformat-"));
}

test("the copied schema is the official v4.5 one and uses no keyword whose meaning differs between draft-04 and draft-07", () => {
  assert.equal(NBFORMAT_V4_SCHEMA.$schema, "http://json-schema.org/draft-04/schema#");
  assert.equal(NBFORMAT_V4_SCHEMA.description, "Jupyter Notebook v4.5 JSON schema.");
  const keys = new Set<string>();
  // Collect keywords: the keys of schema objects, not the property names they define.
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        keys.add(k);
        if (k === "properties" || k === "patternProperties" || k === "definitions") Object.values(x as object).forEach(walk);
        else walk(x);
      }
    }
  };
  walk(NBFORMAT_V4_SCHEMA);
  for (const k of ["exclusiveMinimum", "exclusiveMaximum", "id", "dependencies"]) {
    assert.ok(!keys.has(k), `schema uses ${k}, whose meaning changed after draft-04`);
  }
  assert.ok(keys.has("oneOf") && keys.has("patternProperties"), "the walk saw the schema's keywords");
});

test("the copied schema is python3-nbformat's file, unchanged", { skip: requires("jupyter") }, () => {
  const r = spawnSync(pythonPath(), ["-c", "import nbformat, os; print(os.path.join(os.path.dirname(nbformat.__file__), 'v4', 'nbformat.v4.schema.json'))"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const theirs = r.stdout.trim();
  const ours = path.join(__dirname, "..", "..", "..", "kernel", "nbformat", "nbformat.v4.schema.json");
  assert.equal(fs.readFileSync(ours, "utf8"), fs.readFileSync(theirs, "utf8"));
});

test("the validator accepts a valid notebook and rejects broken ones, naming the place, the rule and what it found", () => {
  const good = JSON.parse(fs.readFileSync(FIXTURE, "utf8"));
  assert.deepEqual(validateNotebook(good), []);

  const bad = structuredClone(good);
  delete bad.cells[1].outputs[0].name; // a stream without its name
  bad.cells[1].execution_count = "1"; // a string count
  bad.cells[2].outputs.push({ output_type: "display", data: {} }); // an unknown output type
  bad.cells[0].id = "has space";
  const problems = validateNotebook(bad);
  assert.deepEqual(problems, [
    `/cells/0/id: must match pattern "^[a-zA-Z0-9-_]+$", found "has space"`,
    `/cells/1/execution_count: must be integer,null, found "1"`,
    "/cells/1/outputs/0: must have required property 'name'",
    `/cells/2/outputs/2/output_type: must be one of ["execute_result","display_data","stream","error"], found "display"`,
  ]);
  assert.deepEqual(validateNotebook({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [], extra: 1 }), [
    "(root): must NOT have additional properties 'extra'",
  ]);
  assert.deepEqual(validateNotebook({ nbformat: 4, nbformat_minor: 5, metadata: {} }), ["(root): must have required property 'cells'"]);
  assert.deepEqual(validateNotebook("not a notebook"), [`(root): must be object, found "not a notebook"`]);
});

test("writeNotebook refuses an invalid notebook with a clear error and keeps the previous file", () => {
  const dir = tmpdir();
  try {
    const file = path.join(dir, "nb.ipynb");
    fs.writeFileSync(file, "previous");
    const nb = readNotebook(FIXTURE);
    (nb.cells[1] as { execution_count: unknown }).execution_count = -3;
    assert.throws(
      () => writeNotebook(file, nb),
      (err: unknown) =>
        err instanceof NotebookValidationError &&
        /nb\.ipynb: not a valid nbformat 4 notebook \(official nbformat\.v4\.schema\.json\): \/cells\/1\/execution_count: must be >= 0, found -3/.test(err.message),
    );
    assert.equal(fs.readFileSync(file, "utf8"), "previous");
    assert.deepEqual(fs.readdirSync(dir), ["nb.ipynb"]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("writeNotebook writes atomically: a failed write names the file and leaves no temporary file", () => {
  const dir = tmpdir();
  try {
    const blocker = path.join(dir, "not-a-dir");
    fs.writeFileSync(blocker, "a file where a folder should be");
    assert.throws(
      () => writeNotebook(path.join(blocker, "nb.ipynb"), readNotebook(FIXTURE)),
      (err: unknown) => err instanceof AtomicWriteError && /cannot write .*not-a-dir\/nb\.ipynb: .*previous file, if any, is unchanged/.test(err.message),
    );
    assert.deepEqual(fs.readdirSync(dir), ["not-a-dir"]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("notebooks round-trip: Jupyter's on-disk form (lines, sorted keys, one-space indent) reads back to the same notebook", () => {
  const nb = readNotebook(FIXTURE);
  const text = serializeNotebook(nb);
  assert.ok(text.startsWith('{\n "cells": [\n  {\n   "cell_type": "markdown",'), text.slice(0, 80));
  const disk = JSON.parse(text);
  assert.deepEqual(validateNotebook(disk), []);
  assert.deepEqual(disk.cells[1].source, ['console.log("<script>window.__pwned = 1</script>");\n', 'console.error("<img src=x onerror=\\"window.__pwned = 2\\">");\n', "const answer: number = 42;"]);
  // JSON MIME data stays a JSON value; text MIME data is split into lines.
  assert.equal(typeof disk.cells[2].outputs[0].data["application/vnd.plotly.v1+json"], "object");
  assert.ok(Array.isArray(disk.cells[3].outputs[0].data["text/html"]));
  assert.deepEqual(parseNotebook(text), nb);
});

test("reading upgrades 4.x notebooks to 4.5 (cell ids), and rejects what is not a v4 notebook with the file's name", () => {
  const old = { nbformat: 4, nbformat_minor: 2, metadata: {}, cells: [{ cell_type: "code", metadata: {}, source: "1", outputs: [], execution_count: null }, { cell_type: "markdown", metadata: {}, source: ["a\n", "b"] }] };
  const nb = parseNotebook(JSON.stringify(old), "old.ipynb");
  assert.equal(nb.nbformat_minor, 5);
  assert.match(nb.cells[0].id ?? "", /^[0-9a-f]{8}$/);
  assert.notEqual(nb.cells[0].id, nb.cells[1].id);
  assert.equal(nb.cells[1].source, "a\nb");
  assert.deepEqual(validateNotebook(JSON.parse(serializeNotebook(nb))), []);

  const cases: [string, RegExp][] = [
    ["{", /^x\.ipynb: not JSON: /],
    ["[]", /^x\.ipynb: expected a JSON object \(a notebook\), found an array$/],
    ['{"nbformat": 3}', /^x\.ipynb: expected nbformat 4, found nbformat 3$/],
    ['{"nbformat": 4, "cells": {}}', /^x\.ipynb: expected "cells" to be an array, found object$/],
    ['{"nbformat": 4, "cells": [{"cell_type": "heading"}]}', /^x\.ipynb: cell 1: expected cell_type code, markdown or raw, found "heading"$/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseNotebook(text, "x.ipynb"), (err: unknown) => err instanceof NotebookReadError && message.test(err.message));
  }
});

test("transient display ids are kept in memory but never written", () => {
  const nb: Notebook = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: [
      {
        cell_type: "code",
        id: "a",
        metadata: {},
        source: "",
        execution_count: 1,
        outputs: [{ output_type: "display_data", data: { "text/plain": "x" }, metadata: {}, transient: { display_id: "d1" } }],
      },
    ],
  };
  const disk = JSON.parse(serializeNotebook(nb));
  assert.equal("transient" in disk.cells[0].outputs[0], false);
  assert.deepEqual(validateNotebook(disk), []);
  assert.equal((nb.cells[0] as { outputs: { transient?: unknown }[] }).outputs[0].transient !== undefined, true);
});
