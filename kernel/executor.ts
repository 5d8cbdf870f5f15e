/**
 * Runs cells: TypeScript in, a value or an error out. Knows nothing of Jupyter messages.
 *
 * Borrowed from tslab's executor (`tslab/dist/executor.js`): the `exports` proxy that keeps each
 * cell's top-level names alive for the next cell, the `require` wrapper for local modules, and
 * `vm.runInThisContext` with `breakOnSigint`. Not used as is, because it prints errors and the
 * last value with console.error/console.log instead of returning them, has no tracebacks into the
 * cell's source, and does not fail a cell on an unhandled rejection.
 */
import vm from "node:vm";
import Module from "node:module";
import path from "node:path";
import { loadConverter, type Converter, type LoadedConverter, type QuickInfo } from "./converter";
import { ModuleMap, createCellRequire, mapCompilerPaths, type CellRequire } from "./modules";
import { CellRegistry, formatDiagnostics, formatError, type FailureKind } from "./traceback";
import type { ErrorContent } from "./protocol";
import { AWAITING, IDLE, IN_VM, STATE, TERMINATED, VM_CALLS } from "./busy";
import { isComplete, type IsCompleteStatus, type TsParser } from "./is-complete";

/** How one cell ended. */
export type CellOutcome =
  | { status: "ok"; hasValue: boolean; value?: unknown }
  | { status: "error"; error: ErrorContent; interrupted?: boolean };

/** How an executor is set up. */
export interface ExecutorOptions {
  /** The notebook's folder: relative imports and the notebook's own node_modules resolve from here. */
  cwd: string;
  /** This package's root (its node_modules and dist/). */
  root: string;
  /** What `import ... from "tsdl"` loads. */
  libraryEntry: string;
  /** Tells the kernel's I/O thread what the main thread is doing (see busy.ts). */
  busyFlag?: Int32Array;
}

interface Failure {
  kind: FailureKind | "interrupt";
  value?: unknown;
}

interface ActiveCell {
  fail(f: Failure): void;
}

const SUFFIX = "\n})(__tsdl__.exports, __tsdl__.require)";

/** Completion candidates with TypeScript's kind for each. */
export interface Completion {
  start: number;
  end: number;
  matches: string[];
  kinds: string[];
}

/** Compiles and runs cells, keeping the declarations and values of earlier cells. */
export class Executor {
  private prevDecl = "";
  private readonly loaded: LoadedConverter;
  private readonly converter: Converter;
  private readonly map: ModuleMap;
  private readonly registry: CellRegistry;
  private readonly locals: Record<string, unknown> = {};
  private readonly exportsProxy: Record<string, unknown>;
  private readonly sideOutputs = new Map<string, string>();
  private readonly sideModules = new Map<string, Module>();
  private readonly unmapPaths: () => void;
  /** The `require` cells call. */
  readonly require: CellRequire;
  private active: ActiveCell | undefined;
  private running = false;
  private interruptPending = false;
  private startedAt = 0;

  /** Loads TypeScript and builds the converter: takes a second or two. */
  constructor(private readonly options: ExecutorOptions) {
    this.loaded = loadConverter();
    this.map = new ModuleMap(options.cwd, options.root);
    this.unmapPaths = mapCompilerPaths(this.loaded.ts.sys, this.map);
    this.converter = this.loaded.createConverter({ isJS: false, isBrowser: false });
    this.registry = new CellRegistry(path.join(options.root, "dist", "kernel"));
    this.exportsProxy = createExports(this.locals);
    this.require = createCellRequire(this.map, options.libraryEntry, this.sideOutputs, this.sideModules);
    Object.defineProperty(globalThis, "__tsdl__", {
      value: { exports: this.exportsProxy, require: this.require },
      enumerable: false,
      configurable: true,
      writable: false,
    });
  }

  /** The TypeScript version that compiles cells. */
  get typescriptVersion(): string {
    return this.loaded.ts.version;
  }

  /** How many TypeScript programs were built, and how many compiles reused one (see converter.ts). */
  get programs(): { built: number; reused: number } {
    return this.loaded.programs;
  }

  /** The declarations in scope for the next cell (what earlier cells declared). */
  get declarations(): string {
    return this.prevDecl;
  }

  /** Compile and run one cell as script `filename` (e.g. `<cell 3>`). Never throws. */
  async execute(code: string, filename: string): Promise<CellOutcome> {
    this.map.refresh();
    this.interruptPending = false;
    this.takeTerminated(); // a termination meant for an earlier cell is void
    this.running = true;
    this.startedAt = Date.now();
    try {
      let conv;
      try {
        conv = this.converter.convert(this.prevDecl, code);
      } catch (err) {
        return { status: "error", error: internalError("the TypeScript converter failed on this cell", err) };
      }
      const maps = conv.output ? this.loaded.takeMaps(conv.output) : undefined;
      this.loaded.clearMaps();
      for (const out of conv.sideOutputs ?? []) {
        this.sideModules.delete(out.path);
        this.sideOutputs.set(out.path, out.data);
      }
      if (conv.diagnostics.length > 0) {
        return { status: "error", error: formatDiagnostics(conv.diagnostics, filename, code) };
      }
      if (this.interruptPending) return interrupted("before it started running");
      if (!conv.output) {
        this.prevDecl = conv.declOutput ?? "";
        return { status: "ok", hasValue: false };
      }
      const prefix = conv.hasToplevelAwait ? "(async function (exports, require) { " : "(function (exports, require) { ";
      this.registry.register(filename, code, maps, prefix.length);
      const ran = await this.run(prefix + conv.output + SUFFIX, filename, conv.hasToplevelAwait === true);
      if (ran) return ran;
      this.prevDecl = conv.declOutput ?? "";
      const name = conv.lastExpressionVar;
      if (name && Object.prototype.hasOwnProperty.call(this.locals, name)) {
        const value = this.locals[name];
        delete this.locals[name];
        return { status: "ok", hasValue: value !== undefined, value };
      }
      return { status: "ok", hasValue: false };
    } finally {
      this.running = false;
    }
  }

  /** Run compiled code; undefined when it finished, or the error outcome. */
  private async run(script: string, filename: string, isAsync: boolean): Promise<CellOutcome | undefined> {
    let fail!: (f: Failure) => void;
    const failed = new Promise<Failure>((resolve) => (fail = resolve));
    this.active = { fail };
    this.setBusy(IN_VM);
    try {
      let ret: unknown;
      try {
        ret = vm.runInThisContext(script, { filename, breakOnSigint: true, displayErrors: false });
      } catch (err) {
        return this.failure(isSigintError(err) ? { kind: "interrupt" } : { kind: "thrown", value: err }, filename);
      }
      this.setBusy(AWAITING);
      if (isAsync) {
        const settled = Promise.resolve(ret).then(
          () => null,
          (value: unknown): Failure => (isSigintError(value) ? { kind: "interrupt" } : { kind: "thrown", value }),
        );
        const r = await Promise.race([settled, failed]);
        if (r) return this.failure(r, filename, true);
      }
      // Node reports unhandled rejections after the microtask queue drains: give those this cell
      // caused one turn of the event loop to surface, and fail the cell with the first.
      const late = await Promise.race([new Promise<null>((r) => setImmediate(() => r(null))), failed]);
      if (late) return this.failure(late, filename);
      return undefined;
    } finally {
      this.active = undefined;
      this.setBusy(IDLE);
    }
  }

  private failure(f: Failure, filename: string, awaiting = false): CellOutcome {
    if (f.kind === "interrupt") {
      if (awaiting && this.takeTerminated()) {
        return interrupted(
          "while it ran synchronous code after an `await` (a loop, say), which SIGINT cannot reach; the kernel terminated that code",
        );
      }
      return interrupted(awaiting ? "while it was waiting on a promise" : "while it was running", awaiting);
    }
    void filename;
    return { status: "error", error: formatError(f.value, this.registry, f.kind) };
  }

  /** True (once) if the I/O thread terminated this thread's JavaScript to stop the cell. */
  private takeTerminated(): boolean {
    const flag = this.options.busyFlag;
    return flag !== undefined && Atomics.exchange(flag, TERMINATED, 0) === 1;
  }

  private setBusy(v: number): void {
    const flag = this.options.busyFlag;
    if (!flag) return;
    if (v === IN_VM) Atomics.add(flag, VM_CALLS, 1);
    Atomics.store(flag, STATE, v);
  }

  /**
   * Fail the running cell with an error raised outside its own call stack (an unhandled rejection
   * or an exception in a callback). Returns false when no cell is running.
   */
  failActive(kind: "unhandled-rejection" | "uncaught-exception", value: unknown): boolean {
    if (!this.active) return false;
    this.active.fail({ kind, value });
    return true;
  }

  /** Stop the running cell (a pending await is abandoned; sync code is stopped by SIGINT itself). */
  interrupt(): void {
    if (this.active) this.active.fail({ kind: "interrupt" });
    else if (this.running) this.interruptPending = true;
  }

  /**
   * Interrupt the cell if it started at or before `at` (ms since the epoch): the interrupt was
   * meant for it, not for a cell that started after it.
   */
  interruptIfStartedBy(at: number): void {
    if (this.running && this.startedAt <= at) this.interrupt();
  }

  /** True while a cell is compiling or running. */
  get busy(): boolean {
    return this.running;
  }

  /** Evaluate an expression against the session without changing it (for user_expressions). */
  async evaluate(expr: string): Promise<CellOutcome> {
    let conv;
    try {
      conv = this.converter.convert(this.prevDecl, expr);
    } catch (err) {
      return { status: "error", error: internalError("the TypeScript converter failed on this expression", err) };
    }
    this.loaded.clearMaps();
    if (conv.diagnostics.length > 0) return { status: "error", error: formatDiagnostics(conv.diagnostics, "<expression>", expr) };
    if (!conv.output || !conv.lastExpressionVar) return { status: "ok", hasValue: false };
    const scratch: Record<string, unknown> = {};
    const proxy = createExports(scratch, this.locals);
    const prefix = conv.hasToplevelAwait ? "(async function (exports, require) { " : "(function (exports, require) { ";
    try {
      const fn = vm.runInThisContext(`${prefix}${conv.output}\n})`, { filename: "<expression>", displayErrors: false }) as (
        e: unknown,
        r: unknown,
      ) => unknown;
      await fn(proxy, this.require);
    } catch (err) {
      return { status: "error", error: formatError(err, this.registry) };
    }
    const value = scratch[conv.lastExpressionVar];
    return { status: "ok", hasValue: value !== undefined, value };
  }

  /** Completions at UTF-16 offset `pos`, from the TypeScript language service. */
  complete(code: string, pos: number): Completion {
    const r = this.converter.complete(this.prevDecl, code, pos);
    const kinds = new Map((r.original?.entries ?? []).map((e) => [e.name, e.kind]));
    return { start: r.start, end: r.end, matches: r.candidates, kinds: r.candidates.map((c) => kinds.get(c) ?? "") };
  }

  /** Type information at UTF-16 offset `pos` (what a hover shows), or undefined. */
  inspect(code: string, pos: number): { text: string; start: number; length: number } | undefined {
    const info = this.converter.inspect(this.prevDecl, code, pos);
    // A name TypeScript cannot resolve comes back as kind "" and type `any`: nothing was found.
    if (!info || info.kind === "") return undefined;
    return { text: quickInfoText(info), start: info.textSpan?.start ?? pos, length: info.textSpan?.length ?? 0 };
  }

  /** Whether the code is complete, incomplete (with the indent for its next line) or invalid (see is-complete.ts). */
  isComplete(code: string): { status: IsCompleteStatus; indent: string } {
    return isComplete(this.loaded.ts as unknown as TsParser, code);
  }

  /**
   * Write TypeScript's V8 code cache if it was missing (call once cells have run, so it holds the
   * functions they compiled). Returns what happened, for the kernel's log.
   */
  saveCodeCache(): string {
    const c = this.loaded.codeCache;
    if (c.cache === "hit") return `TypeScript compiled from the code cache ${c.file}`;
    return c.save() ?? `wrote TypeScript's code cache ${c.file} (${c.cache === "rejected" ? "V8 rejected the old one" : "there was none"})`;
  }

  /** Release the compiler's file watchers and undo the path mapping. */
  close(): void {
    try {
      this.converter.close();
    } finally {
      this.unmapPaths();
    }
  }
}

/**
 * The `exports` object cells write their top-level names to (tslab's proxy): TypeScript emits
 * `Object.defineProperty(exports, name, { get })` for re-exported imports, which would freeze the
 * name; turning definitions into plain assignments lets a later cell rebind it. Reads fall back
 * to `fallback` (used by user_expressions, which must see the session without changing it).
 */
function createExports(target: Record<string, unknown>, fallback?: Record<string, unknown>): Record<string, unknown> {
  return new Proxy(target, {
    defineProperty(_t, prop, attrs) {
      if (prop === "__esModule") return true;
      target[prop as string] = attrs.get ? attrs.get() : attrs.value;
      return true;
    },
    get(t, prop) {
      if (prop in t || !fallback) return t[prop as string];
      return fallback[prop as string];
    },
  });
}

function isSigintError(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === "ERR_SCRIPT_EXECUTION_INTERRUPTED";
}

function interrupted(when: string, awaiting = false): CellOutcome {
  const traceback = [`Interrupted: the cell was interrupted ${when}.`];
  if (awaiting) {
    traceback.push(
      "What it was waiting on keeps going in the background unless it stops by itself; variables from earlier cells are intact.",
    );
  }
  return { status: "error", interrupted: true, error: { ename: "Interrupted", evalue: `the cell was interrupted ${when}`, traceback } };
}

function internalError(what: string, err: unknown): ErrorContent {
  const e = err as Error;
  return {
    ename: "KernelError",
    evalue: `${what}: ${e?.message ?? String(err)}`,
    traceback: [`KernelError: ${what}. This is a bug in the tsdl kernel, not in your code.`, String(e?.stack ?? err)],
  };
}

/** TypeScript quick info as text: the signature, then its documentation and tags. */
function quickInfoText(info: QuickInfo): string {
  const sig = (info.displayParts ?? []).map((p) => p.text).join("");
  const doc = (info.documentation ?? []).map((p) => p.text).join("");
  const tags = (info.tags ?? [])
    .map((t) => {
      const text = (t.text ?? []).map((p) => p.text).join("");
      return text ? `@${t.name} ${text}` : `@${t.name}`;
    })
    .join("\n");
  return [sig, doc, tags].filter((s) => s !== "").join("\n\n");
}

/** Convert an offset in Unicode code points (the protocol's unit) to UTF-16 code units (JS strings). */
export function codePointsToUtf16(text: string, cp: number): number {
  let i = 0;
  let n = 0;
  while (i < text.length && n < cp) {
    const c = text.codePointAt(i)!;
    i += c > 0xffff ? 2 : 1;
    n++;
  }
  return i;
}

/** Convert a UTF-16 offset to Unicode code points. */
export function utf16ToCodePoints(text: string, offset: number): number {
  let n = 0;
  for (let i = 0; i < offset && i < text.length; n++) {
    const c = text.codePointAt(i)!;
    i += c > 0xffff ? 2 : 1;
  }
  return n;
}
