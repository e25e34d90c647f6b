// The heads the proxy writes itself for a plain HTTP request and its answer
// (httpHeads.ts). Node's HTTP server already refuses most malformed requests
// before they get here; these checks stand because the proxy writes raw bytes.
import { describe, expect, it } from "vitest";
import { AnswerHeadReader, bodyFraming, MAX_ANSWER_HEAD_BYTES, proxyTarget, requestHead } from "../../../provider/egress/httpHeads.ts";

/** The reader's answer to `text` sent in one read. */
const readAnswerHead = (text: string | Buffer) => new AnswerHeadReader().push(Buffer.isBuffer(text) ? text : Buffer.from(text, "latin1"));

const target = { host: "hub.test", port: 8080, authority: "hub.test:8080", path: "/models/digits?rev=1" };

describe("the request's head for the host", () => {
  it("names the URL's authority as Host, drops hop-by-hop headers and those Connection names, and asks to close", () => {
    const head = requestHead("GET", target, ["Host", "evil.test", "Proxy-Authorization", "Basic c2VjcmV0", "Connection", "x-private", "X-Private", "1", "Accept", "*/*"], "none")!;
    expect(head.toString("latin1")).toBe("GET /models/digits?rev=1 HTTP/1.1\r\nHost: hub.test:8080\r\nAccept: */*\r\nConnection: close\r\n\r\n");
  });

  it("frames the body itself: chunked said again, a length kept even where Connection names it", () => {
    const chunked = requestHead("POST", target, ["Transfer-Encoding", "chunked"], bodyFraming({ "transfer-encoding": "chunked" })!)!;
    expect(chunked.toString("latin1")).toContain("\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
    const sized = requestHead("POST", target, ["Connection", "content-length", "Content-Length", "5"], bodyFraming({ "content-length": "5" })!)!;
    expect(sized.toString("latin1")).toBe("POST /models/digits?rev=1 HTTP/1.1\r\nHost: hub.test:8080\r\nContent-Length: 5\r\nConnection: close\r\n\r\n");
    expect(bodyFraming({ "transfer-encoding": "gzip, chunked" })).toBeUndefined();
    expect(bodyFraming({})).toBe("none");
  });

  it("is not written for a path or header that could split the request", () => {
    expect(requestHead("GET", { ...target, path: "/a b" }, [], "none")).toBeUndefined();
    expect(requestHead("GET", target, ["X-Split", "a\r\nHost: evil.test"], "none")).toBeUndefined();
    expect(requestHead("GET", target, ["Bad Name", "a"], "none")).toBeUndefined();
  });
});

describe("the host's answer head for the job", () => {
  it("waits for the whole head, then passes what followed it unchanged", () => {
    const reader = new AnswerHeadReader();
    expect(reader.push(Buffer.from("HTTP/1.1 200 OK\r\nContent-Le"))).toEqual({ kind: "more" });
    const reading = reader.push(Buffer.from("ngth: 3\r\n\r\nabc"));
    expect(reading.kind === "head" && reading.bytes.toString()).toBe("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc");
  });

  it("reads the same head sent a byte at a time, the end of the head split across reads", () => {
    const whole = Buffer.from("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-Model: digits\r\n\r\nbody");
    const reader = new AnswerHeadReader();
    const readings = [...whole].map((byte) => reader.push(Buffer.from([byte])));
    const heads = readings.filter((reading) => reading.kind === "head");
    expect(heads).toHaveLength(1);
    // Read once the last byte of its blank line came, not before.
    expect(readings.indexOf(heads[0]!)).toBe(whole.indexOf("body") - 1);
    expect(heads[0]!.kind === "head" && heads[0]!.bytes.toString()).toBe("HTTP/1.1 200 OK\r\nX-Model: digits\r\nConnection: close\r\n\r\n");
  });

  it("drops interim answers and hop-by-hop headers, and keeps the chunked framing its body still has", () => {
    const reading = readAnswerHead("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nKeep-Alive: timeout=5\r\nConnection: keep-alive, x-hop\r\nX-Hop: 1\r\n\r\n3\r\nabc\r\n");
    expect(reading.kind === "head" && reading.bytes.toString()).toBe("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n");
  });

  it("keeps a value with long runs of spaces whole, trimming only its ends", () => {
    const value = `a${" ".repeat(30_000)}b`;
    const reading = readAnswerHead(`HTTP/1.1 200 OK\r\nX-Spaced:  ${value}\t \r\n\r\n`);
    expect(reading.kind === "head" && reading.bytes.toString()).toBe(`HTTP/1.1 200 OK\r\nX-Spaced: ${value}\r\nConnection: close\r\n\r\n`);
  });

  it("refuses a head past its limit, even one that came whole in a single read", () => {
    const big = `HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(MAX_ANSWER_HEAD_BYTES)}\r\n\r\n`;
    expect(readAnswerHead(big)).toMatchObject({ kind: "malformed", why: `an answer head over ${MAX_ANSWER_HEAD_BYTES} bytes` });
    expect(readAnswerHead(big.slice(0, -4))).toMatchObject({ kind: "malformed" });
  });

  it("refuses framing the job's client would read another way than the host meant", () => {
    expect(readAnswerHead("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")).toMatchObject({ kind: "malformed" });
    expect(readAnswerHead("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")).toMatchObject({ kind: "malformed" });
  });

  it("refuses what is not an HTTP/1.x answer, or a header line without a name", () => {
    expect(readAnswerHead("HTTP/2 200\r\n\r\n")).toMatchObject({ kind: "malformed" });
    expect(readAnswerHead("HTTP/1.1 200 OK\r\n folded\r\n\r\n")).toMatchObject({ kind: "malformed" });
    expect(readAnswerHead("HTTP/1.1 200 OK\r\n: no name\r\n\r\n")).toMatchObject({ kind: "malformed" });
  });
});

describe("the target of a plain request", () => {
  it("gets a path that starts with a slash, also where the URL's query came right after the host", () => {
    expect(proxyTarget("http://hub.test?q=1")).toMatchObject({ host: "hub.test", port: 80, path: "/?q=1" });
    expect(proxyTarget("http://hub.test:8080")).toMatchObject({ port: 8080, path: "/" });
  });
});
