// The body of a create (or a quote): a spec, or a template run the API resolves
// into one. Validation reports a bad body against the shape it was meant as.
import { z } from "@hono/zod-openapi";
import { CreateJobRequest, CreateTemplateJobRequest, specOfRequest, type JobSpec } from "../../protocol/jobSpec.ts";
import type { UnionChoice } from "../errors/validation.ts";
import { resolveRun, type TemplateFinder } from "../templates/runs.ts";

/** A spec, or a template run that the API resolves into one. */
export const CreateJobBody = z.union([CreateJobRequest, CreateTemplateJobRequest]);
export type CreateJobBody = z.infer<typeof CreateJobBody>;

/** A body with a `template` is a template run: its issues are reported against that shape, else against a spec's. */
export const meantShape: UnionChoice = (branches) => (branches[1]?.some((issue) => issue.path[0] === "template") ? 0 : 1);

export async function specOf(db: Parameters<typeof resolveRun>[0], request: CreateJobBody, find?: TemplateFinder): Promise<{ spec: JobSpec; template: string | null }> {
  if ("template" in request) {
    const run = await resolveRun(db, request, find);
    return { spec: run.spec, template: run.ref };
  }
  return { spec: specOfRequest(request), template: null };
}
