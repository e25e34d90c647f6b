import { describe, expect, it } from "vitest";
import { jobWorkDir, WorkDirError } from "../../provider/workDir.ts";

describe("jobWorkDir", () => {
  it("puts a job's folder directly under <dataDir>/jobs", () => {
    expect(jobWorkDir("/var/pond", "job_1")).toBe("/var/pond/jobs/job_1");
    expect(jobWorkDir("/var/pond/", "mediation-job_1")).toBe("/var/pond/jobs/mediation-job_1");
  });

  it("refuses a name that leaves that folder or names it", () => {
    for (const name of ["..", "../..", "../../etc", "a/../../b", "a/b", "/etc", ".", ""]) {
      expect(() => jobWorkDir("/var/pond", name), name).toThrow(WorkDirError);
    }
  });
});
