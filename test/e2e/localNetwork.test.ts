// `npm start` as a user meets it: the command npm start runs (after the bootstrap
// `npm test` has already done) comes up on its own ports and state folder, the
// demo it prints is typed into a shell through the `pond` CLI, and Ctrl-C
// (SIGINT to its process group, as a terminal sends it) stops everything it
// started. Linux only: what it started is read from /proc.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { root } from "../../scripts/importGraph.ts";
import { containersOfJob } from "../helpers/docker.ts";
import { eventually } from "../helpers/eventually.ts";
import { freePort } from "../helpers/freePort.ts";
import { spawnProcess } from "../helpers/processes.ts";
import { listeningPorts, portsInUse, processTree, survivors, type ProcessInfo } from "../helpers/processTree.ts";

// As npm runs scripts: the project's node_modules/.bin first, so `node` is the Node 22 it installed.
const PATH = `${join(root, "node_modules", ".bin")}${delimiter}${process.env.PATH}`;
// package.json "start" is `bash scripts/bootstrap.sh && <this>`; the bootstrap is not rerun
// here: a test must not reinstall the packages it is itself running from.
const START = ["node", "--import", "tsx", "scripts/local.ts"];

/** Runs one line in bash, as a user pastes it into a terminal. */
function shell(line: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", line], { cwd: root, env: { ...process.env, ...env, PATH }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (data: Buffer) => (stdout += data.toString()));
    child.stderr.on("data", (data: Buffer) => (stderr += data.toString()));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The demo commands the banner prints, in order. */
function demoCommands(output: string): string[] {
  const banner = output.slice(output.indexOf("Pond is running locally."));
  return banner
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.startsWith("npm run pond -- "));
}

/** Lazily unmounts whatever is mounted beneath `dir`, deepest first, so the folder can be removed. */
async function unmountBeneath(dir: string): Promise<void> {
  const mounts = (await readFile("/proc/self/mounts", "utf8")).split("\n").map((line) => line.split(" ")[1] ?? "").filter((point) => point.startsWith(`${dir}/`));
  for (const point of mounts.sort().reverse()) await new Promise((resolve) => spawn("umount", ["--lazy", point]).once("exit", resolve).once("error", resolve));
}

describe("npm start", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it("comes up, runs its printed demo through the CLI, and stops on Ctrl-C leaving no process or port behind", { timeout: 900_000 }, async () => {
    const [stateDir, cliHome] = await Promise.all([mkdtemp(join(tmpdir(), "pond-local-state-")), mkdtemp(join(tmpdir(), "pond-local-cli-"))]);
    // A provider killed mid-test (the test failed before its Ctrl-C) leaves its spare job folder's volume mounted.
    cleanups.push(
      async () => {
        await unmountBeneath(stateDir);
        await rm(stateDir, { recursive: true, force: true });
      },
      () => rm(cliHome, { recursive: true, force: true }),
    );
    const [port, chainPort, registryPort] = [await freePort(), await freePort(), await freePort()];
    const api = `http://127.0.0.1:${port}`;

    const network = spawnProcess(START[0]!, START.slice(1), {
      cwd: root,
      env: { PATH, POND_STATE_DIR: stateDir, POND_PORT: String(port), POND_CHAIN_PORT: String(chainPort), POND_REGISTRY_PORT: String(registryPort) },
      name: "npm start",
    });
    const exited = new Promise<number | null>((resolve) => network.child.once("exit", (code) => resolve(code)));
    const seen = new Map<string, ProcessInfo>();
    const remember = () => {
      for (const info of processTree(network.child.pid!)) seen.set(`${info.pid}/${info.startTime}`, info);
    };
    // If anything below fails, nothing it started may outlive the test.
    cleanups.push(async () => {
      for (const info of survivors([...seen.values()])) {
        try {
          process.kill(info.pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      }
    });

    // Slow on a shared machine: anvil, a contract deployment, migrations, workerd, a provider.
    await network.waitFor(/Pond is running locally\./, 600_000);
    expect((await fetch(`${api}/healthz`)).ok).toBe(true);
    remember();

    // The demo, exactly as printed; the CLI keeps its key and wallet in its own home.
    // The ML templates' lines are in the banner only when their image was already built (a later line says
    // when a first build is done): those are run below when printed, and the banner says one or the other.
    const printed = demoCommands(network.output());
    const commands = printed.filter((line) => !line.includes("pond/digits-"));
    const mlCommands = printed.filter((line) => line.includes("pond/digits-"));
    expect(commands.map((line) => line.split(" ")[4])).toEqual(["login", "faucet", "deposit", "templates", "run", "run", "run"]);
    if (mlCommands.length === 0) expect(network.output()).toMatch(/their image is still being built|the ML templates \(pond\/digits-train, -eval, -predict\) are missing/);
    else expect(mlCommands.map((line) => /pond\/digits-\w+/.exec(line)![0])).toEqual(["pond/digits-train", "pond/digits-eval", "pond/digits-predict", "pond/digits-train"]);
    const env = { POND_HOME: cliHome };
    const results = [];
    for (const line of [...commands, ...mlCommands]) {
      const result = await shell(line, env);
      expect(result.code, `${line}\n${result.stdout}\n${result.stderr}`).toBe(0);
      results.push(result);
      remember();
    }
    const [login, faucet, deposit, templates, echo, countdown, run, train, evaluate, predict, sweep] = results;
    if (mlCommands.length > 0) {
      const trained = JSON.parse(await readFile(join(stateDir, "digits", "metrics.json"), "utf8")) as { accuracy: number };
      const evaluated = JSON.parse(await readFile(join(stateDir, "digits", "eval", "metrics.json"), "utf8")) as { accuracy: number };
      expect(train!.stdout).toMatch(/job \S+ succeeded/);
      expect(evaluate!.stdout).toMatch(/job \S+ succeeded/);
      expect(evaluated.accuracy).toBe(trained.accuracy);
      expect(predict!.stdout).toMatch(/job \S+ succeeded/);
      // The sweep: a job per learning rate, all succeeded, the best named.
      expect(sweep!.stdout).toMatch(/^sweep swp_[0-9a-f]{10}: 3 of 3 succeeded$/m);
      expect(sweep!.stdout).toMatch(/^best by accuracy \(highest\): job_\w+ \(lr=0\.0?0?1\): accuracy 0\.\d+$/m);
    }
    expect(login!.stdout).toContain(`logged in to ${api} as 0x`);
    expect(faucet!.stdout).toMatch(/now holds 100 ETH/);
    expect(deposit!.stdout).toMatch(/^deposited 1 ETH \(0x[0-9a-f]{64}\)/m);
    expect(templates!.stdout).toMatch(/pond\/echo@1\.0\.0/);
    expect(echo!.stdout).toContain("hello from Pond\nhello from Pond\nhello from Pond\n");
    expect(await readFile(join(stateDir, "outputs", "message.txt"), "utf8")).toBe("hello from Pond\n");
    expect(countdown!.stdout).toMatch(/5\n4\n3\n2\n1\nliftoff/);
    expect(run!.stdout).toContain("hello from Pond");
    expect(run!.stdout).toMatch(/job \S+ succeeded/);
    expect(run!.stdout).toMatch(/output hello\.txt \(\d+ bytes, sha256 [0-9a-f]{64}\)/);
    const jobId = /job (\S+) queued/.exec(run!.stderr)![1]!;

    const processes = [...seen.values()];
    const ports = listeningPorts(processes.map((p) => p.pid));
    expect(ports).toEqual(expect.arrayContaining([port, chainPort, registryPort]));
    // The Worker (wrangler and workerd), the chain, and the provider daemon were all among them.
    for (const part of [/wrangler/, /workerd/, /anvil/, /provider\/main\.ts/, /docker-registry/]) expect(processes.some((p) => part.test(p.command)), String(part)).toBe(true);

    // Ctrl-C: the terminal signals the foreground process group.
    process.kill(-network.child.pid!, "SIGINT");
    expect(await exited).toBe(0);
    expect(network.output()).not.toMatch(/could not start/);

    await eventually(async () => survivors(processes).length === 0, { timeoutMs: 30_000, what: "every process npm start began to exit" }).catch(() => undefined);
    // Program and script only: the rest of a command line may carry local secrets.
    expect(survivors(processes).map((p) => `${p.pid} ${p.command.split(" ").slice(0, 3).join(" ")}`)).toEqual([]);
    expect(portsInUse(ports)).toEqual([]);
    expect(await containersOfJob(jobId)).toEqual([]);
  });
});
