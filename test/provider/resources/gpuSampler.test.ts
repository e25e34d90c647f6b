// The GPU sampler against a stand-in nvidia-smi: this machine has no GPU, so a
// script that answers as nvidia-smi does (a real process, run the way the
// daemon runs it) stands in for the binary. Its answers change with every call,
// so the figures each job gets show which samples it was credited.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { GpuSampler } from "../../../provider/resources/gpuSampler.ts";
import { eventually } from "../../helpers/eventually.ts";

let dir: string;
let samplers: GpuSampler[] = [];
const warnings = vi.fn();
const log = { warn: warnings } as unknown as Logger;

/**
 * Call n answers GPU-aaaa-1 at n×10 % and GPU-bbbb-2 at (100 − n) %, without a power reading; it fails while `failing` exists.
 * Its arguments are written whole (renamed into place): a call under way while the test reads them must not show an empty file.
 */
async function standIn(extra = ""): Promise<string> {
  const path = join(dir, "nvidia-smi");
  await writeFile(
    path,
    `#!/bin/sh
echo "$@" > ${dir}/args.tmp && mv ${dir}/args.tmp ${dir}/args
[ -e ${dir}/failing ] && { echo "NVIDIA-SMI has failed" >&2; exit 9; }
${extra}
n=$(( $(cat ${dir}/calls 2>/dev/null || echo 0) + 1 ))
echo $n > ${dir}/calls
echo "GPU-aaaa-1, $(( n * 10 )), $(( n * 1000 )), 300.5, 60"
echo "GPU-bbbb-2, $(( 100 - n )), 512, [N/A], [N/A]"
`,
    { mode: 0o755 },
  );
  return path;
}

const calls = async () => Number((await readFile(join(dir, "calls"), "utf8").catch(() => "0")).trim());
const sampler = (nvidiaSmi: string, options: { timeoutMs?: number; intervalMs?: number } = {}) => {
  const made = new GpuSampler({ nvidiaSmi, log, intervalMs: options.intervalMs ?? 40, firstSampleMs: 10, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) });
  samplers.push(made);
  return made;
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pond-gpu-sampler-"));
  warnings.mockClear();
});
afterEach(async () => {
  for (const s of samplers) s.stop();
  samplers = [];
  // A stopped sampler's last call may still be writing there: rm retries ENOTEMPTY.
  await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
});

describe("GpuSampler", () => {
  it("credits each job the samples of its own GPUs while it is tracked, as means and peaks", async () => {
    const gpus = sampler(await standIn());
    const stopA = gpus.track("job_a", ["GPU-aaaa-1"]);
    const stopB = gpus.track("job_b", ["GPU-bbbb-2"]);
    // Calls never overlap: once call n has begun, calls before it have been credited.
    await eventually(async () => (await calls()) >= 3, { what: "two samples credited" });
    const b = stopB()!;
    await eventually(async () => (await calls()) >= 6, { what: "five samples credited" });
    const a = stopA()!;
    expect(await readFile(join(dir, "args"), "utf8")).toBe("--query-gpu=uuid,utilization.gpu,memory.used,power.draw,temperature.gpu --format=csv,noheader,nounits\n");

    const k = a.gpus[0]!.samples;
    expect(k).toBeGreaterThanOrEqual(5);
    // Calls 1…k: n×10 % and n×1000 MiB.
    expect(a).toEqual({
      interval_ms: 40,
      gpus: [{ uuid: "GPU-aaaa-1", samples: k, utilization_pct: { mean: 5 * (k + 1), max: 10 * k }, memory_used_mb: { mean: 500 * (k + 1), max: 1000 * k }, power_w: { mean: 300.5, max: 300.5 }, temperature_c_max: 60 }],
    });
    const kb = b.gpus[0]!.samples;
    expect(kb).toBeGreaterThanOrEqual(2);
    expect(kb).toBeLessThan(k);
    // No power or temperature reading: none reported, not zero.
    expect(b.gpus).toEqual([{ uuid: "GPU-bbbb-2", samples: kb, utilization_pct: { mean: 100 - (kb + 1) / 2, max: 99 }, memory_used_mb: { mean: 512, max: 512 } }]);

    // Nothing tracked: nvidia-smi is not run again.
    const after = await calls();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await calls()).toBe(after);
  });

  it("gives no figures for a job without GPUs or whose GPUs nvidia-smi does not list (a MIG slice), and runs nothing for the first", async () => {
    const gpus = sampler(await standIn());
    expect(gpus.track("job_cpu", [])()).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await calls()).toBe(0);
    const stop = gpus.track("job_mig", ["MIG-1111-2222"]);
    await eventually(async () => (await calls()) >= 2, { what: "two samples" });
    expect(stop()).toBeUndefined();
  });

  it("survives a failing nvidia-smi, saying so once, and credits samples again once it answers", async () => {
    await writeFile(join(dir, "failing"), "");
    const gpus = sampler(await standIn());
    const stop = gpus.track("job_a", ["GPU-aaaa-1"]);
    await eventually(async () => existsSync(join(dir, "args")) && (await readFile(join(dir, "args"), "utf8")).length > 0, { what: "a first try" });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(warnings).toHaveBeenCalledTimes(1);
    await rm(join(dir, "failing"));
    await eventually(async () => (await calls()) >= 3, { what: "two samples credited after the failure" });
    expect(stop()!.gpus[0]!.samples).toBeGreaterThanOrEqual(2);
  });

  it("kills an nvidia-smi that hangs past its timeout and never runs two at once", async () => {
    // Each call marks itself running for 300 ms; a second call while the mark is there leaves a trace.
    const gpus = sampler(await standIn(`[ -e ${dir}/running ] && touch ${dir}/overlap; touch ${dir}/running; sleep 0.3; rm -f ${dir}/running`), { timeoutMs: 2_000, intervalMs: 5 });
    const stop = gpus.track("job_a", ["GPU-aaaa-1"]);
    await eventually(async () => (await calls()) >= 4, { what: "three slow samples credited" });
    expect(existsSync(join(dir, "overlap"))).toBe(false);
    expect(stop()!.gpus[0]!.samples).toBeGreaterThanOrEqual(3);

    const hanging = sampler(await standIn(`echo $$ > ${dir}/hanging.pid; exec sleep 30`), { timeoutMs: 100, intervalMs: 20 });
    const stopHanging = hanging.track("job_b", ["GPU-aaaa-1"]);
    await eventually(async () => warnings.mock.calls.length > 0, { what: "the hung call to be killed" });
    expect(stopHanging()).toBeUndefined();
  });

  it("kills a call that ignores SIGTERM, and samples on", async () => {
    // The shell ignores TERM and hands that on to its sleep: only SIGKILL ends the first call.
    const gpus = sampler(await standIn(`[ -e ${dir}/hung ] || { touch ${dir}/hung; echo $$ > ${dir}/hanging.pid; trap '' TERM; exec sleep 30; }`), { timeoutMs: 100, intervalMs: 20 });
    const stop = gpus.track("job_a", ["GPU-aaaa-1"]);
    // Within the 30 s the hung call would last unkilled.
    await eventually(async () => (await calls()) >= 3, { what: "two samples credited after the hung call" });
    const pid = Number((await readFile(join(dir, "hanging.pid"), "utf8")).trim());
    expect(() => process.kill(pid, 0)).toThrow();
    expect(stop()!.gpus[0]!.samples).toBeGreaterThanOrEqual(2);
  });

  it("keeps the rows of the GPUs it could read when nvidia-smi exits with an error for one, and skips a warning line", async () => {
    // nvidia-smi exits 15 when a GPU has fallen off the bus, still printing the others.
    const path = join(dir, "nvidia-smi");
    await writeFile(path, `#!/bin/sh\necho x >> ${dir}/calls-list\necho "WARNING: infoROM is corrupted at gpu 0000:41:00.0"\necho "GPU-aaaa-1, 40, 1000, 100, 50"\necho "GPU-bbbb-2, [GPU is lost], [GPU is lost], [N/A], [N/A]"\nexit 15\n`, { mode: 0o755 });
    const gpus = sampler(path);
    const stop = gpus.track("job_a", ["GPU-aaaa-1", "GPU-bbbb-2"]);
    await eventually(async () => (await readFile(join(dir, "calls-list"), "utf8").catch(() => "")).length >= 4, { what: "two samples" });
    expect(stop()!.gpus).toEqual([{ uuid: "GPU-aaaa-1", samples: expect.any(Number), utilization_pct: { mean: 40, max: 40 }, memory_used_mb: { mean: 1000, max: 1000 }, power_w: { mean: 100, max: 100 }, temperature_c_max: 50 }]);
    expect(warnings).toHaveBeenCalledTimes(1);
  });

  it("samples no more once stopped, though a call was under way and jobs are still tracked", async () => {
    const gpus = sampler(await standIn("sleep 0.2"), { intervalMs: 10 });
    gpus.track("job_a", ["GPU-aaaa-1"]);
    await eventually(async () => existsSync(join(dir, "args")), { what: "a call under way" });
    gpus.stop();
    const after = await calls();
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await calls()).toBe(after);
  });

  it("ends a call still running when it stops, rather than leave it behind the daemon", async () => {
    // Its own timeout (10 s) would end it much later than the wait below allows.
    const gpus = sampler(await standIn(`echo $$ > ${dir}/hanging.pid; exec sleep 30`), { timeoutMs: 10_000 });
    const stop = gpus.track("job_a", ["GPU-aaaa-1"]);
    const pidFile = join(dir, "hanging.pid");
    const alive = (pid: number) => {
      try {
        return pid > 0 && process.kill(pid, 0);
      } catch {
        return false;
      }
    };
    const pid = await eventually(async () => {
      const written = Number((await readFile(pidFile, "utf8").catch(() => "0")).trim());
      return alive(written) && written;
    }, { what: "a hanging call" });
    expect(stop()).toBeUndefined();
    await eventually(async () => !alive(pid), { what: "the hanging call to end", timeoutMs: 2_000 });
    expect(warnings).not.toHaveBeenCalled();
  });
});
