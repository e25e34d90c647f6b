// The provider side of the API: the WebSocket into a hub shard, and the
// uploads of its jobs' outputs (outputUploads.ts).
import { Hono } from "hono";
import { hubOf } from "../bindings/objects.ts";
import type { AppEnv } from "../http/appEnv.ts";
import { ApiError, badRequest } from "../errors/problem.ts";
import { outputUploadRoutes } from "./outputUploads.ts";

export const providerRoutes = new Hono<AppEnv>()
  .get("/connect", async (c) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      throw new ApiError(426, "upgrade-required", "Upgrade required", "connect with a WebSocket: GET /v1/providers/connect?address=0x…");
    }
    const address = c.req.query("address");
    if (!address || !/^0x[0-9a-fA-F]{40}$/.test(address)) throw badRequest("add ?address=0x… (your provider address) to the connect URL");
    const url = new URL(c.req.url);
    url.searchParams.set("address", address.toLowerCase());
    return hubOf(c.env, c.get("config"), address).fetch(new Request(url, c.req.raw));
  })
  .route("/", outputUploadRoutes);
