// The webhook side of the SDK: endpoints, their deliveries, replays, and the
// secret that signs deliveries to jobs' own URLs.
import type { Client } from "openapi-fetch";
import type { paths } from "./generated/openapi.ts";

type Unwrap = <T>(answer: { data?: T; error?: unknown; response: Response }) => Promise<T>;

export class WebhookApi {
  constructor(
    private readonly api: Client<paths>,
    private readonly unwrap: Unwrap,
  ) {}

  /** Registers an endpoint; its `whsec_…` secret is in this answer only. */
  async create(url: string, events?: string[]) {
    return this.unwrap(await this.api.POST("/v1/webhooks", { body: { url, ...(events ? { events: events as never } : {}) } }));
  }

  async list() {
    return (await this.unwrap(await this.api.GET("/v1/webhooks"))).results;
  }

  async remove(id: string): Promise<void> {
    await this.unwrap(await this.api.DELETE("/v1/webhooks/{id}", { params: { path: { id } } }));
  }

  /** Deliveries to an endpoint (`default` for jobs' own URLs), newest first, each with its attempts. */
  async deliveries(id: string, limit?: number) {
    return (await this.unwrap(await this.api.GET("/v1/webhooks/{id}/deliveries", { params: { path: { id }, query: limit ? { limit } : {} } }))).results;
  }

  async replay(id: string, deliveryId: string) {
    return this.unwrap(await this.api.POST("/v1/webhooks/{id}/deliveries/{delivery_id}/replay", { params: { path: { id, delivery_id: deliveryId } } }));
  }

  /** Sends a signed `webhook.test` event to the endpoint; returns the delivery's id (see deliveries). */
  async test(id: string): Promise<string> {
    return (await this.unwrap(await this.api.POST("/v1/webhooks/{id}/test", { params: { path: { id } } }))).delivery_id;
  }

  async defaultSecret(): Promise<string> {
    return (await this.unwrap(await this.api.GET("/v1/webhooks/default/secret"))).secret;
  }
}
