// The manifest a sender hands over before a transfer, between two real
// node-datachannel peers on loopback, and the receiver's check of it against
// the files it trusts.
import { describe, expect, it } from "vitest";
import { checkManifestFiles, ManifestMismatchError, manifestParts, receiveManifest, sendManifest } from "../../p2p/core/manifestExchange.ts";
import { MANIFEST_PART_CHARS, TRANSFER_PROTOCOL_VERSION, type TransferManifest } from "../../protocol/transfer.ts";
import { loopbackPeers } from "../helpers/loopbackPeers.ts";

const hex = (n: number) => n.toString(16).padStart(64, "0");

/** Many files, each with many chunks: a manifest that takes several messages. */
function bigManifest(files: number): TransferManifest {
  return {
    v: TRANSFER_PROTOCOL_VERSION,
    files: Array.from({ length: files }, (_, i) => ({ path: `dir/file-${i}.bin`, size: 8 * 1024 * 1024, sha256: hex(i), chunk_size: 1024 * 1024, chunks: Array.from({ length: 8 }, (_, c) => hex(i * 100 + c)) })),
  };
}

describe("the manifest exchange", () => {
  it("arrives whole over a real data channel when it takes several messages", async () => {
    const manifest = bigManifest(300);
    expect(manifestParts(manifest).length).toBeGreaterThan(2);
    const peers = loopbackPeers();
    try {
      const received = receiveManifest(peers.creator);
      await Promise.all([peers.creator.connected, peers.provider.connected]);
      const [channel] = await peers.provider.whenChannels(1);
      sendManifest(channel!, manifest);
      expect(await received).toEqual(manifest);
    } finally {
      peers.close();
    }
  });

  it("cuts the JSON into parts no longer than a part may be", () => {
    for (const part of manifestParts(bigManifest(300))) expect(part.data.length).toBeLessThanOrEqual(MANIFEST_PART_CHARS);
  });

  it("fails when the sender sends data before its manifest", async () => {
    const peers = loopbackPeers();
    try {
      const received = receiveManifest(peers.creator);
      await Promise.all([peers.creator.connected, peers.provider.connected]);
      const [channel] = await peers.provider.whenChannels(1);
      channel!.sendBinary(new Uint8Array(32));
      await expect(received).rejects.toThrow(/data before its manifest/);
    } finally {
      peers.close();
    }
  });

  it("fails when the connection closes before the manifest is complete", async () => {
    const peers = loopbackPeers();
    const received = receiveManifest(peers.creator);
    await Promise.all([peers.creator.connected, peers.provider.connected]);
    peers.provider.close();
    await expect(received).rejects.toThrow(/before the manifest arrived/);
    peers.close();
  });
});

describe("checking the sender's manifest against the trusted files", () => {
  const manifest = bigManifest(2);
  const trusted = manifest.files.map(({ path, size, sha256 }) => ({ path, size, sha256 }));

  it("accepts exactly the trusted files, in any order", () => {
    expect(() => checkManifestFiles(manifest, [...trusted].reverse())).not.toThrow();
  });

  it("refuses a file whose sha256 differs, naming it", () => {
    const lying = { ...manifest, files: [{ ...manifest.files[0]!, sha256: hex(999) }, manifest.files[1]!] };
    expect(() => checkManifestFiles(lying, trusted)).toThrow(ManifestMismatchError);
    expect(() => checkManifestFiles(lying, trusted)).toThrow(/"dir\/file-0\.bin"/);
  });

  it("refuses a missing file and an extra one", () => {
    expect(() => checkManifestFiles({ ...manifest, files: [manifest.files[0]!] }, trusted)).toThrow(/1 file\(s\); 2 expected/);
    expect(() => checkManifestFiles(manifest, trusted.slice(0, 1))).toThrow(/2 file\(s\); 1 expected/);
  });
});
