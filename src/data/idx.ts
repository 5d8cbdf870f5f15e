/**
 * The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a 4-byte magic
 * number (two zero bytes, an element-type byte, a dimension count), one big-endian uint32 size per
 * dimension, then the elements, big-endian. Files may be gzip-compressed; we detect that by the
 * gzip magic bytes 1f 8b, not by the file name.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { gunzipSync } from "node:zlib";
import { DataError } from "./errors";

/** The element types IDX defines, by their type byte. Introduced in notebook 04. */
export const IDX_TYPES = {
  0x08: { dtype: "uint8", bytes: 1 },
  0x09: { dtype: "int8", bytes: 1 },
  0x0b: { dtype: "int16", bytes: 2 },
  0x0c: { dtype: "int32", bytes: 4 },
  0x0d: { dtype: "float32", bytes: 4 },
  0x0e: { dtype: "float64", bytes: 8 },
} as const;

/** An IDX element type. */
export type IdxDtype = (typeof IDX_TYPES)[keyof typeof IDX_TYPES]["dtype"];

/** The decoded contents of an IDX file. */
export interface IdxArray {
  dtype: IdxDtype;
  shape: number[];
  /** Row-major elements; for uint8 a view into the file's bytes (no copy). */
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

/** What the caller expects, so that a wrong file is named as such ("labels where images were expected"). */
export interface IdxExpectation {
  /** The element type; MNIST uses uint8. */
  dtype: IdxDtype;
  /** The number of dimensions: 3 for images, 1 for labels. */
  dims: number;
  /** A word for the error message: "images", "labels". */
  what: string;
}

/** IDX expectations for MNIST-style image and label files (magic 2051 and 2049). Introduced in notebook 04. */
export const MNIST_IMAGES: IdxExpectation = { dtype: "uint8", dims: 3, what: "images" };
export const MNIST_LABELS: IdxExpectation = { dtype: "uint8", dims: 1, what: "labels" };

function typeByte(dtype: IdxDtype): number {
  for (const [code, t] of Object.entries(IDX_TYPES)) if (t.dtype === dtype) return Number(code);
  throw new Error(`unknown IDX dtype ${dtype}`);
}

function describeMagic(magic: number): string {
  const type = IDX_TYPES[((magic >> 8) & 0xff) as keyof typeof IDX_TYPES];
  const dims = magic & 0xff;
  return `${type ? type.dtype : `type 0x${((magic >> 8) & 0xff).toString(16)}`}, ${dims} dimension${dims === 1 ? "" : "s"}`;
}

/** The magic number an IDX file of this kind starts with (2051 for MNIST images, 2049 for labels). Introduced in notebook 04. */
export function idxMagic(expect: Pick<IdxExpectation, "dtype" | "dims">): number {
  return (typeByte(expect.dtype) << 8) | expect.dims;
}

/** True if the bytes start with the gzip magic 1f 8b. Introduced in notebook 04. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * The bytes, decompressed when they are gzip (detected by magic bytes). A cut-off gzip stream is a
 * TRUNCATED error, any other inflate failure BAD_GZIP. Introduced in notebook 04.
 */
export function gunzipIfNeeded(bytes: Uint8Array, name: string): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    return gunzipSync(bytes);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (/unexpected end of file/i.test(msg)) {
      throw new DataError(
        "TRUNCATED",
        `${name}: truncated gzip stream (${bytes.length} compressed bytes end before the data does); the file was cut short, download or copy it again`,
        name,
      );
    }
    throw new DataError("BAD_GZIP", `${name}: starts with the gzip magic 1f 8b but does not decompress: ${msg}`, name);
  }
}

/**
 * Decode IDX bytes (already decompressed). `name` appears in every error; `expect` turns a valid
 * file of the wrong kind into a BAD_MAGIC error such as
 * "train-images-idx3-ubyte: magic 2049, expected 2051 (images)". Introduced in notebook 04.
 */
export function parseIdx(bytes: Uint8Array, name: string, expect?: IdxExpectation): IdxArray {
  const what = expect ? ` of ${expect.what}` : "";
  if (bytes.length === 0) {
    throw new DataError("EMPTY", `${name}: the file is empty (0 bytes); expected an IDX file${what}`, name);
  }
  if (bytes.length < 4) {
    throw new DataError(
      "TRUNCATED",
      `${name}: truncated: ${bytes.length} byte${bytes.length === 1 ? "" : "s"}, but the IDX magic number alone needs 4`,
      name,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  const expected = expect ? ` (${expect.what}: ${describeMagic(idxMagic(expect))})` : "";
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const hex = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ");
    throw new DataError(
      "BAD_MAGIC",
      `${name}: not an IDX file: starts with bytes ${hex} (magic ${magic}), expected 00 00 then a type byte and a dimension count` +
        (expect ? `; expected magic ${idxMagic(expect)}${expected}` : ""),
      name,
    );
  }
  const type = IDX_TYPES[bytes[2] as keyof typeof IDX_TYPES];
  if (!type) {
    throw new DataError(
      "BAD_TYPE",
      `${name}: element type 0x${bytes[2].toString(16).padStart(2, "0")} is not an IDX type; expected one of ` +
        Object.entries(IDX_TYPES)
          .map(([c, t]) => `0x${Number(c).toString(16).padStart(2, "0")} ${t.dtype}`)
          .join(", "),
      name,
    );
  }
  if (expect && magic !== idxMagic(expect)) {
    throw new DataError(
      "BAD_MAGIC",
      `${name}: magic ${magic}, expected ${idxMagic(expect)} (${expect.what}); found ${describeMagic(magic)}, expected ${describeMagic(idxMagic(expect))}`,
      name,
    );
  }
  const dims = bytes[3];
  if (dims === 0) {
    throw new DataError("BAD_SHAPE", `${name}: the header declares 0 dimensions; expected at least 1`, name);
  }
  const headerBytes = 4 + 4 * dims;
  if (bytes.length < headerBytes) {
    throw new DataError(
      "TRUNCATED",
      `${name}: truncated: ${bytes.length} bytes, but a header with ${dims} dimensions needs ${headerBytes}`,
      name,
    );
  }
  const shape: number[] = [];
  for (let d = 0; d < dims; d++) shape.push(view.getUint32(4 + 4 * d));
  const count = shape.reduce((a, b) => a * b, 1);
  const dataBytes = count * type.bytes;
  const expectedLength = headerBytes + dataBytes;
  const layout = `${shape.join(" × ")} ${type.dtype} = ${dataBytes} bytes after a ${headerBytes}-byte header`;
  if (bytes.length < expectedLength) {
    throw new DataError(
      "TRUNCATED",
      `${name}: truncated: the header says ${layout} (${expectedLength} in all), found ${bytes.length} (${expectedLength - bytes.length} missing)`,
      name,
    );
  }
  if (bytes.length > expectedLength) {
    throw new DataError(
      "TRAILING_BYTES",
      `${name}: ${bytes.length - expectedLength} unexpected bytes after the data: the header says ${layout} (${expectedLength} in all), found ${bytes.length}`,
      name,
    );
  }
  return { dtype: type.dtype, shape, data: decode(view, headerBytes, count, type.dtype, bytes) };
}

function decode(view: DataView, offset: number, n: number, dtype: IdxDtype, bytes: Uint8Array): IdxArray["data"] {
  switch (dtype) {
    case "uint8":
      return bytes.subarray(offset, offset + n);
    case "int8":
      return new Int8Array(bytes.buffer, bytes.byteOffset + offset, n);
    case "int16": {
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt16(offset + 2 * i);
      return out;
    }
    case "int32": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt32(offset + 4 * i);
      return out;
    }
    case "float32": {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(offset + 4 * i);
      return out;
    }
    case "float64": {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(offset + 8 * i);
      return out;
    }
  }
}

/** One IDX file read from disk: the decoded array plus the decompressed bytes (for checksums). */
export interface IdxFile extends IdxArray {
  file: string;
  /** The decompressed IDX bytes. */
  bytes: Uint8Array;
  /** Whether the file on disk was gzip. */
  gzip: boolean;
}

/** Read an IDX file, plain or gzip, and validate it. Introduced in notebook 04. */
export function readIdx(file: string, expect?: IdxExpectation): IdxFile {
  const name = basename(file);
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const what = `expected an IDX file${expect ? ` of ${expect.what}` : ""}`;
    if (code === "ENOENT") throw new DataError("NOT_FOUND", `${name}: no such file; ${what} at ${file}`, file);
    if (code === "EISDIR") throw new DataError("NOT_FOUND", `${name}: is a folder; ${what} at ${file}`, file);
    throw err;
  }
  if (raw.length === 0) {
    throw new DataError("EMPTY", `${name}: the file is empty (0 bytes); expected an IDX file${expect ? ` of ${expect.what}` : ""} (${file})`, file);
  }
  const bytes = gunzipIfNeeded(raw, name);
  const arr = parseIdx(bytes, name, expect);
  return { ...arr, file, bytes, gzip: bytes !== raw };
}

/**
 * Encode an array as IDX bytes (the inverse of `parseIdx`); used to make small test files.
 * Introduced in notebook 04.
 */
export function encodeIdx(data: ArrayLike<number>, shape: number[], dtype: IdxDtype = "uint8"): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (data.length !== count) {
    throw new DataError("BAD_SHAPE", `encodeIdx: ${data.length} values for shape [${shape.join(", ")}] (${count} expected)`);
  }
  const size = IDX_TYPES[typeByte(dtype) as keyof typeof IDX_TYPES].bytes;
  const header = 4 + 4 * shape.length;
  const out = new Uint8Array(header + count * size);
  const view = new DataView(out.buffer);
  view.setUint32(0, (typeByte(dtype) << 8) | shape.length);
  shape.forEach((s, d) => view.setUint32(4 + 4 * d, s));
  for (let i = 0; i < count; i++) {
    const o = header + i * size;
    const v = data[i];
    switch (dtype) {
      case "uint8": view.setUint8(o, v); break;
      case "int8": view.setInt8(o, v); break;
      case "int16": view.setInt16(o, v); break;
      case "int32": view.setInt32(o, v); break;
      case "float32": view.setFloat32(o, v); break;
      case "float64": view.setFloat64(o, v); break;
    }
  }
  return out;
}
