/**
 * A standalone, offline HTML page for one figure, with plotly.js (from `plotly.js-dist`) inlined.
 */
import { readFileSync } from "node:fs";
import { escapeHtml } from "../display";
import type { Figure } from "./figure";

let plotlySource: string | null = null;

/** The plotly.js bundle shipped in `plotly.js-dist`, read once. */
export function plotlyJs(): string {
  plotlySource ??= readFileSync(require.resolve("plotly.js-dist/plotly.js"), "utf8");
  return plotlySource;
}

/** JSON safe inside a `<script>` element (no `</script>`, no `<!--`). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

export function standaloneHtml(fig: Figure): string {
  const title = escapeHtml(fig.layout.title?.text ?? "tsdl figure");
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${title}</title>
<script>${plotlyJs().replace(/<\/script/gi, "<\\/script")}</script></head>
<body><div id="fig"></div>
<script type="application/json" id="fig-data">${scriptJson(fig.toJSON())}</script>
<script>
const spec = JSON.parse(document.getElementById("fig-data").textContent);
Plotly.newPlot("fig", spec.data, spec.layout, { responsive: true });
</script>
<noscript>${fig.toSvg()}</noscript>
</body></html>
`;
}
