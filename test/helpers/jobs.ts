import type { CreateJobRequest } from "../../protocol/jobSpec.ts";
import { TEST_IMAGE } from "./docker.ts";

/** A small shell job on the local test image, for end-to-end tests. */
export const shellJob = (cmd: string, overrides: Partial<CreateJobRequest> = {}): CreateJobRequest => ({
  image: TEST_IMAGE,
  cmd: ["sh", "-c", cmd],
  resources: { gpus: 0, cpus: 0.5, memory_mb: 128 },
  timeout_s: 30,
  max_price_wei: "1000000000000000000",
  ...overrides,
});
