// A job's secrets leave the API only through the hub, opened for the provider
// it starts the job on (or the mediator that re-runs it), and only then.
import { HUB_PROTOCOL_VERSION, type StartMessage } from "../../protocol/hubMessages.ts";
import { SecretValues } from "../../protocol/jobSpec.ts";
import { openSecret } from "../security/secretBox.ts";

/** Thrown when a job's sealed secrets cannot be opened (SECRETS_KEY changed since): the job cannot run as asked. */
export class UnopenableSecretsError extends Error {}

export async function openJobSecrets(secretsKey: string, sealed: string | null | undefined): Promise<SecretValues | undefined> {
  if (!sealed) return undefined;
  try {
    return SecretValues.parse(JSON.parse(await openSecret(secretsKey, sealed)));
  } catch {
    // Never the error's text: it could quote what was opened.
    throw new UnopenableSecretsError("the job's secrets could not be opened (was SECRETS_KEY changed after it was created?)");
  }
}

/** "Start", with the values of the job's secrets when it has any. */
export async function startMessage(secretsKey: string, jobId: string, sealedSecrets: string | null | undefined): Promise<StartMessage> {
  const secrets = await openJobSecrets(secretsKey, sealedSecrets);
  return { v: HUB_PROTOCOL_VERSION, type: "job.start", job_id: jobId, ...(secrets ? { secrets } : {}) };
}
