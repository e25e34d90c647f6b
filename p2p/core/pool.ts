// Work on many chunks, a few at a time (the relay's uploads and fetches).

/**
 * Runs `work` on every item, at most `size` at once. After the first failure no
 * new item starts and `signal` aborts (so waits under way can end early); it
 * rejects with that failure only once the items under way have settled, so
 * nothing runs on after the caller has moved on (closed its files, say).
 */
export async function forEachInPool<T>(items: readonly T[], size: number, work: (item: T, signal: AbortSignal) => Promise<void>): Promise<void> {
  const failed = new AbortController();
  let failure: { error: unknown } | undefined;
  let next = 0;
  const worker = async () => {
    while (!failure && next < items.length) {
      try {
        await work(items[next++]!, failed.signal);
      } catch (error) {
        failure ??= { error };
        failed.abort(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
  if (failure) throw failure.error;
}
