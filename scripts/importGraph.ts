// The import graph of Pond's TypeScript, and the layer rules it must keep
// (docs/architecture.md). `npm run arch` prints the Worker's layers as a
// Mermaid diagram; test/architecture/ checks the rules on every run.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import ts from "typescript";

export const root = join(import.meta.dirname, "..");

/**
 * The Worker's folders, bottom to top. A module may import its own folder and
 * folders in lower rows; folders in one row never import each other. "." is
 * the entry (index.ts, app.ts).
 */
export const workerLayers: readonly (readonly string[])[] = [
  ["security", "db", "errors"],
  ["config"],
  ["bindings"],
  ["jobs", "templates"],
  ["webhooks", "matching", "rooms", "signaling", "data", "sweeps"],
  ["chain", "stats"],
  ["hub"],
  ["wiring"],
  ["cron", "http"],
  ["auth"],
  ["api", "pages"],
  ["objects"],
  ["."],
];

/** What each top-level folder may import of ours (besides itself). */
export const topLevelRules: Record<string, readonly string[]> = {
  protocol: [],
  p2p: ["protocol"],
  keys: [],
  contracts: [],
  worker: ["protocol", "contracts/generated"],
  provider: ["protocol", "keys", "p2p"],
  sdk: ["protocol", "p2p/core"],
  templates: ["protocol"],
  cli: ["protocol", "keys", "sdk", "p2p", "contracts/generated"],
  web: ["protocol", "p2p/core"],
  scripts: ["*"],
  bench: ["*"],
  test: ["*"],
};

/** Files that are generated, not written: exempt from the size rule. */
export const generated = [/^contracts\/generated\//, /^worker\/worker-configuration\.d\.ts$/, /^sdk\/generated\//];
export const MAX_LINES = 400;

export interface ImportEdge {
  from: string;
  to: string;
}

/** Every .ts and .tsx file under `dir` (repository-relative paths), node_modules excepted. */
export function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (current: string) => {
    for (const entry of readdirSync(join(root, current), { withFileTypes: true })) {
      if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|tsx|mts)$/.test(entry.name)) out.push(path);
    }
  };
  walk(dir);
  return out.sort();
}

/** The relative imports of a file (static, type-only and `import()` types alike), resolved to repository paths. */
export function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(join(root, file), "utf8"), true, true);
  return info.importedFiles
    .map((imported) => imported.fileName)
    .filter((name) => name.startsWith("."))
    .map((name) => normalize(join(dirname(file), name)).replace(/\\/g, "/"))
    .map((path) => (/\.(ts|tsx|mts|js)$/.test(path) ? path : `${path}.ts`));
}

export function edgesUnder(dir: string): ImportEdge[] {
  return sourceFiles(dir).flatMap((from) => importsOf(from).map((to) => ({ from, to })));
}

/** Import cycles among files (each reported once, as the list of files around it). */
export function cyclesIn(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) next.set(from, [...(next.get(from) ?? []), to]);
  // Tarjan's strongly connected components: a component of more than one file is a cycle.
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string) => {
    indexOf.set(node, index);
    low.set(node, index);
    index++;
    stack.push(node);
    onStack.add(node);
    for (const target of next.get(node) ?? []) {
      if (!indexOf.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, indexOf.get(target)!));
      }
    }
    if (low.get(node) === indexOf.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const node of next.keys()) if (!indexOf.has(node)) visit(node);
  return cycles;
}

/** The Worker folder a file is in ("." for worker/index.ts and worker/app.ts). */
export function workerFolderOf(file: string): string {
  const inside = relative("worker", file).replace(/\\/g, "/");
  return inside.includes("/") ? inside.split("/")[0]! : ".";
}

export function layerOf(folder: string): number {
  return workerLayers.findIndex((row) => row.includes(folder));
}

/** Worker imports that go sideways or up the layers. */
export function layerViolations(edges: readonly ImportEdge[]): string[] {
  return edges
    .filter((edge) => edge.to.startsWith("worker/"))
    .flatMap(({ from, to }) => {
      const [a, b] = [workerFolderOf(from), workerFolderOf(to)];
      if (a === b) return [];
      const [la, lb] = [layerOf(a), layerOf(b)];
      if (la < 0 || lb < 0) return [`${from} → ${to}: folder ${la < 0 ? a : b} is not in workerLayers (scripts/importGraph.ts)`];
      return lb < la ? [] : [`${from} → ${to}: ${a} may not import ${b} (${lb === la ? "same row" : "a higher layer"})`];
    });
}

/** Imports between top-level folders that topLevelRules does not allow. */
export function topLevelViolations(edges: readonly ImportEdge[]): string[] {
  return edges.flatMap(({ from, to }) => {
    const [a, b] = [from.split("/")[0]!, to.split("/")[0]!];
    if (a === b) return [];
    const allowed = topLevelRules[a];
    if (!allowed) return [`${from}: top-level folder ${a} has no import rule (scripts/importGraph.ts)`];
    if (allowed.includes("*") || allowed.some((target) => to.startsWith(`${target}/`) || to === target)) return [];
    return [`${from} → ${to}: ${a}/ may import only ${allowed.length ? allowed.join(", ") : "nothing of ours"}`];
  });
}

/** The Worker's folder-level imports as a Mermaid flowchart, layers top to bottom. */
export function workerMermaid(edges: readonly ImportEdge[]): string {
  const pairs = new Set<string>();
  for (const { from, to } of edges) {
    if (!to.startsWith("worker/")) continue;
    const [a, b] = [workerFolderOf(from), workerFolderOf(to)];
    if (a !== b) pairs.add(`${a}|${b}`);
  }
  const id = (folder: string) => (folder === "." ? "entry" : folder);
  const lines = ["flowchart TD"];
  for (const [row, folders] of [...workerLayers.entries()].reverse()) {
    lines.push(`  subgraph L${row}[" "]`, ...folders.map((f) => `    ${id(f)}[${f === "." ? "index.ts, app.ts" : `${f}/`}]`), "  end");
  }
  for (const pair of [...pairs].sort()) {
    const [a, b] = pair.split("|") as [string, string];
    lines.push(`  ${id(a)} --> ${id(b)}`);
  }
  return lines.join("\n");
}

if (process.argv[1] === import.meta.filename) {
  console.log(workerMermaid(edgesUnder("worker")));
}
