// The job list's filters and page as a query string, so a page of the list has
// an address (reload, back and forward work) and the API gets the same query. Pure.
import { JobStatus } from "../../protocol/jobStatus.ts";
import { LabelFilter } from "../../protocol/labels.ts";
import { labelLimits } from "../../protocol/limits.ts";

export const PAGE_SIZES = [20, 50, 100] as const;
const DEFAULT_SIZE = 50;

export interface ListQuery {
  status?: JobStatus;
  /** `key=value` labels every job listed carries (a sweep's, an experiment's). */
  labels?: string[];
  limit: number;
  /** The API's opaque keyset cursor: which page, never an offset. */
  cursor?: string;
}

export function readListQuery(search: string): ListQuery {
  const params = new URLSearchParams(search);
  const status = JobStatus.safeParse(params.get("status"));
  const limit = Number(params.get("limit"));
  const cursor = params.get("cursor");
  // Only filters the API would take: a hand-edited address shows the list rather than a 422.
  const labels = params.getAll("label").filter((label) => LabelFilter.safeParse(label).success).slice(0, labelLimits.maxFilters);
  return {
    ...(status.success ? { status: status.data } : {}),
    ...(labels.length ? { labels } : {}),
    limit: (PAGE_SIZES as readonly number[]).includes(limit) ? limit : DEFAULT_SIZE,
    ...(cursor ? { cursor } : {}),
  };
}

export function listQueryString(query: ListQuery): string {
  const params = new URLSearchParams();
  if (query.status) params.set("status", query.status);
  for (const label of query.labels ?? []) params.append("label", label);
  params.set("limit", String(query.limit));
  if (query.cursor) params.set("cursor", query.cursor);
  return `?${params.toString()}`;
}

/** The cursor in one of the API's `next` / `previous` links. */
export function cursorOf(link: string | null): string | undefined {
  if (!link) return undefined;
  return new URL(link, "http://link.invalid").searchParams.get("cursor") ?? undefined;
}
