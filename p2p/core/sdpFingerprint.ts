// The DTLS certificate fingerprint an SDP announces (RFC 8122 `a=fingerprint:`).
// DTLS refuses a peer whose certificate does not match it, so a fingerprint that
// came through authenticated signaling pins the channel to that peer.

export interface DtlsFingerprint {
  algorithm: string;
  /** Upper-case hex pairs separated by ':', as SDP writes them. */
  value: string;
}

const FINGERPRINT_LINE = /^a=fingerprint:(\S+) ([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2})+)\s*$/m;

export function sdpFingerprint(sdp: string): DtlsFingerprint | undefined {
  const match = FINGERPRINT_LINE.exec(sdp);
  if (!match) return undefined;
  return { algorithm: match[1]!.toLowerCase(), value: match[2]!.toUpperCase() };
}
