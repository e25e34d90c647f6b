// The `pond` command end to end, as a user runs it, against a local network:
// wrangler dev settling on anvil, a staked provider on the Docker engine, and a
// local registry serving the shipped templates' image pinned by digest. Every
// answer is checked by its exit code and, with --json, by parsing what it printed.
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exitCodes } from "../../cli/exitCodes.ts";
import type { Job } from "../../protocol/job.ts";
import type { ProviderProfile } from "../../protocol/network.ts";
import type { JobQuote } from "../../protocol/quote.ts";
import type { Template } from "../../protocol/template.ts";
import { shippedTemplates } from "../../templates/shipped.ts";
import type { ChainStack } from "../helpers/chainStack.ts";
import { printedJson, startCliNetwork, type CliNetwork } from "../helpers/cliNetwork.ts";
import { docker, imageOfItsOwn } from "../helpers/docker.ts";
import { startRegistry } from "../helpers/registry.ts";
import { publishTemplates } from "../../scripts/localTemplates.ts";

let network: CliNetwork;
let stack: ChainStack;
let home: string;
let providerAddress: string;
const pond = (args: string[], env: Record<string, string> = {}) => network.pond(args, env);
const json = printedJson;

beforeAll(async () => {
  network = await startCliNetwork("cli");
  ({ stack, home, providerAddress } = network);
}, 240_000);

afterAll(async () => {
  await network?.stop();
});

describe("templates", () => {
  it("npm start's publishing says when a version published by an earlier start has another image or command, and keeps it", async () => {
    const shipped = shippedTemplates("pond-test/busybox:2").find((definition) => definition.name === "pond/echo")!;
    const published = json<Template>(await pond(["--json", "templates", "show", "pond/echo@1.0.0"]));
    const warnings: string[] = [];
    const again = (definition: typeof shipped) => publishTemplates({ api: network.stack.dev.url, stateDir: network.home, warn: (text) => warnings.push(text) }, [definition]);
    expect(await again({ ...shipped, image: published.image })).toEqual(["pond/echo@1.0.0"]);
    expect(warnings).toEqual([]);
    expect(await again({ ...shipped, image: "127.0.0.1:1/pond/busybox@sha256:" + "0".repeat(64) })).toEqual(["pond/echo@1.0.0"]);
    expect(warnings).toEqual([`pond: pond/echo@1.0.0 was published by an earlier start with another image (${published.image}); a version never changes, so its runs keep that one. Give the template a new version in templates/ to publish this checkout's, or start from an empty state (remove .pond/).`]);
    await again({ ...shipped, image: published.image, cmd: ["sh", "-c", "echo changed"] });
    expect(warnings[1]).toMatch(/^pond: pond\/echo@1\.0\.0 was published by an earlier start with another command \(\[/);
    expect(json<Template>(await pond(["--json", "templates", "show", "pond/echo@1.0.0"])).image).toBe(published.image);
  });

  it("lists the shipped templates and shows one's parameters", async () => {
    const page = json<{ results: Template[] }>(await pond(["--json", "templates", "list"]));
    expect(page.results.map((t) => t.ref)).toEqual(expect.arrayContaining(["pond/echo@1.0.0", "pond/checksum@1.0.0", "pond/countdown@1.0.0"]));
    const shown = await pond(["templates", "show", "pond/echo"]);
    expect(shown.stdout).toContain("-p message=…  string, required");
  });

  it("runs a template with typed parameters, paid from escrow, and fetches its outputs checked against the manifest", async () => {
    const out = await mkdtemp(join(tmpdir(), "pond-cli-out-"));
    try {
      const job = json<Job>(await pond(["--json", "run", "pond/echo@latest", "-p", "message=hello from the CLI", "-p", "times=2", "--output", out]));
      expect(job.status).toBe("succeeded");
      expect(job.template).toBe("pond/echo@1.0.0");
      expect(job.settlement).not.toBe("none");
      expect(job.logs).toBe("hello from the CLI\nhello from the CLI\n");
      expect(await readFile(join(out, "message.txt"), "utf8")).toBe("hello from the CLI\n");
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it("runs every shipped template the way its description says", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pond-cli-shipped-"));
    try {
      const input = join(dir, "weights.bin");
      await writeFile(input, "not really weights\n");
      // How each shipped template's description says to run it, and what it should then leave in /outputs.
      // An output's exact text, or its shape where each run differs (pond/jitter's labels).
      const howTo: Record<string, { args: string[]; described: RegExp; output: [string, string | RegExp] }> = {
        "pond/echo": { args: ["-p", "message=hi", "-p", "times=2"], described: /Prints a message, as many times as asked/, output: ["message.txt", "hi\n"] },
        "pond/checksum": { args: ["--input", input], described: /send files with --input/, output: ["sha256sums.txt", `${createHash("sha256").update("not really weights\n").digest("hex")}  ./weights.bin\n`] },
        "pond/countdown": { args: ["-p", "seconds=2"], described: /Counts down one line a second/, output: ["liftoff.txt", "liftoff\n"] },
        "pond/jitter": { args: ["-p", "flips=2"], described: /differ a little on every run/, output: ["labels.txt", /^(?:\d\n){200}$/] },
      };
      const shipped = shippedTemplates("pond-test/busybox:2");
      // A template shipped without a line here fails the test: each is tried as its users are told to.
      expect(Object.keys(howTo).sort()).toEqual(shipped.map((t) => t.name).sort());
      for (const template of shipped) {
        const { args, described, output } = howTo[template.name]!;
        expect(template.description).toMatch(described);
        const out = join(dir, template.name.replace("/", "-"));
        const job = json<Job>(await pond(["--json", "run", `${template.name}@${template.version}`, ...args, "--output", out]));
        expect(job, template.name).toMatchObject({ status: "succeeded", template: `${template.name}@${template.version}` });
        const written = await readFile(join(out, output[0]), "utf8");
        if (typeof output[1] === "string") expect(written).toBe(output[1]);
        else expect(written).toMatch(output[1]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("publishes a template from a file, and refuses the same version again", async () => {
    const file = join(home, "template.json");
    const image = (await (await fetch(`${stack.dev.url}/v1/templates/pond/echo@1.0.0`)).json() as Template).image;
    const name = `cli${Date.now().toString(36)}/hello`;
    await writeFile(file, JSON.stringify({ name, version: "0.1.0", description: "says hello", image, cmd: ["echo", "hello"], resources: { gpus: 0, cpus: 0.5, memory_mb: 64 }, timeout_s: 30, default_max_price_wei: "1000", deterministic: true }));
    expect(json<Template>(await pond(["--json", "templates", "publish", file])).ref).toBe(`${name}@0.1.0`);
    const again = await pond(["templates", "publish", file]);
    expect(again.code).toBe(exitCodes.refused);
    expect(again.stderr).toMatch(/already published and never changes/);
  });

  it("runs a template that names a secret with the run's own --secret, and says which is missing before anything runs", async () => {
    const file = join(home, "secret-template.json");
    const image = (await (await fetch(`${stack.dev.url}/v1/templates/pond/echo@1.0.0`)).json() as Template).image;
    const name = `cli${Date.now().toString(36)}/hub-fetch`;
    const cmd = ["sh", "-c", 'echo "token=$HF_TOKEN"; printf %s "$HF_TOKEN" | sha256sum'];
    await writeFile(file, JSON.stringify({ name, version: "0.1.0", description: "uses a hub token", image, cmd, secrets: ["HF_TOKEN"], resources: { gpus: 0, cpus: 0.5, memory_mb: 64 }, timeout_s: 30, default_max_price_wei: "1000000000000000", deterministic: false }));
    expect(json<Template>(await pond(["--json", "templates", "publish", file])).secrets).toEqual(["HF_TOKEN"]);
    expect((await pond(["templates", "show", `${name}@0.1.0`])).stdout).toMatch(/secrets: HF_TOKEN \(each run brings its own/);

    const missing = await pond(["run", `${name}@0.1.0`]);
    expect(missing.code).toBe(exitCodes.usage);
    expect(missing.stderr).toMatch(/needs --secret HF_TOKEN/);
    const extra = await pond(["run", `${name}@0.1.0`, "--secret", "HF_TOKEN=abcdef", "--secret", "OTHER=ghijkl"]);
    expect(extra.code).toBe(exitCodes.usage);
    expect(extra.stderr).toMatch(/takes no secret OTHER; it takes HF_TOKEN/);
    // A quote needs the names only: no value is read (HF_TOKEN is not set here).
    expect(json<JobQuote>(await pond(["--json", "run", `${name}@0.1.0`, "--secret", "HF_TOKEN", "--dry-run"])).matches_now).toBe(true);

    const secret = `hf_${createHash("sha256").update(String(Math.random())).digest("hex").slice(0, 32)}`;
    const result = await pond(["--json", "run", `${name}@0.1.0`, "--secret", "HF_TOKEN"], { HF_TOKEN: secret });
    const job = json<Job>(result);
    expect(job).toMatchObject({ status: "succeeded", template: `${name}@0.1.0`, spec: { secrets: ["HF_TOKEN"] } });
    expect(job.logs).toContain("token=***");
    expect(job.logs).toContain(createHash("sha256").update(secret).digest("hex"));
    expect(`${result.stdout}${result.stderr}`).not.toContain(secret);
  });

  it("asks for a GPU model with --gpu-model (only with --gpus, said before anything is sent)", async () => {
    const result = await pond(["run", "--image", "pond-test/busybox:2", "--gpu-model", "H100", "--", "true"]);
    expect(result.code).toBe(exitCodes.usage);
    expect(result.stderr).toMatch(/gpu_models need gpus > 0/);
    // This machine's provider has no GPU: the job waits, asking for the models given, until cancelled.
    const queued = json<Job>(await pond(["--json", "run", "--image", "pond-test/busybox:2", "--gpus", "1", "--gpu-model", "H100", "--gpu-model", "H200", "--detach", "--", "true"]));
    expect(queued.spec.resources.gpu_models).toEqual(["H100", "H200"]);
    expect((await pond(["jobs", "cancel", queued.id])).code).toBe(0);
  });

  it("says which parameter is wrong before anything runs", async () => {
    const wrong = await pond(["run", "pond/echo@1.0.0", "-p", "times=two"]);
    expect(wrong.code).toBe(exitCodes.usage);
    expect(wrong.stderr).toMatch(/-p times must be a whole number, got "two"/);
    const unknown = await pond(["run", "pond/echo@1.0.0", "-p", "colour=red"]);
    expect(unknown.code).toBe(exitCodes.usage);
    expect(unknown.stderr).toMatch(/has no parameter "colour"; it takes message, times/);
  });
  it("refuses --input files whose listing would not fit in the API's request, before anything is sent, saying to pack them", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pond-cli-many-"));
    try {
      // 8,000 names of 120 characters, each listed with its sha256: about 1.7 MB of JSON, over the API's 1 MiB.
      await mkdir(join(dir, "many"));
      for (let i = 0; i < 8000; i += 500) {
        await Promise.all(Array.from({ length: 500 }, (_, j) => writeFile(join(dir, "many", `${String(i + j).padStart(6, "0")}-${"x".repeat(113)}`), "")));
      }
      const newest = async () => json<{ results: Job[] }>(await pond(["--json", "jobs", "list", "--limit", "1"])).results[0]?.id;
      const before = await newest();
      const result = await pond(["run", "--image", "pond-test/busybox:2", "--input", join(dir, "many"), "--", "ls", "/inputs"]);
      expect(result.code, result.stderr).toBe(exitCodes.usage);
      expect(result.stderr).toMatch(/this job's request would be about \d+ bytes \(8000 --input files, each listed with its path and sha256\); the API takes at most 1048576\. Pack many small files into one archive/);
      expect(await newest()).toBe(before);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("providers", () => {
  it("shows a provider's stake, reputation and jobs as indexed", async () => {
    const profile = json<ProviderProfile>(await pond(["--json", "provider", "status", "--address", providerAddress]));
    expect(profile).toMatchObject({ address: providerAddress, registered: true, stake_wei: "1000000000000000000" });
    expect(profile.jobs.succeeded).toBeGreaterThanOrEqual(1);
    const human = await pond(["provider", "status", "--address", providerAddress]);
    expect(human.stdout).toMatch(/staked 1 ETH/);
  });
});

describe("errors and exit codes", () => {
  it("a job that fails exits 1, and --json still prints the job", async () => {
    const result = await pond(["--json", "run", "--image", "pond-test/busybox:2", "--cpus", "0.5", "--memory", "128", "--", "sh", "-c", "echo bad; exit 3"]);
    expect(result.code).toBe(exitCodes.jobUnsuccessful);
    const job = JSON.parse(result.stdout) as Job;
    expect(job).toMatchObject({ status: "failed", exit_code: 3 });
  });

  it("runs a paid job with a --secret from the environment: the container has the value, and neither its log nor the job shows it", async () => {
    const secret = `hf_${createHash("sha256").update(String(Math.random())).digest("hex").slice(0, 32)}`;
    const script = 'echo "token=$HF_TOKEN"; printf %s "$HF_TOKEN" | sha256sum';
    const result = await pond(["--json", "run", "--image", "pond-test/busybox:2", "--cpus", "0.5", "--memory", "128", "--secret", "HF_TOKEN", "--", "sh", "-c", script], { HF_TOKEN: secret });
    const job = json<Job>(result);
    expect(job).toMatchObject({ status: "succeeded", spec: { secrets: ["HF_TOKEN"] } });
    expect(job.logs).toContain("token=***");
    // The container had the very value: its hash, which the mask leaves alone, is in the log.
    expect(job.logs).toContain(createHash("sha256").update(secret).digest("hex"));
    expect(`${result.stdout}${result.stderr}`).not.toContain(secret);
    expect(JSON.stringify(json<Job>(await pond(["--json", "jobs", "get", job.id])))).not.toContain(secret);
  });

  it("runs a private image with --registry-user, the password from the environment; a run without it fails though the provider holds the image", async () => {
    const password = `reg_${createHash("sha256").update(String(Math.random())).digest("hex").slice(0, 32)}`;
    const registry = await startRegistry({ alice: password });
    const source = await imageOfItsOwn(`cli-${process.pid}`);
    const image = await registry.push(source, "alice/private", "1", { auth: { username: "alice", password }, removeLocal: true });
    await docker.getImage(source).remove();
    try {
      const args = ["--json", "run", "--image", image, "--cpus", "0.5", "--memory", "128"];
      const result = await pond([...args, "--registry-user", "alice", "--", "echo", "private-ok"], { POND_REGISTRY_PASSWORD: password });
      const job = json<Job>(result);
      expect(job, job.error ?? "").toMatchObject({ status: "succeeded", spec: { registry_auth: { username: "alice" } }, metrics: { transfer: { image: { warm: false } } } });
      expect(job.logs).toContain("private-ok");
      expect(`${result.stdout}${result.stderr}`).not.toContain(password);
      expect(JSON.stringify(json<Job>(await pond(["--json", "jobs", "get", job.id])))).not.toContain(password);

      const without = await pond([...args, "--", "echo", "should-not-run"]);
      expect(without.code).toBe(exitCodes.jobUnsuccessful);
      const refused = JSON.parse(without.stdout) as Job;
      expect(refused.status).toBe("failed");
      expect(refused.error).toContain(`the registry did not let this job read ${image} (asked without registry_auth)`);
      expect(refused.logs ?? "").not.toContain("should-not-run");
    } finally {
      await docker.getImage(image).remove({ force: true }).catch(() => undefined);
      await registry.stop();
    }
  });

  it("quotes a run with --dry-run (an image or a template) from the providers online, creating nothing", async () => {
    const before = json<{ results: Job[] }>(await pond(["--json", "jobs", "list", "--limit", "100"])).results.length;
    const human = await pond(["run", "--image", "pond-test/busybox:2", "--cpus", "0.5", "--memory", "128", "--dry-run", "--", "echo", "hi"]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/nothing created/);
    expect(human.stdout).toMatch(/providers online 1; able to run it 1; with room now 1; within your price 1/);
    expect(human.stdout).toMatch(/would be offered at once/);
    const tooCheap = json<JobQuote>(await pond(["--json", "run", "--image", "pond-test/busybox:2", "--cpus", "0.5", "--memory", "128", "--max-price", "1", "--dry-run", "--", "true"]));
    expect(tooCheap).toMatchObject({ providers_fit: 1, providers_within_price: 0, matches_now: false });
    expect(json<JobQuote>(await pond(["--json", "run", "pond/echo@1.0.0", "-p", "message=hi", "--dry-run"])).matches_now).toBe(true);
    const missingInput = await pond(["run", "--image", "pond-test/busybox:2", "--input", join(home, "no-such-file.bin"), "--dry-run", "--", "true"]);
    expect(missingInput.code).toBe(exitCodes.usage);
    expect(missingInput.stderr).toMatch(/no-such-file\.bin: no such file or folder/);
    // A template fixes its resources: a flag that would be ignored is refused, naming it.
    const overridden = await pond(["run", "pond/echo@1.0.0", "-p", "message=hi", "--cpus", "2", "--env", "A=b", "--dry-run"]);
    expect(overridden.code).toBe(exitCodes.usage);
    expect(overridden.stderr).toMatch(/drop --cpus, --env, or run its image with --image/);
    expect(json<{ results: Job[] }>(await pond(["--json", "jobs", "list", "--limit", "100"])).results).toHaveLength(before);
  });

  it("says what a run cost: the provider's claim, in ETH, and where its settlement stands", async () => {
    const result = await pond(["run", "--image", "pond-test/busybox:2", "--cpus", "0.5", "--memory", "128", "--", "echo", "hi"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ {2}cost \d+(\.\d+)? ETH \(the provider's claim; settlement \w+\)$/m);
  });

  it("waits for detached jobs together (a sweep), printing each as it ends, and exits 1 when one did not succeed", async () => {
    const detach = async (script: string) => json<Job>(await pond(["--json", "run", "--image", "pond-test/busybox:2", "--cpus", "0.5", "--memory", "128", "--detach", "--", "sh", "-c", script])).id;
    const ids = [await detach("echo lr=0.1"), await detach("echo lr=1; exit 3"), await detach("sleep 1; echo lr=0.01")];
    const waited = await pond(["jobs", "wait", ...ids]);
    expect(waited.code).toBe(exitCodes.jobUnsuccessful);
    expect(waited.stdout).toMatch(/^2 of 3 succeeded, 1 did not$/m);
    for (const id of ids) expect(waited.stderr).toContain(id);
    expect(waited.stderr).toMatch(new RegExp(`${ids[1]} failed \\(exit 3\\)`));
    const again = json<Job[]>(await pond(["--json", "jobs", "wait", ids[0]!, ids[2]!]));
    expect(again.map((job) => [job.id, job.status])).toEqual([[ids[0], "succeeded"], [ids[2], "succeeded"]]);
    expect((await pond(["jobs", "wait", ids[0]!, "job_doesnotexist"])).code).toBe(exitCodes.notFound);
    expect((await pond(["jobs", "wait", ids[0]!, "--timeout", "0"])).code).toBe(exitCodes.usage);
  });

  it("an unknown job exits 4 with the API's problem as JSON on stderr", async () => {
    const result = await pond(["--json", "jobs", "get", "job_doesnotexist"]);
    expect(result.code).toBe(exitCodes.notFound);
    expect(result.stdout).toBe("");
    const error = JSON.parse(result.stderr) as { error: { exit_code: number; problem: { status: number } } };
    expect(error.error).toMatchObject({ exit_code: exitCodes.notFound, problem: { status: 404 } });
  });

  it("a revoked key exits 3 and says so", async () => {
    const keys = json<Array<{ id: string }>>(await pond(["--json", "keys", "list"]));
    expect(keys).toHaveLength(1);
    try {
      // The config still holds the key it just revoked.
      expect((await pond(["keys", "revoke", keys[0]!.id])).code).toBe(0);
      const refused = await pond(["jobs", "list"]);
      expect(refused.code).toBe(exitCodes.unauthorized);
      expect(refused.stderr).toMatch(/unknown or revoked/);
    } finally {
      expect((await pond(["login"])).code).toBe(0);
    }
  });

  it("a missing Docker engine exits 7 from pond provider doctor, saying what to do", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "pond-cli-provider-"));
    try {
      const result = await pond(["provider", "doctor", "--data-dir", dataDir], { DOCKER_HOST: `unix://${join(dataDir, "no-docker.sock")}` });
      expect(result.code).toBe(exitCodes.environment);
      expect(result.stderr).toMatch(/the Docker engine cannot be reached: install Docker/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("an unreachable API exits 6", async () => {
    const result = await pond(["--api", "http://127.0.0.1:1", "templates", "list"]);
    expect(result.code).toBe(exitCodes.unreachable);
    expect(result.stderr).toMatch(/cannot reach the API/);
  });
});
