// The API's routes as its own OpenAPI document describes them: what the fuzz
// aims at, and what each route may answer.
import { z } from "zod";

const Parameter = z.object({ in: z.enum(["path", "query", "header", "cookie"]), name: z.string() });
const Operation = z.object({
  parameters: z.array(Parameter).optional(),
  requestBody: z.object({ content: z.record(z.string(), z.unknown()) }).optional(),
  responses: z.record(z.string(), z.unknown()),
  security: z.array(z.record(z.string(), z.array(z.string()))).optional(),
});
const methods = ["get", "post", "put", "patch", "delete"] as const;
const Document = z.object({ paths: z.record(z.string(), z.partialRecord(z.enum(methods), Operation)) });

export interface Route {
  method: Uppercase<(typeof methods)[number]>;
  /** As the document writes it: `/v1/jobs/{id}`. */
  template: string;
  pathParams: string[];
  queryParams: string[];
  headerParams: string[];
  /** Media types the request body is documented with; empty when it takes none. */
  bodyTypes: string[];
  needsAuth: boolean;
  /** Every status the document says it may answer. */
  statuses: Set<number>;
}

export const routeName = (route: Pick<Route, "method" | "template">) => `${route.method} ${route.template}`;

export function routesOf(document: unknown): Route[] {
  const { paths } = Document.parse(document);
  return Object.entries(paths).flatMap(([template, operations]) =>
    methods.flatMap((method) => {
      const operation = operations[method];
      if (!operation) return [];
      const params = (where: z.infer<typeof Parameter>["in"]) => (operation.parameters ?? []).filter((p) => p.in === where).map((p) => p.name);
      return [
        {
          method: method.toUpperCase() as Route["method"],
          template,
          pathParams: params("path"),
          queryParams: params("query"),
          headerParams: params("header"),
          bodyTypes: Object.keys(operation.requestBody?.content ?? {}),
          needsAuth: (operation.security ?? []).length > 0,
          statuses: new Set(Object.keys(operation.responses).map(Number)),
        },
      ];
    }),
  );
}
