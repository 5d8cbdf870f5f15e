/**
 * Rich display, shared by notebooks and plain Node scripts.
 *
 * An object renders itself by implementing `[Symbol.for("Jupyter.display")]()` and returning a
 * MIME bundle (the protocol Deno's Jupyter kernel uses). In a notebook, the tsdl kernel registers a
 * host (see `registerHost`) and `display()` sends one `display_data` message; `update()` sends
 * `update_display_data` for the same display id. Outside a notebook, `display()` prints the
 * bundle's `text/plain` to stdout, so the same code runs in a script.
 *
 * The library never imports the kernel: the kernel calls `registerHost` on start-up.
 * Introduced in notebook 01.
 */

/** The method name of the self-display protocol. */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display") as never;

/** A MIME bundle: MIME type to data (strings, base64 for binary images, or JSON values). */
export type MimeBundle = Record<string, unknown>;

/** Anything that renders itself as a MIME bundle. */
export interface Displayable {
  [JUPYTER_DISPLAY](): MimeBundle;
}

/** What a notebook front end offers the library. Implemented by the tsdl kernel. */
export interface NotebookHost {
  /** Send `display_data`, or `update_display_data` when `update` is true, for `bundle`. */
  display(bundle: MimeBundle, options: { displayId?: string; update?: boolean }): void;
  /** Ask the user for a line of input over the stdin channel. Rejects when the client does not allow stdin. */
  input(prompt: string, options?: { password?: boolean }): Promise<string>;
}

const HOST_KEY = Symbol.for("tsdl.notebook.host");

type HostSlot = { [HOST_KEY]?: NotebookHost };

/** Called by the kernel. Registering `undefined` returns the library to script mode. */
export function registerHost(host: NotebookHost | undefined): void {
  (globalThis as HostSlot)[HOST_KEY] = host;
}

/** The registered notebook host, or undefined in a plain Node script. */
export function currentHost(): NotebookHost | undefined {
  return (globalThis as HostSlot)[HOST_KEY];
}

/** True when running inside the tsdl kernel. */
export function inNotebook(): boolean {
  return currentHost() !== undefined;
}

/** True if `value` implements the self-display protocol. */
export function isDisplayable(value: unknown): value is Displayable {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as Partial<Displayable>)[JUPYTER_DISPLAY] === "function"
  );
}

/**
 * The MIME bundle for any value: its own bundle when it has one (always with a `text/plain`),
 * otherwise `text/plain` from `util.inspect`.
 */
export function toBundle(value: unknown): MimeBundle {
  if (isDisplayable(value)) {
    const bundle = value[JUPYTER_DISPLAY]();
    if (bundle === null || typeof bundle !== "object" || Array.isArray(bundle)) {
      throw new TypeError(
        `[Symbol.for("Jupyter.display")]() must return a MIME bundle object, found ${describe(bundle)}`,
      );
    }
    if (!("text/plain" in bundle)) return { "text/plain": plainText(value), ...bundle };
    return bundle;
  }
  return { "text/plain": plainText(value) };
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v;
}

function plainText(value: unknown): string {
  if (typeof value === "string") return value;
  // Lazy require keeps this module loadable in a browser bundle.
  const { inspect } = require("node:util") as typeof import("node:util");
  return inspect(value, { depth: 4, colors: false, maxArrayLength: 50 });
}

/** A handle to one display area, updatable in place. */
export interface DisplayHandle {
  readonly displayId: string;
  /** Replace what this display shows. */
  update(value: unknown): void;
}

let counter = 0;

function newDisplayId(): string {
  const { randomBytes } = require("node:crypto") as typeof import("node:crypto");
  return `tsdl-${process.pid}-${++counter}-${randomBytes(4).toString("hex")}`;
}

/**
 * Show `value` with every MIME type it offers, in ONE display_data message.
 * Pass `{ id }` (or `{ id: true }` for a fresh one) to get a display that `update` can redraw.
 */
function displayImpl(value: unknown, options: { id?: string | true } = {}): DisplayHandle {
  const displayId =
    options.id === true || options.id === undefined ? newDisplayId() : String(options.id);
  const bundle = toBundle(value);
  const host = currentHost();
  if (host) {
    host.display(bundle, { displayId: options.id === undefined ? undefined : displayId });
  } else {
    process.stdout.write(String(bundle["text/plain"]) + "\n");
  }
  return {
    displayId,
    update: (next: unknown) => updateImpl(displayId, next),
  };
}

/** Redraw the display with this id (sends `update_display_data`). In a script, prints again. */
function updateImpl(displayId: string, value: unknown): void {
  const bundle = toBundle(value);
  const host = currentHost();
  if (host) host.display(bundle, { displayId, update: true });
  else process.stdout.write(String(bundle["text/plain"]) + "\n");
}

/** `display(obj)`, `display(obj, { id })`, and `display.update(id, obj)`. */
export const display: typeof displayImpl & { update: typeof updateImpl } = Object.assign(
  displayImpl,
  { update: updateImpl },
);

/**
 * Read a line from the notebook user (`await dl.input("Your name? ")`). In a plain script, reads a
 * line from stdin.
 */
export async function input(prompt: string, options: { password?: boolean } = {}): Promise<string> {
  const host = currentHost();
  if (host) return host.input(prompt, options);
  const readline = require("node:readline") as typeof import("node:readline");
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  try {
    return await new Promise<string>((resolve) => rl.question(prompt, resolve));
  } finally {
    rl.close();
  }
}

/** Escape text for safe inclusion in HTML (element content and attribute values). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) =>
    c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : "&#39;",
  );
}
