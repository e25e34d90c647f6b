// Matching is sharded by what a job needs (DESIGN.md "Scale"): each class is
// one Matchmaker Durable Object. A provider feeds every class it can serve.
import type { Resources } from "../../protocol/jobSpec.ts";

export const jobClasses = ["cpu", "gpu"] as const;
export type JobClass = (typeof jobClasses)[number];

export function jobClassOf(resources: Resources): JobClass {
  return resources.gpus > 0 ? "gpu" : "cpu";
}

export function classesServedBy(provider: { gpuCount: number }): JobClass[] {
  return provider.gpuCount > 0 ? ["cpu", "gpu"] : ["cpu"];
}
