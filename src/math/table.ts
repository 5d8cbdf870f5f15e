/**
 * A small table that renders itself: aligned text in a terminal, an HTML table in a notebook.
 * Used by the perceptron trace and the gradient check.
 */
import { JUPYTER_DISPLAY, escapeHtml, type Displayable, type MimeBundle } from "../display";

export type Cell = string | number | boolean;

/** Format a number with `digits` significant digits; integers stay integers. */
export function fmtNum(v: number, digits = 6): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e6)) return v.toExponential(Math.max(0, digits - 1)).replace(/\.?0+e/, "e");
  return String(Number(v.toPrecision(digits)));
}

/** A table of numbers and words that renders itself (text and HTML). Introduced in notebook 02-loss-and-backprop. */
export class Table implements Displayable {
  constructor(
    readonly columns: string[],
    readonly rows: Cell[][],
    readonly options: { title?: string; note?: string; digits?: number } = {},
  ) {
    rows.forEach((r, i) => {
      if (r.length !== columns.length) {
        throw new Error(`Table: row ${i} has ${r.length} cells, expected ${columns.length} (one per column)`);
      }
    });
  }

  private cell(c: Cell): string {
    return typeof c === "number" ? fmtNum(c, this.options.digits ?? 6) : String(c);
  }

  /** Aligned plain text: numbers right-aligned, words left-aligned. */
  toText(): string {
    const cells = this.rows.map((r) => r.map((c) => this.cell(c)));
    const widths = this.columns.map((h, j) => Math.max(h.length, ...cells.map((r) => r[j].length)));
    const pad = (s: string, j: number, numeric: boolean): string =>
      numeric ? s.padStart(widths[j]) : s.padEnd(widths[j]);
    const numericCol = this.columns.map((_, j) => this.rows.every((r) => typeof r[j] === "number"));
    const lines = [
      this.columns.map((h, j) => pad(h, j, numericCol[j])).join("  "),
      widths.map((w) => "-".repeat(w)).join("  "),
      ...cells.map((r) => r.map((c, j) => pad(c, j, numericCol[j])).join("  ")),
    ];
    const out = [this.options.title, ...lines.map((l) => l.trimEnd()), this.options.note].filter((s) => s);
    return out.join("\n");
  }

  /** An HTML table; every value is escaped. */
  toHtml(): string {
    const th = this.columns.map((h) => `<th style="text-align:right;padding:2px 8px">${escapeHtml(h)}</th>`).join("");
    const body = this.rows
      .map((r) => {
        const tds = r
          .map((c) => {
            const align = typeof c === "number" ? "right" : "left";
            return `<td style="text-align:${align};padding:2px 8px;font-family:monospace">${escapeHtml(this.cell(c))}</td>`;
          })
          .join("");
        return `<tr>${tds}</tr>`;
      })
      .join("\n");
    const title = this.options.title ? `<caption style="caption-side:top;font-weight:bold;text-align:left">${escapeHtml(this.options.title)}</caption>` : "";
    const note = this.options.note ? `\n<p style="margin:4px 0">${escapeHtml(this.options.note)}</p>` : "";
    return `<table class="tsdl-table" style="border-collapse:collapse">${title}<thead><tr>${th}</tr></thead>\n<tbody>\n${body}\n</tbody></table>${note}`;
  }

  /** The same text as its `text/plain` (so `String(x)` and a template literal print it). */
  toString(): string {
    return this.toText();
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    return { "text/html": this.toHtml(), "text/plain": this.toText() };
  }
}
