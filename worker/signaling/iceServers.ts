// STUN/TURN servers for a peer, with credentials that expire: TURN REST
// credentials for a coturn with `use-auth-secret`, and Cloudflare Realtime TURN's
// generate-ice-servers call when its key is configured. Secrets never leave here:
// a peer gets only short-lived credentials.
import { z } from "zod";
import { IceServer, turnRestCredential } from "../../protocol/iceServers.ts";
import type { Config } from "../config/config.ts";

export interface IceServers {
  ice_servers: IceServer[];
  /** Unix seconds: ask again before then. */
  expires_at: number;
}

export class IceServersUnavailable extends Error {
  override name = "IceServersUnavailable";
}

/** Cloudflare's answer to generate-ice-servers (developers.cloudflare.com/realtime/turn/generate-credentials). */
const CloudflareAnswer = z.object({ iceServers: z.array(IceServer).min(1) });

/** For `user` (an address: who the TURN server's logs name), servers good for the configured TTL. */
export async function iceServersFor(config: Config, user: string, fetchImpl: typeof fetch = fetch, nowMs = Date.now()): Promise<IceServers> {
  const ice = config.signaling;
  const servers: IceServer[] = [];
  if (ice.stunUrls.length > 0) servers.push({ urls: ice.stunUrls });
  if (ice.turn) {
    const { username, credential } = await turnRestCredential({ secret: ice.turn.secret, user: user.replaceAll(":", "-"), ttlSeconds: ice.iceTtlS, nowMs });
    servers.push({ urls: ice.turn.urls, username, credential });
  }
  if (ice.cloudflare) servers.push(...(await cloudflareIceServers(ice.cloudflare, ice.iceTtlS, fetchImpl)));
  return { ice_servers: servers, expires_at: Math.floor(nowMs / 1000) + ice.iceTtlS };
}

async function cloudflareIceServers(cloudflare: NonNullable<Config["signaling"]["cloudflare"]>, ttlS: number, fetchImpl: typeof fetch): Promise<IceServer[]> {
  let response: Response;
  try {
    response = await fetchImpl(`${cloudflare.apiUrl}/turn/keys/${cloudflare.keyId}/credentials/generate-ice-servers`, {
      method: "POST",
      headers: { authorization: `Bearer ${cloudflare.token}`, "content-type": "application/json" },
      body: JSON.stringify({ ttl: ttlS }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    throw new IceServersUnavailable(`Cloudflare TURN could not be reached: ${(error as Error).message}`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    // The body may echo the request; only the status is safe to pass on.
    throw new IceServersUnavailable(`Cloudflare TURN refused to issue credentials (HTTP ${response.status}): check CLOUDFLARE_TURN_KEY_ID and the API token`);
  }
  const answer = CloudflareAnswer.safeParse(await response.json().catch(() => undefined));
  if (!answer.success) throw new IceServersUnavailable("Cloudflare TURN answered with no ice servers");
  return answer.data.iceServers;
}
