// An egress job's network against the real Docker engine, real nsenter and a
// real forwarder process: the container has loopback only, its proxy port
// reaches the daemon (each connection handed over, or after a daemon restart
// relayed to a unix socket outside it), and nothing else goes anywhere. A plain
// server stands in for the daemon's proxy (provider/egress/proxy.ts is tested
// on its own). No packet can leave this machine: the job has no
// interface but loopback, which is what is asserted.
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EGRESS_ENV, EGRESS_PROXY_PORT, HOLDER_ROLE, isStaticElf, openJobNetwork, probeEgressSupport, ROLE_LABEL } from "../../../provider/egress/jobNetwork.ts";
import { DockerExecutor, type RunResult } from "../../../provider/executor/docker.ts";
import { containerOptions } from "../../../provider/executor/sandbox.ts";
import { containersOfJob, docker, removeContainersOf, TEST_IMAGE } from "../../helpers/docker.ts";
import { eventually } from "../../helpers/eventually.ts";
import { useTempDir } from "../../helpers/tempDir.ts";
import { processAlive } from "../../helpers/processTree.ts";
import { PrivateImages } from "../../../provider/executor/privateImages.ts";

const support = await probeEgressSupport();
if (!support.ok) console.warn(`SKIPPED: the job network tests need what a provider offering egress needs: ${support.reason}`);
const unsupported = !support.ok;

const tempDir = useTempDir("egress-net");
const provider = `0xegressnet${process.pid}`;
const log = pino({ level: "silent" });
const executor = new DockerExecutor(docker, log, { pullPolicy: "never", privateImages: PrivateImages.inMemory(), provider, maxOutputBytes: 8 * 1024 * 1024 });
const JOB_NETWORK_MODULE = fileURLToPath(new URL("../../../provider/egress/jobNetwork.ts", import.meta.url));
/** A package of this checkout, for a script written outside it. */
const moduleUrl = (name: string) => JSON.stringify(pathToFileURL(createRequire(import.meta.url).resolve(name)).href);
const started: Array<{ workDir: string; result: RunResult }> = [];
const proxies: StandInProxy[] = [];
const strayPids: number[] = [];

interface StandInProxy {
  seen: string[];
  /** How each request came: handed over by the forwarder, or relayed by it to the unix socket. */
  via: Array<"handed over" | "relayed">;
  adopt(socket: Socket): void;
  close(): Promise<void>;
}

/** The daemon's proxy, as far as the job's side can tell: it reads one request and answers with its name. */
async function standInProxy(path: string, name: string): Promise<StandInProxy> {
  const seen: string[] = [];
  const via: StandInProxy["via"] = [];
  const adopted = new WeakSet<Socket>();
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    let request = "";
    socket.on("data", (chunk) => {
      if (request.includes("\r\n\r\n")) return;
      request += chunk.toString("latin1");
      if (!request.includes("\r\n\r\n")) return;
      seen.push(request);
      via.push(adopted.has(socket) ? "handed over" : "relayed");
      const body = `answer from ${name}\n`;
      socket.end(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, resolve);
  });
  return {
    seen,
    via,
    adopt: (socket) => {
      adopted.add(socket);
      server.emit("connection", socket);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A stand-in closed after the test. */
async function proxyFor(path: string, name: string): Promise<StandInProxy> {
  const proxy = await standInProxy(path, name);
  proxies.push(proxy);
  return proxy;
}

const spec = (script: string, env?: Record<string, string>) => ({
  image: TEST_IMAGE,
  cmd: ["sh", "-c", script],
  resources: { gpus: 0, cpus: 0.5, memory_mb: 64 },
  timeout_s: 60,
  max_price_wei: "1",
  ...(env ? { env } : {}),
});

/** The job's egress as the executor wants it, served by a stand-in proxy. */
const egressTo = (proxy: StandInProxy, proxySocketPath: string) => ({ proxySocketPath, adopt: (socket: Socket) => proxy.adopt(socket) });

async function runJob(jobId: string, script: string, options: { egress?: { proxySocketPath: string; adopt(socket: Socket): void }; env?: Record<string, string> } = {}) {
  const workDir = join(tempDir(), jobId);
  const logs: string[] = [];
  const result = await executor.run(
    { jobId, spec: spec(script, options.env), gpuUuids: [], workDir, ...(options.egress ? { egress: options.egress } : {}) },
    { onPhase: () => undefined, onLog: (chunk) => void logs.push(chunk) },
    new AbortController().signal,
  );
  started.push({ workDir, result });
  return { result, output: logs.join(""), workDir };
}

const alive = processAlive;

/** The forwarder serving a holder, found as an operator would: by its command line. */
async function forwarderOf(holderPid: number): Promise<number | undefined> {
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const args = (await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "")).split("\0");
    if (args.some((arg) => arg.endsWith("egress/forwarder.ts")) && args.at(-2) === String(holderPid)) return Number(entry);
  }
  return undefined;
}

const processGroupOf = async (pid: number) => Number((await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]!.split(" ")[2]);

/** Runs a command in a throwaway container joined to a holder's namespace; its exit code and output. */
async function inNamespaceOf(holderId: string, script: string): Promise<{ code: number; output: string }> {
  const container = await docker.createContainer({
    Image: TEST_IMAGE,
    Cmd: ["sh", "-c", script],
    Tty: true,
    Env: [`http_proxy=${EGRESS_ENV.http_proxy}`],
    Labels: { "dev.pond.job": "job_joined", "dev.pond.provider": provider },
    HostConfig: { NetworkMode: `container:${holderId}`, CapDrop: ["ALL"] },
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const output = (await container.logs({ stdout: true, stderr: true })).toString();
    return { code: StatusCode, output };
  } finally {
    await container.remove({ force: true });
  }
}

afterEach(async () => {
  for (const { workDir, result } of started.splice(0)) await executor.dispose(workDir, result.containerId);
  for (const pid of strayPids.splice(0)) if (alive(pid)) process.kill(pid, "SIGKILL");
  await removeContainersOf(provider);
  for (const proxy of proxies.splice(0)) await proxy.close();
});

describe("a job container's network options", () => {
  const input = { jobId: "job_1", provider, spec: spec("true", { HTTP_PROXY: "http://job.test:1", KEPT: "yes" }), gpuUuids: [], inputsDir: "/in", outputsDir: "/out" };

  it("without egress: no network at all, and the job's environment as it gave it", () => {
    const options = containerOptions(input);
    expect(options.HostConfig?.NetworkMode).toBe("none");
    expect(options.NetworkDisabled).toBe(true);
    expect(options.Env).toEqual(["HTTP_PROXY=http://job.test:1", "KEPT=yes", "NVIDIA_VISIBLE_DEVICES=void"]);
  });

  it("with egress: the holder's namespace, and Pond's proxy variables in place of the job's", () => {
    const options = containerOptions({ ...input, network: { mode: "container:abc", env: EGRESS_ENV } });
    expect(options.HostConfig?.NetworkMode).toBe("container:abc");
    // Docker would give a container with networking disabled a namespace of its own instead of the holder's.
    expect(options.NetworkDisabled).toBe(false);
    expect(options.Env).toEqual(["KEPT=yes", ...Object.entries(EGRESS_ENV).map(([key, value]) => `${key}=${value}`), "NVIDIA_VISIBLE_DEVICES=void"]);
  });

  it("takes only a statically linked program for the holder: it runs in the job's image, whatever libc that has", async () => {
    // Node itself is linked dynamically (it has a program interpreter); this file is no program at all.
    expect(await isStaticElf(process.execPath)).toBe(false);
    expect(await isStaticElf(fileURLToPath(import.meta.url))).toBe(false);
    if (support.ok) expect(await isStaticElf("/bin/busybox").catch(() => isStaticElf("/usr/bin/busybox"))).toBe(true);
  });
});

// stderr into stdout: one stream, so a probe's message comes before its exit code.
const PROBES = [
  'echo "interfaces=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | tr "\\n" ,)"',
  'env | grep -i "_proxy=" | sort | sed "s/^/env:/"',
  'wget -q -O - http://model-hub.test/weights.bin 2>&1; echo "wget=$?"',
  'nc -w 2 1.1.1.1 80 </dev/null 2>&1; echo "tcp public=$?"',
  'nc -w 2 10.203.0.1 80 </dev/null 2>&1; echo "tcp private=$?"',
  `nc -w 2 127.0.0.1 ${EGRESS_PROXY_PORT + 1} </dev/null 2>&1; echo "tcp other loopback port=$?"`,
  'tftp -g -r x 10.203.0.1 69 2>&1; echo "udp=$?"',
  'nslookup example.com 8.8.8.8 2>&1; echo "dns=$?"',
  'ping -c 1 -W 1 1.1.1.1 2>&1; echo "raw=$?"',
].join("; ");

describe.skipIf(unsupported)("a job with egress", () => {
  // Its own provider, so the other tests' cleanup leaves this job alone.
  const probesProvider = `${provider}probes`;
  const jobId = "job_egress_probes";
  let dir = "";
  let output = "";
  let result: RunResult;
  let proxy: StandInProxy | undefined;

  // One job runs every probe (each job costs a holder, a forwarder and a container); the tests read its output.
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "pond-egress-net-"));
    proxy = await standInProxy(join(dir, "proxy.sock"), "the stand-in proxy");
    const workDir = join(dir, jobId);
    const logs: string[] = [];
    // The job's own values for Pond's proxy variables: they must not win.
    const env = { HTTP_PROXY: "http://attacker.test:1", http_proxy: "http://attacker.test:1", NO_PROXY: "*", no_proxy: "*", KEPT: "yes" };
    const probesExecutor = new DockerExecutor(docker, log, { pullPolicy: "never", privateImages: PrivateImages.inMemory(), provider: probesProvider, maxOutputBytes: 8 * 1024 * 1024 });
    result = await probesExecutor.run(
      { jobId, spec: spec(`${PROBES}; echo "kept=$KEPT"`, env), gpuUuids: [], workDir, egress: egressTo(proxy, join(dir, "proxy.sock")) },
      { onPhase: () => undefined, onLog: (chunk) => void logs.push(chunk) },
      new AbortController().signal,
    );
    output = logs.join("");
  }, 180_000);

  afterAll(async () => {
    await removeContainersOf(probesProvider);
    await proxy?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("has loopback as its only interface, and shares it with a holder made for it", async () => {
    expect(result.error).toBeNull();
    expect(output).toContain("interfaces=lo,\n");
    const container = await docker.getContainer(result.containerId!).inspect();
    const holderId = container.HostConfig.NetworkMode!.replace(/^container:/, "");
    const holder = await docker.getContainer(holderId).inspect();
    expect(holder.Config.Labels).toMatchObject({ "dev.pond.job": jobId, "dev.pond.provider": probesProvider, [ROLE_LABEL]: HOLDER_ROLE });
    expect(holder.HostConfig).toMatchObject({ NetworkMode: "none", ReadonlyRootfs: true, CapDrop: ["ALL"], SecurityOpt: ["no-new-privileges:true"] });
    expect(holder.State.Running).toBe(true);
  });

  it("reaches the daemon's proxy through 127.0.0.1:3128, which answers it: the connection itself handed over, no relay between", () => {
    expect(output).toContain("answer from the stand-in proxy\nwget=0");
    expect(proxy!.seen).toHaveLength(1);
    expect(proxy!.seen[0]).toMatch(/^GET http:\/\/model-hub\.test\/weights\.bin HTTP\/1\.[01]\r\n/);
    expect(proxy!.via).toEqual(["handed over"]);
  });

  it("has the proxy in its environment, over the job's own values for it", () => {
    const proxyEnv = output.split("\n").filter((line) => line.startsWith("env:")).map((line) => line.slice(4));
    expect(proxyEnv.sort()).toEqual(Object.entries(EGRESS_ENV).map(([key, value]) => `${key}=${value}`).sort());
    expect(output).toContain("kept=yes");
  });

  it("gets nowhere with raw TCP, UDP, DNS or raw sockets: there is no route", () => {
    expect(output).toMatch(/can't connect to remote host \(1\.1\.1\.1\): Network is unreachable\ntcp public=1/);
    expect(output).toMatch(/can't connect to remote host \(10\.203\.0\.1\): Network is unreachable\ntcp private=1/);
    expect(output).toMatch(/Connection refused\ntcp other loopback port=1/);
    expect(output).toMatch(/sendto: Network is unreachable\nudp=1/);
    expect(output).toMatch(/can't connect to remote host \(8\.8\.8\.8\): Network is unreachable\ndns=1/);
    expect(output).toMatch(/(permission denied|Network is unreachable)[^\n]*\nraw=1/);
  });
});

describe("a job without egress", () => {
  it("has no network as before: NetworkMode none, no holder, no proxy in its environment", async () => {
    const { result, output } = await runJob("job_no_egress", 'echo "interfaces=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | tr "\\n" ,)"; env | grep -ic _proxy=; true');
    expect(result.error).toBeNull();
    expect(output).toContain("interfaces=lo,\n0\n");
    const container = await docker.getContainer(result.containerId!).inspect();
    expect(container.HostConfig.NetworkMode).toBe("none");
    expect(container.Config.Env.filter((entry) => /_proxy=/i.test(entry))).toEqual([]);
    expect((await containersOfJob("job_no_egress")).map((info) => info.Id)).toEqual([result.containerId]);
  });
});

describe.skipIf(unsupported)("a job network's end", () => {
  it("goes with the job's container: dispose removes the holder, and the forwarder exits", async () => {
    const proxy = await proxyFor(join(tempDir(), "proxy.sock"), "proxy");
    const { result, workDir } = await runJob("job_disposed", "true", { egress: egressTo(proxy, join(tempDir(), "proxy.sock")) });
    expect(result.outcome).toBe("succeeded");
    const holderId = (await docker.getContainer(result.containerId!).inspect()).HostConfig.NetworkMode!.replace(/^container:/, "");
    const forwarder = await forwarderOf((await docker.getContainer(holderId).inspect()).State.Pid);
    expect(forwarder).toBeDefined();
    expect(alive(forwarder!)).toBe(true);
    started.pop();
    await executor.dispose(workDir, result.containerId);
    expect(await containersOfJob("job_disposed")).toEqual([]);
    await eventually(async () => !alive(forwarder!), { timeoutMs: 10_000, what: "the forwarder to exit" });
    expect(await readFile(join(workDir, "egress-forwarder.log"), "utf8")).toMatch(/the holder is gone; exiting/);
  }, 120_000);

  it("is never a job's run to recovery: hidden while the job's container joins it, a leftover with no job once none does", async () => {
    const proxy = await proxyFor(join(tempDir(), "proxy.sock"), "proxy");
    const network = await openJobNetwork(docker, { jobId: "job_recovered", provider, image: TEST_IMAGE, workDir: tempDir(), ...egressTo(proxy, join(tempDir(), "proxy.sock")), log });
    strayPids.push(network.forwarderPid);
    // Before the job's container is made (a daemon killed here): a leftover, adopted by no job.
    expect(await executor.ownContainers()).toEqual([{ id: network.holderId, jobId: "", state: "running" }]);
    const job = await docker.createContainer({ Image: TEST_IMAGE, Cmd: ["sleep", "60"], Labels: { "dev.pond.job": "job_recovered", "dev.pond.provider": provider }, HostConfig: { NetworkMode: network.networkMode } });
    expect(await executor.ownContainers()).toEqual([{ id: job.id, jobId: "job_recovered", state: "created" }]);
    // Removing the job's container (a recovery that does not adopt it) takes the holder with it.
    await executor.removeContainer(job.id);
    expect(await containersOfJob("job_recovered")).toEqual([]);
    await eventually(async () => !alive(network.forwarderPid), { timeoutMs: 10_000, what: "the forwarder to exit" });
  }, 120_000);
});

describe.skipIf(unsupported)("a job network's forwarder", () => {
  it("outlives the daemon that started it, and relays to the next daemon's proxy on the same socket", async () => {
    const socketPath = join(tempDir(), "proxy.sock");
    const first = await proxyFor(socketPath, "the first daemon");
    // A daemon of its own, killed with its whole process group as a crash or `kill -9` of the service would.
    const daemonScript = join(tempDir(), "daemon.mjs");
    await writeFile(
      daemonScript,
      `const { pino } = await import(${moduleUrl("pino")}); const { openJobNetwork } = await import(${JSON.stringify(pathToFileURL(JOB_NETWORK_MODULE).href)}); const { default: Docker } = await import(${moduleUrl("dockerode")});
      const adopt = (socket) => socket.once("data", () => socket.end("HTTP/1.1 200 OK\\r\\nContent-Length: 36\\r\\nConnection: close\\r\\n\\r\\nanswer from the first daemon itself\\n"));
      const network = await openJobNetwork(new Docker(), { jobId: "job_outlived", provider: ${JSON.stringify(provider)}, image: ${JSON.stringify(TEST_IMAGE)}, workDir: ${JSON.stringify(tempDir())}, proxySocketPath: ${JSON.stringify(socketPath)}, adopt, log: pino({ level: "silent" }) });
      console.log(JSON.stringify({ holderId: network.holderId, forwarderPid: network.forwarderPid })); setInterval(() => undefined, 60_000);`,
    );
    const execArgv = process.execArgv.filter((flag) => !flag.startsWith("--inspect"));
    const daemon = spawn(process.execPath, [...execArgv, daemonScript], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    strayPids.push(daemon.pid!);
    let said = "";
    let complaint = "";
    daemon.stderr.on("data", (chunk: Buffer) => void (complaint += chunk.toString()));
    const { holderId, forwarderPid } = await new Promise<{ holderId: string; forwarderPid: number }>((resolve, reject) => {
      daemon.stdout.on("data", (chunk: Buffer) => {
        said += chunk.toString();
        if (said.includes("\n")) resolve(JSON.parse(said) as { holderId: string; forwarderPid: number });
      });
      daemon.once("exit", (exitCode) => reject(new Error(`the daemon exited (${exitCode}) before its job network was ready: ${complaint}`)));
    });
    strayPids.push(forwarderPid);
    expect(await processGroupOf(forwarderPid)).not.toBe(await processGroupOf(daemon.pid!));

    // While the daemon that started it runs, the connection is handed to it, not relayed to the socket.
    const before = await inNamespaceOf(holderId, "wget -q -O - -Y on http://one.test/");
    expect(before.output).toContain("answer from the first daemon itself");
    expect(before.code).toBe(0);
    process.kill(-daemon.pid!, "SIGKILL");
    await eventually(async () => daemon.exitCode !== null || daemon.signalCode !== null, { what: "the daemon to die" });
    expect(alive(forwarderPid)).toBe(true);

    await first.close();
    const next = await proxyFor(socketPath, "the next daemon");
    const after = await inNamespaceOf(holderId, "wget -q -O - -Y on http://two.test/");
    expect(after.output).toContain("answer from the next daemon");
    expect(after.code).toBe(0);
    expect(next.seen).toEqual([expect.stringMatching(/^GET http:\/\/two\.test\/ HTTP/)]);
    expect(next.via).toEqual(["relayed"]);
    expect(first.seen).toEqual([]);
  }, 180_000);
});
