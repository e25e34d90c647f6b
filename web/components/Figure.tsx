import type { Child } from "hono/jsx/dom";

/** One headline number with its label, e.g. "Providers online · 3". */
export function Figure(props: { label: string; value: Child; hint?: string; testId?: string }) {
  return (
    <div class="figure" data-testid={props.testId}>
      <div class="figure-value">{props.value}</div>
      <div class="figure-label">{props.label}</div>
      {props.hint ? <div class="figure-hint">{props.hint}</div> : null}
    </div>
  );
}
