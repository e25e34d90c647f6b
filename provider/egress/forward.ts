// A job's plain HTTP request through the proxy (what HTTP_PROXY clients send:
// `GET http://host:port/path`): the target checked, the request sent to the
// checked address on a connection of its own, the answer streamed back. Once
// the host is connected the proxy writes the answer to the job's socket itself,
// not through the HTTP server's response (which stays unsent; the server still
// reads the socket, and proxy.ts keeps it from answering anything more there):
// the request's head written for the host (httpHeads.ts), then the body as it
// comes (one request a connection: every answer says Connection: close); the host's answer passed on byte for byte after its head, read into a
// buffer of its own like a tunnel's (hostReads.ts), with Connection: close both
// ways, so the answer ends when the host closes and no HTTP parser stands
// between the host's bytes and the job's. Every byte on the host's connection
// is counted before it is passed on.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { Transform } from "node:stream";
import type { EgressContext } from "./context.ts";
import { HostReads } from "./hostReads.ts";
import { AnswerHeadReader, bodyFraming, type ProxyTarget, proxyTarget, requestHead } from "./httpHeads.ts";
import { relayAt } from "./rate.ts";
import { answerAndClose } from "./tunnel.ts";
import { connectAdmitted } from "./upstream.ts";

const UNSENDABLE = "the request has a path or header that cannot be forwarded";
/** The job's sockets whose one request is taken: its answer, however it comes, is the only one. */
const taken = new WeakSet<Socket>();

/** Whether this socket's request is taken, so nothing but its answer may be written to it (proxy.ts). */
export function requestTaken(socket: Socket): boolean {
  return taken.has(socket);
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
  // A request pipelined behind the first gets a 503 through the server, queued behind the first's response,
  // which never ends (its answer is written past it): never sent, but counted by Node's own guard against
  // pipelined floods, which stops reading the socket once such answers pile up. Left unanswered instead, a
  // job's flood of them grew the daemon's heap without bound (300 MiB for 200,000). Told Connection: close,
  // the job's client sends it again on a connection of its own.
  if (taken.has(incoming.socket)) return answer(response, 503, "one request a connection: send it again on a new one");
  taken.add(incoming.socket);
  const target = proxyTarget(incoming.url);
  if ("error" in target) {
    context.refuse({ status: 400, reason: target.error });
    answer(response, 400, target.error);
    return;
  }
  const framing = bodyFraming(incoming.headers);
  const head = framing && requestHead(incoming.method ?? "GET", target, incoming.rawHeaders, framing);
  if (!framing || !head) {
    context.refuse({ status: 400, reason: UNSENDABLE, host: target.host, port: target.port });
    answer(response, 400, UNSENDABLE);
    return;
  }
  const admission = await context.admit(target.host, target.port);
  if (!admission.ok) {
    context.refuse({ ...admission, host: target.host, port: target.port });
    answer(response, admission.status, admission.reason);
    return;
  }
  const { host, port, address, release } = admission;
  const client = incoming.socket;
  // The slot goes with the job's socket: the response may never end (the answer is written past it).
  client.once("close", release);
  if (client.destroyed) {
    release();
    return;
  }
  const reads = new HostReads(context.rate, context.hostReadBytes);
  const upstream = await connectAdmitted({ host, port, address }, context, reads.onread);
  if ("unreachable" in upstream) {
    answer(response, 502, upstream.unreachable);
    return;
  }
  if (client.destroyed) {
    upstream.destroy();
    return;
  }
  send({ incoming, response, client, upstream, reads, head, chunkedBody: framing === "chunked" }, context, { ...target, host });
}

interface Exchange {
  incoming: IncomingMessage;
  response: ServerResponse;
  /** The job's socket. */
  client: Socket;
  /** The host's, made with `reads.onread`. */
  upstream: Socket;
  reads: HostReads;
  /** The request's head for the host. */
  head: Buffer;
  chunkedBody: boolean;
}

function send({ incoming, response, client, upstream, reads, head, chunkedBody }: Exchange, context: EgressContext, target: ProxyTarget): void {
  const count = context.meter.connection(target.host, target.port);
  const answerHead = new AnswerHeadReader();
  let answered = false;
  let jobGone = false;
  // Either side closing ends both: the job was told Connection: close, and the host was asked for it.
  const end = () => {
    upstream.destroy();
    client.destroy();
  };
  let failedAlready = false;
  /** Before the answer's head is through, the job hears why instead of a bare close. */
  const failed = (reason: string) => {
    if (failedAlready || jobGone) return;
    failedAlready = true;
    upstream.removeListener("close", hostClosed);
    upstream.destroy();
    context.refuse({ status: 502, reason, host: target.host, port: target.port });
    answerAndClose(client, 502, reason);
  };
  // After the head, a clean close is the answer's end (the relay ends the job's socket once its last byte
  // is written); a failed one cuts the answer, and the job sees it broken rather than short.
  const hostClosed = (hadError: boolean) => {
    if (!answered) failed(`${target.host}:${target.port} did not answer (${hadError ? "the connection failed" : "it closed the connection"})`);
    else if (hadError) end();
  };
  upstream.once("close", hostClosed);
  // The answer's last byte is out (the relay ends the job's socket after the host's end): the host's socket has
  // nothing more to carry. Not left for the job's close, which a job whose socket the server stopped reading
  // (a pipelined flood) is not heard to make.
  client.once("finish", () => upstream.destroy());
  client.once("close", () => {
    // The job went first (or its answer is through): nothing is the host's fault.
    jobGone = true;
    end();
  });
  // The host's socket is half-open capable: its end after the head is the answer's (the job's socket is ended
  // after the last byte and the job closes it, or the idle time does); before it, the host gave no answer.
  upstream.once("end", () => {
    if (!answered) failed(`${target.host}:${target.port} closed the connection without an answer`);
  });
  // The sockets' idle time: no byte either way, however long the answer takes to stream.
  const idle = () => {
    if (!answered) return failed(`${target.host}:${target.port} did not answer (no byte either way for ${context.idleTimeoutMs} ms)`);
    context.log.debug({ host: target.host, port: target.port }, "egress request idle; closing it");
    end();
  };
  upstream.setTimeout(context.idleTimeoutMs, idle);
  // Through the response, which the HTTP server asks before it destroys a socket that timed out.
  response.setTimeout(context.idleTimeoutMs, idle);
  reads.relay(upstream, client, {
    count: (bytes) => count("in", bytes),
    opening: (read) => {
      const reading = answerHead.push(read);
      if (reading.kind === "more") return "more";
      if (reading.kind === "malformed") {
        failed(`${target.host}:${target.port} sent ${reading.why}`);
        return "stop";
      }
      answered = true;
      return reading.bytes;
    },
  });
  // Counted before it is written, so the chunk that passes the budget never reaches the host.
  count("out", head.length);
  if (upstream.destroyed) return;
  upstream.write(head);
  if (!chunkedBody) incoming.on("data", (chunk: Buffer) => count("out", chunk.length));
  const body = chunkedBody ? incoming.pipe(chunkFramer(count)) : incoming;
  // The body goes on as the job sends it; the host's side stays open for the answer.
  relayAt(context.rate, body, upstream, { end: false });
}

/** The body of a chunked request framed again as chunks, each counted whole (framing too) before it goes. */
function chunkFramer(count: (direction: "out", bytes: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const framed = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]);
      count("out", framed.length);
      done(null, framed);
    },
    flush(done) {
      count("out", 5);
      done(null, Buffer.from("0\r\n\r\n"));
    },
  });
}
