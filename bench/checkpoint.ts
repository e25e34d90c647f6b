// `npm run bench:checkpoint`: what saving a job's checkpoint costs its provider beyond the upload.
// The daemon copies each changed file out of the running container's folder before it uploads it
// (provider/checkpoints/folderBeneath.ts: every part of its path opened from the folder above's handle,
// no link followed, the opened file copied through its /proc/self/fd entry up to the size it had when
// opened, then the copy hashed), so the job can neither change the bytes mid-upload nor point the daemon
// at a host file. Baseline, in the same process on the same disk: a plain copy (fs.copyFile, which
// follows links) then a hash of the copy, what a daemon without those guards would do. Also: the
// check of an unchanged file (its identity, no read) that every save makes of every file.
// BENCH_CHECKPOINT_MIB (default 1024) sizes the file; rounds alternate, 3 each. Nothing is asserted.
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, mkdtemp, open, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { sha256OfFile } from "../p2p/node/fileSha256.ts";
import { copyBeneath, identityBeneath, openFolder } from "../provider/checkpoints/folderBeneath.ts";
import { formatNumber, printTable, summarize, writeReport } from "./lib/report.ts";

const MIB = Number(process.env.BENCH_CHECKPOINT_MIB ?? 1024);
const ROUNDS = Number(process.env.BENCH_CHECKPOINT_ROUNDS ?? 5);
const load = () => loadavg().map((l) => l.toFixed(1)).join(" ");
console.log(`load average at start: ${load()} (${cpus().length} cores); a ${MIB} MiB checkpoint file`);

const dir = await mkdtemp(join(tmpdir(), "pond-bench-checkpoint-"));
try {
  const folder = join(dir, "checkpoint");
  const source = join(folder, "training.pt");
  const stage = join(dir, "stage");
  await mkdir(folder);
  await mkdir(stage);
  const handle = await open(source, "w");
  const piece = randomBytes(1024 * 1024);
  for (let i = 0; i < MIB; i++) await handle.write(piece);
  await handle.close();

  const plain: number[] = [];
  const guarded: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let started = performance.now();
    await copyFile(source, join(dir, "plain-copy"));
    await sha256OfFile(join(dir, "plain-copy"));
    plain.push(performance.now() - started);
    await rm(join(dir, "plain-copy"));

    started = performance.now();
    const root = await openFolder(folder);
    if (typeof root === "string") throw new Error(`the folder is ${root}`);
    const copied = await copyBeneath(root, "training.pt", join(stage, "copy"), Number.MAX_SAFE_INTEGER);
    await root.close();
    guarded.push(performance.now() - started);
    if (!copied.ok) throw new Error(`copyBeneath refused the file: ${copied.why}`);
    await rm(join(stage, "copy"));
  }
  const identity: number[] = [];
  const root = await openFolder(folder);
  if (typeof root === "string") throw new Error(`the folder is ${root}`);
  for (let i = 0; i < 1000; i++) {
    const started = performance.now();
    await identityBeneath(root, "training.pt");
    identity.push(performance.now() - started);
  }
  await root.close();

  const rate = (ms: number) => MIB / (ms / 1000);
  const [p, g] = [summarize(plain), summarize(guarded)];
  printTable("checkpoint save: copy and hash one file", ["way", "MiB/s (p50)", "ms p50", "× plain"], [
    ["plain copy, then hash the copy (baseline)", formatNumber(rate(p.p50)), formatNumber(p.p50), "1.00"],
    ["copyBeneath: no link followed, bounded copy of the opened file", formatNumber(rate(g.p50)), formatNumber(g.p50), (p.p50 / g.p50).toFixed(2)],
  ]);
  const id = summarize(identity);
  console.log(`an unchanged file's check (opened part by part without following, fstat): p50 ${id.p50.toFixed(3)} ms, p99 ${id.p99.toFixed(3)} ms`);
  console.log(`load average at end: ${load()}`);
  console.log(`report: ${await writeReport("checkpoint", { mib: MIB, plainMs: plain, guardedMs: guarded, identity: id, load: loadavg() })}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
