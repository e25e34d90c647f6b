// Transfer processes (transferProcess.ts) started before they are needed. A fresh
// one loads TypeScript and node-datachannel first: hundreds of milliseconds on an
// idle machine, seconds on a loaded one. A transfer that starts when a job ends
// (the creator's download, the daemon's answer to it) would wait that out twice
// in a row before its first byte; a spare started meanwhile has it behind it.
import { fork, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

const CHILD = fileURLToPath(new URL("./transferProcess.ts", import.meta.url));

/** A transfer process, loading; it waits for its job ("start") over IPC. */
export function forkTransferProcess(): ChildProcess {
  return fork(CHILD, [], { execArgv: childExecArgv(), stdio: ["ignore", "inherit", "inherit", "ipc"] });
}

/** Still there and reachable: a spare that died meanwhile (killed, say) is no use. */
function usable(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null && child.connected;
}

export interface SpareTransferProcessesOptions {
  /** How many to keep started. Default 1. */
  count?: number;
  /** Start another whenever one is taken (a daemon serving transfer after transfer); false for a one-off (a CLI command). Default true. */
  refill?: boolean;
}

export class SpareTransferProcesses {
  private readonly spares: ChildProcess[] = [];
  private closed = false;
  private readonly count: number;
  private readonly refill: boolean;

  constructor(options: SpareTransferProcessesOptions = {}) {
    this.count = options.count ?? 1;
    this.refill = options.refill ?? true;
    this.fill();
  }

  /** A started process for a transfer, taken out of the pool; a fresh one when none is ready. */
  take(): ChildProcess {
    let taken: ChildProcess | undefined;
    while (!taken && this.spares.length > 0) {
      const spare = this.spares.shift()!;
      if (usable(spare)) taken = spare;
      else spare.kill("SIGKILL");
    }
    if (this.refill) this.fill();
    if (!taken) return forkTransferProcess();
    // A spare does not hold its parent open (see fill); a process at work does.
    taken.ref();
    taken.channel?.ref();
    return taken;
  }

  /** The spares' pids: started (or loading), not taken yet. */
  get pids(): number[] {
    return this.spares.flatMap((spare) => (spare.pid === undefined ? [] : [spare.pid]));
  }

  /** Ends the spares not taken. */
  close(): void {
    this.closed = true;
    for (const spare of this.spares.splice(0)) spare.kill("SIGKILL");
  }

  private fill(): void {
    while (!this.closed && this.spares.length < this.count) {
      const spare = forkTransferProcess();
      // Unreferenced: a spare nobody takes must not keep a CLI command from exiting (it ends itself
      // when this process goes: transferProcess.ts kills itself on "disconnect").
      spare.unref();
      spare.channel?.unref();
      spare.on("error", () => spare.kill("SIGKILL"));
      this.spares.push(spare);
    }
  }
}

/** The parent's Node flags, with a TypeScript loader: the child is a .ts file too. */
function childExecArgv(): string[] {
  // Inspector flags would make the child fight the parent for the port.
  const inherited = process.execArgv.filter((flag) => !flag.startsWith("--inspect"));
  if (inherited.some((flag) => flag.includes("tsx"))) return inherited;
  return [...inherited, "--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href];
}
