// `npm test` after the bootstrap: the whole-stack suite (e2e, two files at a time), the
// ML templates' e2e file, and the in-process suites (workerd, node) as three vitest runs side by side.
// Within one vitest run, a project with its own file parallelism waits
// for every other project to finish first; yet an e2e file spends most of its
// time waiting on containers, chain time and wrangler dev, so the other suites'
// CPU work fits beside it. Each line is prefixed with its run's name; the exit
// code is the first failing run's. With arguments it is a plain `vitest run ARGS`.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

const VITEST = "node_modules/.bin/vitest";
// The ML templates' test first builds their PyTorch image (minutes, on a machine that has not yet):
// it runs on its own from the start, so the build overlaps the other suites instead of following them.
const ML_TEST = "test/e2e/mlTemplates.test.ts";
const RUNS: Array<{ name: string; args: string[] }> = [
  // Two e2e files at a time: most of a file's time is spent waiting (containers, chain time, grace periods).
  { name: "e2e", args: ["--project", "e2e", "--maxWorkers", "2", "--exclude", ML_TEST] },
  { name: "ml", args: ["--project", "e2e", ML_TEST] },
  { name: "workerd+node", args: ["--project", "workerd", "--project", "workerd-shared", "--project", "workerd-pure", "--project", "node"] },
];

function start(name: string, args: string[], prefix: boolean): { child: ChildProcess; done: Promise<number> } {
  const child = spawn(VITEST, ["run", ...args], { stdio: prefix ? ["ignore", "pipe", "pipe"] : "inherit" });
  if (prefix) {
    for (const [stream, out] of [[child.stdout!, process.stdout], [child.stderr!, process.stderr]] as const) {
      createInterface({ input: stream }).on("line", (line) => out.write(`[${name}] ${line}\n`));
    }
  }
  const done = new Promise<number>((resolve) => {
    child.once("error", (error) => {
      process.stderr.write(`[${name}] could not start vitest: ${error.message}\n`);
      resolve(1);
    });
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
  return { child, done };
}

const extra = process.argv.slice(2);
const runs = extra.length > 0 ? [start("vitest", extra, false)] : RUNS.map((run) => start(run.name, run.args, true));
// A terminal's Ctrl-C reaches the children through the process group; a signal sent to this process alone is passed on.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => runs.forEach((run) => run.child.kill(signal)));
const codes = await Promise.all(runs.map((run) => run.done));
if (extra.length === 0) RUNS.forEach((run, i) => process.stdout.write(`${run.name}: ${codes[i] === 0 ? "passed" : `failed (exit code ${codes[i]})`}\n`));
process.exit(codes.find((code) => code !== 0) ?? 0);
