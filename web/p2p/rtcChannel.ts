// A browser's RTCDataChannel as the transfer core's Channel (p2p/core/channel.ts).
import type { Channel, ChannelMessage, Unsubscribe } from "../../p2p/core/channel.ts";
import { ChannelEvents } from "../../p2p/core/channelEvents.ts";

export class RtcChannel implements Channel {
  readonly label: string;
  private readonly events = new ChannelEvents();

  constructor(private readonly dc: RTCDataChannel) {
    this.label = dc.label;
    dc.binaryType = "arraybuffer";
    dc.addEventListener("message", (event: MessageEvent<string | ArrayBuffer>) => this.events.message(typeof event.data === "string" ? event.data : new Uint8Array(event.data)));
    dc.addEventListener("bufferedamountlow", () => this.events.bufferedAmountLow());
    dc.addEventListener("close", () => this.markClosed());
  }

  isOpen(): boolean {
    return !this.events.closed && this.dc.readyState === "open";
  }

  sendText(text: string): void {
    this.dc.send(text);
  }

  sendBinary(bytes: Uint8Array): void {
    this.dc.send(bytes as Uint8Array<ArrayBuffer>);
  }

  bufferedAmount(): number {
    return this.events.closed ? 0 : this.dc.bufferedAmount;
  }

  setBufferedAmountLowThreshold(bytes: number): void {
    this.dc.bufferedAmountLowThreshold = bytes;
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

  /** Also called by the peer when its connection goes. */
  markClosed(): void {
    this.events.close();
  }
}
