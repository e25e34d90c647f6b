// A stand-in model hub for egress tests: an HTTP server in a network namespace
// the test makes, reached over a veth pair from the root namespace only
// (10.<subnet>.x.0/30; nothing routes further). Its address is private, so a
// provider counts it reachable only when told (--egress-allow-addresses), and
// names it without DNS (--egress-resolve). Serves /weights.bin (WEIGHTS_BYTES,
// deterministic) and /big (16 × that).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);
export const WEIGHTS_BYTES = 1024 * 1024;

/** The hub's weights: deterministic, so a job's copy is checked by hash. */
export const hubWeights = Buffer.alloc(WEIGHTS_BYTES, 0);
for (let i = 0; i < WEIGHTS_BYTES; i++) hubWeights[i] = (i * 31 + 7) & 0xff;

const serverSource = (address: string) => `
const http = require("node:http");
const weights = Buffer.alloc(${WEIGHTS_BYTES});
for (let i = 0; i < weights.length; i++) weights[i] = (i * 31 + 7) & 0xff;
http.createServer((req, res) => {
  if (req.url === "/weights.bin") return res.end(weights);
  if (req.url === "/big") { res.writeHead(200, { "content-length": String(16 * weights.length) }); let n = 0; const more = () => { while (n < 16) { n++; if (!res.write(weights)) return res.once("drain", more); } res.end(); }; return more(); }
  res.writeHead(404).end("no such file");
}).listen(80, "${address}", () => console.log("hub listening"));
`;

export interface ModelHub {
  /** The hub's address, in its namespace. */
  address: string;
  /** The root namespace's side of the veth pair: a private address nothing should reach. */
  hostSide: string;
  stop(): Promise<void>;
}

/**
 * `tag` keeps the namespace and links of tests running at once apart (e.g. the test process's pid, short);
 * `subnet` (10.<subnet>.<octet>.0/30) keeps their addresses apart: each test file has its own.
 */
export async function startModelHub(tag: string, subnet: number, octet: number): Promise<ModelHub> {
  const address = `10.${subnet}.${octet}.2`;
  const hostSide = `10.${subnet}.${octet}.1`;
  const ns = `pondeg${tag}`;
  const ip = (...args: string[]) => run("ip", args);
  let server: ChildProcess | undefined;
  const stop = async () => {
    server?.kill("SIGKILL");
    await ip("link", "del", `peg${tag}`).catch(() => {});
    await ip("netns", "del", ns).catch(() => {});
  };
  try {
    await ip("netns", "add", ns);
    await ip("-n", ns, "link", "set", "lo", "up");
    await ip("link", "add", `peg${tag}`, "type", "veth", "peer", "name", `pegn${tag}`, "netns", ns);
    await ip("addr", "add", `${hostSide}/30`, "dev", `peg${tag}`);
    await ip("link", "set", `peg${tag}`, "up");
    await ip("-n", ns, "addr", "add", `${address}/30`, "dev", `pegn${tag}`);
    await ip("-n", ns, "link", "set", `pegn${tag}`, "up");
    server = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", serverSource(address)], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve, reject) => {
      server!.stdout!.on("data", (chunk: Buffer) => chunk.toString().includes("hub listening") && resolve());
      server!.once("exit", (code) => reject(new Error(`the hub stand-in exited with ${code}`)));
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { address, hostSide, stop };
}
