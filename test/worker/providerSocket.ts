// A provider speaking the hub protocol from inside workerd, over a real
// WebSocket upgrade through the Worker, for tests of matching and the hub.
import { env, runInDurableObject, SELF } from "cloudflare:test";
import { zeroAddress, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { jobAcceptanceTypes, pondDomain } from "../../protocol/eip712.ts";
import {
  HEARTBEAT_PING,
  HUB_PROTOCOL_VERSION,
  providerLoginMessage,
  type GpuInfo,
  type HubMessage,
  type OfferMessage,
  type ProviderPricing,
  type ProviderResources,
} from "../../protocol/hubMessages.ts";
import { hubOf, matchmakerOf } from "../../worker/bindings/objects.ts";
import { jobClasses } from "../../worker/bindings/sharding.ts";
import { getConfig } from "../../worker/config/config.ts";
import { eventually } from "../helpers/eventually.ts";
import { ORIGIN } from "./client.ts";
import { typedInbox } from "./typedInbox.ts";

export interface TestProvider {
  account: PrivateKeyAccount;
  address: string;
  ws: WebSocket;
  /** The EIP-712 domain the hub's welcome named: what acceptances and results are signed under. */
  domain: ReturnType<typeof pondDomain>;
  welcome: Extract<HubMessage, { type: "welcome" }>;
  messages: HubMessage[];
  send(message: unknown): void;
  next<T extends HubMessage["type"]>(type: T, timeoutMs?: number): Promise<Extract<HubMessage, { type: T }>>;
  /** Whether a message of this type arrives within `ms` (for asserting that nothing comes). */
  receives(type: HubMessage["type"], ms: number): Promise<boolean>;
  accept(offer: OfferMessage): Promise<void>;
  /** Sends a signed accept, without waiting for what the hub answers. */
  sendAccept(offer: OfferMessage): Promise<void>;
  /** Closes the socket and resolves once the hub has handled it (see closeAndWait). */
  close(): Promise<void>;
}

export const gpu = (index: number, model: string, vramMb: number): GpuInfo => ({ index, uuid: `GPU-${crypto.randomUUID()}`, model, vram_mb: vramMb, driver: "580.159.04" });

export async function connectProvider(options: {
  resources?: Partial<ProviderResources>;
  pricing?: Partial<ProviderPricing>;
  account?: PrivateKeyAccount;
}): Promise<TestProvider> {
  const account = options.account ?? privateKeyToAccount(generatePrivateKey());
  const response = await SELF.fetch(`${ORIGIN}/v1/providers/connect?address=${account.address}`, { headers: { upgrade: "websocket" } });
  if (response.status !== 101 || !response.webSocket) throw new Error(`upgrade failed: ${response.status} ${await response.text()}`);
  const ws = response.webSocket;
  ws.accept();
  const inbox = typedInbox<HubMessage>();
  const { messages, take } = inbox;
  ws.addEventListener("message", (event) => {
    const text = String(event.data);
    if (text === "pong") return;
    inbox.push(JSON.parse(text) as HubMessage);
  });
  const send = (message: unknown) => ws.send(typeof message === "string" ? message : JSON.stringify(message));

  const hello = await take("hello");
  send({ v: HUB_PROTOCOL_VERSION, type: "auth", address: account.address, signature: await account.signMessage({ message: providerLoginMessage(hello.nonce) }) });
  const welcome = await take("welcome");
  // Pings as the daemon does, so a test that runs longer than the hub's staleness window on a slow
  // machine keeps its provider (one that stopped pinging was closed mid-test, and its job re-offered
  // to the next test's provider).
  const heartbeat = setInterval(() => {
    if (ws.readyState === WebSocket.OPEN) ws.send(HEARTBEAT_PING);
  }, welcome.heartbeat_ms);
  ws.addEventListener("close", () => clearInterval(heartbeat));
  const domain = pondDomain(welcome.chain_id, welcome.verifying_contract as `0x${string}`);
  send({
    v: HUB_PROTOCOL_VERSION,
    type: "advertise",
    resources: { cpus: 8, memory_mb: 32_768, disk_free_mb: 100_000, gpus: [], ...options.resources },
    pricing: { gpu_second_wei: "1000", cpu_second_wei: "10", ...options.pricing },
    running: [],
  });

  const sendAccept = async (offer: OfferMessage) => {
    const signature = await account.signTypedData({
      domain,
      types: jobAcceptanceTypes,
      primaryType: "JobAcceptance",
      message: { jobId: offer.chain_job_id as Hex, maxAmount: BigInt(offer.max_amount_wei) },
    });
    send({ v: HUB_PROTOCOL_VERSION, type: "job.accept", job_id: offer.job_id, signature });
  };

  return {
    account,
    address: account.address.toLowerCase(),
    ws,
    domain,
    welcome,
    messages,
    send,
    next: take,
    async receives(type, ms) {
      try {
        await take(type, ms);
        return true;
      } catch {
        return false;
      }
    },
    sendAccept,
    async accept(offer) {
      await sendAccept(offer);
      await take("job.start");
    },
    close: () => {
      clearInterval(heartbeat);
      return closeAndWait(ws, account.address.toLowerCase());
    },
  };
}

/**
 * Closes a provider's socket, then waits until its hub holds no socket for it and no matchmaker
 * lists it: the hub has run its close handler. In the test pool each Durable Object event first
 * loads the Worker's module through Vitest, so a close handled after a file's last test would ask
 * Vitest for a module while its worker is shutting down (an EnvironmentTeardownError).
 */
async function closeAndWait(ws: WebSocket, address: string): Promise<void> {
  ws.close(1000, "test done");
  const hub = hubOf(env, getConfig(env), address);
  await eventually(
    async () => {
      const sockets = await runInDurableObject(hub, (_instance, state) => state.getWebSockets(address).length);
      if (sockets > 0) return false;
      const listed = await Promise.all(jobClasses.map(async (jobClass) => (await matchmakerOf(env, jobClass).onlineProviders()).some((p) => p.address === address)));
      return !listed.includes(true);
    },
    { what: `the hub to let go of provider ${address}` },
  );
}

export { zeroAddress };
