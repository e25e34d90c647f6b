// How a job's secrets are kept: the values of its secret variables and the
// password for its registry_auth, sealed together in one column.
import { z } from "zod";
import { SecretValues } from "../../protocol/jobSpec.ts";
import { RegistryPassword } from "../../protocol/registryAuth.ts";
import { openSecret, sealSecret } from "./secretBox.ts";

/** Thrown when a job's sealed secrets cannot be opened (SECRETS_KEY changed since): the job cannot run as asked. */
export class UnopenableSecretsError extends Error {}

/** What a job's sealed column holds, as the hub's messages name its parts. */
export interface JobSecrets {
  secrets?: SecretValues;
  registry_password?: string;
}

// Sealed as `{"v":2,…}`; a job written before registry passwords holds its variables' values alone, as a record of
// strings, which a numeric `v` can never be.
const SealedJobSecrets = z.object({ v: z.literal(2), secrets: SecretValues.optional(), registry_password: RegistryPassword.optional() }).strict();

/**
 * The sealed column for a new job: null when it has neither secret values nor a registry password. Without a
 * password it is written as before registry passwords, so a Worker rolled back to that code still opens it.
 */
export async function sealJobSecrets(secretsKey: string, secrets: JobSecrets): Promise<string | null> {
  if (secrets.registry_password === undefined) return secrets.secrets ? sealSecret(secretsKey, JSON.stringify(secrets.secrets)) : null;
  return sealSecret(secretsKey, JSON.stringify({ v: 2, ...secrets }));
}

export async function openJobSecrets(secretsKey: string, sealed: string | null | undefined): Promise<JobSecrets> {
  if (!sealed) return {};
  try {
    const opened: unknown = JSON.parse(await openSecret(secretsKey, sealed));
    const current = SealedJobSecrets.safeParse(opened);
    if (current.success) {
      const { v: _version, ...secrets } = current.data;
      return secrets;
    }
    return { secrets: SecretValues.parse(opened) };
  } catch {
    // Never the error's text: it could quote what was opened.
    throw new UnopenableSecretsError("the job's secrets could not be opened (was SECRETS_KEY changed after it was created?)");
  }
}
