// The job list's address: filters and keyset cursor in the query string.
import { describe, expect, it } from "vitest";
import { activityColumns } from "../../web/charts/activitySeries.ts";
import { cursorOf, listQueryString, readListQuery } from "../../web/job/listQuery.ts";

describe("the job list query", () => {
  it("reads what it writes", () => {
    const query = { status: "succeeded" as const, limit: 100, cursor: "eyJkIjoibyIsInMiOjQyfQ" };
    expect(readListQuery(listQueryString(query))).toEqual(query);
    expect(listQueryString({ limit: 20 })).toBe("?limit=20");
    const labelled = { labels: ["pond.sweep=swp_0123456789", "note=a=b c"], limit: 20 };
    expect(listQueryString(labelled)).toBe("?label=pond.sweep%3Dswp_0123456789&label=note%3Da%3Db+c&limit=20");
    expect(readListQuery(listQueryString(labelled))).toEqual(labelled);
  });

  it("keeps only label filters the API would take, at most four", () => {
    const many = Array.from({ length: 6 }, (_, i) => `label=k${i}%3Dv`).join("&");
    expect(readListQuery(`?label=novalue&label=%20bad%3D1&${many}`).labels).toEqual(["k0=v", "k1=v", "k2=v", "k3=v"]);
  });

  it("falls back to defaults for values it does not know", () => {
    expect(readListQuery("?status=exploded&limit=7")).toEqual({ limit: 50 });
  });

  it("takes the cursor out of the API's paging links", () => {
    expect(cursorOf("http://127.0.0.1:8787/v1/jobs?limit=50&cursor=abc_-")).toBe("abc_-");
    expect(cursorOf(null)).toBeUndefined();
  });
});

describe("activityColumns", () => {
  it("gives uPlot unix seconds, then one column per series", () => {
    const columns = activityColumns([
      { hour: "2026-11-20T10:00:00.000Z", queued: 3, started: 2, finished: 1 },
      { hour: "2026-11-20T11:00:00.000Z", queued: 0, started: 1, finished: 4 },
    ]);
    expect(columns).toEqual([[Date.parse("2026-11-20T10:00:00Z") / 1000, Date.parse("2026-11-20T11:00:00Z") / 1000], [3, 0], [2, 1], [1, 4]]);
  });
});
