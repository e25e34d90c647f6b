// A TCP port for a test's server. Not one the kernel hands out itself (bind to
// port 0): those come from the ephemeral range, where every outgoing connection
// on the machine also takes its local port, so one could be gone again before
// the server binds it. Instead, from a block below that range, one block per
// vitest worker (VITEST_POOL_ID), so files running side by side never pick the
// same port, and never the same one twice in one process.
import { createServer } from "node:net";

/** Linux's default ephemeral range starts at 32768; these blocks stay below it. */
const FIRST_PORT = 12000;
const BLOCK_SIZE = 2000;
const BLOCKS = 10;

const handedOut = new Set<number>();

function block(): { start: number; size: number } {
  const slot = Number(process.env.VITEST_POOL_ID ?? "0") % BLOCKS;
  return { start: FIRST_PORT + slot * BLOCK_SIZE, size: BLOCK_SIZE };
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A TCP port free on 127.0.0.1 right now, not handed out before by this process. */
export async function freePort(): Promise<number> {
  const { start, size } = block();
  if (handedOut.size >= size / 2) handedOut.clear();
  for (let tries = 0; tries < size; tries++) {
    const port = start + Math.floor(Math.random() * size);
    if (handedOut.has(port)) continue;
    if (await bindable(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port in ${start}-${start + size - 1}`);
}
