/**
 * Plain-array helpers for the from-scratch (float64) half of src/math: shapes, checks with clear
 * errors, and the few matrix operations back-propagation needs. Internal to src/math (not part of
 * `dl.math`), so these carry no notebook names.
 */

export type Vector = number[];
export type Matrix = number[][];
/** A scalar, a vector or a matrix of plain numbers. */
export type Shaped = number | Vector | Matrix;

/** The shape of a scalar, vector or matrix, checking that a matrix is rectangular. */
export function shapeOf(x: unknown, what = "value"): number[] {
  if (typeof x === "number") return [];
  if (!Array.isArray(x)) throw new Error(`${what}: expected a number, number[] or number[][], found ${describe(x)}`);
  if (x.length === 0 || typeof x[0] === "number") {
    x.forEach((v, i) => {
      if (typeof v !== "number") throw new Error(`${what}: expected a number at [${i}], found ${describe(v)}`);
    });
    return [x.length];
  }
  const cols = (x[0] as unknown[]).length;
  x.forEach((row, i) => {
    if (!Array.isArray(row)) throw new Error(`${what}: expected row ${i} to be a number[], found ${describe(row)}`);
    if (row.length !== cols) throw new Error(`${what}: row ${i} has ${row.length} values, expected ${cols} like row 0`);
    row.forEach((v, j) => {
      if (typeof v !== "number") throw new Error(`${what}: expected a number at [${i}][${j}], found ${describe(v)}`);
    });
  });
  return [x.length, cols];
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  if (typeof v === "object" && v && "shape" in v) return `a tensor of shape [${(v as { shape: number[] }).shape}]`;
  return typeof v === "number" ? String(v) : typeof v;
}

/** `[2,3]` → "[2,3]". */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

/** Throw unless `a` and `b` have the same shape; returns it. */
export function sameShape(a: unknown, b: unknown, where: string, names: [string, string]): number[] {
  const sa = shapeOf(a, `${where}: ${names[0]}`);
  const sb = shapeOf(b, `${where}: ${names[1]}`);
  if (sa.length !== sb.length || sa.some((d, i) => d !== sb[i])) {
    throw new Error(`${where}: ${names[0]} has shape ${fmtShape(sa)} and ${names[1]} has shape ${fmtShape(sb)}; expected equal shapes`);
  }
  return sa;
}

/** All numbers of a scalar, vector or matrix, row by row. */
export function flat(x: Shaped): number[] {
  if (typeof x === "number") return [x];
  return (x as (number | number[])[]).flatMap((v) => (typeof v === "number" ? [v] : v));
}

/** Rebuild a value of `shape` from flat numbers (inverse of `flat`). */
export function unflat(values: ArrayLike<number>, shape: readonly number[]): Shaped {
  const v = Array.from(values);
  if (shape.length === 0) return v[0];
  if (shape.length === 1) return v;
  return Array.from({ length: shape[0] }, (_, i) => v.slice(i * shape[1], (i + 1) * shape[1]));
}

/** Matrix product, checking inner dimensions. */
export function matmul(a: Matrix, b: Matrix, where = "matmul"): Matrix {
  const [n, k] = shapeOf(a, `${where}: left`);
  const [k2, m] = shapeOf(b, `${where}: right`);
  if (k !== k2) throw new Error(`${where}: cannot multiply [${n},${k}] by [${k2},${m}]; inner dimensions differ`);
  const out: Matrix = Array.from({ length: n }, () => new Array<number>(m).fill(0));
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < k; p++) {
      const aip = a[i][p];
      if (aip === 0) continue;
      const row = b[p];
      const o = out[i];
      for (let j = 0; j < m; j++) o[j] += aip * row[j];
    }
  }
  return out;
}

/** The transpose. */
export function transpose(a: Matrix): Matrix {
  const rows = a.length;
  const cols = rows ? a[0].length : 0;
  return Array.from({ length: cols }, (_, j) => Array.from({ length: rows }, (_, i) => a[i][j]));
}

/** Elementwise map of two same-shape matrices. */
export function zip(a: Matrix, b: Matrix, f: (x: number, y: number) => number): Matrix {
  return a.map((row, i) => row.map((v, j) => f(v, b[i][j])));
}

/** Elementwise map of a matrix. */
export function mapM(a: Matrix, f: (x: number, i: number, j: number) => number): Matrix {
  return a.map((row, i) => row.map((v, j) => f(v, i, j)));
}

/** Add a column vector `b` (length = rows) to every column of `a`. */
export function addColumn(a: Matrix, b: Vector): Matrix {
  return a.map((row, i) => row.map((v) => v + b[i]));
}

/** Sum each row: a column vector. */
export function rowSums(a: Matrix): Vector {
  return a.map((row) => row.reduce((s, v) => s + v, 0));
}
