// The SCTP buffers of Pond's transfer processes. libdatachannel's default (1 MiB
// each way) is the most data one association keeps in flight, whatever the link:
// 1 MiB a round trip is 20 MiB/s at 50 ms and 5 MiB/s at 200 ms, a provider across
// an ocean. With 8 MiB the congestion window (the link) sets the pace up to
// 160 MiB/s at 50 ms and 40 MiB/s at 200 ms. It stays under usrsctp's limit of
// chunks held on a queue (libdatachannel's 10,240 of at most ~1.2 KB each), so a
// full receive window is never refused chunk by chunk.
import nodeDataChannel from "node-datachannel";

export const TRANSFER_SCTP_BUFFER_BYTES = 8 * 1024 * 1024;

/** For every association this process opens from now on: call before the first peer connection. */
export function applyTransferSctpSettings(bufferBytes = TRANSFER_SCTP_BUFFER_BYTES): void {
  nodeDataChannel.setSctpSettings({ sendBufferSize: bufferBytes, recvBufferSize: bufferBytes });
}
