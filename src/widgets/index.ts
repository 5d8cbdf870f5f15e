/**
 * `dl.widgets`: interactive controls for notebooks (ipywidgets' models, spoken from TypeScript).
 * `interact` re-runs a function when its sliders move; the classes can be used alone.
 * Introduced in notebook 01.
 */
export { Widget, ref, widgetById, allWidgets, ensureTargets, widgetStateSnapshot, removeBuffers, putBuffers, PROTOCOL_VERSION, WIDGET_TARGET, CONTROL_TARGET, WIDGET_VIEW_MIME, UPDATE_INTERVAL_MS } from "./widget";
export type { WidgetState, Change } from "./widget";
export { ValueWidget, RangeWidget, FloatSlider, FloatLogSlider, IntSlider, Dropdown, Checkbox, Button, Play, Text, Label, HTML, HBox, VBox } from "./controls";
export type { ControlOptions, SliderOptions, LayoutKey } from "./controls";
export { Output } from "./output";
export type { OutputJson } from "./output";
export { interact, Interactive } from "./interact";
export type { ControlSpec, ValueOf, ValuesOf, InteractOptions } from "./interact";
export { currentCommHost, registerCommHost } from "./comm";
export type { Comm, CommHost, CommData, CommTargetHandler, CapturedOutput, CaptureSink } from "./comm";
export { MODELS } from "./spec";
export type { ModelName, ModelSpec, AttributeSpec } from "./spec";
