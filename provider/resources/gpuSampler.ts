// Samples the GPUs of the jobs running here: one `nvidia-smi` run every few
// seconds for the whole daemon (never one per job), each reading credited to the
// jobs holding that GPU, kept as running sums so a week-long job costs no more
// memory than a short one. A failing or hanging nvidia-smi costs the jobs their
// figures, nothing else.
import { execFile, type ChildProcess } from "node:child_process";
import type { Logger } from "pino";
import type { GpuUsage, JobGpuUsage } from "../../protocol/gpuUsage.ts";
import { parseGpuSamples, SAMPLE_FIELDS, type GpuSample } from "./gpuSamples.ts";

export interface GpuSamplerOptions {
  nvidiaSmi: string;
  log: Logger;
  /** Between two samples (default 5 s). */
  intervalMs?: number;
  /** From the first job's start to the first sample: past a container's own start-up (default 1 s). */
  firstSampleMs?: number;
  /** An nvidia-smi that takes longer is killed and the sample skipped (default 4 s). */
  timeoutMs?: number;
}

/** Ends a job's sampling and gives its figures: none when no sample named its GPUs (a job shorter than the first sample, a MIG slice). */
export type StopSampling = () => JobGpuUsage | undefined;

/** nvidia-smi prints a few hundred bytes a GPU: anything past this is not its answer. */
const MAX_OUTPUT_BYTES = 256 * 1024;

class Sums {
  samples = 0;
  utilization = 0;
  utilizationMax = 0;
  memory = 0;
  memoryMax = 0;
  power = 0;
  powerSamples = 0;
  powerMax = 0;
  temperatureMax: number | undefined;

  add(sample: GpuSample): void {
    this.samples++;
    this.utilization += sample.utilizationPct;
    this.utilizationMax = Math.max(this.utilizationMax, sample.utilizationPct);
    this.memory += sample.memoryUsedMb;
    this.memoryMax = Math.max(this.memoryMax, sample.memoryUsedMb);
    if (sample.powerW !== undefined) {
      this.power += sample.powerW;
      this.powerSamples++;
      this.powerMax = Math.max(this.powerMax, sample.powerW);
    }
    if (sample.temperatureC !== undefined) this.temperatureMax = Math.max(this.temperatureMax ?? -Infinity, sample.temperatureC);
  }

  usage(uuid: string): GpuUsage {
    // To a tenth, and never past the peak (the hub refuses a mean above its max).
    const mean = (sum: number, count: number, max: number) => Math.min(Math.round((sum / count) * 10) / 10, max);
    return {
      uuid,
      samples: this.samples,
      utilization_pct: { mean: mean(this.utilization, this.samples, this.utilizationMax), max: this.utilizationMax },
      memory_used_mb: { mean: mean(this.memory, this.samples, this.memoryMax), max: this.memoryMax },
      ...(this.powerSamples > 0 ? { power_w: { mean: mean(this.power, this.powerSamples, this.powerMax), max: this.powerMax } } : {}),
      ...(this.temperatureMax !== undefined ? { temperature_c_max: this.temperatureMax } : {}),
    };
  }
}

export class GpuSampler {
  private readonly jobs = new Map<string, Map<string, Sums>>();
  /** Moves on at every stop: a read under way across a stop schedules no more. */
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  /** An nvidia-smi run under way: its end schedules the next. */
  private reading: ChildProcess | undefined;
  private failing = false;
  private readonly intervalMs: number;

  constructor(private readonly options: GpuSamplerOptions) {
    this.intervalMs = options.intervalMs ?? 5_000;
  }

  /** Starts crediting samples of these GPUs to the job (a job tracked again starts afresh). */
  track(jobId: string, gpuUuids: readonly string[]): StopSampling {
    if (gpuUuids.length === 0) return () => undefined;
    const sums = new Map(gpuUuids.map((uuid) => [uuid, new Sums()]));
    this.jobs.set(jobId, sums);
    if (!this.timer && !this.reading) this.timer = this.next(this.options.firstSampleMs ?? 1_000);
    return () => {
      if (this.jobs.get(jobId) === sums) this.jobs.delete(jobId);
      if (this.jobs.size === 0) this.stop();
      const gpus = [...sums].filter(([, s]) => s.samples > 0).map(([uuid, s]) => s.usage(uuid));
      return gpus.length > 0 ? { interval_ms: this.intervalMs, gpus } : undefined;
    };
  }

  /** No more samples until a job is tracked again; an nvidia-smi still running is ended, not left behind. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.generation++;
    const reading = this.reading;
    this.reading = undefined;
    reading?.kill("SIGKILL");
  }

  private next(delayMs: number): NodeJS.Timeout {
    const timer = setTimeout(() => void this.tick(), delayMs);
    // A pending sample never keeps the daemon's process alive.
    timer.unref();
    return timer;
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    // A read from before a stop may still be ending: never two at once.
    if (this.reading) return void (this.timer = this.next(this.intervalMs));
    const generation = this.generation;
    const samples = await this.read();
    if (generation !== this.generation) return;
    for (const job of this.jobs.values()) {
      for (const sample of samples) job.get(sample.uuid)?.add(sample);
    }
    // Only after the read: two never overlap, however slow nvidia-smi is.
    if (this.jobs.size > 0 && !this.timer) this.timer = this.next(this.intervalMs);
  }

  private read(): Promise<GpuSample[]> {
    const args = [`--query-gpu=${SAMPLE_FIELDS.join(",")}`, "--format=csv,noheader,nounits"];
    return new Promise((resolve) => {
      const child = execFile(this.options.nvidiaSmi, args, { timeout: this.options.timeoutMs ?? 4_000, killSignal: "SIGKILL", maxBuffer: MAX_OUTPUT_BYTES, encoding: "utf8" }, (error, stdout) => {
        const stopped = this.reading !== child;
        if (!stopped) this.reading = undefined;
        // Killed by stop(): no failure of nvidia-smi's.
        if (error && stopped) return resolve([]);
        // An exit code of its own (a GPU fallen off the bus, a corrupt infoROM) still comes with the other GPUs' rows.
        const samples = error && typeof error.code !== "number" ? [] : parseGpuSamples(stdout, SAMPLE_FIELDS, { header: false });
        if (error) {
          // Said once a spell, not every few seconds.
          if (!this.failing) this.options.log.warn({ err: error, gpusRead: samples.length }, "nvidia-smi failed: jobs' GPU figures miss what it could not read");
          this.failing = true;
        } else this.failing = false;
        resolve(samples);
      });
      this.reading = child;
    });
  }
}
