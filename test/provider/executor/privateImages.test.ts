// Private images against a real Docker engine and real registries (distribution; one asking for a password with
// htpasswd, one open to all): the executor pulls with the job's registry credentials, and its copy then serves only
// jobs its registry lets read it, whether they name it by repository, by image id or its prefix, or by another
// registry's manifest naming the same image id; across a restart, and never through a container made ahead.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DockerExecutor, type RunRequest, type RunResult } from "../../../provider/executor/docker.ts";
import { PrivateImages, repositoryOf } from "../../../provider/executor/privateImages.ts";
import { registryHostPolicy } from "../../../provider/executor/registryHost.ts";
import { docker, imageOfItsOwn, TEST_IMAGE } from "../../helpers/docker.ts";
import { eventually } from "../../helpers/eventually.ts";
import { startRegistry, type LocalRegistry } from "../../helpers/registry.ts";
import { useTempDir } from "../../helpers/tempDir.ts";

const tempDir = useTempDir("private-images");
const PASSWORD = `registry-token-${process.pid}`;
const provider = `0xprivate${process.pid}`;
const log = pino({ level: "silent" });
const hooks = { onPhase: () => undefined, onLog: () => undefined };
const ran: Array<{ executor: DockerExecutor; workDir: string; result: RunResult }> = [];

let registry: LocalRegistry;
/** A registry anyone may read: where another creator's manifest names the private image's id. */
let openRegistry: LocalRegistry;
/** The private image, pinned by digest in the registry; no copy of it in the engine at the start. */
let pinned: string;
/** The same image (the same id) in the open registry. */
let elsewhere: string;
/** The daemon's folder, kept from test to test as a provider's is from run to run. */
let dataDir: string;
let ledgerFile: string;
const alice = { username: "alice", password: PASSWORD };

beforeAll(async () => {
  [registry, openRegistry] = await Promise.all([startRegistry({ alice: PASSWORD }), startRegistry()]);
  const source = await imageOfItsOwn(`private-${process.pid}`);
  pinned = await registry.push(source, "alice/trainer", "1", { auth: alice });
  elsewhere = await openRegistry.push(source, "mallory/copy", "1");
  // Every local name goes, so the image goes with the last: the first job must pull it.
  for (const name of [`${registry.host}/alice/trainer:1`, `${openRegistry.host}/mallory/copy:1`, source]) await docker.getImage(name).remove();
  await expect(docker.getImage(pinned).inspect()).rejects.toThrow();
  dataDir = await mkdtemp(join(tmpdir(), "pond-private-ledger-"));
  ledgerFile = join(dataDir, "private-images.json");
}, 60_000);

afterEach(async () => {
  for (const { executor, workDir, result } of ran.splice(0)) await executor.dispose(workDir, result.containerId);
});

afterAll(async () => {
  // By id: removing one of its names would leave the image under the others (the open registry's).
  const id = (await docker.getImage(pinned).inspect().catch(() => undefined))?.Id;
  if (id) await docker.getImage(id).remove({ force: true });
  await Promise.all([registry?.stop(), openRegistry?.stop()]);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function executorWith(ledger: PrivateImages): Promise<DockerExecutor> {
  // The registries are on loopback, which a provider pulls from only when told.
  return new DockerExecutor(docker, log, { pullPolicy: "missing", privateImages: ledger, registryHosts: registryHostPolicy(["127.0.0.1"]), provider, maxOutputBytes: 1024 * 1024, outputVolume: "folder" });
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

const savedLedger = async () => JSON.parse(await readFile(ledgerFile, "utf8")) as { pending: string[]; owned: Record<string, string[]> };
const refused = (image: string, asked = "without registry_auth") => `the registry did not let this job read ${image} (asked ${asked})`;

describe("private images", () => {
  it("fails a pull with a wrong password saying so, never quoting it, and keeps nothing in the ledger for it", async () => {
    const executor = await executorWith(await PrivateImages.load(ledgerFile, docker));
    const wrong = `wrong-${PASSWORD}`;
    const result = await runJob(executor, pinned, { username: "alice", password: wrong });
    expect(result.outcome).toBe("failed");
    expect(result.error).toContain(`could not get image ${pinned}`);
    expect(result.error).not.toContain(wrong);
    expect(result.containerId ?? null).toBeNull();
    expect(await savedLedger()).toEqual({ pending: [], owned: {} });
  });

  it("has the repository marked on disk before the pull moves a byte (a daemon killed mid-pull still knows), and keeps it while another pull of it is under way", async () => {
    const ledger = await PrivateImages.load(ledgerFile, docker);
    const repository = repositoryOf(pinned)!;
    let release!: () => void;
    const slow = ledger.pullingWithCredentials(docker, pinned, async () => {
      expect((await savedLedger()).pending).toEqual([repository]);
      await new Promise<void>((resolve) => (release = resolve));
    });
    await expect(ledger.pullingWithCredentials(docker, pinned, async () => Promise.reject(new Error("denied")))).rejects.toThrow("denied");
    // The other pull may still bring the image: the mark stays.
    await eventually(async () => release !== undefined, { what: "the slow pull under way" });
    expect((await savedLedger()).pending).toEqual([repository]);
    release();
    await slow;
    expect(await savedLedger()).toEqual({ pending: [], owned: {} });
  });

  it("pulls the image as the job's registry user, then lets its copy serve a job only once its registry lets that job read it, however the job names it", async () => {
    const executor = await executorWith(await PrivateImages.load(ledgerFile, docker));
    const first = await runJob(executor, pinned, alice);
    expect(first).toMatchObject({ outcome: "succeeded", image: { warm: false } });
    const { Id } = await docker.getImage(pinned).inspect();
    expect((await savedLedger()).owned[Id]).toEqual([pinned]);

    const anonymous = await runJob(executor, pinned);
    expect(anonymous).toMatchObject({ outcome: "failed", error: `could not get image ${pinned}: ${refused(pinned)}` });
    expect(anonymous.containerId ?? null).toBeNull();

    const wrong = `not-${PASSWORD}`;
    const guessed = await runJob(executor, pinned, { username: "alice", password: wrong });
    expect(guessed.error).toContain(refused(pinned, "as alice"));
    expect(guessed.error).not.toContain(wrong);

    // The copy is used as it is (warm, no pull) once the registry answers the job's own credentials.
    expect(await runJob(executor, pinned, alice)).toMatchObject({ outcome: "succeeded", image: { warm: true } });

    // Its image id, or a prefix of it: refused without credentials, run with alice's (her registry answers for the copy).
    for (const byId of [Id, Id.slice("sha256:".length, "sha256:".length + 12)]) {
      expect((await runJob(executor, byId)).error, byId).toContain(refused(byId));
      expect((await runJob(executor, byId, alice)).outcome, byId).toBe("succeeded");
    }

    // Another registry's manifest naming the same id: the engine files the copy under that name without a download.
    const landed = await runJob(executor, elsewhere);
    expect(landed).toMatchObject({ outcome: "failed", error: `could not get image ${elsewhere}: ${refused(elsewhere)}` });
    expect((await docker.getImage(elsewhere).inspect()).Id).toBe(Id);
    // Named so from now on, the copy still answers to its own registry only.
    expect((await runJob(executor, elsewhere)).error).toContain(refused(elsewhere));
  });

  it("remembers across a restart: a daemon started again from the same folder refuses the copy to a job without credentials", async () => {
    const restarted = await executorWith(await PrivateImages.load(ledgerFile, docker));
    expect((await runJob(restarted, pinned)).error).toContain(refused(pinned));
    // A daemon that had forgotten (a fresh ledger) would have run it: the refusal above is the ledger's doing.
    const forgetful = await executorWith(PrivateImages.inMemory());
    expect((await runJob(forgetful, pinned)).outcome).toBe("succeeded");
  });

  it("after a kill -9 mid-pull, owns what it finds filed under the repository it was pulling; refuses to start on a ledger it cannot read", async () => {
    const { Id } = await docker.getImage(pinned).inspect();
    await writeFile(ledgerFile, JSON.stringify({ pending: [repositoryOf(pinned)], owned: {} }));
    const ledger = await PrivateImages.load(ledgerFile, docker);
    expect(ledger.isPrivate({ id: Id, names: [] })).toBe(true);
    expect((await savedLedger()).pending).toEqual([]);
    await writeFile(ledgerFile, "{not json");
    await expect(PrivateImages.load(ledgerFile, docker)).rejects.toThrow(/private-images\.json is not the ledger of private images this daemon writes .*remove those images from Docker/);
    await writeFile(ledgerFile, JSON.stringify({ pending: [], owned: { [Id]: [pinned] } }));
  });

  it("makes no container ahead for a job whose image is a private copy here, or that brings registry_auth, and does for a public one", async () => {
    const executor = await executorWith(await PrivateImages.load(ledgerFile, docker));
    expect(await executor.prepare(requestFor(pinned))).toBeUndefined();
    // Nor for a job that brings registry_auth: its password comes with the hub's start.
    expect(await executor.prepare(requestFor(TEST_IMAGE, alice))).toBeUndefined();
    const publicRequest = requestFor(TEST_IMAGE);
    const prepared = await executor.prepare(publicRequest);
    expect(prepared?.containerId).toBeTruthy();
    await executor.dispose(publicRequest.workDir, prepared?.containerId);
  });

  it("files repositories as the engine does", () => {
    expect(repositoryOf("busybox")).toBe("docker.io/library/busybox");
    expect(repositoryOf("busybox:1.36@sha256:" + "a".repeat(64))).toBe("docker.io/library/busybox");
    expect(repositoryOf("docker.io/busybox")).toBe("docker.io/library/busybox");
    expect(repositoryOf("index.docker.io/me/model")).toBe("docker.io/me/model");
    expect(repositoryOf("me/model:1")).toBe("docker.io/me/model");
    expect(repositoryOf("ghcr.io/me/model:1")).toBe("ghcr.io/me/model");
    expect(repositoryOf("127.0.0.1:5055/me/model@sha256:" + "b".repeat(64))).toBe("127.0.0.1:5055/me/model");
    expect(repositoryOf("localhost/model")).toBe("localhost/model");
    expect(repositoryOf("<none>:<none>")).toBeUndefined();
  });
});
