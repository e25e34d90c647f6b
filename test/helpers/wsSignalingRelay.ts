// The SignalRouter behind a WebSocket server, so peers in other processes (or
// network namespaces) can signal. A client joins as `ws://HOST:PORT/?role=ROLE`;
// in Pond the job's rendezvous object plays this part, with real authentication.
import { WebSocketServer } from "ws";
import { PeerRole } from "../../protocol/signaling.ts";
import { SignalRouter } from "./signalRouter.ts";

export interface WsSignalingRelay {
  url: string;
  router: SignalRouter;
  close(): Promise<void>;
}

export async function startWsSignalingRelay({ host = "127.0.0.1", port = 0 }: { host?: string; port?: number } = {}): Promise<WsSignalingRelay> {
  const router = new SignalRouter();
  const server = new WebSocketServer({ host, port });
  await new Promise<void>((resolve, reject) => server.once("listening", resolve).once("error", reject));
  server.on("connection", (socket, request) => {
    const role = PeerRole.safeParse(new URL(request.url ?? "/", "ws://relay").searchParams.get("role"));
    if (!role.success) return socket.close(4400, "join as ?role=creator (or provider, mediator)");
    const link = router.join(role.data, (raw) => socket.send(raw));
    socket.on("message", (data) => link.receive(data.toString()));
    socket.on("close", () => link.leave());
  });
  const address = server.address() as { port: number };
  return {
    url: `ws://${host}:${address.port}`,
    router,
    async close() {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      router.close();
    },
  };
}
