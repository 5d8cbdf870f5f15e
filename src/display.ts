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
  display(bundle: MimeBundle, options: { displayId?: string; update?: boolean; metadata?: Record<string, unknown> }): void;
  /** Send `clear_output` (with `wait`, the front end clears only when the next output arrives). */
  clear?(wait: boolean): void;
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

/**
 * Give a plain object one text for every way it is shown: `String(obj)`, `text/plain` (a cell's
 * result, `display(obj)`) and `console.log(obj)` (util.inspect). The methods are not enumerable,
 * so they do not show as fields.
 */
export function withText<T extends object>(obj: T, text: () => string): T {
  const { inspect } = require("node:util") as typeof import("node:util");
  for (const [key, value] of [
    ["toString", text],
    [JUPYTER_DISPLAY, () => ({ "text/plain": text() })],
    [inspect.custom, text],
  ] as const) {
    Object.defineProperty(obj, key, { value, enumerable: false, configurable: true, writable: true });
  }
  return obj;
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

/** Marks the handles `display()` returns, so a cell that ends in `display(x)` shows no result. */
const HANDLE = Symbol.for("tsdl.display.handle");

/** True for the handle `display()` and its helpers return (the kernel never shows one as a result). */
export function isDisplayHandle(value: unknown): value is DisplayHandle {
  return value !== null && typeof value === "object" && (value as { [HANDLE]?: unknown })[HANDLE] === true;
}

function makeHandle(displayId: string, update: (next: unknown) => void): DisplayHandle {
  const handle = { displayId, update };
  Object.defineProperty(handle, HANDLE, { value: true, enumerable: false });
  return handle;
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
  return showBundle(toBundle(value), options, toBundle);
}

/** Send one display_data for `bundle` (or print its text/plain in a script); the handle redraws with `rebuild`. */
function showBundle(bundle: MimeBundle, options: ShowOptions, rebuild: (next: unknown) => MimeBundle): DisplayHandle {
  const displayId =
    options.id === true || options.id === undefined ? newDisplayId() : String(options.id);
  const host = currentHost();
  if (host) {
    host.display(bundle, { displayId: options.id === undefined ? undefined : displayId, metadata: options.metadata });
  } else {
    process.stdout.write(String(bundle["text/plain"]) + "\n");
  }
  return makeHandle(displayId, (next: unknown) => sendUpdate(displayId, rebuild(next), options.metadata));
}

/** Redraw the display with this id (sends `update_display_data`). In a script, prints again. */
function updateImpl(displayId: string, value: unknown): void {
  sendUpdate(displayId, toBundle(value));
}

function sendUpdate(displayId: string, bundle: MimeBundle, metadata?: Record<string, unknown>): void {
  const host = currentHost();
  if (host) host.display(bundle, { displayId, update: true, metadata });
  else process.stdout.write(String(bundle["text/plain"]) + "\n");
}

/** Options of the display helpers: `id` as for `display()`, `metadata` sent with the display_data. */
export interface ShowOptions {
  id?: string | true;
  metadata?: Record<string, unknown>;
}

/** Options of `display.png` / `display.jpeg`: the size to show the image at, in CSS pixels. */
export interface ImageOptions extends ShowOptions {
  width?: number;
  height?: number;
}

/** One helper: checks and wraps its argument into a bundle, then shows it as ONE display_data. */
function helper<T, O extends ShowOptions = ShowOptions>(
  name: string,
  toMime: (value: T, options: O) => MimeBundle,
): (value: T, options?: O) => DisplayHandle {
  return (value: T, options: O = {} as O) => {
    const rebuild = (next: unknown) => toMime(next as T, options);
    return showBundle(rebuild(value), { ...options, metadata: options.metadata ?? metadataOf(name, options) }, rebuild);
  };
}

function metadataOf(name: string, options: ImageOptions): Record<string, unknown> | undefined {
  if (options.width === undefined && options.height === undefined) return undefined;
  const size: Record<string, number> = {};
  for (const key of ["width", "height"] as const) {
    const v = options[key];
    if (v === undefined) continue;
    if (typeof v !== "number" || !(v > 0)) throw new TypeError(`display.${name}: ${key} must be a positive number, found ${describeValue(v)}`);
    size[key] = v;
  }
  return { [`image/${name}`]: size };
}

function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
  if (typeof v === "object") return `an object (${Object.prototype.toString.call(v).slice(8, -1)})`;
  return `${typeof v} ${String(v)}`;
}

function needString(name: string, what: string, v: unknown): string {
  if (typeof v !== "string") throw new TypeError(`display.${name}: expected a string of ${what}, found ${describeValue(v)}`);
  return v;
}

/** Bytes of a PNG or JPEG: given as bytes, or read from the file a string names. */
function imageBytes(name: "png" | "jpeg", v: unknown): Uint8Array {
  let bytes: Uint8Array;
  let from = "the bytes given";
  if (typeof v === "string") {
    const { readFileSync } = require("node:fs") as typeof import("node:fs");
    try {
      bytes = readFileSync(v);
    } catch (err) {
      throw new Error(`display.${name}: cannot read ${v}: ${(err as Error).message}`);
    }
    from = v;
  } else if (v instanceof Uint8Array) {
    bytes = v;
  } else if (v instanceof ArrayBuffer) {
    bytes = new Uint8Array(v);
  } else {
    throw new TypeError(`display.${name}: expected the image's bytes (Uint8Array or Buffer) or a file path, found ${describeValue(v)}`);
  }
  const signature = name === "png" ? [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] : [0xff, 0xd8, 0xff];
  if (!signature.every((b, i) => bytes[i] === b)) {
    const head = Array.from(bytes.subarray(0, signature.length), (b) => b.toString(16).padStart(2, "0")).join(" ");
    const want = signature.map((b) => b.toString(16).padStart(2, "0")).join(" ");
    throw new Error(`display.${name}: ${from} is not a ${name.toUpperCase()} image: it starts with ${head || "nothing"}, expected ${want}`);
  }
  return bytes;
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

const MIME_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i;

/** A raw MIME bundle, checked: an object of MIME types to strings or JSON values, text/plain added if missing. */
function checkBundle(b: unknown): MimeBundle {
  if (b === null || typeof b !== "object" || Array.isArray(b)) {
    throw new TypeError(`display.bundle: expected an object of MIME type to data, found ${describeValue(b)}`);
  }
  const keys = Object.keys(b);
  if (keys.length === 0) throw new TypeError("display.bundle: expected at least one MIME type, found an empty object");
  for (const k of keys) {
    if (!MIME_TYPE.test(k)) throw new TypeError(`display.bundle: expected MIME types such as "text/html" as keys, found ${JSON.stringify(k)}`);
    const v = (b as MimeBundle)[k];
    if (!k.includes("json") && typeof v !== "string") {
      throw new TypeError(`display.bundle: ${k} must be a string (only JSON MIME types take other values), found ${describeValue(v)}`);
    }
  }
  const bundle = { ...(b as MimeBundle) };
  return "text/plain" in bundle ? bundle : { "text/plain": `[${keys.join(", ")}]`, ...bundle };
}

function jsonBundle(v: unknown): MimeBundle {
  let text: string | undefined;
  try {
    text = JSON.stringify(v, null, 2);
  } catch (err) {
    throw new TypeError(`display.json: expected a JSON value, and this one cannot be serialized: ${(err as Error).message}`);
  }
  if (text === undefined) throw new TypeError(`display.json: expected a JSON value, found ${describeValue(v)}`);
  return { "application/json": JSON.parse(text) as unknown, "text/plain": text };
}

const helpers = {
  /** `display.html(s)`: one display_data of `text/html` (kept as is: HTML you trust). */
  html: helper<string>("html", (s) => ({ "text/html": needString("html", "HTML", s), "text/plain": "[HTML]" })),
  /** `display.markdown(s)`: `text/markdown`, with the source as `text/plain`. */
  markdown: helper<string>("markdown", (s) => ({ "text/markdown": needString("markdown", "Markdown", s), "text/plain": s })),
  /** `display.latex(s)`: `text/latex` (math in `$…$` or `$$…$$`), with the source as `text/plain`. */
  latex: helper<string>("latex", (s) => ({ "text/latex": needString("latex", "LaTeX", s), "text/plain": s })),
  /** `display.svg(markup)`: `image/svg+xml`. */
  svg: helper<string>("svg", (s) => {
    const markup = needString("svg", "SVG markup", s);
    if (!/<svg[\s>]/.test(markup)) throw new Error(`display.svg: expected SVG markup containing an <svg> element, found ${describeValue(markup)}`);
    return { "image/svg+xml": markup, "text/plain": "[SVG image]" };
  }),
  /** `display.png(bytesOrPath, { width, height })`: `image/png`, base64. */
  png: helper<Uint8Array | ArrayBuffer | string, ImageOptions>("png", (v) => {
    const bytes = imageBytes("png", v);
    return { "image/png": base64(bytes), "text/plain": `[PNG image, ${bytes.length} bytes]` };
  }),
  /** `display.jpeg(bytesOrPath, { width, height })`: `image/jpeg`, base64. */
  jpeg: helper<Uint8Array | ArrayBuffer | string, ImageOptions>("jpeg", (v) => {
    const bytes = imageBytes("jpeg", v);
    return { "image/jpeg": base64(bytes), "text/plain": `[JPEG image, ${bytes.length} bytes]` };
  }),
  /** `display.json(value)`: `application/json` (a front end shows it as a tree), pretty JSON as `text/plain`. */
  json: helper<unknown>("json", jsonBundle),
  /** `display.text(s)`: `text/plain` only. */
  text: helper<string>("text", (s) => ({ "text/plain": needString("text", "text", s) })),
  /** `display.bundle({ "text/html": ..., "text/plain": ... })`: a raw MIME bundle, checked. */
  bundle: helper<MimeBundle>("bundle", checkBundle),
  /** `display.clear({ wait })`: send `clear_output`; with `wait`, the front end clears when the next output arrives. */
  clear(options: { wait?: boolean } = {}): void {
    const host = currentHost();
    if (host?.clear) host.clear(options.wait === true);
  },
};

/**
 * `display(obj)`, `display(obj, { id })`, `display.update(id, obj)`, and one helper per kind of
 * output (as IPython.display, tslab and Deno offer): `display.html`, `markdown`, `latex`, `svg`,
 * `png`, `jpeg`, `json`, `text`, `bundle`, and `display.clear`.
 */
export const display: typeof displayImpl & { update: typeof updateImpl } & typeof helpers = Object.assign(
  displayImpl,
  { update: updateImpl },
  helpers,
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
