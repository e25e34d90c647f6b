// node-datachannel's DataChannel as the core's Channel. node-datachannel keeps
// one handler per event, so this registers each once and fans out to listeners.
// Messages that arrive before anyone listens (the other side asked before this
// side's transfer started) wait for the first listener instead of being lost.
import { Buffer } from "node:buffer";
import type { DataChannel } from "node-datachannel";
import type { Channel, ChannelMessage, Unsubscribe } from "../core/channel.ts";

/** Control frames come a few at a time; a peer flooding a channel nobody reads yet loses the rest. */
const MAX_EARLY_MESSAGES = 64;

export class NodeChannel implements Channel {
  readonly label: string;
  private readonly messageListeners = new Set<(message: ChannelMessage) => void>();
  private readonly lowListeners = new Set<() => void>();
  private readonly closeListeners = new Set<() => void>();
  private closed = false;
  private early: ChannelMessage[] | undefined = [];
  /** The last error node-datachannel reported, for diagnostics. */
  lastError: string | undefined;

  constructor(private readonly dc: DataChannel) {
    this.label = dc.getLabel();
    dc.onMessage((message) => {
      const value: ChannelMessage = typeof message === "string" ? message : message instanceof ArrayBuffer ? new Uint8Array(message) : message;
      if (this.early) {
        if (this.early.length < MAX_EARLY_MESSAGES) this.early.push(value);
        return;
      }
      for (const listener of this.messageListeners) listener(value);
    });
    dc.onBufferedAmountLow(() => {
      for (const listener of this.lowListeners) listener();
    });
    dc.onError((error) => {
      this.lastError = error;
    });
    dc.onClosed(() => this.markClosed());
  }

  /** Messages that arrived before anyone listened, waiting for the first listener. */
  waitingMessages(): number {
    return this.early?.length ?? 0;
  }

  isOpen(): boolean {
    return !this.closed && this.dc.isOpen();
  }

  sendText(text: string): void {
    this.dc.sendMessage(text);
  }

  sendBinary(bytes: Uint8Array): void {
    // A view, not a copy: node-datachannel copies the bytes before send returns.
    this.dc.sendMessageBinary(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  bufferedAmount(): number {
    return this.closed ? 0 : this.dc.bufferedAmount();
  }

  setBufferedAmountLowThreshold(bytes: number): void {
    this.dc.setBufferedAmountLowThreshold(bytes);
  }

  onBufferedAmountLow(listener: () => void): Unsubscribe {
    this.lowListeners.add(listener);
    return () => this.lowListeners.delete(listener);
  }

  onMessage(listener: (message: ChannelMessage) => void): Unsubscribe {
    this.messageListeners.add(listener);
    const early = this.early;
    this.early = undefined;
    // Delivered after the caller has finished subscribing, in arrival order.
    if (early?.length) queueMicrotask(() => early.forEach((message) => listener(message)));
    return () => this.messageListeners.delete(listener);
  }

  onClose(listener: () => void): Unsubscribe {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  close(): void {
    if (!this.closed) this.dc.close();
    this.markClosed();
  }

  /** Also called by the peer when its connection goes, in case the channel's own close event never comes. */
  markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    for (const listener of [...this.closeListeners]) listener();
    this.closeListeners.clear();
    this.lowListeners.clear();
  }
}
