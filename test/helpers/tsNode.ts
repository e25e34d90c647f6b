// A TypeScript entry point run as the npm scripts run it: `node --import tsx file`, one
// process. The `tsx` command starts two (its own, which relays signals, and the program's)
// and costs about twice the CPU to start (2.4 s against 1.2 s for `pond --help` here), which
// every CLI call and provider daemon a test makes paid. `--import` takes tsx's own file URL,
// so a child started in another folder or network namespace still finds it.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/** The command and arguments that run `script` (a .ts file) with `args`, on the Node running this process. */
export function tsNode(script: string, args: readonly string[] = []): [string, string[]] {
  return [process.execPath, ["--import", TSX_LOADER, script, ...args]];
}
