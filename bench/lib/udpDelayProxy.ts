// Emulated network delay in user space, for a kernel without tc netem (this
// machine's: "Specified qdisc kind is unknown"). Each front is a UDP socket on
// 127.0.0.1 that stands for one peer's candidate: what others send to it reaches
// the peer `oneWayMs` later, and the peer's replies go back, as late, to whoever
// wrote last. A peer that only knows the other's fronts talks to it at
// 2 × oneWayMs round trip. Datagrams leave in arrival order.
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";

interface Endpoint {
  address: string;
  port: number;
}

interface Pending {
  due: number;
  data: Buffer;
  to: Endpoint;
}

export class UdpDelayProxy {
  private readonly sockets: Socket[] = [];
  /** Each front's pending drain, cleared on close: a send on a closed socket throws. */
  private readonly timers = new Set<() => void>();
  /** Datagrams dropped because the socket's own buffer was full are not counted here; these are send errors. */
  sendErrors = 0;

  constructor(private readonly oneWayMs: number) {}

  /** A socket that fronts `target`; returns its address, to hand out instead of the target's. */
  async front(target: Endpoint): Promise<Endpoint> {
    const socket = createSocket({ type: "udp4", recvBufferSize: 4 * 1024 * 1024, sendBufferSize: 4 * 1024 * 1024 });
    this.sockets.push(socket);
    const queue: Pending[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    let lastClient: Endpoint | undefined;
    const drain = () => {
      timer = undefined;
      const now = performance.now();
      while (queue.length > 0 && queue[0]!.due <= now) {
        const { data, to } = queue.shift()!;
        socket.send(data, to.port, to.address, (error) => error && (this.sendErrors += 1));
      }
      if (queue.length > 0) timer = setTimeout(drain, Math.max(0, queue[0]!.due - now));
    };
    this.timers.add(() => clearTimeout(timer));
    socket.on("message", (data: Buffer, from: RemoteInfo) => {
      const fromTarget = from.address === target.address && from.port === target.port;
      if (!fromTarget) lastClient = { address: from.address, port: from.port };
      const to = fromTarget ? lastClient : target;
      if (!to) return;
      queue.push({ due: performance.now() + this.oneWayMs, data, to });
      timer ??= setTimeout(drain, this.oneWayMs);
    });
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    const { address, port } = socket.address();
    return { address, port };
  }

  close(): void {
    for (const stop of this.timers) stop();
    this.timers.clear();
    for (const socket of this.sockets.splice(0)) socket.close();
  }
}

/** Rewrites an ICE candidate line ("candidate:1 1 UDP 2114977791 127.0.0.1 60564 typ host ...") to name another address. */
export function candidateAddress(candidate: string): Endpoint | undefined {
  const parts = candidate.split(" ");
  const port = Number(parts[5]);
  return parts.length > 7 && Number.isInteger(port) ? { address: parts[4]!, port } : undefined;
}

export function withCandidateAddress(candidate: string, endpoint: Endpoint): string {
  const parts = candidate.split(" ");
  parts[4] = endpoint.address;
  parts[5] = String(endpoint.port);
  return parts.join(" ");
}
