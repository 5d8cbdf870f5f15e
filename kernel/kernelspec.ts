/**
 * Install, list and uninstall the tsdl kernelspec, without Python, following jupyter_client's
 * conventions: a kernelspec is a folder `<data dir>/kernels/<name>/` holding `kernel.json` and
 * `logo-32x32.png` / `logo-64x64.png`; the data dirs are `$JUPYTER_PATH`, the user's
 * (`$JUPYTER_DATA_DIR`, else `~/.local/share/jupyter` on Linux), the environment's
 * (`{sys.prefix}/share/jupyter`) and the system's (`/usr/local/share/jupyter`, `/usr/share/jupyter`).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
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

/** The system-wide data folders, as jupyter_core lists them. */
export function systemDataDirs(): string[] {
  if (process.platform === "win32") return [path.join(process.env.PROGRAMDATA ?? "C:\\ProgramData", "jupyter")];
  return ["/usr/local/share/jupyter", "/usr/share/jupyter"];
}

/**
 * The Python environment's prefix (`sys.prefix`) without needing Python when it can be helped:
 * an active virtualenv or conda environment names it; otherwise ask `python3` if there is one.
 */
export function sysPrefix(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VIRTUAL_ENV) return env.VIRTUAL_ENV;
  if (env.CONDA_PREFIX) return env.CONDA_PREFIX;
  try {
    return execFileSync("python3", ["-c", "import sys; print(sys.prefix)"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    throw new Error("--sys-prefix needs a Python environment (VIRTUAL_ENV or CONDA_PREFIX set, or python3 on PATH); use --user or --prefix DIR instead");
  }
}

/** Every data folder Jupyter searches, first match wins: JUPYTER_PATH, the user's, the environment's, the system's. */
export function jupyterPath(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs: string[] = [];
  if (env.JUPYTER_PATH) dirs.push(...env.JUPYTER_PATH.split(path.delimiter).filter(Boolean).map((d) => path.resolve(d)));
  dirs.push(userDataDir(env));
  const envPrefix = env.VIRTUAL_ENV ?? env.CONDA_PREFIX;
  if (envPrefix) dirs.push(path.join(envPrefix, "share", "jupyter"));
  dirs.push(...systemDataDirs());
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
      return isRoot() ? path.join(systemDataDirs()[0], "kernels") : path.join(userDataDir(env), "kernels");
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

function writeAtomic(file: string, data: string | Buffer): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/** Write the kernelspec (kernel.json and logos); returns its folder. Installing twice overwrites. */
export function installKernelspec(options: { location?: Location; name?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const name = options.name ?? KERNEL_NAME;
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) throw new Error(`kernel name ${JSON.stringify(name)} may use only letters, digits, ".", "_" and "-"`);
  const dir = path.join(kernelsDir(options.location ?? { kind: "default" }, options.env), name);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new Error(`cannot create ${dir}: ${(err as Error).message}`);
  }
  writeAtomic(path.join(dir, "kernel.json"), JSON.stringify(kernelJson(), null, 2) + "\n");
  writeAtomic(path.join(dir, "logo-32x32.png"), logoPng(32));
  writeAtomic(path.join(dir, "logo-64x64.png"), logoPng(64));
  return dir;
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
  const name = options.name ?? KERNEL_NAME;
  const candidates =
    options.location && options.location.kind !== "default"
      ? [path.join(kernelsDir(options.location, options.env), name)]
      : jupyterPath(options.env).map((d) => path.join(d, "kernels", name));
  const removed: string[] = [];
  for (const dir of candidates) {
    if (!existsSync(path.join(dir, "kernel.json"))) continue;
    const spec = readSpec(dir);
    if (!spec?.tsdl) continue;
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
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
