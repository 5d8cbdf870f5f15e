/**
 * Atomic file writes: the data goes to a temporary file in the same folder, is flushed to disk,
 * and then renamed over the target. A reader (or a crash) sees either the old file or the new
 * one, never half of one; if anything fails, the temporary file is removed and the previous
 * file is left as it was.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";

/** Thrown when an atomic write fails; says that the previous file, if any, is untouched. */
export class AtomicWriteError extends Error {
  constructor(
    readonly file: string,
    override readonly cause: unknown,
  ) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      `cannot write ${file}: ${reason}` +
        (code === "ENOSPC" ? " (the disk is full)" : code === "EACCES" || code === "EROFS" || code === "EPERM" ? " (the target is not writable)" : "") +
        "; the previous file, if any, is unchanged",
    );
    this.name = "AtomicWriteError";
  }
}

/** Writes `data` to `file` atomically (temp file in the same folder, fsync, rename). Creates the folder. */
export function writeFileAtomicSync(file: string, data: string | Uint8Array): void {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  let fd: number | undefined;
  try {
    fs.mkdirSync(dir, { recursive: true });
    fd = fs.openSync(tmp, "wx", 0o644);
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already failing; the original error is the one to report */
      }
    }
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* the temporary file may never have been created */
    }
    throw new AtomicWriteError(file, err);
  }
}
