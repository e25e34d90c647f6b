// `pond templates …`: browse, inspect and publish job templates.
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { formatEther } from "viem";
import { TemplateDefinition, type Template } from "../../protocol/template.ts";
import { checkpointLimits } from "../../protocol/limits.ts";
import { integer, type CliContext } from "../context.ts";
import { UsageError } from "../errors.ts";
import { table } from "../output.ts";

export function registerTemplates(program: Command, ctx: () => CliContext): void {
  const templates = program.command("templates").description("job templates: named, versioned jobs to run with `pond run owner/name@version`");

  templates
    .command("list")
    .option("-q, --query <text>", "search names and descriptions")
    .option("--name <owner/name>", "only the versions of one template")
    .option("--limit <n>", "how many", integer, 20)
    .description("published templates, newest first")
    .action(async (options: { query?: string; name?: string; limit: number }) => {
      const c = ctx();
      const page = await (await c.anonymous()).listTemplates({ ...(options.query ? { q: options.query } : {}), ...(options.name ? { name: options.name } : {}), limit: options.limit });
      c.output.result(page, (p) => table(p.results.map((t) => [t.ref, t.deterministic ? "deterministic" : "", t.description])));
    });

  templates
    .command("show")
    .argument("<ref>", "owner/name@version, or owner/name for the latest")
    .description("one template: what it runs and the parameters it takes")
    .action(async (ref: string) => {
      const c = ctx();
      c.output.result(await (await c.anonymous()).getTemplate(ref), describeTemplate);
    });

  templates
    .command("publish")
    .argument("<file>", "a JSON file with the template definition (name, version, image@sha256:…, cmd, params, …)")
    .description("publish a new, immutable version")
    .action(async (file: string) => {
      const c = ctx();
      let raw: unknown;
      try {
        raw = JSON.parse(await readFile(file, "utf8"));
      } catch (error) {
        throw new UsageError(`cannot read ${file} as JSON: ${(error as Error).message}`);
      }
      const definition = TemplateDefinition.safeParse(raw);
      if (!definition.success) throw new UsageError(`${file} is not a template definition:\n${definition.error.issues.map((i) => `  ${i.path.join(".") || "(file)"}: ${i.message}`).join("\n")}`);
      const published = await (await c.client()).publishTemplate(definition.data);
      c.output.result(published, (t) => `published ${t.ref}; run it with: pond run ${t.ref}${Object.keys(t.params.properties).length ? " -p name=value" : ""}`);
    });
}

function describeTemplate(template: Template): string[] {
  const lines = [`${template.ref}${template.deterministic ? " (deterministic: challengeable)" : ""}`, `  ${template.description}`, `  image ${template.image}`];
  if (template.cmd) lines.push(`  cmd ${JSON.stringify(template.cmd)}`);
  const r = template.resources;
  lines.push(`  resources: ${r.gpus} GPU${r.gpus === 1 ? "" : "s"}${r.gpu_vram_mb ? ` (${r.gpu_vram_mb} MiB VRAM each)` : ""}, ${r.cpus} CPU, ${r.memory_mb} MiB; timeout ${template.timeout_s} s`);
  lines.push(`  default price ceiling ${formatEther(BigInt(template.default_max_price_wei))} ETH`);
  lines.push(template.network ? `  network: may reach ${template.network.allow.join(", ")} (providers offering egress only)` : "  network: none");
  if (template.checkpoint) lines.push(`  checkpoints: saved from /outputs/checkpoint every ${template.checkpoint.interval_s ?? checkpointLimits.defaultIntervalS} s; a requeued run resumes from the latest`);
  if (template.secrets) lines.push(`  secrets: ${template.secrets.join(", ")} (each run brings its own: --secret NAME)`);
  const required = new Set(template.params.required ?? []);
  for (const [name, param] of Object.entries(template.params.properties)) {
    const facts = [param.type, required.has(name) ? "required" : "optional", "default" in param && param.default !== undefined ? `default ${JSON.stringify(param.default)}` : ""].filter(Boolean);
    lines.push(`  -p ${name}=…  ${facts.join(", ")}${param.description ? `: ${param.description}` : ""}`);
  }
  return lines;
}
