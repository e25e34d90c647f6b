// Reads a job's inputs from the API's R2 relay, each request signed by this
// provider's key (protocol/uploads.ts), as its provider or a drawn mediator.
import type { PrivateKeyAccount } from "viem/accounts";
import { TransferManifest } from "../../protocol/transfer.ts";
import { InputsNeeded, relayReadMessage, signedHeaders, type RelayObject } from "../../protocol/uploads.ts";

export class RelayReadError extends Error {
  override name = "RelayReadError";
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** Time for one chunk (≤ 4 MiB) on the slowest link a provider should have. */
const CHUNK_TIMEOUT_MS = 60_000;

export class RelayClient {
  constructor(
    private readonly api: string,
    private readonly account: PrivateKeyAccount,
  ) {}

  /** The job's input manifest, or undefined while the creator has not uploaded it. */
  async manifest(jobId: string): Promise<TransferManifest | undefined> {
    const response = await this.get(jobId, "inputs");
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    const parsed = TransferManifest.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success) throw new RelayReadError("the relay's input manifest is not a transfer manifest", 502);
    return parsed.data;
  }

  /** One chunk's bytes, or undefined while the creator has not uploaded it. */
  async chunk(jobId: string, sha256: string): Promise<Uint8Array | undefined> {
    const response = await this.get(jobId, `chunks/${sha256}`);
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    return new Uint8Array(await response.arrayBuffer());
  }

  /**
   * Whether the job's inputs may still be needed (its settlement is open, so a mediator may be
   * drawn); false once they are not, or the job is not this provider's any more (or gone).
   */
  async inputsNeeded(jobId: string): Promise<boolean> {
    const response = await this.get(jobId, "inputs-needed", [403, 404]);
    if (!response.ok) {
      await response.body?.cancel();
      return false;
    }
    const parsed = InputsNeeded.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success) throw new RelayReadError("the API's answer on whether the inputs are needed did not parse", 502);
    return parsed.data.needed;
  }

  private async get(jobId: string, object: RelayObject, expected: readonly number[] = [404]): Promise<Response> {
    const timestamp = Date.now();
    const signature = await this.account.signMessage({ message: relayReadMessage({ jobId, object, timestamp }) });
    const response = await fetch(new URL(`/v1/providers/jobs/${encodeURIComponent(jobId)}/data/${object}`, this.api), {
      headers: signedHeaders({ provider: this.account.address, timestamp, signature }),
      signal: AbortSignal.timeout(CHUNK_TIMEOUT_MS),
    });
    if (!response.ok && !expected.includes(response.status)) throw new RelayReadError(`reading ${object} from the relay failed: HTTP ${response.status} ${(await response.text()).slice(0, 300)}`, response.status);
    return response;
  }
}
