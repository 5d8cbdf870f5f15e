/**
 * `npm test`: runs every compiled test file with Node's test runner (one file at a time: the
 * kernel and notebook tests start real kernels and would fight over 2 cores), then prints one
 * short block naming each optional component that was missing, the tests it held back and the
 * command that installs it, and a closing `N passed, N failed, N skipped` line.
 *
 * Arguments, if any, are test files (or folders) to run instead of all of them.
 * Under CI (`CI=true`) any skip for a missing component fails the run.
 *
 * The progress goes to stdout with node:test's `spec` reporter; the counts are read from a second,
 * `tap` reporter written to a temporary file (TAP's `# pass N` lines are stable across Node
 * versions, whereas the default reporter of a piped run is TAP on Node 20 and spec from Node 23).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { allPackages, underCi } from "./helpers/components.js";

function testFiles(where: string): string[] {
  if (statSync(where).isFile()) return [where];
  return readdirSync(where, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? (e.name === "bench" ? [] : testFiles(path.join(where, e.name))) : e.name.endsWith(".test.js") ? [path.join(where, e.name)] : []))
    .sort();
}

interface Skip {
  component: string;
  title: string;
  install: string;
  file: string;
}

/** The block printed after the run: one line per missing component. */
export function skipSummary(skips: Skip[]): string {
  if (skips.length === 0) return "";
  const by = new Map<string, { s: Skip; count: number; files: Set<string> }>();
  for (const s of skips) {
    const e = by.get(s.component) ?? { s, count: 0, files: new Set<string>() };
    e.count++;
    e.files.add(path.basename(s.file));
    by.set(s.component, e);
  }
  const lines = [`Skipped ${skips.length} test${skips.length === 1 ? "" : "s"} for want of optional system components:`];
  for (const { s, count, files } of by.values()) {
    lines.push(`  - ${s.title}: ${count} test${count === 1 ? "" : "s"} (${[...files].join(", ")}); install: ${s.install}`);
  }
  lines.push(`To run every test: sudo apt-get install ${allPackages().join(" ")}`);
  return lines.join("\n");
}

/**
 * The closing counts of node:test's output: `# pass 3` from the TAP reporter (Node 20's default
 * when not on a terminal), `ℹ pass 3` from the spec reporter (the default from Node 23 on).
 */
export function parseCounts(text: string): { pass: number; fail: number; cancelled: number; skipped: number } {
  const counts = { pass: 0, fail: 0, cancelled: 0, skipped: 0 };
  for (const key of Object.keys(counts) as (keyof typeof counts)[]) {
    const all = [...text.matchAll(new RegExp(`^(?:#|\u2139) ${key} (\\d+)$`, "gm"))];
    if (all.length) counts[key] = Number(all[all.length - 1][1]);
  }
  return counts;
}

async function main(): Promise<number> {
  const here = __dirname;
  const args = process.argv.slice(2);
  const files = (args.length ? args : [here]).flatMap((a) => testFiles(a));
  const logDir = mkdtempSync(path.join(os.tmpdir(), "tsdl-skips-"));
  const log = path.join(logDir, "skips.jsonl");
  const tap = path.join(logDir, "results.tap");
  const counts = { pass: 0, fail: 0, cancelled: 0, skipped: 0 };
  const reporters = ["--test-reporter=spec", "--test-reporter-destination=stdout", "--test-reporter=tap", `--test-reporter-destination=${tap}`];
  const child = spawn(process.execPath, ["--test", "--test-concurrency=1", ...reporters, ...files], {
    stdio: "inherit",
    // The suite's ~100 kernels start the way they did before the start-up snapshot (each test file
    // would otherwise race a background build of it on 2 cores); test/kernel/snapshot.test.ts
    // switches it on for itself. TSDL_SNAPSHOT=1 npm test runs everything through it.
    env: { ...process.env, TSDL_SKIP_LOG: log, TSDL_SNAPSHOT: process.env.TSDL_SNAPSHOT ?? "0" },
  });
  const code: number = await new Promise((resolve) => child.on("close", (c, sig) => resolve(c ?? (sig ? 1 : 0))));
  let results = "";
  try {
    results = readFileSync(tap, "utf8");
  } catch {
    // the test runner died before writing its report; the exit code says so
  }
  Object.assign(counts, parseCounts(results));
  let skips: Skip[] = [];
  try {
    skips = readFileSync(log, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Skip);
  } catch {
    // no skips recorded
  }
  rmSync(logDir, { recursive: true, force: true });
  const summary = skipSummary(skips);
  if (summary) console.log("\n" + summary);
  let status = code;
  if (underCi() && skips.length > 0) {
    console.log("CI=true: nothing may be skipped for a missing component; failing the run.");
    status = status || 1;
  }
  // A cancelled test (one that timed out, or whose file died) is a failure too.
  console.log(`\n${counts.pass} passed, ${counts.fail + counts.cancelled} failed, ${counts.skipped} skipped`);
  return status;
}

if (require.main === module) {
  main().then((c) => process.exit(c), (e) => {
    console.error(e);
    process.exit(1);
  });
}
