// From the RTCIceServer shape (what /v1/ice-servers returns) to node-datachannel's.
// Its URL-string form cannot carry a TURN REST username (it contains ':'), so
// every server becomes the object form.
import type { IceServer as NodeIceServer, RelayType } from "node-datachannel";
import type { IceServer } from "../../protocol/iceServers.ts";

const URL_PATTERN = /^(stun|turn|turns):(\[[0-9a-fA-F:.]+\]|[^:?[\]]+)(?::(\d{1,5}))?(?:\?transport=(udp|tcp))?$/;

export class IceServerUrlError extends Error {
  override name = "IceServerUrlError";
}

export function toNodeIceServers(servers: readonly IceServer[]): NodeIceServer[] {
  return servers.flatMap((server) => server.urls.map((url) => toNodeIceServer(url, server)));
}

function toNodeIceServer(url: string, server: IceServer): NodeIceServer {
  const match = URL_PATTERN.exec(url);
  if (!match) throw new IceServerUrlError(`cannot read ICE server URL "${url}": expected stun:HOST[:PORT] or turn(s):HOST[:PORT][?transport=udp|tcp]`);
  const [, scheme, rawHost, rawPort, transport] = match as unknown as [string, "stun" | "turn" | "turns", string, string | undefined, "udp" | "tcp" | undefined];
  const hostname = rawHost.startsWith("[") ? rawHost.slice(1, -1) : rawHost;
  const port = rawPort === undefined ? (scheme === "turns" ? 5349 : 3478) : Number(rawPort);
  if (port < 1 || port > 65535) throw new IceServerUrlError(`ICE server URL "${url}" has port ${port}, outside 1-65535`);
  if (scheme === "stun") return { hostname, port };
  if (server.username === undefined || server.credential === undefined) throw new IceServerUrlError(`TURN server "${url}" needs a username and a credential`);
  const relayType: RelayType = scheme === "turns" ? "TurnTls" : transport === "tcp" ? "TurnTcp" : "TurnUdp";
  return { hostname, port, username: server.username, password: server.credential, relayType };
}
