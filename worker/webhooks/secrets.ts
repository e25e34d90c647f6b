// Webhook signing secrets: `whsec_` + 24 random bytes (Standard Webhooks format),
// kept sealed at rest and opened only to sign a delivery.
import { eq } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { accounts, webhookEndpoints } from "../db/schema.ts";
import { randomBytes, toBase64 } from "../security/randomToken.ts";
import { openSecret } from "../security/secretBox.ts";

export function generateWebhookSecret(): string {
  return `whsec_${toBase64(randomBytes(24))}`;
}

/** The secret a delivery is signed with: its endpoint's, or the account default for per-job URLs. */
export async function signingSecretFor(
  db: Db,
  secretsKey: string,
  target: { account: string; endpointId: string | null },
): Promise<string | undefined> {
  const sealed = target.endpointId
    ? (await db.select({ s: webhookEndpoints.secretEnc }).from(webhookEndpoints).where(eq(webhookEndpoints.id, target.endpointId)))[0]?.s
    : (await db.select({ s: accounts.webhookSecretEnc }).from(accounts).where(eq(accounts.address, target.account)))[0]?.s;
  return sealed === undefined ? undefined : openSecret(secretsKey, sealed);
}
