// A process that keeps inserting files into an input cache and says so after
// each one, for the test that kills it (SIGKILL) in the middle of an insert.
// argv: <cache root> <folder of fetched files>
import { readdir } from "node:fs/promises";
import { pino } from "pino";
import { buildTransferManifest } from "../../../p2p/node/buildTransferManifest.ts";
import { InputCache } from "../../../provider/dataplane/inputCache.ts";

const [root, fetched] = process.argv.slice(2) as [string, string];
const cache = new InputCache({ root, budgetBytes: 1024 ** 4, log: pino({ level: "silent" }) });
await cache.load();
const names = (await readdir(fetched)).sort();
const manifest = await buildTransferManifest(fetched, names);
let kept = 0;
for (const file of manifest.files) {
  await cache.keep([file], fetched);
  kept++;
  process.stdout.write(`kept ${kept}\n`);
}
process.stdout.write("done\n");
