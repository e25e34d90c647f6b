// Headless Chromium for the dashboard's tests: Debian's chromium, driven by
// playwright-core, with a fresh profile each time and the background
// networking that is refused here switched off. Collects what the page
// complains about (script errors, refused by the CSP) so tests can say none.
import { mkdtemp, mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

const CHROMIUM = "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface TestBrowser {
  context: BrowserContext;
  /** A new tab (its own sessionStorage), with its complaints collected. */
  newPage(): Promise<Page>;
  /**
   * Script errors and console errors of every tab so far, CSP refusals among them.
   * Failed loads are left out: a 404 from the API is a page's to show, not a fault.
   */
  complaints: string[];
  close(): Promise<void>;
}

/** `extraArgs`: more Chromium switches, e.g. what a WebRTC test on loopback needs. */
export async function launchBrowser({ extraArgs = [] }: { extraArgs?: string[] } = {}): Promise<TestBrowser> {
  const profile = await mkdtemp(join(tmpdir(), "pond-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...FLAGS, ...extraArgs],
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
  });
  const complaints: string[] = [];
  const watch = (page: Page) => {
    page.on("pageerror", (error) => complaints.push(`page error: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) complaints.push(`console: ${message.text()}`);
    });
  };
  context.pages().forEach(watch);
  context.on("page", watch);
  return {
    context,
    complaints,
    async newPage() {
      return context.newPage();
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Where screenshots go: docs/screenshots/ when POND_SCREENSHOTS names it (npm run screenshots), else a temporary folder. */
export async function screenshotDir(): Promise<string> {
  const dir = process.env.POND_SCREENSHOTS ?? join(tmpdir(), "pond-screenshots");
  await mkdir(dir, { recursive: true });
  return dir;
}

/** first-contentful-paint and the dashboard's own "content shown" mark, in ms from navigation start. */
export async function paintTimings(page: Page): Promise<{ firstContentfulPaint: number | null; contentShown: number | null; responseEnd: number | null }> {
  return page.evaluate(() => {
    const paint = performance.getEntriesByName("first-contentful-paint")[0];
    const content = performance.getEntriesByName("pond:content")[0];
    const navigation = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming | undefined;
    return { firstContentfulPaint: paint?.startTime ?? null, contentShown: content?.startTime ?? null, responseEnd: navigation?.responseEnd ?? null };
  });
}
