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

/** Hands the connection to the daemon; relays it here if the channel fails before the daemon has it. */
function handOver(job: Socket, socketPath: string): void {
  process.send!(HANDOVER_MESSAGE, job, { keepOpen: false }, (error: Error | null) => {
    if (error && !job.destroyed) relay(job, socketPath);
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
