/**
 * Validation against the official nbformat v4 JSON schema (nbformat.v4.schema.json, see NOTICE.md).
 *
 * We use ajv, a maintained JSON Schema validator, rather than checking fields by hand: the schema
 * is the format's definition and the same file Jupyter itself validates with.
 *
 * The schema declares draft-04. Ajv 8 speaks draft-07 by default; the schema only uses keywords
 * whose meaning is the same in both drafts (no boolean `exclusiveMinimum`, no `id`), which
 * test/runner/nbformat.test.ts checks, so we drop the `$schema` line and compile it as draft-07.
 * `strict: false` because, like any draft-04 validator, we must ignore the two unknown keywords
 * the official file carries (`"item"`, a typo for `"items"` in metadata.authors, and a misplaced
 * `"source_hidden"`), instead of refusing the schema.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from "ajv";
import schemaJson from "./nbformat.v4.schema.json";
import widgetStateJson from "./widget-state.v2.schema.json";

/** The official nbformat v4 schema object, as copied into the repository. */
export const NBFORMAT_V4_SCHEMA: Record<string, unknown> = schemaJson as Record<string, unknown>;

const SCHEMA_KEY = "nbformat.v4";
let ajv: Ajv | undefined;

// One Ajv instance holds the schema; the per-type definitions (code_cell, stream, ...) are
// fetched from it to explain failures (see describe below).
function schemaFor(ref = ""): ValidateFunction {
  if (!ajv) {
    const { $schema: _draft04, ...schema } = NBFORMAT_V4_SCHEMA;
    ajv = new Ajv({ allErrors: true, strict: false });
    ajv.addSchema(schema, SCHEMA_KEY);
  }
  const fn = ajv.getSchema(ref ? `${SCHEMA_KEY}#/definitions/${ref}` : SCHEMA_KEY);
  if (!fn) throw new Error(`nbformat schema has no definition ${ref}`);
  return fn;
}

/** Thrown when a notebook does not match the nbformat v4 schema; `problems` lists each one. */
export class NotebookValidationError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(
      `${file}: not a valid nbformat 4 notebook (official nbformat.v4.schema.json): ` +
        problems.slice(0, 5).join("; ") +
        (problems.length > 5 ? `; and ${problems.length - 5} more` : ""),
    );
    this.name = "NotebookValidationError";
  }
}

/**
 * Validates a notebook in its on-disk form against the nbformat v4 schema.
 * Returns one readable line per problem ("/cells/2/outputs/0: must have required property 'name'"),
 * or an empty list when the notebook is valid.
 */
export function validateNotebook(nb: unknown): string[] {
  const validate = schemaFor();
  const problems = validate(nb) ? [] : describe(validate.errors ?? [], nb);
  return [...problems, ...validateWidgetState(nb)];
}

/** The MIME type under which notebooks keep their widgets' state (`metadata.widgets`), as nbclient writes it. */
export const WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json";

let widgetStateCheck: ValidateFunction | undefined;

/** Problems with `metadata.widgets[WIDGET_STATE_MIME]` against ipywidgets' widget state schema v2 (none when absent). */
export function validateWidgetState(nb: unknown): string[] {
  const widgets = (nb as { metadata?: { widgets?: Record<string, unknown> } } | null)?.metadata?.widgets;
  if (widgets === undefined) return [];
  const at = `/metadata/widgets/${WIDGET_STATE_MIME.replace(/\//g, "~1")}`;
  if (widgets === null || typeof widgets !== "object" || !(WIDGET_STATE_MIME in widgets)) return [`/metadata/widgets: must hold ${WIDGET_STATE_MIME}`];
  if (!widgetStateCheck) {
    const { $schema: _draft07, ...schema } = widgetStateJson as Record<string, unknown>;
    widgetStateCheck = new Ajv({ allErrors: true, strict: false }).compile(schema);
  }
  const state = widgets[WIDGET_STATE_MIME];
  if (widgetStateCheck(state)) return [];
  return (widgetStateCheck.errors ?? []).map((e) => format(e, state, at));
}

/** Throws `NotebookValidationError` naming `file` unless `nb` is valid. */
export function assertValidNotebook(nb: unknown, file: string): void {
  const problems = validateNotebook(nb);
  if (problems.length > 0) throw new NotebookValidationError(file, problems);
}

// Cells and outputs are `oneOf` unions in the schema, so a single wrong field makes ajv report
// the failure of every branch ("must have required property 'ename'" for a stream, ...). To name
// the field that is actually wrong, each failing cell and output is validated again against the
// one definition its own `cell_type` / `output_type` selects.
const CELL_TYPES = ["code", "markdown", "raw"];
const OUTPUT_TYPES = ["execute_result", "display_data", "stream", "error"];

function describe(errors: ErrorObject[], nb: unknown): string[] {
  const lines: string[] = [];
  const badCells = new Set<number>();
  for (const e of errors) {
    const m = /^\/cells\/(\d+)/.exec(e.instancePath);
    if (m) badCells.add(Number(m[1]));
    else if (e.keyword !== "oneOf") lines.push(format(e, nb, ""));
  }
  const cells = (nb as { cells: unknown[] }).cells;
  for (const i of badCells) {
    const at = `/cells/${i}`;
    if (cells[i] === null || typeof cells[i] !== "object" || Array.isArray(cells[i])) {
      lines.push(`${at}: must be object, found ${short(cells[i])}`);
      continue;
    }
    const cell = cells[i] as Record<string, unknown>;
    if (!CELL_TYPES.includes(cell.cell_type as string)) {
      lines.push(`${at}/cell_type: must be one of ${JSON.stringify(CELL_TYPES)}, found ${short(cell.cell_type)}`);
      continue;
    }
    const check = schemaFor(`${cell.cell_type}_cell`);
    if ((check as (data: unknown) => boolean)(cell)) continue;
    const badOutputs = new Set<number>();
    for (const e of check.errors ?? []) {
      const m = /^\/outputs\/(\d+)/.exec(e.instancePath);
      if (m) badOutputs.add(Number(m[1]));
      else if (e.keyword !== "oneOf") lines.push(format(e, cell, at));
    }
    const outputs = cell.outputs as unknown[];
    for (const j of badOutputs) {
      const out = outputs[j] as Record<string, unknown> | null;
      const oat = `${at}/outputs/${j}`;
      const outputType = out !== null && typeof out === "object" ? out.output_type : undefined;
      if (!out || !OUTPUT_TYPES.includes(outputType as string)) {
        lines.push(`${oat}/output_type: must be one of ${JSON.stringify(OUTPUT_TYPES)}, found ${short(outputType)}`);
        continue;
      }
      const checkOut = schemaFor(out.output_type as string);
      if ((checkOut as (data: unknown) => boolean)(out)) continue;
      for (const e of checkOut.errors ?? []) lines.push(format(e, out, oat));
    }
  }
  return [...new Set(lines)];
}

function format(e: ErrorObject, root: unknown, prefix: string): string {
  const where = prefix + e.instancePath || "(root)";
  let what = e.message ?? e.keyword;
  if (e.keyword === "additionalProperties") what += ` '${String(e.params.additionalProperty)}'`;
  if (e.keyword === "enum") what += ` ${JSON.stringify(e.params.allowedValues)}`;
  if (e.keyword === "type" || e.keyword === "enum" || e.keyword === "pattern" || e.keyword === "minimum") {
    what += `, found ${short(valueAt(root, e.instancePath))}`;
  }
  return `${where}: ${what}`;
}

function valueAt(root: unknown, pointer: string): unknown {
  if (pointer === "") return root;
  let cur: unknown = root;
  for (const raw of pointer.slice(1).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function short(v: unknown): string {
  if (v === undefined) return "nothing";
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? s.slice(0, 57) + "..." : s;
}
