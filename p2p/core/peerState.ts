// What every TransferPeer keeps the same way, whatever its platform (NodePeer,
// the browser's BrowserPeer): its data channels and who listens for them, the
// close and who listens for it, and the `connected` promise.
import type { Channel, Unsubscribe } from "./channel.ts";
import { PeerLeftError } from "./errors.ts";

/** A platform's channel wrapper: a Channel that can also be marked closed when its connection is. */
export interface OwnedChannel extends Channel {
  markClosed(): void;
}

export abstract class PeerState<C extends OwnedChannel> {
  /** Resolves once the connection is up and a data channel is open; rejects on timeout, failure, or the other peer leaving. */
  readonly connected: Promise<void>;
  private resolveConnected!: () => void;
  private rejectConnected!: (error: Error) => void;
  /** Every channel ever made or received: holding them keeps them from being garbage-collected. */
  protected readonly allChannels: C[] = [];
  protected readonly openChannels: C[] = [];
  private readonly channelListeners = new Set<(channel: Channel) => void>();
  private readonly closeListeners = new Set<() => void>();
  protected closed = false;
  /** Why the connection ended, when it did not end by this side's close(). */
  protected failure: Error | undefined;

  constructor() {
    this.connected = new Promise<void>((resolve, reject) => {
      this.resolveConnected = resolve;
      this.rejectConnected = reject;
    });
    this.connected.catch(() => {});
  }

  channels(): readonly Channel[] {
    return this.openChannels.filter((channel) => channel.isOpen());
  }

  onChannel(listener: (channel: Channel) => void): Unsubscribe {
    this.channelListeners.add(listener);
    return () => this.channelListeners.delete(listener);
  }

  onClose(listener: () => void): Unsubscribe {
    if (this.closed) {
      queueMicrotask(listener);
      return () => {};
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** A channel is open: counted, and announced to the listeners. False when it was not (closed, or known). */
  protected channelOpened(channel: C): boolean {
    if (this.closed || this.openChannels.includes(channel)) return false;
    this.openChannels.push(channel);
    for (const listener of this.channelListeners) listener(channel);
    return true;
  }

  protected resolveConnection(): void {
    this.resolveConnected();
  }

  /** The first reason given stands. */
  protected failConnected(error: Error): void {
    this.failure ??= error;
    this.rejectConnected(this.failure);
  }

  /** After the platform closed its connection: every channel marked closed, every close listener told once. */
  protected notifyClosed(): void {
    this.failConnected(new PeerLeftError("closed by this side"));
    for (const channel of this.allChannels) channel.markClosed();
    for (const listener of [...this.closeListeners]) listener();
    this.closeListeners.clear();
  }
}
