/**
 * tsdl installed the ways kernels are installed: `npm pack`, then the tarball installed globally
 * (`npm install -g --prefix TMP`, as `npm install -g tslab`) and into a fresh project
 * (`npm install tsdl.tgz`, where npm hoists tsdl's dependencies beside it). From each installed
 * copy: `tsdl kernel install --prefix`, `tsdl notebooks`, and the smoke notebook run through that
 * kernelspec by Debian's nbclient, with no error, a cell seeing `tf` and `dl`, and both resolved
 * inside that installation, never this checkout.
 *
 * npm reuses its cache (`--prefer-offline`; `npm install` of this checkout filled it), and the
 * optional tfjs-node packages are left out (`--omit=optional`): their install downloads
 * libtensorflow, and the kernel then runs on tsdl's wasm backend, as on a machine without it.
 * The pack skips the prepack build (`--ignore-scripts`): this test runs from the dist/ that
 * `npm test` has just built.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PACKAGE_ROOT } from "../../kernel/paths";
import { pythonPath, requires } from "../helpers/components";

const tmp = mkdtempSync(path.join(os.tmpdir(), "tsdl-pack-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** npm's environment: this run's npm settings removed (`npm test` exports them), the cache kept. */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_/i.test(k) || /^npm_config_(cache|registry)$/i.test(k)) env[k] = v;
  }
  return { ...env, npm_config_update_notifier: "false", npm_config_audit: "false", npm_config_fund: "false", npm_config_loglevel: "error" };
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env ?? npmEnv(), encoding: "utf8", timeout: opts.timeoutMs ?? 300_000, maxBuffer: 64 * 1024 * 1024 });
  const what = `${cmd} ${args.join(" ")} (in ${opts.cwd ?? process.cwd()})`;
  assert.equal(r.status, 0, `${what} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const INSTALL_FLAGS = ["--prefer-offline", "--omit=optional", "--no-audit", "--no-fund"];

let tarball = "";
let files: string[] = [];

before(() => {
  if (requires("jupyter")) return;
  const out = run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", tmp], { cwd: PACKAGE_ROOT });
  const [info] = JSON.parse(out) as { filename: string; size: number; entryCount: number; files: { path: string }[] }[];
  tarball = path.join(tmp, info.filename);
  files = info.files.map((f) => f.path);
  console.log(`# npm pack: ${info.filename}, ${statSync(tarball).size} bytes, ${info.entryCount} files`);
});

test("the tarball holds what a user needs and no tests, fixtures or CI files", { skip: requires("jupyter") }, () => {
  for (const f of ["package.json", "README.md", "LICENSE", "kernel/bin/tsdl.js", "dist/src/index.js", "dist/src/index.d.ts", "dist/kernel/cli.js", "dist/kernel/nbformat/nbformat.v4.schema.json", "notebooks/00-kernel-smoke.ipynb"]) {
    assert.ok(files.includes(f), `${f} is in the tarball`);
  }
  const unwanted = files.filter((f) => /^(dist\/test|test|\.ci|src|node_modules)\/|fixtures|\.tsbuildinfo$|^tsconfig\.json$/.test(f));
  assert.deepEqual(unwanted, []);
  assert.match(readFileSync(path.join(PACKAGE_ROOT, "LICENSE"), "utf8"), /^MIT License/);
});

interface Installed {
  how: string;
  /** The installed tsdl package folder. */
  root: string;
  /** Its `tsdl` command. */
  bin: string;
  /**
   * Where the notebooks are copied to and run from. For the project, its root: there the compiler
   * finds no tfjs by walking up from the notebook, only through the kernel's module map.
   */
  work: string;
}

function installGlobally(): Installed {
  const prefix = path.join(tmp, "global");
  run("npm", ["install", "-g", "--prefix", prefix, ...INSTALL_FLAGS, tarball]);
  return { how: "npm install -g", root: path.join(prefix, "lib", "node_modules", "tsdl"), bin: path.join(prefix, "bin", "tsdl"), work: path.join(tmp, "home", "tsdl-notebooks") };
}

function installInProject(): Installed {
  const project = path.join(tmp, "project");
  mkdirSync(project, { recursive: true });
  writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "my-project", version: "1.0.0", private: true }));
  run("npm", ["install", ...INSTALL_FLAGS, tarball], { cwd: project });
  // npm hoists tsdl's dependencies beside it: the layout the kernel used to miss.
  assert.ok(statSync(path.join(project, "node_modules", "@tensorflow", "tfjs")).isDirectory(), "tfjs is hoisted into the project");
  return { how: "npm install (project)", root: path.join(project, "node_modules", "tsdl"), bin: path.join(project, "node_modules", ".bin", "tsdl"), work: project };
}

// Runs the notebook in memory with one extra cell and prints the executed notebook as JSON.
const RUN = `
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
nb.cells.append(nbformat.v4.new_code_cell(sys.argv[2]))
NotebookClient(nb, kernel_name="tsdl", timeout=180, startup_timeout=180,
               resources={"metadata": {"path": sys.argv[3]}}).execute()
nbformat.write(nb, sys.stdout)
`;
const PROBE = `console.log(JSON.stringify({ tsdl: require.resolve("tsdl"), tf: require.resolve("@tensorflow/tfjs"), backend: tf.getBackend(), fit: typeof dl.train.fit, sum: tf.tensor([1, 2, 3]).sum().dataSync()[0] }))`;

interface Output {
  output_type: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
  ename?: string;
  evalue?: string;
}
const text = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join("") : (v ?? ""));

function checkInstalled(copy: Installed): void {
  const root = realpathSync(copy.root);
  // The kernelspec, from the installed copy's own command.
  const jupyterPrefix = path.join(tmp, `${copy.how.replace(/\W+/g, "-")}-jupyter`);
  run(copy.bin, ["kernel", "install", "--prefix", jupyterPrefix]);
  const jupyterPath = path.join(jupyterPrefix, "share", "jupyter");
  const spec = JSON.parse(readFileSync(path.join(jupyterPath, "kernels", "tsdl", "kernel.json"), "utf8")) as { argv: string[] };
  assert.equal(realpathSync(spec.argv[1]), path.join(root, "kernel", "bin", "tsdl.js"), `${copy.how}: kernel.json starts the installed copy`);

  // The notebooks, copied out of the installed package.
  const copied = run(copy.bin, ["notebooks", copy.work], { cwd: tmp });
  assert.match(copied, /00-kernel-smoke\.ipynb/);
  const notebook = path.join(copy.work, "00-kernel-smoke.ipynb");

  const r = spawnSync(pythonPath(), ["-c", RUN, notebook, PROBE, copy.work], {
    encoding: "utf8",
    timeout: 400_000,
    maxBuffer: 64 * 1024 * 1024,
    env: {
      ...process.env,
      TSDL_QUICK: "1",
      JUPYTER_PATH: jupyterPath,
      JUPYTER_DATA_DIR: path.join(tmp, "jupyter-data"),
      JUPYTER_RUNTIME_DIR: path.join(tmp, "jupyter-runtime"),
      JUPYTER_CONFIG_DIR: path.join(tmp, "jupyter-config"),
    },
  });
  assert.equal(r.status, 0, `${copy.how}: nbclient failed:\n${r.stderr.slice(-6000)}`);
  const nb = JSON.parse(r.stdout) as { cells: { id: string; cell_type: string; outputs?: Output[] }[] };
  const code = nb.cells.filter((c) => c.cell_type === "code");
  const errors = code.flatMap((c) => (c.outputs ?? []).filter((o) => o.output_type === "error"));
  assert.deepEqual(errors.map((e) => `${e.ename}: ${e.evalue}`), [], `${copy.how}: no error outputs`);
  const backend = code.find((c) => c.id === "backend")?.outputs?.[0];
  assert.match(text(backend?.data?.["text/plain"]), /^node-gpu .*\nnode .*\nwasm .*\ncpu .*/, "dl.backendInfo() ran");
  const product = code.find((c) => c.id === "matmul")?.outputs?.[0];
  assert.match(text(product?.data?.["text/plain"]), /\[\[7 , 10\],\n\s+\[15, 22\]\]/, "tf ran");

  const probe = JSON.parse(text(code.at(-1)?.outputs?.[0]?.text)) as { tsdl: string; tf: string; backend: string; fit: string; sum: number };
  assert.equal(probe.fit, "function");
  assert.equal(probe.sum, 6);
  assert.equal(realpathSync(probe.tsdl), path.join(root, "dist", "src", "index.js"), `${copy.how}: tsdl is the installed copy`);
  assert.ok(!realpathSync(probe.tf).startsWith(PACKAGE_ROOT + path.sep), `${copy.how}: tfjs comes from the installation, not this checkout (${probe.tf})`);
  console.log(`# ${copy.how}: kernel on ${probe.backend}; tsdl ${probe.tsdl}; tfjs ${probe.tf}`);
}

test("npm install -g --prefix: the kernelspec installs from it and nbclient runs the smoke notebook", { skip: requires("jupyter"), timeout: 900_000 }, () => {
  checkInstalled(installGlobally());
});

test("npm install tsdl.tgz in a project (dependencies hoisted): the same, notebooks at the project's root", { skip: requires("jupyter"), timeout: 900_000 }, () => {
  checkInstalled(installInProject());
});
