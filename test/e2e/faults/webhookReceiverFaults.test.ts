// A creator's webhook endpoint misbehaving for real: it answers 500, then holds
// the request without answering, then says 410 Gone. Retries follow the schedule
// (set short through wrangler vars), a timeout is a failed attempt, a 410 disables
// the endpoint, and every attempt is recorded under /deliveries.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { PondClient } from "../../../sdk/index.ts";
import { eventually } from "../../helpers/eventually.ts";
import { deliveriesTo, type Delivery } from "../../helpers/jobHistory.ts";
import { shellJob } from "../../helpers/jobs.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../../helpers/webhookReceiver.ts";
import { startWranglerDev, type WranglerDev } from "../../helpers/wranglerDev.ts";

// Seconds; jitter (±20%, rounded) keeps steps this small exact.
const SCHEDULE_S = [1, 2];
const TIMEOUT_MS = 1_500;
/** Clocks on either side of an attempt are read a little apart; far less than any step. */
const CLOCK_SLACK_MS = 100;

let dev: WranglerDev;
let receiver: WebhookReceiver;

beforeAll(async () => {
  [dev, receiver] = await Promise.all([
    startWranglerDev({ WEBHOOK_RETRY_SCHEDULE: SCHEDULE_S.join(","), WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS) }),
    startWebhookReceiver(),
  ]);
});

afterAll(async () => {
  await dev?.stop();
  await receiver?.close();
});

const attemptTimes = (delivery: Delivery) => delivery.attempts.map((a) => Date.parse(a.attempted_at));

describe("a webhook endpoint that fails, hangs, then is gone", () => {
  it("retries on schedule, counts the timeout as a failure, disables the endpoint on 410, and records it all", async () => {
    const client = new PondClient({ baseUrl: dev.url });
    await client.signIn(privateKeyToAccount(generatePrivateKey()));
    const register = async (inbox: string) =>
      (await client.request("POST", "/v1/webhooks", { url: `${receiver.url}/hooks/${inbox}`, events: ["job.queued", "job.canceled"] })) as { id: string; secret: string };
    const flaky = await register("flaky");
    const broken = await register("broken");
    receiver.setUp("flaky", { secret: flaky.secret, statuses: [500, "hang", 410] });
    receiver.setUp("broken", { secret: broken.secret, fallback: 500 });
    const { secret: defaultSecret } = (await client.request("GET", "/v1/webhooks/default/secret")) as { secret: string };
    receiver.setUp("own", { secret: defaultSecret });

    // No provider: the job stays queued until it is canceled.
    const job = await client.createJob({ ...shellJob("true"), webhook: `${receiver.url}/hooks/own`, webhook_events_filter: ["job.canceled"] });

    const [gone] = await eventually(async () => {
      const list = await deliveriesTo(client, flaky.id);
      return list[0]?.state === "disabled" && list;
    }, { what: "the flaky endpoint's delivery to end disabled", timeoutMs: 60_000 });
    expect(gone!.event_type).toBe("job.queued");
    expect(gone!.attempts.map((a) => a.status_code)).toEqual([500, null, 410]);
    expect(gone!.attempts[0]!.error).toMatch(/HTTP 500/);
    expect(gone!.attempts[1]!.error).toBe(`no answer within ${TIMEOUT_MS} ms`);
    expect(gone!.next_attempt_at).toBeNull();
    // Each retry waited its step of the schedule (and the timed-out attempt its timeout first).
    const [first, second, third] = attemptTimes(gone!);
    expect(second! - first!).toBeGreaterThanOrEqual(SCHEDULE_S[0]! * 1000 - CLOCK_SLACK_MS);
    expect(third! - second!).toBeGreaterThanOrEqual(TIMEOUT_MS + SCHEDULE_S[1]! * 1000 - CLOCK_SLACK_MS);
    // The receiver saw the same signed webhook three times.
    const seen = receiver.received("flaky");
    expect(seen.map((w) => w.answeredWith)).toEqual([500, "hang", 410]);
    expect(new Set(seen.map((w) => w.id))).toEqual(new Set([gone!.id]));
    expect(seen.every((w) => w.verified)).toBe(true);

    const endpoints = (await client.request("GET", "/v1/webhooks")) as { results: Array<{ id: string; disabled_at: string | null; disabled_reason: string | null }> };
    expect(endpoints.results.find((e) => e.id === flaky.id)).toMatchObject({ disabled_at: expect.any(String), disabled_reason: "the endpoint answered 410 Gone" });
    expect(endpoints.results.find((e) => e.id === broken.id)).toMatchObject({ disabled_at: null });

    // The endpoint that only ever fails: one try and a retry per step, then the dead letters.
    const [dead] = await eventually(async () => {
      const list = await deliveriesTo(client, broken.id);
      return list[0]?.state === "dead" && list;
    }, { what: "the broken endpoint's delivery to die", timeoutMs: 60_000 });
    expect(dead!.attempts.map((a) => a.status_code)).toEqual([500, 500, 500]);
    const times = attemptTimes(dead!);
    for (let step = 0; step < SCHEDULE_S.length; step++) {
      expect(times[step + 1]! - times[step]!).toBeGreaterThanOrEqual(SCHEDULE_S[step]! * 1000 - CLOCK_SLACK_MS);
    }
    expect(receiver.received("broken")).toHaveLength(3);

    // A later event goes nowhere near the disabled endpoint, and still reaches the others.
    await client.cancelJob(job.id);
    await eventually(async () => receiver.received("own").length === 1 && receiver.received("broken").length === 4, { what: "the cancel webhooks elsewhere" });
    expect(receiver.received("flaky")).toHaveLength(3);
    expect((await deliveriesTo(client, flaky.id)).filter((d) => d.event_type === "job.canceled").every((d) => d.attempts.length === 0)).toBe(true);
  });
});
