// What every egress proxy test file sets up: the hub (once per file), a fresh
// folder for the proxy's socket per test, and proxies closed after each test.
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll } from "vitest";
import { parseEgressRules } from "../../../protocol/egress.ts";
import { startForwarder } from "../../../provider/egress/jobNetwork.ts";
import { EgressProxy, type EgressProxyOptions } from "../../../provider/egress/proxy.ts";
import { freePort } from "../../helpers/freePort.ts";
import { useTempDir } from "../../helpers/tempDir.ts";
import { type Hub, startHub } from "./hub.ts";

export const silent = pino({ level: "silent" });

/** A resolver from a map (an answer may change per call), recording every lookup. */
export function resolverOf(answers: Record<string, string[] | (() => string[])>) {
  const calls: string[] = [];
  const resolve = async (host: string) => {
    calls.push(host);
    const answer = answers[host];
    if (!answer) throw Object.assign(new Error(`${host} not found`), { code: "ENOTFOUND" });
    return typeof answer === "function" ? answer() : answer;
  };
  return { calls, resolve };
}

/** Waits until `socket` has closed; reading, since a paused socket never notices its peer went. */
export function closedSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.closed) return resolve();
    socket.once("close", () => resolve());
    socket.resume();
  });
}

export interface EgressHarness {
  hub(): Hub;
  /** The current test's folder. */
  dir(): string;
  /** A proxy for hub.test's three ports, 127.0.0.1 allowed explicitly, unless `options` say otherwise. */
  startProxy(options?: Partial<EgressProxyOptions>): Promise<{ proxy: EgressProxy; socketPath: string }>;
  /**
   * The real forwarder program in front of `proxy`, in this namespace (its holder this process), handing each
   * connection over as it does for a job; its port on 127.0.0.1, and how many it handed over so far.
   */
  startForwarder(proxy: EgressProxy, socketPath: string): Promise<{ port: number; handedOver(): number }>;
}

/** Call at the top of a test file. */
export function useEgressHarness(): EgressHarness {
  const dir = useTempDir("egress");
  let hub: Hub | undefined;
  let certDir: string | undefined;
  const proxies: EgressProxy[] = [];
  const forwarderPids: number[] = [];
  beforeAll(async () => {
    try {
      execFileSync("which", ["openssl"], { stdio: "ignore" });
    } catch {
      throw new Error("these tests need the openssl CLI to make the hub's certificate; install openssl");
    }
    certDir = await mkdtemp(join(tmpdir(), "pond-egress-cert-"));
    hub = await startHub(certDir);
  });
  afterAll(async () => {
    await hub?.close();
    if (certDir) await rm(certDir, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const pid of forwarderPids.splice(0)) process.kill(pid, "SIGKILL");
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  });
  return {
    hub: () => hub!,
    dir,
    async startProxy(options = {}) {
      // A socket of its own per proxy: a second proxy at the same path would take the first one's place.
      const socketPath = options.socketPath ?? join(dir(), `egress-${proxies.length}.sock`);
      const proxy = new EgressProxy({
        socketPath,
        rules: parseEgressRules([`hub.test:${hub!.httpsPort}`, `hub.test:${hub!.httpPort}`, `hub.test:${hub!.floodPort}`]),
        budgetBytes: 1 << 30,
        maxConnections: 16,
        resolve: resolverOf({ "hub.test": ["127.0.0.1"], "other.test": ["127.0.0.1"] }).resolve,
        allowAddresses: ["127.0.0.1"],
        log: silent,
        ...options,
      });
      await proxy.start();
      proxies.push(proxy);
      return { proxy, socketPath };
    },
    async startForwarder(proxy, socketPath) {
      const port = await freePort();
      let handedOver = 0;
      const adopt = (socket: Socket) => {
        handedOver++;
        proxy.adopt(socket);
      };
      const logPath = join(dir(), `forwarder-${forwarderPids.length}.log`);
      forwarderPids.push(await startForwarder({ via: [], port, proxySocketPath: socketPath, holderPid: process.pid, logPath, adopt }));
      return { port, handedOver: () => handedOver };
    },
  };
}
