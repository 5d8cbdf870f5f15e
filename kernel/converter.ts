/**
 * tslab's TypeScript-to-JavaScript converter, reused as is, with source maps switched on.
 *
 * tslab's converter (`tslab/dist/converter.js`) type-checks a cell against the declarations of
 * the cells before it and emits CommonJS. It emits no source map, and the TypeScript module it
 * uses exposes its functions as non-configurable getters, so they cannot be patched in place.
 * We therefore load converter.js ourselves (the way Node loads any module) and hand it a copy of
 * the TypeScript namespace in which two functions are wrapped:
 * - `createWatchCompilerHost` adds `inlineSourceMap`, so the cell's output carries a map back to
 *   the cell's TypeScript, and a lighter "builder" (see `lightBuilder`) whose emit also does the
 *   CommonJS module transform (TypeScript's own, run after tslab's transformers);
 * - `transpileModule`, which tslab calls to turn its ES module output into CommonJS (a second
 *   compile of every cell, 17–40% of a trivial cell), only takes that map off the code (kept, keyed
 *   by the code, for tracebacks): the output already is CommonJS.
 */
import { readFileSync } from "node:fs";
import Module from "node:module";
import path from "node:path";
import { requireWithCodeCache, type CachedModule } from "./code-cache";
import { recordDeclarationReads, snapshotState } from "./snapshot";

/** A position tslab reports: 0-based line and character in the cell (its own prefix removed). */
export interface DiagnosticPosition {
  offset: number;
  line: number;
  character: number;
}

/** A TypeScript diagnostic as tslab's converter reports it. */
export interface Diagnostic {
  start: DiagnosticPosition;
  end: DiagnosticPosition;
  messageText: string;
  category: number;
  code: number;
  /** Set for diagnostics in a local module the cell imports (relative to cwd); unset for the cell. */
  fileName?: string;
}

/** What `convert` returns. */
export interface ConvertResult {
  output?: string;
  declOutput?: string;
  diagnostics: Diagnostic[];
  hasToplevelAwait?: boolean;
  sideOutputs?: { path: string; data: string }[];
  lastExpressionVar?: string;
}

/** A completion entry from the TypeScript language service. */
export interface CompletionEntry {
  name: string;
  kind: string;
  sortText: string;
}

/** tslab's converter API. */
export interface Converter {
  convert(prevDecl: string, src: string): ConvertResult;
  inspect(prevDecl: string, src: string, position: number): QuickInfo | undefined;
  complete(
    prevDecl: string,
    src: string,
    position: number,
  ): { start: number; end: number; candidates: string[]; original?: { entries?: CompletionEntry[] } };
  close(): void;
}

/** TypeScript's quick info (hover) for a position. */
export interface QuickInfo {
  kind: string;
  textSpan?: { start: number; length: number };
  displayParts?: { text: string; kind: string }[];
  documentation?: { text: string; kind: string }[];
  tags?: { name: string; text?: { text: string }[] }[];
}

/** The source map of one converted output. */
export interface OutputMaps {
  /** The CommonJS code that runs → `__tslab__.ts` (which is the cell behind a one-line prefix). */
  cell: string | undefined;
}

/** The loaded converter module plus the pieces the kernel needs. */
export interface LoadedConverter {
  createConverter(options: { isJS: boolean; isBrowser: boolean }): Converter;
  isCompleteCode(code: string): { completed: boolean; indent?: string };
  /** The TypeScript compiler module tslab uses (`@tslab/typescript-for-tslab`). */
  ts: Record<string, unknown> & { sys: Record<string, unknown>; version: string };
  /** The source maps behind an output string `convert` returned, if any. Each output is looked up once. */
  takeMaps(output: string): OutputMaps | undefined;
  /** Forget maps of outputs nobody took (side modules, cells that failed). */
  clearMaps(): void;
  /** How many programs were built, and how many updates reused one instead (see `lightBuilder`). */
  readonly programs: { built: number; reused: number };
  /** TypeScript's V8 code cache (see code-cache.ts): whether it was used, and how to write it. */
  codeCache: Pick<CachedModule, "cache" | "file" | "save">;
}

const TS_MODULE = "@tslab/typescript-for-tslab";
const INLINE_MAP = /\n\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/;

/** Load tslab's converter with source maps enabled (see the file comment). */
export function loadConverter(): LoadedConverter {
  const converterPath = require.resolve("tslab/dist/converter");
  const baseRequire = Module.createRequire(converterPath);
  // TypeScript is most of the start-up's JavaScript: compile it from V8's code cache, or take the
  // instance a start-up snapshot holds (with its parsed declarations; see snapshot.ts).
  const snapshot = snapshotState();
  const tsModule: Pick<CachedModule, "exports" | "cache" | "file" | "save"> = snapshot
    ? { exports: snapshot.ts, cache: "hit", file: "(none: TypeScript came with the start-up snapshot)", save: () => undefined }
    : requireWithCodeCache(baseRequire.resolve(TS_MODULE));
  const ts = tsModule.exports as LoadedConverter["ts"];
  const maps = new Map<string, OutputMaps>();

  type CompilerOptions = Record<string, unknown>;
  const realCreateHost = ts.createWatchCompilerHost as (...a: unknown[]) => unknown;
  const realTranspile = ts.transpileModule as (
    input: string,
    opts: { fileName?: string; compilerOptions?: CompilerOptions },
  ) => { outputText: string; sourceMapText?: string; diagnostics?: unknown[] };

  const wrapped: Record<string, unknown> = {};
  for (const key of Object.keys(ts)) {
    if (key === "createWatchCompilerHost" || key === "transpileModule") continue;
    Object.defineProperty(wrapped, key, { enumerable: true, get: () => ts[key] });
  }
  const watched: WatchState = { dirty: false, reuse: process.env.TSDL_REUSE_PROGRAM !== "0", built: 0, reused: 0 };
  let quickUpdate: () => boolean = () => false;
  // Cells see @types/node's globals and whatever they import, not every @types package around.
  wrapped.createWatchCompilerHost = (
    rootFiles: unknown,
    options: CompilerOptions,
    system: unknown,
    createProgram: unknown,
    ...rest: unknown[]
  ) => {
    const builder = createProgram ? undefined : lightBuilder(ts, watched);
    const merged = { ...options, inlineSourceMap: true, sourceMap: false, types: ["node"] };
    const host = realCreateHost(
      rootFiles,
      merged,
      noticeFileChanges(system, rootFiles as string[], watched),
      createProgram ?? builder,
      ...rest,
    ) as { afterProgramCreate?(b: unknown): void; readFile(f: string, encoding?: string): string | undefined };
    // Which declaration files the program reads, for the start-up snapshot's builder.
    recordDeclarationReads(host, merged);
    if (builder) {
      quickUpdate = () => {
        const q = builder.quick();
        if (q) host.afterProgramCreate?.(q.builder);
        return q?.reused === true;
      };
    }
    return host;
  };
  // Called by tslab's patched `updateContent` instead of the watch program's update (see patchQuickUpdate).
  wrapped[QUICK_UPDATE] = () => quickUpdate();
  wrapped.transpileModule = (input: string, opts: { fileName?: string; compilerOptions?: CompilerOptions }) => {
    if (opts?.fileName !== "custom.js") return realTranspile(input, opts);
    // Already CommonJS (see `commonJsAfter`): only the inline map comes off.
    const m = INLINE_MAP.exec(input);
    const outputText = m ? input.slice(0, m.index) + "\n" : input;
    maps.set(outputText, { cell: m ? Buffer.from(m[1], "base64").toString("utf8") : undefined });
    return { outputText, diagnostics: [] };
  };

  const mod = new Module(converterPath, module);
  mod.filename = converterPath;
  mod.paths = (Module as unknown as { _nodeModulePaths(d: string): string[] })._nodeModulePaths(path.dirname(converterPath));
  (mod as unknown as { require: unknown }).require = Object.assign(
    (id: string) => (id === TS_MODULE ? wrapped : baseRequire(id)),
    { resolve: baseRequire.resolve, cache: baseRequire.cache },
  );
  (mod as unknown as { _compile(code: string, f: string): void })._compile(patchQuickUpdate(patchShorthand(readFileSync(converterPath, "utf8"), converterPath), converterPath), converterPath);
  const exports = mod.exports as Pick<LoadedConverter, "createConverter" | "isCompleteCode">;
  return {
    createConverter: exports.createConverter,
    isCompleteCode: exports.isCompleteCode,
    ts,
    takeMaps(output) {
      const m = maps.get(output);
      maps.delete(output);
      return m;
    },
    clearMaps() {
      maps.clear();
    },
    get programs() {
      return { built: watched.built, reused: watched.reused };
    },
    codeCache: tsModule,
  };
}

type Ts = LoadedConverter["ts"];
interface TsProgram {
  getSourceFile(f: string): TsSourceFile | undefined;
  getSourceFiles(): readonly TsSourceFile[];
  getCompilerOptions(): Record<string, unknown>;
  getRootFileNames(): readonly string[];
  emit(...a: unknown[]): unknown;
  [k: string]: unknown;
}
interface TsSourceFile {
  fileName: string;
  resolvedModules?: unknown;
  path: string;
  text: string;
  isDeclarationFile: boolean;
  languageVersion: number;
  impliedNodeFormat?: number;
  imports?: readonly { text: string }[];
  referencedFiles?: readonly { fileName: string }[];
  statements: readonly TsNode[];
  [k: string]: unknown;
}
interface TsNode {
  kind: number;
  [k: string]: unknown;
}
interface ModeAwareCache {
  get(name: string, mode: unknown): unknown;
  set(name: string, mode: unknown, value: unknown): void;
}
interface TsDiagnostic {
  file?: TsSourceFile;
  code: number;
  category: number;
}

/** What the compiler's file watchers reported since the last full program (see `noticeFileChanges`). */
interface WatchState {
  /** A watched file or folder other than the cell and the declarations changed (a local module, a package). */
  dirty: boolean;
  /** Reuse a program for cells that only change the cell (`TSDL_REUSE_PROGRAM=0` turns it off, to compare). */
  reuse: boolean;
  /** Programs built, and updates that reused one. */
  built: number;
  reused: number;
}

/**
 * Mark `state.dirty` when a watcher fires for anything but tslab's two in-memory files (the cell
 * and the earlier cells' declarations): then the next cell needs the watch program's full update.
 */
function noticeFileChanges(system: unknown, rootFiles: readonly string[], state: WatchState): unknown {
  const sys = system as Record<string, unknown>;
  const own = new Set(rootFiles);
  for (const name of ["watchFile", "watchDirectory"]) {
    const watch = sys[name] as ((p: string, cb: (...a: unknown[]) => unknown, ...r: unknown[]) => unknown) | undefined;
    if (typeof watch !== "function") continue;
    sys[name] = (p: string, cb: (...a: unknown[]) => unknown, ...r: unknown[]) =>
      watch.call(sys, p, own.has(p) ? cb : (...a: unknown[]) => ((state.dirty = true), cb(...a)), ...r);
  }
  return sys;
}

/**
 * A program is dropped after this many updates reused it: each such cell's syntax tree stays in
 * its checker's caches. load.test's 5,000 cells: with 64, RSS grew 260–320 MB from cell 1,000 to
 * 5,000 (each new checker is promoted to the old generation before it dies); with 512, 104–160 MB,
 * the heap after a full GC 11–17 MB (main: 88 MB and 6 MB).
 */
const CELLS_PER_PROGRAM = 512;

/**
 * Text in a cell that needs the full update: imports (new files to resolve), global or module
 * augmentations (they change the checker's globals), triple-slash references and `@ts-` comments.
 */
const NEEDS_FULL_UPDATE = /\b(?:import|require|declare|module|namespace|global)\b|\/\/\/|@ts-|@jsx|\bfrom\s*["'`]/;

/** Declarations of earlier cells that need the full update: augmentations, references, `import("…")` types. */
const NEEDS_FULL_UPDATE_DECLS = /\bdeclare\s+(?:global|module)\b|\/\/\/|\bimport\s*\(|@ts-|\brequire\s*\(/;

/** One full program and what the cells reusing it share. */
interface ProgramState {
  program: TsProgram;
  cells: number;
  /** Undo what tslab's `remainingDecls` did to the declaration file's tree (it edits it in place). */
  restoreDecls: () => void;
  /** The builder of the program itself (not of a cell reusing it). */
  builder?: unknown;
}

/**
 * A stand-in for TypeScript's default watch "builder" (`createEmitAndSemanticDiagnosticsBuilderProgram`).
 * The default one recomputes, for EVERY file of the program, which files it references (with the
 * type checker) each time a cell changes: with TensorFlow.js's hundreds of declaration files
 * in the program, that was most of a trivial cell's 100 ms. tslab's converter only needs
 * `getProgram`, `getSourceFile`, `emit` and `getAllDependencies` of the cell, so this builder is
 * a plain program plus a dependency walk that starts at the file asked about.
 *
 * And a new program per cell is itself most of a trivial cell's time (profile of 200 `i + 1`
 * cells: the program's structure reuse, a walk over all ~750 files, 35%; a new type checker, which
 * merges the globals and module augmentations of all those files, 28%). When only the cell
 * changed (same declarations of earlier cells, no imports, no watcher fired), the cell is parsed
 * and bound alone and checked and emitted with the previous program's checker instead (see
 * `reuseForCell`).
 */
function lightBuilder(ts: Ts, watched: WatchState) {
  const createProgram = ts.createProgram as (o: Record<string, unknown>) => TsProgram;
  const getResolvedModule = ts.getResolvedModule as (sf: TsSourceFile, name: string, mode: unknown) => { resolvedFileName: string } | undefined;
  const getModeForUsageLocation = ts.getModeForUsageLocation as (sf: TsSourceFile, usage: unknown) => unknown;
  type Builder = ReturnType<typeof make>;
  const states = new WeakMap<object, ProgramState>();
  const make = (program: TsProgram, state: ProgramState) => {
    // The default builder creates the type checker, which binds every file; tslab reads the
    // binder's `locals` of the cell right after, so do the same.
    (program.getTypeChecker as () => unknown)();
    const dependencies = (start: TsSourceFile): string[] => {
      const seen = new Set<string>([start.fileName]);
      const stack = [start];
      while (stack.length > 0) {
        const sf = stack.pop()!;
        if (sf.isDeclarationFile) continue;
        const next: string[] = [];
        for (const imp of sf.imports ?? []) {
          const r = getResolvedModule(sf, imp.text, getModeForUsageLocation(sf, imp));
          if (r) next.push(r.resolvedFileName);
        }
        for (const ref of sf.referencedFiles ?? []) next.push(path.resolve(path.dirname(sf.fileName), ref.fileName));
        for (const f of next) {
          const dep = program.getSourceFile(f);
          if (!dep || seen.has(dep.fileName)) continue;
          seen.add(dep.fileName);
          stack.push(dep);
        }
      }
      return [...seen];
    };
    const call = (name: string) => (...a: unknown[]) => (program[name] as (...x: unknown[]) => unknown)(...a);
    const builder = {
      getProgram: () => program,
      getProgramOrUndefined: () => state.program,
      releaseProgram: () => undefined,
      getCompilerOptions: () => program.getCompilerOptions(),
      getSourceFile: (f: string) => program.getSourceFile(f),
      getSourceFiles: () => program.getSourceFiles(),
      getCurrentDirectory: call("getCurrentDirectory"),
      getOptionsDiagnostics: call("getOptionsDiagnostics"),
      getGlobalDiagnostics: call("getGlobalDiagnostics"),
      getConfigFileParsingDiagnostics: call("getConfigFileParsingDiagnostics"),
      getSyntacticDiagnostics: call("getSyntacticDiagnostics"),
      getDeclarationDiagnostics: call("getDeclarationDiagnostics"),
      getSemanticDiagnostics: call("getSemanticDiagnostics"),
      emit: (sf: unknown, write: unknown, cancel: unknown, dtsOnly: unknown, transformers?: Transformers) =>
        program.emit(sf, write, cancel, dtsOnly, commonJsAfter(transformers)),
      getAllDependencies: (sf: TsSourceFile) => dependencies(sf),
    };
    states.set(builder, state);
    return builder;
  };
  const reuse = reuseForCell(ts);
  let last: { builder: Builder; rootNames: readonly string[]; options: unknown; host: CompilerHostLike } | undefined;
  const tryReuse = (old: Builder | undefined, rootNames: readonly string[], options: unknown, host: CompilerHostLike): Builder | undefined => {
    const previous = old && states.get(old);
    if (!previous || !watched.reuse || watched.dirty) return undefined;
    const view = reuse(previous, rootNames, options, host);
    if (!view) return undefined;
    watched.reused++;
    return make(view, previous);
  };
  // tslab's transformers run on the ES module (its `after` list); TypeScript's CommonJS module
  // transform then runs on their output in the same emit, where tslab compiled the emitted text a
  // second time with `transpileModule`. Same transform, same options (esModuleInterop, target).
  const transformModule = ts.transformModule as (context: unknown) => unknown;
  const commonJsAfter = (t?: Transformers): Transformers => ({ ...t, after: [...(t?.after ?? []), transformModule] });
  const create = (
    rootNames: readonly string[] | undefined,
    options: unknown,
    host: unknown,
    old: Builder | undefined,
    configFileParsingDiagnostics: unknown,
    projectReferences: unknown,
  ): Builder => {
    if (!rootNames && old) return old;
    const reused = rootNames && tryReuse(old, rootNames, options, host as CompilerHostLike);
    const b = reused || full(rootNames, options, host, old, configFileParsingDiagnostics, projectReferences);
    if (rootNames) last = { builder: b, rootNames, options, host: host as CompilerHostLike };
    return b;
  };
  /**
   * The builder for the cell now in tslab's files, without the watch program's update (its own
   * walk over every file, a sixth of a reused cell): `reused`. Otherwise the watch program's update
   * must run, and it may find its own program up to date (a cell whose text is that program's
   * cell, a user expression asked twice, say) and hand tslab no new builder: tslab must then hold
   * that program's own builder, not the last reused view, so that is returned with `reused: false`.
   */
  const quick = (): { builder: Builder; reused: boolean } | undefined => {
    if (!last) return undefined;
    const b = tryReuse(last.builder, last.rootNames, last.options, last.host);
    if (b) {
      last = { ...last, builder: b };
      return { builder: b, reused: true };
    }
    const state = states.get(last.builder);
    if (!state?.builder) return undefined;
    state.restoreDecls();
    last = { ...last, builder: state.builder as Builder };
    return { builder: last.builder, reused: false };
  };
  return Object.assign(create, { quick });
  function full(
    rootNames: readonly string[] | undefined,
    options: unknown,
    host: unknown,
    old: Builder | undefined,
    configFileParsingDiagnostics: unknown,
    projectReferences: unknown,
  ): Builder {
    watched.dirty = false;
    watched.built++;
    const program = createProgram({
      rootNames: rootNames ?? [],
      options,
      host,
      oldProgram: old?.getProgramOrUndefined(),
      configFileParsingDiagnostics,
      projectReferences,
    });
    const decls = program.getSourceFiles().find((f) => f.fileName.endsWith(DECL_FILE));
    const state: ProgramState = { program, cells: 0, restoreDecls: decls ? keepDeclTree(ts, decls) : () => undefined };
    state.builder = make(program, state);
    return state.builder as Builder;
  }
}

interface Transformers {
  before?: unknown[];
  after?: unknown[];
  afterDeclarations?: unknown[];
}

interface CompilerHostLike {
  readFile(f: string): string | undefined;
}

/** tslab's in-memory files: the cell, and the declarations of the cells before it. */
const CELL_FILE = "/__tslab__.ts";
const DECL_FILE = "/__prev__.d.ts";

/**
 * The previous program seen through a new cell, or undefined when the cell needs a full update.
 * The cell file is parsed and bound alone and given a path of its own (the program caches a
 * file's diagnostics by path), under the same file name (which tslab's converter and the emit
 * key on); the checker checks and emits it like any file of its program.
 */
function reuseForCell(ts: Ts) {
  const createSourceFile = ts.createSourceFile as (f: string, text: string, o: unknown, setParents: boolean, kind: number) => TsSourceFile;
  const bindSourceFile = ts.bindSourceFile as (sf: TsSourceFile, o: unknown) => void;
  const setIndicator = ts.getSetExternalModuleIndicator as (o: unknown) => unknown;
  const scriptKindTs = (ts.ScriptKind as Record<string, number>).TS;
  const createModeAwareCache = ts.createModeAwareCache as () => ModeAwareCache;
  const isStringLiteral = ts.isStringLiteral as (n: unknown) => boolean;
  let serial = 0;
  /** The last declaration file parsed for a reused program (tslab updates twice for a cell that declares names). */
  let declCache: { text: string; program: TsProgram; sf: TsSourceFile; restore: () => void } | undefined;
  /** `old`'s file name with a new text, parsed alone under a path of its own. */
  const parse = (fileName: string, text: string, old: TsSourceFile, options: unknown): TsSourceFile => {
    const sf = createSourceFile(
      fileName,
      text,
      { languageVersion: old.languageVersion, impliedNodeFormat: old.impliedNodeFormat, setExternalModuleIndicator: setIndicator(options) },
      true,
      scriptKindTs,
    );
    sf.path = sf.resolvedPath = `${old.path}#${++serial}`;
    sf.originalFileName = fileName;
    sf.imports = [];
    sf.moduleAugmentations = [];
    sf.ambientModuleNames = [];
    return sf;
  };
  /** The module names a file's import and export statements name (a declaration file has no other imports; see NEEDS_FULL_UPDATE_DECLS). */
  const moduleSpecifiers = (sf: TsSourceFile): string[] => {
    const names: string[] = [];
    for (const st of sf.statements) {
      const spec = (st.moduleSpecifier ?? (st.moduleReference as TsNode | undefined)?.expression) as TsNode | undefined;
      if (spec && isStringLiteral(spec)) names.push(spec.text as string);
    }
    return names;
  };
  return (state: ProgramState, rootNames: readonly string[], options: unknown, host: CompilerHostLike): TsProgram | undefined => {
    const real = state.program;
    if (state.cells >= CELLS_PER_PROGRAM || options !== real.getCompilerOptions()) return undefined;
    const roots = real.getRootFileNames();
    if (roots.length !== rootNames.length || roots.some((f, i) => f !== rootNames[i])) return undefined;
    const cellName = rootNames.find((f) => f.endsWith(CELL_FILE));
    const declName = rootNames.find((f) => f.endsWith(DECL_FILE));
    if (!cellName || !declName) return undefined;
    const oldCell = real.getSourceFile(cellName);
    const decls = real.getSourceFile(declName);
    if (!oldCell || !decls) return undefined;
    const text = host.readFile(cellName);
    if (text === undefined || NEEDS_FULL_UPDATE.test(text)) return undefined;
    const declText = host.readFile(declName);
    if (declText === undefined) return undefined;
    let declSf = decls;
    if (declText !== decls.text) {
      // The earlier cells' declarations changed (the cell before declared something): the new
      // file stands in for the old one if it imports nothing the old one did not.
      if (NEEDS_FULL_UPDATE_DECLS.test(declText)) return undefined;
      if (declCache?.text === declText && declCache.program === real) {
        declCache.restore();
      } else {
        const next = parse(declName, declText, decls, options);
        // Each import must have been resolved for the old declarations or the old cell (same
        // folder, so the same answer; the cell that imported a module is the usual source). An
        // entry, even one that found no file (`"os"` is an ambient module of @types/node), is the
        // resolution the checker would use.
        const known = [decls.resolvedModules, oldCell.resolvedModules] as (ModeAwareCache | undefined)[];
        const resolved = createModeAwareCache();
        for (const spec of moduleSpecifiers(next)) {
          const r = known.map((c) => c?.get(spec, undefined)).find((x) => x !== undefined);
          if (r === undefined) return undefined;
          resolved.set(spec, undefined, r);
        }
        next.resolvedModules = resolved;
        bindSourceFile(next, options);
        declCache = { text: declText, program: real, sf: next, restore: keepDeclTree(ts, next) };
      }
      declSf = declCache.sf;
    } else {
      state.restoreDecls();
    }
    const sf = parse(cellName, text, oldCell, options);
    bindSourceFile(sf, options);
    state.cells++;
    const files = real.getSourceFiles().map((f) => (f === oldCell ? sf : f === decls ? declSf : f));
    const view = Object.create(real) as TsProgram;
    view.getSourceFile = (f: string) => (f === cellName ? sf : f === declName ? declSf : real.getSourceFile(f));
    view.getSourceFileByPath = (p: string) =>
      p === sf.path ? sf : p === declSf.path ? declSf : (real.getSourceFileByPath as (p: string) => unknown)(p);
    view.getSourceFiles = () => files;
    // The checker keeps diagnostics by file name: those of earlier cells checked with it are
    // still there. Keep only this cell's. (A cell with `@ts-` comments, whose directives the
    // program matches against that whole list, takes the full update.)
    view.getSemanticDiagnostics = (f?: TsSourceFile, ...a: unknown[]) => {
      const ds = (real.getSemanticDiagnostics as (...x: unknown[]) => TsDiagnostic[])(f, ...a);
      return f === sf ? ds.filter((d) => !d.file || d.file === sf) : ds;
    };
    return view;
  };
}

/**
 * tslab's `remainingDecls` edits the declaration file's tree in place (it drops the statements a
 * cell redeclared, and names from imports), expecting a freshly parsed file next time. A reused
 * program keeps the file: this records the parts it edits and returns a function that puts them back.
 */
function keepDeclTree(ts: Ts, sf: TsSourceFile): () => void {
  const isVariableStatement = ts.isVariableStatement as (n: unknown) => boolean;
  const isImportDeclaration = ts.isImportDeclaration as (n: unknown) => boolean;
  const isNamedImports = ts.isNamedImports as (n: unknown) => boolean;
  const saved: [Record<string, unknown>, string, unknown][] = [[sf, "statements", sf.statements]];
  for (const st of sf.statements) {
    if (isVariableStatement(st)) {
      const list = st.declarationList as Record<string, unknown>;
      saved.push([list, "declarations", list.declarations]);
    } else if (isImportDeclaration(st) && st.importClause) {
      const clause = st.importClause as Record<string, unknown>;
      saved.push([clause, "name", clause.name], [clause, "namedBindings", clause.namedBindings]);
      const nb = clause.namedBindings as Record<string, unknown> | undefined;
      if (nb && isNamedImports(nb)) saved.push([nb, "elements", nb.elements]);
    }
  }
  return () => {
    for (const [node, key, value] of saved) {
      if (value === undefined) delete node[key];
      else node[key] = value;
    }
  };
}

/** The property of the TypeScript namespace handed to tslab through which its `updateContent` asks for a quick update. */
const QUICK_UPDATE = "__tsdlQuickUpdate";
/** tslab's `updateContent` running the watch program's update. */
const UPDATE_CALL = "        rebuildTimer.callback();\n        if (builder === oldBuilder && changed) {";

/**
 * tslab's `updateContent` (which puts a cell and the earlier declarations into its in-memory
 * files) runs the watch program's update each time. This lets it ask `lightBuilder` first: a cell
 * that can reuse the previous program gets its builder directly. The watch program still holds
 * the change as pending and takes it up at the next full update.
 */
export function patchQuickUpdate(source: string, file: string): string {
  const at = source.indexOf(UPDATE_CALL);
  if (at < 0 || source.indexOf(UPDATE_CALL, at + 1) >= 0) {
    throw new Error(`${file}: expected tslab's updateContent to call rebuildTimer.callback() once before its builder check; found it ${at < 0 ? "nowhere" : "more than once"} (tslab changed?)`);
  }
  const replacement = UPDATE_CALL.replace("rebuildTimer.callback();", `if (!ts.${QUICK_UPDATE}()) rebuildTimer.callback();`);
  return source.slice(0, at) + replacement + source.slice(at + UPDATE_CALL.length);
}

/** The start of tslab's `wrapPrevIdentifier`, which rewrites a use of an earlier cell's variable `X` to `exports.X`. */
const WRAP_PREV = "function wrapPrevIdentifier(node) {";

/**
 * tslab rewrites `X` to `exports.X` only where the identifier's own symbol was declared in an
 * earlier cell. In an object shorthand `({ X })` the identifier's symbol is the property's, so
 * tslab left it alone and the cell failed with "ReferenceError: X is not defined". This adds the
 * missing case, `{ X }` → `{ X: exports.X }`, using the checker's shorthand value symbol.
 * It also rewrote property NAMES whose symbol an earlier cell declared: `({ val: v }) => …` over an
 * earlier cell's `{ val: 2 }` objects became `({ exports.val: v })`, a SyntaxError ("Duplicate
 * parameter name"). A binding pattern's property name and an object literal's key are never variables.
 */
export function patchShorthand(source: string, file: string): string {
  const at = source.indexOf(WRAP_PREV);
  if (at < 0) throw new Error(`${file}: expected tslab's converter to define wrapPrevIdentifier; found no "${WRAP_PREV}" (tslab changed?)`);
  const fix = `
            if (ts.isIdentifier(node) && node.parent &&
                ((ts.isBindingElement(node.parent) && node.parent.propertyName === node) ||
                 (ts.isPropertyAssignment(node.parent) && node.parent.name === node))) {
                return node;
            }
            if (ts.isShorthandPropertyAssignment(node) && !node.objectAssignmentInitializer) {
                const value = checker.getShorthandAssignmentValueSymbol(node);
                if (value && (value.declarations || []).some((d) => d.getSourceFile() === declsFile)) {
                    const name = node.name.text;
                    return ts.factory.createPropertyAssignment(ts.factory.createIdentifier(name), ts.factory.createPropertyAccessExpression(ts.factory.createIdentifier("exports"), ts.factory.createIdentifier(name)));
                }
            }`;
  const end = at + WRAP_PREV.length;
  return source.slice(0, end) + fix + source.slice(end);
}
