// A whole file's sha256, read in 1 MiB pieces: what a received file, a cached
// input and a job's output are checked by.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
