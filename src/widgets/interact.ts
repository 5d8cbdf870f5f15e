/**
 * `interact(fn, { lr: [1e-4, 1, "log"], epochs: [1, 50, 1] })`: draws one control per parameter
 * and re-runs `fn` into one Output area whenever a control changes (debounced, never two runs at
 * once, the last values always run), as ipywidgets' `interact` does.
 * Introduced in notebook 01.
 */
import { Checkbox, Dropdown, FloatLogSlider, FloatSlider, IntSlider, Text, VBox, ValueWidget } from "./controls";
import { Output } from "./output";

/**
 * How a parameter is controlled:
 * `[min, max, "log"]` a log slider; `[min, max, step]` a slider (integer when all three are);
 * a fourth element is the starting value (default: the middle); `true`/`false` a checkbox;
 * a string a text field; a list of strings a drop-down; or any value widget of your own.
 */
export type ControlSpec =
  | readonly [number, number, "log"]
  | readonly [number, number, "log", number]
  | readonly [number, number, number]
  | readonly [number, number, number, number]
  | readonly [number, number]
  | boolean
  | string
  | readonly [string, ...string[]]
  | ValueWidget<unknown>;

/** The value `fn` gets for a control spec. */
export type ValueOf<S> = S extends readonly [number, number, ...unknown[]]
  ? number
  : S extends boolean
    ? boolean
    : S extends readonly string[]
      ? S[number]
      : S extends string
        ? string
        : S extends ValueWidget<infer V>
          ? V
          : never;

/** The values of all parameters. */
export type ValuesOf<P> = { [K in keyof P]: ValueOf<P[K]> };

/** Options of `interact`. */
export interface InteractOptions {
  /** Wait this long after the last change before re-running (default 150 ms). */
  debounceMs?: number;
  /** Clear the output area before each run (default true). */
  clear?: boolean;
}

/** The controls and the output area `interact` made; display it (it is a VBox). */
export class Interactive<V extends Record<string, unknown>> extends VBox {
  /** One control per parameter. */
  readonly controls: { [K in keyof V]: ValueWidget<V[K]> };
  /** Where `fn` prints and displays. */
  readonly output: Output;
  /** How many times `fn` ran. */
  runs = 0;
  private running: Promise<void> | undefined;
  private again = false;
  private debounceTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly fn: (values: V) => unknown,
    controls: { [K in keyof V]: ValueWidget<V[K]> },
    private readonly options: InteractOptions = {},
  ) {
    const output = new Output();
    super([...Object.values(controls as Record<string, ValueWidget<unknown>>), output]);
    this.controls = controls;
    this.output = output;
    for (const c of Object.values(controls as Record<string, ValueWidget<unknown>>)) c.observe(() => this.schedule(), c instanceof Dropdown ? ["value"] : "value");
  }

  /** The controls' current values. */
  get values(): V {
    const out: Record<string, unknown> = {};
    for (const [k, c] of Object.entries(this.controls as Record<string, ValueWidget<unknown>>)) out[k] = c.value;
    return out as V;
  }

  /** Run `fn` now with the current values (after a run in progress); resolves when it has finished. */
  run(): Promise<void> {
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.debounceTimer = undefined;
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.runOnce().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        void this.run();
      }
    });
    return this.running;
  }

  /** Resolves once no run is pending or in progress. */
  async settled(): Promise<void> {
    while (this.running || this.debounceTimer) {
      if (this.debounceTimer) await new Promise((r) => setTimeout(r, this.options.debounceMs ?? 150));
      if (this.running) await this.running;
    }
  }

  private schedule(): void {
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => void this.run(), this.options.debounceMs ?? 150);
  }

  private async runOnce(): Promise<void> {
    this.runs++;
    if (this.options.clear !== false) this.output.clear();
    try {
      await this.output.capture(() => this.fn(this.values));
    } catch (err) {
      // The error shows where the output would have been; the controls keep working.
      this.output.appendStream(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`, "stderr");
    }
  }
}

/** Make the control for one spec. */
function controlFor(name: string, spec: ControlSpec): ValueWidget<unknown> {
  if (spec instanceof ValueWidget) return spec;
  const description = name;
  if (typeof spec === "boolean") return new Checkbox({ value: spec, description });
  if (typeof spec === "string") return new Text({ value: spec, description });
  if (Array.isArray(spec) && spec.length > 0 && spec.every((x) => typeof x === "string")) {
    return new Dropdown({ options: spec as string[], description }) as ValueWidget<unknown>;
  }
  if (Array.isArray(spec) && spec.length >= 2 && typeof spec[0] === "number" && typeof spec[1] === "number") {
    const [min, max, third, start] = spec as readonly [number, number, unknown, number | undefined];
    if (!(min < max)) throw new TypeError(`interact: ${name}: expected [min, max, ...] with min < max, found [${min}, ${max}]`);
    if (third === "log") {
      if (!(min > 0)) throw new TypeError(`interact: ${name}: a log range needs min > 0, found ${min}`);
      const lo = Math.log10(min);
      const hi = Math.log10(max);
      return new FloatLogSlider({ min: lo, max: hi, step: (hi - lo) / 100, value: start ?? 10 ** ((lo + hi) / 2), description, readout_format: ".2e" });
    }
    if (third !== undefined && typeof third !== "number") throw new TypeError(`interact: ${name}: the third element must be a step or "log", found ${JSON.stringify(third)}`);
    const step = third as number | undefined;
    const ints = Number.isInteger(min) && Number.isInteger(max) && (step === undefined || Number.isInteger(step));
    const middle = ints ? Math.round((min + max) / 2) : (min + max) / 2;
    if (ints) return new IntSlider({ min, max, step: step ?? 1, value: start ?? middle, description });
    return new FloatSlider({ min, max, step: step ?? (max - min) / 100, value: start ?? middle, description, readout_format: ".3f" });
  }
  throw new TypeError(
    `interact: ${name}: expected [min, max, "log"], [min, max, step], a boolean, a string, a list of strings or a widget, found ${JSON.stringify(spec)}`,
  );
}

/**
 * Controls for `fn`'s parameters, and one output area it re-runs into on each change:
 * `dl.widgets.interact(({ lr, epochs }) => ..., { lr: [1e-4, 1, "log"], epochs: [1, 50, 1] })`.
 * Runs `fn` once at once; the result displays as a cell's last value.
 */
export function interact<const P extends Record<string, ControlSpec>>(fn: (values: ValuesOf<P>) => unknown, params: P, options: InteractOptions = {}): Interactive<ValuesOf<P>> {
  if (params === null || typeof params !== "object") throw new TypeError(`interact: expected an object of parameters, found ${String(params)}`);
  const controls: Record<string, ValueWidget<unknown>> = {};
  for (const [name, spec] of Object.entries(params)) controls[name] = controlFor(name, spec);
  const w = new Interactive(fn, controls as never, options);
  void w.run();
  return w as Interactive<ValuesOf<P>>;
}
