// How a pull's outcome is read from Docker's progress stream: a stand-in engine
// replays what Docker sends for a pull that fails part way (HTTP 200, then an error event).
import { Readable } from "node:stream";
import Docker from "dockerode";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { DockerExecutor } from "../../../provider/executor/docker.ts";
import { PrivateImages } from "../../../provider/executor/privateImages.ts";

function engineStreaming(lines: unknown[]): Docker {
  return {
    // The real modem (it parses the stream); nothing here connects to it.
    modem: new Docker({ socketPath: "/nonexistent.sock" }).modem,
    getImage: () => ({ inspect: async () => Promise.reject(new Error("no such image")) }),
    pull: async () => Readable.from(lines.map((line) => `${JSON.stringify(line)}\n`)),
  } as unknown as Docker;
}

const spec = { image: "registry.example/pond/model:1", resources: { gpus: 0, cpus: 1, memory_mb: 64 }, timeout_s: 5, max_price_wei: "1" };
const hooks = { onPhase: () => undefined, onLog: () => undefined };

describe("pulling an image", () => {
  it("fails the job with the registry's message when the stream reports an error", async () => {
    const docker = engineStreaming([
      { status: "Pulling from pond/model", id: "1" },
      { status: "Downloading", id: "abc", progressDetail: { current: 10, total: 100 } },
      { errorDetail: { message: "unauthorized: authentication required" }, error: "unauthorized: authentication required" },
    ]);
    const executor = new DockerExecutor(docker, pino({ level: "silent" }), { pullPolicy: "missing", privateImages: PrivateImages.inMemory(), registryHosts: { allowAddresses: [], resolve: async () => ["93.184.215.14"] }, provider: "0xp", maxOutputBytes: 1024 });
    const result = await executor.run({ jobId: "job_1", spec, gpuUuids: [], workDir: "/nonexistent/job_1" }, hooks, new AbortController().signal);
    expect(result).toMatchObject({ outcome: "failed", error: "could not get image registry.example/pond/model:1: unauthorized: authentication required" });
  });
});
