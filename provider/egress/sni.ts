// The server name a TLS ClientHello asks for (SNI), read from the first bytes a
// job sends into a CONNECT tunnel, so the proxy can refuse a tunnel to an
// allowed host whose TLS asks a server there for another site.
// RFC 8446 §4.1.2 (ClientHello), RFC 6066 §3 (server_name).

const HANDSHAKE_RECORD = 0x16;
const CLIENT_HELLO = 1;
const SERVER_NAME_EXTENSION = 0;
const HOST_NAME = 0;
/** A hello this long (several records) is not read further; real ones are a few KiB. */
export const MAX_HELLO_BYTES = 32 * 1024;

export type HelloReading =
  /** Not a TLS handshake: the tunnel carries something else. */
  | { kind: "not-tls" }
  /** A ClientHello, and the host name it asks for if it names one. */
  | { kind: "hello"; serverName?: string }
  /** The hello is not whole yet. */
  | { kind: "more" }
  /** A handshake record that is no readable ClientHello, or one past MAX_HELLO_BYTES. */
  | { kind: "unreadable"; why: string };

/** What the first `bytes` of a tunnel say about the TLS server name. */
export function readClientHello(bytes: Buffer): HelloReading {
  if (bytes.length === 0) return { kind: "more" };
  if (bytes[0] !== HANDSHAKE_RECORD) return { kind: "not-tls" };
  const handshake = handshakeBytes(bytes);
  if ("kind" in handshake) return handshake;
  if (handshake.bytes.length < 4) return handshake.complete ? { kind: "unreadable", why: "a truncated TLS ClientHello" } : { kind: "more" };
  if (handshake.bytes[0] !== CLIENT_HELLO) return { kind: "unreadable", why: "the first TLS handshake message is not a ClientHello" };
  const length = handshake.bytes.readUIntBE(1, 3);
  if (4 + length > MAX_HELLO_BYTES) return { kind: "unreadable", why: `a TLS ClientHello over ${MAX_HELLO_BYTES} bytes` };
  if (handshake.bytes.length < 4 + length) return handshake.complete ? { kind: "unreadable", why: "a truncated TLS ClientHello" } : { kind: "more" };
  try {
    return { kind: "hello", ...serverNameIn(handshake.bytes.subarray(4, 4 + length)) };
  } catch {
    return { kind: "unreadable", why: "a malformed TLS ClientHello" };
  }
}

/** The handshake records' fragments joined, as far as they have arrived. */
function handshakeBytes(bytes: Buffer): { bytes: Buffer; complete: boolean } | HelloReading {
  const fragments: Buffer[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < 5) return { bytes: Buffer.concat(fragments), complete: false };
    if (bytes[at] !== HANDSHAKE_RECORD) return { bytes: Buffer.concat(fragments), complete: true };
    if (at > MAX_HELLO_BYTES) return { kind: "unreadable", why: `a TLS ClientHello over ${MAX_HELLO_BYTES} bytes` };
    const length = bytes.readUInt16BE(at + 3);
    fragments.push(bytes.subarray(at + 5, Math.min(bytes.length, at + 5 + length)));
    at += 5 + length;
  }
  return { bytes: Buffer.concat(fragments), complete: false };
}

/** The server_name extension's host name in a ClientHello's body; throws on bytes that do not parse. */
function serverNameIn(hello: Buffer): { serverName?: string } {
  const reader = new Reader(hello);
  reader.skip(2 + 32); // legacy_version, random
  reader.skip(reader.u8()); // legacy_session_id
  reader.skip(reader.u16()); // cipher_suites
  reader.skip(reader.u8()); // legacy_compression_methods
  if (reader.done()) return {};
  const extensions = new Reader(reader.take(reader.u16()));
  while (!extensions.done()) {
    const type = extensions.u16();
    const data = extensions.take(extensions.u16());
    if (type !== SERVER_NAME_EXTENSION) continue;
    const list = new Reader(data);
    const names = new Reader(list.take(list.u16()));
    while (!names.done()) {
      const nameType = names.u8();
      const name = names.take(names.u16());
      if (nameType === HOST_NAME) return { serverName: name.toString("latin1") };
    }
  }
  return {};
}

class Reader {
  private at = 0;
  constructor(private readonly bytes: Buffer) {}

  done(): boolean {
    return this.at >= this.bytes.length;
  }

  u8(): number {
    return this.take(1)[0]!;
  }

  u16(): number {
    return this.take(2).readUInt16BE(0);
  }

  skip(count: number): void {
    this.take(count);
  }

  take(count: number): Buffer {
    if (this.at + count > this.bytes.length) throw new RangeError("past the end of the ClientHello");
    const slice = this.bytes.subarray(this.at, this.at + count);
    this.at += count;
    return slice;
  }
}
