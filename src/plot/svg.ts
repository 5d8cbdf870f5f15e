/**
 * A small static SVG renderer for the plotly figures tsdl builds (scatter lines and markers, bars,
 * heatmaps, subplots on a grid of axes). It is the offline `text/html` fallback of every figure:
 * what a reader sees where plotly.js is not available (nbconvert, plain Jupyter without the plotly
 * extension). It is deliberately simple; the interactive chart is the plotly one.
 */
import { escapeHtml } from "../display";
import type { Figure, Trace } from "./figure";

/** plotly's default colour cycle, so the static and interactive charts agree. */
export const COLORWAY = [
  "#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A",
  "#19d3f3", "#FF6692", "#B6E880", "#FF97FF", "#FECB52",
];

type Stops = [number, string][];

const SCALES: Record<string, Stops> = {
  Viridis: [[0, "#440154"], [0.25, "#3b528b"], [0.5, "#21918c"], [0.75, "#5ec962"], [1, "#fde725"]],
  Greys: [[0, "#000000"], [1, "#ffffff"]],
  Greys_r: [[0, "#ffffff"], [1, "#000000"]],
  Blues: [[0, "#f7fbff"], [0.5, "#6baed6"], [1, "#08306b"]],
  RdBu: [[0, "#b2182b"], [0.5, "#f7f7f7"], [1, "#2166ac"]],
};

function hexToRgb(hex: string): [number, number, number] {
  const h = hex.replace("#", "");
  const full = h.length === 3 ? h.split("").map((c) => c + c).join("") : h;
  const n = parseInt(full, 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** The colour at t ∈ [0, 1] on a colour scale. */
export function colorAt(scale: Trace["colorscale"], t: number): string {
  const stops: Stops = Array.isArray(scale) ? scale : SCALES[scale ?? "Viridis"] ?? SCALES.Viridis;
  const u = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0));
  let i = 0;
  while (i < stops.length - 2 && u > stops[i + 1][0]) i++;
  const [t0, c0] = stops[i];
  const [t1, c1] = stops[Math.min(i + 1, stops.length - 1)];
  const f = t1 > t0 ? (u - t0) / (t1 - t0) : 0;
  const a = hexToRgb(c0);
  const b = hexToRgb(c1);
  const mix = a.map((v, k) => Math.round(v + (b[k] - v) * f));
  return `rgb(${mix[0]},${mix[1]},${mix[2]})`;
}

/** Round tick positions spanning [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  }
  return ticks;
}

function fmt(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

interface AxisSpec {
  domain: [number, number];
  title?: string;
  range?: [number, number];
  reversed?: boolean;
}

function axisSpec(layout: Record<string, unknown>, key: string): AxisSpec {
  const a = (layout[key] ?? {}) as {
    domain?: [number, number];
    title?: { text?: string } | string;
    range?: [number, number];
    autorange?: boolean | "reversed";
  };
  const title = typeof a.title === "string" ? a.title : a.title?.text;
  return { domain: a.domain ?? [0, 1], title, range: a.range, reversed: a.autorange === "reversed" };
}

/** "x" → "xaxis", "x2" → "xaxis2". */
function layoutKey(ref: string): string {
  return ref.replace(/^([xy])(\d*)$/, "$1axis$2");
}

interface Panel {
  xref: string;
  yref: string;
  traces: { trace: Trace; color: string }[];
}

export function renderSvg(fig: Figure): string {
  const layout = fig.layout as Record<string, unknown>;
  const width = fig.layout.width ?? 640;
  const height = fig.layout.height ?? 400;
  const title = fig.layout.title?.text;
  const margin = { l: 60, r: 20, t: title ? 40 : 20, b: 50 };
  const panels = new Map<string, Panel>();
  fig.data.forEach((trace, i) => {
    const xref = trace.xaxis ?? "x";
    const yref = trace.yaxis ?? "y";
    const key = `${xref}/${yref}`;
    if (!panels.has(key)) panels.set(key, { xref, yref, traces: [] });
    const explicit = trace.line?.color ?? (typeof trace.marker?.color === "string" ? trace.marker.color : undefined);
    panels.get(key)!.traces.push({ trace, color: explicit ?? COLORWAY[i % COLORWAY.length] });
  });
  const plotW = width - margin.l - margin.r;
  const plotH = height - margin.t - margin.b;
  const parts: string[] = [];
  for (const panel of panels.values()) {
    const xa = axisSpec(layout, layoutKey(panel.xref));
    const ya = axisSpec(layout, layoutKey(panel.yref));
    const x0 = margin.l + xa.domain[0] * plotW;
    const x1 = margin.l + xa.domain[1] * plotW - (xa.domain[1] < 1 ? 30 : 0);
    const y0 = margin.t + (1 - ya.domain[1]) * plotH + (ya.domain[1] < 1 ? 20 : 0);
    const y1 = margin.t + (1 - ya.domain[0]) * plotH;
    parts.push(renderPanel(panel, xa, ya, { x0, x1, y0, y1 }));
  }
  const legend = fig.data
    .map((t, i) => ({ t, color: t.line?.color ?? (typeof t.marker?.color === "string" ? t.marker.color : COLORWAY[i % COLORWAY.length]) }))
    .filter(({ t }) => t.name && t.showlegend !== false && t.type !== "heatmap");
  legend.forEach(({ t, color }, i) => {
    const y = margin.t + 4 + i * 16;
    const x = width - margin.r - 150;
    parts.push(
      `<rect x="${x}" y="${y}" width="12" height="4" fill="${color}"/>` +
        `<text x="${x + 16}" y="${y + 6}" font-size="11">${escapeHtml(String(t.name))}</text>`,
    );
  });
  const annotations = (layout.annotations ?? []) as { text?: string; x?: number; y?: number; xref?: string; yref?: string }[];
  for (const a of annotations) {
    if (a.xref !== "paper" || a.yref !== "paper" || !a.text) continue;
    const ax = margin.l + (a.x ?? 0.5) * plotW;
    const ay = margin.t + (1 - (a.y ?? 1)) * plotH - 6;
    parts.push(`<text x="${ax}" y="${ay}" font-size="12" text-anchor="middle">${escapeHtml(a.text)}</text>`);
  }
  if (title) {
    parts.push(`<text x="${width / 2}" y="22" font-size="15" text-anchor="middle">${escapeHtml(title)}</text>`);
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="tsdl-figure" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="sans-serif" role="img"` +
    (title ? ` aria-label="${escapeHtml(title)}"` : "") +
    `><rect width="100%" height="100%" fill="white"/>${parts.join("")}</svg>`
  );
}

type Box = { x0: number; x1: number; y0: number; y1: number };

/** Maps data values (numbers or category names) to pixels along one axis. */
class Scale {
  private readonly categories: string[] = [];
  lo = Infinity;
  hi = -Infinity;

  add(v: number | string): void {
    if (typeof v === "string") {
      if (!this.categories.includes(v)) this.categories.push(v);
      this.lo = -0.5;
      this.hi = this.categories.length - 0.5;
    } else if (Number.isFinite(v)) {
      this.lo = Math.min(this.lo, v);
      this.hi = Math.max(this.hi, v);
    }
  }

  get categorical(): boolean {
    return this.categories.length > 0;
  }

  value(v: number | string): number {
    return typeof v === "string" ? this.categories.indexOf(v) : v;
  }

  finish(range?: [number, number]): void {
    if (range) [this.lo, this.hi] = range;
    if (!Number.isFinite(this.lo)) [this.lo, this.hi] = [0, 1];
    if (this.hi === this.lo) [this.lo, this.hi] = [this.lo - 1, this.hi + 1];
  }

  ticks(): { at: number; label: string }[] {
    if (this.categorical) {
      const every = Math.ceil(this.categories.length / 12);
      return this.categories
        .map((c, i) => ({ at: i, label: c }))
        .filter((_, i) => i % every === 0);
    }
    return niceTicks(this.lo, this.hi).map((v) => ({ at: v, label: fmt(v) }));
  }
}

function renderPanel(panel: Panel, xa: AxisSpec, ya: AxisSpec, box: Box): string {
  const sx = new Scale();
  const sy = new Scale();
  for (const { trace } of panel.traces) {
    if (trace.type === "heatmap") {
      const z = trace.z ?? [];
      const cols = z[0]?.length ?? 0;
      (trace.x ?? Array.from({ length: cols }, (_, i) => i)).forEach((v) => sx.add(v));
      (trace.y ?? Array.from({ length: z.length }, (_, i) => i)).forEach((v) => sy.add(v));
      if (!trace.x && cols) [sx.lo, sx.hi] = [Math.min(sx.lo, -0.5), Math.max(sx.hi, cols - 0.5)];
      if (!trace.y && z.length) [sy.lo, sy.hi] = [Math.min(sy.lo, -0.5), Math.max(sy.hi, z.length - 0.5)];
    } else {
      (trace.x ?? (trace.y ?? []).map((_, i) => i)).forEach((v) => sx.add(v));
      (trace.y ?? []).forEach((v) => sy.add(v));
      if (trace.type === "bar") {
        sy.add(0);
        // Bars are centred on x: widen the axis by half a bar on each side.
        const xs = (trace.x ?? []).filter((v): v is number => typeof v === "number");
        const w = typeof trace.width === "number" ? trace.width : 0;
        if (xs.length && w) {
          sx.add(Math.min(...xs) - w / 2);
          sx.add(Math.max(...xs) + w / 2);
        }
      }
    }
  }
  sx.finish(xa.range);
  sy.finish(ya.range);
  const px = (v: number | string) => box.x0 + ((sx.value(v) - sx.lo) / (sx.hi - sx.lo)) * (box.x1 - box.x0);
  const fy = (v: number | string) => (sy.value(v) - sy.lo) / (sy.hi - sy.lo);
  const py = (v: number | string) =>
    ya.reversed ? box.y0 + fy(v) * (box.y1 - box.y0) : box.y1 - fy(v) * (box.y1 - box.y0);
  const out: string[] = [];
  out.push(`<rect x="${box.x0}" y="${box.y0}" width="${box.x1 - box.x0}" height="${box.y1 - box.y0}" fill="#f5f6fa"/>`);
  for (const { trace, color } of panel.traces) {
    if (trace.type === "heatmap") out.push(renderHeatmap(trace, sx, sy, px, py));
    else if (trace.type === "bar") out.push(renderBars(trace, color, px, py, sx, box));
    else out.push(renderScatter(trace, color, px, py));
  }
  const r = (v: number) => Math.round(v * 10) / 10;
  for (const t of sx.ticks()) {
    const x = r(px(t.at));
    if (x < box.x0 - 1 || x > box.x1 + 1) continue;
    out.push(
      `<line x1="${x}" x2="${x}" y1="${box.y1}" y2="${box.y1 + 4}" stroke="#444"/>` +
        `<text x="${x}" y="${box.y1 + 16}" font-size="10" text-anchor="middle">${escapeHtml(t.label)}</text>`,
    );
  }
  for (const t of sy.ticks()) {
    const y = r(py(t.at));
    if (y < box.y0 - 1 || y > box.y1 + 1) continue;
    out.push(
      `<line x1="${box.x0 - 4}" x2="${box.x0}" y1="${y}" y2="${y}" stroke="#444"/>` +
        `<text x="${box.x0 - 6}" y="${y + 3}" font-size="10" text-anchor="end">${escapeHtml(t.label)}</text>`,
    );
  }
  out.push(`<rect x="${box.x0}" y="${box.y0}" width="${box.x1 - box.x0}" height="${box.y1 - box.y0}" fill="none" stroke="#444"/>`);
  if (xa.title) {
    out.push(`<text x="${(box.x0 + box.x1) / 2}" y="${box.y1 + 32}" font-size="11" text-anchor="middle">${escapeHtml(xa.title)}</text>`);
  }
  if (ya.title) {
    const cy = (box.y0 + box.y1) / 2;
    out.push(`<text x="${box.x0 - 42}" y="${cy}" font-size="11" text-anchor="middle" transform="rotate(-90 ${box.x0 - 42} ${cy})">${escapeHtml(ya.title)}</text>`);
  }
  return out.join("");
}

function renderScatter(trace: Trace, color: string, px: (v: number | string) => number, py: (v: number | string) => number): string {
  const ys = trace.y ?? [];
  const xs = trace.x ?? ys.map((_, i) => i);
  const pts: [number, number][] = [];
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i];
    if (typeof y === "number" && !Number.isFinite(y)) continue;
    pts.push([Math.round(px(xs[i]) * 10) / 10, Math.round(py(y) * 10) / 10]);
  }
  const mode = trace.mode ?? "lines";
  const out: string[] = [];
  if (mode.includes("lines") && pts.length > 1) {
    const dash = trace.line?.dash === "dash" ? ` stroke-dasharray="6 4"` : trace.line?.dash === "dot" ? ` stroke-dasharray="2 3"` : "";
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="${trace.line?.width ?? 2}"${dash} points="${pts.map((p) => p.join(",")).join(" ")}"/>`);
  }
  if (mode.includes("markers")) {
    const colors = Array.isArray(trace.marker?.color) ? trace.marker!.color : undefined;
    const size = (trace.marker?.size ?? 6) / 2;
    pts.forEach(([x, y], i) => {
      const c = colors ? colorOf(colors[i], trace) : color;
      out.push(`<circle cx="${x}" cy="${y}" r="${size}" fill="${c}" stroke="white" stroke-width="0.5"/>`);
    });
  }
  return out.join("");
}

function colorOf(c: string | number, trace: Trace): string {
  if (typeof c === "string") return c;
  const lo = trace.cmin as number | undefined ?? 0;
  const hi = trace.cmax as number | undefined ?? 1;
  return colorAt(trace.colorscale, (c - lo) / (hi - lo || 1));
}

function renderBars(trace: Trace, color: string, px: (v: number | string) => number, py: (v: number | string) => number, sx: Scale, box: Box): string {
  const ys = trace.y ?? [];
  const xs = trace.x ?? ys.map((_, i) => i);
  const numeric = xs.filter((v): v is number => typeof v === "number");
  let w: number;
  if (typeof trace.width === "number") w = Math.abs(px(trace.width as number) - px(0));
  else if (sx.categorical) w = ((box.x1 - box.x0) / (sx.hi - sx.lo)) * 0.8;
  else {
    const sorted = [...numeric].sort((a, b) => a - b);
    const gap = sorted.length > 1 ? Math.min(...sorted.slice(1).map((v, i) => v - sorted[i])) : 1;
    w = Math.abs(px(gap) - px(0));
  }
  const opacity = typeof trace.opacity === "number" ? trace.opacity : 1;
  return ys
    .map((y, i) => {
      const top = py(y);
      const base = py(0);
      const x = px(xs[i]) - w / 2;
      return `<rect x="${x.toFixed(1)}" y="${Math.min(top, base).toFixed(1)}" width="${Math.max(w, 0.5).toFixed(1)}" height="${Math.abs(base - top).toFixed(1)}" fill="${color}" fill-opacity="${opacity}"/>`;
    })
    .join("");
}

function renderHeatmap(trace: Trace, sx: Scale, sy: Scale, px: (v: number | string) => number, py: (v: number | string) => number): string {
  const z = trace.z ?? [];
  const rows = z.length;
  const cols = z[0]?.length ?? 0;
  if (!rows || !cols) return "";
  let lo = trace.zmin ?? Infinity;
  let hi = trace.zmax ?? -Infinity;
  if (trace.zmin === undefined || trace.zmax === undefined) {
    for (const row of z) for (const v of row) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  }
  const xs = trace.x ?? Array.from({ length: cols }, (_, i) => i);
  const ys = trace.y ?? Array.from({ length: rows }, (_, i) => i);
  // Cell centres are at the coordinates; each cell spans one step.
  const stepX = Math.abs(px(xs[Math.min(1, cols - 1)]) - px(xs[0])) || Math.abs(px(sx.hi) - px(sx.lo)) / cols;
  const stepY = Math.abs(py(ys[Math.min(1, rows - 1)]) - py(ys[0])) || Math.abs(py(sy.hi) - py(sy.lo)) / rows;
  const text = trace.text as string[][] | undefined;
  const showText = Array.isArray(text) && Array.isArray(text[0]) && rows * cols <= 400;
  const out: string[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = z[r][c];
      const x = px(xs[c]) - stepX / 2;
      const y = py(ys[r]) - stepY / 2;
      const fill = colorAt(trace.colorscale, (v - lo) / (hi - lo || 1));
      out.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(stepX + 0.3).toFixed(1)}" height="${(stepY + 0.3).toFixed(1)}" fill="${fill}"/>`);
      if (showText) {
        const ink = luminance(fill) < 0.5 ? "white" : "black";
        out.push(`<text x="${(x + stepX / 2).toFixed(1)}" y="${(y + stepY / 2 + 3).toFixed(1)}" font-size="9" fill="${ink}" text-anchor="middle">${escapeHtml(String(text![r][c]))}</text>`);
      }
    }
  }
  return out.join("");
}

/** Relative luminance (0 dark – 1 light) of an `rgb(r,g,b)` colour. */
function luminance(rgb: string): number {
  const [r, g, b] = (rgb.match(/\d+/g) ?? ["0", "0", "0"]).map(Number);
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
}
