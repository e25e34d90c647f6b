// A CPU profile of the Worker's isolate under load, through the inspector port
// wrangler dev opens (Chrome DevTools Protocol: Profiler.start / Profiler.stop).
// Every Durable Object of the Worker runs in that isolate, so all of Pond's code
// is in it; what it lacks is the local emulation around it: D1 and R2 are
// Miniflare's own objects in isolates of their own (their SQLite included), and
// wrangler's proxy is another workerd. The difference between workerd's CPU and
// this profile is that emulation's share.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import WebSocket from "ws";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  /** Milliseconds the isolate's thread was busy: JavaScript, garbage collection and (program), workerd's native work in it (gaps in sampling counted as one interval). */
  jsMs: number;
  gcMs: number;
  wallMs: number;
  /** Self time by function, most first. */
  top: Array<{ where: string; ms: number; share: number }>;
  /** Self time by source module (the Worker's own files, each library), most first: read from the bundle's `// path` markers. */
  byFile: Array<{ file: string; ms: number; share: number }>;
}

export interface WorkerProfiler {
  stop(): Promise<ProfileSummary>;
}

/**
 * `bundle`: the script wrangler dev runs (.wrangler/tmp/dev-…/index.js), whose esbuild
 * `// node_modules/…` and `// worker/…` comments say which module each line came from.
 */
export async function startWorkerProfile(inspectorPort: number, bundle?: string, samplingUs = 200): Promise<WorkerProfiler> {
  const socket = new WebSocket(`ws://127.0.0.1:${inspectorPort}/ws`);
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  let nextId = 1;
  const waiting = new Map<number, (result: unknown) => void>();
  socket.on("message", (data) => {
    const message = JSON.parse(data.toString()) as { id?: number; result?: unknown };
    if (message.id !== undefined) waiting.get(message.id)?.(message.result);
  });
  const call = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve) => {
      const id = nextId++;
      waiting.set(id, resolve);
      socket.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: samplingUs });
  await call("Profiler.start");
  return {
    async stop() {
      const { profile } = (await call("Profiler.stop")) as { profile: Profile };
      socket.close();
      return summarize(profile, bundle ? moduleLines(bundle) : [], samplingUs);
    },
  };
}

/** The script the newest `wrangler dev` in this checkout runs (it is removed when that one stops). */
export function newestDevBundle(root = ".wrangler/tmp"): string | undefined {
  const bundles = readdirSync(root)
    .filter((name) => name.startsWith("dev-"))
    .map((name) => join(root, name, "index.js"))
    .filter((file) => statSync(file, { throwIfNoEntry: false }));
  return bundles.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

/** Where each module starts in the bundle, in line order. */
function moduleLines(bundle: string): Array<{ line: number; module: string }> {
  const starts: Array<{ line: number; module: string }> = [];
  readFileSync(bundle, "utf8")
    .split("\n")
    .forEach((text, i) => {
      const marker = /^\/\/ ((?:node_modules\/(?:@[^/]+\/)?[^/]+|worker\/[^/]+|protocol|contracts)[^ ]*)$/.exec(text);
      if (marker) starts.push({ line: i, module: marker[1]!.replace(/^(node_modules\/(?:@[^/]+\/)?[^/]+).*$/, "$1").replace(/^(worker\/[^/]+)\/.*$/, "$1/") });
    });
  return starts;
}

function moduleAt(starts: Array<{ line: number; module: string }>, line: number): string | undefined {
  let low = 0;
  let high = starts.length - 1;
  let found: string | undefined;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (starts[middle]!.line <= line) {
      found = starts[middle]!.module;
      low = middle + 1;
    } else high = middle - 1;
  }
  return found;
}

function summarize(profile: Profile, modules: Array<{ line: number; module: string }>, samplingUs: number): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  // A gap much longer than the sampling interval is time the isolate's thread was not running (a busy
  // machine preempted it): counted as one interval, or the function it resumed in would take the whole gap.
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + Math.min(profile.timeDeltas[i] ?? 0, 2 * samplingUs)));
  const byWhere = new Map<string, number>();
  const byFile = new Map<string, number>();
  let gc = 0;
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    // (program) stays: workerd's own work inside the isolate (its native calls, entering and leaving JavaScript).
    if (functionName === "(idle)") continue;
    if (functionName === "(garbage collector)") gc += us;
    const file = !url ? "(native)" : (url.endsWith("index.js") && moduleAt(modules, lineNumber)) || url;
    const where = `${functionName || "(anonymous)"} ${file}:${lineNumber + 1}`;
    byWhere.set(where, (byWhere.get(where) ?? 0) + us);
    byFile.set(file, (byFile.get(file) ?? 0) + us);
  }
  const busy = [...byWhere.values()].reduce((a, b) => a + b, 0);
  const ranked = <K extends string>(map: Map<string, number>, key: K) =>
    [...map].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([name, us]) => ({ [key]: name, ms: us / 1000, share: us / busy }) as Record<K, string> & { ms: number; share: number });
  return { jsMs: busy / 1000, gcMs: gc / 1000, wallMs: (profile.endTime - profile.startTime) / 1000, top: ranked(byWhere, "where"), byFile: ranked(byFile, "file") };
}
