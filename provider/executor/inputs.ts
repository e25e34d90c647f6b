// Small inputs travel inside the spec; they are written where the container
// sees them read-only, at /inputs.
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { InlineInput } from "../../protocol/jobSpec.ts";

export async function writeInputs(inputsDir: string, inputs: readonly InlineInput[]): Promise<void> {
  await mkdir(inputsDir, { recursive: true });
  for (const input of inputs) {
    // RelativePath (protocol) already refused "..", so the join stays inside inputsDir.
    const target = join(inputsDir, input.path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, Buffer.from(input.data_base64, "base64"), { mode: 0o644 });
  }
}
