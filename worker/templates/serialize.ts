// A templates row as the API shows it (protocol/template.ts).
import type { Template, TemplateDefinition } from "../../protocol/template.ts";
import type { TemplateRow } from "./repository.ts";

export function serializeTemplate(row: TemplateRow): Template {
  const definition = row.definition as TemplateDefinition;
  return {
    ref: `${row.name}@${row.version}`,
    name: row.name,
    version: row.version,
    description: row.description,
    image: definition.image,
    cmd: definition.cmd ?? null,
    env: definition.env ?? null,
    secrets: definition.secrets ?? null,
    params: definition.params,
    resources: definition.resources,
    timeout_s: definition.timeout_s,
    match_timeout_s: definition.match_timeout_s ?? null,
    default_max_price_wei: definition.default_max_price_wei,
    network: definition.network ?? null,
    deterministic: definition.deterministic,
    verify: definition.verify ?? null,
    checkpoint: definition.checkpoint ?? null,
    owner: row.owner,
    created_at: new Date(row.createdAt).toISOString(),
  };
}
