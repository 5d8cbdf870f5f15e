/**
 * Reading and writing notebooks: parse with clear errors, normalise to nbformat 4.5 in memory
 * (joined strings, cell ids), and write Jupyter's on-disk form atomically after schema validation.
 */
import * as fs from "node:fs";
import { randomUUID } from "node:crypto";
import { writeFileAtomicSync } from "../atomic-write";
import { assertValidNotebook } from "./validate";
import {
  type Cell,
  type NbMimeBundle,
  type Notebook,
  type Output,
  isJsonMime,
  joinText,
  splitLines,
} from "./types";

/** The minor version the runner writes (cell ids are required from 4.5). */
export const NBFORMAT_MINOR = 5;

/** Thrown for a file that is not a notebook the runner can read. */
export class NotebookReadError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = "NotebookReadError";
  }
}

/** Reads and normalises a notebook file (see `parseNotebook`). */
export function readNotebook(file: string): Notebook {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new NotebookReadError(file, `cannot read: ${(err as Error).message}`);
  }
  return parseNotebook(text, file);
}

/**
 * Parses notebook JSON into the in-memory form: nbformat 4, multiline strings joined, every cell
 * with an id and metadata (upgrading 4.0–4.4 files to 4.5 as nbformat's reader does).
 */
export function parseNotebook(text: string, file = "<notebook>"): Notebook {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new NotebookReadError(file, `not JSON: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new NotebookReadError(file, `expected a JSON object (a notebook), found ${Array.isArray(raw) ? "an array" : typeof raw}`);
  }
  const nb = raw as Record<string, unknown>;
  if (nb.nbformat !== 4) {
    throw new NotebookReadError(file, `expected nbformat 4, found nbformat ${JSON.stringify(nb.nbformat)}`);
  }
  if (!Array.isArray(nb.cells)) {
    throw new NotebookReadError(file, `expected "cells" to be an array, found ${typeof nb.cells}`);
  }
  const ids = new Set<string>();
  const cells = (nb.cells as unknown[]).map((c, i) => normaliseCell(c, i, ids, file));
  return {
    nbformat: 4,
    nbformat_minor: Math.max(typeof nb.nbformat_minor === "number" ? nb.nbformat_minor : 0, NBFORMAT_MINOR),
    metadata: (nb.metadata && typeof nb.metadata === "object" ? nb.metadata : {}) as Notebook["metadata"],
    cells,
  };
}

function normaliseCell(c: unknown, index: number, ids: Set<string>, file: string): Cell {
  if (c === null || typeof c !== "object") {
    throw new NotebookReadError(file, `cell ${index + 1}: expected an object, found ${JSON.stringify(c)}`);
  }
  const type = (c as { cell_type?: unknown }).cell_type;
  if (type !== "code" && type !== "markdown" && type !== "raw") {
    throw new NotebookReadError(file, `cell ${index + 1}: expected cell_type code, markdown or raw, found ${JSON.stringify(type)}`);
  }
  const cell = { ...(c as Record<string, unknown>) } as unknown as Cell;
  cell.source = joinText(cell.source);
  cell.metadata = cell.metadata && typeof cell.metadata === "object" ? cell.metadata : {};
  // Cell ids: keep valid unique ones, make new ones otherwise (nbformat's 4.5 upgrade does the same).
  let id = typeof cell.id === "string" && /^[a-zA-Z0-9-_]{1,64}$/.test(cell.id) && !ids.has(cell.id) ? cell.id : undefined;
  while (!id || ids.has(id)) id = randomUUID().replace(/-/g, "").slice(0, 8);
  ids.add(id);
  cell.id = id;
  if (cell.cell_type === "code") {
    cell.outputs = Array.isArray(cell.outputs) ? cell.outputs.map(normaliseOutput) : [];
    if (cell.execution_count === undefined) cell.execution_count = null;
  } else if (cell.attachments) {
    for (const bundle of Object.values(cell.attachments)) joinBundle(bundle);
  }
  return cell;
}

function normaliseOutput(o: Output): Output {
  const out = { ...o } as Output;
  if (out.output_type === "stream") out.text = joinText(out.text);
  else if (out.output_type === "display_data" || out.output_type === "execute_result") {
    out.data = joinBundle({ ...(out.data ?? {}) });
    out.metadata = out.metadata ?? {};
  }
  return out;
}

function joinBundle(bundle: NbMimeBundle): NbMimeBundle {
  for (const [mime, value] of Object.entries(bundle)) {
    if (!isJsonMime(mime) && Array.isArray(value) && value.every((l) => typeof l === "string")) {
      bundle[mime] = value.join("");
    }
  }
  return bundle;
}

/**
 * The notebook as Jupyter writes it: text split into lines (source, streams, text/* and SVG data),
 * JSON MIME data left as values, runtime-only fields (`transient`) dropped.
 */
export function toDiskForm(nb: Notebook): Notebook {
  return {
    nbformat: 4,
    nbformat_minor: nb.nbformat_minor,
    metadata: nb.metadata,
    cells: nb.cells.map((cell) => {
      const c = { ...cell, source: splitLines(joinText(cell.source)) } as Cell;
      if (c.cell_type === "code") {
        c.outputs = c.outputs.map((o) => {
          if (o.output_type === "stream") return { ...o, text: splitLines(joinText(o.text)) };
          if (o.output_type === "display_data" || o.output_type === "execute_result") {
            const { transient: _runtimeOnly, ...rest } = o;
            return { ...rest, data: splitBundle(o.data) };
          }
          return o;
        });
      } else if (c.attachments) {
        c.attachments = Object.fromEntries(Object.entries(c.attachments).map(([k, b]) => [k, splitBundle(b)]));
      }
      return c;
    }),
  };
}

function splitBundle(bundle: NbMimeBundle): NbMimeBundle {
  const out: NbMimeBundle = {};
  for (const [mime, value] of Object.entries(bundle)) {
    out[mime] =
      typeof value === "string" && (mime.startsWith("text/") || mime === "image/svg+xml" || mime === "application/javascript")
        ? splitLines(value)
        : value;
  }
  return out;
}

/** The notebook's file text: Jupyter's layout (one-space indent, sorted keys, trailing newline). */
export function serializeNotebook(nb: Notebook): string {
  return JSON.stringify(sortKeys(toDiskForm(nb)), null, 1) + "\n";
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/**
 * Validates `nb` against the official nbformat v4 schema and writes it atomically to `file`.
 * Throws `NotebookValidationError` (nothing written) or `AtomicWriteError` (previous file kept).
 */
export function writeNotebook(file: string, nb: Notebook): void {
  const text = serializeNotebook(nb);
  assertValidNotebook(JSON.parse(text), file);
  writeFileAtomicSync(file, text);
}
