/**
 * The V8 start-up snapshot's builder: run as `node --snapshot-blob OUT --build-snapshot
 * snapshot-builder.js INPUT.json` (by kernel/snapshot.ts, in the background). Node runs this one
 * file with a `require` that only loads built-in modules, so it imports nothing of ours and is a
 * script (no import/export: tsc then emits no `exports`, which a snapshot builder does not have).
 *
 * It loads the TypeScript module tslab's converter uses (`@tslab/typescript-for-tslab`) from its
 * source with `vm`, as Node would, plus one hook (see `patchTypeScript`); parses the declaration
 * files INPUT lists (the ones the kernel's program read on a start without the snapshot: the lib
 * files, @types/node, the tf and dl declarations) with the kernel's compiler options, and binds
 * them (a type checker over them runs the binder on every file). The ts namespace and the bound
 * SourceFiles stay on a global; the V8 heap is written to OUT. A kernel started from OUT
 * (`node --snapshot-blob OUT kernel ...`) begins in the main function set below, with all of that
 * already in memory: TypeScript's binder skips files that have `locals`, so a new program over
 * them only pays the type checker's merge of the globals.
 */
{
  const fs = require("node:fs") as typeof import("node:fs");
  const path = require("node:path") as typeof import("node:path");
  const vm = require("node:vm") as typeof import("node:vm");
  const v8 = require("node:v8") as typeof import("node:v8");

  /** What the kernel writes for the builder (kernel/snapshot.ts `SnapshotInput`). */
  interface Input {
    tsPath: string;
    files: string[];
    /** [file, size, mtimeMs] of each file, taken before it was read. */
    stats: [string, number, number][];
    options: Record<string, unknown>;
    mainEntry: string;
    key: string;
  }
  type Ts = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

  /**
   * The start of TypeScript 5's `createGetSourceFile` (what every compiler host, the watch
   * program's included, reads and parses files with). The hook goes first in the function it
   * returns: `globalThis[Symbol.for("tsdl.cachedSourceFile")](fileName, languageVersionOrOptions)`
   * may return an already parsed and bound SourceFile (the file is then not even read).
   */
  const ANCHOR = "function createGetSourceFile(readFile, getCompilerOptions, setParentNodes) {\n    return (fileName, languageVersionOrOptions, onError) => {\n";
  const HOOK =
    '      const tsdlHook = globalThis[Symbol.for("tsdl.cachedSourceFile")];\n' +
    '      const tsdlCached = typeof tsdlHook === "function" ? tsdlHook(fileName, languageVersionOrOptions) : void 0;\n' +
    "      if (tsdlCached) return tsdlCached;\n";

  const patchTypeScript = (source: string, file: string): string => {
    const at = source.indexOf(ANCHOR);
    if (at < 0 || source.indexOf(ANCHOR, at + 1) >= 0) {
      throw new Error(`${file}: expected one ${JSON.stringify(ANCHOR)} (createGetSourceFile); found ${at < 0 ? "none" : "several"} (TypeScript changed?)`);
    }
    return source.slice(0, at + ANCHOR.length) + HOOK + source.slice(at + ANCHOR.length);
  };

  const t0 = Date.now();
  const inputFile = process.argv[2];
  if (!inputFile) throw new Error("usage: node --snapshot-blob OUT --build-snapshot snapshot-builder.js INPUT.json");
  const input = JSON.parse(fs.readFileSync(inputFile, "utf8")) as Input;

  // Load typescript.js the way Node loads a CommonJS module (it only requires built-ins).
  const source = patchTypeScript(fs.readFileSync(input.tsPath, "utf8"), input.tsPath);
  const mod = { exports: {} as Ts };
  const wrapper = vm.runInThisContext(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: input.tsPath });
  wrapper.call(mod.exports, mod.exports, require, mod, input.tsPath, path.dirname(input.tsPath));
  const ts = mod.exports;

  // Parse with the kernel's options (they decide the language version and module detection);
  // every file is a root and nothing is resolved, so exactly the listed files are in the program.
  const options = { ...input.options, noResolve: true, noLib: true, types: [], noEmit: true, lib: undefined };
  const host = ts.createCompilerHost(options);
  const program = ts.createProgram({ rootNames: input.files, options, host });
  program.getTypeChecker(); // binds every file
  const files = new Map<string, unknown>();
  const missing: string[] = [];
  for (const f of input.files) {
    const sf = program.getSourceFile(f);
    if (sf) files.set(f, sf);
    else missing.push(f);
  }
  if (missing.length > 0) throw new Error(`could not read ${missing.length} declaration files, e.g. ${missing[0]}`);
  const stats = new Map(input.stats.map(([f, size, mtimeMs]) => [f, { size, mtimeMs }]));
  const state = { ts, tsPath: input.tsPath, files, stats, key: input.key, builtInMs: Date.now() - t0 };
  (globalThis as Record<symbol, unknown>)[Symbol.for("tsdl.snapshot")] = state;
  process.stdout.write(`tsdl snapshot: parsed and bound ${files.size} declaration files in ${state.builtInMs} ms\n`);

  v8.startupSnapshot.setDeserializeMainFunction(() => {
    // User-land modules load only here, at run time, with a require made for the real kernel.
    const { createRequire } = require("node:module") as typeof import("node:module");
    (createRequire(input.mainEntry)(input.mainEntry) as { runFromSnapshot(s: typeof state): void }).runFromSnapshot(state);
  });
}
