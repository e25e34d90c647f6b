// The layering docs/architecture.md describes, checked on the code itself, so
// the picture a newcomer reads cannot drift from what the imports do.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  cyclesIn,
  edgesUnder,
  generated,
  layerViolations,
  MAX_LINES,
  root,
  sourceFiles,
  topLevelRules,
  topLevelViolations,
  workerLayers,
  workerMermaid,
} from "../../scripts/importGraph.ts";

const topLevel = Object.keys(topLevelRules).filter((folder) => !["scripts", "bench", "test"].includes(folder));

describe("the Worker's imports", () => {
  const edges = edgesUnder("worker");

  it("form no cycle, counting type-only imports", () => {
    expect(cyclesIn(edges)).toEqual([]);
  });

  it("only ever point down the layers", () => {
    expect(layerViolations(edges)).toEqual([]);
  });

  it("has every folder in the layer table, and the table in docs/architecture.md", () => {
    const folders = new Set(sourceFiles("worker").map((file) => (file.split("/").length > 2 ? file.split("/")[1]! : ".")));
    const listed = new Set(workerLayers.flat());
    expect([...folders].filter((folder) => !listed.has(folder))).toEqual([]);
    const doc = readFileSync(join(root, "docs/architecture.md"), "utf8");
    expect(workerLayers.flat().filter((folder) => folder !== "." && !doc.includes(`\`${folder}/\``))).toEqual([]);
  });

  it("are pictured in docs/architecture.md as they are (npm run arch)", () => {
    const doc = readFileSync(join(root, "docs/architecture.md"), "utf8");
    const pictured = /<!-- import-graph:start -->\n```mermaid\n([\s\S]*?)\n```\n<!-- import-graph:end -->/.exec(doc)?.[1];
    expect(pictured).toBe(workerMermaid(edges));
  });
});

describe("the top-level folders", () => {
  it("import only what their rule allows", () => {
    const edges = [...topLevel, "scripts", "bench", "test"].flatMap((folder) => edgesUnder(folder));
    expect(topLevelViolations(edges)).toEqual([]);
  });

  it("catches an import the rules forbid (the check can fail)", () => {
    expect(topLevelViolations([{ from: "protocol/job.ts", to: "worker/config/config.ts" }])).toHaveLength(1);
    expect(layerViolations([{ from: "worker/jobs/transitions.ts", to: "worker/hub/offers.ts" }])).toHaveLength(1);
    expect(cyclesIn([{ from: "a.ts", to: "b.ts" }, { from: "b.ts", to: "a.ts" }])).toEqual([["a.ts", "b.ts"]]);
  });
});

describe("source files", () => {
  it(`stay under ${MAX_LINES} lines each (generated files aside)`, () => {
    const long = [...topLevel, "scripts", "bench", "test"]
      .flatMap((folder) => sourceFiles(folder))
      .filter((file) => !generated.some((pattern) => pattern.test(file)))
      .map((file) => ({ file, lines: readFileSync(join(root, file), "utf8").split("\n").length }))
      .filter(({ lines }) => lines > MAX_LINES);
    expect(long).toEqual([]);
  });
});
