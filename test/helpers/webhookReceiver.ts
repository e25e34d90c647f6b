// A real HTTP server that receives webhooks the way a creator's would: it
// verifies every signature with the `standardwebhooks` library and answers
// with whatever a test scripted (e.g. 500, then no answer at all, then 410).
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

export interface ReceivedWebhook {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  verified: boolean;
  verifyError?: string;
  /** The status sent back, or "hang" for a request held open without an answer. */
  answeredWith: Answer;
}

/** An HTTP status, or "hang": hold the request open and never answer (the sender must time out). */
export type Answer = number | "hang";

interface Inbox {
  secret?: string;
  /** Answers for the next deliveries, in order; then `fallback`. */
  statuses: Answer[];
  fallback: Answer;
  received: ReceivedWebhook[];
}

export interface InboxSetup {
  secret?: string;
  statuses?: Answer[];
  fallback?: Answer;
}

export interface WebhookReceiver {
  url: string;
  /** The same as `PUT /inbox/:name`, for tests in this process. */
  setUp(name: string, setup: InboxSetup): void;
  /** What arrived at `POST /hooks/:name` so far, oldest first. */
  received(name: string): ReceivedWebhook[];
  close(): Promise<void>;
}

async function readBody(request: import("node:http").IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function header(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  return Array.isArray(value) ? value.join(",") : (value ?? "");
}

/**
 * Routes: `PUT /inbox/:name` {secret?, statuses?, fallback?} sets an inbox up
 * (fallback: the answer once `statuses` is used up, 200 unless set);
 * `POST /hooks/:name` receives; `GET /inbox/:name` lists what arrived.
 */
export async function startWebhookReceiver(options: { onReceive?: (inbox: string, webhook: ReceivedWebhook) => void } = {}): Promise<WebhookReceiver> {
  const inboxes = new Map<string, Inbox>();
  const inbox = (name: string) => {
    let box = inboxes.get(name);
    if (!box) inboxes.set(name, (box = { statuses: [], fallback: 200, received: [] }));
    return box;
  };
  const setUp = (name: string, setup: InboxSetup) => {
    const box = inbox(name);
    if (setup.secret !== undefined) box.secret = setup.secret;
    box.statuses = setup.statuses ?? [];
    if (setup.fallback !== undefined) box.fallback = setup.fallback;
  };

  const server: Server = createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://receiver");
    const [, kind, name] = url.pathname.split("/");
    const body = await readBody(request);
    if (!name) return response.writeHead(404).end();
    const box = inbox(name);
    if (kind === "inbox" && request.method === "PUT") {
      setUp(name, JSON.parse(body) as InboxSetup);
      return response.writeHead(204).end();
    }
    if (kind === "inbox" && request.method === "GET") {
      return response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(box.received));
    }
    if (kind === "hooks" && request.method === "POST") {
      const status = box.statuses.shift() ?? box.fallback;
      const received: ReceivedWebhook = {
        id: header(request.headers, "webhook-id"),
        timestamp: header(request.headers, "webhook-timestamp"),
        signature: header(request.headers, "webhook-signature"),
        body,
        verified: false,
        answeredWith: status,
      };
      if (box.secret) {
        try {
          new Webhook(box.secret).verify(body, {
            "webhook-id": received.id,
            "webhook-timestamp": received.timestamp,
            "webhook-signature": received.signature,
          });
          received.verified = true;
        } catch (error) {
          received.verifyError = error instanceof Error ? error.message : String(error);
        }
      }
      box.received.push(received);
      options.onReceive?.(name, received);
      if (status === "hang") return; // close() ends it, or the sender gives up first
      return response.writeHead(status, status === 429 ? { "retry-after": "1" } : {}).end(status >= 400 ? "nope" : "ok");
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setUp,
    received: (name) => [...inbox(name).received],
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Requests held open by "hang" would keep close() waiting for ever.
        server.closeAllConnections();
      }),
  };
}
