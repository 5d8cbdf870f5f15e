/**
 * tslab's TypeScript-to-JavaScript converter, reused as is, with source maps switched on.
 *
 * tslab's converter (`tslab/dist/converter.js`) type-checks a cell against the declarations of
 * the cells before it and emits CommonJS. It emits no source map, and the TypeScript module it
 * uses exposes its functions as non-configurable getters, so they cannot be patched in place.
 * We therefore load converter.js ourselves (the way Node loads any module) and hand it a copy of
 * the TypeScript namespace in which two functions are wrapped:
 * - `createWatchCompilerHost` adds `inlineSourceMap`, so the cell's ES module output carries a map
 *   back to the cell's TypeScript;
 * - `transpileModule` (which tslab uses to turn that ES module into CommonJS) emits a second map
 *   and strips the first from the code; both are kept, keyed by the final code, and composed only
 *   when an error needs a traceback.
 * The watch program also gets a lighter "builder" (see `lightBuilder`).
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

/** The two source maps of one converted output: CommonJS → ES module → cell TypeScript. */
export interface OutputMaps {
  /** ES module JS → `__tslab__.ts` (which is the cell behind a one-line prefix). */
  esm: string | undefined;
  /** CommonJS JS (what runs) → the ES module JS (named `custom.js`). */
  cjs: string | undefined;
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
  /** TypeScript's V8 code cache (see code-cache.ts): whether it was used, and how to write it. */
  codeCache: Pick<CachedModule, "cache" | "file" | "save">;
}

const TS_MODULE = "@tslab/typescript-for-tslab";
const INLINE_MAP = /\n\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/;
const FILE_MAP = /\n?\/\/# sourceMappingURL=[^\n]*\s*$/;

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
  ) => { outputText: string; sourceMapText?: string };

  const wrapped: Record<string, unknown> = {};
  for (const key of Object.keys(ts)) {
    if (key === "createWatchCompilerHost" || key === "transpileModule") continue;
    Object.defineProperty(wrapped, key, { enumerable: true, get: () => ts[key] });
  }
  // Cells see @types/node's globals and whatever they import, not every @types package around.
  wrapped.createWatchCompilerHost = (
    rootFiles: unknown,
    options: CompilerOptions,
    system: unknown,
    createProgram: unknown,
    ...rest: unknown[]
  ) => {
    const merged = { ...options, inlineSourceMap: true, sourceMap: false, types: ["node"] };
    const host = realCreateHost(rootFiles, merged, system, createProgram ?? lightBuilder(ts), ...rest);
    // Which declaration files the program reads, for the start-up snapshot's builder.
    recordDeclarationReads(host as { readFile(f: string, encoding?: string): string | undefined }, merged);
    return host;
  };
  wrapped.transpileModule = (input: string, opts: { fileName?: string; compilerOptions?: CompilerOptions }) => {
    if (opts?.fileName !== "custom.js") return realTranspile(input, opts);
    const m = INLINE_MAP.exec(input);
    const code = m ? input.slice(0, m.index) + "\n" : input;
    const r = realTranspile(code, { ...opts, compilerOptions: { ...opts.compilerOptions, sourceMap: true } });
    const outputText = r.outputText.replace(FILE_MAP, "\n");
    maps.set(outputText, {
      esm: m ? Buffer.from(m[1], "base64").toString("utf8") : undefined,
      cjs: r.sourceMapText,
    });
    return { ...r, outputText };
  };

  const mod = new Module(converterPath, module);
  mod.filename = converterPath;
  mod.paths = (Module as unknown as { _nodeModulePaths(d: string): string[] })._nodeModulePaths(path.dirname(converterPath));
  (mod as unknown as { require: unknown }).require = Object.assign(
    (id: string) => (id === TS_MODULE ? wrapped : baseRequire(id)),
    { resolve: baseRequire.resolve, cache: baseRequire.cache },
  );
  (mod as unknown as { _compile(code: string, f: string): void })._compile(patchShorthand(readFileSync(converterPath, "utf8"), converterPath), converterPath);
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
    codeCache: tsModule,
  };
}

type Ts = LoadedConverter["ts"];
interface TsProgram {
  getSourceFile(f: string): TsSourceFile | undefined;
  getSourceFiles(): readonly TsSourceFile[];
  getCompilerOptions(): unknown;
  emit(...a: unknown[]): unknown;
  [k: string]: unknown;
}
interface TsSourceFile {
  fileName: string;
  isDeclarationFile: boolean;
  imports?: readonly { text: string }[];
  referencedFiles?: readonly { fileName: string }[];
}

/**
 * A stand-in for TypeScript's default watch "builder" (`createEmitAndSemanticDiagnosticsBuilderProgram`).
 * The default one recomputes, for EVERY file of the program, which files it references (with the
 * type checker) each time a cell changes: with TensorFlow.js's hundreds of declaration files
 * in the program, that was most of a trivial cell's 100 ms. tslab's converter only needs
 * `getProgram`, `getSourceFile`, `emit` and `getAllDependencies` of the cell, so this builder is
 * a plain program plus a dependency walk that starts at the file asked about.
 */
function lightBuilder(ts: Ts) {
  const createProgram = ts.createProgram as (o: Record<string, unknown>) => TsProgram;
  const getResolvedModule = ts.getResolvedModule as (sf: TsSourceFile, name: string, mode: unknown) => { resolvedFileName: string } | undefined;
  const getModeForUsageLocation = ts.getModeForUsageLocation as (sf: TsSourceFile, usage: unknown) => unknown;
  type Builder = ReturnType<typeof make>;
  const make = (program: TsProgram) => {
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
    return {
      getProgram: () => program,
      getProgramOrUndefined: () => program,
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
      emit: call("emit"),
      getAllDependencies: (sf: TsSourceFile) => dependencies(sf),
    };
  };
  return (
    rootNames: readonly string[] | undefined,
    options: unknown,
    host: unknown,
    old: Builder | undefined,
    configFileParsingDiagnostics: unknown,
    projectReferences: unknown,
  ): Builder => {
    if (!rootNames && old) return old;
    return make(
      createProgram({
        rootNames: rootNames ?? [],
        options,
        host,
        oldProgram: old?.getProgramOrUndefined(),
        configFileParsingDiagnostics,
        projectReferences,
      }),
    );
  };
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
