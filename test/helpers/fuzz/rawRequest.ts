// One HTTP/1.1 request written byte for byte on a socket of its own: the path
// goes unnormalised (no `..` folding, no re-encoding) and any header or body
// goes, so a fuzz can send what fetch() would refuse or tidy up.
//
// Why a bare socket: a server may answer early (413 before reading a 10 MB
// body, or a route that never reads its body) and close while the request is
// still being written; node:http then reports EPIPE and drops the answer that
// did arrive. And why one connection per request: on a reused keep-alive
// connection, bytes of an earlier body the Worker never read were at times
// parsed by wrangler dev's local server as the next request (400 text/plain,
// "invalid HTTP method parsed"), so one case's answer hung on the case before.
import { connect } from "node:net";

export interface RawRequest {
  method: string;
  /** Path and query, sent as written. */
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

export type RawAnswer =
  | { kind: "answer"; status: number; contentType: string; body: string }
  | { kind: "hang"; afterMs: number }
  | { kind: "refused"; error: string };

const HEAD_END = Buffer.from("\r\n\r\n");

export function sendRaw(origin: URL, req: RawRequest, timeoutMs: number): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = connect(Number(origin.port), origin.hostname);
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (answer: RawAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => finish({ kind: "hang", afterMs: timeoutMs }), timeoutMs);

    const read = (ended: boolean) => {
      const headEnd = received.indexOf(HEAD_END);
      if (headEnd < 0) {
        if (ended) finish({ kind: "refused", error: `the connection closed after ${received.length} bytes, before a full status line and headers` });
        return;
      }
      const [statusLine = "", ...headerLines] = received.subarray(0, headEnd).toString("latin1").split("\r\n");
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
      const headers = new Map(headerLines.map((line) => [line.slice(0, line.indexOf(":")).trim().toLowerCase(), line.slice(line.indexOf(":") + 1).trim()]));
      const contentType = headers.get("content-type") ?? "";
      // A success's body is not judged, and may be a stream that never ends (server-sent events).
      if (status >= 200 && status < 400) return finish({ kind: "answer", status, contentType, body: "" });
      const body = received.subarray(headEnd + HEAD_END.length);
      const length = headers.get("content-length");
      if (length !== undefined && body.length >= Number(length)) return finish({ kind: "answer", status, contentType, body: body.subarray(0, Number(length)).toString("utf8") });
      if (ended) finish({ kind: "answer", status, contentType, body: (headers.get("transfer-encoding") === "chunked" ? unchunk(body) : body).toString("utf8") });
    };
    socket.on("data", (data: Buffer) => {
      received = Buffer.concat([received, data]);
      read(false);
    });
    socket.on("close", () => read(true));
    // A write refused because the server answered and closed first: what it sent is read on close.
    socket.on("error", () => undefined);

    const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, "utf8");
    const lines = [`${req.method} ${req.path} HTTP/1.1`, `host: ${origin.host}`, "connection: close"];
    for (const [name, value] of Object.entries(req.headers)) lines.push(`${name}: ${value}`);
    if (body !== undefined) lines.push(`content-length: ${body.length}`);
    socket.write(`${lines.join("\r\n")}\r\n\r\n`);
    if (body !== undefined) socket.write(body);
  });
}

/** The payload of a chunked body (RFC 9112 §7.1), as far as it arrived. */
function unchunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = body.indexOf("\r\n", at);
    if (lineEnd < 0) break;
    const size = Number.parseInt(body.subarray(at, lineEnd).toString("latin1"), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
