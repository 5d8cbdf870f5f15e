/**
 * The kernel's V8 start-up snapshot: its blob's life (key, validity, background build) and the
 * state a kernel started from it receives. The builder itself is `snapshot-builder.ts`, the
 * launcher that starts a kernel from the blob is `launchFromSnapshot` below (used by `tsdl
 * kernel`), and the kernel's side is `snapshot-main.ts`.
 *
 * Why a snapshot: the start-up is bound by TypeScript parsing and binding the ~4.2 MB of
 * declarations every cell is checked against (the lib files, @types/node, and tf's and dl's 657
 * .d.ts files). Node's user-land start-up snapshot (`node --build-snapshot`, Node ≥ 18.20) keeps
 * that work: the blob holds the V8 heap after the builder parsed and bound them, and a process
 * started with `--snapshot-blob` begins with it in memory, the same checks on every cell.
 *
 * The blob lives in the cache folder (`cacheDir()`: `$TSDL_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/tsdl`, else `~/.cache/tsdl`; never inside the package), named by a key over
 * Node's version, arch and binary, the TypeScript module (version, size), tsdl's version and the
 * builder's code. Beside it a manifest lists the declaration files it holds with their sizes and
 * mtimes; a blob whose files changed is stale. A start that finds no valid blob runs as before
 * and then starts ONE background build (detached, at low priority, under a lock file, written by
 * atomic rename, failures only logged). `TSDL_SNAPSHOT=0` switches all of it off.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync, writeSync } from "node:fs";
import Module from "node:module";
import os from "node:os";
import path from "node:path";
import { cacheDir } from "./code-cache";

/** The builder script (compiled). */
export const BUILDER = path.join(__dirname, "snapshot-builder.js");
/** What the snapshot's main function loads at run time. */
export const SNAPSHOT_MAIN = path.join(__dirname, "snapshot-main.js");

/** What the builder reads (written by the kernel that asks for a build). */
export interface SnapshotInput {
  /** typescript.js of `@tslab/typescript-for-tslab`, the module tslab's converter uses. */
  tsPath: string;
  /** The declaration files to parse and bind, as the kernel's program named them. */
  files: string[];
  /** [file, size, mtimeMs] of each, taken before the build read them (the build job fills it in). */
  stats?: [string, number, number][];
  /** The kernel's compiler options (they decide how files parse). */
  options: Record<string, unknown>;
  /** The module the snapshot's main function loads (`snapshot-main.js`). */
  mainEntry: string;
  /** The blob's key (see `snapshotKey`). */
  key: string;
}

/** What a valid blob's manifest records. */
export interface SnapshotManifest {
  key: string;
  /** [file, size, mtimeMs] of each declaration file, read before the build. */
  files: [string, number, number][];
  /** The blob's size in bytes (a truncated blob is not used). */
  blobSize: number;
  buildMs: number;
}

/** The state the builder leaves on the global `Symbol.for("tsdl.snapshot")`. */
export interface SnapshotState {
  ts: Record<string, unknown> & { sys: Record<string, unknown>; version: string };
  tsPath: string;
  /** fileName → bound SourceFile (its `text` is what it was parsed from). */
  files: Map<string, { languageVersion: number; impliedNodeFormat?: number }>;
  /** fileName → its size and mtime when it was parsed. */
  stats: Map<string, { size: number; mtimeMs: number }>;
  key: string;
  builtInMs: number;
}

/**
 * Why the snapshot is not used, or undefined when it is on. Only Node 20 is verified: on Node 24
 * (24.22) a kernel started from a blob aborts as soon as it loads `node:crypto`
 * (`crypto_key_object_constructor_template().IsEmpty()` fails in crypto_keys.cc), so there the
 * kernel starts as it always did.
 */
export function snapshotOff(env: NodeJS.ProcessEnv = process.env, nodeVersion = process.versions.node): string | undefined {
  if (env.TSDL_SNAPSHOT === "0") return "TSDL_SNAPSHOT=0";
  const major = Number(nodeVersion.split(".")[0]);
  if (major !== 20) return `Node ${nodeVersion}: it is verified on Node 20 only (Node 24 aborts loading node:crypto in a kernel started from a snapshot)`;
  return undefined;
}

/** typescript.js of the TypeScript module tslab's converter uses. */
export function typescriptPath(): string {
  return Module.createRequire(require.resolve("tslab/dist/converter")).resolve("@tslab/typescript-for-tslab");
}

/** The blob's key: Node (version, arch, binary), TypeScript (path, size, mtime), this checkout of tsdl (its path, version and the snapshot code). */
export function snapshotKey(tsPath = typescriptPath()): string {
  const root = path.join(__dirname, "..", "..");
  const ts = statSync(tsPath);
  const hash = createHash("sha256")
    .update([process.version, process.versions.v8, process.arch, process.execPath, tsPath, ts.size, ts.mtimeMs, SNAPSHOT_MAIN].join("\0"))
    .update(readFileSync(path.join(root, "package.json")))
    .update(readFileSync(BUILDER))
    .update(readFileSync(SNAPSHOT_MAIN));
  return hash.digest("hex").slice(0, 24);
}

/** The files of one key: the blob, its manifest, the build's lock and log. */
export function snapshotFiles(key: string, dir = cacheDir()): { blob: string; manifest: string; lock: string; log: string; input: string } {
  const base = path.join(dir, `snapshot-${key}`);
  return { blob: `${base}.blob`, manifest: `${base}.json`, lock: `${base}.lock`, log: `${base}.log`, input: `${base}.input.json` };
}

/** The blob to start from, or why there is none fit to use. Checking costs one stat per declaration file. */
export function findSnapshot(dir = cacheDir()): { blob: string; key: string } | { reason: string; key?: string } {
  let key: string;
  try {
    key = snapshotKey();
  } catch (err) {
    return { reason: `cannot compute its key: ${(err as Error).message}` };
  }
  const f = snapshotFiles(key, dir);
  let manifest: SnapshotManifest;
  try {
    manifest = JSON.parse(readFileSync(f.manifest, "utf8")) as SnapshotManifest;
  } catch {
    return { reason: `none built yet for this Node, TypeScript and tsdl (${f.manifest})`, key };
  }
  try {
    const size = statSync(f.blob).size;
    if (manifest.key !== key || size !== manifest.blobSize) return { reason: `${f.blob} is ${size} bytes, its manifest says ${manifest.blobSize}`, key };
  } catch {
    return { reason: `its manifest is there but not the blob ${f.blob}`, key };
  }
  for (const [file, size, mtime] of manifest.files) {
    let st;
    try {
      st = statSync(file);
    } catch {
      return { reason: `${file}, which it holds, is gone`, key };
    }
    if (st.size !== size || !sameMtime(st.mtimeMs, mtime)) return { reason: `${file} changed since it was built`, key };
  }
  return { blob: f.blob, key };
}

/**
 * Blobs kept in the cache folder: the newest by last use (each start from a blob touches it).
 * Every tsdl or Node upgrade, and every rebuild of a checkout's dist/, has a new key and so a new
 * 60 MiB blob; without pruning they piled up (half a GiB in a day of development here). A few
 * are kept because checkouts and Node versions may share the folder and take turns.
 */
export const SNAPSHOTS_KEPT = 3;

/** Marks the blob of `key` as just used, for `pruneSnapshots`; never throws. */
export function touchSnapshot(key: string, dir = cacheDir()): void {
  try {
    const now = new Date();
    utimesSync(snapshotFiles(key, dir).manifest, now, now);
  } catch {
    // a read-only cache folder: pruning then goes by build time
  }
}

/**
 * Removes all but the `keep` most recently used blobs (by their manifests' mtimes) with their
 * manifests and logs; `key`'s own is always kept, and so is any whose build is running (its lock).
 * Returns the keys removed.
 */
export function pruneSnapshots(key: string, dir = cacheDir(), keep = SNAPSHOTS_KEPT): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const keys = [...new Set(names.flatMap((n) => /^snapshot-([0-9a-f]+)\.(blob|json|log)$/.exec(n)?.[1] ?? []))];
  const lastUse = (k: string) => {
    const f = snapshotFiles(k, dir);
    for (const file of [f.manifest, f.blob, f.log]) {
      try {
        return statSync(file).mtimeMs;
      } catch {
        // try the next
      }
    }
    return 0;
  };
  const others = keys.filter((k) => k !== key && !existsSync(snapshotFiles(k, dir).lock)).sort((a, b) => lastUse(b) - lastUse(a));
  const removed = others.slice(Math.max(0, keep - 1));
  for (const k of removed) {
    const f = snapshotFiles(k, dir);
    for (const file of [f.blob, f.manifest, f.log]) rmSync(file, { force: true });
  }
  return removed;
}

/** Append a line to a build log; never throws. */
function logTo(file: string, line: string): void {
  try {
    const fd = openSync(file, "a");
    writeSync(fd, `${new Date().toISOString()} ${line}\n`);
    closeSync(fd);
  } catch {
    // nowhere to log
  }
}

/** A lock older than this is taken to be left by a build that died. */
const STALE_LOCK_MS = 10 * 60_000;

/** Take the build lock (an exclusive-create file); false when another build holds it. */
function takeLock(lock: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      closeSync(openSync(lock, "wx"));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      let stale = false;
      try {
        const [pid] = readFileSync(lock, "utf8").split(" ").map(Number);
        stale = Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS || (pid > 0 && !alive(pid));
      } catch {
        stale = true;
      }
      if (!stale) return false;
      rmSync(lock, { force: true });
    }
  }
  return false;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Start one background build of the blob for `input` (unless one is running): a detached process
 * at low priority (`node snapshot.js --build INPUT`) that outlives the kernel. Returns what it did.
 */
export function requestBuild(input: Omit<SnapshotInput, "mainEntry" | "key">, dir = cacheDir(), spawnChild = spawn): string {
  const key = snapshotKey(input.tsPath);
  const f = snapshotFiles(key, dir);
  mkdirSync(dir, { recursive: true });
  if (!takeLock(f.lock)) return `a build of the start-up snapshot is already running (${f.lock})`;
  // Another kernel's build may have finished since this one started.
  const now = findSnapshot(dir);
  if ("blob" in now) {
    rmSync(f.lock, { force: true });
    return `a start-up snapshot was built meanwhile (${now.blob}); the next start uses it`;
  }
  const full: SnapshotInput = { ...input, mainEntry: SNAPSHOT_MAIN, key };
  writeFileSync(f.input, JSON.stringify(full));
  // cwd: the cache folder, not the notebook's, which may be removed before the build ends.
  const child = spawnChild(process.execPath, [__filename, "--build", f.input, dir], { detached: true, stdio: "ignore", cwd: dir });
  writeFileSync(f.lock, `${child.pid ?? 0} ${Date.now()}`);
  child.unref();
  return `building the start-up snapshot in the background (pid ${child.pid}, log ${f.log})`;
}

/** The background build: runs the builder, then renames the blob and writes its manifest. Exit code 0 when written. */
export async function buildJob(inputFile: string, dir: string): Promise<number> {
  const input = JSON.parse(readFileSync(inputFile, "utf8")) as SnapshotInput;
  const f = snapshotFiles(input.key, dir);
  try {
    os.setPriority(10); // low priority: the kernel that asked goes on running cells meanwhile
  } catch {
    // not allowed here; build at normal priority
  }
  const t0 = Date.now();
  const tmp = `${f.blob}.${process.pid}.tmp`;
  try {
    // The sizes and mtimes are read before the files are, so a change during the build makes it stale.
    const files = input.files.map((file): [string, number, number] => {
      const st = statSync(file);
      return [file, st.size, st.mtimeMs];
    });
    // tsc emits `exports.__esModule` into every file under module node16, and Node 20 runs a
    // snapshot builder with no `exports` (only require, __filename, __dirname): give it one.
    const entry = `${f.blob}.${process.pid}.builder.js`;
    writeFileSync(entry, `var exports = {};\n${readFileSync(BUILDER, "utf8")}`);
    writeFileSync(inputFile, JSON.stringify({ ...input, stats: files }));
    const code = await new Promise<number | string>((resolve) => {
      const out = openSync(f.log, "a");
      const child = spawn(process.execPath, ["--snapshot-blob", tmp, "--build-snapshot", entry, inputFile], { stdio: ["ignore", out, out] });
      child.on("error", (err) => resolve(err.message));
      child.on("exit", (c, s) => resolve(s ?? c ?? 1));
      closeSync(out);
    });
    rmSync(entry, { force: true });
    if (code !== 0) throw new Error(`the builder exited with ${code}`);
    const manifest: SnapshotManifest = { key: input.key, files, blobSize: statSync(tmp).size, buildMs: Date.now() - t0 };
    renameSync(tmp, f.blob);
    const mtmp = `${f.manifest}.${process.pid}.tmp`;
    writeFileSync(mtmp, JSON.stringify(manifest));
    renameSync(mtmp, f.manifest);
    logTo(f.log, `wrote ${f.blob} (${(manifest.blobSize / 2 ** 20).toFixed(1)} MiB, ${files.length} files) in ${manifest.buildMs} ms`);
    const pruned = pruneSnapshots(input.key, dir);
    if (pruned.length) logTo(f.log, `removed ${pruned.length} older blob${pruned.length === 1 ? "" : "s"} (${SNAPSHOTS_KEPT} kept): ${pruned.join(", ")}`);
    return 0;
  } catch (err) {
    logTo(f.log, `build failed: ${(err as Error).message}`);
    rmSync(tmp, { force: true });
    return 1;
  } finally {
    rmSync(f.lock, { force: true });
    rmSync(inputFile, { force: true });
  }
}

// ---- the kernel's side -----------------------------------------------------------------------

let state: SnapshotState | undefined;
let hits = 0;
let startedAt = 0;

/** When (ms since process start) the snapshot's main function ran: the deserialisation's cost. */
export function snapshotStartedAt(): number {
  return startedAt;
}
let misses = 0;

/** The snapshot this process was started from, if any. */
export function snapshotState(): SnapshotState | undefined {
  return state;
}

/** How many files the hook took from the snapshot and how many it let TypeScript parse. */
export function snapshotUse(): { hits: number; misses: number } {
  return { hits, misses };
}

/**
 * Adopt the snapshot's TypeScript: it becomes the module `require` returns for typescript.js (so
 * tslab's converter and everyone else get that one instance), and its source-file hook (patched
 * in by the builder) returns the bound SourceFile from the snapshot, without reading the file,
 * when the file's size and mtime are still those it had when it was parsed, for the same language
 * version and module format. (Size and mtime, as make and tsc's incremental builds judge files:
 * reading and comparing the 4 MB of text instead cost 125 ms of a 2.4 s start, by a CPU profile.)
 */
export function adoptSnapshot(s: SnapshotState, stat: (f: string) => { size: number; mtimeMs: number } | undefined = statOrUndefined): void {
  state = s;
  startedAt = performance.now();
  // ts.sys memoizes process.cwd() on first use, which was in the builder (its cwd is the cache
  // folder): without this, a kernel from the snapshot resolved the cells' imports from there.
  const cwd = process.cwd();
  s.ts.sys.getCurrentDirectory = () => cwd;
  const cache = (Module as unknown as { _cache: Record<string, Module> })._cache;
  if (!cache[s.tsPath]) {
    const mod = new Module(s.tsPath, module);
    mod.filename = s.tsPath;
    mod.exports = s.ts;
    mod.loaded = true;
    cache[s.tsPath] = mod;
  }
  (globalThis as Record<symbol, unknown>)[Symbol.for("tsdl.cachedSourceFile")] = (
    fileName: string,
    opts: number | { languageVersion: number; impliedNodeFormat?: number },
  ) => {
    const sf = s.files.get(fileName);
    const then = s.stats.get(fileName);
    if (!sf || !then) return undefined;
    const languageVersion = typeof opts === "number" ? opts : opts?.languageVersion;
    const format = typeof opts === "number" ? undefined : opts?.impliedNodeFormat;
    const now = stat(fileName);
    if (!now || now.size !== then.size || !sameMtime(now.mtimeMs, then.mtimeMs) || sf.languageVersion !== languageVersion || sf.impliedNodeFormat !== format) {
      misses++;
      return undefined;
    }
    hits++;
    return sf;
  };
}

function statOrUndefined(f: string): { size: number; mtimeMs: number } | undefined {
  try {
    return statSync(f);
  } catch {
    return undefined;
  }
}

/**
 * Two mtimes (ms) the same to within 2 µs. A time set back with `utimes` (seconds, a double, kept
 * to the microsecond) comes back up to about a microsecond off what `stat` gave, not exactly.
 */
export function sameMtime(a: number, b: number): boolean {
  return Math.abs(a - b) < 2e-3;
}

/** The declaration files worth keeping in a snapshot: those of packages and of TypeScript's lib, not the notebook's own. */
export function snapshotWorthy(file: string, tsLibDir: string, packageRoot: string): boolean {
  if (!file.endsWith(".d.ts")) return false;
  return file.includes(`${path.sep}node_modules${path.sep}`) || file.startsWith(tsLibDir + path.sep) || file.startsWith(path.join(packageRoot, "dist") + path.sep);
}

// ---- the launcher --------------------------------------------------------------------------------

/**
 * Run `tsdl kernel ARGS` as a child `node --snapshot-blob BLOB kernel ARGS` and mirror it:
 * SIGINT, SIGTERM and SIGHUP go to the child; the child exits when this process is gone (its IPC
 * channel closes, even after a SIGKILL here); stdout and stderr are the same; this process ends
 * with the child's exit code or signal. Resolves `false` (nothing started) when the child died
 * before its main function ran (a blob Node could not load), so the caller runs the kernel itself.
 */
export function launchFromSnapshot(blob: string, args: string[], log: (line: string) => void, spawnChild = spawn): Promise<boolean> {
  return new Promise((resolve) => {
    const child: ChildProcess = spawnChild(process.execPath, ["--snapshot-blob", blob, ...args], {
      stdio: ["inherit", "inherit", "inherit", "ipc"],
      env: { ...process.env, TSDL_SNAPSHOT_BLOB: blob },
    });
    let up = false;
    const forward = (sig: NodeJS.Signals) => () => {
      try {
        child.kill(sig);
      } catch {
        // already gone
      }
    };
    const handlers = (["SIGINT", "SIGTERM", "SIGHUP"] as const).map((sig) => [sig, forward(sig)] as const);
    for (const [sig, h] of handlers) process.on(sig, h);
    child.on("message", (m: { type?: string }) => {
      if (m?.type !== "up") return;
      up = true;
      // The channel stays open (the child watches it) but does not keep this process alive.
      (child as unknown as { channel?: { unref(): void } }).channel?.unref();
    });
    child.on("error", (err) => {
      for (const [sig, h] of handlers) process.off(sig, h);
      log(`could not start the kernel from the snapshot: ${err.message}`);
      resolve(false);
    });
    child.on("exit", (code, signal) => {
      for (const [sig, h] of handlers) process.off(sig, h);
      if (!up) {
        log(`the kernel started from the snapshot ${blob} exited with ${signal ?? code} before it ran; starting without it (the blob is removed)`);
        rmSync(blob, { force: true });
        resolve(false);
        return;
      }
      if (signal) process.kill(process.pid, signal);
      else process.exit(code ?? 1);
    });
  });
}

if (require.main === module && process.argv[2] === "--build") {
  void buildJob(process.argv[3], process.argv[4]).then((code) => process.exit(code));
}

// ---- what the kernel's program read ----------------------------------------------------------------

const declarationReads = new Set<string>();
let compilerOptions: Record<string, unknown> = {};

/** Note every `.d.ts` file `host` reads (and the options it compiles with), for `requestBuild`. */
export function recordDeclarationReads(host: { readFile(f: string, encoding?: string): string | undefined }, options: Record<string, unknown>): void {
  compilerOptions = options;
  const read = host.readFile;
  host.readFile = function (this: unknown, f: string, encoding?: string) {
    const text = read.call(this, f, encoding);
    if (text !== undefined && f.endsWith(".d.ts")) declarationReads.add(f);
    return text;
  };
}

/** The declaration files the kernel's program has read so far, and its compiler options. */
export function declarationsRead(): { files: string[]; options: Record<string, unknown> } {
  return { files: [...declarationReads], options: JSON.parse(JSON.stringify(compilerOptions)) as Record<string, unknown> };
}
