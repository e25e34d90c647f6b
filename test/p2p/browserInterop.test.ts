// A real browser against a real node-datachannel peer: headless Chromium runs
// the dashboard's BrowserPeer (RTCPeerConnection) and MemorySink with the
// transfer core, and receives files that a NodePeer serves with sendFiles, as
// the provider daemon does. Signaling goes through the test's WebSocket relay
// (the job's rendezvous object plays that part in Pond: test/worker/signaling/).
// Both peers use loopback only: node-datachannel binds 127.0.0.1 and Chromium is
// allowed loopback candidates, with real host addresses rather than mDNS names.
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendFiles } from "../../p2p/core/transfer.ts";
import { buildTransferManifest } from "../../p2p/node/buildTransferManifest.ts";
import { FsChunkSource } from "../../p2p/node/fsChunkSource.ts";
import { NodePeer } from "../../p2p/node/peer.ts";
import { parseServerSignal, SIGNALING_PROTOCOL_VERSION } from "../../protocol/signaling.ts";
import type { TransferManifest } from "../../protocol/transfer.ts";
import { launchBrowser, type TestBrowser } from "../e2e/dashboard/browser.ts";
import { sha256OfFile, writeRandomFiles } from "../helpers/testFiles.ts";
import { connectSignaling, type WsSignalingClient } from "../helpers/wsSignalingClient.ts";
import { startWsSignalingRelay, type WsSignalingRelay } from "../helpers/wsSignalingRelay.ts";

const MiB = 1024 * 1024;
const SIZES = { "result.bin": 24 * MiB + 12345, "logs/summary.txt": 3000, "empty.txt": 0 };

let relay: WsSignalingRelay;
let page: Server;
let pageUrl: string;
let browser: TestBrowser;
let manifest: TransferManifest;
let filesDir: string;
const cleanups: Array<() => Promise<void>> = [];

/** The page's script, bundled the way the dashboard's is (Vite), into memory. */
async function bundlePage(): Promise<string> {
  const output = await build({
    configFile: false,
    logLevel: "warn",
    root: join(import.meta.dirname, "../.."),
    build: { write: false, target: "es2022", minify: false, rolldownOptions: { input: join(import.meta.dirname, "fixtures/browserReceiver.ts"), output: { format: "iife" } } },
  });
  const results = Array.isArray(output) ? output : [output];
  const chunk = results.flatMap((result) => ("output" in result ? result.output : [])).find((file) => file.type === "chunk");
  if (!chunk || chunk.type !== "chunk") throw new Error("vite built no script for the page");
  return chunk.code;
}

beforeAll(async () => {
  filesDir = await mkdtemp(join(tmpdir(), "pond-browser-interop-"));
  cleanups.push(() => rm(filesDir, { recursive: true, force: true }));
  await writeRandomFiles(filesDir, SIZES);
  manifest = await buildTransferManifest(filesDir, Object.keys(SIZES));
  const script = await bundlePage();
  page = createServer((request, response) => {
    if (request.url === "/manifest.json") return void response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(manifest));
    if (request.url === "/receiver.js") return void response.writeHead(200, { "content-type": "text/javascript" }).end(script);
    response.writeHead(200, { "content-type": "text/html" }).end('<!doctype html><meta charset="utf-8"><title>receiver</title><script src="/receiver.js"></script>');
  });
  page.listen(0, "127.0.0.1");
  await once(page, "listening");
  pageUrl = `http://127.0.0.1:${(page.address() as { port: number }).port}`;
  relay = await startWsSignalingRelay();
  browser = await launchBrowser({ extraArgs: ["--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns"] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await relay?.close();
  page?.close();
  for (const cleanup of cleanups) await cleanup();
});

interface ServedConnection {
  route: string;
  chunksRequested: number;
  error: string | null;
}

/** The provider's part: answers each offer the creator makes with a new NodePeer and serves the files on it. */
async function serveAsProvider(): Promise<{ connections: ServedConnection[]; signaling: WsSignalingClient; stop(): void }> {
  const signaling = await connectSignaling(relay.url, "provider");
  const connections: ServedConnection[] = [];
  const peers: NodePeer[] = [];
  let current: NodePeer | undefined;
  signaling.onFrame((raw) => {
    const parsed = parseServerSignal(raw);
    if (!parsed.ok) throw new Error(parsed.error);
    const frame = parsed.message;
    if (frame.type !== "offer" && frame.type !== "candidate" && frame.type !== "leave") return;
    if (frame.type === "offer") {
      const peer = new NodePeer({ role: "answer", bindAddress: "127.0.0.1", connectTimeoutMs: 20_000, signal: (message) => signaling.send(JSON.stringify({ v: SIGNALING_PROTOCOL_VERSION, dst: "creator", ...message })) });
      peers.push(peer);
      current = peer;
      const served: ServedConnection = { route: "", chunksRequested: 0, error: null };
      connections.push(served);
      const source = new FsChunkSource(filesDir);
      void peer.connected
        .then(async () => {
          served.route = peer.route();
          await sendFiles(peer, manifest, source, { onRequest: (_file, chunks) => (served.chunksRequested += chunks.length) });
        })
        .catch((error: Error) => (served.error = error.name))
        .finally(() => void source.close());
    }
    current?.receiveSignal(frame);
  });
  return {
    connections,
    signaling,
    stop() {
      for (const peer of peers) peer.close();
      signaling.close();
    },
  };
}

async function receiveInBrowser(query: string) {
  const tab = await browser.newPage();
  try {
    await tab.goto(`${pageUrl}/?relay=${encodeURIComponent(relay.url)}${query}`);
    await tab.waitForFunction(() => window.pondOutcome !== undefined, undefined, { timeout: 90_000 });
    return await tab.evaluate(() => window.pondOutcome!);
  } finally {
    await tab.close();
  }
}

describe("Chromium's RTCPeerConnection against node-datachannel, with Pond's transfer protocol", () => {
  it("receives every file intact over a direct route, each byte checked against the manifest", async () => {
    const provider = await serveAsProvider();
    try {
      const outcome = await receiveInBrowser("");
      expect(outcome).toMatchObject({ ok: true });
      if (!outcome.ok) return;
      expect(outcome.connections).toEqual([{ route: "direct", bytes: 24 * MiB + 12345 + 3000, resumedBytes: 0, interrupted: null }]);
      const expected = await Promise.all(Object.entries(SIZES).map(async ([path, size]) => ({ path, size, sha256: await sha256OfFile(join(filesDir, path)) })));
      expect(outcome.files).toEqual(expected);
      expect(provider.connections.map((c) => c.route)).toEqual(["direct"]);
    } finally {
      provider.stop();
    }
  });

  it("resumes on a new connection after the first is cut half way, asking only for what it lacks", async () => {
    const provider = await serveAsProvider();
    try {
      const outcome = await receiveInBrowser("&cut=1");
      expect(outcome).toMatchObject({ ok: true });
      if (!outcome.ok) return;
      const [first, second] = outcome.connections;
      expect(first).toMatchObject({ interrupted: "TransferInterruptedError" });
      expect(second!.interrupted).toBeNull();
      // What the first connection verified is not fetched again: the second brings exactly the rest.
      expect(second!.resumedBytes).toBeGreaterThanOrEqual((24 * MiB) / 2);
      expect(second!.resumedBytes + second!.bytes).toBe(24 * MiB + 12345 + 3000);
      const chunksInManifest = manifest.files.reduce((sum, file) => sum + file.chunks.length, 0);
      expect(provider.connections).toHaveLength(2);
      expect(provider.connections[1]!.chunksRequested).toBeLessThan(chunksInManifest);
      for (const file of outcome.files) expect(file.sha256).toBe(await sha256OfFile(join(filesDir, file.path)));
    } finally {
      provider.stop();
    }
  });
});
