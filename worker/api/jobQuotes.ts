// POST /v1/jobs/quote: what a job would meet if created now (who could run it,
// at what rate, whether one has room), from the matchmaker that would match it.
// Nothing is created, reserved or charged.
import { createRoute } from "@hono/zod-openapi";
import { JobQuote } from "../../protocol/quote.ts";
import { assertQuoteAllowed } from "../auth/rateLimits.ts";
import { requireApiKey } from "../auth/requireApiKey.ts";
import { validationError } from "../errors/validation.ts";
import { CreateJobBody, meantShape, specOf } from "./jobRequestBody.ts";
import { matchmakerForSpec, matchTermsOf } from "../matching/scheduling.ts";
import { bearer, createRouter, jsonContent, problems } from "./openapi.ts";

const quoteRoute = createRoute({
  method: "post",
  path: "/quote",
  operationId: "quoteJob",
  summary: "Quote a job before creating it",
  description:
    "Takes the body POST /v1/jobs takes (a spec, or a template run) and answers what the job would meet if created now: the providers online that could run it, " +
    "how many have room and are within its max_price_wei, their rates, and the rate and most cost of the provider it would be offered to now (as the matchmaker's round would pick it, warm providers first). Nothing is created or reserved; secret values, if sent, are ignored. At most 60 quotes a minute per account (429 with Retry-After past that): each runs the matcher inside the matchmaker every job of its class shares.",
  security: bearer,
  middleware: [requireApiKey] as const,
  request: { body: { required: true, content: { "application/json": { schema: CreateJobBody } } } },
  responses: { 200: jsonContent(JobQuote, "The quote"), 400: problems[400], 401: problems[401], 404: problems[404], 413: problems[413], 415: problems[415], 422: problems[422], 429: problems[429] },
});

export const jobQuoteRoutes = createRouter().openapi(
  quoteRoute,
  async (c) => {
    await assertQuoteAllowed(c.env, c.get("account"));
    const { spec } = await specOf(c.get("db"), c.req.valid("json"));
    return c.json(await matchmakerForSpec(c.env, spec).quote(matchTermsOf(spec)), 200);
  },
  (result) => {
    if (!result.success) throw validationError(result.error, result.target === "json" ? "request body" : result.target, meantShape);
    return undefined;
  },
);
