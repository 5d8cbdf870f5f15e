/**
 * Tracebacks that point at the cell and the line in the cell's TypeScript.
 *
 * Each cell runs as a script named `<cell N>`. Stack frames in such a script are mapped back
 * through the cell's source map (CommonJS → TypeScript, see `converter.ts`), read with
 * @jridgewell/trace-mapping (a well-kept library for a solved problem). Frames of the kernel itself and of Node internals are dropped.
 */
import { GREATEST_LOWER_BOUND, TraceMap, originalPositionFor } from "@jridgewell/trace-mapping";
import path from "node:path";
import { inspect } from "node:util";
import type { Diagnostic, OutputMaps } from "./converter";
import type { ErrorContent } from "./protocol";

/** What is kept about one cell to map its stack frames. */
interface CellRecord {
  /** The cell's TypeScript source. */
  source: string;
  maps: OutputMaps | undefined;
  /** Characters of wrapper code before the compiled code on line 1. */
  prefixColumns: number;
  trace?: TraceMap | null;
}

/** A position in a cell: 1-based line and column. */
export interface CellPosition {
  cell: string;
  line: number;
  column: number;
}

const MAX_CELLS = 2000;

/** Remembers each cell's source and source maps, and maps script positions to cell positions. */
export class CellRegistry {
  private readonly cells = new Map<string, CellRecord>();

  constructor(private readonly kernelDir: string) {}

  /** Record a cell about to run as script `filename`. */
  register(filename: string, source: string, maps: OutputMaps | undefined, prefixColumns: number): void {
    this.cells.delete(filename);
    this.cells.set(filename, { source, maps, prefixColumns });
    if (this.cells.size > MAX_CELLS) {
      const oldest = this.cells.keys().next().value as string;
      this.cells.delete(oldest);
    }
  }

  /** True if `filename` names a cell we ran. */
  has(filename: string): boolean {
    return this.cells.has(filename);
  }

  /** The TypeScript source of a cell. */
  source(filename: string): string | undefined {
    return this.cells.get(filename)?.source;
  }

  /** Map a 1-based line/column in the running script to the cell's TypeScript, if it maps. */
  locate(filename: string, line: number, column: number): CellPosition | undefined {
    const rec = this.cells.get(filename);
    if (!rec) return undefined;
    if (rec.trace === undefined) rec.trace = buildTrace(rec.maps);
    if (!rec.trace) return undefined;
    let col0 = column - 1;
    if (line === 1) col0 -= rec.prefixColumns;
    if (col0 < 0) return undefined;
    const p = originalPositionFor(rec.trace, { line, column: col0 });
    if (p.line === null || p.column === null) {
      // V8 may point just past a mapped token; try the nearest mapping to the left.
      const q = originalPositionFor(rec.trace, { line, column: col0, bias: GREATEST_LOWER_BOUND });
      if (q.line === null || q.column === null) return undefined;
      return toCell(filename, q.line, q.column, rec.source);
    }
    return toCell(filename, p.line, p.column, rec.source);
  }

  /**
   * Rewrite a V8 stack: frames in cells get cell positions, frames of the kernel and of Node
   * internals are dropped, other frames (libraries) are kept. Returns the header lines (name and
   * message), the frame lines, and the first cell position found.
   */
  rewriteStack(stack: string): { header: string[]; frames: string[]; first?: CellPosition } {
    const lines = stack.split("\n");
    const firstFrame = lines.findIndex((l) => FRAME.test(l));
    const header = firstFrame < 0 ? lines : lines.slice(0, firstFrame);
    const frames: string[] = [];
    let first: CellPosition | undefined;
    if (firstFrame >= 0) {
      for (const line of lines.slice(firstFrame)) {
        const m = LOCATION.exec(line);
        if (!m) {
          if (FRAME.test(line) && !/\bnode:/.test(line)) frames.push(line);
          continue;
        }
        const [, before, file, l, c, after] = m;
        if (this.cells.has(file)) {
          const pos = this.locate(file, Number(l), Number(c));
          if (!pos) continue; // the wrapper around the cell's code
          first ??= pos;
          // Calls to earlier cells' functions go through the `exports` proxy; V8 then names the
          // function `Proxy.f`, which means nothing to the reader.
          const caller = before.replace(/^(\s+at\s(?:async\s|new\s)?)Proxy\./, "$1");
          frames.push(`${caller}${file}:${pos.line}:${pos.column}${after}`);
          continue;
        }
        if (file.startsWith("node:") || file.startsWith(this.kernelDir + path.sep)) continue;
        if (file === "evalmachine.<anonymous>") continue;
        frames.push(line);
      }
    }
    return { header, frames, first };
  }
}

function toCell(filename: string, line: number, column: number, source: string): CellPosition | undefined {
  // The ES module source is the cell behind tslab's one-line prefix `export {};`.
  const cellLine = line - 1;
  if (cellLine < 1 || cellLine > source.split("\n").length) return undefined;
  return { cell: filename, line: cellLine, column: column + 1 };
}

function buildTrace(maps: OutputMaps | undefined): TraceMap | null {
  if (!maps?.cell) return null;
  try {
    return new TraceMap(maps.cell);
  } catch {
    return null;
  }
}

/** A stack frame line. */
const FRAME = /^\s+at\s/;
/** A frame's location: `(file:line:col)` or a bare `file:line:col` at the end of the line. */
const LOCATION = /^(\s+at\s(?:.*?\()?)(.+?):(\d+):(\d+)(\)?)$/;

/** A source line with a caret under `column` (1-based), for a traceback. */
export function excerpt(source: string, line: number, column: number, width = 1): string[] {
  const text = source.split("\n")[line - 1];
  if (text === undefined) return [];
  const gutter = `${line} | `;
  const pad = " ".repeat(gutter.length - 2) + "| ";
  const lead = text.slice(0, column - 1).replace(/[^\t]/g, " ");
  return [`${gutter}${text}`, `${pad}${lead}${"^".repeat(Math.max(1, width))}`];
}

/** Why a cell failed, when it was not a plain throw. */
export type FailureKind = "thrown" | "unhandled-rejection" | "uncaught-exception";

const KIND_NOTE: Record<FailureKind, string | undefined> = {
  thrown: undefined,
  "unhandled-rejection": "Unhandled promise rejection: a promise created in this cell rejected and nothing awaited or caught it.",
  "uncaught-exception": "Uncaught exception in a callback this cell scheduled (a timer or an event handler).",
};

/** ename/evalue/traceback for a value a cell threw (or rejected with). */
export function formatError(value: unknown, registry: CellRegistry, kind: FailureKind = "thrown"): ErrorContent {
  const note = KIND_NOTE[kind];
  const isErrorLike =
    value instanceof Error ||
    (typeof value === "object" && value !== null && typeof (value as Error).stack === "string" && typeof (value as Error).message === "string");
  if (!isErrorLike) {
    const shown = inspect(value, { depth: 2 });
    return {
      ename: "Uncaught",
      evalue: shown,
      traceback: [...(note ? [note] : []), `Uncaught ${shown}`, "(a value that is not an Error was thrown, so there is no stack trace)"],
    };
  }
  const err = value as Error;
  const ename = typeof err.name === "string" && err.name ? err.name : err.constructor?.name ?? "Error";
  const evalue = String(err.message ?? "");
  const { header, frames, first } = registry.rewriteStack(typeof err.stack === "string" ? err.stack : `${ename}: ${evalue}`);
  const traceback: string[] = [];
  if (note) traceback.push(note);
  traceback.push(header.join("\n").trim() || `${ename}: ${evalue}`);
  traceback.push(...frames);
  if (first) {
    const src = registry.source(first.cell);
    if (src !== undefined) {
      traceback.push("", `${first.cell}, line ${first.line}:`, ...excerpt(src, first.line, first.column));
    }
  }
  return { ename, evalue, traceback };
}

/** ename/evalue/traceback for TypeScript diagnostics that stopped a cell from running. */
export function formatDiagnostics(diagnostics: Diagnostic[], cellName: string, source: string): ErrorContent {
  const syntax = diagnostics.every((d) => d.code >= 1000 && d.code < 2000);
  const ename = syntax ? "SyntaxError" : "TSError";
  const first = diagnostics[0];
  const where = (d: Diagnostic) => `${d.fileName ?? cellName}:${d.start.line + 1}:${d.start.character + 1}`;
  const more = diagnostics.length > 1 ? ` (and ${diagnostics.length - 1} more)` : "";
  const evalue = `${first.messageText} (TS${first.code} at ${where(first)})${more}`;
  const traceback: string[] = [
    `${ename}: the cell did not compile, so none of it ran. TypeScript says:`,
  ];
  let last = "";
  for (const d of diagnostics) {
    traceback.push(`${where(d)} - error TS${d.code}: ${d.messageText}`);
    const key = `${d.fileName ?? ""}:${d.start.offset}`;
    if (!d.fileName && key !== last) {
      const width = d.end.line === d.start.line ? d.end.character - d.start.character : 1;
      traceback.push(...excerpt(source, d.start.line + 1, d.start.character + 1, width).map((l) => "    " + l));
    }
    last = key;
  }
  return { ename, evalue, traceback };
}
