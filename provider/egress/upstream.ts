// The proxy's own connection to a checked address: an IP address, so nothing
// is looked up again at connect time (a second lookup could answer otherwise).
import { connect, isIP, type OnReadOpts, type Socket } from "node:net";
import type { EgressContext } from "./context.ts";

/**
 * Resolves once connected; `track` sees the socket at once, so close() can end it while it connects.
 * With `onread`, the socket's reads go there instead of to 'data' events (hostReads.ts).
 */
export function connectUpstream(address: string, port: number, timeoutMs: number, track: (socket: Socket) => void, onread?: OnReadOpts): Promise<Socket> {
  if (isIP(address) === 0) return Promise.reject(new Error(`${address} is not an IP address`));
  return new Promise((resolve, reject) => {
    // Half-open allowed: a client may end its side and still read the answer.
    const socket = connect({ host: address, port, allowHalfOpen: true, ...(onread ? { onread } : {}) });
    track(socket);
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    const onClose = () => fail(new Error("closed before connecting"));
    const onTimeout = () => fail(new Error(`no connection in ${timeoutMs} ms`));
    socket.setTimeout(timeoutMs);
    socket.once("timeout", onTimeout);
    socket.once("error", fail);
    socket.once("close", onClose);
    socket.once("connect", () => {
      // Every listener goes: a later idle timeout on this socket is its user's to handle.
      socket.setTimeout(0);
      socket.removeListener("timeout", onTimeout);
      socket.removeListener("error", fail);
      socket.removeListener("close", onClose);
      resolve(socket);
    });
  });
}

/** Connects to an admitted destination; one that cannot be reached is counted as refused, its reason (a 502) for the handler to answer. */
export async function connectAdmitted(target: { host: string; port: number; address: string }, context: EgressContext, onread?: OnReadOpts): Promise<Socket | { unreachable: string }> {
  try {
    return await connectUpstream(target.address, target.port, context.connectTimeoutMs, (socket) => context.track(socket), onread);
  } catch (error) {
    const reason = `could not connect to ${target.host}:${target.port} (${failureCode(error)})`;
    context.refuse({ status: 502, reason, host: target.host, port: target.port });
    return { unreachable: reason };
  }
}

/** A short, content-free description of why a connection failed (an errno code where there is one). */
export function failureCode(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code ?? (error instanceof Error ? error.message : "failed");
}
