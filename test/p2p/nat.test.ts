// Transfers across real NAT: the provider behind one NAT router, the creator
// behind another, coturn and the signaling relay on the "public" side, all in
// network namespaces this test makes and removes (test/helpers/netns.ts). The
// peers run as child processes inside their namespaces.
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CandidatePair } from "../../p2p/node/peer.ts";
import { buildTransferManifest } from "../../p2p/node/buildTransferManifest.ts";
import { turnRestCredential, type IceServer } from "../../protocol/iceServers.ts";
import { startCoturn } from "../helpers/coturn.ts";
import { createNatTopology, namespacesUnavailable, PUBLIC_SERVICE_ADDRESS, type NatKind } from "../helpers/netns.ts";
import { spawnProcess, type Spawned } from "../helpers/processes.ts";
import { useTempDir } from "../helpers/tempDir.ts";
import { sha256OfFile, writeRandomFiles } from "../helpers/testFiles.ts";
import { tsNode } from "../helpers/tsNode.ts";

const MiB = 1024 * 1024;
const root = join(import.meta.dirname, "..", "..");
const tempDir = useTempDir("p2p-nat");
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let unavailable: string | undefined;
beforeAll(async () => {
  unavailable = await namespacesUnavailable();
  // A skipped case says why, in the output, instead of passing unnoticed.
  if (unavailable) console.warn(`NAT tests skipped: ${unavailable}`);
});

interface PeerReport {
  /** "hung": neither done nor error in time, its own connect timeout included (see transferAcrossOnce). */
  event: "done" | "error" | "hung";
  route?: string;
  pair?: CandidatePair | null;
  /** The pair the connection settled on (transferPeer.ts `settled`). */
  settled?: CandidatePair | null;
  message?: string;
}

type Outcome = { provider: PeerReport; creator: PeerReport; to: string; sha256: string };

/**
 * Runs one provider → creator transfer across `nat`, again once if a peer hung. Why: node-datachannel
 * 0.33.4 can deadlock in the DTLS handshake (libdatachannel PR #1630; seen here about 1 run in 15 of
 * the symmetric case, gdb showing its ICE poll thread and a DTLS worker each waiting on the other's lock).
 * Pond's own transfers run in a process of their own that is killed when it stops beating
 * (p2p/node/isolated, tested in isolatedTransfer.test.ts); this test is about NAT traversal, so a
 * hung peer gets a second, fresh try, said in the output. An error is never retried.
 */
async function transferAcross(nat: NatKind): Promise<Outcome> {
  const first = await transferAcrossOnce(nat);
  if (first.provider.event !== "hung" && first.creator.event !== "hung") return first;
  console.warn(`NAT test (${nat}): a peer hung (provider: ${first.provider.event}, creator: ${first.creator.event}), most likely the node-datachannel DTLS deadlock. Trying once more.`);
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  return transferAcrossOnce(nat);
}

async function transferAcrossOnce(nat: NatKind): Promise<Outcome> {
  const topology = await createNatTopology(nat);
  cleanups.push(() => topology.teardown());
  const { namespaces: ns } = topology;
  const secret = randomBytes(24).toString("base64url");
  const turnDir = join(tempDir(), "turn");
  await writeRandomFiles(turnDir, {});
  const coturn = await startCoturn({ address: PUBLIC_SERVICE_ADDRESS, secret, dir: turnDir, prefix: ["ip", "netns", "exec", ns.public] });
  cleanups.push(() => coturn.stop());
  const relay = spawnProcess("ip", ["netns", "exec", ns.public, ...tsNode(join(root, "test", "p2p", "fixtures", "signalingRelay.ts"), [PUBLIC_SERVICE_ADDRESS, "8444"]).flat()], { name: "signaling relay" });
  cleanups.push(() => relay.stop());
  const signalingUrl = (await relay.waitFor(/ws:\/\/\S+/, 30_000)).trim();

  const from = join(tempDir(), "from");
  const to = join(tempDir(), "to");
  await writeRandomFiles(from, { "outputs/result.bin": 8 * MiB + 4321 });
  const manifest = await buildTransferManifest(from, ["outputs/result.bin"]);
  const manifestPath = join(tempDir(), "manifest.json");
  await writeFile(manifestPath, JSON.stringify(manifest));

  const iceServersFor = async (user: string): Promise<IceServer[]> => {
    const { username, credential } = await turnRestCredential({ secret, user, ttlSeconds: 600 });
    return [
      { urls: [`stun:${PUBLIC_SERVICE_ADDRESS}:3478`] },
      { urls: [`turn:${PUBLIC_SERVICE_ADDRESS}:3478?transport=udp`], username, credential },
    ];
  };
  const peer = async (namespace: string, options: object): Promise<Spawned> => {
    const json = JSON.stringify({ signalingUrl, manifestPath, connectTimeoutMs: 30_000, ...options });
    const child = spawnProcess("ip", ["netns", "exec", namespace, ...tsNode(join(root, "test", "p2p", "fixtures", "transferPeer.ts"), [json]).flat()], { name: namespace });
    cleanups.push(() => child.stop());
    return child;
  };
  const provider = await peer(ns.hostA, { action: "send", me: "provider", peer: "creator", offer: false, dir: from, iceServers: await iceServersFor("provider") });
  await provider.waitFor(/\{"event":"joined"\}/, 60_000);
  const creator = await peer(ns.hostB, { action: "receive", me: "creator", peer: "provider", offer: true, dir: to, iceServers: await iceServersFor("creator") });
  const report = async (child: Spawned) => {
    // 30 s to connect, then 8 MiB and up to 10 s for the nomination: a peer silent for 75 s is stuck.
    const line = await child.waitFor(/\{"event":"(done|error)".*\}/, 75_000).then(
      (found) => JSON.parse(found) as PeerReport,
      // A peer that exited without a word crashed: that is an error, not a hang.
      (error: Error): PeerReport => (child.child.exitCode === null && child.child.signalCode === null ? { event: "hung" } : { event: "error", message: error.message }),
    );
    // A failed assertion shows what the peer printed (node-datachannel's own log lines included).
    line.message = `${line.message ?? ""}\n${child.output().slice(-6000)}`;
    return line;
  };
  const [providerReport, creatorReport] = await Promise.all([report(provider), report(creator)]);
  return { provider: providerReport, creator: creatorReport, to, sha256: manifest.files[0]!.sha256 };
}

describe("behavior: transfers across NAT", () => {
  it("port-restricted cone NAT on both sides: hole punching picks a direct server-reflexive pair", { timeout: 180_000 }, async (context) => {
    if (unavailable) return context.skip(unavailable);
    const { provider, creator, to, sha256 } = await transferAcross("cone");
    expect(creator, creator.message).toMatchObject({ event: "done" });
    expect(provider, provider.message).toMatchObject({ event: "done" });
    // The pair the connection settled on, which both sides then use. The 8 MiB can be through before: the first
    // hole-punching check of each side is dropped by the other's NAT, so a TURN pair may answer first
    // and carry the start (then `route` says "turn", truthfully, for the bytes it carried).
    const pair = creator.settled!;
    expect(pair, `no candidate pair after 10 s\n${creator.message}`).toBeTruthy();
    expect([pair.local.type, pair.remote.type]).not.toContain("relay");
    const providerPair = provider.settled!;
    expect(providerPair, `no candidate pair after 10 s\n${provider.message}`).toBeTruthy();
    expect([providerPair.local.type, providerPair.remote.type], provider.message).not.toContain("relay");
    // The far end is the provider's router's public address: the pair crosses both NATs, not a shortcut.
    expect(pair.remote.address).toBe("198.51.100.2");
    expect(["srflx", "prflx"]).toContain(pair.remote.type);
    expect(await sha256OfFile(join(to, "outputs", "result.bin"))).toBe(sha256);
  });

  it("symmetric NAT on both sides: only the TURN relay gets through", { timeout: 180_000 }, async (context) => {
    if (unavailable) return context.skip(unavailable);
    const { provider, creator, to, sha256 } = await transferAcross("symmetric");
    expect(creator, creator.message).toMatchObject({ event: "done", route: "turn" });
    expect(provider, provider.message).toMatchObject({ event: "done", route: "turn" });
    const pair = creator.settled!;
    expect(pair, `no candidate pair after 10 s\n${creator.message}`).toBeTruthy();
    expect([pair.local.type, pair.remote.type]).toContain("relay");
    expect(await sha256OfFile(join(to, "outputs", "result.bin"))).toBe(sha256);
  });
});
