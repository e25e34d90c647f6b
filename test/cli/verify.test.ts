// `pond verify <a-dir> <b-dir>` as a user runs it: the real CLI on folders in
// a temporary directory, judged by its exit code and what it printed. (The
// --job path fetches the job through the SDK; it needs a running API and is
// not covered here.)
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { exitCodes } from "../../cli/exitCodes.ts";
import type { OutputComparison } from "../../protocol/outputComparison.ts";
import { useTempDir } from "../helpers/tempDir.ts";
import { runPond } from "../helpers/pondCli.ts";

const tempDir = useTempDir("cli-verify");

const pond = (args: string[]) => runPond(args, { home: join(tempDir(), "home"), timeoutMs: 60_000 });

async function write(files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(tempDir(), path, ".."), { recursive: true });
    await writeFile(join(tempDir(), path), text);
  }
}

const trainingVerify = {
  mode: "tolerant",
  files: [
    { path: "metrics.json", format: "json", rtol: 1e-3 },
    { path: "preds/*.txt", format: "labels", min_agreement: 0.98 },
  ],
};
const jobSpec = { image: "ghcr.io/alice/train:1", resources: { gpus: 1 }, timeout_s: 600, max_price_wei: "1", verify: trainingVerify };

// Each case starts the CLI a few times (tsx compiles it at each start), so each gets a minute and a half.
describe("pond verify", { timeout: 90_000 }, () => {
  it("exits 0 when the outputs agree under the spec's tolerant comparison, saying per file by how much", async () => {
    await write({
      "a/metrics.json": '{"loss": [0.9, 0.5, 0.25], "accuracy": 0.91}',
      "b/metrics.json": '{"accuracy": 0.9101, "loss": [0.9, 0.5, 0.2501]}',
      "a/preds/test.txt": `${"cat\n".repeat(99)}dog\n`,
      "b/preds/test.txt": `${"cat\r\n".repeat(100)}`,
      "a/model.pt": "weights",
      "b/model.pt": "weights",
      "spec.json": JSON.stringify(jobSpec),
    });
    const result = await pond(["verify", "--spec", join(tempDir(), "spec.json"), join(tempDir(), "a"), join(tempDir(), "b")]);
    expect(result.code, result.stderr).toBe(exitCodes.ok);
    const lines = result.stdout.trim().split("\n");
    expect(lines).toContain(
      'metrics.json: agrees (json rule "metrics.json", rtol 0.001, atol 0): 4 numbers within tolerance, max abs diff 0.0001, max rel diff 0.0004; closest to the limit at /loss/2: 0.25 in a, 0.2501 in b',
    );
    expect(lines).toContain('preds/test.txt: agrees (labels rule "preds/*.txt", at least 98% equal): 99 of 100 lines equal (agreement 99%); first difference at line 100: "dog" in a, "cat" in b');
    expect(lines).toContain("model.pt: identical (exact)");
    expect(lines.at(-1)).toBe(`agree under ${join(tempDir(), "spec.json")}'s tolerant comparison: 3 files`);
  });

  it("exits 1 when a number is beyond tolerance, naming the file, the place and both values", async () => {
    await write({
      "a/metrics.json": '{"loss": [0.9, 0.5, 0.25], "accuracy": 0.91}',
      "b/metrics.json": '{"loss": [0.9, 0.5, 0.3], "accuracy": 0.91}',
      "verify.json": JSON.stringify(trainingVerify),
    });
    const result = await pond(["verify", "--spec", join(tempDir(), "verify.json"), join(tempDir(), "a"), join(tempDir(), "b")]);
    expect(result.code).toBe(exitCodes.outputsDiffer);
    expect(result.stdout).toContain('metrics.json: DIFFERS (json rule "metrics.json", rtol 0.001, atol 0): 1 of 4 numbers beyond tolerance, max abs diff 0.05, max rel diff 0.167; worst at /loss/2: 0.25 in a, 0.3 in b');
    expect(result.stdout.trim().split("\n").at(-1)).toBe(`differ under ${join(tempDir(), "verify.json")}'s tolerant comparison: 1 of 1 files in both differ (metrics.json)`);

    const json = await pond(["--json", "verify", "--spec", join(tempDir(), "verify.json"), join(tempDir(), "a"), join(tempDir(), "b")]);
    expect(json.code).toBe(exitCodes.outputsDiffer);
    const parsed = JSON.parse(json.stdout) as OutputComparison & { summary: string };
    expect(parsed).toMatchObject({ agree: false, mode: "tolerant", files: [{ path: "metrics.json", ok: false, by: "numbers", worst: { at: "/loss/2", a: "0.25", b: "0.3" } }] });
  });

  it("compares byte for byte without a spec, or with one that declares no verify, and lists files only one side has", async () => {
    await write({ "a/metrics.json": '{"loss": 0.25}', "b/metrics.json": '{"loss": 0.2500001}', "a/extra.txt": "x", "plain.json": JSON.stringify({ ...jobSpec, verify: undefined }) });
    for (const spec of [[], ["--spec", join(tempDir(), "plain.json")]]) {
      const result = await pond(["verify", ...spec, join(tempDir(), "a"), join(tempDir(), "b")]);
      expect(result.code).toBe(exitCodes.outputsDiffer);
      expect(result.stdout).toMatch(/^metrics\.json: DIFFERS \(exact\): sha256 [0-9a-f]{12}… in a, [0-9a-f]{12}… in b, 14 and 19 bytes$/m);
      expect(result.stdout).toContain("extra.txt: only in a");
      expect(result.stdout.trim().split("\n").at(-1)).toBe("differ byte for byte: 1 of 1 files in both differ (metrics.json); only in a: extra.txt");
    }
    await write({ "c/m.bin": "same", "d/m.bin": "same" });
    const same = await pond(["verify", join(tempDir(), "c"), join(tempDir(), "d")]);
    expect(same).toMatchObject({ code: exitCodes.ok, stdout: "m.bin: identical (exact)\nagree byte for byte: 1 file\n" });
  });

  it("takes the verify of a template definition or of a job as `pond jobs get --json` prints it", async () => {
    await write({
      "a/metrics.json": "[1.0]",
      "b/metrics.json": "[1.0005]",
      "template.json": JSON.stringify({ name: "alice/train", version: "1.0.0", deterministic: false, verify: trainingVerify }),
      "job.json": JSON.stringify({ id: "job_1", status: "succeeded", spec: jobSpec }),
    });
    for (const file of ["template.json", "job.json"]) {
      const result = await pond(["verify", "--spec", join(tempDir(), file), join(tempDir(), "a"), join(tempDir(), "b")]);
      expect(result.code, `${file}: ${result.stderr}`).toBe(exitCodes.ok);
    }
  });

  it("exits 2 saying what to fix: an invalid verify, a file that is not JSON, a missing folder, a link, two sources", async () => {
    await write({
      "a/m.json": "[1]",
      "b/m.json": "[1]",
      "bad.json": JSON.stringify({ ...jobSpec, verify: { mode: "tolerant", files: [{ path: "metrics.json", format: "json", rtol: 5 }] } }),
      "broken.json": "{ not json",
    });
    const [a, b] = [join(tempDir(), "a"), join(tempDir(), "b")];
    const bad = await pond(["verify", "--spec", join(tempDir(), "bad.json"), a, b]);
    expect(bad).toMatchObject({ code: exitCodes.usage, stdout: "" });
    expect(bad.stderr).toBe(`pond: --spec ${join(tempDir(), "bad.json")} does not declare a valid comparison; fix:\n  verify.files.0.rtol: Too big: expected number to be <=1\n`);

    const broken = await pond(["verify", "--spec", join(tempDir(), "broken.json"), a, b]);
    expect(broken.code).toBe(exitCodes.usage);
    expect(broken.stderr).toMatch(/^pond: cannot read --spec .*broken\.json as JSON: /);

    const missing = await pond(["verify", a, join(tempDir(), "nope")]);
    expect(missing.code).toBe(exitCodes.usage);
    expect(missing.stderr).toBe(`pond: there is no folder ${join(tempDir(), "nope")}: give two folders of outputs (pond jobs download <id> --output <dir> fetches a job's)\n`);

    await symlink(join(a, "m.json"), join(b, "link.json"));
    const linked = await pond(["verify", a, b]);
    expect(linked.code).toBe(exitCodes.usage);
    expect(linked.stderr).toContain(`"link.json" in ${b} is a symbolic link`);

    const both = await pond(["verify", "--spec", join(tempDir(), "bad.json"), "--job", "job_1", a, b]);
    expect(both).toMatchObject({ code: exitCodes.usage, stderr: "pond: give --spec or --job, not both\n" });
  });
});
