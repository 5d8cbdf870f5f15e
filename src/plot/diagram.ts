/**
 * A small node-and-arrow diagram drawn as SVG, for concept graphs like the article's §2 flowchart
 * (which the article writes in Mermaid; Mermaid needs a browser to lay out, so it cannot render in
 * a kernel or a static report).
 *
 * Layout, left to right: each node sits one column right of its furthest-left predecessor along the
 * longest path from a source; arrows that point back (a cycle, e.g. the optimizer updating the
 * model) are found by a depth-first walk and drawn as dashed arcs under the boxes; arrows that skip
 * a column arc over the boxes in between. Within a column nodes keep the order they were first named. A concept graph has a handful of nodes, so this is enough.
 *
 * Introduced in notebook 01-neural-networks.
 */
import { JUPYTER_DISPLAY, escapeHtml, type Displayable, type MimeBundle } from "../display";

/** A node's text: a label, or a label with a smaller second line. */
export type DiagramNode = string | { label: string; note?: string };

/** Options of `diagram`. */
export interface DiagramOptions {
  /** Labels by node id (ids not listed are labelled with the id itself). Also fixes the order. */
  nodes?: Record<string, DiagramNode>;
  title?: string;
}

/** One laid-out node. */
export interface DiagramBox {
  id: string;
  label: string;
  note: string;
  column: number;
  x: number;
  y: number;
}

/** One laid-out arrow; `back` arrows close a cycle and are drawn under the boxes. */
export interface DiagramEdge {
  from: string;
  to: string;
  label: string;
  back: boolean;
}

const PAD = 16;
const GAP_X = 70;
/** How far each successive arc bends beyond the boxes. */
const ARC = 28;
const GAP_Y = 22;
const CHAR_W = 7.2;

/** A laid-out diagram that renders itself as SVG. Introduced in notebook 01-neural-networks. */
export class Diagram implements Displayable {
  constructor(
    readonly boxes: DiagramBox[],
    readonly edges: DiagramEdge[],
    readonly box: { width: number; height: number },
    readonly size: { width: number; height: number },
    readonly title = "",
  ) {}

  /** One line per arrow: `talent → market (label)`, back arrows marked. */
  toText(): string {
    const name = (id: string): string => this.boxes.find((b) => b.id === id)!.label;
    const lines = this.edges.map((e) => `${name(e.from)} → ${name(e.to)}${e.label ? ` (${e.label})` : ""}${e.back ? " [back]" : ""}`);
    return [this.title ? `Diagram: ${this.title}` : "Diagram", ...lines].join("\n");
  }

  /** The SVG drawing; every label is escaped. */
  toSvg(): string {
    const { width: bw, height: bh } = this.box;
    const titleH = this.title ? 26 : 0;
    const at = new Map(this.boxes.map((b) => [b.id, b]));
    const out: string[] = [
      `<svg xmlns="http://www.w3.org/2000/svg" class="tsdl-diagram" width="${this.size.width}" height="${this.size.height + titleH}" viewBox="0 0 ${this.size.width} ${this.size.height + titleH}" font-family="sans-serif" font-size="13">`,
      `<rect width="100%" height="100%" fill="white"/>`,
      `<defs><marker id="tsdl-diagram-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>`,
    ];
    if (this.title) out.push(`<text x="${PAD}" y="19" font-size="15" font-weight="bold">${escapeHtml(this.title)}</text>`);
    out.push(`<g transform="translate(0,${titleH})">`);
    const top = Math.min(...this.boxes.map((b) => b.y));
    const bottom = Math.max(...this.boxes.map((b) => b.y + bh));
    let below = 0;
    let above = 0;
    for (const e of this.edges) {
      const a = at.get(e.from)!;
      const b = at.get(e.to)!;
      let d: string;
      let lx: number;
      let ly: number;
      if (e.back || b.column - a.column > 1) {
        // Back arrows leave the bottom of the source and arc under every box into the bottom of the
        // target; arrows that skip a column arc over the boxes in between, from top to top.
        const under = e.back;
        const k = under ? ++below : ++above;
        const x1 = a.x + bw / 2;
        const x2 = b.x + bw / 2;
        const y1 = under ? a.y + bh : a.y;
        const y2 = under ? b.y + bh : b.y;
        const edgeY = under ? bottom : top;
        const ctrl = under ? edgeY + ARC * k : edgeY - ARC * k;
        d = `M${x1},${y1} C${x1},${ctrl} ${x2},${ctrl} ${x2},${y2}`;
        // The curve's extreme, at t = ½, is a quarter of the way from the ends to the control points.
        const extreme = (y1 + y2) / 8 + (3 * ctrl) / 4;
        lx = (x1 + x2) / 2;
        ly = under ? extreme + 14 : extreme - 5;
      } else {
        const x1 = a.x + bw;
        const y1 = a.y + bh / 2;
        const x2 = b.x;
        const y2 = b.y + bh / 2;
        const mx = (x1 + x2) / 2;
        d = `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`;
        lx = mx;
        ly = (y1 + y2) / 2 - 6;
      }
      out.push(
        `<path class="edge${e.back ? " back" : ""}" data-from="${escapeHtml(e.from)}" data-to="${escapeHtml(e.to)}" d="${d}" fill="none" stroke="#555" stroke-width="1.4"${e.back ? ' stroke-dasharray="5 3"' : ""} marker-end="url(#tsdl-diagram-arrow)"/>`,
      );
      if (e.label) {
        out.push(
          `<text x="${lx}" y="${ly}" text-anchor="middle" font-size="11" fill="#333" stroke="white" stroke-width="3" paint-order="stroke">${escapeHtml(e.label)}</text>`,
        );
      }
    }
    for (const b of this.boxes) {
      const cy = b.note ? b.y + bh / 2 - 4 : b.y + bh / 2 + 5;
      out.push(
        `<g class="node" data-id="${escapeHtml(b.id)}">`,
        `<rect x="${b.x}" y="${b.y}" width="${bw}" height="${bh}" rx="8" fill="#dbe9f6" stroke="#2c5f8a"/>`,
        `<text x="${b.x + bw / 2}" y="${cy}" text-anchor="middle" font-weight="bold">${escapeHtml(b.label)}</text>`,
        b.note ? `<text x="${b.x + bw / 2}" y="${cy + 17}" text-anchor="middle" font-size="11" fill="#333">${escapeHtml(b.note)}</text>` : "",
        `</g>`,
      );
    }
    out.push(`</g></svg>`);
    return out.filter((s) => s).join("\n");
  }

  /** The same text as its `text/plain` (so `String(x)` and a template literal print it). */
  toString(): string {
    return this.toText();
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    return { "image/svg+xml": this.toSvg(), "text/plain": this.toText() };
  }
}

/**
 * A concept graph from a list of arrows `[from, to, label?]`, laid out left to right, drawn as SVG:
 * `plot.diagram([["talent", "breakthrough"], ["breakthrough", "market"]])`.
 * Introduced in notebook 01-neural-networks.
 */
export function diagram(edges: [string, string, string?][], options: DiagramOptions = {}): Diagram {
  if (!Array.isArray(edges) || edges.length === 0) throw new Error("plot.diagram: expected at least one arrow [from, to], found none");
  const ids: string[] = Object.keys(options.nodes ?? {});
  edges.forEach((e, i) => {
    if (!Array.isArray(e) || typeof e[0] !== "string" || typeof e[1] !== "string") {
      throw new Error(`plot.diagram: arrow ${i} should be [from, to, label?] with string ids, found ${JSON.stringify(e)}`);
    }
    for (const id of [e[0], e[1]]) if (!ids.includes(id)) ids.push(id);
  });
  const out = new Map<string, number[]>(ids.map((id) => [id, []]));
  edges.forEach(([a], k) => out.get(a)!.push(k));

  // Back arrows: those reaching a node still on the depth-first stack.
  const back = new Set<number>();
  const state = new Map<string, 1 | 2>();
  const visit = (id: string): void => {
    state.set(id, 1);
    for (const k of out.get(id)!) {
      const to = edges[k][1];
      if (state.get(to) === 1) back.add(k);
      else if (!state.has(to)) visit(to);
    }
    state.set(id, 2);
  };
  for (const id of ids) if (!state.has(id)) visit(id);

  // Columns: longest path over the forward arrows (a DAG once back arrows are set aside).
  const column = new Map<string, number>(ids.map((id) => [id, 0]));
  for (let pass = 0; pass < ids.length; pass++) {
    edges.forEach(([a, b], k) => {
      if (!back.has(k)) column.set(b, Math.max(column.get(b)!, column.get(a)! + 1));
    });
  }
  const text = (id: string): { label: string; note: string } => {
    const n = options.nodes?.[id];
    return typeof n === "string" ? { label: n, note: "" } : n ? { label: n.label, note: n.note ?? "" } : { label: id, note: "" };
  };
  const longest = Math.max(...ids.map((id) => Math.max(text(id).label.length, text(id).note.length * 0.85)));
  const bw = Math.round(Math.max(96, longest * CHAR_W + 24));
  const bh = ids.some((id) => text(id).note) ? 52 : 38;
  const columns = Math.max(...column.values()) + 1;
  const perColumn: string[][] = Array.from({ length: columns }, () => []);
  for (const id of ids) perColumn[column.get(id)!].push(id);
  const laid: DiagramEdge[] = edges.map(([from, to, label], k) => ({ from, to, label: label ?? "", back: back.has(k) }));
  const arcsBelow = laid.filter((e) => e.back).length;
  const arcsAbove = laid.filter((e) => !e.back && column.get(e.to)! - column.get(e.from)! > 1).length;
  // Room for the arcs (each reaches ¾ of its bend beyond the boxes) and their labels.
  const topSpace = arcsAbove ? Math.ceil(0.75 * ARC * arcsAbove) + 18 : 0;
  const bottomSpace = arcsBelow ? Math.ceil(0.75 * ARC * arcsBelow) + 20 : 0;
  // Columns far enough apart for the longest label of an arrow between neighbours.
  const longestEdge = Math.max(0, ...laid.filter((e) => !e.back && column.get(e.to)! - column.get(e.from)! === 1).map((e) => e.label.length));
  const gapX = Math.round(Math.max(GAP_X, longestEdge * 6.4 + 28));
  const tallest = Math.max(...perColumn.map((c) => c.length));
  const inner = tallest * bh + (tallest - 1) * GAP_Y;
  const boxes: DiagramBox[] = [];
  perColumn.forEach((c, ci) => {
    const h = c.length * bh + (c.length - 1) * GAP_Y;
    c.forEach((id, k) => {
      boxes.push({ id, ...text(id), column: ci, x: PAD + ci * (bw + gapX), y: Math.round(PAD + topSpace + (inner - h) / 2 + k * (bh + GAP_Y)) });
    });
  });
  const width = PAD * 2 + columns * bw + (columns - 1) * gapX;
  const height = PAD * 2 + topSpace + inner + bottomSpace;
  return new Diagram(boxes, laid, { width: bw, height: bh }, { width, height }, options.title ?? "");
}
