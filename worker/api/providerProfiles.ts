// A provider's public page as JSON: stake and reputation from the chain, jobs
// run, earnings, and what it offers while online. Mounted beside providers.ts
// (the daemon's own routes) under /v1/providers.
import { createRoute, z } from "@hono/zod-openapi";
import { address } from "../../protocol/wei.ts";
import { ProviderProfile } from "../../protocol/network.ts";
import { onlineProviders } from "../stats/onlineProviders.ts";
import { providerProfile } from "../stats/providerProfile.ts";
import { createRouter, jsonContent, problems } from "./openapi.ts";

const profileRoute = createRoute({
  method: "get",
  path: "/{address}",
  operationId: "getProvider",
  security: [],
  summary: "A provider's public record: stake, on-chain reputation counters, jobs run, earnings, capacity while online",
  request: { params: z.object({ address }) },
  responses: { 200: jsonContent(ProviderProfile, "The provider"), 422: problems[422] },
});

export const providerProfileRoutes = createRouter().openapi(profileRoute, async (c) => {
  const provider = c.req.valid("param").address;
  c.header("cache-control", "public, max-age=5");
  return c.json(await providerProfile(c.get("db"), provider, await onlineProviders(c.env)), 200);
});
