/**
 * Tables that render themselves: aligned plain text for terminals and `text/plain`, an HTML table
 * for notebooks and reports. Used by the model summary, the training history and the per-class
 * precision/recall report.
 */
import { JUPYTER_DISPLAY, escapeHtml, type Displayable, type MimeBundle } from "../display";

/** A cell: text, a number (right-aligned, formatted by the column's `format`), or empty. */
export type Cell = string | number | null | undefined;

/** One column of a table. */
export interface Column {
  /** The header. */
  title: string;
  /** Left or right alignment; default right for numbers, left otherwise. */
  align?: "left" | "right";
  /** How numbers in this column are written; default up to 4 significant digits. */
  format?: (v: number) => string;
}

/** Options of `table`. */
export interface TableOptions {
  title?: string;
  /** Lines after the table (totals, notes), shown in both text and HTML. */
  footer?: string[];
}

/** A number in up to 4 significant digits, integers with thousands separators. Introduced in notebook 05. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return v.toLocaleString("en-US");
  return String(Number(v.toPrecision(4)));
}

/** A table of rows that renders itself as text and HTML. Introduced in notebook 05. */
export class Table implements Displayable {
  readonly columns: Column[];
  constructor(columns: (Column | string)[], readonly rows: Cell[][], readonly options: TableOptions = {}) {
    this.columns = columns.map((c) => (typeof c === "string" ? { title: c } : c));
    rows.forEach((r, i) => {
      if (r.length !== this.columns.length) {
        throw new Error(`plot.table: row ${i} has ${r.length} cells, expected ${this.columns.length} (one per column: ${this.columns.map((c) => c.title).join(", ")})`);
      }
    });
  }

  private cell(v: Cell, c: Column): string {
    if (v === null || v === undefined) return "";
    if (typeof v === "number") return (c.format ?? formatNumber)(v);
    return v;
  }

  private alignOf(k: number): "left" | "right" {
    const c = this.columns[k];
    if (c.align) return c.align;
    return this.rows.length > 0 && this.rows.every((r) => typeof r[k] === "number" || r[k] == null) ? "right" : "left";
  }

  /** The cells as strings, formatted. */
  strings(): string[][] {
    return this.rows.map((r) => r.map((v, k) => this.cell(v, this.columns[k])));
  }

  /** Aligned columns of text under a header and a rule. */
  toText(): string {
    const cells = this.strings();
    const widths = this.columns.map((c, k) => Math.max(c.title.length, ...cells.map((r) => r[k].length)));
    const pad = (s: string, k: number) => (this.alignOf(k) === "right" ? s.padStart(widths[k]) : s.padEnd(widths[k]));
    const lines = [
      this.columns.map((c, k) => pad(c.title, k)).join("  ").trimEnd(),
      widths.map((w) => "─".repeat(w)).join("  "),
      ...cells.map((r) => r.map((s, k) => pad(s, k)).join("  ").trimEnd()),
    ];
    return [this.options.title, ...lines, ...(this.options.footer ?? [])].filter((l) => l !== undefined).join("\n");
  }

  /** An HTML table; every value is escaped. */
  toHtml(): string {
    const th = this.columns
      .map((c, k) => `<th style="text-align:${this.alignOf(k)};padding:2px 8px">${escapeHtml(c.title)}</th>`)
      .join("");
    const body = this.strings()
      .map((r) => `<tr>${r.map((s, k) => `<td style="text-align:${this.alignOf(k)};padding:2px 8px;font-variant-numeric:tabular-nums">${escapeHtml(s)}</td>`).join("")}</tr>`)
      .join("");
    const caption = this.options.title ? `<caption style="text-align:left;font-weight:bold">${escapeHtml(this.options.title)}</caption>` : "";
    const foot = (this.options.footer ?? []).map((l) => `<div>${escapeHtml(l)}</div>`).join("");
    return `<div class="tsdl-table"><table style="border-collapse:collapse;font:13px sans-serif">${caption}<thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>${foot ? `<div style="font:13px sans-serif">${foot}</div>` : ""}</div>`;
  }

  /** The same text as its `text/plain` (so `String(x)` and a template literal print it). */
  toString(): string {
    return this.toText();
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    return { "text/html": this.toHtml(), "text/plain": this.toText() };
  }
}

/**
 * A table from column names and rows of cells: `plot.table(["class", "precision"], [["0", 0.98]])`.
 * Introduced in notebook 05 (the model summary and per-class precision and recall).
 */
export function table(columns: (Column | string)[], rows: Cell[][], options: TableOptions = {}): Table {
  return new Table(columns, rows, options);
}
