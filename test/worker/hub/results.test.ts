// Results, outputs and verdicts through the real hub: what a provider reports
// is taken in the order it was sent, outputs are served as the manifest names
// them, and only a drawn mediator's verdict is passed on.
import { env } from "cloudflare:test";
import type { Hex } from "viem";
import { describe, expect, it } from "vitest";
import { mediationTypes, verdictTypes } from "../../../protocol/eip712.ts";
import { HUB_PROTOCOL_VERSION, type ResultMessage } from "../../../protocol/hubMessages.ts";
import type { Job } from "../../../protocol/job.ts";
import { outputsPrefix } from "../../../protocol/uploads.ts";
import { applySettlement } from "../../../worker/chain/settlementUpdates.ts";
import { hubOf } from "../../../worker/bindings/objects.ts";
import { getConfig } from "../../../worker/config/config.ts";
import { announceToMatching } from "../../../worker/matching/scheduling.ts";
import { jobContextFor } from "../../../worker/wiring/jobContext.ts";
import { eventually } from "../../helpers/eventually.ts";
import { malleableTwin } from "../../helpers/signatures.ts";
import { call, post, signIn } from "../client.ts";
import { insertJob } from "../chain/jobRows.ts";
import { finishWithOutputs, inlineResult, signedResult, uploadOutput } from "../providerOutputs.ts";
import { connectProvider, type TestProvider } from "../providerSocket.ts";
import { assignedJob, EXPENSIVE, specFor, uniqueCpus } from "../assignedJob.ts";

const statusOf = async (key: string, id: string) => ((await (await call(`/v1/jobs/${id}`, { key })).json()) as Job).status;

describe("results", () => {
  it("takes a result sent right behind its running status, in the order sent", async () => {
    const { key, provider, offer } = await assignedJob();
    // Back to back, no waiting: the result must not overtake "running".
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.status", job_id: offer.job_id, phase: "running" });
    provider.send(await signedResult(provider, offer, []));
    const ack = await provider.next("job.result.ack");
    expect(ack).toMatchObject({ job_id: offer.job_id, accepted: true });
    expect(await statusOf(key, offer.job_id)).toBe("succeeded");
    await provider.close();
  });

  it("takes a result whose running status was lost with a connection", async () => {
    const { key, provider, offer } = await assignedJob();
    provider.send(await signedResult(provider, offer, []));
    expect(await provider.next("job.result.ack")).toMatchObject({ accepted: true });
    const transitions = (await (await call(`/v1/jobs/${offer.job_id}/transitions`, { key })).json()) as { results: { to: string }[] };
    expect(transitions.results.map((t) => t.to)).toEqual(expect.arrayContaining(["starting", "processing", "succeeded"]));
    await provider.close();
  });

  it("reports how long the container ran by its engine's clock, not how long the hub waited for the result", async () => {
    const { key, provider, offer } = await assignedJob();
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.status", job_id: offer.job_id, phase: "running" });
    provider.send({ ...(await signedResult(provider, offer, [])), metrics: { pull_ms: 12, run_ms: 1_612 } });
    expect(await provider.next("job.result.ack")).toMatchObject({ accepted: true });
    const job = (await (await call(`/v1/jobs/${offer.job_id}`, { key })).json()) as Job;
    expect(job.metrics.run_ms).toBe(1_612);
    await provider.close();
  });

  it("shows what the job's egress moved, per host, as its provider reported it", async () => {
    const { key, provider, offer } = await assignedJob();
    const egress = { hosts: [{ host: "huggingface.co", port: 443, connections: 3, bytes_out: 2_048, bytes_in: 52_428_800 }], refused: 1 };
    provider.send({ ...(await signedResult(provider, offer, [])), metrics: { pull_ms: 12, run_ms: 1_612, egress } });
    expect(await provider.next("job.result.ack")).toMatchObject({ accepted: true });
    const job = (await (await call(`/v1/jobs/${offer.job_id}`, { key })).json()) as Job;
    expect(job.metrics.egress).toEqual(egress);
    await provider.close();
  });

  it("shows what the job's GPUs did, for the GPUs reserved for it only, and refuses figures out of range without ending the job", async () => {
    const { key } = await signIn();
    const model = `NVIDIA H100 ${crypto.randomUUID()}`;
    const gpus = [0, 1].map((index) => ({ index, uuid: `GPU-${crypto.randomUUID()}`, model, vram_mb: 81_559 }));
    const provider = await connectProvider({ resources: { cpus: uniqueCpus(), gpus }, pricing: EXPENSIVE });
    const response = await post("/v1/jobs", { ...specFor(1), resources: { gpus: 1, gpu_models: [model], cpus: 1, memory_mb: 512 } }, { key });
    expect(response.status).toBe(201);
    const offer = await provider.next("job.offer");
    await provider.accept(offer);
    const [mine] = offer.gpu_uuids;
    const other = gpus.find((gpu) => gpu.uuid !== mine)!.uuid;
    const figures = (uuid: string, mean = 87.5) => ({ uuid, samples: 12, utilization_pct: { mean, max: 100 }, memory_used_mb: { mean: 61_000, max: 71_234 }, power_w: { mean: 612.3, max: 698.26 }, temperature_c_max: 71 });
    const result = await signedResult(provider, offer, []);
    provider.send({ ...result, metrics: { pull_ms: 12, run_ms: 60_000, gpu: { interval_ms: 5_000, gpus: [figures(mine!, 150)] } } });
    expect((await provider.next("error")).code).toBe("bad_frame");
    expect(await statusOf(key, offer.job_id)).not.toBe("succeeded");
    // Figures of the provider's other GPU, or of one it does not have, are not the creator's to see (gpuFigures.test.ts: the rest of the rules).
    const sent = { interval_ms: 5_000, gpus: [figures(mine!), figures(other), figures(`GPU-${crypto.randomUUID()}`)] };
    provider.send({ ...result, metrics: { pull_ms: 12, run_ms: 60_000, gpu: sent } });
    expect(await provider.next("job.result.ack")).toMatchObject({ accepted: true });
    const job = (await (await call(`/v1/jobs/${offer.job_id}`, { key })).json()) as Job;
    expect(job.metrics.gpu).toEqual({ interval_ms: 5_000, gpus: [figures(mine!)] });
    await provider.close();
  });

  it("shows no GPU figures for a job whose provider sent none", async () => {
    const { key, provider, offer } = await assignedJob();
    provider.send(await signedResult(provider, offer, []));
    expect(await provider.next("job.result.ack")).toMatchObject({ accepted: true });
    expect(((await (await call(`/v1/jobs/${offer.job_id}`, { key })).json()) as Job).metrics.gpu).toBeNull();
    await provider.close();
  });

  it("keeps a result signed in the high-s form as its canonical signature, the form the settlement batch takes", async () => {
    const { key, provider, offer } = await assignedJob();
    const result = await signedResult(provider, offer, []);
    provider.send({ ...result, signature: malleableTwin(result.signature) });
    expect(await provider.next("job.result.ack")).toMatchObject({ job_id: offer.job_id, accepted: true });
    const job = (await (await call(`/v1/jobs/${offer.job_id}`, { key })).json()) as Job;
    expect(job.price?.claim_signature).toBe(result.signature.toLowerCase());
    await provider.close();
  });

  it("refuses a result whose signature no signer could have made, saying why", async () => {
    const { key, provider, offer } = await assignedJob();
    const result = await signedResult(provider, offer, []);
    provider.send({ ...result, signature: `${result.signature.slice(0, 130)}25` });
    await provider.next("job.result.ack");
    const job = (await (await call(`/v1/jobs/${offer.job_id}`, { key })).json()) as Job;
    expect(job).toMatchObject({ status: "failed", error: expect.stringMatching(/result signature is not usable: its v is 37/) });
    await provider.close();
  });

  it("puts a succeeded result's warning into the job's status_detail", async () => {
    const { key, provider, offer } = await assignedJob();
    const warning = "a process in the job was killed: the container ran out of memory (limit 512 MiB); the job exited 0, so it succeeded";
    provider.send({ ...(await signedResult(provider, offer, [])), warning });
    expect(await provider.next("job.result.ack")).toMatchObject({ accepted: true });
    const job = (await (await call(`/v1/jobs/${offer.job_id}`, { key })).json()) as Job;
    expect(job).toMatchObject({ status: "succeeded", status_detail: warning });
    await provider.close();
  });

  it("welcomes a provider with the hub's grace period, so its watchdogs know when to stop its containers", async () => {
    const provider = await connectProvider({ resources: { cpus: uniqueCpus() }, pricing: EXPENSIVE });
    expect(provider.welcome.grace_ms).toBe(getConfig(env).matching.providerGraceMs);
    await provider.close();
  });

  it("stores a result's inline outputs, each checked against the manifest, and serves them as uploaded ones", async () => {
    const { key, provider, offer } = await assignedJob();
    // Said in the welcome: a provider inlines nothing for a hub that does not say it takes them.
    expect(provider.welcome.inline_outputs).toBe(true);
    const metrics = new TextEncoder().encode('{"accuracy":0.975}');
    const uploaded = await uploadOutput(provider, offer.job_id, "model.pt", new TextEncoder().encode("weights"));
    const result = await inlineResult(provider, offer, { "metrics.json": metrics });
    provider.send({ ...(await signedResult(provider, offer, [...result.manifest!.files, uploaded])), inline_outputs: result.inline_outputs! });
    expect(await provider.next("job.result.ack")).toMatchObject({ accepted: true });
    const download = await call(`/v1/jobs/${offer.job_id}/outputs/metrics.json`, { key });
    expect(download.status).toBe(200);
    expect(await download.text()).toBe('{"accuracy":0.975}');
    expect(await (await call(`/v1/jobs/${offer.job_id}/outputs/model.pt`, { key })).text()).toBe("weights");
    await provider.close();
  });

  it.each([
    ["bytes that are not the manifest's", (_r: ResultMessage) => ({ inline_outputs: [{ path: "a.txt", data_base64: btoa("b-bytes") }] }), /inline output a\.txt (is 7 bytes|does not have the sha256)/],
    ["a file the manifest does not name", (r: ResultMessage) => ({ inline_outputs: [...r.inline_outputs!, { path: "extra.txt", data_base64: btoa("x") }] }), /inline output extra\.txt is not in the manifest/],
  ])("refuses a result whose inline outputs carry %s, storing none of them", async (_case, tamper, why) => {
    const { key, provider, offer } = await assignedJob();
    const result = await inlineResult(provider, offer, { "a.txt": new TextEncoder().encode("a-bytes") });
    provider.send({ ...result, ...tamper(result) });
    expect(await provider.next("job.result.ack")).toMatchObject({ accepted: false, error: expect.stringMatching(why) });
    const job = (await (await call(`/v1/jobs/${offer.job_id}`, { key })).json()) as Job;
    expect(job).toMatchObject({ status: "failed", error: expect.stringMatching(why) });
    const listed = await env.OUTPUTS.list({ prefix: outputsPrefix(offer.job_id) });
    expect(listed.objects).toEqual([]);
    await provider.close();
  });

  it("stores nothing a provider sends inline for a job it was not given, and the job's own provider finishes it", async () => {
    const { key, provider, offer } = await assignedJob();
    const intruder = await connectProvider({ resources: { cpus: uniqueCpus() }, pricing: EXPENSIVE });
    intruder.send(await inlineResult(intruder, offer, { "model.pt": new TextEncoder().encode("planted weights") }));
    expect(await intruder.next("job.result.ack")).toMatchObject({ accepted: false, error: expect.stringMatching(/not assigned to you/) });
    expect((await env.OUTPUTS.list({ prefix: outputsPrefix(offer.job_id) })).objects).toEqual([]);
    provider.send(await inlineResult(provider, offer, { "model.pt": new TextEncoder().encode("the real weights") }));
    expect(await provider.next("job.result.ack")).toMatchObject({ accepted: true });
    expect(await (await call(`/v1/jobs/${offer.job_id}/outputs/model.pt`, { key })).text()).toBe("the real weights");
    await intruder.close();
    await provider.close();
  });

  it("stores no inline output of a result refused for another reason (a file it names was never uploaded)", async () => {
    const { provider, offer } = await assignedJob();
    const inline = await inlineResult(provider, offer, { "metrics.json": new TextEncoder().encode("{}") });
    const never = { path: "model.pt", size: 5, sha256: "ab".repeat(32) };
    provider.send({ ...(await signedResult(provider, offer, [...inline.manifest!.files, never])), inline_outputs: inline.inline_outputs! });
    expect(await provider.next("job.result.ack")).toMatchObject({ accepted: false, error: "output model.pt was not uploaded" });
    expect((await env.OUTPUTS.list({ prefix: outputsPrefix(offer.job_id) })).objects).toEqual([]);
    await provider.close();
  });

  it("serves an output as the manifest names it, even after other bytes were uploaded under its path", async () => {
    const { key, provider, offer } = await assignedJob();
    const named = await uploadOutput(provider, offer.job_id, "model/weights.bin", new TextEncoder().encode("the real weights"));
    await uploadOutput(provider, offer.job_id, "model/weights.bin", new TextEncoder().encode("something else entirely"));
    provider.send(await signedResult(provider, offer, [named]));
    expect(await provider.next("job.result.ack")).toMatchObject({ accepted: true });
    const download = await call(`/v1/jobs/${offer.job_id}/outputs/model/weights.bin`, { key });
    expect(download.status).toBe(200);
    expect(await download.text()).toBe("the real weights");
    await provider.close();
  });
});

describe("mediation verdicts", () => {
  it("refuses a verdict from anyone the hub did not ask to mediate", async () => {
    const { key, provider: accused, offer } = await assignedJob();
    // Only a succeeded job's result can be challenged: the mediator is sent its outputs' manifest.
    const files = await finishWithOutputs(accused, offer, { "out.txt": new TextEncoder().encode("the result") });
    const verdict = async (from: TestProvider) => ({
      v: HUB_PROTOCOL_VERSION,
      type: "job.mediation",
      job_id: offer.job_id,
      result_hash: `0x${"ab".repeat(32)}`,
      signature: await from.account.signTypedData({
        domain: from.domain,
        types: mediationTypes,
        primaryType: "Mediation",
        message: { jobId: offer.chain_job_id as Hex, resultHash: `0x${"ab".repeat(32)}` },
      }),
    });
    // The accused vouching for itself is refused, as a result hash or as a tolerant job's verdict.
    accused.send(await verdict(accused));
    expect(await accused.next("error")).toMatchObject({ code: "not_mediator" });
    const rerunHash = `0x${"cd".repeat(32)}` as Hex;
    accused.send({
      v: HUB_PROTOCOL_VERSION,
      type: "job.verdict",
      job_id: offer.job_id,
      rerun_hash: rerunHash,
      upheld: true,
      detail: "agree",
      signature: await accused.account.signTypedData({
        domain: accused.domain,
        types: verdictTypes,
        primaryType: "Verdict",
        message: { jobId: offer.chain_job_id as Hex, resultHash: `0x${"ab".repeat(32)}`, rerunHash, upheld: true },
      }),
    });
    expect(await accused.next("error")).toMatchObject({ code: "not_mediator" });

    // Drawn by the indexer (here called directly): its hub now knows it, and the mediator is asked.
    const mediator = await connectProvider({ resources: { cpus: uniqueCpus() }, pricing: EXPENSIVE });
    const hub = hubOf(env, getConfig(env), mediator.address);
    expect(await hub.mediate(mediator.address, offer.job_id, offer.chain_job_id)).toBe(true);
    const asked = await mediator.next("job.mediate");
    expect(asked).toMatchObject({ job_id: offer.job_id, outputs: { files: [{ path: "out.txt", sha256: files[0]!.sha256 }] } });
    mediator.send(await verdict(mediator));
    // Past the mediator check; this Worker settles nothing on chain, so there is no challenge to resolve.
    expect(await mediator.next("error")).toMatchObject({ code: "no_chain" });
    await eventually(async () => expect(await statusOf(key, offer.job_id)).toBe("succeeded"));
    await accused.close();
    await mediator.close();
  });
});

describe("paid jobs", () => {
  it("are offered only once their escrow reservation is on chain", async () => {
    const cpus = uniqueCpus();
    const provider = await connectProvider({ resources: { cpus }, pricing: EXPENSIVE });
    // As the API leaves a paid job: queued, its reservation sent to the chain but not yet seen there.
    const row = await insertJob("paid", {
      spec: specFor(cpus),
    });
    expect(row.settlement).toBe("reserving");
    await announceToMatching(jobContextFor(env), { row, from: null, origin: "api", record: undefined });
    expect(await provider.receives("job.offer", 1_000)).toBe(false);

    // The indexer saw the reservation: now it may run.
    await applySettlement(jobContextFor(env), row.chainJobId, "pending", false);
    expect((await provider.next("job.offer")).job_id).toBe(row.id);
    await provider.close();
  });
});
