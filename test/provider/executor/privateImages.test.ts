// Private images against a real Docker engine and a real registry that asks for a password (distribution with
// htpasswd): the executor pulls with the job's registry credentials, and its copy then serves only jobs the
// registry lets read it, whether they name it by repository, by image id or by an id's prefix, across a restart,
// and never through a container made ahead of the start.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DockerExecutor, type RunRequest, type RunResult } from "../../../provider/executor/docker.ts";
import { PrivateImages, repositoryOf } from "../../../provider/executor/privateImages.ts";
import { docker, imageOfItsOwn, TEST_IMAGE } from "../../helpers/docker.ts";
import { startRegistry, type LocalRegistry } from "../../helpers/registry.ts";
import { useTempDir } from "../../helpers/tempDir.ts";

const tempDir = useTempDir("private-images");
const PASSWORD = `registry-token-${process.pid}`;
const provider = `0xprivate${process.pid}`;
const log = pino({ level: "silent" });
const hooks = { onPhase: () => undefined, onLog: () => undefined };
const ran: Array<{ executor: DockerExecutor; workDir: string; result: RunResult }> = [];

let registry: LocalRegistry;
/** The private image, pinned by digest in the registry; no copy of it in the engine at the start. */
let pinned: string;
/** The daemon's folder, kept from test to test as a provider's is from run to run. */
let dataDir: string;
let ledgerFile: string;

beforeAll(async () => {
  registry = await startRegistry({ alice: PASSWORD });
  const source = await imageOfItsOwn(`private-${process.pid}`);
  pinned = await registry.push(source, "alice/trainer", "1", { auth: { username: "alice", password: PASSWORD } });
  // Every local name goes, so the image goes with the last: the first job must pull it.
  await docker.getImage(`${registry.host}/alice/trainer:1`).remove();
  await docker.getImage(source).remove();
  await expect(docker.getImage(pinned).inspect()).rejects.toThrow();
  dataDir = await mkdtemp(join(tmpdir(), "pond-private-ledger-"));
  ledgerFile = join(dataDir, "private-repositories.json");
}, 60_000);

afterEach(async () => {
  for (const { executor, workDir, result } of ran.splice(0)) await executor.dispose(workDir, result.containerId);
});

afterAll(async () => {
  await docker.getImage(pinned).remove({ force: true }).catch(() => undefined);
  await registry?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function executorWith(ledger: PrivateImages): Promise<DockerExecutor> {
  return new DockerExecutor(docker, log, { pullPolicy: "missing", privateImages: ledger, provider, maxOutputBytes: 1024 * 1024, outputVolume: "folder" });
}

function requestFor(image: string, credentials?: { username: string; password: string }): RunRequest {
  const jobId = `job_private_${ran.length}_${Date.now()}`;
  return {
    jobId,
    spec: { image, cmd: ["sh", "-c", "echo ran > /outputs/ran.txt"], resources: { gpus: 0, cpus: 0.5, memory_mb: 64 }, timeout_s: 30, max_price_wei: "1", ...(credentials ? { registry_auth: { username: credentials.username } } : {}) },
    gpuUuids: [],
    workDir: join(tempDir(), jobId),
    ...(credentials ? { registryCredentials: credentials } : {}),
  };
}

async function runJob(executor: DockerExecutor, image: string, credentials?: { username: string; password: string }): Promise<RunResult> {
  const request = requestFor(image, credentials);
  const result = await executor.run(request, hooks, new AbortController().signal);
  ran.push({ executor, workDir: request.workDir, result });
  return result;
}

const savedLedger = async () => JSON.parse(await readFile(ledgerFile, "utf8")) as string[];

describe("private images", () => {
  it("fails a pull with a wrong password saying so, never quoting it, and keeps no mark for a repository it holds nothing of", async () => {
    const executor = await executorWith(await PrivateImages.load(ledgerFile));
    const wrong = `wrong-${PASSWORD}`;
    const result = await runJob(executor, pinned, { username: "alice", password: wrong });
    expect(result.outcome).toBe("failed");
    expect(result.error).toContain(`could not get image ${pinned}`);
    expect(result.error).not.toContain(wrong);
    expect(result.containerId ?? null).toBeNull();
    expect(await savedLedger()).toEqual([]);
  });

  it("has the mark on disk before the pull moves a byte (a daemon killed mid-pull still knows), and keeps it while another pull of the repository is under way", async () => {
    const ledger = await PrivateImages.load(ledgerFile);
    const repository = repositoryOf(pinned)!;
    let release!: () => void;
    const slow = ledger.pullingWithCredentials(docker, pinned, async () => {
      expect(await savedLedger()).toEqual([repository]);
      await new Promise<void>((resolve) => (release = resolve));
    });
    await expect(ledger.pullingWithCredentials(docker, pinned, async () => Promise.reject(new Error("denied")))).rejects.toThrow("denied");
    // The other pull may still bring the image: the mark stays.
    expect(await savedLedger()).toEqual([repository]);
    release();
    await slow;
    await expect(ledger.pullingWithCredentials(docker, pinned, async () => Promise.reject(new Error("denied")))).rejects.toThrow("denied");
    expect(await savedLedger()).toEqual([]);
  });

  it("pulls the image as the job's registry user, then lets its copy serve a job only once the registry lets that job read it", async () => {
    const executor = await executorWith(await PrivateImages.load(ledgerFile));
    const alice = { username: "alice", password: PASSWORD };

    const first = await runJob(executor, pinned, alice);
    expect(first).toMatchObject({ outcome: "succeeded", image: { warm: false } });

    const anonymous = await runJob(executor, pinned);
    expect(anonymous.outcome).toBe("failed");
    expect(anonymous.error).toContain("the registry did not let this job read");
    expect(anonymous.error).toContain("without registry_auth");
    expect(anonymous.containerId ?? null).toBeNull();

    const wrong = `not-${PASSWORD}`;
    const guessed = await runJob(executor, pinned, { username: "alice", password: wrong });
    expect(guessed.outcome).toBe("failed");
    expect(guessed.error).toContain("as alice");
    expect(guessed.error).not.toContain(wrong);

    // The copy is used as it is (warm, no pull) once the registry answers the job's own credentials.
    const again = await runJob(executor, pinned, alice);
    expect(again).toMatchObject({ outcome: "succeeded", image: { warm: true } });

    // Named by what the engine files it under but no registry knows: its id, or a prefix of it, with or without credentials.
    const { Id } = await docker.getImage(pinned).inspect();
    for (const [byId, credentials] of [[Id, undefined], [Id.slice("sha256:".length, "sha256:".length + 12), undefined], [Id, alice]] as const) {
      const result = await runJob(executor, byId, credentials);
      expect(result.outcome, byId).toBe("failed");
      expect(result.error, byId).toContain("held on this provider as a private image under another name");
    }
  });

  it("remembers across a restart: a daemon started again from the same folder refuses the copy to a job without credentials", async () => {
    const restarted = await executorWith(await PrivateImages.load(ledgerFile));
    expect((await runJob(restarted, pinned)).error).toContain("the registry did not let this job read");
    // A daemon that had forgotten (a fresh ledger) would have run it: the refusal above is the ledger's doing.
    const forgetful = await executorWith(PrivateImages.inMemory());
    expect((await runJob(forgetful, pinned)).outcome).toBe("succeeded");
  });

  it("makes no container ahead for a job whose image is a private copy here, or that brings registry_auth, and does for a public one", async () => {
    const executor = await executorWith(await PrivateImages.load(ledgerFile));
    expect(await executor.prepare(requestFor(pinned))).toBeUndefined();
    // Nor for a job that brings registry_auth: its password comes with the hub's start.
    expect(await executor.prepare(requestFor(TEST_IMAGE, { username: "alice", password: PASSWORD }))).toBeUndefined();
    const publicRequest = requestFor(TEST_IMAGE);
    const prepared = await executor.prepare(publicRequest);
    expect(prepared?.containerId).toBeTruthy();
    await executor.dispose(publicRequest.workDir, prepared?.containerId);
  });

  it("files repositories as the engine does", () => {
    expect(repositoryOf("busybox")).toBe("docker.io/library/busybox");
    expect(repositoryOf("busybox:1.36@sha256:" + "a".repeat(64))).toBe("docker.io/library/busybox");
    expect(repositoryOf("me/model:1")).toBe("docker.io/me/model");
    expect(repositoryOf("index.docker.io/me/model")).toBe("docker.io/me/model");
    expect(repositoryOf("ghcr.io/me/model:1")).toBe("ghcr.io/me/model");
    expect(repositoryOf("127.0.0.1:5055/me/model@sha256:" + "b".repeat(64))).toBe("127.0.0.1:5055/me/model");
    expect(repositoryOf("localhost/model")).toBe("localhost/model");
    expect(repositoryOf("<none>:<none>")).toBeUndefined();
  });
});
