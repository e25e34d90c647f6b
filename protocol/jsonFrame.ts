// Parsing one JSON text frame against a schema, for the protocols that carry
// JSON frames (signaling, the transfer control channel). A malformed frame
// becomes an error value that says what is wrong, never an exception.
import type { z } from "zod";

export type ParsedFrame<T> = { ok: true; message: T } | { ok: false; error: string };

export function parseJsonFrame<T extends z.ZodType>(schema: T, raw: string, protocol: string): ParsedFrame<z.infer<T>> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, error: `the ${protocol} frame is not JSON` };
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.join(".") || "(frame)"}: ${issue.message}`)
      .join("; ");
    return { ok: false, error: `the ${protocol} frame does not match the protocol: ${issues}` };
  }
  return { ok: true, message: result.data };
}
