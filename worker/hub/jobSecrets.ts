// A job's secrets leave the API only through the hub, opened for the provider
// it starts the job on (or the mediator that re-runs it), and only then.
import { HUB_PROTOCOL_VERSION, type StartMessage } from "../../protocol/hubMessages.ts";
import { openJobSecrets } from "../security/jobSecrets.ts";

/** "Start", with the values of the job's secrets and its registry password when it has them. */
export async function startMessage(secretsKey: string, jobId: string, sealedSecrets: string | null | undefined): Promise<StartMessage> {
  return { v: HUB_PROTOCOL_VERSION, type: "job.start", job_id: jobId, ...(await openJobSecrets(secretsKey, sealedSecrets)) };
}
