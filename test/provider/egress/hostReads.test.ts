// A tunnel's download side (hostReads.ts) on real loopback sockets: every read
// lands in the same buffer, so what the job gets is checked byte for byte
// against random data, with a reader that keeps stalling (writes left pending
// while the buffer would be read into again), under the provider's cap, and
// from a host that speaks before the relay is set up.
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { HOST_READ_BYTES, HostReads, readBytesFor } from "../../../provider/egress/hostReads.ts";
import { EgressRate } from "../../../provider/egress/rate.ts";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

async function listening(onConnection: (socket: Socket) => void): Promise<number> {
  const server = createServer(onConnection);
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return (server.address() as AddressInfo).port;
}

/** A host that writes `body` as soon as a connection opens, then ends. */
const hostSending = (body: Buffer) =>
  listening((socket) => {
    // A relay that ends early resets the connection mid-write.
    socket.on("error", () => undefined);
    socket.end(body);
  });

/** The job's end of a loopback pair: `job` reads, `proxySide` is what the relay writes to. */
async function jobPair(): Promise<{ job: Socket; proxySide: Socket }> {
  let accepted: (socket: Socket) => void = () => undefined;
  const proxySideReady = new Promise<Socket>((resolve) => (accepted = resolve));
  const port = await listening((socket) => {
    socket.on("error", () => undefined);
    accepted(socket);
  });
  const job = connect({ host: "127.0.0.1", port });
  job.on("error", () => undefined);
  await once(job, "connect");
  return { job, proxySide: await proxySideReady };
}

/** Reads to the end, pausing for a while every few reads so the relay's writes pile up. */
function readStalling(job: Socket, everyReads: number, stallMs: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let reads = 0;
  job.on("data", (chunk: Buffer) => {
    chunks.push(chunk);
    if (++reads % everyReads !== 0) return;
    job.pause();
    setTimeout(() => job.resume(), stallMs);
  });
  return once(job, "end").then(() => Buffer.concat(chunks));
}

async function relayed(body: Buffer, options: { share?: ReturnType<EgressRate["share"]>; relayAfterMs?: number; stallEvery?: number } = {}) {
  const port = await hostSending(body);
  const { job, proxySide } = await jobPair();
  const reads = new HostReads(options.share);
  const host = connect({ host: "127.0.0.1", port, onread: reads.onread });
  await once(host, "connect");
  let counted = 0;
  const received = readStalling(job, options.stallEvery ?? 8, 5);
  if (options.relayAfterMs) await new Promise((resolve) => setTimeout(resolve, options.relayAfterMs));
  reads.relay(host, proxySide, { count: (bytes) => (counted += bytes) });
  const got = await received;
  host.destroy();
  job.destroy();
  return { got, counted };
}

describe("a tunnel's host reads", () => {
  it("carry many buffers' worth of random bytes whole to a reader that keeps stalling, every byte counted once", async () => {
    const body = randomBytes(48 * HOST_READ_BYTES + 12_345);
    const { got, counted } = await relayed(body);
    expect(got.length).toBe(body.length);
    expect(sha256(got)).toBe(sha256(body));
    expect(counted).toBe(body.length);
  });

  it("carry them whole while the provider's cap holds each read back for its turn", async () => {
    const rate = new EgressRate(64 * 1024 * 1024);
    const body = randomBytes(24 * HOST_READ_BYTES + 777);
    const { got, counted } = await relayed(body, { share: rate.share() });
    expect(sha256(got)).toBe(sha256(body));
    expect(counted).toBe(body.length);
  });

  it("keep what a host that speaks first sent before the relay began, in order, and the rest after it", async () => {
    const body = randomBytes(3 * HOST_READ_BYTES + 5);
    const { got, counted } = await relayed(body, { relayAfterMs: 100, stallEvery: 2 });
    expect(sha256(got)).toBe(sha256(body));
    expect(counted).toBe(body.length);
  });

  it("stop at the read that the count's handler ended the sockets for: nothing of it reaches the job", async () => {
    const body = randomBytes(16 * HOST_READ_BYTES);
    const port = await hostSending(body);
    const { job, proxySide } = await jobPair();
    const reads = new HostReads();
    const host = connect({ host: "127.0.0.1", port, onread: reads.onread });
    await once(host, "connect");
    const budget = 4 * HOST_READ_BYTES;
    let counted = 0;
    let lastRead = 0;
    const chunks: Buffer[] = [];
    job.on("data", (chunk: Buffer) => chunks.push(chunk));
    const closed = once(job, "close");
    reads.relay(host, proxySide, {
      count: (bytes) => {
        counted += bytes;
        lastRead = bytes;
        if (counted <= budget) return;
        host.destroy();
        proxySide.destroy();
      },
    });
    await closed;
    const got = Buffer.concat(chunks);
    expect(counted).toBeGreaterThan(budget);
    // What arrived is the start of the body and never the read that passed the budget.
    expect(got.length).toBeLessThanOrEqual(budget);
    expect(got.length).toBeLessThanOrEqual(counted - lastRead);
    expect(sha256(got)).toBe(sha256(body.subarray(0, got.length)));
  });

  it("take less of each read where a provider allows a job more connections, so its buffers stay within 8 MiB", () => {
    expect(readBytesFor(32)).toBe(HOST_READ_BYTES);
    expect(readBytesFor(64)).toBe(128 * 1024);
    expect(readBytesFor(1024)).toBe(64 * 1024);
    for (const connections of [1, 16, 32, 100, 128]) expect(readBytesFor(connections) * connections, String(connections)).toBeLessThanOrEqual(8 * 1024 * 1024);
  });
});
