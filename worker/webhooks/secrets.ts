// Webhook signing secrets: `whsec_` + 24 random bytes (Standard Webhooks format),
// kept sealed at rest and opened only to sign a delivery (deliveryRead.ts finds a delivery's).
import { randomBytes, toBase64 } from "../security/randomToken.ts";

export function generateWebhookSecret(): string {
  return `whsec_${toBase64(randomBytes(24))}`;
}
