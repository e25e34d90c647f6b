// Used against total, as a native <meter>: no drawing code, and read out by screen readers.
export function CapacityMeter(props: { label: string; total: number; free: number; format: (n: number) => string }) {
  const used = Math.max(0, props.total - props.free);
  return (
    <div class="capacity">
      <div class="capacity-head">
        <span>{props.label}</span>
        <span class="muted">
          {props.format(used)} used of {props.format(props.total)} · {props.format(props.free)} free
        </span>
      </div>
      <meter min={0} max={Math.max(props.total, 1)} value={used} low={props.total * 0.7} high={props.total * 0.9} optimum={0} aria-label={`${props.label} used`} />
    </div>
  );
}
