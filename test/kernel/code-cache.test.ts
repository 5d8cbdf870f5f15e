/**
 * The V8 code cache the kernel loads TypeScript with (kernel/code-cache.ts): written once, taken
 * by the next process, refused and rewritten when it does not fit, keyed by the module's contents,
 * and never in the way of loading the module.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { cacheDir, requireWithCodeCache } from "../../kernel/code-cache";

const CODE_CACHE = path.join(__dirname, "..", "..", "kernel", "code-cache.js");

/** Load `file` in a fresh process with the cache in `dir`; returns what happened there. */
function loadInChild(file: string, dir: string): { cache: string; value: number; saved: string | null } {
  const script = `
    const { requireWithCodeCache } = require(${JSON.stringify(CODE_CACHE)});
    const m = requireWithCodeCache(${JSON.stringify(file)}, ${JSON.stringify(dir)});
    const same = require(${JSON.stringify(file)}) === m.exports;
    const value = m.exports.twice(21);
    const saved = m.save() ?? null;
    process.stdout.write(JSON.stringify({ cache: m.cache, value: same ? value : -1, saved }));`;
  return JSON.parse(execFileSync(process.execPath, ["-e", script], { encoding: "utf8" }));
}

function fixture(): { dir: string; file: string; cache: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "tsdl-code-cache-test-"));
  const file = path.join(dir, "mod.js");
  writeFileSync(file, "exports.twice = (x) => x * 2;\nexports.name = __filename;\n");
  return { dir, file, cache: path.join(dir, "cache") };
}

test("the first process writes the cache, the next compiles from it; the module is the one require() returns", () => {
  const f = fixture();
  try {
    const first = loadInChild(f.file, f.cache);
    assert.deepEqual(first, { cache: "miss", value: 42, saved: null });
    const files = readdirSync(f.cache);
    assert.equal(files.length, 1);
    assert.match(files[0], /^v8-mod-[0-9a-f]{32}\.cache$/);
    assert.deepEqual(loadInChild(f.file, f.cache), { cache: "hit", value: 42, saved: null });
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
});

test("a cache V8 refuses is rejected, the module still loads, and the cache is written again", () => {
  const f = fixture();
  try {
    loadInChild(f.file, f.cache);
    const [name] = readdirSync(f.cache);
    writeFileSync(path.join(f.cache, name), Buffer.from("not a V8 code cache at all"));
    assert.deepEqual(loadInChild(f.file, f.cache), { cache: "rejected", value: 42, saved: null });
    assert.equal(loadInChild(f.file, f.cache).cache, "hit");
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
});

test("a changed module gets a new cache file and the old one is removed", () => {
  const f = fixture();
  try {
    loadInChild(f.file, f.cache);
    const [before] = readdirSync(f.cache);
    writeFileSync(f.file, "exports.twice = (x) => x + x;\n");
    assert.equal(loadInChild(f.file, f.cache).cache, "miss");
    const after = readdirSync(f.cache);
    assert.equal(after.length, 1);
    assert.notEqual(after[0], before);
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
});

test("a cache folder that cannot be made (its path is a file): save says why and never throws, the module works", () => {
  const f = fixture();
  try {
    const notDir = path.join(f.dir, "file");
    writeFileSync(notDir, "x");
    const r = loadInChild(f.file, notDir);
    assert.equal(r.value, 42);
    assert.match(r.saved ?? "", /could not write the code cache/);
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
});

test("cacheDir: TSDL_CACHE_DIR, then $XDG_CACHE_HOME/tsdl, then ~/.cache/tsdl; never inside the package", () => {
  assert.equal(cacheDir({ TSDL_CACHE_DIR: "/x/y" }), "/x/y");
  assert.equal(cacheDir({ XDG_CACHE_HOME: "/xdg" }), path.join("/xdg", "tsdl"));
  assert.equal(cacheDir({ XDG_CACHE_HOME: "relative" }), path.join(os.homedir(), ".cache", "tsdl"), "a relative XDG_CACHE_HOME is ignored, as the XDG spec says");
  assert.equal(cacheDir({}), path.join(os.homedir(), ".cache", "tsdl"));
});

test("in one process a second load returns the instance already in require.cache", () => {
  const f = fixture();
  try {
    const a = requireWithCodeCache(f.file, f.cache);
    const b = requireWithCodeCache(f.file, f.cache);
    assert.equal(a.exports, b.exports);
    assert.equal(require(f.file), a.exports);
    assert.equal((a.exports as { name: string }).name, f.file, "__filename is the module's path");
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
});
