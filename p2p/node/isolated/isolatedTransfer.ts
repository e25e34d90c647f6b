// A peer-to-peer transfer run in a child process (transferProcess.ts). Why a process:
// node-datachannel 0.33.4's libdatachannel can deadlock during the DTLS handshake
// (its ICE poll thread and a DTLS worker take two locks in opposite orders; seen
// here on TURN pairs, about 1 run in 15 of the symmetric-NAT test; libdatachannel
// PR #1630). The poll thread is shared by every connection in a process, and any
// later call into the wedged connection blocks the JS thread, so in the daemon one
// bad handshake would freeze every job. Here the child stops beating, is killed,
// and `result` rejects like any failed connection: the caller falls back (R2) or
// retries, and a fetch resumes from the chunks already verified on disk.
//
// `result` settles only once the process has exited, so nothing else writes the
// fetch's folder while the caller moves on to the relay.
import type { ChildProcess } from "node:child_process";
import { PeerConnectFailedError, PeerLeftError, type TransferError } from "../../core/errors.ts";
import type { Route } from "../../core/transfer.ts";
import type { IncomingSignal, OutgoingSignal } from "../peer.ts";
import { deserializeError, type ChildMessage, type ParentMessage, type ResultOf, type TransferJob } from "./messages.ts";
import { forkTransferProcess } from "./transferProcesses.ts";

/** The process's first beat: loading TypeScript and node-datachannel on a loaded machine. */
const START_GRACE_MS = 30_000;
/** After its result, or after "stop", the process has this long to exit. */
const EXIT_GRACE_MS = 5_000;

export interface IsolatedTransferOptions {
  /** Delivers one of the transfer's signals to the other peer; throwing fails the transfer. */
  signal(message: OutgoingSignal): void;
  /** The connection is up (and for a fetch, the manifest checked). */
  onConnected?(route: Route): void;
  onProgress?(bytes: number, total: number): void;
  /** How long the process may go without a beat before it is killed. Default 10 s. */
  hangMs?: number;
  /** A transfer process started ahead (transferProcesses.ts), not yet given a job; else one is started now. */
  process?: ChildProcess;
}

export class IsolatedTransfer<J extends TransferJob> {
  /** The transfer's outcome; rejects with a TransferError (branch on `code`). */
  readonly result: Promise<ResultOf<J>>;
  private readonly child: ChildProcess;
  private outcome: { result: ResultOf<J> } | { error: Error } | undefined;
  private lastBeat = performance.now();
  private started = false;
  private exited = false;
  private readonly watchdog: ReturnType<typeof setInterval>;

  constructor(job: J, private readonly options: IsolatedTransferOptions) {
    this.child = options.process ?? forkTransferProcess();
    this.result = new Promise<ResultOf<J>>((resolve, reject) => {
      const settle = (ended: string) => {
        if (this.exited) return;
        this.exited = true;
        clearInterval(this.watchdog);
        const outcome = this.outcome ?? { error: new PeerConnectFailedError(`the transfer process ${ended} before it said how the transfer went`) };
        if ("result" in outcome) resolve(outcome.result);
        else reject(outcome.error);
      };
      this.child.once("exit", (code, signal) => settle(`exited (${signal ?? `code ${code}`})`));
      // One started ahead may have gone before it was handed over: no "exit" would come now.
      if (this.child.exitCode !== null || this.child.signalCode !== null) settle("had exited before it was given the transfer");
      this.child.once("error", (error) => {
        this.outcome ??= { error: new PeerConnectFailedError(`the transfer process failed: ${error.message}`) };
        // One that never started sends no "exit": settle here. One that did is killed and exits.
        if (this.child.pid === undefined) settle("never started");
        else this.kill();
      });
    });
    this.result.catch(() => {});
    this.child.on("message", (message: ChildMessage) => this.onMessage(message));
    const hangMs = options.hangMs ?? 10_000;
    this.watchdog = setInterval(() => {
      const silentMs = performance.now() - this.lastBeat;
      if (silentMs > (this.started ? hangMs : START_GRACE_MS)) {
        this.kill(new PeerConnectFailedError(`the transfer process stopped responding for ${Math.round(silentMs)} ms (a peer connection wedged in node-datachannel) and was killed`));
      }
    }, 1_000);
    if (this.exited) clearInterval(this.watchdog);
    this.post({ type: "start", job });
  }

  /** The transfer process's pid. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Hands in a signal from the other peer. */
  deliver(signal: IncomingSignal): void {
    this.post({ type: "signal", signal });
  }

  /** Ends the transfer (`result` rejects unless it had finished). Safe to call more than once. */
  close(): void {
    if (this.exited) return;
    this.outcome ??= { error: new PeerLeftError("closed by this side") };
    this.post({ type: "stop" });
    this.killUnlessGone();
  }

  private onMessage(message: ChildMessage): void {
    this.lastBeat = performance.now();
    this.started = true;
    switch (message.type) {
      case "signal":
        try {
          this.options.signal(message.signal);
        } catch (error) {
          this.kill(new PeerConnectFailedError(`signaling could not send the ${message.signal.type}: ${(error as Error).message}`));
        }
        return;
      case "connected":
        return this.options.onConnected?.(message.route);
      case "progress":
        return this.options.onProgress?.(message.bytes, message.total);
      case "done":
        this.outcome ??= { result: message.result as ResultOf<J> };
        return this.killUnlessGone();
      case "failed":
        this.outcome ??= { error: deserializeError(message.error) };
        return this.killUnlessGone();
      case "alive":
        return;
    }
  }

  private post(message: ParentMessage): void {
    if (this.exited || !this.child.connected) return;
    this.child.send(message, (error) => {
      if (error) this.kill(new PeerConnectFailedError(`the transfer process could not be reached: ${error.message}`));
    });
  }

  /** The process is to exit now; one still there after EXIT_GRACE_MS is killed. */
  private killUnlessGone(): void {
    setTimeout(() => this.kill(), EXIT_GRACE_MS).unref();
  }

  private kill(error?: TransferError): void {
    if (this.exited) return;
    if (error) this.outcome ??= { error };
    this.child.kill("SIGKILL");
  }
}
