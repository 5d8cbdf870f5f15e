/**
 * The README's examples are tests: every ```ts block of README.md runs as one cell through the
 * real tsdl kernel over ZeroMQ, in quick mode (TSDL_QUICK=1), with the repository root as the
 * working directory, and must end without error. Each block gets a fresh kernel (so each can be
 * pasted alone) unless it starts with `// README: continues the block above`; its `// prints X`
 * comments must match what it printed. A failure names the block's line in README.md.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import MarkdownIt from "markdown-it";
import path from "node:path";
import { KernelClient } from "../kernel/client";
import { PACKAGE_ROOT } from "../kernel/paths";
import { CONTINUES_MARKER, kernelGroups, readmeBlocks } from "./helpers/readme-blocks";

const README = path.join(PACKAGE_ROOT, "README.md");
const blocks = readmeBlocks(readFileSync(README, "utf8"));

test("the block extraction: line numbers, languages, the continue marker, prints comments", () => {
  const md = [
    "# t", // 1
    "```ts", // 2
    "console.log(1, 2); // prints 1 2, both numbers", // 3
    "```", // 4
    "```sh", // 5
    "npm test", // 6
    "```", // 7
    "- a list", // 8
    "", // 9
    "  ```typescript", // 10
    `  ${CONTINUES_MARKER}`, // 11
    "  console.log(a + 1); // prints 2.", // 12
    "  ```", // 13
    "````ts", // 14
    "```", // 15
    "````", // 16
  ].join("\n");
  const found = readmeBlocks(md);
  assert.deepEqual(
    found.map((b) => [b.line, b.continues, b.prints]),
    [
      [2, false, ["1 2"]],
      [10, true, ["2"]],
      [14, false, []],
    ],
  );
  assert.equal(found[1].code, `${CONTINUES_MARKER}\nconsole.log(a + 1); // prints 2.\n`);
  assert.deepEqual(kernelGroups(found).map((g) => g.map((b) => b.line)), [[2, 10], [14]]);
});

test("README.md has TypeScript examples to run", () => {
  assert.ok(blocks.length >= 3, `expected ts blocks in ${README}, found ${blocks.length}`);
  assert.equal(blocks[0].continues, false, "the first block has no block above to continue");
});

/** Relative link targets (no scheme, no #anchor-only) of a markdown text, with markdown-it's parser. */
function relativeLinks(markdown: string): string[] {
  const out: string[] = [];
  const walk = (tokens: ReturnType<InstanceType<typeof MarkdownIt>["parse"]>) => {
    for (const t of tokens) {
      if (t.type === "link_open") {
        const href = String(t.attrGet("href") ?? "");
        if (href && !/^[a-z][a-z0-9+.-]*:/i.test(href) && !href.startsWith("#")) out.push(decodeURIComponent(href.split("#")[0]));
      }
      if (t.children) walk(t.children);
    }
  };
  walk(new MarkdownIt().parse(markdown, {}));
  return out;
}

test("the README and the notebooks cite files that are in the repository (the article summary included)", () => {
  const readme = readFileSync(README, "utf8");
  assert.doesNotMatch(readme, /\.\.\/shared\//, "README.md points outside the repository");
  const missing: string[] = [];
  for (const href of relativeLinks(readme)) if (!existsSync(path.join(PACKAGE_ROOT, href))) missing.push(`README.md -> ${href}`);
  const notebooks = path.join(PACKAGE_ROOT, "notebooks");
  let cited = 0;
  for (const f of readdirSync(notebooks).filter((n) => n.endsWith(".ipynb"))) {
    const nb = JSON.parse(readFileSync(path.join(notebooks, f), "utf8")) as { cells: { cell_type: string; source: string | string[] }[] };
    for (const cell of nb.cells) {
      if (cell.cell_type !== "markdown") continue;
      const text = Array.isArray(cell.source) ? cell.source.join("") : cell.source;
      assert.doesNotMatch(text, /\.\.\/shared\//, `${f} points outside the repository`);
      for (const href of relativeLinks(text)) {
        if (href === "ARTICLE.md") cited++;
        if (!existsSync(path.join(notebooks, href))) missing.push(`${f} -> ${href}`);
      }
    }
  }
  assert.deepEqual(missing, []);
  assert.ok(relativeLinks(readme).includes("notebooks/ARTICLE.md"), "the README cites notebooks/ARTICLE.md");
  assert.ok(cited >= 6, `the walkthrough notebooks link ARTICLE.md (found ${cited} links)`);
});

for (const group of kernelGroups(blocks)) {
  const lines = group.map((b) => b.line).join(", ");
  test(`README.md ts block at line ${lines} runs in the tsdl kernel (quick mode)`, { timeout: 15 * 60_000 }, async () => {
    const kernel = await KernelClient.start({ cwd: PACKAGE_ROOT, env: { TSDL_QUICK: "1" }, readyTimeoutMs: 180_000 });
    try {
      for (const block of group) {
        const where = `README.md line ${block.line}`;
        const run = await kernel.execute(block.code, { timeoutMs: 10 * 60_000 });
        if (run.status !== "ok") {
          const e = run.error;
          const trace = e ? e.traceback.join("\n").replace(/\x1b\[[0-9;]*m/g, "") : "";
          assert.fail(`${where}: the block ended ${run.status}${e ? `: ${e.ename}: ${e.evalue}\n${trace}` : ""}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
        }
        // Each `// prints X` in order in what the block printed (stdout, then its result).
        const printed = run.stdout + (run.result ? String(run.result.data["text/plain"] ?? "") : "");
        let from = 0;
        for (const value of block.prints) {
          const at = printed.indexOf(value, from);
          assert.ok(at >= 0, `${where}: a comment says it prints ${value}, but it printed:\n${printed}`);
          from = at + value.length;
        }
      }
    } finally {
      await kernel.close();
    }
  });
}
