// The daemon's one connection to its hub: outbound WebSocket (works behind any
// NAT), proof of address, heartbeats, and reconnect with backoff and jitter.
import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import type { PrivateKeyAccount } from "viem/accounts";
import WebSocket from "ws";
import {
  HEARTBEAT_PING,
  HEARTBEAT_PONG,
  HUB_PROTOCOL_VERSION,
  HubMessage,
  parseFrame,
  providerLoginMessage,
  ProviderMessage,
} from "../../protocol/hubMessages.ts";
import { backoffDelay, type BackoffOptions } from "./backoff.ts";

export type Welcome = Extract<HubMessage, { type: "welcome" }>;
type Inbound = Exclude<HubMessage, { type: "hello" } | { type: "welcome" }>;

export interface HubClientEvents {
  welcome: [Welcome];
  message: [Inbound];
}

/** Missed pongs before the socket is presumed dead. */
const MISSED_PONGS = 3;

export class HubClient extends EventEmitter<HubClientEvents> {
  private socket: WebSocket | undefined;
  private attempt = 0;
  private stopped = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private lastPong = 0;
  private authed = false;

  constructor(
    private readonly options: { api: string; account: PrivateKeyAccount; log: Logger; backoff?: BackoffOptions },
  ) {
    super();
  }

  get connected(): boolean {
    return this.authed && this.socket?.readyState === WebSocket.OPEN;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.heartbeat);
    this.socket?.close(1000, "provider stopping");
  }

  /**
   * Sends now if connected; returns false (nothing sent) otherwise. A message
   * the protocol's schema refuses is logged and dropped here: the hub would
   * refuse it anyway, and a result it refuses would be resent forever.
   */
  send(message: ProviderMessage): boolean {
    const checked = ProviderMessage.safeParse(message);
    if (!checked.success) {
      const issues = checked.error.issues.map((i) => `${i.path.join(".") || "(message)"}: ${i.message}`).join("; ");
      this.options.log.error({ type: message.type, issues }, "not sending a message the protocol does not allow");
      return false;
    }
    if (!this.connected) return false;
    this.socket!.send(JSON.stringify(message));
    return true;
  }

  private url(): string {
    const url = new URL("/v1/providers/connect", this.options.api);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("address", this.options.account.address);
    return url.toString();
  }

  private connect(): void {
    const { log } = this.options;
    const socket = new WebSocket(this.url());
    this.socket = socket;
    this.authed = false;
    socket.on("message", (data, isBinary) => {
      if (isBinary) return log.warn("ignoring a binary frame from the hub");
      void this.onFrame(socket, data.toString());
    });
    socket.on("error", (error) => log.warn({ err: error.message }, "hub connection error"));
    socket.on("close", (code, reason) => {
      if (this.socket !== socket) return;
      clearInterval(this.heartbeat);
      this.authed = false;
      if (code === 4401) log.error({ reason: reason.toString() }, "the hub refused this provider's signature");
      if (this.stopped) return;
      const delay = backoffDelay(this.attempt++, this.options.backoff ?? { baseMs: 500, maxMs: 30_000 });
      log.info({ delayMs: delay, code }, "disconnected from the hub; reconnecting");
      this.reconnectTimer = setTimeout(() => this.connect(), delay);
    });
  }

  private async onFrame(socket: WebSocket, raw: string): Promise<void> {
    if (raw === HEARTBEAT_PONG) {
      this.lastPong = Date.now();
      return;
    }
    const parsed = parseFrame(HubMessage, raw);
    if (!parsed.ok) return this.options.log.warn({ error: parsed.error }, "ignoring a malformed frame from the hub");
    const message = parsed.message;
    if (message.type === "hello") {
      const signature = await this.options.account.signMessage({ message: providerLoginMessage(message.nonce) });
      socket.send(JSON.stringify({ v: HUB_PROTOCOL_VERSION, type: "auth", address: this.options.account.address, signature } satisfies ProviderMessage));
      return;
    }
    if (message.type === "welcome") {
      this.authed = true;
      this.attempt = 0;
      this.startHeartbeat(socket, message.heartbeat_ms);
      this.emit("welcome", message);
      return;
    }
    if (message.type === "error") this.options.log.warn({ code: message.code, message: message.message }, "the hub reported an error");
    this.emit("message", message);
  }

  private startHeartbeat(socket: WebSocket, intervalMs: number): void {
    clearInterval(this.heartbeat);
    this.lastPong = Date.now();
    this.heartbeat = setInterval(() => {
      if (Date.now() - this.lastPong > MISSED_PONGS * intervalMs) {
        this.options.log.warn("the hub stopped answering heartbeats; reconnecting");
        socket.terminate();
        return;
      }
      if (socket.readyState === WebSocket.OPEN) socket.send(HEARTBEAT_PING);
    }, intervalMs);
  }
}
