/**
 * The one error type of `dl.data`: a message that names the file (or argument), what was expected
 * and what was found, plus a stable `code` that tests and notebooks can branch on.
 */

/** What went wrong, one code per distinct failure. */
export type DataErrorCode =
  | "EMPTY" // a file with no bytes
  | "TRUNCATED" // fewer bytes than the header (or gzip stream) promises
  | "TRAILING_BYTES" // more bytes than the header describes
  | "BAD_MAGIC" // not an IDX file, or the wrong kind (labels where images were expected)
  | "BAD_TYPE" // an element-type byte IDX does not define
  | "BAD_SHAPE" // a dimension count or size that does not fit
  | "BAD_GZIP" // starts like gzip but does not decompress
  | "COUNT_MISMATCH" // image and label files disagree on the number of examples
  | "BAD_LABEL" // a label outside 0..classes-1
  | "CHECKSUM" // SHA-256 differs from the official file's
  | "NOT_FOUND" // a data set's files, or the IDX file asked for, are absent
  | "BAD_ARGUMENT"; // an option with a value out of range

/** An error from `dl.data`, with a `code` and, for file errors, the `file`. Introduced in notebook 04. */
export class DataError extends Error {
  override name = "DataError";
  constructor(
    readonly code: DataErrorCode,
    message: string,
    readonly file?: string,
  ) {
    super(message);
  }
}

/** Throw a BAD_ARGUMENT DataError unless `ok`. */
export function check(ok: boolean, message: string): asserts ok {
  if (!ok) throw new DataError("BAD_ARGUMENT", message);
}
