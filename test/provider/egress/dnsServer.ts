// A DNS server on loopback for the egress resolver's tests: A records from a
// map, NXDOMAIN for other names, and names it never answers (a hostile job's
// slow domain). Enough of RFC 1035 for one question per query, nothing more.
import { createSocket, type Socket } from "node:dgram";

export interface TestDnsServer {
  /** "127.0.0.1:port", for Resolver.setServers. */
  address: string;
  /** Queries received, by name. */
  queries: string[];
  close(): Promise<void>;
}

const TYPE_A = 1;

export async function startDnsServer(records: Record<string, string>, blackHoles: ReadonlySet<string> = new Set()): Promise<TestDnsServer> {
  const socket: Socket = createSocket("udp4");
  const queries: string[] = [];
  socket.on("message", (query, from) => {
    const question = parseQuestion(query);
    if (!question) return;
    queries.push(question.name);
    if (blackHoles.has(question.name)) return;
    const address = records[question.name];
    socket.send(answer(query, question.end, question.type === TYPE_A ? address : undefined, address === undefined), from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return {
    address: `127.0.0.1:${socket.address().port}`,
    queries,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

function parseQuestion(query: Buffer): { name: string; type: number; end: number } | undefined {
  const labels: string[] = [];
  let offset = 12;
  while (offset < query.length && query[offset]! > 0) {
    const length = query[offset]!;
    labels.push(query.subarray(offset + 1, offset + 1 + length).toString("ascii"));
    offset += 1 + length;
  }
  if (offset + 5 > query.length) return undefined;
  return { name: labels.join(".").toLowerCase(), type: query.readUInt16BE(offset + 1), end: offset + 5 };
}

/** The query's header and question, turned into a response: one A record, none (NOERROR), or NXDOMAIN. */
function answer(query: Buffer, questionEnd: number, address: string | undefined, nxdomain: boolean): Buffer {
  const header = Buffer.from(query.subarray(0, 12));
  header.writeUInt16BE(nxdomain ? 0x8183 : 0x8180, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(address ? 1 : 0, 6);
  header.writeUInt32BE(0, 8);
  const parts = [header, query.subarray(12, questionEnd)];
  if (address) {
    const record = Buffer.alloc(16);
    record.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    record.writeUInt16BE(TYPE_A, 2);
    record.writeUInt16BE(1, 4); // IN
    record.writeUInt32BE(60, 6);
    record.writeUInt16BE(4, 10);
    address.split(".").forEach((octet, i) => record.writeUInt8(Number(octet), 12 + i));
    parts.push(record);
  }
  return Buffer.concat(parts);
}
