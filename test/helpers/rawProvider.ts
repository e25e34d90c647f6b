// A provider speaking the hub protocol by hand, for tests of what the hub
// refuses: bad signatures, results for other providers' jobs, malformed frames.
import type { PrivateKeyAccount } from "viem/accounts";
import WebSocket from "ws";
import { HUB_PROTOCOL_VERSION, providerLoginMessage, type HubMessage } from "../../protocol/hubMessages.ts";

export interface RawProvider {
  socket: WebSocket;
  messages: HubMessage[];
  closed: Promise<{ code: number; reason: string }>;
  send(message: unknown): void;
  next(type: HubMessage["type"], timeoutMs?: number): Promise<HubMessage>;
}

/** Connects as `claimed`, signing the hello nonce with `signer` (the same account, unless a test lies). */
export function connectRawProvider(api: string, claimed: `0x${string}`, signer: PrivateKeyAccount): Promise<RawProvider> {
  const url = new URL("/v1/providers/connect", api);
  url.protocol = "ws:";
  url.searchParams.set("address", claimed);
  const socket = new WebSocket(url);
  const messages: HubMessage[] = [];
  const waiters: Array<() => void> = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  socket.on("message", async (data) => {
    const text = data.toString();
    if (text === "pong") return;
    const message = JSON.parse(text) as HubMessage;
    if (message.type === "hello") {
      const signature = await signer.signMessage({ message: providerLoginMessage(message.nonce) });
      socket.send(JSON.stringify({ v: HUB_PROTOCOL_VERSION, type: "auth", address: claimed, signature }));
    }
    messages.push(message);
    for (const wake of waiters.splice(0)) wake();
  });
  const raw: RawProvider = {
    socket,
    messages,
    closed,
    send: (message) => socket.send(typeof message === "string" ? message : JSON.stringify(message)),
    next(type, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${type} within ${timeoutMs} ms; got ${messages.map((m) => m.type).join(", ")}`)), timeoutMs);
        // A long wait given up on (its socket closed) must not keep the process alive until it times out.
        timer.unref();
        const look = () => {
          const index = messages.findIndex((m) => m.type === type);
          if (index >= 0) {
            clearTimeout(timer);
            resolve(messages.splice(index, 1)[0]!);
          } else waiters.push(look);
        };
        look();
      });
    },
  };
  return new Promise((resolve, reject) => {
    socket.once("open", () => resolve(raw));
    socket.once("error", reject);
  });
}
