// The daemon's side of bench/egress.ts in a process of its own, as in a real
// provider: an egress proxy on a unix socket allowing one loopback origin by name,
// and the forwarder it starts (as the daemon does, minus the job's namespace),
// which hands each connection over to it.
// Arguments: <socket path> <origin name> <origin port> <forwarder port> <holder pid> <forwarder log>.
// Ready: "listening" on stdout.
import { pino } from "pino";
import { parseEgressRules } from "../../protocol/egress.ts";
import { startForwarder } from "../../provider/egress/jobNetwork.ts";
import { EgressProxy } from "../../provider/egress/proxy.ts";

const [socketPath, name, port, forwarderPort, holderPid, logPath] = process.argv.slice(2) as [string, string, string, string, string, string];
const proxy = new EgressProxy({
  socketPath,
  rules: parseEgressRules([`${name}:${port}`]),
  budgetBytes: 1024 ** 4,
  maxConnections: 64,
  // The origin is on loopback: named here, as a provider's --egress-allow-addresses would.
  allowAddresses: ["127.0.0.1"],
  resolve: async () => ["127.0.0.1"],
  log: pino({ level: "silent" }),
});
await proxy.start();
await startForwarder({ via: [], port: Number(forwarderPort), proxySocketPath: socketPath, holderPid: Number(holderPid), logPath, adopt: (socket) => proxy.adopt(socket) });
process.stdout.write("listening\n");
process.on("SIGTERM", () => void proxy.close().then(() => process.exit(0)));
