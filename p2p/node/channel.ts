// node-datachannel's DataChannel as the core's Channel. node-datachannel keeps
// one handler per event, so this registers each once and fans out through
// ChannelEvents (which also holds messages that come before the first listener).
import { Buffer } from "node:buffer";
import type { DataChannel } from "node-datachannel";
import type { Channel, ChannelMessage, Unsubscribe } from "../core/channel.ts";
import { ChannelEvents } from "../core/channelEvents.ts";

export class NodeChannel implements Channel {
  readonly label: string;
  private readonly events = new ChannelEvents();
  /** The last error node-datachannel reported, for diagnostics. */
  lastError: string | undefined;

  constructor(private readonly dc: DataChannel) {
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

  onBufferedAmountLow(listener: () => void): Unsubscribe {
    return this.events.onBufferedAmountLow(listener);
  }

  onMessage(listener: (message: ChannelMessage) => void): Unsubscribe {
    return this.events.onMessage(listener);
  }

  onClose(listener: () => void): Unsubscribe {
    return this.events.onClose(listener);
  }

  close(): void {
    if (!this.events.closed) this.dc.close();
    this.markClosed();
  }

  /** Also called by the peer when its connection goes, in case the channel's own close event never comes. */
  markClosed(): void {
    this.events.close();
  }
}
