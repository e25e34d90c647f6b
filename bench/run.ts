// `npm run bench`: every benchmark, one after another (they share the machine,
// so running them together would measure each other). Each prints its own
// figures and writes its report under bench/reports/.
import { spawn } from "node:child_process";
import { join } from "node:path";

const benches = ["match.ts", "gas.ts", "dispatch.ts", "api.ts", "transfer.ts", "egress.ts", "verify.ts", "checkpoint.ts", "sweep.ts", "ml.ts", "fleet.ts"];

for (const bench of benches) {
  console.log(`\n=== ${bench} ===`);
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, bench)], { stdio: "inherit" });
    child.on("exit", (exitCode) => resolve(exitCode ?? 1));
  });
  if (code !== 0) {
    console.error(`${bench} failed (exit ${code})`);
    process.exit(code);
  }
}
