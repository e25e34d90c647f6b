// The floor every throughput here is a ratio to: the bare D1 insert route
// (worker/api/bench.ts, mounted with BENCH_ROUTES=true) under the same load
// bench:api puts on it, measured in the same run as the fleet.
import autocannon from "autocannon";

export interface Floor {
  requestsPerSecond: number;
  /** Server CPU per insert (the processes `serverCpu` reads), in ms: what a job's CPU is compared with. */
  serverMsPerRequest: number;
  p50: number;
  p99: number;
  errors: number;
}

/** `serverCpu`: CPU seconds the server's processes have used so far. */
export async function measureInsertFloor(api: string, durationS: number, serverCpu: () => number, connections = 10): Promise<Floor> {
  const body = JSON.stringify({ image: "pond-test/busybox:2", cmd: ["true"], resources: { gpus: 0, cpus: 1, memory_mb: 128 }, timeout_s: 60, max_price_wei: "1000" });
  const cpuBefore = serverCpu();
  const result = await autocannon({ url: `${api}/bench/insert`, method: "POST", body, headers: { "content-type": "application/json" }, connections, duration: durationS });
  const serverMsPerRequest = ((serverCpu() - cpuBefore) * 1000) / Math.max(1, result.requests.total);
  return { requestsPerSecond: result.requests.average, serverMsPerRequest, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.timeouts + result.non2xx };
}
