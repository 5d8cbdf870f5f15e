/**
 * Module resolution for cells. The kernel runs in the notebook's folder, where neither `tsdl` nor
 * `@tensorflow/tfjs` is installed; cells still import both, with types.
 *
 * - `tsdl` always means this package (`dist/src/index.js`, types `dist/src/index.d.ts`), and
 *   `@tensorflow/*` always means the copy this package itself loads: `tf` in a cell must be the
 *   very instance the library uses, or there would be two backend registries and two sets of
 *   tensors.
 * - Any other package missing from `<cwd>/node_modules` falls back to the one this package would
 *   load (so `@types/node` and the library's dependencies type-check); a package the notebook's
 *   folder does have is used from there.
 *
 * "The one this package loads" is found the way Node finds it from the package root: the first of
 * `<root>/node_modules`, `<root>/../node_modules`, ... that holds it. In a git clone that is
 * `<root>/node_modules`; after `npm install tsdl.tgz` in a project, npm hoists tsdl's dependencies
 * beside it (`<project>/node_modules/@tensorflow/tfjs`), and after `npm install -g` they sit
 * inside it. Mirroring Node's own lookup keeps the type checker and `require` on the same copy.
 *
 * The same rule is applied twice: to the TypeScript compiler's file system (`ts.sys`), so types
 * resolve, and to the `require` that compiled cells call, so values do.
 */
import { existsSync } from "node:fs";
import Module from "node:module";
import path from "node:path";

/** Node's `node_modules` lookup folders for a module in `dir`, nearest first (as `require` uses). */
export function nodeModulePaths(dir: string): string[] {
  return (Module as unknown as { _nodeModulePaths(d: string): string[] })._nodeModulePaths(dir);
}

/** Maps paths under `<cwd>/node_modules` to where the package really is. */
export class ModuleMap {
  private readonly cwdModules: string;
  private readonly rootModules: string;
  /** Where Node looks for this package's dependencies, nearest first. */
  private readonly rootLookup: string[];
  private exists = new Map<string, boolean>();

  constructor(
    readonly cwd: string,
    readonly root: string,
    /** Injected so tests can count or fake the file system's answers. */
    private readonly pathExists: (p: string) => boolean = existsSync,
  ) {
    this.cwdModules = path.join(cwd, "node_modules");
    this.rootModules = path.join(root, "node_modules");
    this.rootLookup = nodeModulePaths(root);
  }

  /** Forget cached existence checks (called before each cell, so newly installed packages are seen). */
  refresh(): void {
    this.exists.clear();
  }

  private has(p: string): boolean {
    let v = this.exists.get(p);
    if (v === undefined) {
      v = this.pathExists(p);
      this.exists.set(p, v);
    }
    return v;
  }

  /**
   * The `node_modules` folder from which Node, starting at this package, would load `pkg` (a
   * package or a scope such as `@types`); `<root>/node_modules` when none holds it.
   */
  modulesFolderFor(pkg: string): string {
    return this.rootLookup.find((dir) => this.has(path.join(dir, pkg))) ?? this.rootModules;
  }

  /** True for packages that always come from this package: `tsdl` and `@tensorflow/*`. */
  static pinned(pkg: string): boolean {
    return pkg === "tsdl" || pkg.startsWith("@tensorflow/");
  }

  /** The package name at the start of a path relative to a node_modules folder. */
  static packageName(rest: string): string {
    const parts = rest.split(/[\\/]/);
    return parts[0].startsWith("@") && parts.length > 1 ? `${parts[0]}/${parts[1]}` : parts[0];
  }

  /** Where `p` really is: itself, or the counterpart this package would load. */
  map(p: string): string {
    if (typeof p !== "string") return p;
    if (p === this.cwdModules) {
      // The compiler looks inside only if the folder exists: answer for the nearest real one.
      return this.has(p) ? p : (this.rootLookup.find((d) => this.has(d)) ?? this.rootModules);
    }
    if (!p.startsWith(this.cwdModules + path.sep)) return p;
    const rest = p.slice(this.cwdModules.length + 1);
    const pkg = ModuleMap.packageName(rest);
    if (pkg === "tsdl") return path.join(this.root, rest.slice("tsdl".length));
    if (pkg === "" || pkg.startsWith(".")) return p;
    if (ModuleMap.pinned(pkg)) return path.join(this.modulesFolderFor(pkg), rest);
    if (this.has(path.join(this.cwdModules, pkg))) return p;
    // A scope folder such as `@types` is present if either side has it.
    if (pkg.startsWith("@") && !pkg.includes("/") && this.has(p)) return p;
    return path.join(this.modulesFolderFor(pkg), rest);
  }
}

/** The subset of `ts.sys` whose path arguments we redirect. */
const PATH_FUNCTIONS = [
  "readFile",
  "fileExists",
  "directoryExists",
  "realpath",
  "getDirectories",
  "readDirectory",
  "getModifiedTime",
  "getFileSize",
  "watchFile",
  "watchDirectory",
] as const;

/**
 * Redirect the first (path) argument of the TypeScript compiler's file functions through `map`.
 * tslab's converter calls the global `ts.sys` functions at call time, so wrapping them here is
 * enough. Returns a function that undoes it.
 */
export function mapCompilerPaths(sys: Record<string, unknown>, map: ModuleMap): () => void {
  const originals = new Map<string, unknown>();
  for (const name of PATH_FUNCTIONS) {
    const fn = sys[name];
    if (typeof fn !== "function") continue;
    originals.set(name, fn);
    sys[name] = function (this: unknown, p: string, ...rest: unknown[]) {
      return (fn as (...a: unknown[]) => unknown).call(this, map.map(p), ...rest);
    };
  }
  return () => {
    for (const [name, fn] of originals) sys[name] = fn;
  };
}

/** The `require` compiled cells call: the notebook folder's modules first, then this package's. */
export interface CellRequire {
  (id: string): unknown;
  resolve(id: string): string;
  cache: NodeJS.Require["cache"];
}

/**
 * Build the cells' `require`. `sideOutputs` holds compiled local `.ts` modules that cells import
 * (`import { f } from "./helpers"`): tslab's converter compiles them and we load them from memory.
 */
export function createCellRequire(
  map: ModuleMap,
  libraryEntry: string,
  sideOutputs: Map<string, string>,
  sideModules: Map<string, Module>,
): CellRequire {
  const fromCwd = Module.createRequire(path.join(map.cwd, "__tsdl_cell__.js"));
  const fromRoot = Module.createRequire(path.join(map.root, "package.json"));

  const target = (id: string): { req: NodeJS.Require; id: string } | null => {
    if (id === "tsdl") return { req: fromRoot, id: libraryEntry };
    if (id.startsWith("tsdl/")) return { req: fromRoot, id: path.join(map.root, id.slice(5)) };
    if (ModuleMap.pinned(ModuleMap.packageName(id))) return { req: fromRoot, id };
    return null;
  };

  const fromSide = (dir: string, id: string): unknown => {
    if (!id.startsWith(".")) return undefined;
    let filename = path.resolve(dir, id);
    if (path.extname(filename) === "") filename += ".js";
    const cached = sideModules.get(filename);
    if (cached) return cached.exports;
    const code = sideOutputs.get(filename);
    if (code === undefined) return undefined;
    // Load a compiled local module the way Node would, with this same require inside it.
    const mod = new Module(filename, module);
    mod.filename = filename;
    mod.paths = (Module as unknown as { _nodeModulePaths(d: string): string[] })._nodeModulePaths(path.dirname(filename));
    (mod as unknown as { require: unknown }).require = make(path.dirname(filename), Module.createRequire(filename));
    sideModules.set(filename, mod);
    (mod as unknown as { _compile(code: string, filename: string): void })._compile(code, filename);
    return mod.exports;
  };

  const make = (dir: string, base: NodeJS.Require): CellRequire => {
    const req = ((id: string) => {
      const t = target(id);
      if (t) return t.req(t.id);
      const side = fromSide(dir, id);
      if (side !== undefined) return side;
      try {
        return base(id);
      } catch (err) {
        if (isMissing(err, id) && !id.startsWith(".") && !path.isAbsolute(id)) return fromRoot(id);
        throw err;
      }
    }) as CellRequire;
    req.resolve = (id: string) => {
      const t = target(id);
      if (t) return t.req.resolve(t.id);
      try {
        return base.resolve(id);
      } catch (err) {
        if (isMissing(err, id) && !id.startsWith(".")) return fromRoot.resolve(id);
        throw err;
      }
    };
    req.cache = base.cache;
    return req;
  };
  return make(map.cwd, fromCwd);
}

function isMissing(err: unknown, id: string): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === "MODULE_NOT_FOUND" && typeof e.message === "string" && e.message.includes(`'${id}'`);
}
