// Where a manifest path lives under a storage root. The manifest schema already
// refuses absolute paths and '..'; this checks again at the file system's edge.
import { resolve, sep } from "node:path";

export function pathInside(root: string, relativePath: string): string {
  const base = resolve(root);
  const full = resolve(base, relativePath);
  if (!full.startsWith(base + sep)) throw new Error(`"${relativePath}" is not a path inside ${base}`);
  return full;
}
