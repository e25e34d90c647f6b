import { describe, expect, it } from "vitest";
import { IceServerUrlError, toNodeIceServers } from "../../p2p/node/iceServers.ts";

describe("toNodeIceServers", () => {
  it("turns RTCIceServer entries into node-datachannel's object form, keeping a TURN REST username with ':'", () => {
    const servers = toNodeIceServers([
      { urls: ["stun:198.51.100.1", "stun:[2001:db8::1]:3479"] },
      { urls: ["turn:turn.example.org:3478?transport=udp", "turn:turn.example.org:443?transport=tcp", "turns:turn.example.org"], username: "1700000600:job_1", credential: "c2VjcmV0" },
    ]);
    expect(servers).toEqual([
      { hostname: "198.51.100.1", port: 3478 },
      { hostname: "2001:db8::1", port: 3479 },
      { hostname: "turn.example.org", port: 3478, username: "1700000600:job_1", password: "c2VjcmV0", relayType: "TurnUdp" },
      { hostname: "turn.example.org", port: 443, username: "1700000600:job_1", password: "c2VjcmV0", relayType: "TurnTcp" },
      { hostname: "turn.example.org", port: 5349, username: "1700000600:job_1", password: "c2VjcmV0", relayType: "TurnTls" },
    ]);
  });

  it("error: says what is wrong with an unreadable URL or a TURN server without credentials", () => {
    expect(() => toNodeIceServers([{ urls: ["stun:"] }])).toThrow(IceServerUrlError);
    expect(() => toNodeIceServers([{ urls: ["stun:host:99999"] }])).toThrow(/outside 1-65535/);
    expect(() => toNodeIceServers([{ urls: ["turn:host:3478"] }])).toThrow(/needs a username and a credential/);
  });
});
