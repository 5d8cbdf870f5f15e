/** `reports/index.html`: one row per notebook run, linking its report and notebook, with status and run time. */
import { BASE_CSS, htmlHead } from "./style";
import { escapeHtml } from "./text";

/** One notebook's line in the index. */
export interface IndexEntry {
  /** The notebook's name (file name without .ipynb). */
  name: string;
  /** Title shown beside the name (e.g. the notebook's first heading). */
  title?: string;
  /** "ok" or how it failed ("error", "timeout", "interrupted", "died", "not run"). */
  status: string;
  /** Wall-clock run time in seconds. */
  durationSeconds?: number;
  /** Link to the HTML report, relative to the index. */
  htmlHref?: string;
  /** Link to the executed notebook, relative to the index. */
  notebookHref?: string;
  /** One line on what went wrong. */
  message?: string;
}

/** The index page as one self-contained HTML file (no scripts, no requests). */
export function renderIndexHtml(entries: IndexEntry[], options: { title?: string; generated?: string } = {}): string {
  const title = options.title ?? "tsdl notebook reports";
  const failed = entries.filter((e) => e.status !== "ok").length;
  const total = entries.reduce((s, e) => s + (e.durationSeconds ?? 0), 0);
  const rows = entries
    .map((e) => {
      const name = e.htmlHref ? `<a href="${escapeHtml(encodeURI(e.htmlHref))}">${escapeHtml(e.name)}</a>` : escapeHtml(e.name);
      const nb = e.notebookHref ? `<a href="${escapeHtml(encodeURI(e.notebookHref))}">.ipynb</a>` : "";
      const cls = e.status === "ok" ? "status-ok" : "status-failed";
      const time = e.durationSeconds === undefined ? "" : `${e.durationSeconds.toFixed(1)} s`;
      return (
        `<tr data-notebook="${escapeHtml(e.name)}" data-status="${escapeHtml(e.status)}">` +
        `<td>${name}</td><td>${escapeHtml(e.title ?? "")}</td><td class="${cls}">${escapeHtml(e.status)}</td>` +
        `<td style="text-align:right">${time}</td><td>${nb}</td><td class="muted">${escapeHtml(e.message ?? "")}</td></tr>`
      );
    })
    .join("\n");
  return `${htmlHead({ title, csp: "default-src 'none'; style-src 'unsafe-inline'" })}
<style>${BASE_CSS}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
<p class="muted">${entries.length} notebook${entries.length === 1 ? "" : "s"}, ${failed === 0 ? "all ok" : `${failed} failed`}, ${total.toFixed(1)} s in all${options.generated ? `; generated ${escapeHtml(options.generated)}` : ""}.</p>
<table>
<thead><tr><th>notebook</th><th>title</th><th>status</th><th>run time</th><th>executed</th><th>note</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</main>
</body>
</html>
`;
}
