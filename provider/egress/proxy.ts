// One job's egress proxy: an HTTP proxy for the TCP connections the job makes
// to its forwarder (jobNetwork.ts), which hands each over (adopt) or, after a
// daemon restart, relays it to a unix socket the proxy listens on, that lets through
// CONNECT tunnels and plain HTTP requests to the hosts the job's rules allow,
// resolved here and reached only at public addresses, within the job's byte
// budget and connection limit. It logs host names, ports, byte counts and
// reasons only, never what a connection carries.
import { lstat, unlink } from "node:fs/promises";
import { createServer, type Server, STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "pino";
import type { EgressRule, EgressUsage } from "../../protocol/egress.ts";
import type { Admission, EgressContext } from "./context.ts";
import { checkDestination, type DestinationPolicy } from "./destination.ts";
import { egressResolver } from "./resolver.ts";
import { forwardRequest, requestTaken } from "./forward.ts";
import { readBytesFor } from "./hostReads.ts";
import type { EgressRate, EgressShare } from "./rate.ts";
import { answerAndClose, openTunnel } from "./tunnel.ts";
import { EgressMeter, type EgressMeterSnapshot } from "./usage.ts";

export interface EgressProxyOptions {
  socketPath: string;
  /** The job's (protocol/egress.ts). */
  rules: readonly EgressRule[];
  /** The provider's never-allowed hosts, checked first; a rule without a port denies every port. */
  deny?: readonly EgressRule[];
  /** Bytes in + out, all hosts, for the whole job. */
  budgetBytes: number;
  /** Concurrent tunnels and requests for this job. */
  maxConnections: number;
  /** Default: the system's DNS servers through c-ares, every address (resolver.ts says why not dns.lookup). */
  resolve?: (host: string) => Promise<string[]>;
  /** Extra addresses counted reachable although not public: ONLY for development/tests, named explicitly (e.g. ["127.0.0.1"]). Never default. */
  allowAddresses?: readonly string[];
  log: Logger;
  /** Called once; the daemon stops the job with this reason. */
  onBudgetExceeded?: (reason: string) => void;
  /** A tunnel or request that moves no byte either way for this long is closed. Default 120 s. */
  idleTimeoutMs?: number;
  /** The provider's bandwidth cap (--egress-rate-mb), one for all its jobs' proxies. */
  rate?: EgressRate;
  /** Where the job's meter stood, for a job a restarted daemon adopted (its record's). */
  resumeFrom?: EgressMeterSnapshot;
}

const DEFAULT_IDLE_TIMEOUT_MS = 120_000;
const CONNECT_TIMEOUT_MS = 30_000;
const RESOLVE_TIMEOUT_MS = 10_000;
const REFUSALS_LOGGED_AT_INFO = 50;
const systemResolver = egressResolver({ timeoutMs: RESOLVE_TIMEOUT_MS / 2 });

export class EgressProxy {
  private readonly server: Server;
  private readonly meter: EgressMeter;
  private readonly policy: DestinationPolicy;
  private readonly context: EgressContext;
  private readonly share: EgressShare | undefined;
  /** Every socket of this job, the job's side and the hosts', so close() and the budget can end them all. */
  private readonly sockets = new Set<Socket>();
  /** The job's side of each connection, however it came (handed over, or relayed to the unix socket). */
  private readonly jobSockets = new Set<Socket>();
  private active = 0;
  private refusals = 0;
  private closing = false;

  constructor(private readonly options: EgressProxyOptions) {
    this.share = options.rate?.share();
    this.meter = new EgressMeter(options.budgetBytes, () => this.budgetPassed(), options.resumeFrom);
    this.policy = {
      rules: options.rules,
      deny: options.deny ?? [],
      resolve: options.resolve ?? systemResolver,
      allowAddresses: options.allowAddresses ?? [],
      resolveTimeoutMs: RESOLVE_TIMEOUT_MS,
    };
    this.context = {
      admit: (target, port) => this.admit(target, port),
      refuse: (refusal) => {
        this.meter.refused(refusal);
        // A job that hammers refused hosts must not flood the daemon's log: past the first few, refusals go to debug.
        const level = ++this.refusals <= REFUSALS_LOGGED_AT_INFO ? "info" : "debug";
        options.log[level](refusal, "egress refused");
      },
      // A host's socket opened as the budget passes or the proxy closes goes at once (the job's side stays, to be told why).
      track: (socket) => {
        this.track(socket);
        if (this.closing || this.meter.budgetPassed) socket.destroy();
      },
      meter: this.meter,
      ...(this.share ? { rate: this.share } : {}),
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      hostReadBytes: readBytesFor(options.maxConnections),
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      log: options.log,
    };
    // requestTimeout off: a long upload is fine while bytes move; the idle timeout ends a stalled one.
    this.server = createServer({ requestTimeout: 0 });
    // Room beyond the slots to answer refusals and hold idle keep-alive connections, while bounding the sockets a job can hold open.
    this.server.maxConnections = options.maxConnections * 2 + 16;
    this.server.on("connection", (socket: Socket) => {
      this.track(socket);
      this.jobSockets.add(socket);
      socket.once("close", () => this.jobSockets.delete(socket));
    });
    this.server.on("connect", (request, socket: Socket, head: Buffer) => void openTunnel(request, socket, head, this.context).catch((error) => this.failed(socket, error)));
    this.server.on("request", (request, response) => void forwardRequest(request, response, this.context).catch((error) => this.failed(response.socket, error)));
    this.server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => answerUnreadable(error, socket));
    this.server.on("error", (error) => options.log.error({ err: error }, "egress proxy server error"));
  }

  async start(): Promise<void> {
    await removeStaleSocket(this.options.socketPath);
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.socketPath, () => {
        this.server.removeListener("error", reject);
        resolve();
      });
    });
    // Resumed past its budget (the daemon before went down as it passed): the job is stopped now.
    if (this.meter.budgetPassed) this.budgetPassed();
  }

  /**
   * A connection the job made, handed over by its forwarder: served as if it had come to the unix socket,
   * under the same bound on open connections (which the listening socket applies only to its own).
   */
  adopt(socket: Socket): void {
    if (this.closing || this.jobSockets.size >= this.server.maxConnections) {
      socket.destroy();
      return;
    }
    // A socket that came over a channel is made without half-open; the proxy's own are half-open (a job
    // that ends its sending side still gets the host's answer in a tunnel: tunnel.ts).
    socket.allowHalfOpen = true;
    this.server.emit("connection", socket);
  }

  usage(): EgressUsage {
    return this.meter.usage();
  }

  /** For the job's record: where a restarted daemon's proxy goes on from. */
  snapshot(): EgressMeterSnapshot {
    return this.meter.snapshot();
  }

  /** Stops listening (the socket file goes with it) and ends every open connection. */
  async close(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.share?.close();
    await closed;
  }

  private async admit(target: string, port: number): Promise<Admission> {
    const early = this.stopped();
    if (early) return early;
    if (this.active >= this.options.maxConnections) {
      return { ok: false, status: 429, reason: `this job already has ${this.options.maxConnections} connections open, its limit` };
    }
    this.active++;
    let held = true;
    const release = () => {
      if (held) this.active--;
      held = false;
    };
    const destination = await checkDestination(target, port, this.policy).catch((): Admission => ({ ok: false, status: 502, reason: "the target could not be checked" }));
    // The budget may have passed, or the proxy closed, while the name was being resolved.
    const refusal = this.stopped() ?? (destination.ok ? undefined : destination);
    if (refusal) {
      release();
      return refusal;
    }
    return { ...(destination as Extract<Admission, { ok: true }>), release };
  }

  private stopped(): Admission | undefined {
    if (this.closing) return { ok: false, status: 503, reason: "the job's egress proxy is closing" };
    if (this.meter.budgetPassed) return { ok: false, status: 403, reason: `the job's egress budget of ${this.options.budgetBytes} bytes is used up` };
    return undefined;
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
    // Every socket needs a listener, or one failure would throw out of the daemon; the failure ends in 'close'.
    socket.on("error", (error: NodeJS.ErrnoException) => this.options.log.debug({ code: error.code }, "egress socket error"));
  }

  private budgetPassed(): void {
    const reason = `the job's network egress passed its budget of ${this.options.budgetBytes} bytes`;
    this.options.log.warn({ budget_bytes: this.options.budgetBytes, open_sockets: this.sockets.size }, "egress budget passed; closing the job's connections");
    for (const socket of this.sockets) socket.destroy();
    try {
      this.options.onBudgetExceeded?.(reason);
    } catch (error) {
      this.options.log.error({ err: error }, "onBudgetExceeded failed");
    }
  }

  /** A bug in a handler ends its own connection only. */
  private failed(socket: Socket | null, error: unknown): void {
    this.options.log.error({ err: error }, "egress connection failed");
    if (socket) answerAndClose(socket, 500, "the egress proxy failed on this connection");
  }
}

/**
 * What Node's server does with a request it cannot read (a 400, 408 or 431, then the socket closed), except
 * on a socket whose one request is taken: its answer may be on the way (forward.ts), and nothing goes into it.
 */
function answerUnreadable(error: NodeJS.ErrnoException, socket: Socket): void {
  if (!requestTaken(socket) && socket.writable) {
    const status = error.code === "HPE_HEADER_OVERFLOW" ? 431 : error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n\r\n`);
  }
  socket.destroy();
}

/** A socket file left by an earlier daemon blocks listen(); anything else at the path is not ours to remove. */
async function removeStaleSocket(path: string): Promise<void> {
  const existing = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (!existing) return;
  if (!existing.isSocket()) throw new Error(`${path} exists and is not a socket; not removing it`);
  await unlink(path);
}
