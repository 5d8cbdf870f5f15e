/**
 * `tsdl kernel install | list | uninstall` into temporary folders, checked by reading the files
 * and by asking Jupyter itself (Debian's jupyter-client) what it sees.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PNG } from "pngjs";
import { findKernelspec } from "../../kernel/kernelspec";
import { LAUNCHER } from "../../kernel/paths";
import { pythonPath, requires } from "../helpers/components";

const tmp = mkdtempSync(path.join(os.tmpdir(), "tsdl-kernelspec-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Run the real `tsdl` command. */
function tsdl(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [LAUNCHER, ...args], {
    encoding: "utf8",
    // Never the real user or system folders: this test installs and uninstalls.
    env: { ...process.env, JUPYTER_PATH: "", JUPYTER_DATA_DIR: path.join(tmp, "nobody"), TSDL_JUPYTER_SYSTEM_DIRS: "", VIRTUAL_ENV: "", CONDA_PREFIX: "", ...env },
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
