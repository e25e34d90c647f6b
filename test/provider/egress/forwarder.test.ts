// The forwarder program (provider/egress/forwarder.ts) when the daemon it hands connections
// to dies with some still on their way: those the channel dropped are relayed to the next
// daemon's socket, none left hanging. A real forwarder, in this namespace (its holder this
// process), started by a daemon process of its own that stalls and is then killed.
import { connect, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../../helpers/freePort.ts";
import { spawnProcess, type Spawned } from "../../helpers/processes.ts";
import { processAlive } from "../../helpers/processTree.ts";
import { useTempDir } from "../../helpers/tempDir.ts";
import { tsNode } from "../../helpers/tsNode.ts";

const tempDir = useTempDir("egress-forwarder");
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The next daemon's proxy, as far as a relayed connection can tell: it answers each request line with "relayed". */
async function nextDaemonAt(path: string): Promise<void> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => socket.destroy());
    socket.once("data", () => socket.end("relayed\n"));
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  cleanups.push(() => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => resolve());
  }));
}

/** A job's connection to the forwarder: its request sent, resolved with what came back once it ended. */
function request(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let answer = "";
    socket.on("data", (chunk: Buffer) => (answer += chunk.toString()));
    socket.on("error", () => socket.destroy());
    socket.on("close", () => resolve(answer));
    socket.write("GET http://model-hub.test/ HTTP/1.1\r\n\r\n");
  });
}

describe("a forwarder whose daemon dies with connections on their way", () => {
  it("relays every connection its channel had not delivered to the next daemon's socket, none left hanging", { timeout: 60_000 }, async () => {
    const port = await freePort();
    const socketPath = join(tempDir(), "egress.sock");
    const [node, args] = tsNode(join(import.meta.dirname, "stalledDaemon.ts"), [String(port), socketPath, String(process.pid), join(tempDir(), "forwarder.log")]);
    const daemon: Spawned = spawnProcess(node, args, { name: "stalled daemon" });
    cleanups.push(() => daemon.stop("SIGKILL"));
    const forwarderPid = Number((await daemon.waitFor(/ready \d+/, 30_000)).split(" ")[1]);
    cleanups.push(() => processAlive(forwarderPid) && process.kill(forwarderPid, "SIGKILL"));

    // The first connection stalls the daemon; the next ones wait on the channel for acknowledgements that never come.
    const first = request(port);
    await daemon.waitFor(/stalled/, 10_000);
    const queued = Array.from({ length: 10 }, () => request(port));
    await new Promise((resolve) => setTimeout(resolve, 500));
    await nextDaemonAt(socketPath);
    await daemon.stop("SIGKILL");

    const answers = await Promise.all(queued);
    // One may have been written to the dying daemon already (gone with it); the rest reach the next daemon.
    expect(answers.filter((answer) => answer === "relayed\n").length).toBeGreaterThanOrEqual(9);
    expect(await first).toBe("");
    expect(processAlive(forwarderPid)).toBe(true);
    // And the forwarder goes on relaying what comes after.
    expect(await request(port)).toBe("relayed\n");
  });
});
