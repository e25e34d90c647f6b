// pond/jitter (templates/shipped.ts) as a job on the test image, and the
// outputs a lying provider makes up in its shape: numbers moved and labels
// changed by chosen amounts, to test where a tolerant challenge draws the line.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseEther } from "viem";
import type { CreateJobRequest } from "../../protocol/jobSpec.ts";
import { JITTER_LABELS, JITTER_MAX_NOISE, shippedTemplates } from "../../templates/shipped.ts";
import { TEST_IMAGE } from "./docker.ts";

const jitter = shippedTemplates(TEST_IMAGE).find((template) => template.name === "pond/jitter")!;

/** pond/jitter's command at its largest jitter, with its declared comparison, another, or none (null: exact). */
export function jitterJob(verify: CreateJobRequest["verify"] | null = jitter.verify!): CreateJobRequest {
  return {
    image: TEST_IMAGE,
    cmd: jitter.cmd!,
    env: { NOISE: String(JITTER_MAX_NOISE), FLIPS: "2" },
    resources: { gpus: 0, cpus: 0.5, memory_mb: 128 },
    timeout_s: 60,
    max_price_wei: parseEther("0.01").toString(),
    ...(verify ? { verify } : {}),
  };
}

/** pond/jitter's outputs without their jitter, every number moved by `shift` and the first `wrongLabels` labels made up. */
export async function forgeJitterOutputs(dir: string, lie: { shift: number; wrongLabels: number }): Promise<void> {
  const loss = Array.from({ length: 10 }, (_, i) => 1 / (i + 2) + lie.shift);
  await writeFile(join(dir, "metrics.json"), `${JSON.stringify({ loss, accuracy: 0.9 + lie.shift })}\n`);
  // (i + 5) % 10 is never what an honest run wrote there, flipped ((i + 1) % 10) or not.
  const labels = Array.from({ length: JITTER_LABELS }, (_, i) => (i < lie.wrongLabels ? (i + 5) % 10 : i % 10));
  await writeFile(join(dir, "labels.txt"), `${labels.join("\n")}\n`);
}
