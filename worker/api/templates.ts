// Templates: publish a version, browse the catalog, see one, and resolve a run
// into the spec it makes (what a paying creator signs before creating the job).
import { createRoute, z } from "@hono/zod-openapi";
import { parseTemplateRef, ResolvedTemplate, ResolveTemplateRequest, Template, TemplateDefinition, TemplatePage } from "../../protocol/template.ts";
import { requireApiKey } from "../auth/requireApiKey.ts";
import { decodeCursor, encodeCursor, paginate, type Cursor } from "../db/cursor.ts";
import { notFound, unprocessable } from "../errors/problem.ts";
import { idempotency } from "../http/idempotency.ts";
import { findTemplate, listTemplateRows, publishTemplate } from "../templates/repository.ts";
import { resolveRun } from "../templates/runs.ts";
import { serializeTemplate } from "../templates/serialize.ts";
import { bearer, createRouter, jsonContent, problems } from "./openapi.ts";

const RefParams = z.object({
  owner: z.string().max(40).openapi({ example: "pond" }),
  ref: z.string().max(160).openapi({ description: "name@version, name@latest, or name (latest)", example: "echo@1.0.0" }),
});

const publishRoute = createRoute({
  method: "post",
  path: "/",
  operationId: "publishTemplate",
  summary: "Publish a template version",
  description:
    "A version is immutable: publishing the same owner/name@version again is refused (409). The namespace (`owner`) belongs to the first account that publishes in it. The image must be pinned by digest.",
  security: bearer,
  middleware: [requireApiKey, idempotency] as const,
  request: { body: { required: true, content: { "application/json": { schema: TemplateDefinition } } } },
  responses: { 201: jsonContent(Template, "Published"), 401: problems[401], 403: problems[403], 409: problems[409], 422: problems[422] },
});

const listRoute = createRoute({
  method: "get",
  path: "/",
  operationId: "listTemplates",
  security: [],
  summary: "Browse published templates, newest first",
  request: {
    query: z.object({
      q: z.string().max(100).optional().openapi({ description: "Search in names and descriptions" }),
      name: z.string().max(104).optional().openapi({ description: "Only the versions of this owner/name" }),
      owner: z.string().regex(/^0x[0-9a-fA-F]{40}$/).optional().openapi({ description: "Only templates published by this account" }),
      limit: z.coerce.number().int().min(1).max(100).default(20),
      cursor: z.string().max(200).optional(),
    }),
  },
  responses: { 200: jsonContent(TemplatePage, "A page of templates"), 422: problems[422] },
});

const getRoute = createRoute({
  method: "get",
  path: "/{owner}/{ref}",
  operationId: "getTemplate",
  security: [],
  summary: "One template version (or the latest)",
  request: { params: RefParams },
  responses: { 200: jsonContent(Template, "The template"), 404: problems[404], 422: problems[422] },
});

const resolveRoute = createRoute({
  method: "post",
  path: "/{owner}/{ref}/resolve",
  operationId: "resolveTemplate",
  security: [],
  summary: "The job spec a run of this template makes",
  description: "Checks the parameters, applies defaults, and returns the exact version and spec: sign that spec's hash (and its tolerant flag, from the spec's verify) in your JobAuthorization, then create the job with the same template, params and max_price_wei.",
  request: { params: RefParams, body: { required: true, content: { "application/json": { schema: ResolveTemplateRequest } } } },
  responses: { 200: jsonContent(ResolvedTemplate, "The resolved spec"), 404: problems[404], 422: problems[422] },
});

const refOf = (params: { owner: string; ref: string }) => `${params.owner}/${params.ref}`;

export const templateRoutes = createRouter()
  .openapi(publishRoute, async (c) => {
    const row = await publishTemplate(c.get("db"), c.get("account"), c.req.valid("json"));
    c.header("location", `${c.get("baseUrl")}/v1/templates/${row.name}@${row.version}`);
    return c.json(serializeTemplate(row), 201);
  })
  .openapi(listRoute, async (c) => {
    const query = c.req.valid("query");
    let cursor: Cursor | undefined;
    if (query.cursor !== undefined) {
      cursor = decodeCursor(query.cursor);
      if (!cursor) throw unprocessable("the cursor is not one this API gave out", [{ path: "cursor", message: "unknown cursor" }]);
    }
    const fetched = await listTemplateRows(c.get("db"), {
      limit: query.limit,
      ...(query.q ? { query: query.q } : {}),
      ...(query.name ? { name: query.name } : {}),
      ...(query.owner ? { owner: query.owner.toLowerCase() } : {}),
      ...(cursor ? { cursor } : {}),
    });
    const { rows, links } = paginate(fetched, query.limit, cursor);
    const pageUrl = (target: Cursor | undefined) => {
      if (!target) return null;
      const url = new URL(`${c.get("baseUrl")}/v1/templates`);
      for (const key of ["q", "name", "owner"] as const) if (query[key]) url.searchParams.set(key, query[key]!);
      url.searchParams.set("limit", String(query.limit));
      url.searchParams.set("cursor", encodeCursor(target));
      return url.toString();
    };
    return c.json({ results: rows.map(serializeTemplate), next: pageUrl(links.next), previous: pageUrl(links.previous) }, 200);
  })
  .openapi(getRoute, async (c) => {
    const ref = parseTemplateRef(refOf(c.req.valid("param")));
    if (!ref) throw unprocessable("not a template reference: use owner/name@1.2.0 or owner/name@latest", [{ path: "ref", message: "not a template reference" }]);
    const row = await findTemplate(c.get("db"), ref);
    if (!row) throw notFound(`template ${refOf(c.req.valid("param"))}`);
    return c.json(serializeTemplate(row), 200);
  })
  .openapi(resolveRoute, async (c) => {
    const run = await resolveRun(c.get("db"), { template: refOf(c.req.valid("param")), ...c.req.valid("json") });
    return c.json({ template: run.ref, spec: run.spec }, 200);
  });
