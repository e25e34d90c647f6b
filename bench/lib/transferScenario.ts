// One measurement of `npm run bench:transfer`, in a process of its own (so SCTP
// buffer settings, which are per process, and memory do not leak between
// scenarios). Prints one line `RESULT {json}`.
//   tsx bench/lib/transferScenario.ts '<JSON scenario>'
import { createServer, connect, type Socket } from "node:net";
import { readFile, rm } from "node:fs/promises";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { DataChannel } from "node-datachannel";
import { z } from "zod";
import { receiveFiles, sendFiles } from "../../p2p/core/transfer.ts";
import { FsChunkSink } from "../../p2p/node/fsChunkSink.ts";
import { FsChunkSource } from "../../p2p/node/fsChunkSource.ts";
import { toNodeIceServers } from "../../p2p/node/iceServers.ts";
import { applyTransferSctpSettings, TRANSFER_SCTP_BUFFER_BYTES } from "../../p2p/node/sctpSettings.ts";
import type { OutgoingSignal } from "../../p2p/node/peer.ts";
import { IceServer } from "../../protocol/iceServers.ts";
import { MAX_MESSAGE_BYTES, TransferManifest } from "../../protocol/transfer.ts";
import { loopbackPeers } from "../../test/helpers/loopbackPeers.ts";
import { connectRawPeers } from "./rawPeers.ts";
import { DelayLink } from "./delayLink.ts";
import { candidateAddress, withCandidateAddress } from "./udpDelayProxy.ts";

const Scenario = z.object({
  kind: z.enum(["raw", "pond", "tcp"]),
  /** raw and tcp: how much to send (pond: the manifest says). */
  bytes: z.int().positive().default(1),
  channels: z.int().positive().default(1),
  /** Relay only, through this TURN server. */
  turn: IceServer.optional(),
  /** Both SCTP buffers; default what Pond's transfer processes use (p2p/node/sctpSettings.ts), so raw and Pond compare like for like. */
  sctpBufferBytes: z.int().positive().default(TRANSFER_SCTP_BUFFER_BYTES),
  rttMs: z.number().min(0).default(0),
  /** Local addresses of the sending and the receiving peer. */
  bindAddresses: z.tuple([z.string(), z.string()]).default(["127.0.0.1", "127.0.0.1"]),
  sourceDir: z.string().default(""),
  sinkDir: z.string().default(""),
  manifestPath: z.string().default(""),
});
type Scenario = z.infer<typeof Scenario>;

export interface ScenarioResult {
  bytes: number;
  ms: number;
  mibPerSecond: number;
  /** From the request (pond) or the first send (raw, tcp) to the first data arriving. */
  firstByteMs: number;
  route?: string;
  /** What explains a figure: UDP datagrams the kernel dropped (this namespace), event-loop stalls, Pond's own counters. */
  diagnostics?: Record<string, number>;
}

const STALL_MS = 20_000;
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;

function result(bytes: number, ms: number, firstByteMs: number, route?: string): ScenarioResult {
  return { bytes, ms, mibPerSecond: bytes / (1024 * 1024) / (ms / 1000), firstByteMs, ...(route ? { route } : {}) };
}

/** The bare library: one channel, a 64 KiB message loop with the same pause/resume marks Pond uses. */
async function raw(scenario: Scenario, proxy: DelayLink | undefined): Promise<ScenarioResult> {
  const peers = await connectRawPeers({
    bindAddresses: scenario.bindAddresses,
    ...(scenario.turn ? { iceServers: toNodeIceServers([scenario.turn]), iceTransportPolicy: "relay" as const } : {}),
    ...(proxy ? { rewriteCandidate: (candidate: string) => rewrite(proxy, candidate) } : {}),
  });
  const message = Buffer.alloc(MAX_MESSAGE_BYTES, 7);
  const started = performance.now();
  let firstByteAt = 0;
  let received = 0;
  let lastArrival = performance.now();
  const done = new Promise<number>((resolve, reject) => {
    // The bare loop has no recovery of its own: fail loudly rather than hang.
    const watchdog = setInterval(() => {
      if (performance.now() - lastArrival <= STALL_MS) return;
      clearInterval(watchdog);
      reject(new Error(`the raw loop stalled: ${received} of ${scenario.bytes} bytes, then ${STALL_MS} ms without data`));
    }, 1000);
    peers.receiver.onMessage((data) => {
      lastArrival = performance.now();
      firstByteAt ||= lastArrival;
      received += typeof data === "string" ? data.length : data.byteLength;
      if (received < scenario.bytes) return;
      clearInterval(watchdog);
      resolve(lastArrival);
    });
  });
  sendLoop(peers.sender, message, scenario.bytes);
  const ended = await done;
  peers.close();
  return result(scenario.bytes, ended - started, firstByteAt - started, scenario.turn ? "turn" : "direct");
}

function sendLoop(channel: DataChannel, message: Buffer, total: number): void {
  let sent = 0;
  channel.setBufferedAmountLowThreshold(LOW_WATER);
  const pump = () => {
    while (sent < total && channel.bufferedAmount() <= HIGH_WATER) {
      channel.sendMessageBinary(message);
      sent += message.byteLength;
    }
  };
  channel.onBufferedAmountLow(pump);
  pump();
}

/** Pond's protocol end to end: files read from disk, chunks verified and written to disk. */
async function pond(scenario: Scenario, proxy: DelayLink | undefined): Promise<ScenarioResult> {
  const manifest = TransferManifest.parse(JSON.parse(await readFile(scenario.manifestPath, "utf8")));
  const relay = scenario.turn ? { iceServers: [scenario.turn], iceTransportPolicy: "relay" as const } : {};
  const intercept = proxy ? (message: OutgoingSignal, forward: (replacement?: OutgoingSignal) => void) => rewriteSignal(proxy, message, forward) : undefined;
  const [providerAddress, creatorAddress] = scenario.bindAddresses;
  const peers = loopbackPeers({ channels: scenario.channels, creator: { ...relay, intercept, bindAddress: creatorAddress }, provider: { ...relay, intercept, bindAddress: providerAddress } });
  await Promise.all([peers.creator.connected, peers.provider.connected]);
  await Promise.all([peers.creator.whenChannels(scenario.channels), peers.provider.whenChannels(scenario.channels)]);
  const source = new FsChunkSource(scenario.sourceDir);
  const sink = new FsChunkSink(scenario.sinkDir);
  // The most the provider's SCTP had taken and the creator's not yet delivered: the window the link got.
  let peakOutstanding = 0;
  const sample = setInterval(() => (peakOutstanding = Math.max(peakOutstanding, peers.provider.sctpBytes().sent - peers.creator.sctpBytes().received)), 5);
  const [sent, received] = await Promise.all([sendFiles(peers.provider, manifest, source), receiveFiles(peers.creator, manifest, sink)]).finally(() => clearInterval(sample));
  await Promise.all([source.close(), sink.close()]);
  peers.close();
  await rm(scenario.sinkDir, { recursive: true, force: true });
  const { pauses, maxBufferedAmount, channelsUsed, ranDry } = sent.stats;
  return { ...result(received.bytes, received.ms, received.stats.firstDataMs ?? Number.NaN, received.route), diagnostics: { pauses, maxBufferedAmount, channelsUsed, ranDry, peakOutstanding } };
}

/** A TCP connection on 127.0.0.1, 64 KiB writes that wait for drain. */
async function tcp(scenario: Scenario): Promise<ScenarioResult> {
  let firstByteAt = 0;
  let started = 0;
  const done = new Promise<number>((resolve) => {
    const server = createServer((socket) => {
      let received = 0;
      socket.on("data", (data) => {
        firstByteAt ||= performance.now();
        received += data.byteLength;
        if (received >= scenario.bytes) {
          resolve(performance.now());
          socket.destroy();
          server.close();
        }
      });
    });
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      const client: Socket = connect(port, "127.0.0.1", () => {
        started = performance.now();
        const message = Buffer.alloc(MAX_MESSAGE_BYTES, 7);
        let sent = 0;
        const pump = () => {
          while (sent < scenario.bytes) {
            sent += message.byteLength;
            if (!client.write(message)) return void client.once("drain", pump);
          }
          client.end();
        };
        pump();
      });
    });
  });
  const ended = await done;
  return result(scenario.bytes, ended - started, firstByteAt - started);
}

async function rewrite(proxy: DelayLink, candidate: string): Promise<string> {
  const address = candidateAddress(candidate);
  return address ? withCandidateAddress(candidate, await proxy.front(address)) : candidate;
}

function rewriteSignal(proxy: DelayLink, message: OutgoingSignal, forward: (replacement?: OutgoingSignal) => void): void {
  if (message.type !== "candidate") return forward();
  void rewrite(proxy, message.payload.candidate).then((candidate) => forward({ type: "candidate", payload: { ...message.payload, candidate } }));
}

/** The kernel's UDP counters for this network namespace (the relay scenarios run in one of their own). */
async function udpCounters(): Promise<Record<string, number>> {
  const lines = (await readFile("/proc/net/snmp", "utf8")).split("\n").filter((line) => line.startsWith("Udp: "));
  const [names, values] = lines.map((line) => line.slice(5).trim().split(/\s+/));
  return Object.fromEntries((names ?? []).map((name, i) => [name, Number(values?.[i])]));
}

const scenario = Scenario.parse(JSON.parse(process.argv[2] ?? "{}"));
applyTransferSctpSettings(scenario.sctpBufferBytes);
const proxy = scenario.rttMs > 0 ? new DelayLink(scenario.rttMs / 2) : undefined;
const udpBefore = await udpCounters();
const cpuBefore = process.cpuUsage();
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const measured = scenario.kind === "raw" ? await raw(scenario, proxy) : scenario.kind === "pond" ? await pond(scenario, proxy) : await tcp(scenario);
loopDelay.disable();
const udpAfter = await udpCounters();
const cpu = process.cpuUsage(cpuBefore);
measured.diagnostics = {
  ...measured.diagnostics,
  udpRcvbufErrors: (udpAfter.RcvbufErrors ?? 0) - (udpBefore.RcvbufErrors ?? 0),
  udpInDatagrams: (udpAfter.InDatagrams ?? 0) - (udpBefore.InDatagrams ?? 0),
  loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
  loopDelayMaxMs: loopDelay.max / 1e6,
  cpuUserMs: cpu.user / 1000,
  cpuSystemMs: cpu.system / 1000,
};
proxy?.close();
console.log(`RESULT ${JSON.stringify(measured)}`);
process.exit(0);
