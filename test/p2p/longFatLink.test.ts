// Pond's transfer on a long fat link: a provider across an ocean, 200 ms round
// trip, emulated by a UDP delay proxy in a process of its own (bench/lib: this
// kernel has no tc netem) between two real node-datachannel peers. With the SCTP
// buffers Pond's transfer processes use (p2p/node/sctpSettings.ts), the
// association takes more than libdatachannel's default 1 MiB from Pond at once:
// what bounds the bytes in flight is the link's congestion window, not a
// constant 1 MiB a round trip (5 MiB/s at 200 ms, whatever the link).
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DelayLink } from "../../bench/lib/delayLink.ts";
import { candidateAddress, withCandidateAddress } from "../../bench/lib/udpDelayProxy.ts";
import { receiveFiles, sendFiles } from "../../p2p/core/transfer.ts";
import { buildTransferManifest } from "../../p2p/node/buildTransferManifest.ts";
import { FsChunkSink } from "../../p2p/node/fsChunkSink.ts";
import { FsChunkSource } from "../../p2p/node/fsChunkSource.ts";
import type { OutgoingSignal } from "../../p2p/node/peer.ts";
import { applyTransferSctpSettings } from "../../p2p/node/sctpSettings.ts";
import { loopbackPeers } from "../helpers/loopbackPeers.ts";
import { useTempDir } from "../helpers/tempDir.ts";
import { sha256OfFile, writeRandomFiles } from "../helpers/testFiles.ts";

const MiB = 1024 * 1024;
const ROUND_TRIP_MS = 200;
const tempDir = useTempDir("p2p-long-link");
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("behavior: a long fat link", () => {
  it("hands SCTP more than 1 MiB at once at 200 ms round trip, and the files arrive intact", { timeout: 120_000 }, async () => {
    // What every transfer process does first (transferProcess.ts); this file's process is its own too.
    applyTransferSctpSettings();
    const link = new DelayLink(ROUND_TRIP_MS / 2);
    cleanups.push(() => link.close());
    // Each candidate the peers exchange names a front of the delay proxy instead: every packet takes ROUND_TRIP_MS / 2 each way.
    const throughLink = (message: OutgoingSignal, forward: (replacement?: OutgoingSignal) => void) => {
      const address = message.type === "candidate" ? candidateAddress(message.payload.candidate) : undefined;
      if (message.type !== "candidate" || !address) return forward();
      void link.front(address).then((front) => forward({ type: "candidate", payload: { ...message.payload, candidate: withCandidateAddress(message.payload.candidate, front) } }));
    };
    const peers = loopbackPeers({ creator: { intercept: throughLink }, provider: { intercept: throughLink } });
    cleanups.push(() => peers.close());
    await Promise.all([peers.creator.connected, peers.provider.connected]);

    const from = join(tempDir(), "from");
    const to = join(tempDir(), "to");
    await writeRandomFiles(from, { "data.bin": 12 * MiB + 3 });
    const manifest = await buildTransferManifest(from, ["data.bin"]);
    const source = new FsChunkSource(from);
    const sink = new FsChunkSink(to);
    cleanups.push(() => source.close(), () => sink.close());
    // Sent by the provider's SCTP and not yet delivered to the creator: in flight, or waiting in SCTP's buffers for the window.
    let mostOutstanding = 0;
    const sample = setInterval(() => {
      mostOutstanding = Math.max(mostOutstanding, peers.provider.sctpBytes().sent - peers.creator.sctpBytes().received);
    }, 5);
    cleanups.push(() => clearInterval(sample));
    const [sent, received] = await Promise.all([sendFiles(peers.provider, manifest, source), receiveFiles(peers.creator, manifest, sink)]);
    expect(received.bytes).toBe(12 * MiB + 3);
    expect(sent.bytes).toBe(12 * MiB + 3);
    expect(await sha256OfFile(join(to, "data.bin"))).toBe(manifest.files[0]!.sha256);
    // libdatachannel's default buffers never hold more than 1 MiB (and a message) outstanding.
    expect(mostOutstanding).toBeGreaterThan(4 * MiB);
  });
});
