/** A job's status (or a delivery's state) as a coloured badge; the class name is the status itself, from a fixed list. */
const known = new Set(["queued", "starting", "processing", "succeeded", "failed", "canceled", "timed_out", "pending", "delivered", "retrying", "dead", "disabled"]);

export function StatusBadge(props: { status: string }) {
  const tone = known.has(props.status) ? props.status : "unknown";
  return <span class={`badge badge-${tone}`}>{props.status.replace("_", " ")}</span>;
}
