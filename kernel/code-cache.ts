/**
 * V8's code cache for the one big module every kernel start loads: the TypeScript compiler that
 * tslab uses (`@tslab/typescript-for-tslab`, 9 MB of JavaScript). Without a cache V8 parses it
 * at every start and then compiles each of its functions on first call, while the preload runs.
 *
 * The cache is written once, after the preload cell has run, with `vm.Script#createCachedData()`:
 * made then, it also holds the bytecode of every function the preload called (the parser, binder,
 * checker and emitter), not just the top level. That is why this is not the `v8-compile-cache`
 * package (it hooks every `require` of the process, cells' included, and saves the cache made at
 * compile time, before any function ran) and not Node 22's `module.enableCompileCache()` (not in
 * Node 20, which we support, and also compile-time only).
 *
 * Where: `$TSDL_CACHE_DIR`, else `$XDG_CACHE_HOME/tsdl`, else `~/.cache/tsdl`, else the system
 * temp folder (never inside the package, which may be installed read-only). The file name is a
 * hash of the module's path and contents and of Node's and V8's versions, so an upgrade of either
 * writes a new file; V8 also checks the data itself and rejects a cache that does not fit (then the
 * module compiles as usual and the cache is written again). A cache that cannot be read or
 * written only costs the speed-up, never the start.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import Module from "node:module";
import os from "node:os";
import path from "node:path";
import vm from "node:vm";

/** The folder the kernel keeps its caches in (created on first write). */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TSDL_CACHE_DIR) return env.TSDL_CACHE_DIR;
  if (env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME)) return path.join(env.XDG_CACHE_HOME, "tsdl");
  const home = os.homedir();
  if (home) return path.join(home, ".cache", "tsdl");
  return path.join(os.tmpdir(), `tsdl-cache-${os.userInfo().uid}`);
}

/** What `requireWithCodeCache` did: whether V8 took the cache, and how to write one. */
export interface CachedModule {
  exports: unknown;
  /** "hit": compiled from the cache; "miss": no cache yet; "rejected": V8 refused the file (written again on save). */
  cache: "hit" | "miss" | "rejected";
  /** The cache file. */
  file: string;
  /** Write the cache now (call it after the module's functions have run); no-op on a hit. Never throws: returns an error message. */
  save(): string | undefined;
}

/**
 * Load the CommonJS module at `filename` as `require` would (it lands in `require.cache`, so later
 * `require` calls get the same instance), compiling it with V8's code cache.
 */
export function requireWithCodeCache(filename: string, dir = cacheDir()): CachedModule {
  const existing = (Module as unknown as { _cache: Record<string, Module> })._cache[filename];
  if (existing) return { exports: existing.exports, cache: "hit", file: "", save: () => undefined };
  const source = readFileSync(filename, "utf8");
  const key = createHash("sha256")
    .update(`${filename}\0${process.version}\0${process.versions.v8}\0${process.arch}\0`)
    .update(source)
    .digest("hex")
    .slice(0, 32);
  const file = path.join(dir, `v8-${path.basename(filename, ".js")}-${key}.cache`);
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(file);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(source), { filename, cachedData });
  const cache = cachedData === undefined ? "miss" : script.cachedDataRejected ? "rejected" : "hit";

  const mod = new Module(filename, module);
  mod.filename = filename;
  mod.paths = (Module as unknown as { _nodeModulePaths(d: string): string[] })._nodeModulePaths(path.dirname(filename));
  const req = Module.createRequire(filename);
  (Module as unknown as { _cache: Record<string, Module> })._cache[filename] = mod;
  try {
    const fn = script.runInThisContext() as (e: unknown, r: unknown, m: unknown, f: string, d: string) => void;
    fn.call(mod.exports, mod.exports, req, mod, filename, path.dirname(filename));
  } catch (err) {
    delete (Module as unknown as { _cache: Record<string, Module> })._cache[filename];
    throw err;
  }
  mod.loaded = true;
  let saved = cache === "hit";
  return {
    exports: mod.exports,
    cache,
    file,
    save() {
      if (saved) return undefined;
      saved = true;
      try {
        const data = script.createCachedData();
        mkdirSync(dir, { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        writeFileSync(tmp, data);
        renameSync(tmp, file);
        // Caches of older versions of the same module are of no further use.
        const prefix = `v8-${path.basename(filename, ".js")}-`;
        for (const f of readdirSync(dir)) {
          if (f.startsWith(prefix) && f.endsWith(".cache") && path.join(dir, f) !== file) rmSync(path.join(dir, f), { force: true });
        }
        return undefined;
      } catch (err) {
        return `could not write the code cache ${file}: ${(err as Error).message}`;
      }
    },
  };
}
