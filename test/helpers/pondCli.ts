// `pond …` as a user runs it, from the checkout (`npm run pond`: node --import tsx cli/main.ts), with its own
// home folder: the exit code and both streams, whether it succeeded or not.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { tsNode } from "./tsNode.ts";

const run = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface PondCliOptions {
  /** POND_HOME: its key, config and state. */
  home: string;
  /** --api, when the command talks to one. */
  api?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

export async function runPond(args: string[], options: PondCliOptions): Promise<CliResult> {
  const apiArgs = options.api ? ["--api", options.api] : [];
  try {
    const { stdout, stderr } = await run(...tsNode("cli/main.ts", [...apiArgs, ...args]), {
      env: { ...process.env, POND_HOME: options.home, NO_COLOR: "1", ...options.env },
      timeout: options.timeoutMs ?? 150_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === "number" ? failed.code : -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}
