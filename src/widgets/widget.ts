/**
 * The kernel side of a Jupyter widget: a model whose state is kept in step with the front end over
 * one comm of target `jupyter.widget`, as the widget message protocol 2.1 (ipywidgets'
 * `packages/schema/messages.md`) describes:
 *
 * - `comm_open` with `{ state, buffer_paths }` and metadata `{ version: "2.1.0" }` makes the model;
 * - `update` carries changed keys both ways; the kernel answers a front end's update with an
 *   `echo_update` of the keys it accepted ("for echoing state in messages from a frontend to the
 *   kernel back out to all the frontends");
 * - `request_state` is answered by an `update` with the whole state; `custom` carries anything else
 *   (a Button's click);
 * - binary buffers (`Uint8Array`, `ArrayBuffer`, `DataView` anywhere in the state) travel as
 *   frames, their places named by `buffer_paths`;
 * - the `jupyter.widget.control` target answers `request_states` with every model's state.
 *
 * A front end's update is checked against the model's spec (`spec.ts`): unknown keys, wrong types
 * and buffers that do not match their paths are logged and dropped, and the state stays as it
 * was. Kernel-side updates are coalesced: at most one message per widget every
 * `UPDATE_INTERVAL_MS` (a front end redraws at 60 Hz at best), and the last value always goes out
 * (before the cell's reply at the latest).
 *
 * Outside a notebook (a plain script) widgets work the same, without a comm.
 * Introduced in notebook 01.
 */
import { randomUUID } from "node:crypto";
import { JUPYTER_DISPLAY, type MimeBundle } from "../display";
import { currentCommHost, type Comm, type CommData } from "./comm";
import { MODELS, type AttributeSpec, type ModelName } from "./spec";

/** The widget message protocol version tsdl speaks (metadata of every `comm_open`). */
export const PROTOCOL_VERSION = "2.1.0";
/** The comm target of widget models. */
export const WIDGET_TARGET = "jupyter.widget";
/** The comm target for fetching every model's state in one message. */
export const CONTROL_TARGET = "jupyter.widget.control";
/** The MIME type that displays a widget (its `model_id`). */
export const WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json";
/** At most one kernel-to-front-end update per widget in this many milliseconds (the rest coalesce). */
export const UPDATE_INTERVAL_MS = 30;

/** A model's state: attribute name to JSON value (or binary buffer). */
export type WidgetState = Record<string, unknown>;

/** One change seen by `observe`: the attribute, its old and new value, and who changed it. */
export interface Change<V = unknown> {
  name: string;
  old: V;
  new: V;
  /** "frontend" when the change came from a front end (a slider dragged), else "kernel". */
  source: "kernel" | "frontend";
  owner: Widget;
}

type Observer = { names: Set<string> | undefined; fn: (change: Change) => void };

/** The style model each control uses (as ipywidgets pairs them). */
const STYLE_OF: Partial<Record<ModelName, ModelName>> = {
  FloatSlider: "SliderStyle",
  FloatLogSlider: "SliderStyle",
  IntSlider: "SliderStyle",
  Dropdown: "DescriptionStyle",
  Checkbox: "CheckboxStyle",
  Button: "ButtonStyle",
  Play: "DescriptionStyle",
  Text: "TextStyle",
  Label: "LabelStyle",
  HTML: "HTMLStyle",
};

/** Keys a front end may not change: "These fields are assumed immutable (set at initialization, and never changed)." */
const IMMUTABLE = new Set(["_model_module", "_model_module_version", "_model_name", "_view_module", "_view_module_version", "_view_name"]);

const registry = new Map<string, Widget>();

/** Every live widget, by model id. */
export function allWidgets(): ReadonlyMap<string, Widget> {
  return registry;
}

/** The widget with this model id (or `IPY_MODEL_` reference), if it is alive. */
export function widgetById(id: string): Widget | undefined {
  return registry.get(id.startsWith("IPY_MODEL_") ? id.slice("IPY_MODEL_".length) : id);
}

/** A model and its state, kept in step with the front end. */
export class Widget {
  /** The model id: the comm id in a notebook, a fresh uuid in a script. */
  readonly id: string;
  readonly modelName: ModelName;
  private readonly state: WidgetState;
  private readonly comm: Comm | undefined;
  private readonly observers: Observer[] = [];
  private readonly customHandlers: ((content: unknown, buffers: Uint8Array[]) => void)[] = [];
  private pending: Set<string> | undefined;
  private lastSent = -Infinity;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  /** How many update messages this widget sent (coalescing makes it fewer than the changes). */
  updatesSent = 0;

  constructor(modelName: ModelName, init: WidgetState = {}, options: { comm?: Comm } = {}) {
    const spec = MODELS[modelName];
    if (!spec) throw new TypeError(`unknown widget model ${JSON.stringify(modelName)}; known: ${Object.keys(MODELS).join(", ")}`);
    this.modelName = modelName;
    const state: WidgetState = {};
    for (const [key, attr] of Object.entries(spec.attributes) as [string, AttributeSpec][]) {
      state[key] = structuredClone(attr.default);
    }
    if ("layout" in spec.attributes && init.layout === undefined && !options.comm) state.layout = ref(new Widget("Layout"));
    const styleName = STYLE_OF[modelName];
    if (styleName && init.style === undefined && !options.comm) state.style = ref(new Widget(styleName));
    this.state = state;
    // Types first, then ranges (so `{ value: 500, max: 1000 }` is not clamped to the default max).
    for (const [key, value] of Object.entries(init)) {
      const v = value instanceof Widget ? ref(value) : Array.isArray(value) ? value.map((x) => (x instanceof Widget ? ref(x) : x)) : value;
      const checked = this.check(key, v, false);
      if (!checked.ok) throw new TypeError(`${modelName}: ${checked.reason}`);
      state[key] = checked.value;
    }
    for (const key of Object.keys(init)) {
      const c = this.coerce(key, state[key]);
      if (!c.ok) throw new TypeError(`${modelName}: ${c.reason}`);
      state[key] = c.value;
    }
    const host = currentCommHost();
    if (options.comm) {
      this.comm = options.comm;
    } else if (host) {
      ensureTargets();
      const { state: json, buffers, buffer_paths } = removeBuffers(state);
      this.comm = host.open(WIDGET_TARGET, { state: json, buffer_paths }, { metadata: { version: PROTOCOL_VERSION }, buffers });
    }
    this.id = this.comm?.id ?? randomUUID().replace(/-/g, "");
    this.comm?.onMessage((data, buffers) => this.onFrontEnd(data, buffers));
    this.comm?.onClose(() => this.forget());
    registry.set(this.id, this);
  }

  /** The value of one attribute. */
  get(key: string): unknown {
    return this.state[key];
  }

  /** A copy of the whole state (references as `IPY_MODEL_<id>` strings). */
  getState(): WidgetState {
    return { ...this.state };
  }

  /** Change attributes: each is checked against the model's spec; observers run; the front end is told. */
  set(patch: WidgetState): this {
    const checked: [string, unknown][] = [];
    for (const [key, value] of Object.entries(patch)) {
      const v = value instanceof Widget ? ref(value) : Array.isArray(value) ? value.map((x) => (x instanceof Widget ? ref(x) : x)) : value;
      const c = this.check(key, v);
      if (!c.ok) throw new TypeError(`${this.modelName}: ${c.reason}`);
      checked.push([key, c.value]);
    }
    this.apply(checked, "kernel");
    return this;
  }

  /**
   * Call `fn` when attributes change (all, or only `names`). Returns a function that stops it.
   * `slider.observe(({ new: v }) => console.log(v), "value")`.
   */
  observe(fn: (change: Change) => void, names?: string | string[]): () => void {
    const o: Observer = { fn, names: names === undefined ? undefined : new Set(Array.isArray(names) ? names : [names]) };
    this.observers.push(o);
    return () => {
      const i = this.observers.indexOf(o);
      if (i >= 0) this.observers.splice(i, 1);
    };
  }

  /** Send a `custom` message to the front end. */
  send(content: unknown, buffers: Uint8Array[] = []): void {
    this.comm?.send({ method: "custom", content }, { buffers });
  }

  /** Call `fn` for each `custom` message from the front end. */
  onCustom(fn: (content: unknown, buffers: Uint8Array[]) => void): void {
    this.customHandlers.push(fn);
  }

  /** Send coalesced changes now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const keys = this.pending;
    this.pending = undefined;
    if (!keys || keys.size === 0 || this.closed) return;
    const patch: WidgetState = {};
    for (const k of keys) patch[k] = this.state[k];
    this.sendState("update", patch);
    this.lastSent = Date.now();
  }

  /** Close the widget's comm; the front end drops the model and its views. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.comm?.close();
    this.forget();
  }

  /** The widget's view in a notebook, plus a text/plain fallback. */
  [JUPYTER_DISPLAY](): MimeBundle {
    const bundle: MimeBundle = { "text/plain": this.toString() };
    if (this.comm && !this.closed) bundle[WIDGET_VIEW_MIME] = { version_major: 2, version_minor: 0, model_id: this.id };
    return bundle;
  }

  toString(): string {
    const v = this.state.value;
    const shown = v === undefined ? "" : `value=${typeof v === "string" ? JSON.stringify(v) : String(v)}`;
    const d = typeof this.state.description === "string" && this.state.description !== "" ? `description=${JSON.stringify(this.state.description)}` : "";
    return `${this.modelName}(${[shown, d].filter(Boolean).join(", ")})`;
  }

  // ---- for subclasses ---------------------------------------------------------------------------

  /** Adjust a value that passed the type check (clamp it to a range, say); return a reason to refuse it. */
  protected coerce(_key: string, value: unknown): { ok: true; value: unknown } | { ok: false; reason: string } {
    return { ok: true, value };
  }

  /** Called after changes were applied, with the changed keys (before observers of other keys). */
  protected changed(_keys: string[], _source: "kernel" | "frontend"): void {}

  /** Tell observers of `name` about a change of a derived value (Dropdown's value when its index moves). */
  protected notify(name: string, old: unknown, value: unknown, source: "kernel" | "frontend"): void {
    for (const o of [...this.observers]) {
      if (o.names && !o.names.has(name)) continue;
      o.fn({ name, old, new: value, source, owner: this });
    }
  }

  // ---- internals --------------------------------------------------------------------------------

  private check(key: string, value: unknown, coerce = true): { ok: true; value: unknown } | { ok: false; reason: string } {
    const attr = (MODELS[this.modelName].attributes as Record<string, AttributeSpec>)[key];
    if (!attr) return { ok: false, reason: `unknown attribute ${JSON.stringify(key)} (${this.modelName} has ${Object.keys(MODELS[this.modelName].attributes).join(", ")})` };
    const why = typeError(attr, value);
    if (why) return { ok: false, reason: `${key} must be ${why}, found ${describe(value)}` };
    return coerce ? this.coerce(key, value) : { ok: true, value };
  }

  private apply(changes: [string, unknown][], source: "kernel" | "frontend"): void {
    const changed: { key: string; old: unknown }[] = [];
    for (const [key, value] of changes) {
      const old = this.state[key];
      if (sameValue(old, value)) continue;
      this.state[key] = value;
      changed.push({ key, old });
    }
    if (changed.length === 0) return;
    if (source === "kernel") this.queue(changed.map((c) => c.key));
    this.changed(
      changed.map((c) => c.key),
      source,
    );
    for (const { key, old } of changed) this.notify(key, old, this.state[key], source);
  }

  private queue(keys: string[]): void {
    if (!this.comm || this.closed) return;
    this.pending ??= new Set();
    for (const k of keys) this.pending.add(k);
    const wait = this.lastSent + UPDATE_INTERVAL_MS - Date.now();
    if (wait <= 0) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), wait);
  }

  private sendState(method: "update" | "echo_update", patch: WidgetState): void {
    if (!this.comm) return;
    const { state, buffers, buffer_paths } = removeBuffers(patch);
    this.comm.send({ method, state, buffer_paths }, { buffers });
    if (method === "update") this.updatesSent++;
  }

  private onFrontEnd(data: CommData, buffers: Uint8Array[]): void {
    const method = data.method;
    switch (method) {
      case "update": {
        const state = data.state;
        if (state === null || typeof state !== "object" || Array.isArray(state)) {
          this.log(`dropped an update: state must be an object, found ${describe(state)}`);
          return;
        }
        const placed = putBuffers(state as WidgetState, data.buffer_paths, buffers);
        if (typeof placed === "string") {
          this.log(`dropped an update: ${placed}`);
          return;
        }
        const accepted: [string, unknown][] = [];
        for (const [key, value] of Object.entries(placed)) {
          if (IMMUTABLE.has(key)) {
            this.log(`ignored ${key} in an update: it is fixed when the model is made`);
            continue;
          }
          const c = this.check(key, value);
          if (!c.ok) {
            this.log(`ignored ${key} in an update: ${c.reason}`);
            continue;
          }
          accepted.push([key, c.value]);
        }
        if (accepted.length === 0) return;
        // Echo what the kernel took, to every front end (the sender recognises its own by parent).
        this.sendState("echo_update", Object.fromEntries(accepted));
        this.apply(accepted, "frontend");
        return;
      }
      case "request_state":
        this.flush();
        this.sendState("update", this.state);
        return;
      case "custom":
        for (const h of [...this.customHandlers]) h(data.content, buffers);
        return;
      default:
        this.log(`dropped a message with method ${describe(method)}; expected update, request_state or custom`);
    }
  }

  private log(line: string): void {
    currentCommHost()?.log(`widget ${this.modelName} ${this.id}: ${line}`);
  }

  private forget(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    registry.delete(this.id);
  }
}

/** `IPY_MODEL_<id>`: how one model's state refers to another. */
export function ref(w: Widget): string {
  return `IPY_MODEL_${w.id}`;
}

// ---- the comm targets ---------------------------------------------------------------------------

let targetsFor: unknown;

/** Register the `jupyter.widget` and `jupyter.widget.control` comm targets with the kernel (once per host). */
export function ensureTargets(): void {
  const host = currentCommHost();
  if (!host || targetsFor === host) return;
  targetsFor = host;
  host.onFlush(() => {
    for (const w of registry.values()) w.flush();
  });
  host.registerTarget(CONTROL_TARGET, (comm) => {
    comm.onMessage((data) => {
      if (data.method !== "request_states") {
        host.log(`${CONTROL_TARGET}: dropped a message with method ${describe(data.method)}; expected request_states`);
        return;
      }
      comm.send(...allStates());
    });
  });
  host.registerTarget(WIDGET_TARGET, (comm, data, buffers) => {
    // A model made by the front end: accepted when tsdl knows its model.
    const state = putBuffers((data.state ?? {}) as WidgetState, data.buffer_paths, buffers);
    const name = typeof state === "object" ? String(state._model_name ?? "").replace(/Model$/, "") : "";
    if (typeof state === "string" || !(name in MODELS)) {
      host.log(`${WIDGET_TARGET}: closed comm ${comm.id}: ${typeof state === "string" ? state : `unknown model ${JSON.stringify(name)}`}`);
      comm.close();
      return;
    }
    const init: WidgetState = {};
    for (const [k, v] of Object.entries(state)) if (!IMMUTABLE.has(k)) init[k] = v;
    new Widget(name as ModelName, init, { comm });
  });
}

/** The `update_states` reply: every model's state, with buffers (paths `[id, "state", ...]`). */
function allStates(): [CommData, { buffers: Uint8Array[] }] {
  for (const w of registry.values()) w.flush();
  const states: Record<string, unknown> = {};
  for (const w of registry.values()) {
    const s = w.getState();
    states[w.id] = { model_name: s._model_name, model_module: s._model_module, model_module_version: s._model_module_version, state: s };
  }
  const { state, buffers, buffer_paths } = removeBuffers(states);
  return [{ method: "update_states", states: state, buffer_paths }, { buffers }];
}

/** The state every live widget has now, as the notebook metadata stores it (version 2.0 of the widget-state schema). */
export function widgetStateSnapshot(): { version_major: 2; version_minor: 0; state: Record<string, unknown> } {
  const [data] = allStates();
  return { version_major: 2, version_minor: 0, state: data.states as Record<string, unknown> };
}

// ---- checks and buffers -------------------------------------------------------------------------

function typeError(attr: AttributeSpec, v: unknown): string | undefined {
  if (v === null) return attr.allowNone || attr.type === "any" ? undefined : `a ${attr.type} (not null)`;
  if (v === undefined) return `a ${attr.type}`;
  switch (attr.type) {
    case "string":
      if (typeof v !== "string") return "a string";
      if (attr.enum && !attr.enum.includes(v)) return `one of ${attr.enum.map((e) => JSON.stringify(e)).join(", ")}`;
      return undefined;
    case "bool":
      return typeof v === "boolean" ? undefined : "a boolean";
    case "int":
      return typeof v === "number" && Number.isInteger(v) ? undefined : "an integer";
    case "float":
      return typeof v === "number" && Number.isFinite(v) ? undefined : "a finite number";
    case "array":
      return Array.isArray(v) ? undefined : "an array";
    case "object":
      return typeof v === "object" && !Array.isArray(v) ? undefined : "an object";
    case "reference":
      return typeof v === "string" && v.startsWith("IPY_MODEL_") ? undefined : 'a widget reference ("IPY_MODEL_<id>")';
    case "bytes":
      return isBinary(v) ? undefined : "binary data";
    default:
      return undefined;
  }
}

function isBinary(v: unknown): v is ArrayBuffer | ArrayBufferView {
  return v instanceof ArrayBuffer || ArrayBuffer.isView(v);
}

function toBytes(v: ArrayBuffer | ArrayBufferView): Uint8Array {
  return v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/**
 * Take the binary buffers out of a state: "All binary buffers that are a descendant of the state
 * object (in a nested object or list) will be removed from an object or replaced by null in a list."
 */
export function removeBuffers(state: WidgetState): { state: WidgetState; buffers: Uint8Array[]; buffer_paths: (string | number)[][] } {
  const buffers: Uint8Array[] = [];
  const buffer_paths: (string | number)[][] = [];
  const walk = (v: unknown, path: (string | number)[]): unknown => {
    if (isBinary(v)) {
      buffers.push(toBytes(v));
      buffer_paths.push(path);
      return undefined;
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, i]) ?? null);
    if (v !== null && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const w = walk(x, [...path, k]);
        if (w !== undefined || !isBinary(x)) out[k] = w;
      }
      return out;
    }
    return v;
  };
  return { state: walk(state, []) as WidgetState, buffers, buffer_paths };
}

/** Put received buffers back at their `buffer_paths`; a string says why they do not fit. */
export function putBuffers(state: WidgetState, paths: unknown, buffers: Uint8Array[]): WidgetState | string {
  const list = paths === undefined ? [] : paths;
  if (!Array.isArray(list)) return `buffer_paths must be an array of paths, found ${describe(paths)}`;
  if (list.length !== buffers.length) return `buffer_paths names ${list.length} buffers, but the message carries ${buffers.length}`;
  if (list.length === 0) return state;
  const out = structuredClone(state);
  for (let i = 0; i < list.length; i++) {
    const p = list[i];
    if (!Array.isArray(p) || p.length === 0 || !p.every((k) => typeof k === "string" || (typeof k === "number" && Number.isInteger(k) && k >= 0))) {
      return `buffer_paths[${i}] must be a non-empty list of keys and indices, found ${describe(p)}`;
    }
    let obj: unknown = out;
    for (let j = 0; j < p.length - 1; j++) {
      obj = (obj as Record<string | number, unknown>)?.[p[j]];
      if (obj === null || typeof obj !== "object") return `buffer_paths[${i}] ${JSON.stringify(p)} leads nowhere in the state`;
    }
    (obj as Record<string | number, unknown>)[p[p.length - 1]] = buffers[i];
  }
  return out;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (isBinary(a) || isBinary(b)) return false;
  try {
    return JSON.stringify(a) === JSON.stringify(b);
  } catch {
    return false;
  }
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return `an array (${v.length} items)`;
  if (isBinary(v)) return "binary data";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v);
  if (typeof v === "object") return "an object";
  return `${typeof v} ${String(v)}`;
}
