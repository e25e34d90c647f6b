// A stand-in for a model hub on 127.0.0.1: the same routes over HTTP and over
// HTTPS (a self-signed certificate for hub.test and other.test, made with the
// openssl CLI), plus a raw TCP "flood" that writes as fast as its reader lets it,
// so a test can see whether backpressure reaches the writer.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { freePort } from "../../helpers/freePort.ts";

export interface SeenRequest {
  host: string | undefined;
  path: string;
  headers: Record<string, string | string[] | undefined>;
}

/** How far a writer got: bytes handed to write(), and whether it now waits for 'drain'. */
export interface FloodState {
  written: number;
  waitingForDrain: boolean;
  finished: boolean;
}

/** A connection the hub saw end, with the bytes on the wire (TLS included) each way. */
export interface ClosedSocket {
  server: "http" | "https" | "tcp";
  read: number;
  written: number;
}

export interface Hub {
  cert: Buffer;
  httpPort: number;
  httpsPort: number;
  floodPort: number;
  seen: SeenRequest[];
  closed: ClosedSocket[];
  /** The last flood's writer (TCP or HTTP /flood). */
  flood: FloodState;
  /** Sockets the hub accepted that are still open, any server. */
  openSockets(): number;
  close(): Promise<void>;
}

/** Bytes the hub serves at /bytes/N and in floods: a pattern a test can check. */
export function pattern(offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = (offset + i) % 251;
  return out;
}

export const FLOOD_BYTES = 96 * 1024 * 1024;
const CHUNK = 64 * 1024;

/** Writes `total` pattern bytes to `stream`, always waiting for 'drain' when write() says so. */
function writeWithBackpressure(stream: Writable, total: number, state: FloodState, end: () => void): void {
  const step = () => {
    while (state.written < total) {
      const length = Math.min(CHUNK, total - state.written);
      const more = stream.write(pattern(state.written, length));
      state.written += length;
      if (!more) {
        state.waitingForDrain = true;
        stream.once("drain", () => {
          state.waitingForDrain = false;
          step();
        });
        return;
      }
    }
    state.finished = true;
    end();
  };
  step();
}

export function makeCertificate(dir: string): { key: Buffer; cert: Buffer } {
  const key = join(dir, "hub.key");
  const cert = join(dir, "hub.crt");
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
    "-keyout", key, "-out", cert, "-subj", "/CN=hub.test", "-addext", "subjectAltName=DNS:hub.test,DNS:other.test",
  ], { stdio: "ignore" });
  return { key: readFileSync(key), cert: readFileSync(cert) };
}

async function listen(server: Server | TcpServer): Promise<number> {
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return port;
}

export async function startHub(certDir: string): Promise<Hub> {
  const { key, cert } = makeCertificate(certDir);
  const seen: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const hub = { flood: { written: 0, waitingForDrain: false, finished: false } } as Hub;
  const route = (request: IncomingMessage, response: ServerResponse) => {
    seen.push({ host: request.headers.host, path: request.url ?? "", headers: request.headers });
    const bytes = /^\/bytes\/(\d+)$/.exec(request.url ?? "");
    if (bytes) {
      const total = Number(bytes[1]);
      response.writeHead(200, { "content-type": "application/octet-stream", "content-length": total });
      writeWithBackpressure(response, total, { written: 0, waitingForDrain: false, finished: false }, () => response.end());
    } else if (request.url === "/flood") {
      hub.flood = { written: 0, waitingForDrain: false, finished: false };
      response.writeHead(200, { "content-type": "application/octet-stream", "content-length": FLOOD_BYTES });
      writeWithBackpressure(response, FLOOD_BYTES, hub.flood, () => response.end());
    } else if (request.url === "/hold") {
      // Never answered: a request in flight, until the connection goes.
    } else if (request.url === "/sink") {
      let length = 0;
      request.on("data", (chunk: Buffer) => (length += chunk.length));
      request.on("end", () => response.end(`got ${length}`));
    } else if (request.url === "/echo") {
      response.writeHead(200, { "content-type": "application/octet-stream" });
      request.pipe(response);
    } else {
      response.writeHead(200, { "content-type": "text/plain", "x-hop": "dropped by the proxy", connection: "x-hop" });
      response.end(`hello from ${request.headers.host}`);
    }
  };
  const http = createHttpServer(route);
  const https = createHttpsServer({ key, cert }, route);
  const tcp = createTcpServer((socket) => {
    socket.on("error", () => socket.destroy());
    hub.flood = { written: 0, waitingForDrain: false, finished: false };
    writeWithBackpressure(socket, FLOOD_BYTES, hub.flood, () => socket.end());
  });
  const closed: ClosedSocket[] = [];
  for (const [name, server] of [["http", http], ["https", https], ["tcp", tcp]] as const) {
    server.on("connection", (socket: Socket) => {
      sockets.add(socket);
      socket.on("close", () => {
        sockets.delete(socket);
        closed.push({ server: name, read: socket.bytesRead, written: socket.bytesWritten });
      });
    });
  }
  Object.assign(hub, {
    cert,
    seen,
    closed,
    httpPort: await listen(http),
    httpsPort: await listen(https),
    floodPort: await listen(tcp),
    openSockets: () => sockets.size,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await Promise.all([http, https, tcp].map((server) => new Promise((resolve) => server.close(resolve))));
    },
  });
  return hub;
}
