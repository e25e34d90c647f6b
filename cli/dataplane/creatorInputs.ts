// The creator's half of a job's input files, while `pond run` follows the job
// (or `pond challenge` waits for its mediator): served peer to peer to the
// provider (or a drawn mediator) that offers, and uploaded to the R2 relay only
// when that peer asks for it or no connection comes up. Inputs that reached the
// provider stay there: it keeps them until the job's settlement is final and
// serves a drawn mediator itself, so they are never uploaded a second time.
import type { PondClient } from "../../sdk/index.ts";
import type { P2pSettings } from "../context.ts";
import type { Progress } from "../progress.ts";
import type { LocalInputs } from "./inputFiles.ts";
import { SpareTransferProcesses } from "../../p2p/node/isolated/transferProcesses.ts";
import { InputsServer } from "./inputsServer.ts";
import { uploadToRelay } from "./relayUpload.ts";
import { SignalingSocket } from "./signalingSocket.ts";

export class CreatorInputs {
  private socket: SignalingSocket | undefined;
  private server: InputsServer | undefined;
  private processes: SpareTransferProcesses | undefined;
  private upload: Promise<void> | undefined;
  private uploaded = 0;
  /** Set by finish: a serve still on its way stops, and nothing is uploaded after. */
  private finished = false;

  constructor(
    private readonly sdk: PondClient,
    private readonly inputs: LocalInputs,
    private readonly jobId: string,
    private readonly progress: Progress,
    private readonly note: (text: string) => void,
    /** Several jobs served from one set of files (a sweep's): their transfer processes, and the files' owner closes them. */
    private readonly shared?: { processes: SpareTransferProcesses },
  ) {}

  /** Answers the provider's offers from now on; without peer to peer, uploads to the relay at once. */
  async serve(p2p: P2pSettings): Promise<void> {
    if (!p2p.enabled || !this.sdk.apiKey) return void this.toRelay("peer to peer is off");
    // Before joining: an offer that waited for this side is delivered the moment it joins.
    // Started now, loaded by the time the provider offers (which the job's start waits for); a later offer
    // (a dropped transfer offered again) starts its own.
    this.processes = this.shared?.processes ?? new SpareTransferProcesses({ refill: false });
    const ice = await this.sdk.data.iceServers().catch(() => ({ ice_servers: [] }));
    try {
      this.socket = await SignalingSocket.open(this.sdk.baseUrl, this.sdk.apiKey, this.jobId);
    } catch (error) {
      return void this.toRelay((error as Error).message);
    }
    if (this.finished) return this.socket.close();
    const total = this.inputs.manifest.files.reduce((sum, file) => sum + file.size, 0);
    this.server = new InputsServer({
      socket: this.socket,
      jobId: this.jobId,
      manifest: this.inputs.manifest,
      rootOf: this.inputs.rootOf,
      iceServers: ice.ice_servers,
      connectTimeoutMs: p2p.connectTimeoutMs,
      ...(p2p.bindAddress ? { bindAddress: p2p.bindAddress } : {}),
      processes: this.processes,
      onRelayWanted: (why) => void this.toRelay(why),
      onProgress: (sent) => this.progress.update("sending inputs", sent, total),
      onServed: ({ to, route }) => {
        this.progress.finish("sending inputs");
        this.note(`[pond: inputs sent to the ${to} peer to peer (${route})]`);
      },
    });
  }

  /** Uploads to the relay (once, however often it is asked) and waits for it. */
  toRelay(why: string): Promise<void> {
    if (!this.upload && !this.finished) {
      this.note(`[pond: uploading inputs to the relay: ${why}]`);
      this.upload = uploadToRelay(this.sdk, this.jobId, this.inputs.manifest, this.inputs.source, (done, total) => this.progress.update("uploading inputs", done, total)).then(
        (done) => {
          this.uploaded += done.bytes;
          this.progress.finish("uploading inputs");
          this.note(`[pond: inputs in the relay (${done.bytes} bytes uploaded)]`);
        },
        (error: unknown) => this.note(`[pond: uploading inputs to the relay failed: ${(error as Error).message}]`),
      );
    }
    return this.upload ?? Promise.resolve();
  }

  /** Stops serving; an upload under way (the peer asked for the relay) is waited for. */
  async finish(): Promise<void> {
    this.finished = true;
    this.server?.close();
    this.socket?.close();
    if (!this.shared) this.processes?.close();
    await this.upload;
    if (!this.shared) await this.inputs.source.close();
  }

  /** Bytes this side put in the relay: none unless a peer asked for the relay, or the creator detached. */
  get uploadedBytes(): number {
    return this.uploaded;
  }
}
