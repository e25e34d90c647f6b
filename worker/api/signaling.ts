// The data plane's API side: a creator's WebSocket into a job's signaling
// rendezvous (by API key, or by a single-use token for browsers), the tokens,
// and STUN/TURN servers with short-lived credentials. Files never pass here.
import { createRoute, z } from "@hono/zod-openapi";
import { IceServer } from "../../protocol/iceServers.ts";
import { requireApiKey } from "../auth/requireApiKey.ts";
import { rendezvousOf } from "../bindings/objects.ts";
import { ApiError, notFound, unavailable } from "../errors/problem.ts";
import { findJob } from "../jobs/repository.ts";
import { iceServersFor, IceServersUnavailable } from "../signaling/iceServers.ts";
import { bearer, createRouter, jsonContent, problems } from "./openapi.ts";

const JobIdParam = z.object({ id: z.string().max(64) });

const tokenRoute = createRoute({
  method: "post",
  path: "/jobs/{id}/signal-token",
  operationId: "createSignalToken",
  summary: "A single-use token to join a job's signaling from a browser",
  description: "Browsers cannot set headers on a WebSocket: open `GET /v1/jobs/{id}/signal?token=…` with this within a minute. It works once.",
  security: bearer,
  middleware: [requireApiKey] as const,
  request: { params: JobIdParam },
  responses: {
    201: jsonContent(z.object({ token: z.string(), expires_at: z.string(), url: z.string() }), "A token"),
    401: problems[401],
    404: problems[404],
  },
});

const signalRoute = createRoute({
  method: "get",
  path: "/jobs/{id}/signal",
  operationId: "openJobSignaling",
  security: [{ bearerAuth: [] }, { signalToken: [] }],
  summary: "WebSocket: the job's signaling (protocol/signaling.ts), as its creator",
  description: "Send `{v, type: offer|answer|candidate|leave, dst, payload}`; receive the same stamped with `src`, `peer` presence, and errors. Authenticate with `Authorization: Bearer` or `?token=` from POST /v1/jobs/{id}/signal-token.",
  request: { params: JobIdParam, query: z.object({ token: z.string().optional() }) },
  responses: { 101: { description: "Switching protocols" }, 401: problems[401], 404: problems[404], 426: problems[426] },
});

const iceRoute = createRoute({
  method: "get",
  path: "/ice-servers",
  operationId: "getIceServers",
  summary: "STUN/TURN servers, with credentials that expire",
  security: bearer,
  middleware: [requireApiKey] as const,
  responses: {
    200: jsonContent(z.object({ ice_servers: z.array(IceServer), expires_at: z.int().openapi({ description: "Unix seconds" }) }), "ICE servers"),
    401: problems[401],
    503: problems[503],
  },
});

const router = createRouter();

export const signalingRoutes = router
  .openapi(tokenRoute, async (c) => {
    const { id } = c.req.valid("param");
    if (!(await findJob(c.get("db"), c.get("account"), id))) throw notFound("job");
    const { token, expiresAt } = await rendezvousOf(c.env, id).issueToken(id);
    const url = new URL(`${c.get("baseUrl")}/v1/jobs/${id}/signal`);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("token", token);
    return c.json({ token, expires_at: new Date(expiresAt).toISOString(), url: url.toString() }, 201);
  })
  .openapi(iceRoute, async (c) => {
    try {
      return c.json(await iceServersFor(c.get("config"), c.get("account")), 200);
    } catch (error) {
      if (error instanceof IceServersUnavailable) throw unavailable(error.message);
      throw error;
    }
  })
  .get("/jobs/:id/signal", async (c, next) => {
    const upgraded = async () => {
      if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
        throw new ApiError(426, "upgrade-required", "Upgrade required", "open the job's signaling with a WebSocket");
      }
      await next();
    };
    // A browser's token is checked (and spent) by the rendezvous itself; a key is checked here, before anything else.
    if (c.req.query("token") !== undefined) return upgraded();
    return requireApiKey(c, upgraded);
  }, async (c) => {
    const id = c.req.param("id");
    const token = c.req.query("token");
    if (token === undefined && !(await findJob(c.get("db"), c.get("account"), id))) throw notFound("job");
    const url = new URL("https://rendezvous/join");
    url.searchParams.set("job", id);
    if (token !== undefined) url.searchParams.set("token", token);
    return rendezvousOf(c.env, id).fetch(new Request(url, c.req.raw));
  });

// Documented only: the handler above serves it.
router.openAPIRegistry.registerPath(signalRoute);
