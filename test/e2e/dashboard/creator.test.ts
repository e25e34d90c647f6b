// A creator's pages in a real browser against the whole local network
// (wrangler dev, anvil with the market, a staked provider on Docker): signing
// in with a key, a running job's log arriving line by line, its outputs
// downloaded peer to peer from the provider (the page's RTCPeerConnection
// against the daemon's node-datachannel) and from storage once the provider is
// gone, each checked, webhook deliveries replayed, and another creator kept out.
// Both peers stay on loopback: the provider gathers candidates on 127.0.0.1 and
// Chromium may use loopback candidates with real addresses (no mDNS names).
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseEther } from "viem";
import { PondApiError } from "../../../sdk/index.ts";
import type { Job } from "../../../protocol/job.ts";
import type { ProviderProcess } from "../../helpers/providerProcess.ts";
import { startChainStack, type ChainStack } from "../../helpers/chainStack.ts";
import { eventually } from "../../helpers/eventually.ts";
import { shellJob } from "../../helpers/jobs.ts";
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from "../../helpers/webhookReceiver.ts";
import { launchBrowser, screenshotDir, type TestBrowser } from "./browser.ts";
import { signInWithKey } from "./pages.ts";

const TICKS = 15;
const LOOPBACK_WEBRTC = ["--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns"];
let stack: ChainStack;
let receiver: WebhookReceiver;
let browser: TestBrowser;
let alice: Awaited<ReturnType<ChainStack["creator"]>>;
let job: Job;
let provider: ProviderProcess;

const inbox = async (name: string) => (await (await fetch(`${receiver.url}/inbox/${name}`)).json()) as ReceivedWebhook[];

beforeAll(async () => {
  [stack, receiver, browser] = await Promise.all([startChainStack(), startWebhookReceiver(), launchBrowser({ extraArgs: LOOPBACK_WEBRTC })]);
  provider = await stack.provider(["--max-cpus", "2", "--max-memory-mb", "2048", "--cpu-second-wei", "1000000000", "--webrtc-bind-address", "127.0.0.1"]);
  alice = await stack.creator("dashboard-alice", "1");
  await eventually(async () => (await alice.client.account()).escrow.available_wei !== "0", { what: "alice's deposit to be indexed", timeoutMs: 30_000 });
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await receiver?.close();
});

describe("a creator's job page", () => {
  it("shows a running job's log lines as they arrive, after signing in with a key", async () => {
    const command = `for i in $(seq 1 ${TICKS}); do echo "tick $i"; echo "POND_METRICS {\\"step\\": $i, \\"loss\\": $((100 - i))}"; sleep 1; done; echo "all ${TICKS} ticks" > /outputs/result.txt`;
    job = await alice.client.createPaidJob(
      { ...shellJob(command, { max_price_wei: parseEther("0.01").toString(), timeout_s: 90 }), webhook: `${receiver.url}/hooks/alice`, webhook_events_filter: ["job.started", "job.succeeded"] },
      alice.wallet,
    );
    const page = await browser.newPage();
    await signInWithKey(page, stack.dev.url, alice.client.apiKey!);
    await page.locator(`a[href="/jobs/${job.id}"]`).click();
    await page.waitForURL((url) => url.pathname === `/jobs/${job.id}`);

    const log = page.getByTestId("log");
    await log.filter({ hasText: "tick 2" }).waitFor({ timeout: 120_000 });
    const early = { log: await log.textContent(), status: await page.getByTestId("job-status").textContent() };
    // Still running, and later lines not there yet: they arrive while the page is open.
    expect(early.status).toBe("processing");
    expect(early.log).not.toContain(`tick ${TICKS}`);
    await expect.poll(() => page.getByTestId("log-state").textContent()).toContain("live");
    await log.filter({ hasText: "tick 6" }).waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("job-status").textContent()).toBe("processing");
    // The curve it reports appears while it runs, drawn, and grows.
    const loss = page.getByTestId("metric-loss");
    await loss.getByTestId("metric-caption").waitFor({ timeout: 30_000 });
    const runningCaption = (await loss.getByTestId("metric-caption").textContent()) ?? "";
    expect(runningCaption).toMatch(/^step \d+: \d+ \(lowest \d+, highest 99\)$/);
    expect(Number(/^step (\d+)/.exec(runningCaption)![1])).toBeLessThan(TICKS);
    expect(await loss.locator("canvas").count()).toBeGreaterThan(0);

    await page.getByTestId("job-status").filter({ hasText: "succeeded" }).waitFor({ timeout: 120_000 });
    const lines = ((await log.textContent()) ?? "").split("\n").filter((line) => line.startsWith("tick"));
    expect(lines).toEqual(Array.from({ length: TICKS }, (_, i) => `tick ${i + 1}`));
    expect(await page.getByTestId("timeline").textContent()).toMatch(/queued.*starting.*processing.*succeeded/);
    await expect.poll(() => loss.getByTestId("metric-caption").textContent(), { timeout: 30_000 }).toBe(`step ${TICKS}: ${100 - TICKS} (lowest ${100 - TICKS}, highest 99)`);
  });

  it("lists the outputs with their sha256, and downloads one peer to peer from the provider, checked against it", async () => {
    const done = await alice.client.waitForJob(job.id);
    const file = done.output!.files.find((f) => f.path === "result.txt")!;
    const page = await browser.newPage();
    await signInWithKey(page, stack.dev.url, alice.client.apiKey!, `/jobs/${job.id}`);
    await expect.poll(() => page.getByTestId("output-sha256").first().textContent(), { timeout: 30_000 }).toBe(file.sha256);
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download" }).click()]);
    expect(download.suggestedFilename()).toBe("result.txt");
    expect(await readFile((await download.path())!, "utf8")).toBe(`all ${TICKS} ticks\n`);
    await expect.poll(() => page.getByTestId("download-status").textContent()).toBe("Downloaded peer to peer from the provider (direct); sha256 checked");
    // It was written to the origin's private file system chunk by chunk, not held in the page's memory.
    const kept = await page.evaluate(async ({ jobId, path }) => {
      const outputs = await (await navigator.storage.getDirectory()).getDirectoryHandle("pond-outputs");
      return (await (await (await outputs.getDirectoryHandle(jobId)).getFileHandle(encodeURIComponent(path))).getFile()).text();
    }, { jobId: job.id, path: file.path });
    expect(kept).toBe(`all ${TICKS} ticks\n`);
    await page.screenshot({ path: `${await screenshotDir()}/job.png`, fullPage: true });
    await page.close();
    // The provider said what it served, and the job shows it.
    // Null until the provider's report lands: eventually takes null for an answer, so it waits for the report itself.
    const served = await eventually(async () => (await alice.client.getJob(job.id)).metrics.transfer.outputs ?? false, { what: "the outputs transfer in the job's metrics" });
    expect(served).toMatchObject({ route: "direct", bytes: file.size });
  });

  it("downloads from Pond's storage once the provider is gone, saying why", async () => {
    await provider.stop();
    const page = await browser.newPage();
    await signInWithKey(page, stack.dev.url, alice.client.apiKey!, `/jobs/${job.id}`);
    await page.getByTestId("output-sha256").first().waitFor({ timeout: 30_000 });
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download" }).click()]);
    expect(await readFile((await download.path())!, "utf8")).toBe(`all ${TICKS} ticks\n`);
    await expect.poll(() => page.getByTestId("download-status").textContent()).toMatch(/^Downloaded from Pond's storage: the provider could not be reached peer to peer \(.+\); sha256 checked$/);
    await page.close();
  });

  it("does not show one creator's job to another: a 404 page, and the API refuses", async () => {
    const bob = await stack.creator("dashboard-bob");
    const page = await browser.newPage();
    await signInWithKey(page, stack.dev.url, bob.client.apiKey!, `/jobs/${job.id}`);
    await page.getByTestId("not-found").waitFor();
    expect(await page.locator("main").textContent()).not.toContain("tick");
    const refused = await bob.client.getJob(job.id).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(PondApiError);
    expect((refused as PondApiError).status).toBe(404);
    const logs = await fetch(`${stack.dev.url}/v1/jobs/${job.id}/logs`, { headers: { authorization: `Bearer ${bob.client.apiKey}` } });
    expect(logs.status).toBe(404);
    await page.close();
  });
});

describe("webhook deliveries", () => {
  it("lists the job's deliveries and replays one with the same webhook-id", async () => {
    const first = await eventually(async () => (await inbox("alice")).find((hook) => JSON.parse(hook.body).type === "job.succeeded"), { what: "the job.succeeded webhook" });
    const page = await browser.newPage();
    await signInWithKey(page, stack.dev.url, alice.client.apiKey!, "/webhooks");
    const row = page.locator("tr[data-delivery-id]").filter({ hasText: "job.succeeded" });
    await row.getByText("delivered").waitFor({ timeout: 30_000 });
    expect(await row.getAttribute("data-delivery-id")).toBe(first.id);
    await row.getByTestId("replay").click();
    await expect.poll(() => page.getByTestId("replay-notice").textContent()).toContain("queued again");
    const again = await eventually(async () => (await inbox("alice")).filter((hook) => hook.id === first.id)[1], { what: "the replayed delivery" });
    expect(again.body).toBe(first.body);
    await expect.poll(() => row.getByTestId("attempts").textContent(), { timeout: 30_000 }).toMatch(/^2/);
    await page.screenshot({ path: `${await screenshotDir()}/webhooks.png`, fullPage: true });
    expect(browser.complaints).toEqual([]);
    await page.close();
  });
});
