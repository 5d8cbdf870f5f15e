/**
 * `tsdl notebooks [DIR] [--force]`: copies the walkthrough notebooks (and whatever else sits in
 * the package's notebooks/ folder) into a folder the user owns, default `./tsdl-notebooks`, so a
 * globally installed kit's notebooks can be opened, run and edited. An existing file is never
 * overwritten without `--force`; the command says what it copied and what it skipped.
 */
import { constants, copyFileSync, mkdirSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { PACKAGE_ROOT } from "./paths";

const USAGE = `usage: tsdl notebooks [DIR] [--force]
  copies the walkthrough notebooks into DIR (default ./tsdl-notebooks), creating it;
  a file that is already there is kept unless --force is given`;

/** Where the command writes its messages and what it copies; injected so tests can observe them. */
export interface NotebooksIO {
  out(text: string): void;
  err(text: string): void;
  /** The folder DIR is relative to. */
  cwd: string;
  /** The folder copied from (the package's notebooks/). */
  source: string;
}

const defaultIO: NotebooksIO = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  cwd: process.cwd(),
  source: path.join(PACKAGE_ROOT, "notebooks"),
};

/** The files under `dir`, relative to it, sorted; hidden files and folders (checkpoints) left out. */
function listFiles(dir: string, rel = ""): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true })
    .filter((e) => !e.name.startsWith("."))
    .flatMap((e) => (e.isDirectory() ? listFiles(dir, path.join(rel, e.name)) : e.isFile() ? [path.join(rel, e.name)] : []))
    .sort();
}

/** Runs `tsdl notebooks`; returns the exit code (0 done, 1 failed, 2 bad usage). */
export function notebooksCommand(argv: string[], io: NotebooksIO = defaultIO): number {
  let force = false;
  const positionals: string[] = [];
  for (const a of argv) {
    if (a === "--force") force = true;
    else if (a === "--help" || a === "-h") {
      io.out(USAGE + "\n");
      return 0;
    } else if (a.startsWith("-")) {
      io.err(`tsdl notebooks: unknown option ${a}; expected --force or --help\n${USAGE}\n`);
      return 2;
    } else positionals.push(a);
  }
  if (positionals.length > 1) {
    io.err(`tsdl notebooks: expected at most one folder, found ${positionals.length}: ${positionals.join(" ")}\n${USAGE}\n`);
    return 2;
  }
  const target = path.resolve(io.cwd, positionals[0] ?? "tsdl-notebooks");
  const files = listFiles(io.source);
  const copied: string[] = [];
  const skipped: string[] = [];
  try {
    if (statSync(target, { throwIfNoEntry: false })?.isDirectory() === false) {
      throw new Error(`${target} exists and is not a folder; expected a folder to copy the notebooks into`);
    }
    for (const rel of files) {
      const to = path.join(target, rel);
      mkdirSync(path.dirname(to), { recursive: true });
      try {
        // COPYFILE_EXCL: the existence check and the copy are one step, so nothing is overwritten by a race.
        copyFileSync(path.join(io.source, rel), to, force ? 0 : constants.COPYFILE_EXCL);
        copied.push(rel);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        skipped.push(rel);
      }
    }
  } catch (err) {
    io.err(`tsdl notebooks: cannot copy the notebooks into ${target}: ${(err as Error).message}\n`);
    if (copied.length) io.err(`copied before that: ${copied.join(", ")}\n`);
    return 1;
  }
  const verb = force ? "copied (overwriting any there)" : "copied";
  if (copied.length) io.out(`${verb} ${copied.length} file${copied.length === 1 ? "" : "s"} into ${target}:\n${copied.map((f) => `  ${f}\n`).join("")}`);
  if (skipped.length) {
    io.out(`skipped ${skipped.length} already there (kept as they are; --force overwrites):\n${skipped.map((f) => `  ${f}\n`).join("")}`);
  }
  if (copied.length) io.out(`open them with: jupyter lab ${path.relative(io.cwd, target) || "."}   (kernel: TypeScript (tsdl); install it with: tsdl kernel install)\n`);
  return 0;
}
