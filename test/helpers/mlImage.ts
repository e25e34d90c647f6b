// The ML templates' image for tests (scripts/mlImage.ts): found at once when built, else built
// here (or waited for while another build holds the lock), bounded; a failed build fails the test
// that needs it, saying why, never passes it.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { buildMlImage } from "../../scripts/mlImage.ts";

/** Past this the build is stopped: debootstrap took 2–10 minutes here, depending on the machine's load. */
const BUILD_TIMEOUT_MS = 30 * 60_000;

export async function mlImageForTests(): Promise<string> {
  const state = join(import.meta.dirname, "../../.pond");
  await mkdir(state, { recursive: true });
  const logFile = join(state, "ml-image.log");
  try {
    return await buildMlImage({ logFile, timeoutMs: BUILD_TIMEOUT_MS });
  } catch (error) {
    throw new Error(`the ML templates' PyTorch image could not be built, so they cannot be tested (the whole log: ${logFile}): ${error instanceof Error ? error.message : String(error)}`);
  }
}
