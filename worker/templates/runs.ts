// Turning a template run (a ref, parameter values, a price ceiling) into the
// spec a job is made of, or the 404/422 that says what is wrong.
import type { CreateTemplateJobRequest, JobSpec } from "../../protocol/jobSpec.ts";
import { formatTemplateRef, parseTemplateRef, type TemplateDefinition } from "../../protocol/template.ts";
import type { Db } from "../db/client.ts";
import { notFound, unprocessable } from "../errors/problem.ts";
import { findTemplate } from "./repository.ts";
import { resolveTemplate } from "./resolve.ts";

export interface ResolvedRun {
  /** The exact version used, even when the ref said "latest". */
  ref: string;
  spec: JobSpec;
}

/** How a run finds its template: a batch of runs shares one read of each (api/jobBatch.ts). */
export type TemplateFinder = typeof findTemplate;

export async function resolveRun(db: Db, run: Pick<CreateTemplateJobRequest, "template" | "params" | "max_price_wei" | "input_files">, find: TemplateFinder = findTemplate): Promise<ResolvedRun> {
  const ref = parseTemplateRef(run.template);
  if (!ref) throw unprocessable(`"${run.template}" is not a template reference: use owner/name@1.2.0 or owner/name@latest`, [{ path: "template", message: "not a template reference" }]);
  const row = await find(db, ref);
  if (!row) throw notFound(`template ${formatTemplateRef(ref)}`);
  const resolved = resolveTemplate(row.definition as TemplateDefinition, { ...(run.params ? { params: run.params } : {}), ...(run.max_price_wei ? { maxPriceWei: run.max_price_wei } : {}) });
  if (!resolved.ok) {
    const fields = [...new Set(resolved.errors.map((e) => e.path))].join(", ");
    throw unprocessable(`the run of ${row.name}@${row.version} has invalid values: ${fields}`, resolved.errors);
  }
  // Files are the run's, not the template's: they join the spec the creator signs.
  const spec = run.input_files?.length ? { ...resolved.spec, input_files: run.input_files } : resolved.spec;
  return { ref: `${row.name}@${row.version}`, spec };
}
