// The UDP delay proxy in a process of its own, so that the measured process's
// own work (hashing, disk writes) cannot hold datagrams up and make the
// emulated link drop them. Reads {"id","address","port"} lines on stdin, makes a
// front for each and answers {"id","address","port"} of the front on stdout.
//   tsx bench/lib/udpDelayProxyProcess.ts ONE_WAY_MS
import { createInterface } from "node:readline";
import { UdpDelayProxy } from "./udpDelayProxy.ts";

const proxy = new UdpDelayProxy(Number(process.argv[2] ?? 25));
for await (const line of createInterface({ input: process.stdin })) {
  const { id, address, port } = JSON.parse(line) as { id: number; address: string; port: number };
  const front = await proxy.front({ address, port });
  process.stdout.write(`${JSON.stringify({ id, ...front })}\n`);
}
proxy.close();
