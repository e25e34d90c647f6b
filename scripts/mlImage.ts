// The ML templates' image, from scripts/build-ml-image.sh: built the first time (minutes: a
// debootstrap of Debian's PyTorch), found at once after that, or waited for while another build
// (npm test's, started in the background) holds the script's lock. `npm start` and the ML
// end-to-end test both get the image this way.
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";

const root = join(import.meta.dirname, "..");
export const ML_IMAGE_SCRIPT = "scripts/build-ml-image.sh";

export interface MlImageOptions {
  /** Each line the build prints, as it prints it. */
  onLine?: (line: string) => void;
  /** Appends the build's output to this file. */
  logFile?: string;
  /** Stops the build (its whole process group) past this; unbounded when omitted. */
  timeoutMs?: number;
  /** Stops the build when aborted (npm start's Ctrl-C: the build has its own process group, which the terminal's signal misses). */
  signal?: AbortSignal;
}

export class MlImageError extends Error {}

/** Resolves with the local image's name (pond-ml/digits:<hash>); rejects saying why the build failed, with the end of its output. */
export function buildMlImage(options: MlImageOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    // Its own process group, so a timeout stops debootstrap and everything under it.
    const child = spawn("bash", [ML_IMAGE_SCRIPT], { cwd: root, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const log = options.logFile ? createWriteStream(options.logFile, { flags: "a" }) : undefined;
    const tail: string[] = [];
    let last = "";
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on("line", (line) => {
        log?.write(`${line}\n`);
        tail.push(line);
        if (tail.length > 25) tail.shift();
        if (stream === child.stdout) last = line;
        options.onLine?.(line);
      });
    }
    const stop = () => {
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        // It ended between the decision and the kill.
      }
    };
    let timedOut = false;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            stop();
          }, options.timeoutMs);
    options.signal?.addEventListener("abort", stop, { once: true });
    if (options.signal?.aborted) stop();
    const settled = () => {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", stop);
    };
    child.once("error", (error) => {
      settled();
      reject(new MlImageError(`could not run ${ML_IMAGE_SCRIPT}: ${error.message}`));
    });
    child.once("close", (code, signal) => {
      settled();
      log?.end();
      if (code === 0 && /^pond-ml\/digits:[0-9a-f]+$/.test(last)) return resolve(last);
      const why = options.signal?.aborted ? "was stopped" : timedOut ? `did not finish within ${Math.round(options.timeoutMs! / 60_000)} minutes` : `failed (${signal ?? `exit code ${code}`})`;
      reject(new MlImageError(`${ML_IMAGE_SCRIPT} ${why}; the end of its output:\n${tail.join("\n")}`));
    });
  });
}
