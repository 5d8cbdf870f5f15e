/**
 * `tsdl kernel install | list | uninstall` into temporary folders, checked by reading the files
 * and by asking Jupyter itself (Debian's jupyter-client) what it sees.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PNG } from "pngjs";
import { findKernelspec, installKernelspec, jupyterPython, jupyterSysPrefix } from "../../kernel/kernelspec";
import { pythonPath, requires } from "../helpers/components";
import { LAUNCHER } from "../../kernel/paths";

const tmp = mkdtempSync(path.join(os.tmpdir(), "tsdl-kernelspec-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Run the real `tsdl` command. */
function tsdl(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [LAUNCHER, ...args], {
    encoding: "utf8",
    // Never the real user or system folders: this test installs and uninstalls.
    // TSDL_JUPYTER "" : no `jupyter` command, so no Python environment's folder either.
    env: { ...process.env, JUPYTER_PATH: "", JUPYTER_DATA_DIR: path.join(tmp, "nobody"), TSDL_JUPYTER_SYSTEM_DIRS: "", TSDL_JUPYTER: "", VIRTUAL_ENV: "", CONDA_PREFIX: "", ...env },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}


test("install --prefix writes kernel.json with absolute node and launcher paths, and both logos", () => {
  const prefix = path.join(tmp, "prefix");
  const r = tsdl(["kernel", "install", "--prefix", prefix]);
  assert.equal(r.code, 0, r.err);
  const dir = path.join(prefix, "share", "jupyter", "kernels", "tsdl");
  assert.match(r.out, new RegExp(`installed the tsdl kernelspec in ${dir.replace(/[/\\]/g, "\\$&")}`));
  const spec = JSON.parse(readFileSync(path.join(dir, "kernel.json"), "utf8"));
  assert.deepEqual(spec.argv, [process.execPath, LAUNCHER, "kernel", "--connection-file", "{connection_file}"]);
  assert.ok(path.isAbsolute(spec.argv[0]) && path.isAbsolute(spec.argv[1]));
  assert.equal(spec.display_name, "TypeScript (tsdl)");
  assert.equal(spec.language, "typescript");
  assert.equal(spec.interrupt_mode, "message");
  for (const size of [32, 64]) {
    const png = PNG.sync.read(readFileSync(path.join(dir, `logo-${size}x${size}.png`)));
    assert.equal(png.width, size);
    assert.equal(png.height, size);
    const centre = (Math.floor(size / 2) * size + Math.floor(size / 4)) * 4;
    assert.equal(png.data[centre + 3], 255, "opaque inside");
    assert.equal(png.data[3], 0, "transparent corner");
  }
  // Installing twice is harmless: same content, exit 0.
  const again = tsdl(["kernel", "install", "--prefix", prefix]);
  assert.equal(again.code, 0, again.err);
  assert.deepEqual(JSON.parse(readFileSync(path.join(dir, "kernel.json"), "utf8")), spec);
});

test("list finds it through JUPYTER_PATH, and so does Jupyter's own kernelspec list", { skip: requires("jupyter") }, () => {
  const prefix = path.join(tmp, "prefix");
  const jupyterPath = path.join(prefix, "share", "jupyter");
  const ours = tsdl(["kernel", "list", "--json"], { JUPYTER_PATH: jupyterPath });
  assert.equal(ours.code, 0, ours.err);
  const found = (JSON.parse(ours.out) as { kernelspecs: { name: string; dir: string; tsdl: boolean }[] }).kernelspecs;
  const mine = found.find((k) => k.name === "tsdl");
  assert.ok(mine, ours.out);
  assert.equal(mine.dir, path.join(jupyterPath, "kernels", "tsdl"));
  assert.equal(mine.tsdl, true);
  const picked = findKernelspec("TSDL", { JUPYTER_PATH: jupyterPath, JUPYTER_DATA_DIR: path.join(tmp, "nobody"), TSDL_JUPYTER_SYSTEM_DIRS: "" });
  assert.equal(picked?.dir, path.join(jupyterPath, "kernels", "tsdl"), "names match case-insensitively, as in Jupyter");
  assert.equal(picked?.spec.argv[1], LAUNCHER);
  const text = tsdl(["kernel", "list"], { JUPYTER_PATH: jupyterPath });
  assert.match(text.out, /^Available kernels:\n(.|\n)*\btsdl\s+\S+kernels\/tsdl\n/m);

  const theirs = spawnSync(pythonPath(), ["-m", "jupyter_client.kernelspecapp", "list", "--json"], {
    encoding: "utf8",
    env: { ...process.env, JUPYTER_PATH: jupyterPath, JUPYTER_DATA_DIR: path.join(tmp, "nobody") },
  });
  assert.equal(theirs.status, 0, theirs.stderr);
  const specs = JSON.parse(theirs.stdout).kernelspecs as Record<string, { resource_dir: string; spec: { display_name: string } }>;
  assert.equal(specs.tsdl?.resource_dir, path.join(jupyterPath, "kernels", "tsdl"));
  assert.equal(specs.tsdl.spec.display_name, "TypeScript (tsdl)");
});

test("--user installs into JUPYTER_DATA_DIR/kernels; uninstall removes it; uninstalling again is harmless", () => {
  const data = path.join(tmp, "user-data");
  const env = { JUPYTER_DATA_DIR: data };
  assert.equal(tsdl(["kernel", "install", "--user"], env).code, 0);
  const dir = path.join(data, "kernels", "tsdl");
  assert.ok(existsSync(path.join(dir, "kernel.json")));
  const listed = JSON.parse(tsdl(["kernel", "list", "--json"], env).out).kernelspecs as { name: string; dir: string }[];
  assert.deepEqual(listed.find((k) => k.name === "tsdl")?.dir, dir);
  const un = tsdl(["kernel", "uninstall", "--user"], env);
  assert.equal(un.code, 0, un.err);
  assert.equal(un.out.trim(), `removed ${dir}`);
  assert.equal(existsSync(dir), false);
  const again = tsdl(["kernel", "uninstall", "--user"], env);
  assert.equal(again.code, 0);
  assert.match(again.out, /nothing to remove/);
});

test("uninstall without a location removes every tsdl kernelspec Jupyter would find, and nothing else", () => {
  const a = path.join(tmp, "a");
  const b = path.join(tmp, "b");
  assert.equal(tsdl(["kernel", "install", "--prefix", a]).code, 0);
  assert.equal(tsdl(["kernel", "install", "--prefix", b, "--name", "tsdl-two"]).code, 0);
  const jp = [path.join(a, "share", "jupyter"), path.join(b, "share", "jupyter")].join(path.delimiter);
  const un = tsdl(["kernel", "uninstall"], { JUPYTER_PATH: jp });
  assert.equal(un.code, 0, un.err);
  assert.equal(existsSync(path.join(a, "share", "jupyter", "kernels", "tsdl")), false);
  assert.equal(existsSync(path.join(b, "share", "jupyter", "kernels", "tsdl-two")), true, "other names stay");
});

test("bad usage says what was expected", () => {
  const both = tsdl(["kernel", "install", "--user", "--prefix", tmp]);
  assert.notEqual(both.code, 0);
  assert.match(both.err, /choose one of --user, --prefix, --sys-prefix; found --user and --prefix/);
  const unknown = tsdl(["kernel", "install", "--global"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown option --global; expected one of --user, --prefix, --sys-prefix, --name/);
  const noFile = tsdl(["kernel"]);
  assert.equal(noFile.code, 2);
  assert.match(noFile.err, /tsdl kernel needs --connection-file FILE/);
  const badFile = tsdl(["kernel", "--connection-file", path.join(tmp, "missing.json")]);
  assert.equal(badFile.code, 1);
  assert.match(badFile.err, /cannot read connection file .*missing\.json/);
});

test("--help prints usage and exits 0 for tsdl and each sub-command, and for npm run mnist", () => {
  const cases: [string[], RegExp][] = [
    [["--help"], /^usage:\n  tsdl kernel --connection-file FILE/],
    [["kernel", "--help"], /^usage:\n  tsdl kernel --connection-file FILE .*\n(.|\n)*tsdl kernel install --help/],
    [["kernel", "-h"], /^usage:\n  tsdl kernel --connection-file FILE/],
    [["kernel", "install", "--help"], /^usage: tsdl kernel install (.|\n)*--sys-prefix   the active virtualenv/],
    [["kernel", "uninstall", "--help"], /^usage: tsdl kernel uninstall /],
    [["kernel", "list", "--help"], /^usage: tsdl kernel list \[--json\]/],
    [["run", "--help"], /^usage: tsdl run NOTEBOOK\.ipynb\.\.\./],
    [["report", "--help"], /^usage: tsdl report NOTEBOOK\.ipynb/],
    [["start", "--help"], /^usage: tsdl start /],
  ];
  for (const [args, usage] of cases) {
    const r = tsdl(args);
    assert.equal(r.code, 0, `tsdl ${args.join(" ")}: ${r.err}`);
    assert.match(r.out, usage, `tsdl ${args.join(" ")}`);
    assert.equal(r.err, "", `tsdl ${args.join(" ")} writes nothing to stderr`);
  }
  // --help wins over other arguments and installs nothing.
  const prefix = path.join(tmp, "help-prefix");
  assert.equal(tsdl(["kernel", "install", "--prefix", prefix, "--help"]).code, 0);
  assert.equal(existsSync(prefix), false);
  // The reference run (what `npm run mnist -- --help` runs after its build).
  const mnist = spawnSync(process.execPath, [path.join(__dirname, "..", "bench", "mnist-reference.js"), "--help"], { encoding: "utf8", timeout: 120_000 });
  assert.equal(mnist.status, 0, mnist.stderr);
  assert.match(mnist.stdout, /^usage: npm run mnist -- \[--quick\] /);
  assert.doesNotMatch(mnist.stdout, /^(backend|data|training):/m, "help trains nothing");
  const bad = spawnSync(process.execPath, [path.join(__dirname, "..", "bench", "mnist-reference.js"), "--epoch", "3"], { encoding: "utf8", timeout: 120_000 });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /Unknown option '--epoch'(.|\n)*usage: npm run mnist/);
});

test("install --prefix warns, as jupyter kernelspec install does, when Jupyter does not search there, and names the folder", () => {
  const prefix = path.join(tmp, "unsearched");
  const dir = path.join(prefix, "share", "jupyter", "kernels", "tsdl");
  const r = tsdl(["kernel", "install", "--prefix", prefix]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, `installed the tsdl kernelspec in ${dir}\n`);
  assert.equal(
    r.err,
    `tsdl: warning: ${dir} is not in Jupyter's kernel search path (${path.join(tmp, "nobody", "kernels")}); ` +
      `Jupyter will not find this kernelspec unless JUPYTER_PATH includes ${path.join(prefix, "share", "jupyter")}\n`,
  );
  // On JUPYTER_PATH, or into the user's folder: no warning.
  const searched = tsdl(["kernel", "install", "--prefix", prefix], { JUPYTER_PATH: path.join(prefix, "share", "jupyter") });
  assert.equal(searched.code, 0, searched.err);
  assert.equal(searched.err, "");
  const user = tsdl(["kernel", "install", "--user"], { JUPYTER_DATA_DIR: path.join(tmp, "warn-user") });
  assert.equal(user.err, "");
});

/** A fake `jupyter` whose #! line names a fake Python that prints `prefix` as its sys.prefix. */
function fakeJupyter(name: string, prefix: string, viaEnv: boolean): { jupyter: string; bin: string } {
  const bin = path.join(tmp, name, "bin");
  mkdirSync(bin, { recursive: true });
  const python = path.join(bin, "fakepython");
  writeFileSync(python, `#!/bin/sh\n# answers: import sys; print(sys.prefix)\necho "${prefix}"\n`, { mode: 0o755 });
  const jupyter = path.join(bin, "jupyter");
  writeFileSync(jupyter, `${viaEnv ? "#!/usr/bin/env fakepython" : `#!${python}`}\nimport sys\n`, { mode: 0o755 });
  return { jupyter, bin };
}

test("--sys-prefix without an active env uses the Python that runs jupyter; list and uninstall then find it", () => {
  for (const viaEnv of [false, true]) {
    const envPrefix = path.join(tmp, `jupyter-env-${viaEnv}`);
    const { jupyter, bin } = fakeJupyter(`fake-${viaEnv}`, envPrefix, viaEnv);
    // `jupyter` found on PATH, as a user's shell would find it: install and uninstall there.
    const onPath = { TSDL_JUPYTER: undefined, PATH: `${bin}${path.delimiter}${process.env.PATH}` };
    assert.equal(jupyterPython(onPath)?.jupyter, jupyter);
    const dir = path.join(envPrefix, "share", "jupyter", "kernels", "tsdl");
    const r = tsdl(["kernel", "install", "--sys-prefix"], onPath);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `installed the tsdl kernelspec in ${dir}\n`);
    assert.equal(tsdl(["kernel", "uninstall", "--sys-prefix"], onPath).out, `removed ${dir}\n`);
    // Jupyter's search path holds its own Python's prefix: no warning, and list and uninstall
    // without a location find it. (The test names that jupyter with TSDL_JUPYTER: with the test's
    // TSDL_JUPYTER_SYSTEM_DIRS the search path leaves out a jupyter found only on PATH.)
    const env = { TSDL_JUPYTER: jupyter, PATH: onPath.PATH };
    const again = tsdl(["kernel", "install", "--sys-prefix"], env);
    assert.equal(again.code, 0, again.err);
    assert.equal(again.out, `installed the tsdl kernelspec in ${dir}\n`);
    assert.equal(again.err, "", "Jupyter searches its own Python's prefix: no warning");
    const listed = JSON.parse(tsdl(["kernel", "list", "--json"], env).out).kernelspecs as { name: string; dir: string }[];
    assert.equal(listed.find((k) => k.name === "tsdl")?.dir, dir);
    const un = tsdl(["kernel", "uninstall"], env);
    assert.equal(un.code, 0, un.err);
    assert.equal(un.out, `removed ${dir}\n`);
    assert.equal(existsSync(dir), false);
  }
});

test("--sys-prefix with neither an active env nor jupyter refuses, saying what it looked for, and writes nothing", () => {
  const r = tsdl(["kernel", "install", "--sys-prefix"]);
  assert.equal(r.code, 1);
  assert.match(r.err, /--sys-prefix needs a Python environment: an active virtualenv or conda env, or the Python that runs jupyter; found no active environment \(VIRTUAL_ENV, CONDA_PREFIX\) and no jupyter command on PATH\. Use --user or --prefix DIR instead/);
  assert.equal(r.out, "");
  // A jupyter that is not a Python script is named.
  const notPython = path.join(tmp, "jupyter-binary");
  writeFileSync(notPython, "\x7fELF", { mode: 0o755 });
  const bin = tsdl(["kernel", "install", "--sys-prefix"], { TSDL_JUPYTER: notPython });
  assert.equal(bin.code, 1);
  assert.match(bin.err, new RegExp(`found ${notPython.replace(/[/\\]/g, "\\$&")}, but could not ask the Python in its #! line for sys\\.prefix`));
});

test("the real jupyter's Python gives its sys.prefix", { skip: requires("jupyter") }, () => {
  const jupyter = path.join(path.dirname(pythonPath()), "jupyter");
  const expected = spawnSync(pythonPath(), ["-c", "import sys; print(sys.prefix)"], { encoding: "utf8" }).stdout.trim();
  assert.equal(jupyterSysPrefix({ PATH: process.env.PATH, TSDL_JUPYTER: jupyter }), expected);
});

test("uninstall names every folder it looked in when there was nothing to remove", () => {
  const a = path.join(tmp, "look-a");
  const un = tsdl(["kernel", "uninstall"], { JUPYTER_PATH: a });
  assert.equal(un.code, 0, un.err);
  assert.equal(un.out, `no tsdl kernelspec found; nothing to remove. Looked in:\n  ${path.join(a, "kernels", "tsdl")}\n  ${path.join(tmp, "nobody", "kernels", "tsdl")}\n`);
  const named = tsdl(["kernel", "uninstall", "--prefix", a, "--name", "other"]);
  assert.equal(named.out, `no tsdl kernelspec named other found; nothing to remove. Looked in:\n  ${path.join(a, "share", "jupyter", "kernels", "other")}\n`);
});

test("install into a folder it cannot write: a clear error naming the folder, nothing half-written", () => {
  // A prefix whose share/ is a file: no user (root included) can create folders under it.
  const prefix = path.join(tmp, "blocked");
  mkdirSync(prefix);
  writeFileSync(path.join(prefix, "share"), "a file, not a folder");
  const r = tsdl(["kernel", "install", "--prefix", prefix]);
  assert.equal(r.code, 1);
  assert.match(r.err, new RegExp(`^tsdl: cannot install the kernelspec into ${path.join(prefix, "share", "jupyter", "kernels").replace(/[/\\]/g, "\\$&")}: ENOTDIR.*; choose a folder you can write \\(--user, or --prefix DIR\\)\n$`));
  assert.deepEqual(readdirSync(prefix), ["share"]);
  // A read-only kernels folder (only meaningful when not root: root writes anyway).
  if (process.getuid?.() !== 0) {
    const ro = path.join(tmp, "read-only");
    const kernels = path.join(ro, "share", "jupyter", "kernels");
    mkdirSync(kernels, { recursive: true });
    chmodSync(kernels, 0o555);
    try {
      const denied = tsdl(["kernel", "install", "--prefix", ro]);
      assert.equal(denied.code, 1);
      assert.match(denied.err, /cannot install the kernelspec into .*read-only\/share\/jupyter\/kernels: EACCES/);
      assert.deepEqual(readdirSync(kernels), []);
    } finally {
      chmodSync(kernels, 0o755);
    }
  }
});

test("a write that fails midway leaves the previous kernelspec as it was and no temporary folder", () => {
  const prefix = path.join(tmp, "midway");
  const location = { kind: "prefix" as const, prefix };
  const env = { JUPYTER_PATH: "", JUPYTER_DATA_DIR: path.join(tmp, "nobody"), TSDL_JUPYTER_SYSTEM_DIRS: "", TSDL_JUPYTER: "" };
  const dir = installKernelspec({ location, env });
  const kernels = path.dirname(dir);
  writeFileSync(path.join(dir, "kernel.json"), '{"marker": "the previous install"}');
  let writes = 0;
  assert.throws(
    () =>
      installKernelspec({
        location,
        env,
        writeFile: (file, data) => {
          if (++writes === 2) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
          writeFileSync(file, data);
        },
      }),
    new RegExp(`cannot install the kernelspec into ${kernels.replace(/[/\\]/g, "\\$&")}: ENOSPC: no space left on device`),
  );
  assert.equal(writes, 2, "it failed on the second file, after kernel.json was written");
  assert.equal(readFileSync(path.join(dir, "kernel.json"), "utf8"), '{"marker": "the previous install"}');
  assert.deepEqual(readdirSync(kernels), ["tsdl"], "no temporary folder is left");
  // And a successful reinstall replaces it whole.
  installKernelspec({ location, env });
  assert.equal(JSON.parse(readFileSync(path.join(dir, "kernel.json"), "utf8")).language, "typescript");
  assert.deepEqual(readdirSync(kernels), ["tsdl"]);
});
