// `npm run bench:transfer [-- --size MiB] [-- --rtt-size MiB] [-- --turn-rounds N] [-- --rtt-rounds N]`: one file
// provider → creator over WebRTC data channels, side by side in one run:
// node-datachannel's bare send loop (the library's ceiling), Pond's protocol
// direct (1, 2 and 4 channels), both through a local coturn (relay only), and raw
// TCP on 127.0.0.1, and (with Docker) the R2 relay path through wrangler dev and the first output
// byte after a job ends (bench/lib/stackTransfers.ts). Pond's figures include reading the file from disk, checking
// every chunk's and the file's sha256, and writing it to disk: what a transfer
// really costs. Raw and Pond both use the SCTP buffers Pond's transfer processes
// use (8 MiB, p2p/node/sctpSettings.ts) unless a row says otherwise. Then long
// links: 50 ms and 200 ms round trip, with libdatachannel's default buffers (1 MiB,
// what Pond had before) and Pond's, Pond on one channel as its CLI and daemon run
// it (and, at 50 ms, on four, for comparison); `--rtt-rounds` (3) alternating raw and Pond runs with 8 MiB
// buffers, medians in the table. Each measurement runs in a fresh process; the bare loop is
// measured first and last, and ratios use the mean of the two; through coturn,
// `--turn-rounds` Pond runs (default 2) each sit between two raw runs.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildTransferManifest } from "../p2p/node/buildTransferManifest.ts";
import { turnRestCredential, type IceServer } from "../protocol/iceServers.ts";
import { startCoturn } from "../test/helpers/coturn.ts";
import { createRelayOnlyNamespace, namespacesUnavailable } from "../test/helpers/netns.ts";
import { spawnProcess } from "../test/helpers/processes.ts";
import { writeRandomFiles } from "../test/helpers/testFiles.ts";
import { tsNode } from "../test/helpers/tsNode.ts";
import { formatNumber, printTable, writeReport } from "./lib/report.ts";
import { measureThroughStack, stackUnavailable, type StackFigures } from "./lib/stackTransfers.ts";
import type { ScenarioResult } from "./lib/transferScenario.ts";

const MiB = 1024 * 1024;
const GOAL_DIRECT = 0.9;
const GOAL_TURN = 0.8;
const GOAL_FIRST_BYTE_MS = 500;
const RTT_MS = 50;
const LONG_RTT_MS = 200;
/** libdatachannel's own default, both ways. */
const SCTP_BUFFER_DEFAULT = 1 * MiB;

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index === -1) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} takes a positive number, e.g. --${name} ${fallback}`);
  return value;
}

const sizeMiB = flag("size", 1024);
const turnRounds = Math.round(flag("turn-rounds", 2));
const rttRounds = Math.round(flag("rtt-rounds", 3));
const rttSizeMiB = flag("rtt-size", Math.min(sizeMiB, 64));
const outputSizeMiB = flag("output-size", Math.min(sizeMiB, 64));
const root = join(import.meta.dirname, "..");
const work = await mkdtemp(join(tmpdir(), "pond-bench-transfer-"));

/** Runs a scenario in a fresh process; one that fails is run once more, and the failure is kept in the report. */
const failures: Array<{ label: string; error: string }> = [];
/** What transferScenario.ts takes (it parses it), plus the namespace to run it in. */
type ScenarioRequest = { kind: "raw" | "pond" | "tcp"; namespace?: string } & Record<string, unknown>;

async function measure(label: string, scenario: ScenarioRequest): Promise<ScenarioResult> {
  try {
    return await measureOnce(label, scenario);
  } catch (error) {
    const message = (error as Error).message.slice(0, 2000);
    failures.push({ label, error: message });
    console.log(`  ${label}: failed (${message.split("\n")[0]}); running it once more`);
    return measureOnce(label, scenario);
  }
}

async function measureOnce(label: string, scenario: ScenarioRequest): Promise<ScenarioResult> {
  const { namespace, ...rest } = scenario;
  const command = tsNode(join(root, "bench", "lib", "transferScenario.ts"), [JSON.stringify(rest)]).flat();
  const child = namespace ? spawnProcess("ip", ["netns", "exec", namespace, ...command], { name: label }) : spawnProcess(command[0]!, command.slice(1), { name: label });
  try {
    // Generous: a loaded machine can be slow, and nothing here waits without a reason to end.
    const line = await child.waitFor(/RESULT \{.*\}/, 120_000 + ((typeof scenario.bytes === "number" ? scenario.bytes : sizeMiB * MiB)) / (MiB / 1000));
    const result = JSON.parse(line.slice("RESULT ".length)) as ScenarioResult;
    console.log(`  ${label}: ${formatNumber(result.mibPerSecond)} MiB/s`);
    return result;
  } finally {
    await child.stop();
  }
}

/** The run with the median throughput (the lower middle one of an even count). */
function medianOf(runs: readonly ScenarioResult[]): ScenarioResult {
  return [...runs].sort((a, b) => a.mibPerSecond - b.mibPerSecond)[Math.floor((runs.length - 1) / 2)]!;
}

/** The runs' mean throughput and first byte, the first run's route; their diagnostics are kept per run in the report. */
function meanOf(runs: readonly ScenarioResult[]): ScenarioResult {
  const mean = (pick: (run: ScenarioResult) => number) => runs.reduce((sum, run) => sum + pick(run), 0) / runs.length;
  return { bytes: runs[0]!.bytes, ms: mean((run) => run.ms), mibPerSecond: mean((run) => run.mibPerSecond), firstByteMs: mean((run) => run.firstByteMs), route: runs[0]!.route };
}

async function fileOf(name: string, mib: number) {
  const sourceDir = join(work, name);
  await writeRandomFiles(sourceDir, { "data.bin": mib * MiB });
  const manifestPath = join(work, `${name}.manifest.json`);
  await writeFile(manifestPath, JSON.stringify(await buildTransferManifest(sourceDir, ["data.bin"])));
  return { sourceDir, manifestPath, sinkDir: join(work, `${name}-received`) };
}

try {
  console.log(`bench:transfer — ${sizeMiB} MiB, then ${rttSizeMiB} MiB at ${RTT_MS} and ${LONG_RTT_MS} ms round trip (work folder ${work})`);
  const big = await fileOf("big", sizeMiB);
  const small = await fileOf("small", rttSizeMiB);
  const bytes = sizeMiB * MiB;

  // Through TURN: both peers in one namespace on two addresses that cannot reach each other, coturn on a third.
  const unavailable = await namespacesUnavailable();
  if (unavailable) console.log(`  the TURN rows are skipped: ${unavailable}`);
  const relayNs = unavailable ? undefined : await createRelayOnlyNamespace();
  const secret = randomBytes(24).toString("base64url");
  const coturn = relayNs ? await startCoturn({ address: relayNs.turnAddress, secret, dir: work, prefix: ["ip", "netns", "exec", relayNs.name] }) : undefined;
  const { username, credential } = await turnRestCredential({ secret, user: "bench", ttlSeconds: 3600 });
  const turn: IceServer | undefined = relayNs ? { urls: [`turn:${relayNs.turnAddress}:3478?transport=udp`], username, credential } : undefined;
  const viaTurn = relayNs ? { turn, namespace: relayNs.name, bindAddresses: relayNs.peerAddresses } : {};

  const rows: Record<string, ScenarioResult> = {};
  const turnRuns: { raw?: ScenarioResult[]; pond?: ScenarioResult[] } = {};
  const longRuns: Record<number, { raw: ScenarioResult[]; pond: ScenarioResult[] }> = {};
  try {
    rows.rawBefore = await measure("raw node-datachannel loop", { kind: "raw", bytes });
    for (const channels of [1, 2, 4]) rows[`pond${channels}`] = await measure(`Pond direct, ${channels} channel(s)`, { kind: "pond", channels, ...big });
    rows.tcp = await measure("raw TCP on 127.0.0.1", { kind: "tcp", bytes });
    const bestChannels = [1, 2, 4].reduce((best, n) => (rows[`pond${n}`]!.mibPerSecond > rows[`pond${best}`]!.mibPerSecond ? n : best), 1);
    if (relayNs) {
      // Through coturn the figures swing with whatever else the machine runs (coturn relays every packet twice, in
      // user space): each Pond run sits between two raw runs, and the ratio uses the means of all of them.
      const rawRuns = [await measure("raw loop through coturn (1)", { kind: "raw", bytes, ...viaTurn })];
      const pondRuns: ScenarioResult[] = [];
      for (let round = 1; round <= turnRounds; round++) {
        pondRuns.push(await measure(`Pond through coturn, ${bestChannels} channel(s) (${round})`, { kind: "pond", channels: bestChannels, ...viaTurn, ...big }));
        rawRuns.push(await measure(`raw loop through coturn (${round + 1})`, { kind: "raw", bytes, ...viaTurn }));
      }
      rows.rawTurn = meanOf(rawRuns);
      rows.pondTurn = meanOf(pondRuns);
      turnRuns.raw = rawRuns;
      turnRuns.pond = pondRuns;
    }
    rows.rawAfter = await measure("raw node-datachannel loop (again)", { kind: "raw", bytes });
    const rttBytes = rttSizeMiB * MiB;
    const onDefault = { sctpBufferBytes: SCTP_BUFFER_DEFAULT };
    // On a long link one run in a few collapses (SCTP's congestion window after losses on the emulated link, raw
    // and Pond alike: seen from 6-8 MiB/s down to 0.4 at 200 ms): raw and Pond alternate, and the rows take medians.
    for (const [tag, rttMs] of [["rtt", RTT_MS], ["long", LONG_RTT_MS]] as const) {
      rows[`${tag}RawDefault`] = await measure(`raw loop, ${rttMs} ms RTT, 1 MiB SCTP buffers`, { kind: "raw", bytes: rttBytes, rttMs, ...onDefault });
      const runs: { raw: ScenarioResult[]; pond: ScenarioResult[] } = { raw: [], pond: [] };
      for (let round = 1; round <= rttRounds; round++) {
        runs.raw.push(await measure(`raw loop, ${rttMs} ms RTT, 8 MiB SCTP buffers (${round})`, { kind: "raw", bytes: rttBytes, rttMs }));
        runs.pond.push(await measure(`Pond, ${rttMs} ms RTT, 8 MiB SCTP buffers, 1 channel (${round})`, { kind: "pond", channels: 1, rttMs, ...small }));
      }
      rows[`${tag}RawLarge`] = medianOf(runs.raw);
      rows[`${tag}Pond`] = medianOf(runs.pond);
      longRuns[rttMs] = runs;
    }
    rows.rttPondDefault = await measure(`Pond, ${RTT_MS} ms RTT, 1 MiB SCTP buffers, 1 channel`, { kind: "pond", channels: 1, rttMs: RTT_MS, ...onDefault, ...small });
    rows.rttPond4 = await measure(`Pond, ${RTT_MS} ms RTT, 8 MiB SCTP buffers, 4 channels`, { kind: "pond", channels: 4, rttMs: RTT_MS, ...small });

    const noStack = await stackUnavailable();
    let stack: StackFigures | undefined;
    if (noStack) console.log(`  the R2 relay and first-byte rows are skipped: ${noStack}`);
    else {
      console.log("  R2 relay and first output byte: wrangler dev, a provider daemon on Docker …");
      stack = await measureThroughStack({ inputFile: join(big.sourceDir, "data.bin"), outputMiB: outputSizeMiB });
    }

    const baseline = (rows.rawBefore!.mibPerSecond + rows.rawAfter!.mibPerSecond) / 2;
    const bestDirect = rows[`pond${bestChannels}`]!;
    const ratio = (value: ScenarioResult, base: number) => value.mibPerSecond / base;
    const line = (name: string, value: ScenarioResult, base: number, baseName: string) => [name, value.mibPerSecond, `${formatNumber(ratio(value, base))}× ${baseName}`, value.firstByteMs, value.route ?? "-"];
    printTable(`${sizeMiB} MiB provider → creator (raw loop baseline: mean of first and last run, ${formatNumber(baseline)} MiB/s)`, ["path", "MiB/s", "ratio", "first byte ms", "route"], [
      line("raw node-datachannel loop (first)", rows.rawBefore!, baseline, "raw loop"),
      line("raw node-datachannel loop (last)", rows.rawAfter!, baseline, "raw loop"),
      ...[1, 2, 4].map((n) => line(`Pond direct, ${n} channel(s)`, rows[`pond${n}`]!, baseline, "raw loop")),
      line("raw TCP, 127.0.0.1", rows.tcp!, baseline, "raw loop"),
      ...(rows.rawTurn && rows.pondTurn
        ? [
            line(`raw loop through coturn (mean of ${turnRuns.raw!.length})`, rows.rawTurn, baseline, "raw loop"),
            line(`Pond through coturn, ${bestChannels} channel(s) (mean of ${turnRuns.pond!.length})`, rows.pondTurn, rows.rawTurn.mibPerSecond, "raw via TURN"),
          ]
        : []),
      ...(stack ? relayRows(stack, baseline) : []),
    ]);
    const peak = (row: ScenarioResult) => formatNumber((row.diagnostics?.peakOutstanding ?? Number.NaN) / MiB);
    const long = (tag: string, rttMs: number) => [
      [`${rttMs} ms: raw loop, 1 MiB SCTP buffers`, rows[`${tag}RawDefault`]!.mibPerSecond, "1.00× itself", rows[`${tag}RawDefault`]!.firstByteMs, "-"],
      [`${rttMs} ms: raw loop, 8 MiB SCTP buffers`, rows[`${tag}RawLarge`]!.mibPerSecond, `${formatNumber(ratio(rows[`${tag}RawLarge`]!, rows[`${tag}RawDefault`]!.mibPerSecond))}× 1 MiB`, rows[`${tag}RawLarge`]!.firstByteMs, "-"],
      [`${rttMs} ms: Pond, 8 MiB, 1 channel`, rows[`${tag}Pond`]!.mibPerSecond, `${formatNumber(ratio(rows[`${tag}Pond`]!, rows[`${tag}RawLarge`]!.mibPerSecond))}× raw, same buffers`, rows[`${tag}Pond`]!.firstByteMs, peak(rows[`${tag}Pond`]!)],
    ];
    printTable(`${rttSizeMiB} MiB on long links (user-space UDP delay proxy: this kernel has no tc netem; 8 MiB rows: median of ${rttRounds} alternating runs)`, ["path", "MiB/s", "ratio", "first byte ms", "peak in SCTP, MiB"], [
      ...long("rtt", RTT_MS),
      [`${RTT_MS} ms: Pond, 1 MiB, 1 channel (before)`, rows.rttPondDefault!.mibPerSecond, `${formatNumber(ratio(rows.rttPondDefault!, rows.rttRawDefault!.mibPerSecond))}× raw, same buffers`, rows.rttPondDefault!.firstByteMs, peak(rows.rttPondDefault!)],
      [`${RTT_MS} ms: Pond, 8 MiB, 4 channels`, rows.rttPond4!.mibPerSecond, `${formatNumber(ratio(rows.rttPond4!, rows.rttRawLarge!.mibPerSecond))}× raw, same buffers`, rows.rttPond4!.firstByteMs, peak(rows.rttPond4!)],
      ...long("long", LONG_RTT_MS),
    ]);
    for (const [rttMs, runs] of Object.entries(longRuns)) {
      const list = (of: ScenarioResult[]) => of.map((run) => formatNumber(run.mibPerSecond)).join(", ");
      console.log(`At ${rttMs} ms, 8 MiB SCTP buffers, run by run (MiB/s): raw ${list(runs.raw)}; Pond ${list(runs.pond)}`);
    }
    const goals = {
      direct: { ratio: ratio(bestDirect, baseline), goal: GOAL_DIRECT, channels: bestChannels },
      turn: rows.rawTurn && rows.pondTurn ? { ratio: ratio(rows.pondTurn, rows.rawTurn.mibPerSecond), goal: GOAL_TURN } : undefined,
    };
    console.log(`\nGoal: Pond direct ≥ ${GOAL_DIRECT}× raw loop: ${formatNumber(goals.direct.ratio)}× with ${bestChannels} channel(s) — ${goals.direct.ratio >= GOAL_DIRECT ? "met" : "NOT met"}`);
    if (turnRuns.raw && turnRuns.pond) {
      const runs = (list: ScenarioResult[]) => list.map((run) => formatNumber(run.mibPerSecond)).join(", ");
      console.log(`\nThrough coturn, run by run (MiB/s): raw ${runs(turnRuns.raw)}; Pond ${runs(turnRuns.pond)}`);
      const dropped = (list: ScenarioResult[]) => list.map((run) => run.diagnostics?.udpRcvbufErrors ?? "-").join(", ");
      console.log(`UDP datagrams the kernel dropped (receive buffers full) in the relay namespace: raw ${dropped(turnRuns.raw)}; Pond ${dropped(turnRuns.pond)}`);
      console.log(`Pond's send buffer found empty (ranDry) per run: ${turnRuns.pond.map((run) => run.diagnostics?.ranDry ?? "-").join(", ")}`);
    }
    if (goals.turn) console.log(`Goal: Pond through TURN ≥ ${GOAL_TURN}× raw through TURN: ${formatNumber(goals.turn.ratio)}× — ${goals.turn.ratio >= GOAL_TURN ? "met" : "NOT met"}`);
    console.log(`First byte (request → first data at the receiver), Pond direct: ${formatNumber(bestDirect.firstByteMs)} ms`);
    if (stack) {
      const met = stack.outputs.firstByteMs < GOAL_FIRST_BYTE_MS ? "met" : "NOT met";
      console.log(`Goal: first output byte at the creator < ${GOAL_FIRST_BYTE_MS} ms after the job ends (pond run --output, median of ${stack.outputs.firstByteRunsMs.length} jobs): ${formatNumber(stack.outputs.firstByteMs)} ms (${stack.outputs.download.route}; runs: ${stack.outputs.firstByteRunsMs.map(formatNumber).join(", ")} ms) — ${met}`);
    }
    if (failures.length > 0) console.log(`Runs that failed and were repeated: ${failures.map((f) => f.label).join("; ")}`);
    const path = await writeReport("transfer", { sizeMiB, rttSizeMiB, rttMs: [RTT_MS, LONG_RTT_MS], baselineMiBPerSecond: baseline, rows, turnRuns, longRuns, stack, goals, failures });
    console.log(`report: ${path}`);
  } finally {
    await coturn?.stop();
    await relayNs?.teardown();
  }
} finally {
  await rm(work, { recursive: true, force: true });
}

/** The relay's legs and the two together (store and forward: the provider fetches what the creator uploaded), as table rows. */
function relayRows(stack: StackFigures, baseline: number): Array<Array<string | number>> {
  const mibPerSecond = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);
  const { bytes, uploadMs, fetch } = stack.relay;
  const legs: Array<[string, number, number]> = [
    ["R2 relay: creator → R2 upload", bytes, uploadMs],
    ["R2 relay: R2 → provider fetch", fetch.bytes, fetch.ms],
    ["R2 relay, upload then fetch", bytes, uploadMs + fetch.ms],
    [`outputs P2P, ${formatNumber(stack.outputs.bytes / MiB)} MiB daemon → CLI`, stack.outputs.download.bytes, stack.outputs.download.ms],
  ];
  return legs.map(([name, legBytes, ms]) => {
    const rate = mibPerSecond(legBytes, ms);
    return [name, rate, `${formatNumber(rate / baseline)}× raw loop`, "-", name.startsWith("outputs") ? stack.outputs.download.route : "relay"];
  });
}
