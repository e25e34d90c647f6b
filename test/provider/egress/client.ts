// A job's side of the egress proxy, as real clients do it: CONNECT written by
// hand on the unix socket then TLS over the tunnel (what HTTPS_PROXY clients
// do), and absolute-form plain HTTP requests (what HTTP_PROXY clients do).
import { type IncomingMessage, request } from "node:http";
import { connect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";

export interface ConnectAnswer {
  status: number;
  /** The proxy's plain-text reason, for a refusal. */
  body: string;
  /** The tunnel, for a 200. */
  socket: Socket;
}

/** Where the job reaches the proxy: its unix socket's path, or a port on 127.0.0.1 (a forwarder's). */
export type ProxyAt = string | { port: number };

/** Sends CONNECT `authority` through the proxy at `proxyAt` and reads its answer. */
export function connectVia(proxyAt: ProxyAt, authority: string): Promise<ConnectAnswer> {
  return new Promise((resolve, reject) => {
    const socket = typeof proxyAt === "string" ? connect({ path: proxyAt }) : connect({ host: "127.0.0.1", port: proxyAt.port });
    let buffered = Buffer.alloc(0);
    const onError = (error: Error) => reject(error);
    const onClose = () => reject(new Error(`the proxy closed without answering CONNECT ${authority}`));
    socket.on("error", onError);
    socket.on("close", onClose);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.removeListener("data", onData);
      socket.removeListener("error", onError);
      socket.removeListener("close", onClose);
      socket.pause();
      const head = buffered.subarray(0, end).toString("latin1");
      const rest = buffered.subarray(end + 4);
      const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1]);
      if (status === 200) {
        if (rest.length > 0) socket.unshift(rest);
        socket.on("error", () => socket.destroy());
        resolve({ status, body: "", socket });
        return;
      }
      const chunks: Buffer[] = [rest];
      socket.on("data", (more: Buffer) => chunks.push(more));
      socket.on("error", () => socket.destroy());
      socket.on("close", () => resolve({ status, body: Buffer.concat(chunks).toString("utf8").trim(), socket }));
      socket.resume();
    };
    socket.on("data", onData);
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  });
}

export interface HttpAnswer {
  status: number;
  headers: IncomingMessage["headers"];
  body: Buffer;
}

function readAnswer(response: IncomingMessage): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on("data", (chunk: Buffer) => chunks.push(chunk));
    response.on("error", reject);
    response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }));
  });
}

/** An HTTPS request inside an established tunnel, the hub's certificate as the only CA. */
export function httpsInTunnel(tunnel: Socket, servername: string, ca: Buffer, path: string): Promise<HttpAnswer> {
  const tls = tlsConnect({ socket: tunnel, servername, ca });
  return new Promise((resolve, reject) => {
    const outgoing = request({ createConnection: () => tls, path, headers: { host: servername, connection: "close" } }, (response) =>
      readAnswer(response).then(resolve, reject),
    );
    outgoing.on("error", reject);
    outgoing.end();
  });
}

/** CONNECT then HTTPS: the whole of what an HTTPS_PROXY client does. */
export async function httpsVia(socketPath: string, host: string, port: number, ca: Buffer, path: string): Promise<HttpAnswer> {
  const answer = await connectVia(socketPath, `${host}:${port}`);
  if (answer.status !== 200) throw new Error(`CONNECT answered ${answer.status}: ${answer.body}`);
  return httpsInTunnel(answer.socket, host, ca, path);
}

/** A plain proxy request: `url` in absolute form (or origin form, to test the refusal). */
export function httpVia(socketPath: string, url: string, options: { headers?: Record<string, string>; method?: string; body?: Buffer } = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = request({ socketPath, path: url, method: options.method ?? "GET", headers: options.headers, agent: false }, (response) =>
      readAnswer(response).then(resolve, reject),
    );
    outgoing.on("error", reject);
    outgoing.end(options.body);
  });
}
