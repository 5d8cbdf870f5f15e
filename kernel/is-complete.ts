/**
 * `is_complete_request` by TypeScript's own parser: is a cell ready to run, or does the console
 * need another line?
 *
 * tslab's `isCompleteCode` answers only complete/incomplete: invalid code (`const = 7q`) came out
 * "complete", and an unterminated template literal (`` console.log(`hello ``) too, because the
 * parser reports it where the literal starts, not at the end. Here every parse error is sorted:
 * an error at the very end of the code (a bracket, string, template literal or comment left open,
 * a statement cut short) means more input would fix it: `incomplete`, with the next line's
 * indent; any other parse error means no further line can: `invalid`. Type errors are not looked
 * at (they need the session's declarations, and the cell's run reports them).
 */

/** What the spec allows in `is_complete_reply.status` (besides "unknown", which we never need). */
export type IsCompleteStatus = "complete" | "incomplete" | "invalid";

/** The few members of the TypeScript module this needs (tslab's copy is passed in). */
export interface TsParser {
  createSourceFile(fileName: string, text: string, target: number, setParentNodes?: boolean, kind?: number): unknown;
  ScriptTarget: { Latest: number };
  ScriptKind: { TS: number };
}

interface ParseDiagnostic {
  start?: number;
  length?: number;
  code: number;
  messageText: string | { messageText: string };
}

/** TypeScript's codes for a literal or comment left open; reported where it starts or at the end. */
const UNTERMINATED = new Set([
  1002, // Unterminated string literal.
  1010, // '*/' expected.
  1160, // Unterminated template literal.
  1161, // Unterminated regular expression literal.
]);

/** Sort `code` into complete, incomplete (with the indent for its next line) or invalid. */
export function isComplete(ts: TsParser, code: string): { status: IsCompleteStatus; indent: string } {
  if (code.trim() === "") return { status: "complete", indent: "" };
  const source = ts.createSourceFile("<is_complete>.ts", code, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS) as {
    parseDiagnostics?: ParseDiagnostic[];
  };
  const diagnostics = source.parseDiagnostics ?? [];
  if (diagnostics.length === 0) return { status: "complete", indent: "" };
  const end = code.trimEnd().length;
  const open = diagnostics.some((d) => atEnd(d, end, code) || (UNTERMINATED.has(d.code) && endsInside(d, code)));
  // An error before the end that is not a literal left open: no more lines can fix it.
  const broken = diagnostics.some((d) => !atEnd(d, end, code) && !UNTERMINATED.has(d.code));
  if (broken || !open) return { status: "invalid", indent: "" };
  // Two blank lines end the input in a console whatever the parser says (as tslab and IPython do).
  if (/\n[ \t]*\n[ \t]*$/.test(code)) return { status: "complete", indent: "" };
  // Inside a literal or comment left open, the next line starts where the user puts it.
  const inLiteral = diagnostics.some((d) => UNTERMINATED.has(d.code));
  return { status: "incomplete", indent: inLiteral ? "" : indentOnEnter(code) };
}

/** True when the diagnostic points at the end of the code (after trailing white space). */
function atEnd(d: ParseDiagnostic, end: number, code: string): boolean {
  const start = d.start ?? 0;
  return start >= end && start <= code.length;
}

/** An unterminated literal or comment reaches to the end of the code (it was not closed later). */
function endsInside(d: ParseDiagnostic, code: string): boolean {
  if (d.code === 1002 || d.code === 1161) {
    // A '…' or "…" string (or a /regex/) cannot span lines: open at the end only if on the last line, or
    // continued with a backslash.
    const start = d.start ?? 0;
    const rest = code.slice(start);
    return !rest.includes("\n") || /\\\n[^\n]*$/.test(rest);
  }
  return true;
}

/** The indent for the line after `code`: the last non-blank line's, one step deeper after an opening bracket. */
function indentOnEnter(code: string): string {
  const last = /[^\n]*$/.exec(code.trimEnd())![0];
  const current = /^[ \t]*/.exec(last)![0];
  let depth = 0;
  for (const c of last.replace(/\/\/.*$/, "").replace(/(["'`])(?:\\.|(?!\1).)*\1/g, "")) {
    if (c === "{" || c === "(" || c === "[") depth++;
    else if ((c === "}" || c === ")" || c === "]") && depth > 0) depth--;
  }
  return depth > 0 ? current + "  " : current;
}
