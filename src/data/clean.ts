/**
 * Cleaning tabular data (§3.2 step 1: "remove noise and outliers"). Each function keeps the rows
 * that pass and returns, for every row it removed, its index, the row and the reason, so that a
 * notebook can show what went and why. Rows are arrays of numbers or records (objects); only the
 * numeric columns are examined for non-finite values and outliers.
 */
import { JUPYTER_DISPLAY, escapeHtml, type Displayable, type MimeBundle } from "../display";
import { DataError } from "./errors";

/** A table row: an array of numbers or a record. */
export type Row = readonly unknown[] | Readonly<Record<string, unknown>>;

/** A column: an index for array rows, a key for records. */
export type Column = number | string;

/** One removed row. */
export interface Removed<R> {
  /** Its index in the input (in the original table, for `clean`). */
  index: number;
  row: R;
  /** Why, in words: "NaN in column 'age'", "duplicate of row 3", "column 1 = 95: z = 3.6, |z| > 3". */
  reason: string;
  /** Which cleaning step removed it. */
  step: "non-finite" | "duplicate" | "outlier";
}

/** What a cleaning step kept and what it removed; renders itself as a table of the removed rows. Introduced in notebook 04. */
export class CleanResult<R extends Row> implements Displayable {
  constructor(
    /** The rows kept, in their original order. */
    readonly kept: R[],
    /** The input index of each kept row. */
    readonly keptIndices: number[],
    /** The rows removed, in input order, with the reason. */
    readonly removed: Removed<R>[],
  ) {}

  /** The number of input rows. */
  get total(): number {
    return this.kept.length + this.removed.length;
  }

  toString(): string {
    const head = `kept ${this.kept.length} of ${this.total} rows, removed ${this.removed.length}`;
    if (this.removed.length === 0) return head;
    const lines = this.removed.slice(0, 20).map((r) => `  row ${r.index}: ${formatRow(r.row)}: ${r.reason}`);
    if (this.removed.length > 20) lines.push(`  … and ${this.removed.length - 20} more`);
    return `${head}:\n${lines.join("\n")}`;
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    const rows = this.removed
      .slice(0, 50)
      .map((r) => `<tr><td>${r.index}</td><td><code>${escapeHtml(formatRow(r.row))}</code></td><td>${escapeHtml(r.reason)}</td></tr>`)
      .join("");
    const more = this.removed.length > 50 ? `<tr><td colspan="3">… and ${this.removed.length - 50} more</td></tr>` : "";
    const html =
      `<div class="tsdl-clean"><div>kept ${this.kept.length} of ${this.total} rows, removed ${this.removed.length}</div>` +
      (this.removed.length
        ? `<table><thead><tr><th>row</th><th>values</th><th>reason</th></tr></thead><tbody>${rows}${more}</tbody></table>`
        : "") +
      `</div>`;
    return { "text/html": html, "text/plain": this.toString() };
  }
}

function formatValue(v: unknown): string {
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (v === undefined) return "undefined";
  return JSON.stringify(v) ?? String(v);
}

function formatRow(row: Row): string {
  if (Array.isArray(row)) return `[${row.map(formatValue).join(", ")}]`;
  return `{ ${Object.entries(row).map(([k, v]) => `${k}: ${formatValue(v)}`).join(", ")} }`;
}

function columnName(c: Column): string {
  return typeof c === "number" ? `column ${c}` : `column '${c}'`;
}

function get(row: Row, c: Column): unknown {
  return (row as Record<string | number, unknown>)[c];
}

/** The columns to examine: the given ones, or every index / key seen in the rows. */
function columnsOf(rows: readonly Row[], given: readonly Column[] | undefined, fn: string): Column[] {
  if (!Array.isArray(rows)) throw new DataError("BAD_ARGUMENT", `${fn}: expected an array of rows, found ${typeof rows}`);
  if (given) return [...given];
  if (rows.length === 0) return [];
  if (Array.isArray(rows[0])) {
    const width = Math.max(...rows.map((r) => (Array.isArray(r) ? r.length : 0)));
    return Array.from({ length: width }, (_, i) => i);
  }
  const keys = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) keys.add(k);
  return [...keys];
}

function result<R extends Row>(rows: readonly R[], removed: Removed<R>[]): CleanResult<R> {
  const gone = new Set(removed.map((r) => r.index));
  const kept: R[] = [];
  const keptIndices: number[] = [];
  rows.forEach((row, i) => {
    if (!gone.has(i)) {
      kept.push(row);
      keptIndices.push(i);
    }
  });
  return new CleanResult(kept, keptIndices, removed);
}

/** Options naming the columns to examine (default: all). */
export interface ColumnOptions {
  columns?: readonly Column[];
}

/**
 * Drop rows with NaN, ±Infinity or a missing value (null, undefined, absent) in any examined
 * column. Introduced in notebook 04.
 */
export function dropNonFinite<R extends Row>(rows: readonly R[], options: ColumnOptions = {}): CleanResult<R> {
  const columns = columnsOf(rows, options.columns, "dropNonFinite");
  const removed: Removed<R>[] = [];
  rows.forEach((row, index) => {
    const problems: string[] = [];
    for (const c of columns) {
      const v = get(row, c);
      if (v === null || v === undefined) problems.push(`missing value in ${columnName(c)}`);
      else if (typeof v === "number" && !Number.isFinite(v)) problems.push(`${v} in ${columnName(c)}`);
    }
    if (problems.length) removed.push({ index, row, reason: problems.join("; "), step: "non-finite" });
  });
  return result(rows, removed);
}

function key(row: Row, columns: Column[]): string {
  // Numbers by value (0 and -0 alike, NaN equal to NaN), everything else by its JSON.
  return columns.map((c) => {
    const v = get(row, c);
    return typeof v === "number" ? `n${v === 0 ? 0 : v}` : `j${JSON.stringify(v) ?? "u"}`;
  }).join("\u0000");
}

/** Drop rows equal, value for value, to an earlier row (the first one is kept). Introduced in notebook 04. */
export function dropDuplicates<R extends Row>(rows: readonly R[], options: ColumnOptions = {}): CleanResult<R> {
  const columns = columnsOf(rows, options.columns, "dropDuplicates");
  const first = new Map<string, number>();
  const removed: Removed<R>[] = [];
  rows.forEach((row, index) => {
    const k = key(row, columns);
    const earlier = first.get(k);
    if (earlier === undefined) first.set(k, index);
    else removed.push({ index, row, reason: `duplicate of row ${earlier}`, step: "duplicate" });
  });
  return result(rows, removed);
}

/** Options of `dropOutliers`. */
export interface OutlierOptions extends ColumnOptions {
  /** "zscore": |x − mean|/std > threshold (default 3); "iqr": outside [Q1 − k·IQR, Q3 + k·IQR] (k default 1.5). */
  method?: "zscore" | "iqr";
  /** The z limit, or the IQR multiplier k. */
  threshold?: number;
}

/** The q-quantile of sorted values, interpolating linearly between order statistics (NumPy's default). Introduced in notebook 04. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

const round = (v: number) => +v.toPrecision(4);

/**
 * Drop rows with a value far from the rest of its column, by z-score (population std) or by the
 * IQR fences; each reason gives the value and the limit it crossed. Introduced in notebook 04.
 */
export function dropOutliers<R extends Row>(rows: readonly R[], options: OutlierOptions = {}): CleanResult<R> {
  const method = options.method ?? "zscore";
  if (method !== "zscore" && method !== "iqr") {
    throw new DataError("BAD_ARGUMENT", `dropOutliers: method must be "zscore" or "iqr", found ${JSON.stringify(method)}`);
  }
  const threshold = options.threshold ?? (method === "zscore" ? 3 : 1.5);
  if (!(Number.isFinite(threshold) && threshold > 0)) {
    throw new DataError("BAD_ARGUMENT", `dropOutliers: threshold must be a positive number, found ${threshold}`);
  }
  const columns = columnsOf(rows, options.columns, "dropOutliers");
  const reasons = new Map<number, string[]>();
  const flag = (i: number, why: string) => {
    if (!reasons.has(i)) reasons.set(i, []);
    reasons.get(i)!.push(why);
  };
  for (const c of columns) {
    // Statistics over the finite numbers of the column; other values are left to dropNonFinite.
    const values: { i: number; v: number }[] = [];
    rows.forEach((row, i) => {
      const v = get(row, c);
      if (typeof v === "number" && Number.isFinite(v)) values.push({ i, v });
    });
    if (values.length < 2) continue;
    if (method === "zscore") {
      const mean = values.reduce((a, b) => a + b.v, 0) / values.length;
      const std = Math.sqrt(values.reduce((a, b) => a + (b.v - mean) ** 2, 0) / values.length);
      if (std === 0) continue;
      for (const { i, v } of values) {
        const z = (v - mean) / std;
        if (Math.abs(z) > threshold) flag(i, `${columnName(c)} = ${v}: z = ${round(z)}, |z| > ${threshold} (mean ${round(mean)}, std ${round(std)})`);
      }
    } else {
      const sorted = values.map((x) => x.v).sort((a, b) => a - b);
      const q1 = quantile(sorted, 0.25);
      const q3 = quantile(sorted, 0.75);
      const lo = q1 - threshold * (q3 - q1);
      const hi = q3 + threshold * (q3 - q1);
      for (const { i, v } of values) {
        if (v < lo || v > hi) {
          flag(i, `${columnName(c)} = ${v}: ${v < lo ? `below the IQR fence ${round(lo)}` : `above the IQR fence ${round(hi)}`} (Q1 ${round(q1)}, Q3 ${round(q3)}, k ${threshold})`);
        }
      }
    }
  }
  const removed: Removed<R>[] = [...reasons.keys()]
    .sort((a, b) => a - b)
    .map((index) => ({ index, row: rows[index], reason: reasons.get(index)!.join("; "), step: "outlier" as const }));
  return result(rows, removed);
}

/** Options of `clean`: which steps run (all three by default), in the order listed. */
export interface CleanOptions extends ColumnOptions {
  nonFinite?: boolean;
  duplicates?: boolean;
  /** Outlier removal options, or false to skip it. */
  outliers?: OutlierOptions | false;
}

/**
 * Run dropNonFinite, dropDuplicates and dropOutliers in turn; removed rows keep their indices in
 * the original table. Introduced in notebook 04.
 */
export function clean<R extends Row>(rows: readonly R[], options: CleanOptions = {}): CleanResult<R> {
  let current = new CleanResult<R>([...rows], rows.map((_, i) => i), []);
  const steps: ((rs: readonly R[]) => CleanResult<R>)[] = [];
  const cols = { columns: options.columns };
  if (options.nonFinite ?? true) steps.push((rs) => dropNonFinite(rs, cols));
  if (options.duplicates ?? true) steps.push((rs) => dropDuplicates(rs, cols));
  if (options.outliers !== false) steps.push((rs) => dropOutliers(rs, { ...cols, ...(options.outliers ?? {}) }));
  for (const step of steps) {
    const r = step(current.kept);
    const map = current.keptIndices;
    // Re-number into the original table (reasons like "duplicate of row 3" too).
    const removed = r.removed.map((x) => ({ ...x, index: map[x.index], reason: x.reason.replace(/duplicate of row (\d+)/, (_, j) => `duplicate of row ${map[Number(j)]}`) }));
    current = new CleanResult(r.kept, r.keptIndices.map((i) => map[i]), [...current.removed, ...removed].sort((a, b) => a.index - b.index));
  }
  return current;
}
