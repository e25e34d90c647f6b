// A job's signaling through the real Worker in workerd: the creator on its own
// WebSocket, the provider on its hub socket. The rendezvous relays, stamps the
// sender itself, holds a message for an absent peer and then gives it back as an
// error, and lets no one else in.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { HUB_PROTOCOL_VERSION } from "../../../protocol/hubMessages.ts";
import { SIGNALING_PROTOCOL_VERSION, type ServerSignal } from "../../../protocol/signaling.ts";
import { assignedJob, EXPENSIVE, uniqueCpus } from "../assignedJob.ts";
import { rendezvousOf } from "../../../worker/bindings/objects.ts";
import { MAX_CREATOR_SOCKETS } from "../../../worker/signaling/joinPolicy.ts";
import { eventually } from "../../helpers/eventually.ts";
import { call, post, signIn } from "../client.ts";
import { connectProvider, type TestProvider } from "../providerSocket.ts";
import { joinAsCreator } from "./creatorSocket.ts";

const v = SIGNALING_PROTOCOL_VERSION;
const offer = (dst: string, extra: Record<string, unknown> = {}) => ({ v, type: "offer", dst, payload: { type: "offer", sdp: "v=0 test-offer" }, ...extra });

/** The next signal of `type` on the provider's hub socket (presence arrives there too). */
async function signalOn(provider: TestProvider, type: ServerSignal["type"]) {
  for (;;) {
    const delivered = await provider.next("signal");
    if (delivered.signal.type === type) return delivered;
  }
}

describe("a job's rendezvous", () => {
  it("relays between creator and provider, stamping the sender itself", async () => {
    const { key, provider, job } = await assignedJob();
    const joined = await joinAsCreator(job.id, { key });
    expect(joined.status).toBe(101);
    const creator = joined.creator!;

    // The creator claims to be the provider: the rendezvous stamps who it really is.
    creator.send(offer("provider", { src: "provider" }));
    expect((await signalOn(provider, "peer")).signal).toMatchObject({ peer: "creator", present: true });
    const delivered = await signalOn(provider, "offer");
    expect(delivered.job_id).toBe(job.id);
    expect(delivered.signal).toMatchObject({ type: "offer", src: "creator", dst: "provider", payload: { sdp: "v=0 test-offer" } });

    provider.send({ v: HUB_PROTOCOL_VERSION, type: "signal", job_id: job.id, signal: { v, type: "answer", dst: "creator", payload: { type: "answer", sdp: "v=0 test-answer" } } });
    expect(await creator.next("answer")).toMatchObject({ src: "provider", payload: { sdp: "v=0 test-answer" } });
    // The provider's first word is also its arrival.
    expect(await creator.next("peer")).toMatchObject({ peer: "provider", present: true });
    await provider.close();
    creator.ws.close(1000);
  });

  it("gives a message back as an error when its peer never comes for it", async () => {
    const { key, provider, job } = await assignedJob();
    await provider.close();
    const creator = (await joinAsCreator(job.id, { key })).creator!;
    creator.send({ ...offer("provider"), session: "offer-1" });
    const error = await creator.next("error", 10_000);
    // With the session its message named, so a creator that has moved on to another offer can tell it is not about that one.
    expect(error).toMatchObject({ code: "peer_absent", dst: "provider", ref_type: "offer", session: "offer-1" });

    creator.ws.close(1000);
  });

  it("holds the provider's message for a creator who joins later, and delivers it then", async () => {
    const { key, provider, job } = await assignedJob();
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "signal", job_id: job.id, signal: offer("creator") });
    // The message is held, not lost, before anyone is there to take it.
    const held = () => runInDurableObject(rendezvousOf(env, job.id), (_instance, state) => Number(state.storage.sql.exec("SELECT COUNT(*) AS n FROM queued WHERE dst = 'creator'").one().n));
    await eventually(async () => (await held()) === 1, { what: "the offer held for the creator" });
    const creator = (await joinAsCreator(job.id, { key })).creator!;
    expect(await creator.next("offer")).toMatchObject({ src: "provider", dst: "creator" });
    await provider.close();
    creator.ws.close(1000);
  });

  it("refuses a message for a peer the job does not have, and a malformed frame, without closing", async () => {
    const { key, provider, job } = await assignedJob();
    const creator = (await joinAsCreator(job.id, { key })).creator!;
    creator.send(offer("auditor"));
    expect(await creator.next("error")).toMatchObject({ code: "unknown_peer", dst: "auditor" });
    creator.ws.send("{not json");
    expect(await creator.next("error")).toMatchObject({ code: "bad_message" });
    creator.send(offer("provider"));
    expect((await signalOn(provider, "offer")).signal).toMatchObject({ type: "offer", src: "creator" });
    await provider.close();
    creator.ws.close(1000);
  });

  it("lets in only the job's creator and its provider", async () => {
    const { job } = await assignedJob();
    const stranger = await signIn();
    expect((await joinAsCreator(job.id, { key: stranger.key })).status).toBe(404);
    expect((await joinAsCreator(job.id, {})).status).toBe(401);

    const outsider = await connectProvider({ resources: { cpus: uniqueCpus() }, pricing: EXPENSIVE });
    outsider.send({ v: HUB_PROTOCOL_VERSION, type: "signal", job_id: job.id, signal: offer("creator") });
    expect(await outsider.next("error")).toMatchObject({ code: "not_found" });
    await outsider.close();
  });

  it("lets a browser join once with a short-lived token, never with it again", async () => {
    const { key, provider, job } = await assignedJob();
    const issued = await post(`/v1/jobs/${job.id}/signal-token`, {}, { key });
    expect(issued.status).toBe(201);
    const { token, url } = (await issued.json()) as { token: string; url: string };
    expect(url).toMatch(/^wss:\/\/pond\.test\/v1\/jobs\/job_\w+\/signal\?token=pond_jt_/);
    const joined = await joinAsCreator(job.id, { token });
    expect(joined.status).toBe(101);
    joined.creator!.send(offer("provider"));
    expect((await signalOn(provider, "offer")).signal).toMatchObject({ src: "creator" });
    const again = await joinAsCreator(job.id, { token });
    expect(again.status).toBe(401);
    const stranger = await signIn();
    expect((await post(`/v1/jobs/${job.id}/signal-token`, {}, { key: stranger.key })).status).toBe(404);
    await provider.close();
    joined.creator!.ws.close(1000);
    // Once the rendezvous has handled the close, nothing of this test runs after it (see closeAndWait in ../providerSocket.ts).
    await eventually(async () => (await runInDurableObject(rendezvousOf(env, job.id), (_instance, state) => state.getWebSockets().length)) === 0, { what: "the rendezvous to let go of the creator" });
  });

  it("lets one creator hold only a few sockets per job, and another in once one closes", async () => {
    const { key, provider, job } = await assignedJob();
    const open = [];
    for (let i = 0; i < MAX_CREATOR_SOCKETS; i++) {
      const joined = await joinAsCreator(job.id, { key });
      expect(joined.status).toBe(101);
      open.push(joined.creator!);
    }
    const refused = await joinAsCreator(job.id, { key });
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ type: expect.stringMatching(/too-many-signaling-sockets$/), detail: expect.stringMatching(new RegExp(`at most ${MAX_CREATOR_SOCKETS}`)) });
    open.pop()!.ws.close(1000);
    const onWebSockets = () => runInDurableObject(rendezvousOf(env, job.id), (_instance, state) => state.getWebSockets().length);
    await eventually(async () => (await onWebSockets()) === MAX_CREATOR_SOCKETS - 1, { what: "the rendezvous to let go of the closed socket" });
    const again = await joinAsCreator(job.id, { key });
    expect(again.status).toBe(101);
    open.push(again.creator!);
    await provider.close();
    for (const creator of open) creator.ws.close(1000);
    await eventually(async () => (await onWebSockets()) === 0, { what: "the rendezvous to let go of the creator's sockets" });
  });

  it("closes the signaling of a job that ended with nothing to transfer", async () => {
    const { key, provider, job } = await assignedJob();
    expect((await post(`/v1/jobs/${job.id}/cancel`, {}, { key })).status).toBeLessThan(300);
    const refused = await joinAsCreator(job.id, { key });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ type: expect.stringMatching(/job-ended$/), detail: expect.stringMatching(/the job is canceled: it has no files left to transfer/) });
    await provider.close();
  });

  it("answers a plain GET with 426", async () => {
    const { key, job } = await assignedJob();
    expect((await call(`/v1/jobs/${job.id}/signal`, { key })).status).toBe(426);
  });
});

describe("GET /v1/ice-servers", () => {
  it("issues TURN REST credentials for the caller that coturn's use-auth-secret accepts", async () => {
    const { key, account } = await signIn();
    const response = await call("/v1/ice-servers", { key });
    expect(response.status).toBe(200);
    const { ice_servers, expires_at } = (await response.json()) as { ice_servers: Array<{ urls: string[]; username?: string; credential?: string }>; expires_at: number };
    expect(ice_servers[0]).toEqual({ urls: ["stun:127.0.0.1:3478"] });
    const turn = ice_servers[1]!;
    expect(turn.urls).toEqual(["turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp"]);
    expect(turn.username).toBe(`${expires_at}:${account.address.toLowerCase()}`);
    expect(expires_at - Math.floor(Date.now() / 1000)).toBeGreaterThan(3_000);
    // What coturn computes from its static-auth-secret (vitest.config.mts sets it): base64(HMAC-SHA1(secret, username)).
    const hmac = await crypto.subtle.importKey("raw", new TextEncoder().encode("pond-test-turn-secret-0123456789"), { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
    const expected = btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.sign("HMAC", hmac, new TextEncoder().encode(turn.username!)))));
    expect(turn.credential).toBe(expected);
    expect(JSON.stringify(ice_servers)).not.toContain("pond-test-turn-secret");
  });

  it("requires an API key", async () => {
    expect((await call("/v1/ice-servers")).status).toBe(401);
  });

  it("gives a provider servers over its hub socket", async () => {
    const provider = await connectProvider({ resources: { cpus: uniqueCpus() }, pricing: EXPENSIVE });
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "ice.request" });
    const servers = await provider.next("ice.servers");
    expect(servers.ice_servers[1]!.username).toBe(`${servers.expires_at}:${provider.address}`);
    await provider.close();
  });
});
