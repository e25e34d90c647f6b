// A browser's RTCDataChannel as the transfer core's Channel (p2p/core/channel.ts).
import { ChannelBase } from "../../p2p/core/channelBase.ts";

export class RtcChannel extends ChannelBase {
  readonly label: string;

  constructor(private readonly dc: RTCDataChannel) {
    super();
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

  protected closeTransport(): void {
    this.dc.close();
  }
}
