// Builds the dashboard's browser code (web/) into dist/web/assets/, which the
// Worker serves as static assets (wrangler.toml [assets]). Run by wrangler's
// [build] hook (wrangler dev, wrangler deploy), by bootstrap.sh (npm start,
// npm test) and by `npm run build:web`. Vite (rolldown) rather than bare
// esbuild: it shakes zod's namespace export, which esbuild bundles whole
// (212 KiB against 567 KiB here). Works offline.
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { build } from "vite";

const root = join(import.meta.dirname, "..");
const served = join(root, "dist/web/assets");
// Built beside, then moved in file by file (rename replaces atomically): a
// wrangler dev already serving dist/web/ never sees it empty or half written.
const staging = join(root, `dist/web-build-${process.pid}`);

let output: Awaited<ReturnType<typeof build>>;
try {
  output = await build({
    configFile: false,
    root,
    logLevel: "warn",
    oxc: { jsx: { runtime: "automatic", importSource: "hono/jsx/dom" } },
    build: {
      outDir: staging,
      emptyOutDir: true,
      target: "es2022",
      sourcemap: true,
      // Fixed names: the Worker's page shells link them (worker/pages/layout.tsx).
      rolldownOptions: { input: { dashboard: join(root, "web/main.tsx") }, output: { entryFileNames: "assets/[name].js", assetFileNames: "assets/[name][extname]" } },
    },
  });
  await mkdir(served, { recursive: true });
  for (const file of await readdir(join(staging, "assets"))) await rename(join(staging, "assets", file), join(served, file));
} finally {
  await rm(staging, { recursive: true, force: true });
}

const outputs = (Array.isArray(output) ? output : [output]).flatMap((result) => ("output" in result ? result.output : []));
const sizes = outputs.filter((file) => !file.fileName.endsWith(".map")).map((file) => `${file.fileName} ${((file.type === "chunk" ? file.code.length : file.source.length) / 1024).toFixed(1)} KiB`);
console.log(`web: built ${sizes.join(", ")}`);
