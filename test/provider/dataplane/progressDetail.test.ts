import { describe, expect, it } from "vitest";
import { eventually } from "../../helpers/eventually.ts";
import { formatBytes } from "../../../protocol/byteSize.ts";
import { describeProgress, throttledDetail } from "../../../provider/dataplane/progressDetail.ts";

describe("a transfer's status detail", () => {
  it("says the share, the size and the route", () => {
    expect(describeProgress("receiving inputs", 0.41 * 1.2 * 1024 ** 3, 1.2 * 1024 ** 3, "direct")).toBe("receiving inputs: 41% of 1.2 GiB, direct");
    expect(describeProgress("receiving inputs", 0, 0, "relay")).toBe("receiving inputs: 100% of 0 B, relay");
    expect(formatBytes(1536)).toBe("1.5 KiB");
  });

  it("thins out percentages but passes other news and the end at once", () => {
    const sent: string[] = [];
    const detail = throttledDetail((text) => sent.push(text), 60_000);
    detail("receiving inputs: 1% of 1.0 GiB, direct");
    detail("receiving inputs: 2% of 1.0 GiB, direct");
    detail("waiting for the creator's inputs");
    detail("waiting for the creator's inputs");
    detail("receiving inputs: 100% of 1.0 GiB, relay");
    expect(sent).toEqual(["receiving inputs: 1% of 1.0 GiB, direct", "waiting for the creator's inputs", "receiving inputs: 100% of 1.0 GiB, relay"]);
  });

  it("sends the last percentage it held back once the interval is over", async () => {
    const sent: string[] = [];
    const detail = throttledDetail((text) => sent.push(text), 50);
    detail("receiving inputs: 25% of 4.0 MiB, relay");
    detail("receiving inputs: 50% of 4.0 MiB, relay");
    expect(sent).toEqual(["receiving inputs: 25% of 4.0 MiB, relay"]);
    await eventually(async () => sent.length === 2);
    expect(sent[1]).toBe("receiving inputs: 50% of 4.0 MiB, relay");
  });
});
