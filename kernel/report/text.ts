/**
 * Turning untrusted text (streams, text/plain, tracebacks) into HTML that shows it and runs
 * nothing: terminal control is applied (carriage returns, backspaces), HTML is escaped, and ANSI
 * colour codes become classed spans.
 *
 * ANSI parsing uses `anser` (the library JupyterLab uses for the same job) rather than a
 * hand-written regex: SGR codes come in many forms (16, 256 and 24-bit colours, combined
 * attributes), and anser knows them all.
 */
import Anser from "anser";

/** Escapes `&`, `<`, `>`, `"` and `'` for use in HTML text or a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/**
 * Applies what a terminal would do with `\r` and `\b`: a carriage return (not before `\n`) starts
 * the line over, a backspace deletes the character before it. Progress bars printed with `\r`
 * then show their last state, as in Jupyter.
 */
export function applyTerminalControls(text: string): string {
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  return lines
    .map((line) => {
      const cr = line.lastIndexOf("\r", line.length - 1);
      let l = cr >= 0 ? line.slice(cr + 1) : line;
      while (l.includes("\x08")) l = l.replace(/[^\x08]?\x08/, "");
      return l;
    })
    .join("\n");
}

// C0 control characters other than tab and newline, and DEL: left over after ANSI parsing
// (e.g. the BEL that ends an OSC sequence), they have no place in HTML text.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

/** Untrusted terminal text as safe HTML: controls applied, escaped, ANSI colours as `ansi-*` classed spans. */
export function terminalTextToHtml(text: string): string {
  const escaped = Anser.escapeForHtml(applyTerminalControls(text));
  // anser builds its spans from the colour codes only (class names and rgb() numbers), and the
  // text between them is already escaped, so the result carries no markup from the input.
  return Anser.ansiToHtml(escaped, { use_classes: true }).replace(CONTROL, "");
}

/** The text with ANSI escape sequences and other control characters removed. */
export function stripAnsi(text: string): string {
  return Anser.ansiToText(applyTerminalControls(text)).replace(CONTROL, "");
}
