// A job's plain HTTP request through the proxy (what HTTP_PROXY clients send:
// `GET http://host:port/path`): the target checked, the request sent to the
// checked address on a connection of its own, the answer streamed back. Bodies
// are piped, never buffered, and every byte on the upstream connection counted.
import { type IncomingMessage, request, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { EgressContext } from "./context.ts";
import { relayAt } from "./rate.ts";
import { connectAdmitted, failureCode } from "./upstream.ts";

/** Headers for one hop only (RFC 9110 §7.6.1), plus the proxy's own. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"]);

interface ProxyTarget {
  host: string;
  port: number;
  /** host[:port] as the URL names it: the Host header the origin gets. */
  authority: string;
  path: string;
}

/** The target of an absolute-form request, or why it is not one a proxy forwards. */
export function proxyTarget(url: string | undefined): ProxyTarget | { error: string } {
  const match = /^http:\/\/([^/?#]+)([^#]*)/i.exec(url ?? "");
  if (!match) {
    return /^https:/i.test(url ?? "")
      ? { error: "an https URL goes through CONNECT (HTTPS_PROXY), not a plain proxy request" }
      : { error: "this is an egress proxy: send an absolute-form request (GET http://host/path) or CONNECT host:port" };
  }
  let parsed: URL;
  try {
    parsed = new URL(`http://${match[1]}`);
  } catch {
    return { error: "the request's URL is not valid" };
  }
  return { host: parsed.hostname, port: parsed.port === "" ? 80 : Number(parsed.port), authority: parsed.host, path: match[2] || "/" };
}

/** rawHeaders without the hop-by-hop ones, nor any that Connection names. */
export function endToEndHeaders(rawHeaders: readonly string[]): string[] {
  const dropped = new Set(HOP_BY_HOP);
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() !== "connection") continue;
    for (const name of rawHeaders[i + 1]!.split(",")) dropped.add(name.trim().toLowerCase());
  }
  const kept: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!dropped.has(rawHeaders[i]!.toLowerCase())) kept.push(rawHeaders[i]!, rawHeaders[i + 1]!);
  }
  return kept;
}

function answer(response: ServerResponse, status: number, reason: string): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const body = `${reason}\n`;
  // Connection: close, so an unread request body is not drained to keep the connection.
  response.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(body), connection: "close" });
  response.end(body);
}

export async function forwardRequest(incoming: IncomingMessage, response: ServerResponse, context: EgressContext): Promise<void> {
  const target = proxyTarget(incoming.url);
  if ("error" in target) {
    context.refuse({ status: 400, reason: target.error });
    answer(response, 400, target.error);
    return;
  }
  const admission = await context.admit(target.host, target.port);
  if (!admission.ok) {
    context.refuse({ ...admission, host: target.host, port: target.port });
    answer(response, admission.status, admission.reason);
    return;
  }
  const { host, port, address, release } = admission;
  if (response.destroyed) {
    release();
    return;
  }
  response.once("close", release);
  const upstream = await connectAdmitted({ host, port, address }, context);
  if ("unreachable" in upstream) {
    answer(response, 502, upstream.unreachable);
    return;
  }
  if (response.destroyed) {
    upstream.destroy();
    return;
  }
  send(incoming, response, upstream, context, { ...target, host });
}

function send(incoming: IncomingMessage, response: ServerResponse, upstream: Socket, context: EgressContext, target: ProxyTarget): void {
  const count = context.meter.connection(target.host, target.port);
  // Before the HTTP parser's own listener: a chunk that passes the budget has had the job's socket destroyed before it is parsed and passed on.
  upstream.on("data", (chunk: Buffer) => count("in", chunk.length));
  let counted = 0;
  const countOut = (bytes: number) => {
    counted += bytes;
    count("out", bytes);
  };
  // The body is counted before it is written (registered ahead of pipe()), so the chunk that passes the
  // budget is not sent; headers and chunked framing once written (bytesWritten includes what is queued).
  incoming.on("data", (chunk: Buffer) => countOut(chunk.length));
  const countWritten = () => {
    const fresh = upstream.bytesWritten - counted;
    if (fresh > 0) countOut(fresh);
  };
  const end = () => {
    countWritten();
    upstream.destroy();
    incoming.unpipe();
  };
  // Not the response: what the answer still holds (a slow reader's share) goes on after the socket closes.
  upstream.once("close", end);
  response.once("close", end);
  let outgoing;
  try {
    outgoing = request({ createConnection: () => upstream, method: incoming.method, path: target.path, headers: withoutHost(endToEndHeaders(incoming.rawHeaders), target.authority) });
  } catch {
    // Node refuses a path or header it would not send (ERR_UNESCAPED_CHARACTERS, ERR_INVALID_CHAR).
    context.refuse({ status: 400, reason: "the request has a path or header that cannot be forwarded", host: target.host, port: target.port });
    answer(response, 400, "the request has a path or header that cannot be forwarded");
    upstream.destroy();
    return;
  }
  // The socket's idle time: no byte either way, however long the answer takes to stream.
  outgoing.setTimeout(context.idleTimeoutMs, () => outgoing.destroy(new Error(`no byte either way for ${context.idleTimeoutMs} ms`)));
  outgoing.on("error", (error) => {
    if (response.headersSent) {
      response.destroy();
      return;
    }
    const reason = `${target.host}:${target.port} did not answer (${failureCode(error)})`;
    context.refuse({ status: 502, reason, host: target.host, port: target.port });
    answer(response, 502, reason);
  });
  outgoing.on("response", (answerIn) => {
    // Cut mid-answer (the socket closed, idle, or the budget passed): the job sees a broken response, not a short one that looks whole.
    answerIn.on("error", () => response.destroy());
    response.writeHead(answerIn.statusCode ?? 502, answerIn.statusMessage, endToEndHeaders(answerIn.rawHeaders));
    relayAt(context.rate, answerIn, response);
  });
  outgoing.on("finish", countWritten);
  relayAt(context.rate, incoming, outgoing);
}

/** The origin gets the URL's authority as Host, whatever the job wrote, so a header cannot select another host on the same server. */
function withoutHost(rawHeaders: string[], authority: string): string[] {
  const kept: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() !== "host") kept.push(rawHeaders[i]!, rawHeaders[i + 1]!);
  }
  return ["Host", authority, ...kept];
}
