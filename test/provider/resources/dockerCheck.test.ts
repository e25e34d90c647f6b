// Against an engine that answers as `docker info` does on such hosts.
import type Docker from "dockerode";
import { describe, expect, it } from "vitest";
import { diagnoseDocker } from "../../../provider/resources/dockerCheck.ts";

const engine = (info: Record<string, unknown>) => ({ modem: { socketPath: "/run/docker.sock" }, ping: async () => "OK", info: async () => info }) as unknown as Docker;

describe("diagnoseDocker", () => {
  it("notes when nvidia is Docker's default runtime", async () => {
    const diagnosis = await diagnoseDocker(engine({ ServerVersion: "27.0", Runtimes: { nvidia: {}, runc: {} }, DefaultRuntime: "nvidia" }), 2);
    expect(diagnosis.problems).toEqual([]);
    expect(diagnosis.notes).toEqual([expect.stringMatching(/nvidia is Docker's default runtime.*Pond sets it for every job/)]);
  });

  it("says nothing when runc is the default", async () => {
    const diagnosis = await diagnoseDocker(engine({ ServerVersion: "27.0", Runtimes: { nvidia: {}, runc: {} }, DefaultRuntime: "runc" }), 2);
    expect(diagnosis).toMatchObject({ reachable: true, nvidiaRuntime: true, problems: [], notes: [] });
  });
});
