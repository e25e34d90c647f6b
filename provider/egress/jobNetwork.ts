// The container side of a job's egress: a network namespace with loopback only,
// whose one way out is a forwarder to the daemon's proxy.
//
// Why this shape. A job container stays without any network interface, as every
// job is: no route, so raw sockets, UDP and DNS to any server get nowhere, and
// nothing the job sends can leave except through the proxy. To give it the
// proxy, something must listen inside its namespace: a forwarder (forwarder.ts)
// that takes 127.0.0.1:3128 and pipes each connection to a unix socket the
// daemon's proxy listens on (a path in the host's filesystem, which a network
// namespace does not hide). No veth, bridge, iptables or route is made, so there
// is no rule that can be wrong and nothing to undo.
//
// The namespace belongs to a holder container made for it (NetworkMode "none"),
// not to the job's container, so it exists before the job's first instruction
// runs (the proxy is there from the start) and the job joins it with
// NetworkMode "container:<holder>". The holder runs the host's static busybox,
// bind-mounted read-only, as `sleep`: it needs no image of its own (the job's,
// already pulled, gives it a root filesystem) and runs nothing of the job's.
// It is labelled as the job's containers are, and locked down as they are.
//
// The forwarder is entered into the namespace with nsenter (root) and started
// detached, like the watchdog (watchdog/spawn.ts), so it outlives a daemon
// restart: the next daemon's proxy listens again on the same socket path. It
// exits once the holder is gone, so removing the holder (removeContainer in
// executor/docker.ts, with its job's container) ends both.
//
// While the daemon that started it runs, the forwarder hands each connection
// over, the socket itself, on an IPC channel between the two (file descriptors
// cross it; namespaces do not matter to a socket already made): the proxy then
// reads and writes the job's side directly, and every byte is copied once in
// user space instead of twice (bench:egress measures both). Once that daemon is
// gone, the channel is too, and the forwarder relays over the socket path.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { access, constants, open, readFile, realpath } from "node:fs/promises";
import { Socket } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type Docker from "dockerode";
import type { ContainerCreateOptions } from "dockerode";
import type { Logger } from "pino";
import { CONTAINER_USER, JOB_LABEL, PROVIDER_LABEL } from "../executor/sandbox.ts";
import { HANDOVER_MESSAGE } from "./handover.ts";

/** Where, inside the job's namespace, the forwarder listens: the proxy as the job sees it. */
export const EGRESS_PROXY_PORT = 3128;
/** Marks Pond's containers that are not a job's run (a job's are unmarked). */
export const ROLE_LABEL = "dev.pond.role";
export const HOLDER_ROLE = "egress-netns";
export const FORWARDER_LOG = "egress-forwarder.log";

const FORWARDER = fileURLToPath(new URL("./forwarder.ts", import.meta.url));
/** Fixed places, not PATH: what the root daemon runs inside a job's namespace is not for the environment to choose. */
const BUSYBOX_CANDIDATES = ["/bin/busybox", "/usr/bin/busybox", "/usr/local/bin/busybox"];
const NSENTER_CANDIDATES = ["/usr/bin/nsenter", "/bin/nsenter", "/usr/sbin/nsenter", "/usr/local/bin/nsenter"];
/** Named busybox, so busybox takes its first argument as the program to be (it goes by the name it is run as). */
const HOLDER_BINARY_PATH = "/.pond-netns/busybox";
/** The longest `sleep` takes (2^31 - 1 s): the holder is removed long before. */
const HOLDER_SLEEP_S = "2147483647";
/** Startup of the forwarder (Node and its loader) on a loaded machine. */
const FORWARDER_READY_MS = 60_000;
const PT_INTERP = 3;

const PROXY_URL = `http://127.0.0.1:${EGRESS_PROXY_PORT}`;
/** Both spellings: curl reads lowercase http_proxy only, other tools the uppercase. */
export const EGRESS_ENV: Readonly<Record<string, string>> = {
  HTTP_PROXY: PROXY_URL,
  HTTPS_PROXY: PROXY_URL,
  http_proxy: PROXY_URL,
  https_proxy: PROXY_URL,
  NO_PROXY: "localhost,127.0.0.1",
  no_proxy: "localhost,127.0.0.1",
};

export type EgressSupport = { ok: true } | { ok: false; reason: string };

export interface JobNetwork {
  /** The job container's NetworkMode: the holder's namespace. */
  networkMode: string;
  /** For the job's environment, after (over) the job's own. */
  env: Record<string, string>;
  holderId: string;
  forwarderPid: number;
  /** Removes the holder; the forwarder then exits by itself. */
  close(): Promise<void>;
}

export interface JobNetworkInput {
  jobId: string;
  provider: string;
  /** The job's image, already on this machine: the holder's root filesystem. */
  image: string;
  /** The forwarder's log goes here. */
  workDir: string;
  proxySocketPath: string;
  /** The proxy's intake for connections the forwarder hands over (EgressProxy.adopt). */
  adopt: (socket: Socket) => void;
  log: Logger;
}

interface HostTools {
  nsenter: string;
  busybox: string;
}

/** Whether this machine can give jobs egress: root, nsenter, and a static busybox for the holder. */
export async function probeEgressSupport(): Promise<EgressSupport> {
  const tools = await hostTools();
  return "reason" in tools ? { ok: false, reason: tools.reason } : { ok: true };
}

async function hostTools(): Promise<HostTools | { reason: string }> {
  if (process.getuid?.() !== 0) return { reason: "the daemon does not run as root, and entering a job's network namespace (nsenter) needs root" };
  const nsenter = await firstExecutable(NSENTER_CANDIDATES);
  if (!nsenter) return { reason: `no nsenter (util-linux) at ${NSENTER_CANDIDATES.join(", ")}` };
  for (const candidate of BUSYBOX_CANDIDATES) {
    const path = await firstExecutable([candidate]);
    if (path && (await isStaticElf(path))) return { nsenter, busybox: path };
  }
  return { reason: `no statically linked busybox (Debian/Ubuntu: busybox-static) at ${BUSYBOX_CANDIDATES.join(", ")}; the holder of a job's network runs it inside the job's image` };
}

async function firstExecutable(paths: readonly string[]): Promise<string | undefined> {
  for (const path of paths) {
    try {
      await access(path, constants.X_OK);
      // Docker binds the file itself, so a symlink (busybox -> /etc/alternatives/…) is followed here.
      return await realpath(path);
    } catch {
      // Not there: the next place.
    }
  }
  return undefined;
}

/** A little-endian ELF with no program interpreter runs in any image, whatever libc it has (or none). */
export async function isStaticElf(path: string): Promise<boolean> {
  const file = await open(path, "r");
  try {
    const header = Buffer.alloc(64);
    await file.read(header, 0, header.length, 0);
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[5] !== 1) return false;
    const is64 = header[4] === 2;
    const tableAt = is64 ? Number(header.readBigUInt64LE(0x20)) : header.readUInt32LE(0x1c);
    const entrySize = header.readUInt16LE(is64 ? 0x36 : 0x2a);
    const entries = header.readUInt16LE(is64 ? 0x38 : 0x2c);
    if (entrySize < 4 || entries === 0) return false;
    const table = Buffer.alloc(entrySize * entries);
    const { bytesRead } = await file.read(table, 0, table.length, tableAt);
    if (bytesRead < table.length) return false;
    for (let i = 0; i < entries; i += 1) if (table.readUInt32LE(i * entrySize) === PT_INTERP) return false;
    return true;
  } finally {
    await file.close();
  }
}

/** The holder: the job's labels and a job container's lockdown, running nothing but a bind-mounted `sleep`. */
export function holderOptions(input: Pick<JobNetworkInput, "jobId" | "provider" | "image">, busybox: string): ContainerCreateOptions {
  const memoryBytes = 16 * 1024 * 1024;
  return {
    Image: input.image,
    Entrypoint: [HOLDER_BINARY_PATH, "sleep", HOLDER_SLEEP_S],
    Cmd: [],
    User: CONTAINER_USER,
    Labels: { [JOB_LABEL]: input.jobId, [PROVIDER_LABEL]: input.provider, [ROLE_LABEL]: HOLDER_ROLE },
    NetworkDisabled: true,
    // The image's health check would run the image's programs in here.
    Healthcheck: { Test: ["NONE"] },
    HostConfig: {
      NetworkMode: "none",
      ReadonlyRootfs: true,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges:true"],
      PidsLimit: 8,
      Memory: memoryBytes,
      MemorySwap: memoryBytes,
      NanoCpus: 100_000_000,
      Binds: [`${busybox}:${HOLDER_BINARY_PATH}:ro`],
      LogConfig: { Type: "json-file", Config: { "max-size": "1m", "max-file": "1" } },
    },
  };
}

export async function openJobNetwork(docker: Docker, input: JobNetworkInput): Promise<JobNetwork> {
  const tools = await hostTools();
  if ("reason" in tools) throw new Error(`this provider cannot give jobs network egress: ${tools.reason}`);
  const holder = await docker.createContainer(holderOptions(input, tools.busybox));
  const close = () => removeHolder(docker, holder.id);
  try {
    await holder.start();
    const pid = (await holder.inspect()).State.Pid;
    if (!pid) throw new Error("the network holder container has no process");
    const forwarderPid = await startForwarder({
      via: [tools.nsenter, `--net=/proc/${pid}/ns/net`, "--"],
      port: EGRESS_PROXY_PORT,
      proxySocketPath: input.proxySocketPath,
      holderPid: pid,
      logPath: join(input.workDir, FORWARDER_LOG),
      adopt: input.adopt,
    });
    input.log.info({ job: input.jobId, holder: holder.id, forwarder: forwarderPid }, "job network ready: loopback and the egress proxy only");
    return { networkMode: `container:${holder.id}`, env: { ...EGRESS_ENV }, holderId: holder.id, forwarderPid, close };
  } catch (error) {
    await close().catch((closeError: unknown) => input.log.error({ err: closeError, job: input.jobId }, "could not remove a network holder that failed to start"));
    throw error;
  }
}

export interface ForwarderStart {
  /** What runs Node in the job's namespace (nsenter and its arguments); none: this namespace (bench:egress). */
  via: readonly string[];
  port: number;
  proxySocketPath: string;
  /** The forwarder exits once this process, or its namespace, is gone. */
  holderPid: number;
  logPath: string;
  adopt: (socket: Socket) => void;
}

/** Starts a forwarder, detached, and takes the connections it hands over; its pid once it listens. */
export async function startForwarder(start: ForwarderStart): Promise<number> {
  const out = openSync(start.logPath, "a");
  let child: ChildProcess;
  try {
    // The daemon's own Node and loader (watchdog/spawn.ts does the same); inspector flags would fight over the port.
    const execArgv = process.execArgv.filter((flag) => !flag.startsWith("--inspect"));
    const node = [process.execPath, ...execArgv, FORWARDER, String(start.port), start.proxySocketPath, String(start.holderPid)];
    const [command, ...args] = [...start.via, ...node];
    // fd 3 is a pipe the forwarder writes "listening" to once, then closes; fd 4 the channel connections come over.
    child = spawn(command!, args, { detached: true, stdio: ["ignore", out, out, "pipe", "ipc"] });
  } finally {
    closeSync(out);
  }
  // From the start: a connection handed over before "listening" is read is still taken.
  child.on("message", (message: unknown, handle: unknown) => {
    if (message === HANDOVER_MESSAGE && handle instanceof Socket) start.adopt(handle);
    else closeHandle(handle);
  });
  try {
    await listening(child);
  } catch (error) {
    child.kill("SIGKILL");
    throw new Error(`the egress forwarder did not start: ${(error as Error).message}${await lastLines(start.logPath)}`);
  }
  // Neither the forwarder nor its channel keeps the daemon running.
  child.unref();
  child.channel?.unref();
  return child.pid!;
}

/** Anything else that came with a message is not the daemon's to keep (a socket, a server): closed. */
function closeHandle(handle: unknown): void {
  if (handle instanceof Socket) handle.destroy();
  else if (handle && typeof (handle as { close?: unknown }).close === "function") (handle as { close(): void }).close();
}

/** Resolves once the child says it listens; rejects if it exits, cannot be spawned, or takes too long. */
function listening(child: ChildProcess): Promise<void> {
  const ready = child.stdio[3] as NodeJS.ReadableStream & { destroy(): void };
  return new Promise<void>((resolve, reject) => {
    let said = "";
    const timer = setTimeout(() => settle(new Error(`not listening after ${FORWARDER_READY_MS} ms`)), FORWARDER_READY_MS);
    const onData = (chunk: Buffer) => {
      said += chunk.toString();
      if (said.includes("listening")) settle();
    };
    const onExit = (code: number | null, signal: string | null) => settle(new Error(`it exited (${signal ?? `code ${code}`}) before listening`));
    const onError = (error: Error) => settle(error);
    function settle(error?: Error) {
      clearTimeout(timer);
      ready.off("data", onData);
      child.off("exit", onExit);
      child.off("error", onError);
      // The daemon keeps no handle on the forwarder: it must not be what keeps either alive.
      ready.destroy();
      if (error) reject(error);
      else resolve();
    }
    ready.on("data", onData);
    child.once("exit", onExit);
    child.once("error", onError);
  });
}

async function lastLines(logPath: string): Promise<string> {
  try {
    const text = (await readFile(logPath, "utf8")).trim();
    return text ? `; its log ends: ${text.slice(-400)}` : "";
  } catch {
    return "";
  }
}

/**
 * The holder whose namespace a container of this provider joined, if any: it
 * goes when that container goes. Undefined when the container is gone already
 * (its holder is then a stray, see strayHolder).
 */
export async function holderOf(docker: Docker, containerId: string, provider: string): Promise<string | undefined> {
  try {
    const mode = (await docker.getContainer(containerId).inspect()).HostConfig.NetworkMode ?? "";
    if (!mode.startsWith("container:")) return undefined;
    const holder = await docker.getContainer(mode.slice("container:".length)).inspect();
    const labels = holder.Config.Labels ?? {};
    return labels[ROLE_LABEL] === HOLDER_ROLE && labels[PROVIDER_LABEL] === provider ? holder.Id : undefined;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

export function isHolder(info: Pick<Docker.ContainerInfo, "Labels">): boolean {
  return info.Labels[ROLE_LABEL] === HOLDER_ROLE;
}

/** A holder no container of `found` joins: its job's container never came, or is gone. */
export function strayHolder(info: Docker.ContainerInfo, found: readonly Docker.ContainerInfo[]): boolean {
  return isHolder(info) && !found.some((other) => other.HostConfig?.NetworkMode === `container:${info.Id}`);
}

export async function removeHolder(docker: Docker, id: string): Promise<void> {
  try {
    // v: the image's declared volumes, made for the holder too, go with it.
    await docker.getContainer(id).remove({ force: true, v: true });
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== 404 && status !== 409) throw error;
  }
}
