/**
 * Small helpers shared by the benchmarks in test/bench: interleaved rounds, statistics, tables.
 */
import os from "node:os";

/** The median of some numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** A fixed-width text table, first column left-aligned and the others right-aligned. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** The 1-minute load average and core count, to judge how quiet the machine was. */
export function loadLine(): string {
  return `load average ${os.loadavg()[0].toFixed(2)} on ${os.availableParallelism()} cores`;
}

/** Rounds of interleaved measurements: every candidate once per round, results kept per label. */
export class Rounds {
  readonly samples = new Map<string, number[]>();
  add(label: string, value: number): void {
    const list = this.samples.get(label) ?? [];
    list.push(value);
    this.samples.set(label, list);
  }
  best(label: string): number {
    return Math.min(...(this.samples.get(label) ?? [NaN]));
  }
  median(label: string): number {
    return median(this.samples.get(label) ?? [NaN]);
  }
}
