/**
 * Figures that render themselves in notebooks (plotly), in reports, in nbconvert (static SVG) and
 * in a terminal (a text summary).
 */
export { Figure, PLOTLY_MIME } from "./figure";
export type { Trace, Layout } from "./figure";
export { line, scatter, heatmap, histogram, subplots, decisionBoundary, bin, BOUNDARY_SCALE, BOUNDARY_MARKERS } from "./builders";
export type { AxesOptions, Series } from "./builders";
export { imageGrid, ImageGrid } from "./images";
export type { ImageGridOptions } from "./images";
export { plotlyJs, scriptJson } from "./html";
export { table, Table, formatNumber } from "./table";
export type { Cell, Column, TableOptions } from "./table";
export { trainingChart } from "./training";
export type { TrainingCurves, TrainingChartOptions } from "./training";
export { diagram, Diagram } from "./diagram";
export type { DiagramNode, DiagramOptions, DiagramBox, DiagramEdge } from "./diagram";
