// A TCP relay in front of a server, so a test can cut every connection at
// once, or refuse every connection for a while — a real network failure, not a
// mocked one.
import { connect, createServer, type Socket } from "node:net";
import { freePort } from "./freePort.ts";

export interface TcpProxy {
  url: string;
  /** Destroys every open connection (the server and client see a broken TCP connection). */
  dropAll(): void;
  /** Drops every connection and cuts each new one at once, until resume(): the server is unreachable. */
  pause(): void;
  resume(): void;
  /** Holds every answer from the server for `ms` before passing it on (0: none): a slow link. */
  delay(ms: number): void;
  close(): Promise<void>;
}

/** `targetPort` may be a function, for a proxy started before its server (read at each connection). */
export async function startTcpProxy(targetPort: number | (() => number)): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let paused = false;
  let delayMs = 0;
  const server = createServer((client) => {
    if (paused) {
      client.destroy();
      return;
    }
    const upstream = connect(typeof targetPort === "function" ? targetPort() : targetPort, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => socket.destroy());
    }
    client.pipe(upstream);
    // Every chunk waits the same time, so they still arrive in order; undelayed, the client's pace holds the server back.
    upstream.on("data", (chunk: Buffer) => {
      if (delayMs > 0) {
        setTimeout(() => client.write(chunk), delayMs);
      } else if (!client.write(chunk)) {
        upstream.pause();
        client.once("drain", () => upstream.resume());
      }
    });
    upstream.on("end", () => (delayMs > 0 ? setTimeout(() => client.end(), delayMs) : client.end()));
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    dropAll() {
      for (const socket of sockets) socket.destroy();
    },
    pause() {
      paused = true;
      for (const socket of sockets) socket.destroy();
    },
    resume() {
      paused = false;
    },
    delay(ms) {
      delayMs = ms;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
