// A daemon for forwarder.test.ts: starts a forwarder (provider/egress/jobNetwork.ts) in this
// namespace and, handed its first connection, stops running JavaScript for good (as a daemon
// stuck, then killed, would): what the forwarder sends after that is never taken.
// Arguments: <port> <proxy socket path> <holder pid> <log path>. Says "ready <forwarder pid>", then "stalled".
import { startForwarder } from "../../../provider/egress/jobNetwork.ts";

const [port, proxySocketPath, holderPid, logPath] = process.argv.slice(2) as [string, string, string, string];
const forwarderPid = await startForwarder({
  via: [],
  port: Number(port),
  proxySocketPath,
  holderPid: Number(holderPid),
  logPath,
  adopt: () => {
    process.stdout.write("stalled\n");
    for (;;) {
      // Never returns: the event loop, and with it every acknowledgement, stops here.
    }
  },
});
process.stdout.write(`ready ${forwarderPid}\n`);
// The forwarder and its channel keep no daemon alive (a real one has its hub connection): this does.
setInterval(() => undefined, 60_000);
