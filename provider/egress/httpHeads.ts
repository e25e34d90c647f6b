// The heads of a plain HTTP request through the proxy and of its answer: the
// target read from the absolute-form URL, the request written for the host
// (Host from the URL, hop-by-hop headers out, one request per connection), and
// the host's answer head read and written again for the job the same way. The
// bodies after them pass byte for byte (forward.ts), so the answer keeps its own
// framing (Content-Length or chunked) and ends when the host closes.

/** Headers for one hop only (RFC 9110 §7.6.1), plus the proxy's own. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"]);
/** What Node would not send on a request line (its http.request's own check). */
const UNSENDABLE_PATH = /[^\u0021-\u00ff]/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const UNSENDABLE_VALUE = /[^\t\u0020-\u007e\u0080-\u00ff]/;
/** A host's answer head that is not through by now is refused. */
export const MAX_ANSWER_HEAD_BYTES = 64 * 1024;
const HEAD_END = Buffer.from("\r\n\r\n");

export interface ProxyTarget {
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
  // An origin-form path starts with "/", also where the URL had none before its query.
  const path = match[2] ? (match[2].startsWith("/") ? match[2] : `/${match[2]}`) : "/";
  return { host: parsed.hostname, port: parsed.port === "" ? 80 : Number(parsed.port), authority: parsed.host, path };
}

/** rawHeaders without the hop-by-hop ones, nor any that Connection names. */
function endToEndHeaders(rawHeaders: readonly string[]): string[] {
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

/** Header lines, each name and value checked as Node's own client checks them; undefined if one could not be sent. */
function headerLines(rawHeaders: readonly string[]): string | undefined {
  let lines = "";
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const [name, value] = [rawHeaders[i]!, rawHeaders[i + 1]!];
    if (!TOKEN.test(name) || UNSENDABLE_VALUE.test(value)) return undefined;
    lines += `${name}: ${value}\r\n`;
  }
  return lines;
}

/** How the request's body is framed for the host: Node's server has read the job's framing and undone any chunking. */
export type BodyFraming = { length: string } | "chunked" | "none";

/** The framing a job's request body goes on with; undefined for a transfer coding other than chunked alone. */
export function bodyFraming(headers: { "content-length"?: string; "transfer-encoding"?: string }): BodyFraming | undefined {
  if (headers["content-length"] !== undefined) return { length: headers["content-length"] };
  const coding = headers["transfer-encoding"];
  if (coding === undefined) return "none";
  return coding.trim().toLowerCase() === "chunked" ? "chunked" : undefined;
}

/**
 * The request's head for the host: the URL's authority as Host (whatever the job wrote, so a header cannot
 * select another host on the same server), no hop-by-hop header, the body's framing written by the proxy
 * (whatever Connection names), and Connection: close, so the answer ends when the host closes. Undefined if
 * a path or header cannot be sent.
 */
export function requestHead(method: string, target: ProxyTarget, rawHeaders: readonly string[], body: BodyFraming): Buffer | undefined {
  if (UNSENDABLE_PATH.test(target.path)) return undefined;
  const kept = endToEndHeaders(rawHeaders);
  const pairs: string[] = [];
  for (let i = 0; i < kept.length; i += 2) {
    const name = kept[i]!.toLowerCase();
    if (name !== "host" && name !== "content-length") pairs.push(kept[i]!, kept[i + 1]!);
  }
  const framing = body === "none" ? [] : body === "chunked" ? ["Transfer-Encoding", "chunked"] : ["Content-Length", body.length];
  const lines = headerLines(["Host", target.authority, ...pairs, ...framing, "Connection", "close"]);
  return lines === undefined ? undefined : Buffer.from(`${method} ${target.path} HTTP/1.1\r\n${lines}\r\n`, "latin1");
}

export type AnswerHeadReading = { kind: "more" } | { kind: "head"; bytes: Buffer } | { kind: "malformed"; why: string };

/** A header line's name and value (no regular expression: a host's line must not cost more than its length). */
function headerField(line: string): [string, string] | undefined {
  const colon = line.indexOf(":");
  const name = line.slice(0, colon);
  // A name with a space in it is an obsolete folded line, or none at all.
  if (colon <= 0 || !TOKEN.test(name)) return undefined;
  let from = colon + 1;
  let to = line.length;
  while (from < to && (line[from] === " " || line[from] === "\t")) from++;
  while (to > from && (line[to - 1] === " " || line[to - 1] === "\t")) to--;
  return [name, line.slice(from, to)];
}

/** The answer's head written again for the job, or why it cannot be; undefined for an interim (1xx) one. */
function rewrittenHead(head: string): Buffer | { why: string } | undefined {
  const lines = head.split("\r\n");
  const status = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: ([^\r\n]*))?$/.exec(lines[0]!);
  if (!status) return { why: "an answer that is not HTTP/1.x" };
  const rawHeaders: string[] = [];
  for (const line of lines.slice(1)) {
    const field = headerField(line);
    if (!field) return { why: "an answer with a malformed header line" };
    rawHeaders.push(...field);
  }
  const code = Number(status[2]);
  // 101 is no interim answer, but the request never asks to upgrade (Upgrade is hop-by-hop).
  if (code < 200 && code !== 101) return undefined;
  // The body passes with the framing the host gave it: framing the job's client would read otherwise is refused.
  const framing = rawHeaders.flatMap((name, i) => (i % 2 === 0 && name.toLowerCase() === "transfer-encoding" ? [name, rawHeaders[i + 1]!] : []));
  const sized = rawHeaders.some((name, i) => i % 2 === 0 && name.toLowerCase() === "content-length");
  if (framing.length > 0 && (sized || status[1] === "0")) return { why: "an answer framed both by length and by transfer coding, or chunked in HTTP/1.0" };
  const answerLines = headerLines([...endToEndHeaders(rawHeaders), ...framing, "Connection", "close"]);
  if (answerLines === undefined) return { why: "an answer with a header that cannot be passed on" };
  return Buffer.from(`HTTP/1.1 ${code} ${status[3] ?? ""}\r\n${answerLines}\r\n`, "latin1");
}

/**
 * The host's answer head from its first reads, written again for the job: interim (1xx) answers
 * dropped as Node's client drops them, hop-by-hop headers out except Transfer-Encoding (the body's
 * framing passes as it is), Connection: close; what followed the head comes after it unchanged.
 * Each read is copied in once and searched from where the last one ended, so a host that trickles
 * its head a byte at a time costs no more than one that sends it whole.
 */
export class AnswerHeadReader {
  private received = Buffer.allocUnsafe(4096);
  private filled = 0;
  /** Where the head being read begins: after any interim answer's. */
  private start = 0;
  /** Where the head's end may still be found: before it, there is none. */
  private searched = 0;

  push(chunk: Buffer): AnswerHeadReading {
    if (this.filled + chunk.length > this.received.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.received.length * 2, this.filled + chunk.length));
      this.received.copy(grown, 0, 0, this.filled);
      this.received = grown;
    }
    chunk.copy(this.received, this.filled);
    this.filled += chunk.length;
    const received = this.received.subarray(0, this.filled);
    for (;;) {
      const end = received.indexOf(HEAD_END, Math.max(this.start, this.searched - (HEAD_END.length - 1)));
      if (end < 0 ? this.filled > MAX_ANSWER_HEAD_BYTES : end + HEAD_END.length > MAX_ANSWER_HEAD_BYTES) {
        return { kind: "malformed", why: `an answer head over ${MAX_ANSWER_HEAD_BYTES} bytes` };
      }
      if (end < 0) {
        this.searched = this.filled;
        return { kind: "more" };
      }
      const head = rewrittenHead(received.toString("latin1", this.start, end));
      this.start = this.searched = end + HEAD_END.length;
      if (head === undefined) continue;
      if (!Buffer.isBuffer(head)) return { kind: "malformed", why: head.why };
      return { kind: "head", bytes: Buffer.concat([head, received.subarray(this.start)]) };
    }
  }
}
