/**
 * A headless Chromium or Chrome (`chromiumPath()`: Debian's, the usual places, or `TSDL_CHROMIUM`) through playwright-core, for report tests: a fresh profile per
 * launch, and a record of every request a page makes (anything but the page's own file:// URL is
 * also aborted, so a leak shows as a recorded request and never reaches a network).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { chromiumPath } from "./components";

/** A browser context on a fresh profile, closed and deleted by `close()`. */
export interface TestBrowser {
  context: BrowserContext;
  /** Opens `file` from a file:// URL; `requests` lists every URL the page asked for, in order. */
  open(file: string): Promise<{ page: Page; url: string; requests: string[]; errors: string[] }>;
  close(): Promise<void>;
}

/**
 * Launches Chromium headless with networking features off and a new user-data-dir. Tests that
 * call it ask `requires("chromium")` first.
 */
export async function launchBrowser(): Promise<TestBrowser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "tsdl-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(),
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
    viewport: { width: 1100, height: 900 },
  });
  return {
    context,
    async open(file: string) {
      const url = pathToFileURL(path.resolve(file)).href;
      const requests: string[] = [];
      const errors: string[] = [];
      const page = await context.newPage();
      page.on("request", (r) => requests.push(r.url()));
      page.on("pageerror", (e) => errors.push(e.message));
      await page.route("**/*", (route) => (route.request().url() === url ? route.continue() : route.abort()));
      await page.goto(url);
      return { page, url, requests, errors };
    },
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
