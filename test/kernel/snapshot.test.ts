/**
 * The kernel's V8 start-up snapshot (kernel/snapshot*.ts), over real ZeroMQ: a start without a
 * blob builds one in the background; the next start runs from it (its log says so), reports the
 * same type errors against tf and dl and gives the same results as the plain path; a changed
 * declaration file, a stale manifest or a corrupt blob make it fall back (and rebuild), never fail;
 * the launcher passes signals on, and its child dies with it. One blob is built for the whole file
 * (and once more after the stale manifest), in a temporary TSDL_CACHE_DIR; the corrupt blob goes last.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import { adoptSnapshot, findSnapshot, pruneSnapshots, snapshotOff, snapshotFiles, snapshotKey, snapshotUse, touchSnapshot, type SnapshotManifest, type SnapshotState } from "../../kernel/snapshot";
import { startTestKernel, waitForKernelLog, type TestKernel } from "../helpers/kernel";
import { isAlive, liveChildren, waitGone } from "../helpers/processes";
import { tempDir } from "../helpers/tmpdir";

const ROOT = path.join(__dirname, "..", "..", "..");
const cache = tempDir("tsdl-snapshot-test-");
// TSDL_SNAPSHOT=1: the suite runs other kernels with it off (test/run.ts).
const env = { TSDL_CACHE_DIR: cache, TSDL_SNAPSHOT: "1" };

/** Cells whose outcome must not depend on how the kernel started: values, and type errors against tf, dl and the lib. */
const CELLS = [
  "tf.tensor([1, 2, 3]).sum().dataSync()[0] * 2",
  "dl.backendInfo().active.length > 0",
  "const n: number = 'not a number'",
  "tf.tensor([1]).notATensorMethod()",
  "dl.noSuchHelper(3)",
  "[1, 2, 3].at(-1)!.toFixed(1)",
];

interface Seen {
  status: string;
  text: unknown;
  evalue: string | undefined;
}

async function runCells(k: TestKernel): Promise<Seen[]> {
  const out: Seen[] = [];
  for (const code of CELLS) {
    const r = await k.kernel.execute(code);
    out.push({ status: r.status, text: r.result?.data["text/plain"], evalue: r.error?.evalue });
  }
  return out;
}

async function waitFor(what: string, ok: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) assert.fail(`${what} within ${ms} ms; cache folder holds ${readdirSync(cache).join(", ")}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Why this Node runs no snapshot (only Node 20 is verified), or undefined. */
const nodeOff = snapshotOff({});
/** Tests that need a blob: on a Node the snapshot is off for, the test below checks that instead. */
const blobTest: typeof test = nodeOff ? ((() => undefined) as unknown as typeof test) : test;

test(`the snapshot is on for Node 20 only, and off with its reason on Node ${process.versions.node}`, async () => {
  assert.equal(snapshotOff({}, "20.20.2"), undefined);
  assert.match(snapshotOff({}, "24.22.3") ?? "", /Node 24\.22\.3: it is verified on Node 20 only/);
  assert.equal(snapshotOff({ TSDL_SNAPSHOT: "0" }, "20.20.2"), "TSDL_SNAPSHOT=0");
  if (!nodeOff) return;
  const k = await startTestKernel({ env });
  try {
    assert.equal((await k.kernel.execute("1 + 1")).result?.data["text/plain"], "2");
    await waitForKernelLog(k.kernel, /start-up snapshot not used: Node .*verified on Node 20 only/);
    assert.equal(liveChildren(k.kernel.pid!).length, 0, "no launcher child");
    assert.ok(!existsSync(blobFiles().lock) && !existsSync(blobFiles().input), "no build was started");
  } finally {
    await k.stop();
  }
});

const blobFiles = () => snapshotFiles(snapshotKey(), cache);
let plain: Seen[] = [];

if (!nodeOff) before(async () => {
  // The first start has no blob: it runs as before, then asks for one in the background.
  const k = await startTestKernel({ env });
  try {
    plain = await runCells(k);
    await waitForKernelLog(k.kernel, /start-up snapshot not used: none built yet.*building the start-up snapshot in the background/, 30_000);
  } finally {
    await k.stop();
  }
  await waitFor("the background build wrote the blob and its manifest", () => existsSync(blobFiles().manifest), 180_000);
  assert.ok(!existsSync(blobFiles().lock), "the build's lock is released");
});

/** Puts back the mtime a test changed, should that test fail half-way. */
let restore = () => undefined as void;

after(() => {
  restore();
  rmSync(cache, { recursive: true, force: true, maxRetries: 5 });
});

blobTest("the plain path gives the values and reports the type errors the cells are written for", () => {
  assert.deepEqual(plain.map((s) => s.status), ["ok", "ok", "error", "error", "error", "ok"]);
  assert.equal(plain[0].text, "12");
  assert.equal(plain[1].text, "true");
  assert.match(plain[2].evalue ?? "", /Type 'string' is not assignable to type 'number'/);
  assert.match(plain[3].evalue ?? "", /notATensorMethod/);
  assert.match(plain[4].evalue ?? "", /noSuchHelper/);
  assert.equal(plain[5].text, "3.0");
});

blobTest("with a blob the kernel starts from it, takes every declaration file from it, and gives the same outcomes", async () => {
  const m = JSON.parse(readFileSync(blobFiles().manifest, "utf8")) as SnapshotManifest;
  assert.ok(m.files.some(([f]) => f.endsWith(path.join("tfjs-core", "dist", "index.d.ts"))), "tfjs-core's declarations are in it");
  assert.ok(m.files.some(([f]) => f.endsWith(path.join("dist", "src", "index.d.ts")) && f.startsWith(ROOT)), "dl's declarations are in it");
  assert.ok(m.files.some(([f]) => /lib\.es2022\.d\.ts$/.test(f)), "the lib files are in it");
  const k = await startTestKernel({ env });
  try {
    const seen = await runCells(k);
    assert.deepEqual(seen, plain);
    await waitForKernelLog(k.kernel, new RegExp(`started from the start-up snapshot .*: ${m.files.length} declaration files taken from it, 0 changed`));
    // The launcher's child runs the kernel (it holds the snapshot); the launcher is what we spawned.
    const kids = liveChildren(k.kernel.pid!);
    assert.equal(kids.length, 1, `one child of the launcher: ${kids.join("; ")}`);
    assert.match(kids[0], /--snapshot-blob \S+\.blob kernel --connection-file /);
  } finally {
    await k.stop();
  }
});

blobTest("TSDL_SNAPSHOT=0 starts without it and asks for no build", async () => {
  const k = await startTestKernel({ env: { ...env, TSDL_SNAPSHOT: "0" } });
  try {
    assert.equal((await k.kernel.execute("1 + 1")).result?.data["text/plain"], "2");
    await waitForKernelLog(k.kernel, /start-up snapshot not used: TSDL_SNAPSHOT=0/);
    assert.equal(liveChildren(k.kernel.pid!).length, 0, "no launcher child");
    assert.ok(!existsSync(blobFiles().lock) && !existsSync(blobFiles().input), "no build was started");
  } finally {
    await k.stop();
  }
});

blobTest("a changed declaration file: the launcher falls back; a kernel started from the blob anyway parses that file again", async () => {
  const file = path.join(ROOT, "dist", "src", "index.d.ts");
  const st = statSync(file);
  const f = blobFiles();
  try {
    utimesSync(file, st.atime, new Date(st.mtimeMs + 5000));
    // Set back in seconds with the sub-millisecond part (a Date would lose it).
    restore = () => utimesSync(file, st.atimeMs / 1000, st.mtimeMs / 1000);
    const found = findSnapshot(cache);
    assert.ok("reason" in found && found.reason.includes(`${file} changed since it was built`), JSON.stringify(found));
    // Straight from the blob (no launcher): the hook sees the changed file and lets TypeScript parse it.
    const direct = await startTestKernel({ env, argv: [process.execPath, "--snapshot-blob", f.blob, "kernel", "--connection-file", "{connection_file}"] });
    try {
      const r = await direct.kernel.execute("dl.noSuchHelper(3)");
      assert.match(r.error?.evalue ?? "", /noSuchHelper/);
      await waitForKernelLog(direct.kernel, /declaration files taken from it, 1 changed since and parsed again/);
    } finally {
      await direct.stop();
    }
  } finally {
    restore();
  }
  const again = findSnapshot(cache);
  assert.ok("blob" in again, `valid again once the file is as it was: ${JSON.stringify(again)}`);
});

blobTest("signals reach the launcher's child: SIGINT interrupts a cell, SIGTERM ends both with that signal", { timeout: 120_000 }, async () => {
  const k = await startTestKernel({ env });
  try {
    const [child] = liveChildren(k.kernel.pid!).map((l) => Number(l.split(" ")[0]));
    assert.ok(child > 0, "the kernel runs from the snapshot");
    // SIGINT once the loop runs (one that comes while the cell compiles waits for a turn of the
    // event loop, which a running loop never gives: the same with or without the launcher).
    let looping!: () => void;
    const started = new Promise<void>((r) => (looping = r));
    const running = k.kernel.execute('console.log("looping"); while (true) {}', {
      timeoutMs: 60_000,
      onIopub: (m) => m.header.msg_type === "stream" && looping(),
    });
    await started;
    await new Promise((r) => setTimeout(r, 300));
    await k.kernel.interrupt("signal");
    const r = await running;
    assert.equal(r.status, "error");
    assert.equal((await k.kernel.execute("40 + 2")).result?.data["text/plain"], "42", "the kernel lives on");
    process.kill(k.kernel.pid!, "SIGTERM");
    await waitFor("the launcher exited", () => k.kernel.exited !== undefined, 10_000);
    assert.deepEqual(k.kernel.exited, { code: null, signal: "SIGTERM" });
    assert.ok(await waitGone(child, 5000), "the child is gone too");
  } finally {
    await k.stop();
  }
});

blobTest("the child exits when the launcher is killed with SIGKILL", async () => {
  const k = await startTestKernel({ env });
  try {
    const [child] = liveChildren(k.kernel.pid!).map((l) => Number(l.split(" ")[0]));
    assert.ok(child > 0 && isAlive(child));
    process.kill(k.kernel.pid!, "SIGKILL");
    assert.ok(await waitGone(child, 10_000), "the child noticed its launcher die and exited");
  } finally {
    await k.stop();
  }
});

test("old blobs are pruned to the most recently used few: the one just built and any being built stay, other files are left alone", () => {
  const dir = tempDir("tsdl-snapshot-prune-");
  const keys = ["a0", "b1", "c2", "d3", "e4", "f5"];
  keys.forEach((k, i) => {
    const f = snapshotFiles(k, dir);
    for (const file of [f.blob, f.manifest, f.log]) {
      writeFileSync(file, k);
      const t = new Date(Date.UTC(2026, 0, 1 + i)); // a0 oldest, f5 newest
      utimesSync(file, t, t);
    }
  });
  writeFileSync(snapshotFiles("b1", dir).lock, "123 0"); // b1's build is running
  writeFileSync(path.join(dir, "v8-typescript-x.cache"), "other");
  touchSnapshot("c2", dir); // c2 was just started from: now the newest
  // Just built: a0 (the oldest by mtime). Kept with it: the 2 most recently used others, c2 and f5.
  assert.deepEqual(pruneSnapshots("a0", dir, 3).sort(), ["d3", "e4"]);
  const left = readdirSync(dir).sort();
  assert.deepEqual(left, [
    "snapshot-a0.blob", "snapshot-a0.json", "snapshot-a0.log", "snapshot-b1.blob", "snapshot-b1.json", "snapshot-b1.lock", "snapshot-b1.log",
    "snapshot-c2.blob", "snapshot-c2.json", "snapshot-c2.log", "snapshot-f5.blob", "snapshot-f5.json", "snapshot-f5.log", "v8-typescript-x.cache",
  ]);
  assert.deepEqual(pruneSnapshots("a0", dir, 3), [], "nothing more to remove");
});

test("the source-file hook hands out a SourceFile only while its file's size, mtime and parse options are unchanged", () => {
  const file = path.join(cache, "fake.d.ts");
  const sf = { languageVersion: 9, impliedNodeFormat: undefined };
  let now = { size: 10, mtimeMs: 1 };
  const state = {
    ts: { sys: {} } as SnapshotState["ts"],
    tsPath: path.join(cache, "not-typescript.js"),
    files: new Map([[file, sf]]),
    stats: new Map([[file, { size: 10, mtimeMs: 1 }]]),
    key: "k",
    builtInMs: 0,
  } satisfies SnapshotState;
  writeFileSync(state.tsPath, 'module.exports = "the file on disk";');
  adoptSnapshot(state, () => now);
  const hook = (globalThis as Record<symbol, unknown>)[Symbol.for("tsdl.cachedSourceFile")] as (f: string, o: unknown) => unknown;
  assert.equal(hook(file, { languageVersion: 9 }), sf);
  assert.equal(hook(file, 9), sf);
  assert.equal(hook(file, { languageVersion: 7 }), undefined, "another target");
  assert.equal(hook(file, { languageVersion: 9, impliedNodeFormat: 99 }), undefined, "another module format");
  assert.equal(hook(path.join(cache, "other.d.ts"), 9), undefined, "a file it does not hold");
  now = { size: 10, mtimeMs: 2 };
  assert.equal(hook(file, 9), undefined, "a touched file");
  now = { size: 11, mtimeMs: 1 };
  assert.equal(hook(file, 9), undefined, "a file of another size");
  assert.deepEqual(snapshotUse(), { hits: 2, misses: 4 });
  assert.equal(require(state.tsPath), state.ts, "require() returns the snapshot's TypeScript");
  assert.equal((state.ts.sys.getCurrentDirectory as () => string)(), process.cwd(), "its sys is in this process's folder, not the builder's");
});

blobTest("a stale manifest makes the start fall back and rebuild the blob", async () => {
  const f = blobFiles();
  const m = JSON.parse(readFileSync(f.manifest, "utf8")) as SnapshotManifest;
  m.files[0][2] -= 1000; // as if the first file had changed after the build
  writeFileSync(f.manifest, JSON.stringify(m));
  const k = await startTestKernel({ env });
  try {
    assert.equal((await k.kernel.execute("tf.tensor([2]).square().dataSync()[0]")).result?.data["text/plain"], "4");
    await waitForKernelLog(k.kernel, /start-up snapshot not used: .* changed since it was built; building the start-up snapshot in the background/, 30_000);
  } finally {
    await k.stop();
  }
  await waitFor("the rebuild finished", () => !existsSync(f.lock) && "blob" in findSnapshot(cache), 180_000);
});


blobTest("a corrupt blob never breaks the start: the kernel starts without it and the blob is removed", async () => {
  const f = blobFiles();
  const size = statSync(f.blob).size;
  const junk = Buffer.alloc(size, 0x5a); // same size, so the launcher tries it
  writeFileSync(f.blob, junk);
  const k = await startTestKernel({ env });
  try {
    assert.equal((await k.kernel.execute("tf.tensor([3]).dataSync()[0]")).result?.data["text/plain"], "3");
    await waitForKernelLog(k.kernel, /exited with .* before it ran; starting without it/, 30_000);
    await waitForKernelLog(k.kernel, /start-up snapshot not used: the kernel could not start from it; building the start-up snapshot in the background/, 30_000);
    assert.ok(!existsSync(f.blob), "the corrupt blob was removed");
  } finally {
    await k.stop();
  }
  // The build it asked for ends with a good blob again (and is not left writing into a folder the
  // after hook removes).
  await waitFor("the rebuild after the corrupt blob finished", () => !existsSync(f.lock) && "blob" in findSnapshot(cache), 180_000);
});

