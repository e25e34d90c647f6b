// The frames a test's WebSocket received, in order, and a wait for the next one of a
// type: what the stand-in provider (providerSocket.ts) and creator (signaling/creatorSocket.ts) read with.
export interface TypedInbox<M extends { type: string }> {
  /** Every frame received and not yet taken. */
  messages: M[];
  push(message: M): void;
  /** The first frame of `type`, now or once it arrives; rejects, listing what did arrive, after `timeoutMs`. */
  take<T extends M["type"]>(type: T, timeoutMs?: number): Promise<Extract<M, { type: T }>>;
}

export function typedInbox<M extends { type: string }>(): TypedInbox<M> {
  const messages: M[] = [];
  const waiters = new Set<() => void>();
  return {
    messages,
    push(message) {
      messages.push(message);
      for (const wake of [...waiters]) wake();
    },
    take: <T extends M["type"]>(type: T, timeoutMs = 10_000) =>
      new Promise<Extract<M, { type: T }>>((resolve, reject) => {
        const look = () => {
          const index = messages.findIndex((m) => m.type === type);
          if (index < 0) return false;
          waiters.delete(look);
          clearTimeout(timer);
          resolve(messages.splice(index, 1)[0] as Extract<M, { type: T }>);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(look);
          reject(new Error(`no ${type} within ${timeoutMs} ms (have: ${messages.map((m) => m.type).join(", ") || "nothing"})`));
        }, timeoutMs);
        if (!look()) waiters.add(look);
      }),
  };
}
