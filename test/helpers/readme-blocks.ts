/**
 * The TypeScript examples of a markdown file (the README), as cells to run: every ```ts (or
 * ```typescript) fence, with the line it starts on. markdown-it finds the fences (a fence inside a
 * list, a longer fence, a ```sh block are its problem, and it knows CommonMark).
 *
 * Each block is one cell in a fresh kernel, so a reader can paste any block alone. A block whose
 * first line is the marker `// README: continues the block above` instead runs in the same kernel
 * right after the block before it, and may use its variables.
 *
 * A `// prints VALUE` comment on a line states what that line prints (VALUE runs to a comma or
 * the end of the line); the test checks that each VALUE appears in the block's output, in order.
 */
import MarkdownIt from "markdown-it";

/** The marker that chains a block to the one before it. */
export const CONTINUES_MARKER = "// README: continues the block above";

/** One ```ts block. */
export interface ReadmeBlock {
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  /** Runs in the previous block's kernel, after it. */
  continues: boolean;
  /** The VALUEs of its `// prints VALUE` comments, in order. */
  prints: string[];
}

/** Every ```ts / ```typescript block of `markdown`, in order. */
export function readmeBlocks(markdown: string): ReadmeBlock[] {
  const tokens = new MarkdownIt().parse(markdown, {});
  const blocks: ReadmeBlock[] = [];
  for (const t of tokens) {
    if (t.type !== "fence" || !t.map) continue;
    const lang = t.info.trim().split(/\s+/)[0].toLowerCase();
    if (lang !== "ts" && lang !== "typescript") continue;
    const code = t.content;
    // "// prints 54000 6000" → "54000 6000"; "// prints 24.7041, the outcome of ..." → "24.7041".
    const prints = [...code.matchAll(/\/\/\s*prints\s+([^,\n]+?)\s*(?:,|$)/gm)].map((m) => m[1].replace(/[.;]$/, ""));
    blocks.push({ line: t.map[0] + 1, code, continues: code.trimStart().startsWith(CONTINUES_MARKER), prints });
  }
  return blocks;
}

/** Blocks grouped by kernel: a group is a block and the blocks that continue it. */
export function kernelGroups(blocks: ReadmeBlock[]): ReadmeBlock[][] {
  const groups: ReadmeBlock[][] = [];
  for (const b of blocks) {
    if (b.continues && groups.length > 0) groups[groups.length - 1].push(b);
    else groups.push([b]);
  }
  return groups;
}
