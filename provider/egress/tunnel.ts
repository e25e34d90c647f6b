// A job's HTTP CONNECT (what HTTPS_PROXY clients send): the target checked,
// then a TCP connection to the checked address, relayed both ways so a slow
// side holds the other back instead of filling memory (the host's side read
// into a buffer of its own, hostReads.ts), with every byte counted before it
// is passed on. A tunnel whose TLS asks for
// another server name than the one the job connected to is cut (sni.ts).
import { type IncomingMessage, STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { EgressContext } from "./context.ts";
import { HostReads } from "./hostReads.ts";
import { relayAt } from "./rate.ts";
import { type HelloReading, MAX_HELLO_BYTES, readClientHello } from "./sni.ts";
import { connectAdmitted } from "./upstream.ts";

const AUTHORITY = /^([^:[\]]+|\[[^\]]*\]):(\d{1,5})$/;

/** A plain-text HTTP answer on a socket that is no HTTP server's any more, then the socket closed. */
export function answerAndClose(client: Socket, status: number, reason: string): void {
  const body = `${reason}\n`;
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}`,
    "Content-Type: text/plain; charset=utf-8",
    `Content-Length: ${Buffer.byteLength(body)}`,
    "Connection: close",
  ].join("\r\n");
  if (!client.writable) {
    client.destroy();
    return;
  }
  client.end(`${head}\r\n\r\n${body}`, () => client.destroy());
}

export async function openTunnel(request: IncomingMessage, client: Socket, head: Buffer, context: EgressContext): Promise<void> {
  const match = AUTHORITY.exec(request.url ?? "");
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65_535) {
    context.refuse({ status: 400, reason: "CONNECT needs host:port" });
    answerAndClose(client, 400, "CONNECT needs host:port");
    return;
  }
  const admission = await context.admit(match[1]!, port);
  if (!admission.ok) {
    context.refuse({ ...admission, host: match[1], port });
    answerAndClose(client, admission.status, admission.reason);
    return;
  }
  const { host, address, release } = admission;
  if (client.destroyed) {
    release();
    return;
  }
  const reads = new HostReads(context.rate, context.hostReadBytes);
  const upstream = await connectAdmitted({ host, port, address }, context, reads.onread);
  if ("unreachable" in upstream) {
    release();
    answerAndClose(client, 502, upstream.unreachable);
    return;
  }
  if (client.destroyed) {
    upstream.destroy();
    release();
    return;
  }
  relay(client, upstream, reads, head, context, { host, port, release });
}

function relay(client: Socket, upstream: Socket, reads: HostReads, head: Buffer, context: EgressContext, target: { host: string; port: number; release: () => void }): void {
  const count = context.meter.connection(target.host, target.port);
  let bytesOut = 0;
  let bytesIn = 0;
  // Counted before pipe()'s own 'data' listener runs (and each host read before it is
  // passed on), so a chunk that passes the budget is never forwarded: the budget's
  // handler has destroyed both sockets.
  client.on("data", (chunk: Buffer) => {
    bytesOut += chunk.length;
    count("out", chunk.length);
  });
  const countIn = (bytes: number) => {
    bytesIn += bytes;
    count("in", bytes);
  };
  let open = 2;
  const closed = () => {
    client.destroy();
    upstream.destroy();
    if (--open > 0) return;
    target.release();
    context.log.debug({ host: target.host, port: target.port, bytes_out: bytesOut, bytes_in: bytesIn }, "egress tunnel closed");
  };
  client.once("close", closed);
  upstream.once("close", closed);
  // A stalled job must not hold sockets forever: no byte either way for this long ends the tunnel.
  const idle = () => {
    context.log.debug({ host: target.host, port: target.port }, "egress tunnel idle; closing it");
    client.destroy();
    upstream.destroy();
  };
  client.setTimeout(context.idleTimeoutMs, idle);
  upstream.setTimeout(context.idleTimeoutMs, idle);
  client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
  if (head.length > 0) {
    count("out", head.length);
    bytesOut += head.length;
  }
  reads.relay(upstream, client, { count: countIn });
  awaitHello(client, head, (first, reading) => {
    const refusal = helloRefusal(reading, target);
    if (refusal) {
      context.refuse({ status: 403, reason: refusal, host: target.host, port: target.port });
      client.destroy();
      upstream.destroy();
      return;
    }
    const forward = () => {
      if (first.length > 0 && !upstream.destroyed) upstream.write(first);
      relayAt(context.rate, client, upstream);
    };
    // The bytes held while reading the hello take their turn under the cap like any other.
    if (context.rate && first.length > 0) context.rate.hold(first.length, forward);
    else forward();
  });
}

/** Holds the job's first bytes until they show whether, and for which server name, they start TLS. */
function awaitHello(client: Socket, head: Buffer, decided: (first: Buffer, reading: HelloReading) => void): void {
  let first = head;
  const reading = readClientHello(first);
  if (reading.kind !== "more") return decided(first, reading);
  const settle = (reading: HelloReading) => {
    client.removeListener("data", onData);
    client.removeListener("end", hungUp);
    client.pause();
    decided(first, reading);
  };
  // Not read to the end by a server-speaks-first protocol (SSH, SMTP): the host's bytes already flow to the job.
  const onData = (chunk: Buffer) => {
    first = Buffer.concat([first, chunk]);
    // readClientHello bounds what it waits for; this bounds what is held whatever it says.
    const reading = first.length > MAX_HELLO_BYTES + 1024 ? ({ kind: "unreadable", why: `a TLS ClientHello over ${MAX_HELLO_BYTES} bytes` } as const) : readClientHello(first);
    if (reading.kind !== "more") settle(reading);
  };
  // The proxy's sockets are half-open capable. A job that half-closes before sending a byte
  // passes on as it is (the host may speak first); one that stops mid-hello is closed, or it
  // would hold its slot until the idle timeout.
  const hungUp = () => (first.length === 0 ? settle({ kind: "not-tls" }) : client.destroy());
  client.on("data", onData);
  client.once("end", hungUp);
}

/** Why a tunnel's first bytes end it: TLS that names another server, or TLS the proxy cannot read. */
function helloRefusal(reading: HelloReading, target: { host: string; port: number }): string | undefined {
  if (reading.kind === "unreadable") return `${target.host}:${target.port}: ${reading.why}, so the server name it asks for cannot be checked`;
  if (reading.kind !== "hello" || reading.serverName === undefined) return undefined;
  const asked = reading.serverName.toLowerCase().replace(/\.$/, "");
  if (asked === target.host.toLowerCase()) return undefined;
  // The name is the job's: only a plausible host name goes into the log and the reason.
  const named = /^[a-z0-9.-]{1,253}$/.test(asked) ? asked : "a malformed name";
  return `the tunnel to ${target.host}:${target.port} asks TLS for ${named}, another host`;
}
