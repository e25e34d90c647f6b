// The one thing the transfer core needs from a WebRTC data channel. Node wraps
// node-datachannel's DataChannel in it (p2p/node/channel.ts); a browser page can
// wrap RTCDataChannel the same way. No `node:` imports in p2p/core.

export type ChannelMessage = string | Uint8Array;
/** Stops a listener; every `on…` returns one. */
export type Unsubscribe = () => void;

export interface Channel {
  readonly label: string;
  isOpen(): boolean;
  /** Queues a text message; throws when the channel is closed. */
  sendText(text: string): void;
  /** Queues a binary message (the bytes are copied before this returns); throws when closed. */
  sendBinary(bytes: Uint8Array): void;
  /** Bytes queued and not yet handed to the network. */
  bufferedAmount(): number;
  setBufferedAmountLowThreshold(bytes: number): void;
  /** Fires when bufferedAmount falls to the threshold or below. */
  onBufferedAmountLow(listener: () => void): Unsubscribe;
  onMessage(listener: (message: ChannelMessage) => void): Unsubscribe;
  /** Fires once, when the channel closes for any reason. */
  onClose(listener: () => void): Unsubscribe;
  close(): void;
}
