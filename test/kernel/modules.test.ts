/**
 * kernel/modules.ts on the layouts npm makes: tsdl's dependencies inside it (a clone, or
 * `npm install -g`) or hoisted beside it (`npm install tsdl.tgz` in a project). The type checker's
 * paths and the cells' `require` must both land on the copy Node loads from tsdl itself.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ModuleMap, createCellRequire } from "../../kernel/modules";
import { tempDir } from "../helpers/tmpdir";

/** Writes `files` (path → content) under `dir`. */
function layout(dir: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
}

/** A project with tsdl installed in it and its dependencies hoisted beside it, and a notebook folder elsewhere. */
function hoisted() {
  const tmp = tempDir();
  const modules = path.join(tmp, "proj", "node_modules");
  const root = path.join(modules, "tsdl");
  layout(tmp, {
    "proj/node_modules/tsdl/package.json": JSON.stringify({ name: "tsdl" }),
    "proj/node_modules/tsdl/dist/src/index.js": 'exports.tf = require("@tensorflow/tfjs"); exports.pad = require("left-pad");',
    "proj/node_modules/@tensorflow/tfjs/package.json": JSON.stringify({ name: "@tensorflow/tfjs", main: "index.js" }),
    "proj/node_modules/@tensorflow/tfjs/index.js": 'exports.where = "hoisted";',
    "proj/node_modules/@types/node/index.d.ts": "",
    "proj/node_modules/left-pad/index.js": 'exports.where = "hoisted";',
    "nb/notebook.ipynb": "{}",
  });
  return { tmp, modules, root, cwd: path.join(tmp, "nb") };
}

test("hoisted beside tsdl: the type checker's paths go where Node finds the packages from tsdl", () => {
  const { modules, root, cwd } = hoisted();
  const map = new ModuleMap(cwd, root);
  const nb = path.join(cwd, "node_modules");
  assert.equal(map.map(path.join(nb, "@tensorflow", "tfjs", "dist", "index.d.ts")), path.join(modules, "@tensorflow", "tfjs", "dist", "index.d.ts"));
  assert.equal(map.map(path.join(nb, "tsdl", "dist", "src", "index.d.ts")), path.join(root, "dist", "src", "index.d.ts"));
  assert.equal(map.map(path.join(nb, "@types", "node", "index.d.ts")), path.join(modules, "@types", "node", "index.d.ts"));
  assert.equal(map.map(path.join(nb, "@types")), path.join(modules, "@types"), "a scope folder");
  assert.equal(map.map(path.join(nb, "left-pad", "index.js")), path.join(modules, "left-pad", "index.js"));
  assert.equal(map.map(nb), modules, "the notebook folder has no node_modules: the nearest real one answers");
  assert.equal(map.map(path.join(nb, "nowhere", "index.d.ts")), path.join(root, "node_modules", "nowhere", "index.d.ts"), "missing everywhere stays missing");
  assert.equal(map.map(path.join(cwd, "helpers.ts")), path.join(cwd, "helpers.ts"), "paths outside node_modules are untouched");
});

test("a copy inside tsdl wins over a hoisted one, as in Node; the notebook's own tfjs never replaces tsdl's", () => {
  const { tmp, root, cwd } = hoisted();
  layout(tmp, {
    "proj/node_modules/tsdl/node_modules/@tensorflow/tfjs/index.js": 'exports.where = "nested";',
    "nb/node_modules/@tensorflow/tfjs/index.js": 'exports.where = "notebook";',
    "nb/node_modules/left-pad/index.js": 'exports.where = "notebook";',
  });
  const map = new ModuleMap(cwd, root);
  const nb = path.join(cwd, "node_modules");
  assert.equal(map.map(path.join(nb, "@tensorflow", "tfjs", "index.js")), path.join(root, "node_modules", "@tensorflow", "tfjs", "index.js"));
  assert.equal(map.map(path.join(nb, "left-pad", "index.js")), path.join(nb, "left-pad", "index.js"), "the notebook's own package is used");
  assert.equal(map.map(nb), nb);
});

test("at run time a cell's tf is the library's tf, hoisted or not, and other packages fall back to tsdl's", () => {
  const { tmp, root, cwd } = hoisted();
  const cellRequire = () => createCellRequire(new ModuleMap(cwd, root), path.join(root, "dist", "src", "index.js"), new Map(), new Map());
  let req = cellRequire();
  const lib = req("tsdl") as { tf: unknown; pad: unknown };
  assert.deepEqual(req("@tensorflow/tfjs"), { where: "hoisted" });
  assert.equal(req("@tensorflow/tfjs"), lib.tf, "one tfjs instance");
  assert.deepEqual(req("left-pad"), { where: "hoisted" });
  assert.equal(req.resolve("@tensorflow/tfjs"), path.join(tmp, "proj", "node_modules", "@tensorflow", "tfjs", "index.js"));

  layout(tmp, { "nb/node_modules/@tensorflow/tfjs/index.js": 'exports.where = "notebook";', "nb/node_modules/left-pad/index.js": 'exports.where = "notebook";' });
  req = cellRequire();
  assert.equal(req("@tensorflow/tfjs"), lib.tf, "the notebook folder's tfjs is not used");
  assert.deepEqual(req("left-pad"), { where: "notebook" }, "the notebook folder's other packages are");
  assert.throws(() => req("no-such-package"), /Cannot find module 'no-such-package'/);
});

test("existence checks are cached until refresh()", () => {
  const { tmp, root, cwd } = hoisted();
  const asked: string[] = [];
  const map = new ModuleMap(cwd, root, (p) => {
    asked.push(p);
    return require("node:fs").existsSync(p);
  });
  const file = path.join(cwd, "node_modules", "late", "index.d.ts");
  assert.equal(map.map(file), path.join(root, "node_modules", "late", "index.d.ts"));
  const n = asked.length;
  map.map(file);
  assert.equal(asked.length, n, "no new look-ups");
  layout(tmp, { "proj/node_modules/late/index.d.ts": "" });
  assert.equal(map.map(file), path.join(root, "node_modules", "late", "index.d.ts"), "still cached");
  map.refresh();
  assert.equal(map.map(file), path.join(tmp, "proj", "node_modules", "late", "index.d.ts"), "seen after refresh");
});
