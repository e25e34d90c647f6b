// Keeps a value fresh by loading it again every so often: paused while the tab
// is hidden, and never two loads at once.
import { useEffect, useState } from "hono/jsx/dom";

export interface Polled<T> {
  data?: T;
  /** Which `key` the data was loaded for: data of another key is not shown. */
  key?: string;
  error?: Error;
  /** When the shown data was loaded. */
  loadedAt?: number;
}

export function usePoll<T>(load: (signal: AbortSignal) => Promise<T>, everyMs: number, key = ""): Polled<T> & { reload(): void } {
  const [state, setState] = useState<Polled<T>>({});
  const [round, setRound] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      if (document.hidden) return;
      try {
        const data = await load(controller.signal);
        setState({ data, key, loadedAt: Date.now() });
      } catch (error) {
        if (controller.signal.aborted) return;
        // Keep what was shown: a failed refresh is reported beside it.
        setState((previous) => ({ ...previous, error: error instanceof Error ? error : new Error(String(error)) }));
      }
      if (!controller.signal.aborted) timer = setTimeout(run, everyMs);
    };
    const onVisible = () => {
      if (document.hidden) return;
      clearTimeout(timer);
      void run();
    };
    document.addEventListener("visibilitychange", onVisible);
    void run();
    return () => {
      controller.abort();
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, [everyMs, key, round]);
  const current = state.key === key ? state : { error: state.error };
  return { ...current, reload: () => setRound((n) => n + 1) };
}
