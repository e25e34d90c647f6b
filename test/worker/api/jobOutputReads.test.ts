// The signed read of a job's own outputs from where its provider delivered them
// (GET /v1/providers/jobs/{id}/data/outputs/{sha256}): what a mediator drawn for a
// tolerant job's challenge compares with its re-run. Through the real API and hub,
// with real outputs in R2.
import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { outputObject, outputObjectKey, relayReadMessage, uploadHeaders } from "../../../protocol/uploads.ts";
import { runningJob } from "../assignedJob.ts";
import { ORIGIN, signIn } from "../client.ts";
import { connectProvider, type TestProvider } from "../providerSocket.ts";
import { sha256Hex } from "../providerOutputs.ts";
import { succeed } from "../sourceJobs.ts";

async function signedRead(reader: Pick<TestProvider, "account" | "address">, jobId: string, sha256: string, headers: Record<string, string> = {}): Promise<Response> {
  const timestamp = Date.now();
  const signature = await reader.account.signMessage({ message: relayReadMessage({ jobId, object: outputObject(sha256), timestamp }) });
  return SELF.fetch(`${ORIGIN}/v1/providers/jobs/${jobId}/data/outputs/${sha256}`, {
    headers: { [uploadHeaders.provider]: reader.address, [uploadHeaders.timestamp]: String(timestamp), [uploadHeaders.signature]: signature, ...headers },
  });
}

describe("reading a job's own outputs", () => {
  it("serves them by sha256, whole or from an offset, to the job's provider, refuses others, and says 404 once one is gone", async () => {
    const { key } = await signIn();
    const run = await runningJob(key);
    const files = await succeed(run, { "metrics.json": '{"loss":[0.5,0.25]}\n', "labels.txt": "1\n2\n3\n" });
    const metrics = files.find((file) => file.path === "metrics.json")!;
    const labels = files.find((file) => file.path === "labels.txt")!;

    const whole = await signedRead(run.provider, run.job.id, metrics.sha256);
    expect(whole.status).toBe(200);
    expect(await sha256Hex(new Uint8Array(await whole.arrayBuffer()))).toBe(metrics.sha256);
    const rest = await signedRead(run.provider, run.job.id, labels.sha256, { range: "bytes=2-" });
    expect(rest.status).toBe(206);
    expect(new TextDecoder().decode(await rest.arrayBuffer())).toBe("2\n3\n");

    // Another provider, however well it signs; a sha256 the manifest does not name; an unsigned read.
    const stranger = await connectProvider({ resources: { cpus: 0.5 } });
    const refused = await signedRead(stranger, run.job.id, metrics.sha256);
    expect(refused.status).toBe(403);
    expect((await signedRead(run.provider, run.job.id, "ab".repeat(32))).status).toBe(404);
    expect((await SELF.fetch(`${ORIGIN}/v1/providers/jobs/${run.job.id}/data/outputs/${metrics.sha256}`)).status).toBe(401);
    // A signature over another object (an input read) does not open an output.
    const timestamp = Date.now();
    const wrongObject = await run.provider.account.signMessage({ message: relayReadMessage({ jobId: run.job.id, object: `sources/${metrics.sha256}`, timestamp }) });
    const crossed = await SELF.fetch(`${ORIGIN}/v1/providers/jobs/${run.job.id}/data/outputs/${metrics.sha256}`, {
      headers: { [uploadHeaders.provider]: run.provider.address, [uploadHeaders.timestamp]: String(timestamp), [uploadHeaders.signature]: wrongObject },
    });
    expect(crossed.status).toBe(401);

    // Gone from the relay: a 404 that names the output, which a mediator takes as the provider's failure to deliver.
    await env.OUTPUTS.delete(outputObjectKey(run.job.id, labels.path, labels.sha256));
    const gone = await signedRead(run.provider, run.job.id, labels.sha256);
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as { detail: string }).detail).toMatch(/labels\.txt/);
    await Promise.all([run.provider.close(), stranger.close()]);
  });
});
