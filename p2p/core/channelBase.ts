// What a platform's Channel wrapper (NodeChannel, the browser's RtcChannel) does
// the same way: fan its events out through ChannelEvents, and close once.
import type { ChannelMessage, Unsubscribe } from "./channel.ts";
import { ChannelEvents } from "./channelEvents.ts";
import type { OwnedChannel } from "./peerState.ts";

export abstract class ChannelBase implements OwnedChannel {
  abstract readonly label: string;
  protected readonly events = new ChannelEvents();

  abstract isOpen(): boolean;
  abstract sendText(text: string): void;
  abstract sendBinary(bytes: Uint8Array): void;
  abstract bufferedAmount(): number;
  abstract setBufferedAmountLowThreshold(bytes: number): void;
  /** Closes the platform's channel; called once, by close(). */
  protected abstract closeTransport(): void;

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
    if (!this.events.closed) this.closeTransport();
    this.markClosed();
  }

  /** Also called by the peer when its connection goes, in case the channel's own close event never comes. */
  markClosed(): void {
    this.events.close();
  }
}
