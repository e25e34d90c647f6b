// A TCP relay that holds every chunk for half a round trip each way (the UDP one for
// the data plane is udpDelayProxy.ts): a provider daemon connected through it is as far
// from the hub as `rttMs` says, as on the internet, while both run on this machine.
// Bench code only; chunks keep their order (timers of one delay fire in the order set).
import { createServer, connect, type Server, type Socket } from "node:net";

export interface TcpDelayRelay {
  /** `http://127.0.0.1:<port>`: the target's URL, reached through the delay. */
  url: string;
  close(): Promise<void>;
}

export async function startTcpDelayRelay(target: string, rttMs: number): Promise<TcpDelayRelay> {
  const { hostname, port } = new URL(target);
  const oneWay = rttMs / 2;
  const sockets = new Set<Socket>();
  const relay = (from: Socket, to: Socket) => {
    from.on("data", (chunk) => setTimeout(() => to.destroyed || to.write(chunk), oneWay));
    from.on("end", () => setTimeout(() => to.end(), oneWay));
    from.on("error", () => to.destroy());
    from.on("close", () => setTimeout(() => to.destroy(), oneWay));
  };
  const server: Server = createServer((near) => {
    const far = connect(Number(port), hostname);
    for (const socket of [near, far]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    }
    relay(near, far);
    relay(far, near);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("the delay relay has no port");
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
