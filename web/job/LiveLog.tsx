// The job's output, following the end while the reader is at the end.
import { useEffect, useRef } from "hono/jsx/dom";
import type { LogState } from "./useLiveLog.ts";

const stateText: Record<LogState, string> = {
  connecting: "connecting…",
  live: "live",
  reconnecting: "connection dropped; reconnecting…",
  ended: "the job has ended",
  refused: "not available",
};

export function LiveLog(props: { text: string; state: LogState; error?: string }) {
  const box = useRef<HTMLPreElement>(null);
  const pinned = useRef(true);
  useEffect(() => {
    const element = box.current;
    if (element && pinned.current) element.scrollTop = element.scrollHeight;
  }, [props.text]);
  const onScroll = () => {
    const element = box.current;
    if (element) pinned.current = element.scrollHeight - element.scrollTop - element.clientHeight < 24;
  };
  return (
    <div>
      <p class="muted small" data-testid="log-state">
        <span class={`dot dot-${props.state}`} /> {props.error ?? stateText[props.state]}
      </p>
      <pre class="log" ref={box} onScroll={onScroll} data-testid="log">
        {props.text || (props.state === "ended" ? "(no output)" : "waiting for output…")}
      </pre>
    </div>
  );
}
