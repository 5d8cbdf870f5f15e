/**
 * Widgets in a report, as nbconvert renders them: the notebook's stored widget state
 * (`metadata.widgets["application/vnd.jupyter.widget-state+json"]`, written by `tsdl run`) goes
 * into the page as a `<script type="application/vnd.jupyter.widget-state+json">`, each widget
 * output as a `<script type="application/vnd.jupyter.widget-view+json">`, and
 * `@jupyter-widgets/html-manager`'s embed bundle (npm, the same code nbconvert loads from a CDN)
 * draws the controls with their last values and the Output widgets with their outputs.
 *
 * Offline under the report's Content-Security-Policy: the bundle is embedded (gzipped, unpacked
 * by DecompressionStream, as plotly.js is), and its Font Awesome fonts (Play and Button icons)
 * become data URLs (woff2 only; the other formats become empty data URLs, never fetched). The
 * bundle goes in only when the notebook has a widget view whose model is in the stored state.
 * Until the widgets are drawn (or if they cannot be), each shows its text/plain fallback.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { gzipScriptData, RUN_GZIP_SCRIPT, scriptSafe } from "./inline-script";

/** The MIME type of a widget view in an output bundle. */
export const WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json";
/** The MIME type of the notebook's widget state. */
export const WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json";

function htmlManagerDir(): string {
  return path.dirname(require.resolve("@jupyter-widgets/html-manager/package.json"));
}

let embedSource: string | undefined;
let embedGzip: string | undefined;

/** html-manager's `dist/embed.js` with its fonts as data URLs (about 2 MB). */
export function widgetEmbedBundle(): string {
  if (embedSource !== undefined) return embedSource;
  const dist = path.join(htmlManagerDir(), "dist");
  let src = fs.readFileSync(path.join(dist, "embed.js"), "utf8");
  // webpack finds its public path from the running script's src, which an inline script lacks
  // ("Automatic publicPath is not supported in this browser"); the page loads no files, so any
  // base will do.
  const AUTO_PUBLIC_PATH = 'if(!e)throw new Error("Automatic publicPath is not supported in this browser");';
  if (!src.includes(AUTO_PUBLIC_PATH)) throw new Error(`@jupyter-widgets/html-manager ${htmlManagerVersion()}: dist/embed.js changed (no automatic publicPath check found); the report cannot inline it`);
  src = src.replace(AUTO_PUBLIC_PATH, 'if(!e)e="about:blank/";');
  // webpack's asset modules: `e.exports = n.p + "<hash>.<ext>"` (n.p, the public path, is a URL).
  embedSource = src.replace(/\b([a-zA-Z_$][\w$]*)\.p\+"([0-9a-f]{20})\.(woff2|woff|ttf|eot|svg)"/g, (_m, _n, hash: string, ext: string) => {
    if (ext !== "woff2") return JSON.stringify("data:,");
    const font = fs.readFileSync(path.join(dist, `${hash}.${ext}`)).toString("base64");
    return JSON.stringify(`data:font/woff2;base64,${font}`);
  });
  return embedSource;
}

/** The embed bundle gzipped and base64-encoded (about 0.6 MB). */
export function widgetEmbedGzipBase64(): string {
  embedGzip ??= gzipSync(Buffer.from(widgetEmbedBundle(), "utf8"), { level: 9 }).toString("base64");
  return embedGzip;
}

/** The version of @jupyter-widgets/html-manager that reports embed. */
export function htmlManagerVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(htmlManagerDir(), "package.json"), "utf8")) as { version: string }).version;
}

/** The stored widget state of a notebook, if it has a valid-looking one. */
export function storedWidgetState(metadata: Record<string, unknown>): { state: Record<string, unknown> } | undefined {
  const doc = (metadata.widgets as Record<string, unknown> | undefined)?.[WIDGET_STATE_MIME] as { state?: unknown } | undefined;
  if (!doc || typeof doc !== "object" || doc.state === null || typeof doc.state !== "object") return undefined;
  return doc as { state: Record<string, unknown> };
}

/** The model id of a widget view bundle entry, when it is one. */
export function viewModelId(view: unknown): string | undefined {
  const id = (view as { model_id?: unknown } | null)?.model_id;
  return typeof id === "string" ? id : undefined;
}

// After the embed bundle has run: html-manager puts each view in a `.widget-subarea` before its
// view script; once every one has content, hide the text fallbacks and say so on <body>.
const WATCH_WIDGETS = `
function tsdlWatchWidgets() {
  var t0 = Date.now();
  (function check() {
    var views = document.querySelectorAll("div.tsdl-widget");
    var drawn = 0;
    for (var i = 0; i < views.length; i++) {
      var sub = views[i].querySelector(".widget-subarea");
      if (sub && sub.children.length > 0) { drawn++; views[i].classList.add("drawn"); }
    }
    if (drawn === views.length) document.body.setAttribute("data-widgets", "drawn");
    else if (Date.now() - t0 > 30000) document.body.setAttribute("data-widgets", "failed: " + drawn + " of " + views.length + " drawn");
    else setTimeout(check, 50);
  })();
}
function tsdlWidgetsFailed(err) { document.body.setAttribute("data-widgets", "failed: " + (err && err.message || err)); }
`;

/** CSS for widget outputs: the fallback shows until the view is drawn. */
export const WIDGET_CSS = `
div.tsdl-widget.drawn > .tsdl-widget-fallback { display: none; }
div.tsdl-widget .widget-subarea { padding: 2px 0; }
`;

/** The scripts that draw the widgets: the state, then the embed bundle (gzipped or plain). */
export function widgetScripts(stateJson: string, embedding: "gzip" | "plain"): string {
  const version = htmlManagerVersion().replace(/[^\w.-]/g, "");
  const state = `<script type="${WIDGET_STATE_MIME}">${stateJson}</script>`;
  if (embedding === "plain") {
    return `${state}
<script data-html-manager-version="${version}">${scriptSafe(widgetEmbedBundle())}</script>
<script>${WATCH_WIDGETS}
tsdlWatchWidgets();
</script>`;
  }
  return `${state}
${gzipScriptData("tsdl-widgets-js", widgetEmbedGzipBase64(), `data-html-manager-version="${version}"`)}
<script>${WATCH_WIDGETS}${RUN_GZIP_SCRIPT}
// The bundle draws on window "load", which has passed by the time it has run, so it is sent again.
tsdlRunGzipScript("tsdl-widgets-js").then(function () {
  var go = function () { window.dispatchEvent(new Event("load")); tsdlWatchWidgets(); };
  if (document.readyState === "complete") go(); else window.addEventListener("load", tsdlWatchWidgets);
}).catch(tsdlWidgetsFailed);
</script>`;
}
