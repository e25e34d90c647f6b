// Debian's coturn as a STUN/TURN server for tests, with TURN REST credentials
// (use-auth-secret). Its files (pid, database) stay in the test's folder.
import { join } from "node:path";
import { spawnProcess, type Spawned } from "./processes.ts";

export interface Coturn {
  process: Spawned;
  stop(): Promise<void>;
}

/** Starts turnserver on `address`:`port`, run through `prefix` (e.g. `ip netns exec NS`). Resolves once it listens on UDP. */
export async function startCoturn({ address, port = 3478, secret, dir, prefix = [] }: { address: string; port?: number; secret: string; dir: string; prefix?: string[] }): Promise<Coturn> {
  const args = [
    "-n",
    "-v",
    `--listening-ip=${address}`,
    `--relay-ip=${address}`,
    `--listening-port=${port}`,
    "--min-port=49152",
    "--max-port=49407",
    "--use-auth-secret",
    `--static-auth-secret=${secret}`,
    "--realm=pond.test",
    `--pidfile=${join(dir, "turnserver.pid")}`,
    `--db=${join(dir, "turndb")}`,
    // The test's peers and relay addresses are all local to this machine.
    "--allow-loopback-peers",
    "--no-cli",
    "--no-tls",
    "--no-dtls",
    "--fingerprint",
    "--log-file=stdout",
    "--simple-log",
  ];
  const [command, ...rest] = [...prefix, "turnserver", ...args];
  const process = spawnProcess(command!, rest, { name: "turnserver" });
  try {
    await process.waitFor(new RegExp(`UDP listener opened on: ?${address.replaceAll(".", "\\.")}:${port}`), 20_000);
  } catch (error) {
    await process.stop("SIGKILL");
    throw error;
  }
  return { process, stop: () => process.stop() };
}
