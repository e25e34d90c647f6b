// The listener side of a Channel, shared by every platform's channel: the
// underlying data channels (node-datachannel's, the browser's) keep one handler
// per event, so each wrapper registers once and fans out through this. Messages
// that arrive before anyone listens (the other side asked before this side's
// transfer started) wait for the first listener instead of being lost.
import type { ChannelMessage, Unsubscribe } from "./channel.ts";

/** Control frames come a few at a time; a peer flooding a channel nobody reads yet loses the rest. */
const MAX_EARLY_MESSAGES = 64;

export class ChannelEvents {
  private readonly messageListeners = new Set<(message: ChannelMessage) => void>();
  private readonly lowListeners = new Set<() => void>();
  private readonly closeListeners = new Set<() => void>();
  private early: ChannelMessage[] | undefined = [];
  private isClosed = false;

  get closed(): boolean {
    return this.isClosed;
  }

  /** Messages that arrived before anyone listened, waiting for the first listener. */
  waitingMessages(): number {
    return this.early?.length ?? 0;
  }

  message(value: ChannelMessage): void {
    if (this.early) {
      if (this.early.length < MAX_EARLY_MESSAGES) this.early.push(value);
      return;
    }
    for (const listener of this.messageListeners) listener(value);
  }

  bufferedAmountLow(): void {
    for (const listener of this.lowListeners) listener();
  }

  /** The channel closed, for whatever reason; safe to call more than once. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const listener of [...this.closeListeners]) listener();
    this.closeListeners.clear();
    this.lowListeners.clear();
  }

  onMessage(listener: (message: ChannelMessage) => void): Unsubscribe {
    this.messageListeners.add(listener);
    const early = this.early;
    this.early = undefined;
    // Delivered after the caller has finished subscribing, in arrival order.
    if (early?.length) queueMicrotask(() => early.forEach((message) => listener(message)));
    return () => this.messageListeners.delete(listener);
  }

  onBufferedAmountLow(listener: () => void): Unsubscribe {
    this.lowListeners.add(listener);
    return () => this.lowListeners.delete(listener);
  }

  onClose(listener: () => void): Unsubscribe {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }
}
