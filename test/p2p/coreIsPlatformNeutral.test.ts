// p2p/core is meant to be bundled for a browser page: it may import only itself and protocol/.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const coreDir = join(import.meta.dirname, "..", "..", "p2p", "core");

describe("p2p/core", () => {
  it("imports nothing but its own modules and protocol/ (no node:, no node-datachannel)", async () => {
    const files = (await readdir(coreDir)).filter((name) => name.endsWith(".ts"));
    expect(files.length).toBeGreaterThan(5);
    const imports: string[] = [];
    for (const name of files) {
      const source = await readFile(join(coreDir, name), "utf8");
      for (const match of source.matchAll(/^(?:import|export)[^;]*?from\s+"([^"]+)"/gms)) imports.push(`${name}: ${match[1]}`);
    }
    expect(imports.length).toBeGreaterThan(10);
    const foreign = imports.filter((entry) => !/: (\.\/|\.\.\/\.\.\/protocol\/)/.test(entry));
    expect(foreign).toEqual([]);
  });
});
