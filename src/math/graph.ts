/**
 * Draw a `Value`'s computation graph as SVG: one box per value showing its operation, its data
 * and its gradient, laid out in layers from the inputs (left) to the output (right).
 *
 * The layout is a small layered (Sugiyama-style) one written here: each node sits one layer left
 * of its leftmost consumer (so constants sit next to where they are used), and nodes within a
 * layer are ordered by the mean position of their neighbours, a few sweeps each way, to reduce
 * crossings. For the few dozen nodes a teaching graph has this is enough, and it avoids a
 * dependency (graphviz is not available in the kernel; dagre would add a package for little gain).
 *
 * Introduced in notebook 02-loss-and-backprop.
 */
import { JUPYTER_DISPLAY, escapeHtml, type Displayable, type MimeBundle } from "../display";
import type { Value } from "./value";

/** One node of a drawn graph: a snapshot of a Value when `graph()` was called. */
export interface GraphNode {
  /** Index in `nodes` (topological order: inputs first). */
  index: number;
  /** The label, or "nK" for unlabeled values. */
  name: string;
  label: string;
  /** The operation, "" for a leaf. */
  op: string;
  data: number;
  grad: number;
  /** Indices of the nodes this one was computed from. */
  parents: number[];
  /** Column: 0 holds the leftmost inputs, the output sits in the last column. */
  layer: number;
  /** Top-left corner and size of the box in the SVG. */
  x: number;
  y: number;
}

/** Options for `graph`. */
export interface GraphOptions {
  /** Refuse graphs with more nodes than this (default 400): they would not be readable. */
  maxNodes?: number;
  /** Significant digits for data and grad (default 4). */
  digits?: number;
  /** A title above the graph. */
  title?: string;
}

const BOX_W = 132;
const BOX_H = 56;
const GAP_X = 48;
const GAP_Y = 16;
const MARGIN = 12;

function num(v: number, digits: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5)) return v.toExponential(digits - 1);
  return String(Number(v.toPrecision(digits)));
}

/** A drawn computation graph that renders itself as SVG. Introduced in notebook 02-loss-and-backprop. */
export class ComputationGraph implements Displayable {
  constructor(
    readonly nodes: GraphNode[],
    readonly width: number,
    readonly height: number,
    readonly options: GraphOptions = {},
  ) {}

  /** One line per node, inputs first: `n3 = a × b   data 6   grad 1`. */
  toText(): string {
    const digits = this.options.digits ?? 4;
    const lines = this.nodes.map((n) => {
      const names = n.parents.map((p) => this.nodes[p].name);
      const expr = n.op === "" ? (n.label ? "input" : "constant") : describeOp(n.op, names);
      return `${n.name} = ${expr}    data ${num(n.data, digits)}    grad ${num(n.grad, digits)}`;
    });
    const head = `${this.options.title ? this.options.title + ": " : ""}computation graph, ${this.nodes.length} values`;
    return [head, ...lines].join("\n");
  }

  /** The SVG drawing (values escaped). */
  toSvg(): string {
    const digits = this.options.digits ?? 4;
    const titleH = this.options.title ? 24 : 0;
    const parts: string[] = [];
    parts.push(
      `<svg xmlns="http://www.w3.org/2000/svg" class="tsdl-graph" width="${this.width}" height="${this.height + titleH}" viewBox="0 0 ${this.width} ${this.height + titleH}" font-family="sans-serif" font-size="12">`,
      `<defs><marker id="tsdl-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#666"/></marker></defs>`,
    );
    if (this.options.title) {
      parts.push(`<text x="${MARGIN}" y="17" font-size="14" font-weight="bold">${escapeHtml(this.options.title)}</text>`);
    }
    parts.push(`<g transform="translate(0,${titleH})">`);
    for (const n of this.nodes) {
      for (const p of n.parents) {
        const a = this.nodes[p];
        const x1 = a.x + BOX_W;
        const y1 = a.y + BOX_H / 2;
        const x2 = n.x;
        const y2 = n.y + BOX_H / 2;
        const mx = (x1 + x2) / 2;
        parts.push(
          `<path class="edge" data-from="${a.index}" data-to="${n.index}" d="M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}" fill="none" stroke="#888" stroke-width="1.2" marker-end="url(#tsdl-arrow)"/>`,
        );
      }
    }
    const last = this.nodes.length - 1;
    for (const n of this.nodes) {
      const fill = n.index === last ? "#fde9c8" : n.op === "" ? (n.label ? "#dbe9f6" : "#eeeeee") : "#ffffff";
      const head = n.op === "" ? n.label || "const" : n.label ? `${n.label} = ${n.op}` : n.op;
      parts.push(
        `<g class="node" data-index="${n.index}" data-op="${escapeHtml(n.op)}">`,
        `<rect x="${n.x}" y="${n.y}" width="${BOX_W}" height="${BOX_H}" rx="6" fill="${fill}" stroke="#555"/>`,
        `<text x="${n.x + BOX_W / 2}" y="${n.y + 16}" text-anchor="middle" font-weight="bold">${escapeHtml(head)}</text>`,
        `<text class="data" x="${n.x + 8}" y="${n.y + 33}">data ${escapeHtml(num(n.data, digits))}</text>`,
        `<text class="grad" x="${n.x + 8}" y="${n.y + 49}" fill="#b2182b">grad ${escapeHtml(num(n.grad, digits))}</text>`,
        `</g>`,
      );
    }
    parts.push(`</g></svg>`);
    return parts.join("\n");
  }

  /** The same text as its `text/plain` (so `String(x)` and a template literal print it). */
  toString(): string {
    return this.toText();
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    return { "text/html": this.toSvg(), "text/plain": this.toText() };
  }
}

function describeOp(op: string, names: string[]): string {
  if (op === "+" || op === "×") return names.join(` ${op} `);
  if (op.startsWith("^")) return `${names[0]}${op}`;
  return `${op}(${names.join(", ")})`;
}

/**
 * The computation graph behind `root` as a self-rendering SVG (each node: op, data, grad).
 * Call it after `root.backward()` to see the gradients. Introduced in notebook 02-loss-and-backprop.
 */
export function graph(root: Value, options: GraphOptions = {}): ComputationGraph {
  const order = root.topologicalOrder();
  const maxNodes = options.maxNodes ?? 400;
  if (order.length > maxNodes) {
    throw new Error(
      `graph: this value depends on ${order.length} values, more than maxNodes=${maxNodes} can show readably; ` +
        `draw a smaller expression or pass { maxNodes: ${order.length} }`,
    );
  }
  const index = new Map<Value, number>(order.map((v, i) => [v, i]));
  const n = order.length;
  const parents = order.map((v) => v.parents.map((p) => index.get(p)!));
  // A value may use the same parent twice (x · x); draw one edge per use, but count it once here.
  const children: number[][] = order.map(() => []);
  parents.forEach((ps, i) => new Set(ps).forEach((p) => children[p].push(i)));

  // Layers: distance to the output along the longest path, so every edge points right.
  const rank = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) for (const p of parents[i]) rank[p] = Math.max(rank[p], rank[i] + 1);
  const maxRank = Math.max(...rank);
  const layerOf = rank.map((r) => maxRank - r);
  const layers: number[][] = Array.from({ length: maxRank + 1 }, () => []);
  for (let i = 0; i < n; i++) layers[layerOf[i]].push(i);

  // Order within layers: barycentre sweeps (right to left by consumers, left to right by inputs).
  const pos = new Array<number>(n).fill(0);
  const setPositions = (): void => layers.forEach((l) => l.forEach((v, k) => (pos[v] = k)));
  setPositions();
  const mean = (xs: number[], fallback: number): number =>
    xs.length ? xs.reduce((s, v) => s + pos[v], 0) / xs.length : fallback;
  for (let sweep = 0; sweep < 4; sweep++) {
    for (let l = maxRank - 1; l >= 0; l--) {
      const key = new Map(layers[l].map((v) => [v, mean(children[v], pos[v])]));
      layers[l].sort((a, b) => key.get(a)! - key.get(b)! || a - b);
      layers[l].forEach((v, k) => (pos[v] = k));
    }
    for (let l = 1; l <= maxRank; l++) {
      const key = new Map(layers[l].map((v) => [v, mean(parents[v], pos[v])]));
      layers[l].sort((a, b) => key.get(a)! - key.get(b)! || a - b);
      layers[l].forEach((v, k) => (pos[v] = k));
    }
  }

  const tallest = Math.max(...layers.map((l) => l.length));
  const height = MARGIN * 2 + tallest * BOX_H + (tallest - 1) * GAP_Y;
  const width = MARGIN * 2 + (maxRank + 1) * BOX_W + maxRank * GAP_X;
  const xy: { x: number; y: number }[] = new Array(n);
  layers.forEach((l, li) => {
    const h = l.length * BOX_H + (l.length - 1) * GAP_Y;
    const top = MARGIN + (height - 2 * MARGIN - h) / 2;
    l.forEach((v, k) => (xy[v] = { x: MARGIN + li * (BOX_W + GAP_X), y: Math.round(top + k * (BOX_H + GAP_Y)) }));
  });

  const nodes: GraphNode[] = order.map((v, i) => ({
    index: i,
    name: v.label || `n${i}`,
    label: v.label,
    op: v.op,
    data: v.data,
    grad: v.grad,
    parents: parents[i],
    layer: layerOf[i],
    x: xy[i].x,
    y: xy[i].y,
  }));
  return new ComputationGraph(nodes, width, height, options);
}

/** Box size used by the layout (exported for tests that check boxes do not overlap). */
export const GRAPH_BOX = { width: BOX_W, height: BOX_H } as const;
