/**
 * Image grids (MNIST digits and their augmentations, misclassified examples): one PNG of the
 * whole grid, an HTML table with a caption under each image, and a text summary.
 */
import { PNG } from "pngjs";
import { JUPYTER_DISPLAY, escapeHtml, type Displayable, type MimeBundle } from "../display";

/** Options of `imageGrid`. */
export interface ImageGridOptions {
  /** Image height and width; default 28×28. */
  height?: number;
  width?: number;
  /** Images per row; default up to 10. */
  cols?: number;
  /** One caption per image (e.g. "7 → 1"). */
  captions?: string[];
  /** Images to outline in red (e.g. the wrong predictions). */
  highlight?: boolean[];
  /** Pixel magnification; default 2. */
  scale?: number;
  title?: string;
}

/** A grid of grayscale images that renders itself. */
export class ImageGrid implements Displayable {
  readonly height: number;
  readonly width: number;
  readonly cols: number;
  private readonly pixels: Uint8Array[];

  constructor(images: ArrayLike<number>[], readonly options: ImageGridOptions = {}) {
    this.height = options.height ?? 28;
    this.width = options.width ?? 28;
    const size = this.height * this.width;
    if (images.length === 0) throw new Error("plot.imageGrid: expected at least one image, found none");
    if (options.captions && options.captions.length !== images.length) {
      throw new Error(`plot.imageGrid: ${options.captions.length} captions for ${images.length} images; expected one each`);
    }
    this.pixels = images.map((img, i) => {
      if (img.length !== size) {
        throw new Error(`plot.imageGrid: image ${i} has ${img.length} pixels, expected ${this.height}×${this.width} = ${size}`);
      }
      return toBytes(img);
    });
    this.cols = Math.min(options.cols ?? 10, images.length);
  }

  /** The number of images. */
  get length(): number {
    return this.pixels.length;
  }

  /** One PNG of the whole grid, 2-pixel gaps, highlighted images framed in red. */
  toPng(): Buffer {
    const s = this.options.scale ?? 2;
    const gap = 2;
    const rows = Math.ceil(this.pixels.length / this.cols);
    const cw = this.width * s + gap;
    const ch = this.height * s + gap;
    const png = new PNG({ width: this.cols * cw + gap, height: rows * ch + gap });
    png.data.fill(255);
    this.pixels.forEach((img, k) => {
      const ox = gap + (k % this.cols) * cw;
      const oy = gap + Math.floor(k / this.cols) * ch;
      const red = this.options.highlight?.[k];
      for (let y = 0; y < this.height * s; y++) {
        for (let x = 0; x < this.width * s; x++) {
          const v = 255 - img[Math.floor(y / s) * this.width + Math.floor(x / s)];
          const edge = red && (x < 2 || y < 2 || x >= this.width * s - 2 || y >= this.height * s - 2);
          const o = ((oy + y) * png.width + ox + x) * 4;
          png.data[o] = edge ? 220 : v;
          png.data[o + 1] = edge ? 40 : v;
          png.data[o + 2] = edge ? 40 : v;
          png.data[o + 3] = 255;
        }
      }
    });
    return PNG.sync.write(png);
  }

  private single(k: number): Buffer {
    const s = this.options.scale ?? 2;
    const png = new PNG({ width: this.width * s, height: this.height * s });
    for (let y = 0; y < png.height; y++) {
      for (let x = 0; x < png.width; x++) {
        const v = 255 - this.pixels[k][Math.floor(y / s) * this.width + Math.floor(x / s)];
        const o = (y * png.width + x) * 4;
        png.data[o] = png.data[o + 1] = png.data[o + 2] = v;
        png.data[o + 3] = 255;
      }
    }
    return PNG.sync.write(png);
  }

  /** An HTML table: each image with its caption. Works offline (images are data URLs). */
  toHtml(): string {
    const cells = this.pixels.map((_, k) => {
      const cap = this.options.captions?.[k];
      const red = this.options.highlight?.[k];
      return (
        `<td style="text-align:center;padding:2px">` +
        `<img src="data:image/png;base64,${this.single(k).toString("base64")}" alt="${escapeHtml(cap ?? `image ${k}`)}"` +
        ` style="image-rendering:pixelated;border:2px solid ${red ? "#dc2828" : "transparent"}"/>` +
        (cap ? `<div style="font:11px sans-serif">${escapeHtml(cap)}</div>` : "") +
        `</td>`
      );
    });
    const rows: string[] = [];
    for (let i = 0; i < cells.length; i += this.cols) rows.push(`<tr>${cells.slice(i, i + this.cols).join("")}</tr>`);
    const title = this.options.title ? `<div style="font:bold 13px sans-serif">${escapeHtml(this.options.title)}</div>` : "";
    return `<div class="tsdl-image-grid">${title}<table style="border-collapse:collapse">${rows.join("")}</table></div>`;
  }

  /** A one-line summary plus the captions. */
  toText(): string {
    const head = `${this.options.title ? this.options.title + ": " : ""}${this.length} images ${this.height}×${this.width}`;
    return this.options.captions ? `${head}: ${this.options.captions.join(", ")}` : head;
  }

  /** The same text as its `text/plain` (so `String(x)` and a template literal print it). */
  toString(): string {
    return this.toText();
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    return {
      "text/html": this.toHtml(),
      "image/png": this.toPng().toString("base64"),
      "text/plain": this.toText(),
    };
  }
}

/** Grayscale bytes from 0–255 values, or from 0–1 floats (scaled by 255). */
function toBytes(img: ArrayLike<number>): Uint8Array {
  if (img instanceof Uint8Array) return img;
  let max = -Infinity;
  let min = Infinity;
  for (let i = 0; i < img.length; i++) {
    max = Math.max(max, img[i]);
    min = Math.min(min, img[i]);
  }
  // Floats in [0, 1] are scaled; [-1, 1] (the article's normalisation) is shifted first.
  const lo = min < 0 ? min : 0;
  const hi = max <= 1 ? 1 : 255;
  const span = hi - lo || 1;
  const out = new Uint8Array(img.length);
  for (let i = 0; i < img.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, (img[i] - lo) / span)) * 255);
  return out;
}

/**
 * A grid of grayscale images with optional captions: `plot.imageGrid(images, { captions })`.
 * Introduced in notebook 04.
 */
export function imageGrid(images: ArrayLike<number>[], options: ImageGridOptions = {}): ImageGrid {
  return new ImageGrid(images, options);
}
