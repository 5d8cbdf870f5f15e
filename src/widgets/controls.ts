/**
 * The controls a learner uses, typed: each is a `Widget` of a model of `@jupyter-widgets/controls`
 * 2.0 with a `value` and `observe`. Display one with `display(w)` or as a cell's last value.
 * Introduced in notebook 01.
 */
import { Widget, ref, widgetById, type Change, type WidgetState } from "./widget";
import type { ModelName } from "./spec";

/** Options every control takes: a label, a tooltip, and whether it is greyed out. */
export interface ControlOptions {
  description?: string;
  tooltip?: string | null;
  disabled?: boolean;
  /** CSS layout, e.g. `{ width: "400px" }` (a Layout model is made for it). */
  layout?: Partial<Record<LayoutKey, string | null>>;
  /** Style attributes, e.g. `{ description_width: "120px" }`. */
  style?: Record<string, unknown>;
}

/** The CSS properties a Layout model carries. */
export type LayoutKey =
  | "width" | "height" | "min_width" | "max_width" | "min_height" | "max_height" | "margin" | "padding" | "border_top" | "border_right"
  | "border_bottom" | "border_left" | "display" | "flex" | "flex_flow" | "align_items" | "align_content" | "align_self" | "justify_content"
  | "overflow" | "visibility" | "order" | "grid_area";

/** A widget with a typed `value`. */
export abstract class ValueWidget<V> extends Widget {
  /** The current value (setting it updates the front end). */
  get value(): V {
    return this.get("value") as V;
  }
  set value(v: V) {
    this.set({ value: v });
  }

  /** The label beside the control. */
  get description(): string {
    return this.get("description") as string;
  }
  set description(v: string) {
    this.set({ description: v });
  }
  /** True greys the control out. */
  get disabled(): boolean {
    return this.get("disabled") as boolean;
  }
  set disabled(v: boolean) {
    this.set({ disabled: v });
  }

  /** Call `fn` with each new value (from the front end or the kernel); returns a function that stops it. */
  onChange(fn: (value: V, change: Change<V>) => void): () => void {
    return this.observe((c) => fn(c.new as V, c as Change<V>), "value");
  }
}

/** Split ControlOptions into model attributes, making the Layout and Style models it names. */
export function attrs(model: ModelName, options: ControlOptions & Record<string, unknown>, styleModel?: ModelName): WidgetState {
  const { layout, style, ...rest } = options;
  const out: WidgetState = {};
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) out[k] = v;
  if (layout) out.layout = ref(new Widget("Layout", layout));
  if (style && styleModel) out.style = ref(new Widget(styleModel, style));
  else if (style) throw new TypeError(`${model} has no style model`);
  return out;
}

function clampTo(min: unknown, max: unknown, v: number): number {
  return Math.min(Math.max(v, Number(min)), Number(max));
}

/** Range checks shared by the sliders: min ≤ max, and value clamped into [min, max] as ipywidgets does. */
function coerceRange(w: Widget, key: string, value: unknown): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (key === "value" && typeof value === "number") return { ok: true, value: clampTo(w.get("min"), w.get("max"), value) };
  if (key === "min" && typeof value === "number" && value > Number(w.get("max"))) return { ok: false, reason: `min ${value} is above max ${w.get("max")}` };
  if (key === "max" && typeof value === "number" && value < Number(w.get("min"))) return { ok: false, reason: `max ${value} is below min ${w.get("min")}` };
  if (key === "step" && typeof value === "number" && !(value > 0)) return { ok: false, reason: `step must be above 0, found ${value}` };
  return { ok: true, value };
}

/** Slider options: range, step, readout and whether the value updates while dragging. */
export interface SliderOptions<V extends number> extends ControlOptions {
  value?: V;
  min?: V;
  max?: V;
  step?: V;
  orientation?: "horizontal" | "vertical";
  readout?: boolean;
  readout_format?: string;
  continuous_update?: boolean;
}

/** A value widget with a range: `min`, `max` and `step`, settable. */
export abstract class RangeWidget extends ValueWidget<number> {
  get min(): number {
    return this.get("min") as number;
  }
  set min(v: number) {
    this.set({ min: v });
  }
  get max(): number {
    return this.get("max") as number;
  }
  set max(v: number) {
    this.set({ max: v });
  }
  get step(): number {
    return this.get("step") as number;
  }
  set step(v: number) {
    this.set({ step: v });
  }
}

/** A slider for a float: `new FloatSlider({ min: 0, max: 1, step: 0.01, value: 0.5, description: "p" })`. */
export class FloatSlider extends RangeWidget {
  constructor(options: SliderOptions<number> = {}) {
    super("FloatSlider", attrs("FloatSlider", options as never, "SliderStyle"));
  }
  protected override coerce(key: string, value: unknown) {
    return coerceRange(this, key, value);
  }
}

/** A slider for an integer. */
export class IntSlider extends RangeWidget {
  constructor(options: SliderOptions<number> = {}) {
    super("IntSlider", attrs("IntSlider", options as never, "SliderStyle"));
  }
  protected override coerce(key: string, value: unknown) {
    return coerceRange(this, key, value);
  }
}

/**
 * A slider on a log scale: `value` is the number itself, `min` and `max` are exponents of `base`
 * (`new FloatLogSlider({ min: -4, max: 0, value: 0.01 })` spans 1e-4 … 1).
 */
export class FloatLogSlider extends RangeWidget {
  constructor(options: SliderOptions<number> & { base?: number } = {}) {
    super("FloatLogSlider", attrs("FloatLogSlider", options as never, "SliderStyle"));
  }
  protected override coerce(key: string, value: unknown) {
    const base = Number(this.get("base"));
    if (key === "value" && typeof value === "number") {
      if (!(value > 0)) return { ok: false as const, reason: `value must be above 0 on a log slider, found ${value}` };
      return { ok: true as const, value: clampTo(base ** Number(this.get("min")), base ** Number(this.get("max")), value) };
    }
    return coerceRange(this, key, value);
  }
}

/** A tick box. */
export class Checkbox extends ValueWidget<boolean> {
  constructor(options: ControlOptions & { value?: boolean; indent?: boolean } = {}) {
    super("Checkbox", attrs("Checkbox", options as never, "CheckboxStyle"));
  }
}

/** A one-line text field. */
export class Text extends ValueWidget<string> {
  constructor(options: ControlOptions & { value?: string; placeholder?: string; continuous_update?: boolean } = {}) {
    super("Text", attrs("Text", options as never, "TextStyle"));
  }
}

/** A line of text (not editable). */
export class Label extends ValueWidget<string> {
  constructor(options: ControlOptions & { value?: string } = {}) {
    super("Label", attrs("Label", options as never, "LabelStyle"));
  }
}

/** A piece of HTML (not editable). */
export class HTML extends ValueWidget<string> {
  constructor(options: ControlOptions & { value?: string; placeholder?: string } = {}) {
    super("HTML", attrs("HTML", options as never, "HTMLStyle"));
  }
}

/** A play button that counts `value` from `min` to `max`, one `step` every `interval` ms. */
export class Play extends RangeWidget {
  constructor(options: ControlOptions & { value?: number; min?: number; max?: number; step?: number; interval?: number; repeat?: boolean; playing?: boolean } = {}) {
    super("Play", attrs("Play", options as never, "DescriptionStyle"));
  }
  protected override coerce(key: string, value: unknown) {
    return coerceRange(this, key, value);
  }
}

/** A button; `onClick` runs on each click in the front end. */
export class Button extends Widget {
  private readonly clicks: ((b: Button) => void)[] = [];
  constructor(options: ControlOptions & { button_style?: "primary" | "success" | "info" | "warning" | "danger" | ""; icon?: string } = {}) {
    super("Button", attrs("Button", options as never, "ButtonStyle"));
    // ButtonView sends `custom` { event: "click" } (ipywidgets' Button._handle_button_msg).
    this.onCustom((content) => {
      if ((content as { event?: unknown } | null)?.event === "click") for (const f of [...this.clicks]) f(this);
    });
  }
  /** Run `fn` on each click. */
  onClick(fn: (b: Button) => void): void {
    this.clicks.push(fn);
  }
  /** Act as if the button were clicked. */
  click(): void {
    for (const f of [...this.clicks]) f(this);
  }
}

/**
 * A drop-down list: `new Dropdown({ options: ["sgd", "adam"], value: "adam" })`, or label/value
 * pairs `[["tanh", f1], ["relu", f2]]`. The front end sends the chosen `index`; `value` follows.
 */
export class Dropdown<T = string> extends ValueWidget<T> {
  private readonly values: T[];
  constructor(options: ControlOptions & { options: readonly (string | readonly [string, T])[]; value?: T }) {
    const { options: items, value, ...rest } = options;
    if (!Array.isArray(items) || items.length === 0) throw new TypeError(`Dropdown: options must be a non-empty array, found ${JSON.stringify(items)}`);
    const labels = items.map((o) => (typeof o === "string" ? o : String(o[0])));
    const values = items.map((o) => (typeof o === "string" ? o : o[1])) as T[];
    const index = value === undefined ? 0 : values.indexOf(value);
    if (index < 0) throw new TypeError(`Dropdown: value ${JSON.stringify(value)} is not among the options ${JSON.stringify(labels)}`);
    super("Dropdown", { ...attrs("Dropdown", rest as never, "DescriptionStyle"), _options_labels: labels, index });
    this.values = values;
  }
  override get value(): T {
    return this.values[Number(this.get("index"))];
  }
  override set value(v: T) {
    const i = this.values.indexOf(v);
    if (i < 0) throw new TypeError(`Dropdown: value ${JSON.stringify(v)} is not among the options ${JSON.stringify(this.get("_options_labels"))}`);
    this.set({ index: i });
  }
  /** The labels shown. */
  get options(): string[] {
    return [...(this.get("_options_labels") as string[])];
  }
  protected override coerce(key: string, value: unknown) {
    const n = (this.get("_options_labels") as string[]).length;
    if (key === "index" && typeof value === "number" && (value < 0 || value >= n)) return { ok: false as const, reason: `index ${value} is outside 0…${n - 1}` };
    return { ok: true as const, value };
  }
  protected override changed(keys: string[], source: "kernel" | "frontend"): void {
    // Observers of "value" hear about index moves.
    if (keys.includes("index") && this.values) this.notify("value", undefined, this.value, source);
  }
}

/** Children side by side (HBox) or stacked (VBox). */
abstract class Box extends Widget {
  /** The widgets inside. */
  get children(): Widget[] {
    return (this.get("children") as string[]).map((r) => widgetById(r)).filter((w): w is Widget => w !== undefined);
  }
  set children(ws: Widget[]) {
    this.set({ children: ws.map(ref) });
  }
}

/** Widgets side by side. */
export class HBox extends Box {
  constructor(children: Widget[] = [], options: { layout?: ControlOptions["layout"]; box_style?: "success" | "info" | "warning" | "danger" | "" } = {}) {
    super("HBox", { ...attrs("HBox", options as never), children: children.map(ref) });
  }
}

/** Widgets stacked. */
export class VBox extends Box {
  constructor(children: Widget[] = [], options: { layout?: ControlOptions["layout"]; box_style?: "success" | "info" | "warning" | "danger" | "" } = {}) {
    super("VBox", { ...attrs("VBox", options as never), children: children.map(ref) });
  }
}
