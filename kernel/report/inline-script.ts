/**
 * A large script embedded in a report page gzipped and in base64, and unpacked by the browser.
 *
 * plotly.js (10 MB) and the widget bundle (2 MB) shrink to about a quarter this way. The page
 * unpacks them with DecompressionStream (Chrome 80, Firefox 113, Safari 16.4) and runs each as an
 * inline script, so no request is made and the report's Content-Security-Policy holds.
 */

/** A `<script>` element holding `base64` (gzip bytes) as data, not code, with `id` and `attrs`. */
export function gzipScriptData(id: string, base64: string, attrs = ""): string {
  return `<script type="application/gzip-base64" id="${id}"${attrs ? ` ${attrs}` : ""}>${base64}</script>`;
}

/**
 * JavaScript that defines `tsdlRunGzipScript(id)`: it unpacks the data element `id`, runs it as a
 * script, and returns a promise that settles when it has run. Defined once per page; a second copy
 * (a report with both charts and widgets) defines the same function again, which is harmless.
 */
export const RUN_GZIP_SCRIPT = `
function tsdlRunGzipScript(id) {
  return Promise.resolve().then(function () {
    var bin = atob(document.getElementById(id).textContent);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text();
  }).then(function (src) {
    var s = document.createElement("script");
    s.textContent = src;
    document.head.appendChild(s);
  });
}
`;

/** A plain script's source made safe inside `<script>`: `</script` cannot appear there. */
export function scriptSafe(src: string): string {
  // "<\/script" means the same as "</script" in JS strings, regular expressions and comments.
  return src.replace(/<\/(script)/gi, "<\\/$1");
}
