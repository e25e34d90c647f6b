import { describe, expect, it } from "vitest";
import { UsageError } from "../../cli/errors.ts";
import { integer } from "../../cli/context.ts";
import { imageRequest, type RunOptions } from "../../cli/runRequests.ts";

const options = (over: Partial<RunOptions> = {}): RunOptions => ({ image: "busybox", gpus: 0, cpus: 1, memory: 128, timeout: 60, wait: true, ...over });

describe("imageRequest's checkpoints", () => {
  it("asks for them with the interval given", () => {
    expect(imageRequest(["python", "train.py"], options({ checkpointEvery: 60 })).checkpoint).toEqual({ interval_s: 60 });
    expect(imageRequest(["true"], options()).checkpoint).toBeUndefined();
  });

  it("says what --checkpoint-every takes when it is out of bounds", () => {
    for (const every of [5, 3601]) {
      expect(() => imageRequest(["true"], options({ checkpointEvery: every }))).toThrow(UsageError);
      expect(() => imageRequest(["true"], options({ checkpointEvery: every }))).toThrow(`--checkpoint-every is how many seconds between two saves of the job's checkpoint: from 10 to 3600, not ${every}`);
    }
  });
});

describe("a whole-number flag", () => {
  it("takes decimal digits only, not what Number would also take", () => {
    expect(integer("12")).toBe(12);
    expect(integer(" -3 ")).toBe(-3);
    for (const bad of ["", " ", "0x1F", "1e20", "1.5", "12abc", "99999999999999999999"]) expect(() => integer(bad)).toThrow(/is not a whole number/);
    expect(() => integer("\u001b[2J")).toThrow(/"\\u001b\[2J" is not a whole number/);
  });
});

describe("imageRequest's registry credentials (--registry-user)", () => {
  const saved = process.env.POND_REGISTRY_PASSWORD;
  const withPassword = <T>(value: string | undefined, run: () => T): T => {
    if (value === undefined) delete process.env.POND_REGISTRY_PASSWORD;
    else process.env.POND_REGISTRY_PASSWORD = value;
    try {
      return run();
    } finally {
      if (saved === undefined) delete process.env.POND_REGISTRY_PASSWORD;
      else process.env.POND_REGISTRY_PASSWORD = saved;
    }
  };

  it("names the user in the spec and takes the password from POND_REGISTRY_PASSWORD, beside the spec", () => {
    const request = withPassword("ghp_token", () => imageRequest(["true"], options({ image: "ghcr.io/me/model:1", registryUser: "me" })));
    expect(request.registry_auth).toEqual({ username: "me" });
    expect(request.registry_password).toBe("ghp_token");
  });

  it("asks a quote with the user alone: a quote reads no password", () => {
    const request = withPassword(undefined, () => imageRequest(["true"], options({ registryUser: "me" }), undefined, "quote"));
    expect(request.registry_auth).toEqual({ username: "me" });
    expect(request.registry_password).toBeUndefined();
  });

  it("says where the password goes when it is not set, and refuses a user name the API would", () => {
    expect(() => withPassword(undefined, () => imageRequest(["true"], options({ registryUser: "me" })))).toThrow("--registry-user me: put the registry's password or token for me in POND_REGISTRY_PASSWORD");
    expect(() => withPassword("ghp_token", () => imageRequest(["true"], options({ registryUser: "me:you" })))).toThrow(/registry_auth\.username: must be a registry user name/);
  });
});
