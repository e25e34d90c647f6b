// Cloudflare Realtime TURN as a backend of /v1/ice-servers and the hub's
// ice.request, through `wrangler dev`. Cloudflare's API cannot be reached from
// this machine, so CLOUDFLARE_TURN_API_URL points at a local stand-in: a Node
// HTTP server that answers generate-ice-servers the way Cloudflare documents it
// (POST /turn/keys/$KEY_ID/credentials/generate-ice-servers, Bearer token,
// {ttl} in, {iceServers} out) and records what it was sent. Everything else is real.
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { HUB_PROTOCOL_VERSION } from "../../protocol/hubMessages.ts";
import { PondClient } from "../../sdk/index.ts";
import { connectRawProvider } from "../helpers/rawProvider.ts";
import { startWranglerDev, type WranglerDev } from "../helpers/wranglerDev.ts";

const KEY_ID = "0123456789abcdef0123456789abcdef";
const API_TOKEN = "cf-turn-test-token-never-shown-0123456789";
const ICE_TTL_S = 900;

interface SeenRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: unknown;
}

/** What the stand-in answers next: Cloudflare's documented shape, or a failure. */
let answer: { status: number; body: unknown } = { status: 201, body: {} };
const seen: SeenRequest[] = [];
let standIn: Server;
let dev: WranglerDev;
let client: PondClient;

const cloudflareServers = (ttl: number) => ({
  iceServers: [
    {
      urls: ["stun:stun.cloudflare.com:3478", "turn:turn.cloudflare.com:3478?transport=udp", "turns:turn.cloudflare.com:5349?transport=tcp"],
      username: `cf-user-ttl-${ttl}`,
      credential: "cf-short-lived-credential",
    },
  ],
});

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

beforeAll(async () => {
  standIn = createServer(async (request, response) => {
    const body = await readBody(request);
    seen.push({ method: request.method!, path: request.url!, authorization: request.headers.authorization, contentType: request.headers["content-type"], body });
    const ttl = typeof body === "object" && body && "ttl" in body ? Number(body.ttl) : 0;
    const reply = answer.status === 201 ? cloudflareServers(ttl) : answer.body;
    response.writeHead(answer.status, { "content-type": "application/json" }).end(JSON.stringify(reply));
  });
  standIn.listen(0, "127.0.0.1");
  await once(standIn, "listening");
  const { port } = standIn.address() as { port: number };
  dev = await startWranglerDev({
    CLOUDFLARE_TURN_KEY_ID: KEY_ID,
    CLOUDFLARE_TURN_API_TOKEN: API_TOKEN,
    CLOUDFLARE_TURN_API_URL: `http://127.0.0.1:${port}/v1`,
    ICE_CREDENTIAL_TTL_S: String(ICE_TTL_S),
  });
  client = new PondClient({ baseUrl: dev.url });
  await client.signIn(privateKeyToAccount(generatePrivateKey()));
});

afterAll(async () => {
  await dev?.stop();
  standIn?.close();
});

beforeEach(() => {
  seen.length = 0;
  answer = { status: 201, body: {} };
});

async function iceServers(): Promise<Response> {
  return fetch(`${dev.url}/v1/ice-servers`, { headers: { authorization: `Bearer ${client.apiKey}` } });
}

describe("Cloudflare Realtime TURN behind /v1/ice-servers (against a local stand-in for Cloudflare's API)", () => {
  it("asks generate-ice-servers for the configured key with the Bearer token and TTL, and passes on what it issued", async () => {
    const response = await iceServers();
    expect(response.status).toBe(200);
    const body = (await response.json()) as { ice_servers: Array<{ urls: string[]; username?: string; credential?: string }>; expires_at: number };
    expect(seen).toEqual([
      { method: "POST", path: `/v1/turn/keys/${KEY_ID}/credentials/generate-ice-servers`, authorization: `Bearer ${API_TOKEN}`, contentType: "application/json", body: { ttl: ICE_TTL_S } },
    ]);
    expect(body.ice_servers).toContainEqual(cloudflareServers(ICE_TTL_S).iceServers[0]);
    expect(body.expires_at - Math.floor(Date.now() / 1000)).toBeGreaterThan(ICE_TTL_S - 60);
    expect(JSON.stringify(body)).not.toContain(API_TOKEN);
  });

  it("gives providers the same servers over the hub socket", async () => {
    const signer = privateKeyToAccount(generatePrivateKey());
    const provider = await connectRawProvider(dev.url, signer.address.toLowerCase() as `0x${string}`, signer);
    try {
      await provider.next("welcome");
      provider.send({ v: HUB_PROTOCOL_VERSION, type: "ice.request" });
      const servers = (await provider.next("ice.servers")) as { ice_servers: unknown[] };
      expect(servers.ice_servers).toContainEqual(cloudflareServers(ICE_TTL_S).iceServers[0]);
      expect(seen.map((request) => request.authorization)).toEqual([`Bearer ${API_TOKEN}`]);
    } finally {
      provider.socket.close();
    }
  });

  it("answers 503 problem+json when Cloudflare refuses, naming what to check and never the token", async () => {
    answer = { status: 401, body: { errors: [{ message: `bad token ${API_TOKEN}` }] } };
    const response = await iceServers();
    expect(response.status).toBe(503);
    expect(response.headers.get("content-type")).toContain("application/problem+json");
    const text = await response.text();
    expect(JSON.parse(text).detail).toMatch(/HTTP 401.*CLOUDFLARE_TURN_KEY_ID/);
    expect(text).not.toContain(API_TOKEN);
  });

  it("answers 503 when Cloudflare's answer has no servers", async () => {
    answer = { status: 200, body: { iceServers: [] } };
    const response = await iceServers();
    expect(response.status).toBe(503);
    expect(((await response.json()) as { detail: string }).detail).toContain("no ice servers");
  });
});
