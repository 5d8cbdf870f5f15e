/**
 * Optional system components some tests need (a browser, Debian's Jupyter tools, data, PyTorch),
 * found where a user's machine would have them. A test that needs one asks `requires(...)`:
 *
 *     test("opens the report in Chromium", { skip: requires("chromium") }, async () => { ... });
 *
 * Where a component is missing the test is skipped with a line naming it and the command that
 * installs it, and the skip is recorded for the summary that `test/run.ts` prints at the end of
 * `npm test`. Under CI (`CI=true`) nothing may be skipped: `requires` throws instead, so the test
 * file fails and says what is missing (`.ci/run` installs every component).
 *
 * Each look-up can be pointed elsewhere with an environment variable (`TSDL_CHROMIUM`,
 * `TSDL_PYTHON`, `TSDL_FASHION_MNIST`); pointing one at a missing place makes the component
 * missing, which is how the skip logic itself is tested.
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export type Component =
  | "chromium"
  | "jupyter"
  | "fashion-mnist"
  | "torch"
  | "kernel-test"
  | "jupyter-console"
  | "notebook-server"
  | "mount-namespace";

interface ComponentSpec {
  /** What a person calls it. */
  title: string;
  /** The command that installs it on Debian (and what else would do). */
  install: string;
  /** Debian packages, for the one-line install of everything. */
  packages: string[];
  /** The path or version found, or null. */
  find(): string | null;
}

/** Where Chromium or Chrome usually is on Linux and macOS. */
const BROWSER_PLACES = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/usr/bin/google-chrome-stable",
  "/snap/bin/chromium",
  "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
  "/Applications/Chromium.app/Contents/MacOS/Chromium",
];

/** The Python that has Debian's Jupyter packages: `TSDL_PYTHON`, else /usr/bin/python3. */
export function pythonPath(): string {
  return process.env.TSDL_PYTHON || "/usr/bin/python3";
}

const imports = new Map<string, boolean>();
/** True if `pythonPath()` imports every module named. */
function pythonImports(...modules: string[]): string | null {
  const py = pythonPath();
  const key = `${py}\0${modules.join(",")}`;
  if (!imports.has(key)) {
    const ok = existsSync(py) && spawnSync(py, ["-c", modules.map((m) => `import ${m}`).join("; ")], { stdio: "ignore", timeout: 60_000 }).status === 0;
    imports.set(key, ok);
  }
  return imports.get(key) ? py : null;
}

let namespaceProbe: string | null | undefined;
/** Whether this user can mount a tmpfs in a private mount namespace (`unshare -rm`); cached. */
function mountNamespace(): string | null {
  if (namespaceProbe === undefined) {
    const dir = mkdtempSync(path.join(os.tmpdir(), "tsdl-ns-probe-"));
    try {
      const r = spawnSync("unshare", ["-rm", "sh", "-c", 'mount -t tmpfs -o size=64k tsdl-probe "$1"', "sh", dir], { stdio: "ignore", timeout: 30_000 });
      namespaceProbe = r.status === 0 ? "unshare -rm" : null;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return namespaceProbe;
}

const SPECS: Record<Component, ComponentSpec> = {
  chromium: {
    title: "Chromium or Chrome",
    install: "apt-get install chromium (or set TSDL_CHROMIUM to a Chrome or Chromium binary)",
    packages: ["chromium"],
    find() {
      const set = process.env.TSDL_CHROMIUM;
      if (set !== undefined) return set && existsSync(set) ? set : null;
      return BROWSER_PLACES.find((p) => existsSync(p)) ?? null;
    },
  },
  jupyter: {
    title: "Debian's Jupyter client tools (jupyter_client, nbclient, nbconvert, nbformat, ipykernel)",
    install: "apt-get install jupyter-client python3-nbclient jupyter-nbconvert python3-nbformat python3-ipykernel",
    packages: ["jupyter-client", "python3-nbclient", "jupyter-nbconvert", "python3-nbformat", "python3-ipykernel"],
    find: () => pythonImports("jupyter_client", "nbclient", "nbconvert", "nbformat", "ipykernel"),
  },
  "fashion-mnist": {
    title: "Fashion-MNIST",
    install: "apt-get install dataset-fashion-mnist",
    packages: ["dataset-fashion-mnist"],
    find() {
      const dir = fashionMnistDir();
      return existsSync(path.join(dir, "train-images-idx3-ubyte.gz")) || existsSync(path.join(dir, "train-images-idx3-ubyte")) ? dir : null;
    },
  },
  torch: {
    title: "PyTorch (with OpenBLAS, for fair comparisons)",
    install: "apt-get install python3-torch libopenblas0-pthread",
    packages: ["python3-torch", "libopenblas0-pthread"],
    find: () => pythonImports("torch"),
  },
  "kernel-test": {
    title: "Jupyter's kernel conformance suite (jupyter_kernel_test)",
    install: "apt-get install python3-jupyter-kernel-test",
    packages: ["python3-jupyter-kernel-test"],
    find: () => pythonImports("jupyter_kernel_test"),
  },
  "jupyter-console": {
    title: "jupyter console",
    install: "apt-get install jupyter-console",
    packages: ["jupyter-console"],
    find: () => pythonImports("jupyter_console"),
  },
  "notebook-server": {
    title: "the classic Notebook server (notebook 6)",
    install: "apt-get install python3-notebook",
    packages: ["python3-notebook"],
    find: () => pythonImports("notebook"),
  },
  "mount-namespace": {
    title: "a private mount namespace (unshare -rm, to mount a small tmpfs)",
    install: "util-linux's unshare, with unprivileged user namespaces allowed (sysctl kernel.unprivileged_userns_clone=1) or as root; containers may forbid it",
    packages: [],
    find: mountNamespace,
  },
};

/** Where the Fashion-MNIST files are looked for: `TSDL_FASHION_MNIST`, else Debian's folder. */
export function fashionMnistDir(): string {
  return process.env.TSDL_FASHION_MNIST || "/usr/share/datasets/fashion-mnist";
}

/** The path (or interpreter) that provides `name`, or null when it is missing. */
export function find(name: Component): string | null {
  return SPECS[name].find();
}

/** The Chromium or Chrome binary to drive; throws with the install line when there is none. */
export function chromiumPath(): string {
  const found = find("chromium");
  if (!found) throw new Error(`no ${SPECS.chromium.title} found: ${SPECS.chromium.install}`);
  return found;
}

/** Every Debian package that makes every test run, for the README's one-line install. */
export function allPackages(): string[] {
  return [...new Set(Object.values(SPECS).flatMap((s) => s.packages))];
}

/** True under CI, where a missing component fails the run instead of skipping. */
export function underCi(): boolean {
  return process.env.CI === "true" || process.env.CI === "1";
}

/**
 * `false` when every component is present; otherwise the skip reason for node:test's `skip`
 * option (and the skip is recorded for the end-of-run summary). Throws under CI.
 */
export function requires(...names: Component[]): string | false {
  const missing = names.filter((n) => !find(n));
  if (missing.length === 0) return false;
  const reason = missing.map((n) => `needs ${SPECS[n].title}: ${SPECS[n].install}`).join("; ");
  if (underCi()) throw new Error(`CI=true and a test component is missing, and under CI nothing may skip: ${reason}`);
  const log = process.env.TSDL_SKIP_LOG;
  if (log) {
    const file = process.argv[1] ? path.relative(process.cwd(), process.argv[1]) : "?";
    for (const n of missing) appendFileSync(log, JSON.stringify({ component: n, title: SPECS[n].title, install: SPECS[n].install, file }) + "\n");
  }
  return reason;
}
