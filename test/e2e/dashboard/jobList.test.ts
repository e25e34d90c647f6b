// A creator's job list in a real browser against `wrangler dev`: signing in
// with a wallet and with a key, and paging through 10,000 jobs one page at a
// time (never loaded whole). The jobs are written straight into wrangler
// dev's local D1 by the bench-only fill route, in one statement.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { PondClient } from "../../../sdk/index.ts";
import { startWranglerDev, type WranglerDev } from "../../helpers/wranglerDev.ts";
import { launchBrowser, paintTimings, screenshotDir, type TestBrowser } from "./browser.ts";
import { injectWallet, listedJobIds, signInWithKey } from "./pages.ts";

const JOBS = 10_000;
const PAGE_SIZE = 100;

let dev: WranglerDev;
let browser: TestBrowser;
let creator: PondClient;

beforeAll(async () => {
  [dev, browser] = await Promise.all([startWranglerDev({ BENCH_ROUTES: "true" }), launchBrowser()]);
  creator = new PondClient({ baseUrl: dev.url });
  await creator.signIn(privateKeyToAccount(generatePrivateKey()));
  expect(await creator.request("POST", "/bench/jobs", { count: JOBS })).toEqual({ inserted: JOBS });
});

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
});

describe("signing in", () => {
  it("signs in through an injected wallet (SIWE, personal_sign) and shows the account", async () => {
    const wallet = privateKeyToAccount(generatePrivateKey());
    const page = await browser.newPage();
    const calls = await injectWallet(page, wallet);
    await page.goto(`${dev.url}/sign-in?next=/jobs`);
    await page.getByTestId("wallet-sign-in").click();
    await page.waitForURL((url) => url.pathname === "/jobs");
    await page.getByTestId("no-jobs").waitFor();
    expect(calls).toEqual(["eth_requestAccounts", "personal_sign"]);
    const session = page.getByTestId("session");
    await expect.poll(() => session.textContent()).toContain(`${wallet.address.toLowerCase().slice(0, 6)}…${wallet.address.toLowerCase().slice(-4)}`);
    // The key lives in the tab's sessionStorage, never in the address bar.
    const stored = await page.evaluate(() => sessionStorage.getItem("pond.apiKey"));
    expect(stored).toMatch(/^pond_sk_/);
    expect(page.url()).not.toContain(stored!);
    await page.close();
  });

  it("refuses a pasted string that is not a key, saying what a key looks like", async () => {
    const page = await browser.newPage();
    await page.goto(`${dev.url}/sign-in`);
    await page.locator('input[name="key"]').fill("hunter2");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect.poll(() => page.getByTestId("sign-in-error").textContent()).toContain("pond_sk_");
    await page.close();
  });
});

describe("the job list", () => {
  it(`pages through ${JOBS.toLocaleString("en-US")} jobs, newest first, ${PAGE_SIZE} at a time`, { timeout: 600_000 }, async () => {
    const page = await browser.newPage();
    const pageSizes: number[] = [];
    page.on("response", async (response) => {
      const url = new URL(response.url());
      if (url.pathname !== "/v1/jobs" || response.request().method() !== "GET") return;
      const body = (await response.json().catch(() => undefined)) as { results?: unknown[] } | undefined;
      if (body?.results) pageSizes.push(body.results.length);
    });
    await signInWithKey(page, dev.url, creator.apiKey!);
    await page.getByTestId("jobs-table").waitFor();
    const timings = await paintTimings(page);
    console.log(`job list: first-contentful-paint ${timings.firstContentfulPaint?.toFixed(0)} ms, rows shown ${timings.contentShown?.toFixed(0)} ms`);
    await page.screenshot({ path: `${await screenshotDir()}/jobs.png`, fullPage: false });

    await page.getByTestId("page-size").selectOption(String(PAGE_SIZE));
    await page.waitForFunction((size) => document.querySelectorAll("tr[data-job-id]").length === size, PAGE_SIZE);
    const seen: string[] = [];
    const pages: string[][] = [];
    for (;;) {
      const ids = await listedJobIds(page);
      pages.push(ids);
      seen.push(...ids);
      const older = page.getByTestId("older-page");
      if (await older.isDisabled()) break;
      await older.click();
      await page.waitForFunction((first) => {
        const top = document.querySelector("tr[data-job-id]")?.getAttribute("data-job-id");
        return top !== undefined && top !== first;
      }, ids[0]);
    }
    expect(pages).toHaveLength(JOBS / PAGE_SIZE);
    expect(new Set(seen).size).toBe(JOBS);
    // Newest first: the fill numbers jobs in the order they were created.
    const order = seen.map((id) => Number(id.split("_").pop()));
    expect(order).toEqual([...order].sort((a, b) => b - a));
    // No response ever carried more than one page.
    expect(Math.max(...pageSizes)).toBeLessThanOrEqual(PAGE_SIZE);

    // Back two pages, and the same jobs are there again.
    await page.getByTestId("newer-page").click();
    await page.waitForFunction((first) => document.querySelector("tr[data-job-id]")?.getAttribute("data-job-id") === first, pages.at(-2)![0]);
    await page.goBack();
    await page.waitForFunction((first) => document.querySelector("tr[data-job-id]")?.getAttribute("data-job-id") === first, pages.at(-1)![0]);
    expect(await listedJobIds(page)).toEqual(pages.at(-1));
    await page.close();
  });

  it("filters by status", async () => {
    const page = await browser.newPage();
    await signInWithKey(page, dev.url, creator.apiKey!);
    await page.getByTestId("jobs-table").waitFor();
    await page.getByTestId("status-filter").selectOption("failed");
    await page.waitForURL((url) => url.searchParams.get("status") === "failed");
    // At least one row: while the filtered page loads the table is empty, and every() of nothing is true.
    await page.waitForFunction(() => {
      const badges = Array.from(document.querySelectorAll("tr[data-job-id] .badge"));
      return badges.length > 0 && badges.every((badge) => badge.textContent === "failed");
    });
    const ids = await listedJobIds(page);
    expect(ids.length).toBe(50);
    // Every fourth job of the fill failed.
    expect(ids.every((id) => Number(id.split("_").pop()) % 4 === 0)).toBe(true);
    expect(browser.complaints).toEqual([]);
    await page.close();
  });
});

describe("labels", () => {
  it("shows a job's labels, each a link to the jobs carrying it", async () => {
    const spec = { image: "busybox:1.36", cmd: ["true"], resources: { gpus: 0, cpus: 1, memory_mb: 128 }, timeout_s: 60, max_price_wei: "1000" };
    const labelled = [];
    for (const point of ["1", "2"]) labelled.push(await creator.createJob({ ...spec, labels: { "pond.sweep": "swp_00000000aa", "pond.sweep/lr": point } }));
    await creator.createJob({ ...spec, labels: { "pond.sweep": "swp_00000000bb" } });
    const page = await browser.newPage();
    await signInWithKey(page, dev.url, creator.apiKey!);
    await page.goto(`${dev.url}/jobs/${labelled[0]!.id}`);
    const labels = page.getByTestId("job-labels");
    await expect.poll(() => labels.textContent()).toBe("pond.sweep=swp_00000000aapond.sweep/lr=1");
    await labels.getByText("pond.sweep=swp_00000000aa").click();
    await page.waitForURL((url) => url.searchParams.get("label") === "pond.sweep=swp_00000000aa");
    await page.waitForFunction(() => document.querySelectorAll("tr[data-job-id]").length === 2);
    expect(await listedJobIds(page)).toEqual(labelled.map((job) => job.id).reverse());
    expect(await page.getByTestId("label-filter").textContent()).toContain("pond.sweep=swp_00000000aa");
    expect(browser.complaints).toEqual([]);
    await page.close();
  });
});

describe("the pages' Content-Security-Policy", () => {
  it("is enforced by the browser: a script slipped into the page does not run", async () => {
    const page = await browser.newPage();
    await page.goto(`${dev.url}/`);
    await page.getByTestId("providers-online").waitFor();
    const outcome = await page.evaluate(
      () =>
        new Promise<{ ran: boolean; refused: string }>((resolve) => {
          document.addEventListener("securitypolicyviolation", (event) => resolve({ ran: (window as { slipped?: boolean }).slipped === true, refused: event.violatedDirective }));
          const script = document.createElement("script");
          script.textContent = "window.slipped = true";
          document.body.append(script);
        }),
    );
    expect(outcome).toEqual({ ran: false, refused: "script-src-elem" });
    await page.close();
  });
});
