/**
 * Install, list and uninstall the tsdl kernelspec, without Python, following jupyter_client's
 * conventions: a kernelspec is a folder `<data dir>/kernels/<name>/` holding `kernel.json` and
 * `logo-32x32.png` / `logo-64x64.png`; the data dirs are `$JUPYTER_PATH`, the user's
 * (`$JUPYTER_DATA_DIR`, else `~/.local/share/jupyter` on Linux), the environment's
 * (`{sys.prefix}/share/jupyter`) and the system's (`/usr/local/share/jupyter`, `/usr/share/jupyter`).
 */
import { execFileSync } from "node:child_process";
import { accessSync, constants as fsConstants, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PNG } from "pngjs";
import { LAUNCHER, PACKAGE_ROOT } from "./paths";

/** The kernelspec's default name (the folder name; `jupyter --kernel tsdl`). */
export const KERNEL_NAME = "tsdl";
/** What Jupyter shows in its kernel menu. */
export const DISPLAY_NAME = "TypeScript (tsdl)";

/** Where to install: the user's data dir, a prefix, the Python environment's prefix, or (default) system-wide for root and the user's otherwise. */
export type Location = { kind: "user" } | { kind: "prefix"; prefix: string } | { kind: "sys-prefix" } | { kind: "default" };

/** The kernel.json tsdl writes. */
export interface KernelJson {
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode: "signal" | "message";
  env: Record<string, string>;
  metadata: Record<string, unknown>;
}

/** One kernelspec found by `listKernelspecs`. */
export interface FoundKernelspec {
  name: string;
  dir: string;
  display_name: string;
  language: string;
  /** True if its argv starts a tsdl launcher. */
  tsdl: boolean;
}

/** Pick the location from `--user`, `--prefix DIR`, `--sys-prefix` (at most one). */
export function locationFromOptions(options: Record<string, string | true>): Location {
  const chosen = ["user", "prefix", "sys-prefix"].filter((k) => options[k] !== undefined);
  if (chosen.length > 1) throw new Error(`choose one of --user, --prefix, --sys-prefix; found ${chosen.map((c) => `--${c}`).join(" and ")}`);
  if (options.user) return { kind: "user" };
  if (typeof options.prefix === "string") return { kind: "prefix", prefix: path.resolve(options.prefix) };
  if (options["sys-prefix"]) return { kind: "sys-prefix" };
  return { kind: "default" };
}

/** jupyter_core's `jupyter_data_dir()`: the user's Jupyter data folder. */
export function userDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.JUPYTER_DATA_DIR) return path.resolve(env.JUPYTER_DATA_DIR);
  const home = os.homedir();
  if (process.platform === "darwin") return path.join(home, "Library", "Jupyter");
  if (process.platform === "win32") return path.join(env.APPDATA ?? path.join(home, "AppData", "Roaming"), "jupyter");
  return path.join(env.XDG_DATA_HOME || path.join(home, ".local", "share"), "jupyter");
}

/**
 * The system-wide data folders, as jupyter_core lists them. `TSDL_JUPYTER_SYSTEM_DIRS` (a path
 * list, possibly empty) replaces them, so tests never touch the real system folders.
 */
export function systemDataDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const override = env.TSDL_JUPYTER_SYSTEM_DIRS;
  if (override !== undefined) return override.split(path.delimiter).filter(Boolean);
  if (process.platform === "win32") return [path.join(process.env.PROGRAMDATA ?? "C:\\ProgramData", "jupyter")];
  return ["/usr/local/share/jupyter", "/usr/share/jupyter"];
}

/**
 * The `jupyter` command Jupyter's own tools would be started as: `TSDL_JUPYTER` when set (empty
 * means none, for tests), else the first `jupyter` on PATH. Undefined when there is none.
 */
export function jupyterCommand(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.TSDL_JUPYTER !== undefined) return env.TSDL_JUPYTER ? path.resolve(env.TSDL_JUPYTER) : undefined;
  return findOnPath(process.platform === "win32" ? "jupyter.exe" : "jupyter", env);
}

function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? "").split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The Python interpreter that runs `jupyter` (read from its `#!` line; `#!/usr/bin/env python3`
 * is looked up on PATH), as a command and its leading arguments. Undefined when `jupyter` is
 * absent or is not a Python script.
 */
export function jupyterPython(env: NodeJS.ProcessEnv = process.env): { jupyter: string; python: string[] } | undefined {
  const jupyter = jupyterCommand(env);
  if (!jupyter) return undefined;
  let first: string;
  try {
    first = readFileSync(jupyter, "latin1").slice(0, 512).split(/\r?\n/, 1)[0];
  } catch {
    return undefined;
  }
  if (!first.startsWith("#!")) return undefined;
  const words = first.slice(2).trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return undefined;
  if (path.basename(words[0]) === "env") {
    const rest = words.slice(1).filter((w) => !w.startsWith("-"));
    const found = rest[0] && findOnPath(rest[0], env);
    return found ? { jupyter, python: [found, ...rest.slice(1)] } : undefined;
  }
  return { jupyter, python: words };
}

const prefixCache = new Map<string, string | undefined>();
/** `sys.prefix` of the Python that runs `jupyter` (jupyter_core's ENV_JUPYTER_PATH is `{sys.prefix}/share/jupyter`), or undefined. */
export function jupyterSysPrefix(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const py = jupyterPython(env);
  if (!py) return undefined;
  const key = py.python.join("\0");
  if (!prefixCache.has(key)) {
    let prefix: string | undefined;
    try {
      const out = execFileSync(py.python[0], [...py.python.slice(1), "-c", "import sys; print(sys.prefix)"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
        timeout: 30_000,
      }).trim();
      prefix = out && path.isAbsolute(out) ? out : undefined;
    } catch {
      prefix = undefined;
    }
    prefixCache.set(key, prefix);
  }
  return prefixCache.get(key);
}

/**
 * The Python environment's prefix (`sys.prefix`) for `--sys-prefix`, as Jupyter's tools would
 * see it: an active virtualenv or conda environment names it; otherwise the Python that runs
 * `jupyter` (so that `jupyter kernelspec list`, and our `list` and `uninstall`, find what was
 * installed). Without either it refuses, saying what it looked for.
 */
export function sysPrefix(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VIRTUAL_ENV) return env.VIRTUAL_ENV;
  if (env.CONDA_PREFIX) return env.CONDA_PREFIX;
  const prefix = jupyterSysPrefix(env);
  if (prefix) return prefix;
  const jupyter = jupyterCommand(env);
  const found = jupyter
    ? `found ${jupyter}, but could not ask the Python in its #! line for sys.prefix`
    : "found no active environment (VIRTUAL_ENV, CONDA_PREFIX) and no jupyter command on PATH";
  throw new Error(`--sys-prefix needs a Python environment: an active virtualenv or conda env, or the Python that runs jupyter; ${found}. Use --user or --prefix DIR instead`);
}

/**
 * The environment's data folder Jupyter searches: the active env's, and that of the Python that
 * runs `jupyter`. `TSDL_JUPYTER_SYSTEM_DIRS` (tests) leaves the latter out unless `TSDL_JUPYTER`
 * names the jupyter to ask.
 */
function envDataDirs(env: NodeJS.ProcessEnv): string[] {
  const dirs: string[] = [];
  const active = env.VIRTUAL_ENV || env.CONDA_PREFIX;
  if (active) dirs.push(path.join(active, "share", "jupyter"));
  if (env.TSDL_JUPYTER_SYSTEM_DIRS === undefined || env.TSDL_JUPYTER !== undefined) {
    const prefix = jupyterSysPrefix(env);
    if (prefix) dirs.push(path.join(prefix, "share", "jupyter"));
  }
  return dirs;
}

/** Every data folder Jupyter searches, first match wins: JUPYTER_PATH, the user's, the environment's (the active env and the one running `jupyter`), the system's. */
export function jupyterPath(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs: string[] = [];
  if (env.JUPYTER_PATH) dirs.push(...env.JUPYTER_PATH.split(path.delimiter).filter(Boolean).map((d) => path.resolve(d)));
  dirs.push(userDataDir(env));
  dirs.push(...envDataDirs(env));
  dirs.push(...systemDataDirs(env));
  return [...new Set(dirs)];
}

/** The `kernels` folder a location installs into. */
export function kernelsDir(location: Location, env: NodeJS.ProcessEnv = process.env): string {
  switch (location.kind) {
    case "user":
      return path.join(userDataDir(env), "kernels");
    case "prefix":
      return path.join(location.prefix, "share", "jupyter", "kernels");
    case "sys-prefix":
      return path.join(sysPrefix(env), "share", "jupyter", "kernels");
    case "default":
      return isRoot() && systemDataDirs(env).length > 0 ? path.join(systemDataDirs(env)[0], "kernels") : path.join(userDataDir(env), "kernels");
  }
}

function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

/** The kernel.json content: absolute paths of this node binary and this package's launcher. */
export function kernelJson(): KernelJson {
  const version = (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string }).version;
  return {
    argv: [process.execPath, LAUNCHER, "kernel", "--connection-file", "{connection_file}"],
    display_name: DISPLAY_NAME,
    language: "typescript",
    interrupt_mode: "message",
    env: {},
    metadata: { tsdl: { version, root: PACKAGE_ROOT } },
  };
}

/**
 * Write the kernelspec (kernel.json and logos). Everything goes into a temporary folder beside
 * the target first and is renamed into place, so a failure leaves the previous kernelspec (or
 * nothing) and no half-written folder. Installing twice overwrites. Returns the folder written.
 */
export function installKernelspec(
  options: { location?: Location; name?: string; env?: NodeJS.ProcessEnv; writeFile?: (file: string, data: string | Buffer) => void } = {},
): string {
  const name = options.name ?? KERNEL_NAME;
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) throw new Error(`kernel name ${JSON.stringify(name)} may use only letters, digits, ".", "_" and "-"`);
  const env = options.env ?? process.env;
  const kernels = kernelsDir(options.location ?? { kind: "default" }, env);
  const dir = path.join(kernels, name);
  const write = options.writeFile ?? ((file: string, data: string | Buffer) => writeFileSync(file, data));
  const cannot = (err: unknown) =>
    new Error(`cannot install the kernelspec into ${kernels}: ${(err as Error).message}; choose a folder you can write (--user, or --prefix DIR)`);
  let tmp: string;
  try {
    mkdirSync(kernels, { recursive: true });
    tmp = mkdtempSync(path.join(kernels, `.${name}.tmp-`));
  } catch (err) {
    throw cannot(err);
  }
  let old: string | undefined;
  try {
    write(path.join(tmp, "kernel.json"), JSON.stringify(kernelJson(), null, 2) + "\n");
    write(path.join(tmp, "logo-32x32.png"), logoPng(32));
    write(path.join(tmp, "logo-64x64.png"), logoPng(64));
    if (existsSync(dir)) {
      old = `${tmp}.old`;
      renameSync(dir, old);
    }
    try {
      renameSync(tmp, dir);
    } catch (err) {
      if (old) renameSync(old, dir);
      old = undefined;
      throw err;
    }
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw cannot(err);
  }
  if (old) rmSync(old, { recursive: true, force: true });
  return dir;
}

/**
 * The warning `jupyter kernelspec install` gives when a kernelspec folder is not where Jupyter
 * looks (JUPYTER_PATH, the user's, the environment's, the system's), naming the fix; undefined
 * when Jupyter will find it.
 */
export function searchPathWarning(dir: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const data = path.dirname(path.dirname(dir));
  const searched = jupyterPath(env);
  if (searched.includes(data)) return undefined;
  return (
    `${dir} is not in Jupyter's kernel search path (${searched.map((d) => path.join(d, "kernels")).join(", ") || "empty"}); ` +
    `Jupyter will not find this kernelspec unless JUPYTER_PATH includes ${data}`
  );
}

/** Read the kernelspecs Jupyter would find (first of each name wins). */
export function listKernelspecs(env: NodeJS.ProcessEnv = process.env): FoundKernelspec[] {
  const found = new Map<string, FoundKernelspec>();
  for (const data of jupyterPath(env)) {
    const kernels = path.join(data, "kernels");
    let names: string[];
    try {
      names = readdirSync(kernels);
    } catch {
      continue;
    }
    for (const name of names.sort()) {
      if (found.has(name.toLowerCase())) continue;
      const spec = readSpec(path.join(kernels, name));
      if (spec) found.set(name.toLowerCase(), { name, dir: path.join(kernels, name), ...spec });
    }
  }
  return [...found.values()];
}

/** The kernel.json of the kernelspec Jupyter would pick for `name`, with its folder, or undefined. */
export function findKernelspec(name: string, env: NodeJS.ProcessEnv = process.env): { dir: string; spec: KernelJson } | undefined {
  const found = listKernelspecs(env).find((k) => k.name.toLowerCase() === name.toLowerCase());
  if (!found) return undefined;
  const spec = JSON.parse(readFileSync(path.join(found.dir, "kernel.json"), "utf8")) as KernelJson;
  return { dir: found.dir, spec };
}

function readSpec(dir: string): Omit<FoundKernelspec, "name" | "dir"> | undefined {
  try {
    const json = JSON.parse(readFileSync(path.join(dir, "kernel.json"), "utf8")) as Partial<KernelJson>;
    const argv = Array.isArray(json.argv) ? json.argv.map(String) : [];
    return {
      display_name: String(json.display_name ?? ""),
      language: String(json.language ?? ""),
      tsdl: argv.some((a) => a.endsWith(path.join("kernel", "bin", "tsdl.js"))),
    };
  } catch {
    return undefined;
  }
}

/**
 * Remove the tsdl kernelspec: from one location when given, else from every folder Jupyter
 * searches where a kernelspec of that name starts a tsdl launcher. Returns the folders removed.
 */
export function uninstallKernelspec(options: { location?: Location; name?: string; env?: NodeJS.ProcessEnv } = {}): string[] {
  const removed: string[] = [];
  for (const dir of uninstallCandidates(options)) {
    if (!existsSync(path.join(dir, "kernel.json"))) continue;
    const spec = readSpec(dir);
    if (!spec?.tsdl) continue;
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

/** The folders `uninstallKernelspec` looks in, in order (so the CLI can name them). */
export function uninstallCandidates(options: { location?: Location; name?: string; env?: NodeJS.ProcessEnv } = {}): string[] {
  const name = options.name ?? KERNEL_NAME;
  return options.location && options.location.kind !== "default"
    ? [path.join(kernelsDir(options.location, options.env), name)]
    : jupyterPath(options.env).map((d) => path.join(d, "kernels", name));
}

/**
 * The tsdl logo at `size` pixels, drawn here so the repository holds no binary files: a
 * TypeScript-blue rounded square with a small 3-2-3 network in white.
 */
export function logoPng(size: number): Buffer {
  const png = new PNG({ width: size, height: size });
  const s = size / 64;
  const r = 10 * s;
  const nodes: [number, number][] = [
    [14, 18], [14, 32], [14, 46],
    [32, 24], [32, 40],
    [50, 18], [50, 32], [50, 46],
  ].map(([x, y]) => [x * s, y * s]);
  const edges: [number, number][] = [];
  for (const a of [0, 1, 2]) for (const b of [3, 4]) edges.push([a, b]);
  for (const a of [3, 4]) for (const b of [5, 6, 7]) edges.push([a, b]);
  const lineW = Math.max(1, 1.6 * s);
  const nodeR = 4.2 * s;
  const SS = 4;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let bg = 0;
      let fg = 0;
      for (let sy = 0; sy < SS; sy++) {
        for (let sx = 0; sx < SS; sx++) {
          const px = x + (sx + 0.5) / SS;
          const py = y + (sy + 0.5) / SS;
          if (!insideRoundedSquare(px, py, size, r)) continue;
          bg++;
          const onNode = nodes.some(([nx, ny]) => (px - nx) ** 2 + (py - ny) ** 2 <= nodeR ** 2);
          const onEdge = edges.some(([a, b]) => distToSegment(px, py, nodes[a], nodes[b]) <= lineW / 2);
          if (onNode || onEdge) fg++;
        }
      }
      const n = SS * SS;
      const i = (y * size + x) * 4;
      const f = bg === 0 ? 0 : fg / bg;
      // blend white over #3178c6
      png.data[i] = Math.round(0x31 + (255 - 0x31) * f);
      png.data[i + 1] = Math.round(0x78 + (255 - 0x78) * f);
      png.data[i + 2] = Math.round(0xc6 + (255 - 0xc6) * f);
      png.data[i + 3] = Math.round((255 * bg) / n);
    }
  }
  return PNG.sync.write(png);
}

function insideRoundedSquare(x: number, y: number, size: number, r: number): boolean {
  const cx = Math.min(Math.max(x, r), size - r);
  const cy = Math.min(Math.max(y, r), size - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}

function distToSegment(px: number, py: number, a: [number, number], b: [number, number]): number {
  const [ax, ay] = a;
  const [bx, by] = b;
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}
