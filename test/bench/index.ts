/**
 * `npm run bench`: runs every `*.bench.js` beside this file, one after another, each in its own
 * process so that one benchmark's warm caches or threads never colour the next. Benchmarks print
 * figures and ratios; they assert nothing. `npm run bench -- kernel` runs those whose name contains
 * "kernel".
 */
import { readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";
import path from "node:path";

const filters = process.argv.slice(2);
const files = readdirSync(__dirname)
  .filter((f) => f.endsWith(".bench.js"))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error(`no benchmark matches ${JSON.stringify(filters)} in ${__dirname}`);
  process.exitCode = 2;
}
let failed = 0;
for (const f of files) {
  console.log(`\n=== ${f.replace(/\.bench\.js$/, "")} ===`);
  const r = spawnSync(process.execPath, [path.join(__dirname, f)], { stdio: "inherit" });
  if (r.status !== 0) {
    failed++;
    console.error(`${f} exited with ${r.status ?? r.signal}`);
  }
}
process.exitCode = failed ? 1 : process.exitCode;
