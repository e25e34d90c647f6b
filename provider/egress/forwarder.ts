// The only listener an egress job can reach: run by jobNetwork.ts inside the
// job's network namespace (nsenter --net), it takes connections on
// 127.0.0.1:<port>. While the daemon that started it is there (its IPC
// channel), each connection is handed to the daemon's proxy as it is (the
// socket itself, over the channel): the proxy then moves the job's bytes with
// no copy here. Without the channel (a daemon that restarted, or a start by
// hand), it pipes each connection, both ways, to the daemon's proxy on a unix
// socket (a path, so reached through the filesystem, not the namespace). It
// decides nothing: what may leave is the proxy's call. It outlives the daemon
// (a process group of its own) and exits once the holder container, whose
// namespace it serves, is gone.
// Arguments: <port> <unix socket path> <holder pid>. Ready: "listening" on fd 3.
import { closeSync, statSync, writeSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { HANDOVER_MESSAGE } from "./handover.ts";

const LOOK_EVERY_MS = 1_000;
/** How soon connections the daemon's channel held when it went are relayed instead. */
const STRANDED_CHECK_MS = 200;
/** Each connection holds two sockets here; the proxy bounds what a job may have open, this only bounds this process's files. */
const MAX_CONNECTIONS = 512;

function say(message: string, extra: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), msg: message, ...extra })}\n`);
}

function parseArgs(argv: readonly string[]): { port: number; socketPath: string; holderPid: number } {
  const [port, socketPath, holderPid] = [Number(argv[0]), argv[1], Number(argv[2])];
  if (!Number.isInteger(port) || port <= 0 || port > 65_535 || !socketPath || !Number.isInteger(holderPid) || holderPid <= 1) {
    throw new Error(`usage: forwarder.ts <port> <unix socket path> <holder pid>; got ${JSON.stringify(argv)}`);
  }
  return { port, socketPath, holderPid };
}

let proxyDownSaid = false;

const netnsOf = (pid: number | "self") => statSync(`/proc/${pid}/ns/net`).ino;

/** The holder is gone when its pid is, or when the pid now names a process in another namespace (reused). */
function holderAlive(pid: number, ownNetns: number): boolean {
  try {
    return netnsOf(pid) === ownNetns;
  } catch {
    return false;
  }
}

/**
 * Pipes one connection to the proxy, each direction ended on its own (half
 * close, as HTTP clients use it); sockets close themselves once both directions
 * are done, and either failing ends both.
 */
function relay(job: Socket, socketPath: string): void {
  const proxy = connect({ path: socketPath, allowHalfOpen: true });
  proxy.once("connect", () => (proxyDownSaid = false));
  const end = () => {
    job.destroy();
    proxy.destroy();
  };
  job.on("error", end);
  proxy.on("error", (error) => {
    // Once per outage: a job retrying in a loop must not fill the job's folder with this.
    if (!proxyDownSaid) say("could not reach the proxy", { error: error.message });
    proxyDownSaid = true;
    end();
  });
  job.pipe(proxy);
  proxy.pipe(job);
}

/** A connection the job has not closed meanwhile: a closed one would leave the proxy's side open for nothing. */
function relayIfOpen(job: Socket, socketPath: string): void {
  if (!job.destroyed) relay(job, socketPath);
}

/** Connections sent to the daemon and not yet through: relayed here instead should the channel go first. */
const handing = new Set<Socket>();

/**
 * Hands the connection to the daemon. Kept open here until the send is through: a send that fails calls
 * back with the error, but those queued behind one in flight are dropped without a word when the daemon
 * goes (relayStranded relays them); paused, none has been read from.
 */
function handOver(job: Socket, socketPath: string): void {
  handing.add(job);
  // Held here meanwhile: a failure of it must end it, not the forwarder (an 'error' with no listener throws).
  job.on("error", () => job.destroy());
  process.send!(HANDOVER_MESSAGE, job, { keepOpen: true }, (error: Error | null) => {
    if (!handing.delete(job)) return;
    if (error) relayIfOpen(job, socketPath);
    // The daemon has the descriptor now: this copy goes (closing one copy ends nothing), and with it its slot here.
    else job.destroy();
  });
}

function main(): void {
  const { port, socketPath, holderPid } = parseArgs(process.argv.slice(2));
  const ownNetns = netnsOf("self");
  const open = new Set<Socket>();
  // Paused: a connection handed over must not have been read from here.
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
    open.add(socket);
    socket.once("close", () => open.delete(socket));
    if (process.connected) handOver(socket, socketPath);
    else relay(socket, socketPath);
  });
  server.maxConnections = MAX_CONNECTIONS;
  // The daemon gone, what its channel still held is relayed. Node emits no 'disconnect' while sends
  // wait for the daemon's acknowledgement (they never get one now): `connected` is what turns at once.
  const relayStranded = () => {
    if (process.connected || handing.size === 0) return;
    for (const job of handing) relayIfOpen(job, socketPath);
    handing.clear();
  };
  process.on("disconnect", relayStranded);
  setInterval(relayStranded, STRANDED_CHECK_MS).unref();
  server.once("error", (error) => {
    say("could not listen", { error: error.message, port });
    process.exit(1);
  });
  server.listen(port, "127.0.0.1", () => {
    say("listening", { port, socketPath, holderPid });
    try {
      writeSync(3, "listening\n");
      closeSync(3);
    } catch {
      // Started without a readiness pipe (by hand): the log line says it.
    }
  });
  const watch = setInterval(() => {
    if (holderAlive(holderPid, ownNetns)) return;
    say("the holder is gone; exiting", { holderPid });
    clearInterval(watch);
    server.close();
    for (const socket of open) socket.destroy();
    process.exit(0);
  }, LOOK_EVERY_MS);
}

main();
