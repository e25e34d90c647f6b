/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
// The dashboard's pages, served as shells the browser code fills in. Public:
// the network and a provider by address. A creator's: jobs, one job, webhooks,
// after signing in (the key lives in the tab, so what is theirs is fetched by
// the browser with it, and another creator's job is a 404 there as in the API).
import { Hono, type Context } from "hono";
import { address } from "../../protocol/wei.ts";
import type { AppEnv } from "../http/appEnv.ts";
import { Layout, type Shell } from "./layout.tsx";
import { pageSecurity } from "./securityHeaders.ts";

const JOB_ID = /^[A-Za-z0-9_-]{1,64}$/;

function page(c: Context<AppEnv>, shell: Shell, status: 200 | 404 = 200) {
  // The shell holds nothing private, but pages change with every deploy.
  c.header("cache-control", "no-cache");
  return c.html(<Layout {...shell} />, status);
}

const notFound = (c: Context<AppEnv>, message: string) => page(c, { page: "not-found", title: "Not found", message }, 404);

export const pageRoutes = new Hono<AppEnv>()
  .get("/", pageSecurity, (c) => page(c, { page: "network", title: "The network" }))
  .get("/providers/:address", pageSecurity, (c) => {
    const parsed = address.safeParse(c.req.param("address"));
    if (!parsed.success) return notFound(c, "A provider's page is at /providers/0x… with its 20-byte hex address.");
    return page(c, { page: "provider", title: "Provider", params: { address: parsed.data } });
  })
  .get("/jobs", pageSecurity, (c) => page(c, { page: "jobs", title: "Your jobs" }))
  .get("/jobs/:id", pageSecurity, (c) => {
    const id = c.req.param("id");
    if (!JOB_ID.test(id)) return notFound(c, "There is no such job: job ids are letters, digits, _ and -.");
    return page(c, { page: "job", title: "Job", params: { jobId: id } });
  })
  .get("/webhooks", pageSecurity, (c) => page(c, { page: "webhooks", title: "Webhook deliveries" }))
  .get("/sign-in", pageSecurity, (c) => page(c, { page: "sign-in", title: "Sign in" }));
