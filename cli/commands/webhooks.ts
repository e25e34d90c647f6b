// `pond webhooks …`: endpoints that receive your jobs' signed events.
import type { Command } from "commander";
import { webhookEventTypes } from "../../protocol/webhookEvents.ts";
import { integer, type CliContext } from "../context.ts";
import { UsageError } from "../errors.ts";
import { table } from "../output.ts";

export function registerWebhooks(program: Command, ctx: () => CliContext): void {
  const webhooks = program.command("webhooks").description("endpoints that receive your jobs' signed events (Standard Webhooks)");

  webhooks
    .command("add")
    .argument("<url>", "an https URL that answers 2xx")
    .option("--events <list>", `comma-separated events (default: all of ${webhookEventTypes.join(", ")})`)
    .description("register an endpoint; prints its signing secret, shown only this once")
    .action(async (url: string, options: { events?: string }) => {
      const c = ctx();
      const events = options.events?.split(",").map((e) => e.trim());
      const unknown = events?.filter((e) => !(webhookEventTypes as readonly string[]).includes(e)) ?? [];
      if (unknown.length > 0) throw new UsageError(`unknown event${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}: choose from ${webhookEventTypes.join(", ")}`);
      const endpoint = await (await c.client()).webhooks.create(url, events);
      c.output.result(endpoint, (e) => [`endpoint ${e.id} for ${e.url}`, `signing secret (shown once; store it now): ${e.secret}`]);
    });

  webhooks
    .command("list")
    .description("your endpoints")
    .action(async () => {
      const c = ctx();
      const endpoints = await (await c.client()).webhooks.list();
      c.output.result(endpoints, (rows) => table(rows.map((e) => [e.id, e.url, e.events.join(","), e.disabled_at ? `disabled: ${e.disabled_reason ?? e.disabled_at}` : "active"])));
    });

  webhooks
    .command("remove")
    .argument("<id>")
    .description("delete an endpoint")
    .action(async (id: string) => {
      const c = ctx();
      await (await c.client()).webhooks.remove(id);
      c.output.result({ removed: id }, () => `removed ${id}`);
    });

  webhooks
    .command("test")
    .argument("<id>")
    .description("send a signed test event (webhook.test) to an endpoint; see it with pond webhooks deliveries")
    .action(async (id: string) => {
      const c = ctx();
      const deliveryId = await (await c.client()).webhooks.test(id);
      c.output.result({ delivery_id: deliveryId }, () => `test event ${deliveryId} queued for ${id}: pond webhooks deliveries ${id}`);
    });

  webhooks
    .command("deliveries")
    .argument("<id>", "an endpoint id, or `default` for jobs' own webhook URLs")
    .option("--limit <n>", "how many", integer, 20)
    .description("recent deliveries to an endpoint, with every attempt")
    .action(async (id: string, options: { limit: number }) => {
      const c = ctx();
      const deliveries = await (await c.client()).webhooks.deliveries(id, options.limit);
      c.output.result(deliveries, (rows) =>
        table(rows.map((d) => [d.id, d.event_type, d.state, `${d.attempts.length} attempt${d.attempts.length === 1 ? "" : "s"}`, d.attempts.at(-1)?.error ?? (d.attempts.at(-1)?.status_code ? `HTTP ${d.attempts.at(-1)!.status_code}` : "")])),
      );
    });

  webhooks
    .command("replay")
    .argument("<id>", "the endpoint id (or `default`)")
    .argument("<delivery-id>")
    .description("send a delivery again, with the same webhook-id")
    .action(async (id: string, deliveryId: string) => {
      const c = ctx();
      const replayed = await (await c.client()).webhooks.replay(id, deliveryId);
      c.output.result(replayed, (r) => `delivery ${r.id} queued again`);
    });

  webhooks
    .command("secret")
    .description("the secret that signs deliveries to jobs' own webhook URLs")
    .action(async () => {
      const c = ctx();
      const secret = await (await c.client()).webhooks.defaultSecret();
      c.output.result({ secret }, (s) => s.secret);
    });
}
