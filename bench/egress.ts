// `npm run bench:egress`: a job's egress path against a direct download on this
// machine. An origin (a process of its own, on loopback) serves 1 GiB; this
// process, standing for the job, fetches it directly, and through the paths an
// egress job's bytes take: the forwarder program (provider/egress/forwarder.ts,
// here in the root network namespace rather than a job's, which changes nothing
// it does) started by the daemon's proxy (provider/egress/proxy.ts, in a process
// of its own as in the daemon), which hands each connection over to the proxy;
// and a forwarder whose daemon is gone (as after a daemon restart), which relays
// each connection to the proxy's unix socket. Both as a plain HTTP proxy request
// and through a CONNECT tunnel (what HTTPS takes; no TLS on either side, so both
// carry the same bytes, read by the same HTTP client as the direct download). Runs alternate, so the machine's load weighs on each
// alike. Also the time the path adds to a connection: a small request's time to
// its whole answer, direct and proxied. Goal: throughput ≥ 0.8×.
import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, request, type IncomingMessage } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { printTable, summarize, writeReport } from "./lib/report.ts";

const GIB = 1024 ** 3;
const ROUNDS = 3;
const LATENCY_SAMPLES = 200;
const GOAL_RATIO = 0.8;

const ORIGIN_SERVER = `
const http = require("node:http");
const GIB = ${GIB};
const chunk = Buffer.alloc(1024 * 1024, 7);
const server = http.createServer((req, res) => {
  if (req.url === "/small") return res.end("ok");
  res.writeHead(200, { "content-length": String(GIB) });
  let sent = 0;
  const more = () => {
    while (sent < GIB) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once("drain", more);
    }
    res.end();
  };
  more();
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
`;
const NAME = "origin.test";
const children: ChildProcess[] = [];

/** A child process, once it printed its first line (which is returned). */
async function started(command: string, args: string[], stdio: StdioOptions = ["ignore", "pipe", "inherit"], readyOn: 1 | 3 = 1): Promise<string> {
  const child = spawn(command, args, { stdio });
  children.push(child);
  return new Promise((resolve, reject) => {
    (child.stdio[readyOn] as NodeJS.ReadableStream).once("data", (data: Buffer) => resolve(data.toString().trim()));
    child.once("exit", (code) => reject(new Error(`${args.at(-1)} exited with ${code}`)));
  });
}

const freeLoopbackPort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });

// As on a provider: the job (this one), the forwarder in its namespace, the daemon's proxy, a remote origin.
const originPort = Number(await started(process.execPath, ["-e", ORIGIN_SERVER]));
const work = await mkdtemp(join(tmpdir(), "pond-bench-egress-"));
const socketPath = join(work, "egress.sock");
// The daemon's proxy starts its forwarder, which hands connections over.
const forwarderPort = await freeLoopbackPort();
await started(process.execPath, [...process.execArgv, join(import.meta.dirname, "lib/egressProxyProcess.ts"), socketPath, NAME, String(originPort), String(forwarderPort), String(process.pid), join(work, "forwarder.log")]);
// A forwarder with no daemon's channel, as one left by a daemon that restarted: it relays to the proxy's socket.
const relayPort = await freeLoopbackPort();
await started(process.execPath, [...process.execArgv, join(import.meta.dirname, "../provider/egress/forwarder.ts"), String(relayPort), socketPath, String(process.pid)], ["ignore", "ignore", "inherit", "pipe"], 3);

/** Reads an answer to its end; its body's bytes. */
function drain(response: IncomingMessage): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    response.on("data", (chunk: Buffer) => (bytes += chunk.length));
    response.once("end", () => resolve(bytes));
    response.once("error", reject);
  });
}

function get(options: { port: number; path: string; host?: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: options.port, path: options.path, agent: false, headers: { host: options.host ?? `127.0.0.1:${originPort}` } }, (response) => {
      if (response.statusCode !== 200) reject(new Error(`answered ${response.statusCode}`));
      drain(response).then(resolve, reject);
    });
    req.once("error", reject);
    req.end();
  });
}

const direct = (path: string) => get({ port: originPort, path });
const proxied = (path: string, port = forwarderPort) => get({ port, path: `http://${NAME}:${originPort}${path}`, host: `${NAME}:${originPort}` });

/** Through a CONNECT tunnel: the same HTTP client as the other paths, on the tunnel once it is established. */
function tunneled(path: string, port = forwarderPort): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host: "127.0.0.1", port });
    let header = "";
    socket.once("error", reject);
    socket.write(`CONNECT ${NAME}:${originPort} HTTP/1.1\r\nHost: ${NAME}:${originPort}\r\n\r\n`);
    const onData = (chunk: Buffer) => {
      header += chunk.toString("latin1");
      const established = header.indexOf("\r\n\r\n");
      if (established < 0) return;
      socket.removeListener("data", onData);
      if (!header.startsWith("HTTP/1.1 200")) return reject(new Error(header.split("\r\n")[0]));
      // The host speaks only when asked, so nothing of its answer came with the proxy's.
      const req = request({ createConnection: () => socket, path, headers: { host: `${NAME}:${originPort}`, connection: "close" } }, (response) => {
        if (response.statusCode !== 200) return reject(new Error(`answered ${response.statusCode}`));
        drain(response).then(resolve, reject);
      });
      req.once("error", reject);
      req.end();
    };
    socket.on("data", onData);
  });
}

async function timed(fetch: () => Promise<number>): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  const bytes = await fetch();
  return { ms: performance.now() - started, bytes };
}

const PATHS = {
  direct: { label: "direct (no proxy)", fetch: () => direct("/1g") },
  proxy: { label: "egress, plain HTTP (handed over to the proxy)", fetch: () => proxied("/1g") },
  tunnel: { label: "egress, CONNECT tunnel (handed over to the proxy)", fetch: () => tunneled("/1g") },
  relayedProxy: { label: "after a daemon restart, plain HTTP (relayed to its socket)", fetch: () => proxied("/1g", relayPort) },
  relayedTunnel: { label: "after a daemon restart, CONNECT tunnel (relayed)", fetch: () => tunneled("/1g", relayPort) },
};
const runs = Object.fromEntries(Object.keys(PATHS).map((name) => [name, [] as number[]])) as Record<keyof typeof PATHS, number[]>;
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, path] of Object.entries(PATHS) as Array<[keyof typeof PATHS, (typeof PATHS)[keyof typeof PATHS]]>) {
    const run = await timed(path.fetch);
    runs[name].push(run.bytes / 1024 ** 2 / (run.ms / 1000));
  }
}

const latency: Record<"direct" | "proxy", number[]> = { direct: [], proxy: [] };
for (let i = 0; i < LATENCY_SAMPLES; i++) {
  latency.direct.push((await timed(() => direct("/small"))).ms);
  latency.proxy.push((await timed(() => proxied("/small"))).ms);
}

const median = (values: number[]) => summarize(values).p50;
const directMiBs = median(runs.direct);
const rows = (Object.keys(PATHS) as Array<keyof typeof PATHS>).map((name) => [
  PATHS[name].label,
  ROUNDS,
  median(runs[name]).toFixed(0),
  (median(runs[name]) / directMiBs).toFixed(2),
]);
printTable("1 GiB from an origin on loopback, MiB/s (median of rounds)", ["path", "rounds", "MiB/s", "× direct"], rows);
const added = median(latency.proxy) - median(latency.direct);
console.log(`a small request, whole answer: direct p50 ${median(latency.direct).toFixed(2)} ms, through the egress path p50 ${median(latency.proxy).toFixed(2)} ms: the path adds ${added.toFixed(2)} ms (${LATENCY_SAMPLES} each, alternating; a new connection every time)`);
const worst = Math.min(median(runs.proxy), median(runs.tunnel)) / directMiBs;
console.log(`goal: throughput ≥ ${GOAL_RATIO}× direct: ${worst >= GOAL_RATIO ? "met" : "NOT met"} (${worst.toFixed(2)}× for the slower egress path; the relayed paths only serve jobs a restarted daemon adopted)`);
const { loadavg } = await import("node:os");
console.log(`load average at end: ${loadavg().map((v) => v.toFixed(1)).join(" ")}`);
console.log(`report: ${await writeReport("egress", { runsMiBs: runs, latencyMs: { direct: summarize(latency.direct), proxy: summarize(latency.proxy) }, addedMs: added, ratio: worst })}`);

for (const child of children) child.kill("SIGTERM");
await rm(work, { recursive: true, force: true });
process.exit(0);
