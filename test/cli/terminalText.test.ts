// What a provider wrote, as the CLI prints it: no control sequence of its
// reaches the creator's terminal (terminalText.ts).
import { describe, expect, it } from "vitest";
import { describeJob } from "../../cli/commands/jobs.ts";
import { describeEgress } from "../../cli/egressSummary.ts";
import { terminalText } from "../../cli/terminalText.ts";
import type { Job } from "../../protocol/job.ts";

/** A hyperlink (OSC 8), a colour, a title change, a cursor move up with a line of its own, and a right-to-left override. */
const HOSTILE = "exit 1\u001b]8;;https://evil.example/\u0007click\u001b]8;;\u0007\u001b[31mred\u001b]0;title\u0007\u001b[1A\rjob succeeded\n  fake line\u202Edevil\u009b2J";

describe("terminalText", () => {
  it("shows control characters and bidirectional overrides as escapes, and keeps text and tabs", () => {
    const shown = terminalText(HOSTILE);
    expect(shown).not.toMatch(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    expect(shown).toContain("exit 1\\u001b]8;;https://evil.example/\\u0007click");
    expect(shown).toContain("\\u000a  fake line\\u202edevil\\u009b2J");
    expect(terminalText("résumé\tok 数字")).toBe("résumé\tok 数字");
  });

  it("guards what describeJob and describeEgress print of a provider's report", () => {
    const job = {
      id: "job_x",
      status: "failed",
      status_detail: HOSTILE,
      error: HOSTILE,
      template: null,
      labels: { note: HOSTILE },
      spec: { image: "busybox", resources: { gpus: 0, cpus: 1, memory_mb: 64 }, timeout_s: 60, max_price_wei: "1", network: { allow: ["hub.test"] } },
      created_at: "2026-12-06T00:00:00.000Z",
      started_at: null,
      completed_at: null,
      provider: null,
      attempt: 0,
      price: { claimed_wei: null },
      output: null,
      metrics: {
        queue_ms: null,
        pull_ms: null,
        run_ms: null,
        transfer: { inputs: null, outputs: null },
        egress: { hosts: [{ host: HOSTILE, port: 443, connections: 1, bytes_out: 1, bytes_in: 1 }], refused: 1, refusals: [{ host: "x", port: 443, status: 403, reason: HOSTILE, count: 1 }] },
      },
    } as unknown as Job;
    for (const line of [...describeJob(job), ...describeEgress(job)]) {
      expect(line).not.toMatch(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    }
  });
});
