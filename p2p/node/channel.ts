// node-datachannel's DataChannel as the core's Channel. node-datachannel keeps
// one handler per event, so this registers each once and fans out through
// ChannelBase's events (which also hold messages that come before the first listener).
import { Buffer } from "node:buffer";
import type { DataChannel } from "node-datachannel";
import { ChannelBase } from "../core/channelBase.ts";

export class NodeChannel extends ChannelBase {
  readonly label: string;
  /** The last error node-datachannel reported, for diagnostics. */
  lastError: string | undefined;

  constructor(private readonly dc: DataChannel) {
    super();
    this.label = dc.getLabel();
    dc.onMessage((message) => this.events.message(typeof message === "string" ? message : message instanceof ArrayBuffer ? new Uint8Array(message) : message));
    dc.onBufferedAmountLow(() => this.events.bufferedAmountLow());
    dc.onError((error) => {
      this.lastError = error;
    });
    dc.onClosed(() => this.markClosed());
  }

  /** Messages that arrived before anyone listened, waiting for the first listener. */
  waitingMessages(): number {
    return this.events.waitingMessages();
  }

  isOpen(): boolean {
    return !this.events.closed && this.dc.isOpen();
  }

  sendText(text: string): void {
    this.dc.sendMessage(text);
  }

  sendBinary(bytes: Uint8Array): void {
    // A view, not a copy: node-datachannel copies the bytes before send returns.
    this.dc.sendMessageBinary(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  bufferedAmount(): number {
    return this.events.closed ? 0 : this.dc.bufferedAmount();
  }

  setBufferedAmountLowThreshold(bytes: number): void {
    this.dc.setBufferedAmountLowThreshold(bytes);
  }

  protected closeTransport(): void {
    this.dc.close();
  }
}
