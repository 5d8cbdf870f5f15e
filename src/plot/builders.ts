/**
 * Figure builders: line charts, scatter plots, heatmaps, histograms, 2-D decision boundaries and
 * subplots. Each returns a `Figure` that renders itself (plotly JSON, static SVG, text summary).
 */
import { Figure, type Layout, type Trace } from "./figure";
import { COLORWAY } from "./svg";

/** Axis and size options shared by the builders. */
export interface AxesOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  xRange?: [number, number];
  yRange?: [number, number];
  /** Logarithmic y axis (plotly only; the static SVG stays linear). */
  logY?: boolean;
  /** Logarithmic x axis, e.g. for learning rates (plotly only; the static SVG stays linear). Introduced in notebook 06. */
  logX?: boolean;
}

/** One line of a line chart. */
export interface Series {
  name?: string;
  y: ArrayLike<number>;
  x?: ArrayLike<number> | string[];
  color?: string;
  dash?: "solid" | "dash" | "dot";
  mode?: Trace["mode"];
}

/** A copy without the keys whose value is undefined, so the plotly JSON is exactly what is sent. */
function compact<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function baseLayout(o: AxesOptions): Layout {
  const layout: Layout = {
    margin: { l: 60, r: 20, t: o.title ? 50 : 20, b: 50 },
    xaxis: compact({ title: o.xLabel ? { text: o.xLabel } : undefined, range: o.xRange, type: o.logX ? "log" : undefined }),
    yaxis: compact({ title: o.yLabel ? { text: o.yLabel } : undefined, range: o.yRange, type: o.logY ? "log" : undefined }),
  };
  if (o.title) layout.title = { text: o.title };
  if (o.width) layout.width = o.width;
  if (o.height) layout.height = o.height;
  return layout;
}

function arr(a: ArrayLike<number>): number[] {
  return Array.from(a, Number);
}

/**
 * The smallest and largest of the finite values, by a loop: `Math.min(...values)` passes every value
 * as an argument and overflows the call stack past ~120,000 of them (the pixels of 200 MNIST images).
 */
function extent(values: ArrayLike<number>): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

/**
 * The finite values, as numbers, in one typed array: a histogram of the pixels of 2,000 MNIST
 * images (1.6 M values) took 1.7 s through `Array.from(values, Number)` copies and `filter`.
 */
function finiteValues(values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = Number(values[i]);
    if (Number.isFinite(v)) out[n++] = v;
  }
  return out.subarray(0, n);
}

function stats(values: ArrayLike<number>): { n: number; min: number; max: number; mean: number; std: number } {
  return finiteStats(finiteValues(values));
}

function finiteStats(finite: Float64Array): { n: number; min: number; max: number; mean: number; std: number } {
  const n = finite.length;
  // Sums in order, as a reduce from 0 would: the same digits.
  let sum = 0;
  for (let i = 0; i < n; i++) sum += finite[i];
  const mean = n ? sum / n : NaN;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (finite[i] - mean) ** 2;
  const std = n ? Math.sqrt(squares / n) : NaN;
  const [min, max] = extent(finite);
  return { n, min, max, mean, std };
}

/** A number in 4 significant digits. */
export function fmt(v: number): string {
  return Number.isFinite(v) ? String(Number(v.toPrecision(4))) : String(v);
}

/**
 * A line chart of one or more series: `plot.line({ loss: [...], val_loss: [...] }, { xLabel: "epoch" })`.
 * Introduced in notebook 01.
 */
export function line(series: Series[] | Record<string, ArrayLike<number>>, options: AxesOptions = {}): Figure {
  const list: Series[] = Array.isArray(series)
    ? series
    : Object.entries(series).map(([name, y]) => ({ name, y }));
  if (list.length === 0) throw new Error("plot.line: expected at least one series, found none");
  const data: Trace[] = list.map((s, i) => {
    const y = arr(s.y);
    const x = s.x ? (Array.isArray(s.x) && typeof s.x[0] === "string" ? (s.x as string[]) : arr(s.x as ArrayLike<number>)) : y.map((_, k) => k);
    if (x.length !== y.length) {
      throw new Error(`plot.line: series ${s.name ?? i} has ${x.length} x values and ${y.length} y values; expected equal lengths`);
    }
    const trace: Trace = { type: "scatter", mode: s.mode ?? "lines", name: s.name ?? `series ${i}`, x, y };
    if (s.color || s.dash) trace.line = { color: s.color, dash: s.dash };
    return trace;
  });
  const summary = data
    .map((t) => {
      const y = t.y as number[];
      if (y.length === 0) return `${t.name}: no points`;
      const st = stats(y);
      return `${t.name}: ${y.length} points, first ${fmt(y[0])}, last ${fmt(y[y.length - 1])}, min ${fmt(st.min)}, max ${fmt(st.max)}`;
    })
    .join("\n");
  return new Figure(data, baseLayout(options), summary);
}

/**
 * A scatter plot; with `labels`, one colour per class.
 * Introduced in notebook 03.
 */
export function scatter(
  points: { x: ArrayLike<number>; y: ArrayLike<number>; labels?: ArrayLike<number>; classNames?: string[] },
  options: AxesOptions = {},
): Figure {
  const x = arr(points.x);
  const y = arr(points.y);
  if (x.length !== y.length) throw new Error(`plot.scatter: ${x.length} x values and ${y.length} y values; expected equal lengths`);
  const labels = points.labels ? arr(points.labels) : x.map(() => 0);
  if (labels.length !== x.length) throw new Error(`plot.scatter: ${labels.length} labels for ${x.length} points; expected one per point`);
  const classes = [...new Set(labels)].sort((a, b) => a - b);
  const data: Trace[] = classes.map((c) => {
    const idx = labels.map((l, i) => (l === c ? i : -1)).filter((i) => i >= 0);
    return {
      type: "scatter",
      mode: "markers",
      name: points.classNames?.[c] ?? (points.labels ? `class ${c}` : "points"),
      x: idx.map((i) => x[i]),
      y: idx.map((i) => y[i]),
      marker: { size: 7 },
    };
  });
  const summary = data.map((t) => `${t.name}: ${(t.x as number[]).length} points`).join("\n");
  return new Figure(data, baseLayout(options), summary);
}

/**
 * A heatmap of a matrix (rows are y, columns are x), optionally with the value in each cell.
 * Introduced in notebook 05 (the confusion matrix).
 */
export function heatmap(
  z: ArrayLike<number>[],
  options: AxesOptions & {
    x?: (string | number)[];
    y?: (string | number)[];
    colorscale?: Trace["colorscale"];
    zmin?: number;
    zmax?: number;
    /** Write each cell's value in it (plotly `text`; shown statically for up to 400 cells). */
    showValues?: boolean;
    /** Put row 0 at the top, as a matrix is printed. */
    matrixOrder?: boolean;
  } = {},
): Figure {
  const rows = z.map(arr);
  const cols = rows[0]?.length ?? 0;
  rows.forEach((r, i) => {
    if (r.length !== cols) throw new Error(`plot.heatmap: row ${i} has ${r.length} values, expected ${cols} like row 0`);
  });
  const trace: Trace = { type: "heatmap", z: rows, colorscale: options.colorscale ?? "Viridis" };
  if (options.x) trace.x = options.x;
  if (options.y) trace.y = options.y;
  if (options.zmin !== undefined) trace.zmin = options.zmin;
  if (options.zmax !== undefined) trace.zmax = options.zmax;
  if (options.showValues) {
    trace.text = rows.map((r) => r.map((v) => fmt(v)));
    trace.texttemplate = "%{text}";
  }
  const layout = baseLayout(options);
  if (options.matrixOrder) (layout.yaxis as Record<string, unknown>).autorange = "reversed";
  const flat = rows.flat();
  const st = stats(flat);
  return new Figure([trace], layout, `${rows.length}×${cols} heatmap, values ${fmt(st.min)} to ${fmt(st.max)}`);
}

/** Bin edges and counts for a histogram. */
export function bin(values: ArrayLike<number>, bins = 30, range?: [number, number]): { edges: number[]; counts: number[] } {
  return finiteBins(finiteValues(values), bins, range);
}

function finiteBins(v: Float64Array, bins: number, range?: [number, number]): { edges: number[]; counts: number[] } {
  if (!(Number.isInteger(bins) && bins > 0)) throw new Error(`plot.histogram: bins must be a positive integer, found ${bins}`);
  const [vmin, vmax] = extent(v);
  const lo = range?.[0] ?? (v.length ? vmin : 0);
  let hi = range?.[1] ?? (v.length ? vmax : 1);
  if (hi === lo) hi = lo + 1;
  const width = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (x < lo || x > hi) continue;
    counts[Math.min(bins - 1, Math.floor((x - lo) / width))]++;
  }
  return { edges: Array.from({ length: bins + 1 }, (_, i) => lo + i * width), counts };
}

/**
 * A histogram (binned here, drawn as bars) of one or more sets of values, overlaid.
 * Introduced in notebook 04 (normalization before and after).
 */
export function histogram(
  values: ArrayLike<number> | Record<string, ArrayLike<number>>,
  options: AxesOptions & { bins?: number; range?: [number, number] } = {},
): Figure {
  const sets: [string, ArrayLike<number>][] =
    typeof (values as ArrayLike<number>).length === "number" && !isRecordOfArrays(values)
      ? [["values", values as ArrayLike<number>]]
      : Object.entries(values as Record<string, ArrayLike<number>>);
  const finite = sets.map(([, v]) => finiteValues(v));
  const range = options.range ?? finite.map((v) => extent(v)).reduce<[number, number]>((r, e) => [Math.min(r[0], e[0]), Math.max(r[1], e[1])], [Infinity, -Infinity]);
  const data: Trace[] = [];
  const lines: string[] = [];
  for (const [k, [name]] of sets.entries()) {
    const v = finite[k];
    const { edges, counts } = finiteBins(v, options.bins ?? 30, range);
    const w = edges[1] - edges[0];
    data.push({
      type: "bar",
      name,
      x: counts.map((_, i) => edges[i] + w / 2),
      y: counts,
      width: w,
      opacity: sets.length > 1 ? 0.6 : 1,
    });
    const st = finiteStats(v);
    lines.push(`${name}: n=${st.n}, mean ${fmt(st.mean)}, std ${fmt(st.std)}, min ${fmt(st.min)}, max ${fmt(st.max)}`);
  }
  const layout = baseLayout({ yLabel: "count", ...options });
  layout.barmode = "overlay";
  layout.bargap = 0;
  return new Figure(data, layout, lines.join("\n"));
}

function isRecordOfArrays(v: unknown): boolean {
  return !ArrayBuffer.isView(v) && !Array.isArray(v);
}

/**
 * Several figures side by side on one grid of axes (traces keep their names; a name shared by
 * panels appears once in the legend).
 * Introduced in notebook 05 (loss and accuracy during training).
 */
export function subplots(
  figures: Figure[],
  options: { cols?: number; title?: string; width?: number; height?: number; gap?: number } = {},
): Figure {
  if (figures.length === 0) throw new Error("plot.subplots: expected at least one figure, found none");
  const cols = Math.min(options.cols ?? figures.length, figures.length);
  const rows = Math.ceil(figures.length / cols);
  const gap = options.gap ?? 0.08;
  const data: Trace[] = [];
  const layout: Layout = { margin: { l: 60, r: 20, t: 60, b: 50 }, annotations: [] as unknown[] };
  // One colour per trace name across panels, so "train" is the same colour in every panel.
  const colors = new Map<string, string>();
  const seen = new Set<string>();
  figures.forEach((fig, k) => {
    const n = k === 0 ? "" : String(k + 1);
    const r = Math.floor(k / cols);
    const c = k % cols;
    const cw = (1 - gap * (cols - 1)) / cols;
    const rh = (1 - gap * (rows - 1)) / rows;
    const xd: [number, number] = [c * (cw + gap), c * (cw + gap) + cw];
    const yd: [number, number] = [1 - (r * (rh + gap) + rh), 1 - r * (rh + gap)];
    const src = fig.layout as Record<string, Record<string, unknown> | undefined>;
    layout[`xaxis${n}`] = { ...(src.xaxis ?? {}), domain: xd, anchor: `y${n}` };
    layout[`yaxis${n}`] = { ...(src.yaxis ?? {}), domain: yd, anchor: `x${n}` };
    for (const t of fig.data) {
      const copy: Trace = { ...t, xaxis: `x${n}`, yaxis: `y${n}` };
      if (t.name && t.type !== "heatmap") {
        if (!colors.has(t.name)) {
          const own = t.line?.color ?? (typeof t.marker?.color === "string" ? t.marker.color : undefined);
          colors.set(t.name, own ?? COLORWAY[colors.size % COLORWAY.length]);
        }
        const color = colors.get(t.name)!;
        copy.line = { ...t.line, color };
        if (t.mode?.includes("markers") || t.type === "bar") copy.marker = { ...t.marker, color };
        copy.legendgroup = t.name;
        if (seen.has(t.name)) copy.showlegend = false;
        seen.add(t.name);
      }
      data.push(copy);
    }
    const title = fig.layout.title?.text;
    if (title) {
      (layout.annotations as unknown[]).push({
        text: title, showarrow: false, xref: "paper", yref: "paper",
        x: (xd[0] + xd[1]) / 2, y: yd[1], xanchor: "center", yanchor: "bottom",
      });
    }
  });
  if (options.title) layout.title = { text: options.title };
  layout.width = options.width ?? Math.max(640, 380 * cols);
  layout.height = options.height ?? 360 * rows;
  const summary = figures.map((f) => f.toText()).join("\n");
  return new Figure(data, layout, summary);
}

/**
 * Colours of the decision boundary: pale red (P(class 1) = 0) through white to pale blue (= 1)
 * under dark red (class 0) and dark blue (class 1) markers, so a point shows its class's hue, stands
 * out from its own region, and a misclassified point (dark blue on red) is easy to spot. The scale
 * is an explicit list, not the name "RdBu": plotly's RdBu runs blue → red, the opposite of
 * ColorBrewer's (and of our static SVG's), so a name would draw the two renderings in swapped colours.
 */
export const BOUNDARY_SCALE: [number, string][] = [[0, "#f4a582"], [0.5, "#f7f7f7"], [1, "#92c5de"]];
/** Marker colours of class 0 and class 1 on a decision boundary (see BOUNDARY_SCALE). */
export const BOUNDARY_MARKERS = ["#b2182b", "#2166ac"] as const;

/**
 * The decision boundary of a 2-D classifier: `predict` maps points to P(class 1), drawn as a
 * heatmap under the labelled points. Redraw it during training with a display handle's `update`.
 * Introduced in notebook 03.
 */
export function decisionBoundary(options: {
  predict: (points: number[][]) => ArrayLike<number>;
  points: ArrayLike<number>[];
  labels: ArrayLike<number>;
  resolution?: number;
  xRange?: [number, number];
  yRange?: [number, number];
  title?: string;
  width?: number;
  height?: number;
}): Figure {
  const pts = options.points.map((p) => arr(p));
  const labels = arr(options.labels);
  if (pts.length !== labels.length) {
    throw new Error(`plot.decisionBoundary: ${pts.length} points and ${labels.length} labels; expected one label per point`);
  }
  pts.forEach((p, i) => {
    if (p.length !== 2) throw new Error(`plot.decisionBoundary: point ${i} has ${p.length} coordinates, expected 2`);
  });
  const pad = (lo: number, hi: number): [number, number] => {
    const m = (hi - lo) * 0.1 || 1;
    return [lo - m, hi + m];
  };
  const xr = options.xRange ?? pad(Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0])));
  const yr = options.yRange ?? pad(Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1])));
  const n = options.resolution ?? 40;
  const gx = Array.from({ length: n }, (_, i) => xr[0] + ((i + 0.5) * (xr[1] - xr[0])) / n);
  const gy = Array.from({ length: n }, (_, i) => yr[0] + ((i + 0.5) * (yr[1] - yr[0])) / n);
  const grid = gy.flatMap((y) => gx.map((x) => [x, y]));
  const probs = arr(options.predict(grid));
  if (probs.length !== grid.length) {
    throw new Error(`plot.decisionBoundary: predict returned ${probs.length} values for ${grid.length} points`);
  }
  const z = gy.map((_, r) => probs.slice(r * n, (r + 1) * n));
  const field: Trace = {
    type: "heatmap", x: gx, y: gy, z, zmin: 0, zmax: 1, colorscale: BOUNDARY_SCALE,
    showscale: false, name: "P(class 1)",
  };
  const classes = [0, 1].map((c): Trace => {
    const idx = labels.map((l, i) => (l === c ? i : -1)).filter((i) => i >= 0);
    return {
      type: "scatter", mode: "markers", name: `class ${c}`,
      x: idx.map((i) => pts[i][0]), y: idx.map((i) => pts[i][1]),
      marker: { color: BOUNDARY_MARKERS[c], size: 7, line: { color: "white", width: 1 } },
    };
  });
  const atPoints = arr(options.predict(pts));
  const correct = labels.filter((l, i) => (atPoints[i] >= 0.5 ? 1 : 0) === l).length;
  const layout = baseLayout({ title: options.title, xLabel: "x₁", yLabel: "x₂", xRange: xr, yRange: yr, width: options.width, height: options.height ?? 420 });
  return new Figure([field, ...classes], layout, `decision boundary: ${correct}/${labels.length} points on the right side`);
}
